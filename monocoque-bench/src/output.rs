//! The perf tools' result lines, in libzmq's format, and their parsing.

use std::time::Duration;

use crate::imp::Job;

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
    /// `job`'s messages, received in `elapsed`.
    pub fn new(job: Job<'_>, elapsed: Duration) -> Throughput {
        Throughput {
            size: job.size,
            count: job.count,
            elapsed,
        }
    }

    /// Messages per second: `count` over `elapsed`, as libzmq computes it
    /// (the first message starts the clock but still counts).
    pub fn msgs_per_sec(&self) -> f64 {
        rate(self.count, self.elapsed)
    }

    /// The four result lines of `local_thr`.
    pub fn render(&self) -> String {
        format!(
            "message size: {} [B]\nmessage count: {}\n{}",
            self.size,
            self.count,
            rate_lines("mean throughput", self.msgs_per_sec(), self.size)
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
    /// `job`'s roundtrips, made in `elapsed`.
    pub fn new(job: Job<'_>, elapsed: Duration) -> Latency {
        Latency {
            size: job.size,
            roundtrips: job.count,
            elapsed,
        }
    }

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

/// Parses `local_thr` output (ours or libzmq's own tool's); `None` when a
/// line is missing or malformed.
pub fn parse_throughput(text: &str) -> Option<ParsedThroughput> {
    let f = fields(text);
    Some(ParsedThroughput {
        size: field(&f, "message size")?,
        count: field(&f, "message count")?,
        msgs_per_sec: field(&f, "mean throughput [msg/s]")?,
        megabits_per_sec: field(&f, "mean throughput [Mb/s]")?,
    })
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

    /// The extra lines `remote_lat --histogram` prints after libzmq's three.
    pub fn render(&self) -> String {
        format!(
            "latency p50: {:.3} [us]\nlatency p90: {:.3} [us]\nlatency p99: {:.3} [us]\nlatency max: {:.3} [us]\n",
            self.p50, self.p90, self.p99, self.max
        )
    }
}

/// Values read back from `remote_lat`'s output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedLatency {
    /// `message size` line.
    pub size: usize,
    /// `roundtrip count` line.
    pub roundtrips: u64,
    /// `average latency` line, microseconds.
    pub mean_us: f64,
    /// `latency p50/p90/p99/max` lines, when printed (`--histogram`).
    pub percentiles: Option<Percentiles>,
}

/// Parses `remote_lat` output (ours, with or without `--histogram`, or
/// libzmq's own tool's); `None` when a line is missing or malformed.
pub fn parse_latency(text: &str) -> Option<ParsedLatency> {
    let f = fields(text);
    let pct = |p: &str| field(&f, &format!("latency {p}"));
    Some(ParsedLatency {
        size: field(&f, "message size")?,
        roundtrips: field(&f, "roundtrip count")?,
        mean_us: field(&f, "average latency")?,
        percentiles: (|| {
            Some(Percentiles {
                p50: pct("p50")?,
                p90: pct("p90")?,
                p99: pct("p99")?,
                max: pct("max")?,
            })
        })(),
    })
}

/// The `mean send rate ... [msg/s]` line of `pub_fanout`'s output.
pub fn parse_send_rate(text: &str) -> Option<f64> {
    field(&fields(text), "mean send rate [msg/s]")
}

/// Messages per second for `count` messages in `elapsed`. A single
/// message (or a very fast run) can measure zero: the clock is clamped to
/// one microsecond as in libzmq's tools.
fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-6)
}

/// Megabits per second of `size`-byte payloads at `msgs_per_sec`, as
/// libzmq's tools compute it (whole messages per second).
fn megabits(msgs_per_sec: f64, size: usize) -> f64 {
    msgs_per_sec.floor() * size as f64 * 8.0 / 1_000_000.0
}

/// The `message size`, `message count` and extra count line that start the
/// scenario tools' output.
fn scenario_header(size: usize, count: u64, what: &str, n: usize) -> String {
    format!("message size: {size} [B]\nmessage count: {count}\n{what}: {n}\n")
}

