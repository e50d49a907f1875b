//! The perf tools' result lines, in libzmq's format, and their parsing.

use std::time::Duration;

/// What `local_thr` measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Message size in bytes.
    pub size: usize,
    /// Messages received.
    pub count: u64,
    /// Time from the first message's arrival to the last one's.
    pub elapsed: Duration,
}

impl Throughput {
    /// Messages per second: `count` over `elapsed`, as libzmq computes it
    /// (the first message starts the clock but still counts).
    pub fn msgs_per_sec(&self) -> f64 {
        // A single message (or a very fast run) can measure zero: clamp to
        // one microsecond like libzmq's tools do.
        let secs = self.elapsed.as_secs_f64().max(1e-6);
        self.count as f64 / secs
    }

    /// Megabits per second of payload.
    pub fn megabits_per_sec(&self) -> f64 {
        self.msgs_per_sec().floor() * self.size as f64 * 8.0 / 1_000_000.0
    }

    /// The four result lines of `local_thr`.
    pub fn render(&self) -> String {
        format!(
            "message size: {} [B]\nmessage count: {}\nmean throughput: {} [msg/s]\nmean throughput: {:.3} [Mb/s]\n",
            self.size,
            self.count,
            self.msgs_per_sec().floor() as u64,
            self.megabits_per_sec()
        )
    }
}

/// What `remote_lat` measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Message size in bytes.
    pub size: usize,
    /// Roundtrips made.
    pub roundtrips: u64,
    /// Time for all roundtrips.
    pub elapsed: Duration,
}

impl Latency {
    /// Average one-way latency in microseconds (half a roundtrip).
    pub fn one_way_micros(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1_000_000.0 / (self.roundtrips as f64 * 2.0)
    }

    /// The three result lines of `remote_lat`.
    pub fn render(&self) -> String {
        format!(
            "message size: {} [B]\nroundtrip count: {}\naverage latency: {:.3} [us]\n",
            self.size,
            self.roundtrips,
            self.one_way_micros()
        )
    }
}

/// Values read back from `local_thr`'s output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedThroughput {
    /// `message size` line.
    pub size: usize,
    /// `message count` line.
    pub count: u64,
    /// `mean throughput ... [msg/s]` line.
    pub msgs_per_sec: f64,
    /// `mean throughput ... [Mb/s]` line.
    pub megabits_per_sec: f64,
}

/// Parses `local_thr` output (ours or libzmq's own tool's).
pub fn parse_throughput(text: &str) -> Result<ParsedThroughput, String> {
    let mut size = None;
    let mut count = None;
    let mut msgs = None;
    let mut mbits = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(value), unit) = (words.next(), words.next()) else {
            continue;
        };
        let bad = |what: &str| format!("bad {what} value `{value}` in line `{line}`");
        match (key.trim(), unit) {
            ("message size", _) => size = Some(value.parse().map_err(|_| bad("size"))?),
            ("message count", _) => count = Some(value.parse().map_err(|_| bad("count"))?),
            ("mean throughput", Some("[msg/s]")) => {
                msgs = Some(value.parse().map_err(|_| bad("throughput"))?)
            }
            ("mean throughput", Some("[Mb/s]")) => {
                mbits = Some(value.parse().map_err(|_| bad("throughput"))?)
            }
            _ => {}
        }
    }
    match (size, count, msgs, mbits) {
        (Some(size), Some(count), Some(msgs_per_sec), Some(megabits_per_sec)) => {
            Ok(ParsedThroughput {
                size,
                count,
                msgs_per_sec,
                megabits_per_sec,
            })
        }
        _ => Err(format!("incomplete local_thr output: {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_parse_roundtrip() {
        let t = Throughput {
            size: 64,
            count: 1_000_000,
            elapsed: Duration::from_millis(250),
        };
        let text = t.render();
        assert_eq!(
            text,
            "message size: 64 [B]\nmessage count: 1000000\nmean throughput: 4000000 [msg/s]\nmean throughput: 2048.000 [Mb/s]\n"
        );
        let p = parse_throughput(&text).unwrap();
        assert_eq!(p.size, 64);
        assert_eq!(p.count, 1_000_000);
        assert_eq!(p.msgs_per_sec, 4_000_000.0);
        assert_eq!(p.megabits_per_sec, 2048.0);
    }

    #[test]
    fn parse_rejects_incomplete() {
        assert!(parse_throughput("message size: 64 [B]\n").is_err());
        assert!(parse_throughput("").is_err());
    }

    #[test]
    fn zero_elapsed_is_clamped() {
        let t = Throughput {
            size: 1,
            count: 1,
            elapsed: Duration::ZERO,
        };
        assert_eq!(t.msgs_per_sec(), 1_000_000.0);
    }

    #[test]
    fn latency_is_half_roundtrip() {
        let l = Latency {
            size: 1,
            roundtrips: 1000,
            elapsed: Duration::from_millis(60),
        };
        assert!((l.one_way_micros() - 30.0).abs() < 1e-9);
        assert!(l.render().contains("average latency: 30.000 [us]"));
    }
}
