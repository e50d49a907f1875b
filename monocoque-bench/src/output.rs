//! The perf tools' result lines, in libzmq's format: each result type
//! renders its tool's lines, and [`value`] reads any of them back (from our
//! tools or libzmq's own).

use std::time::Duration;

use crate::imp::Job;

/// What `local_thr` measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Message size in bytes.
    pub size: usize,
    /// Messages received.
    pub count: u64,
    /// Messages per second: `count` over the time from the first message's
    /// arrival to the last one's, as libzmq computes it (the first message
    /// starts the clock but still counts).
    pub msgs_per_sec: f64,
}

impl Throughput {
    /// `job`'s messages, received in `elapsed`.
    pub fn new(job: Job<'_>, elapsed: Duration) -> Throughput {
        Throughput {
            size: job.size,
            count: job.count,
            msgs_per_sec: rate(job.count, elapsed),
        }
    }

    /// The four result lines of `local_thr`.
    pub fn render(&self) -> String {
        format!(
            "message size: {} [B]\nmessage count: {}\n{}",
            self.size,
            self.count,
            rate_lines("mean throughput", self.msgs_per_sec, self.size)
        )
    }
}

/// Per-roundtrip latency percentiles (`remote_lat --histogram`), one-way
/// like libzmq's average (half of each roundtrip), in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest roundtrip.
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `roundtrip_micros` (whole roundtrips,
    /// halved here); `None` when empty.
    pub fn from_roundtrips(roundtrip_micros: &[f64]) -> Option<Percentiles> {
        if roundtrip_micros.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = roundtrip_micros.iter().map(|r| r / 2.0).collect();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let idx = (p * sorted.len() as f64).ceil() as usize;
            sorted[idx.clamp(1, sorted.len()) - 1]
        };
        Some(Percentiles {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: sorted[sorted.len() - 1],
        })
    }
}

/// What `remote_lat` measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Message size in bytes.
    pub size: usize,
    /// Roundtrips made.
    pub roundtrips: u64,
    /// Average one-way latency in microseconds (half a roundtrip).
    pub mean_us: f64,
    /// The percentiles of the roundtrips, when each was timed (`--histogram`).
    pub percentiles: Option<Percentiles>,
}

impl Latency {
    /// `job`'s roundtrips, made in `elapsed` (percentiles not known).
    pub fn new(job: Job<'_>, elapsed: Duration) -> Latency {
        Latency {
            size: job.size,
            roundtrips: job.count,
            mean_us: elapsed.as_secs_f64() * 1_000_000.0 / (job.count as f64 * 2.0),
            percentiles: None,
        }
    }

    /// The three result lines of `remote_lat`, then (with percentiles) the
    /// `latency p50/p90/p99/max` lines `--histogram` adds.
    pub fn render(&self) -> String {
        let mut out = format!(
            "message size: {} [B]\nroundtrip count: {}\naverage latency: {:.3} [us]\n",
            self.size, self.roundtrips, self.mean_us
        );
        if let Some(p) = self.percentiles {
            out += &format!(
                "latency p50: {:.3} [us]\nlatency p90: {:.3} [us]\nlatency p99: {:.3} [us]\nlatency max: {:.3} [us]\n",
                p.p50, p.p90, p.p99, p.max
            );
        }
        out
    }
}

/// Messages per second for `count` messages in `elapsed`. A single
/// message (or a very fast run) can measure zero: the clock is clamped to
/// one microsecond as in libzmq's tools.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-6)
}

/// The `message size`, `message count` and extra count line that start the
/// scenario tools' output.
fn scenario_header(size: usize, count: u64, what: &str, n: usize) -> String {
    format!("message size: {size} [B]\nmessage count: {count}\n{what}: {n}\n")
}

/// Both `mean throughput` lines (`key` names them) for `msgs_per_sec`:
/// whole messages per second, and megabits per second of `size`-byte
/// payloads at that rate, as libzmq's tools compute it.
fn rate_lines(key: &str, msgs_per_sec: f64, size: usize) -> String {
    let megabits = msgs_per_sec.floor() * size as f64 * 8.0 / 1_000_000.0;
    format!(
        "{key}: {} [msg/s]\n{key}: {megabits:.3} [Mb/s]\n",
        msgs_per_sec.floor() as u64,
    )
}

/// What `sub_fanout` measured: DATA deliveries to all subscribers of one
/// process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fanout {
    /// Message size in bytes.
    pub size: usize,
    /// DATA messages the publisher sent.
    pub count: u64,
    /// SUB sockets.
    pub subscribers: usize,
    /// DATA messages received, summed over the subscribers.
    pub deliveries: u64,
    /// Fewest DATA messages one subscriber received.
    pub min_per_sub: u64,
    /// Most DATA messages one subscriber received.
    pub max_per_sub: u64,
    /// Deliveries per second, from the first DATA arrival at any
    /// subscriber to the last one's.
    pub msgs_per_sec: f64,
}

impl Fanout {
    /// The eight result lines of `sub_fanout`.
    pub fn render(&self) -> String {
        format!(
            "{}deliveries: {} [msg]\nmin per subscriber: {} [msg]\nmax per subscriber: {} [msg]\n{}",
            scenario_header(self.size, self.count, "subscribers", self.subscribers),
            self.deliveries,
            self.min_per_sub,
            self.max_per_sub,
            rate_lines("mean throughput", self.msgs_per_sec, self.size)
        )
    }
}

/// What `pub_fanout` measured: how fast `send` took the DATA messages (PUB
/// drops for subscribers at SNDHWM, so this is not a delivery rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FanoutSend {
    /// Message size in bytes.
    pub size: usize,
    /// DATA messages sent.
    pub count: u64,
    /// Subscribers the publisher waited for.
    pub subscribers: usize,
    /// Sends per second, from the first DATA send to the return of the
    /// last one.
    pub msgs_per_sec: f64,
}