/// Both `mean throughput` lines (`key` names them) for `msgs_per_sec`.
fn rate_lines(key: &str, msgs_per_sec: f64, size: usize) -> String {
    format!(
        "{key}: {} [msg/s]\n{key}: {:.3} [Mb/s]\n",
        msgs_per_sec.floor() as u64,
        megabits(msgs_per_sec, size)
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
    /// From the first DATA arrival at any subscriber to the last one's.
    pub elapsed: Duration,
}

impl Fanout {
    /// Deliveries per second.
    pub fn msgs_per_sec(&self) -> f64 {
        rate(self.deliveries, self.elapsed)
    }

    /// The eight result lines of `sub_fanout`.
    pub fn render(&self) -> String {
        format!(
            "{}deliveries: {} [msg]\nmin per subscriber: {} [msg]\nmax per subscriber: {} [msg]\n{}",
            scenario_header(self.size, self.count, "subscribers", self.subscribers),
            self.deliveries,
            self.min_per_sub,
            self.max_per_sub,
            rate_lines("mean throughput", self.msgs_per_sec(), self.size)
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
    /// From the first DATA send to the return of the last one.
    pub elapsed: Duration,
}

impl FanoutSend {
    /// `job`'s DATA messages, sent in `elapsed`.
    pub fn new(job: Job<'_>, elapsed: Duration) -> FanoutSend {
        FanoutSend {
            size: job.size,
            count: job.count,
            subscribers: job.peers,
            elapsed,
        }
    }

    /// Sends per second.
    pub fn msgs_per_sec(&self) -> f64 {
        rate(self.count, self.elapsed)
    }

    /// The five result lines of `pub_fanout`.
    pub fn render(&self) -> String {
        format!(
            "{}{}",
            scenario_header(self.size, self.count, "subscribers", self.subscribers),
            rate_lines("mean send rate", self.msgs_per_sec(), self.size)
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
    /// From the end of the warm-up barrier to the last echo of all.
    pub elapsed: Duration,
}

impl Roundtrips {
    /// All roundtrips: `peers * count`.
    pub fn total(&self) -> u64 {
        self.peers as u64 * self.count
    }

    /// Roundtrips per second (each counts as one message).
    pub fn msgs_per_sec(&self) -> f64 {
        rate(self.total(), self.elapsed)
    }

    /// The six result lines of `dealers`.
    pub fn render(&self) -> String {
        format!(
            "{}roundtrips: {} [msg]\n{}",
            scenario_header(self.size, self.count, "peers", self.peers),
            self.total(),
            rate_lines("mean throughput", self.msgs_per_sec(), self.size)
        )
    }
}

/// Values read back from `sub_fanout`'s output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedFanout {
    /// `message size` line.
    pub size: usize,
    /// `message count` line.
    pub count: u64,
    /// `subscribers` line.
    pub subscribers: usize,
    /// `deliveries` line.
    pub deliveries: u64,
    /// `min per subscriber` line.
    pub min_per_sub: u64,
    /// `max per subscriber` line.
    pub max_per_sub: u64,
    /// `mean throughput ... [msg/s]` line.
    pub msgs_per_sec: f64,
}

/// Values read back from `dealers`' output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedRouter {
    /// `message size` line.
    pub size: usize,
    /// `message count` line (roundtrips per peer).
    pub count: u64,
    /// `peers` line.
    pub peers: usize,
    /// `roundtrips` line.
    pub roundtrips: u64,
    /// `mean throughput ... [msg/s]` line.
    pub msgs_per_sec: f64,
}

/// The `key: value [unit]` lines of a tool's output, the `mean throughput`
/// keys told apart by their unit (`mean throughput [msg/s]`).
fn fields(text: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(value) = words.next() else {
            continue;
        };
        let key = match words.next() {
            Some(unit @ ("[msg/s]" | "[Mb/s]")) => format!("{} {unit}", key.trim()),
            _ => key.trim().to_owned(),
        };
        out.push((key, value));
    }
    out
}

/// The value of `key` in `fields`, parsed; `None` when absent or malformed.
fn field<T: std::str::FromStr>(fields: &[(String, &str)], key: &str) -> Option<T> {
    let (_, value) = fields.iter().find(|(k, _)| k == key)?;
    value.parse().ok()
}

/// Parses `sub_fanout` output; `None` when a line is missing or malformed.
pub fn parse_fanout(text: &str) -> Option<ParsedFanout> {
    let f = fields(text);
    Some(ParsedFanout {
        size: field(&f, "message size")?,
        count: field(&f, "message count")?,
        subscribers: field(&f, "subscribers")?,
        deliveries: field(&f, "deliveries")?,
        min_per_sub: field(&f, "min per subscriber")?,
        max_per_sub: field(&f, "max per subscriber")?,
        msgs_per_sec: field(&f, "mean throughput [msg/s]")?,
    })
}

/// Parses `dealers` output; `None` when a line is missing or malformed.
pub fn parse_router(text: &str) -> Option<ParsedRouter> {
    let f = fields(text);
    Some(ParsedRouter {
        size: field(&f, "message size")?,
        count: field(&f, "message count")?,
        peers: field(&f, "peers")?,
        roundtrips: field(&f, "roundtrips")?,
        msgs_per_sec: field(&f, "mean throughput [msg/s]")?,
    })
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
        assert!(parse_throughput("message size: 64 [B]\n").is_none());
        assert!(parse_throughput("").is_none());
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

    #[test]
    fn percentiles_render_and_parse() {
        let rt: Vec<f64> = (1..=100).map(|i| f64::from(i) * 2.0).collect();
        let p = Percentiles::from_roundtrips(&rt).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::from_roundtrips(&[]), None);
        let l = Latency {
            size: 64,
            roundtrips: 100,
            elapsed: Duration::from_millis(10),
        };
        let text = format!("{}{}", l.render(), p.render());
        let parsed = parse_latency(&text).unwrap();
        assert_eq!((parsed.size, parsed.roundtrips), (64, 100));
        assert!((parsed.mean_us - 50.0).abs() < 1e-9);
        assert_eq!(parsed.percentiles, Some(p));
        let plain = parse_latency(&l.render()).unwrap();
        assert_eq!(plain.percentiles, None);
        assert!(parse_latency("message size: 1 [B]\n").is_none());
    }

    #[test]
    fn fanout_render_and_parse() {
        let f = Fanout {
            size: 64,
            count: 100_000,
            subscribers: 10,
            deliveries: 800_000,
            min_per_sub: 70_000,
            max_per_sub: 90_000,
            elapsed: Duration::from_millis(500),
        };
        let text = f.render();
        assert_eq!(
            text,
            "message size: 64 [B]\nmessage count: 100000\nsubscribers: 10\ndeliveries: 800000 [msg]\nmin per subscriber: 70000 [msg]\nmax per subscriber: 90000 [msg]\nmean throughput: 1600000 [msg/s]\nmean throughput: 819.200 [Mb/s]\n"
        );
        let p = parse_fanout(&text).unwrap();
        assert_eq!((p.size, p.count, p.subscribers), (64, 100_000, 10));
        assert_eq!(
            (p.deliveries, p.min_per_sub, p.max_per_sub),
            (800_000, 70_000, 90_000)
        );
        assert_eq!(p.msgs_per_sec, 1_600_000.0);
        // The publisher's lines lack the delivery counts.
        let sent = FanoutSend {
            size: 64,
            count: 100_000,
            subscribers: 10,
            elapsed: Duration::from_millis(100),
        }
        .render();
        assert!(sent.contains("mean send rate: 1000000 [msg/s]\n"), "{sent}");
        assert_eq!(parse_send_rate(&sent), Some(1_000_000.0));
        assert_eq!(parse_send_rate("mean send rate: 0.5 [Mb/s]\n"), None);
        assert_eq!(parse_fanout(&sent), None);
        assert_eq!(parse_fanout(&text.replace("800000 [msg]", "x [msg]")), None);
    }

    #[test]
    fn router_render_and_parse() {
        let r = Roundtrips {
            size: 64,
            count: 10_000,
            peers: 100,
            elapsed: Duration::from_secs(4),
        };
        let text = r.render();
        assert_eq!(
            text,
            "message size: 64 [B]\nmessage count: 10000\npeers: 100\nroundtrips: 1000000 [msg]\nmean throughput: 250000 [msg/s]\nmean throughput: 128.000 [Mb/s]\n"
        );
        let p = parse_router(&text).unwrap();
        assert_eq!(
            (p.size, p.count, p.peers, p.roundtrips),
            (64, 10_000, 100, 1_000_000)
        );
        assert_eq!(p.msgs_per_sec, 250_000.0);
        assert_eq!(parse_router("message size: 64 [B]\npeers: 1\n"), None);
    }
}