impl FanoutSend {
    /// `job`'s DATA messages, sent in `elapsed`.
    pub fn new(job: Job<'_>, elapsed: Duration) -> FanoutSend {
        FanoutSend {
            size: job.size,
            count: job.count,
            subscribers: job.peers,
            msgs_per_sec: rate(job.count, elapsed),
        }
    }

    /// The five result lines of `pub_fanout`.
    pub fn render(&self) -> String {
        format!(
            "{}{}",
            scenario_header(self.size, self.count, "subscribers", self.subscribers),
            rate_lines("mean send rate", self.msgs_per_sec, self.size)
        )
    }
}

/// What `dealers` measured: `peers` DEALERs each making `count` roundtrips
/// through one ROUTER, up to 32 in flight each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roundtrips {
    /// Message size in bytes.
    pub size: usize,
    /// Roundtrips per peer.
    pub count: u64,
    /// DEALER sockets.
    pub peers: usize,
    /// All roundtrips: `peers * count`.
    pub roundtrips: u64,
    /// Roundtrips per second (each counts as one message), from the end of
    /// the warm-up barrier to the last echo of all.
    pub msgs_per_sec: f64,
}

impl Roundtrips {
    /// `peers` making `count` roundtrips each of `size`-byte messages in
    /// `elapsed`.
    pub fn new(size: usize, count: u64, peers: usize, elapsed: Duration) -> Roundtrips {
        let roundtrips = peers as u64 * count;
        Roundtrips {
            size,
            count,
            peers,
            roundtrips,
            msgs_per_sec: rate(roundtrips, elapsed),
        }
    }

    /// The six result lines of `dealers`.
    pub fn render(&self) -> String {
        format!(
            "{}roundtrips: {} [msg]\n{}",
            scenario_header(self.size, self.count, "peers", self.peers),
            self.roundtrips,
            rate_lines("mean throughput", self.msgs_per_sec, self.size)
        )
    }
}

/// The value of `key` in a tool's output (ours or libzmq's own tool's), a
/// `key: value [unit]` line; the rate keys are told apart by their unit
/// (`mean throughput [msg/s]`). `None` when absent or not a number.
pub fn value(text: &str, key: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, rest) = line.split_once(':')?;
        let mut words = rest.split_whitespace();
        let (value, unit) = (words.next()?, words.next().unwrap_or(""));
        let name = name.trim();
        let found = key == name || key.strip_prefix(name)? == format!(" {unit}");
        found.then(|| value.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(size: usize, count: u64, peers: usize) -> Job<'static> {
        Job {
            endpoint: "",
            size,
            count,
            peers,
            curve: None,
            batch: 1,
        }
    }

    #[test]
    fn throughput_lines_read_back() {
        let text = Throughput::new(job(64, 1_000_000, 1), Duration::from_millis(250)).render();
        assert_eq!(
            text,
            "message size: 64 [B]\nmessage count: 1000000\nmean throughput: 4000000 [msg/s]\nmean throughput: 2048.000 [Mb/s]\n"
        );
        assert_eq!(value(&text, "message count"), Some(1e6));
        assert_eq!(value(&text, "mean throughput [msg/s]"), Some(4e6));
        assert_eq!(value(&text, "mean throughput [Mb/s]"), Some(2048.0));
        assert_eq!(value(&text, "mean throughput [B]"), None);
        assert_eq!(value("deliveries: x [msg]\n", "deliveries"), None);
        let t = Throughput::new(job(1, 1, 1), Duration::ZERO);
        assert_eq!(t.msgs_per_sec, 1_000_000.0);
    }

    #[test]
    fn latency_and_percentiles() {
        let l = Latency::new(job(1, 1000, 1), Duration::from_millis(60));
        assert!((l.mean_us - 30.0).abs() < 1e-9);
        assert_eq!(l.render().lines().count(), 3);
        assert!(l.render().contains("average latency: 30.000 [us]"));
        let rt: Vec<f64> = (1..=100).map(|i| f64::from(i) * 2.0).collect();
        let p = Percentiles::from_roundtrips(&rt).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::from_roundtrips(&[]), None);
        let text = Latency {
            percentiles: Some(p),
            ..l
        }
        .render();
        assert_eq!(value(&text, "latency p99"), Some(99.0));
        assert_eq!(value(&text, "latency max"), Some(100.0));
    }

    #[test]
    fn scenario_lines() {
        let f = Fanout {
            size: 64,
            count: 100_000,
            subscribers: 10,
            deliveries: 800_000,
            min_per_sub: 70_000,
            max_per_sub: 90_000,
            msgs_per_sec: rate(800_000, Duration::from_millis(500)),
        };
        assert_eq!(
            f.render(),
            "message size: 64 [B]\nmessage count: 100000\nsubscribers: 10\ndeliveries: 800000 [msg]\nmin per subscriber: 70000 [msg]\nmax per subscriber: 90000 [msg]\nmean throughput: 1600000 [msg/s]\nmean throughput: 819.200 [Mb/s]\n"
        );
        let sent = FanoutSend::new(job(64, 100_000, 10), Duration::from_millis(100)).render();
        assert_eq!(value(&sent, "mean send rate [msg/s]"), Some(1e6));
        let r = Roundtrips::new(64, 10_000, 100, Duration::from_secs(4));
        assert_eq!(
            r.render(),
            "message size: 64 [B]\nmessage count: 10000\npeers: 100\nroundtrips: 1000000 [msg]\nmean throughput: 250000 [msg/s]\nmean throughput: 128.000 [Mb/s]\n"
        );
    }
}
