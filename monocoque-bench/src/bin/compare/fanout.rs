//! The PUB/SUB fan-out scenario: `pub_fanout` (PUB, binds) and
//! `sub_fanout` (N SUB sockets in one process, connects) as two processes
//! over tcp loopback, both on the same implementation, 64 B messages; the
//! sample is `sub_fanout`'s deliveries (summed over the subscribers), its
//! fewest and most per subscriber and its deliveries/s, and `pub_fanout`'s
//! send rate. PUB drops for a subscriber at its high-water mark, so the
//! share delivered is part of the result, and a starved subscriber shows up
//! as a minimum far below the maximum.
//!
//! The runs go along the subscriber counts of `--fanout-subs` (the runner's
//! "size" is the subscriber count here), with fixed message counts
//! ([`message_count`]): every implementation gets the same input. No
//! preparation step. The report is `fanout.{md,json}` and `fanout.svg`.

use monocoque_bench::output::{Fanout as Subs, parse_fanout, parse_send_rate};
use serde_json::json;

use crate::chart::Panel;
use crate::machine::Machine;
use crate::options::Options;
use crate::peers::{Contender, Peer};
use crate::process::{RunError, Tools, Transport, new_endpoint, parsed, run_pair};
use crate::report::{
    About, Figure, OPTIMIZED, Section, TableRow, chart, chart_subtitle, columns, fmt_int, fmt_opt,
    fmt_ratio, nums, opt_num, ratio, result_json, stat, status, wide,
};
use crate::runner::{Cell, Scenario, failure_lines};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["pub_fanout", "sub_fanout"];

/// The transport of every fan-out run.
const TRANSPORT: Transport = Transport::Tcp;

/// The message size of every fan-out run.
pub const SIZE: usize = 64;

/// Messages per full run to one subscriber, ten and a hundred: runs of
/// about 0.5-2.5 s on 2 cores (monocoque's PUB takes about 40 us per send
/// to 100 subscribers; zmq.rs's subscribers are the slowest, libzmq drops
/// the most and is done first); other subscriber counts are interpolated
/// on a log scale.
const FULL_COUNTS: [(usize, u64); 3] = [(1, 3_000_000), (10, 750_000), (100, 20_000)];

/// `--quick` runs send this share of [`FULL_COUNTS`].
const QUICK_SHARE: f64 = 0.2;

/// Seconds a run takes beyond its messages' share of [`FULL_RUN_SECS`]:
/// two processes starting and exiting.
const RUN_OVERHEAD_SECS: f64 = 0.15;
/// Extra seconds of a run per subscriber: connecting, subscribing.
const PER_SUB_SECS: f64 = 0.002;
/// Expected seconds of the messages of a full run (the mean over the
/// implementations, measured on 2 cores: zmq.rs takes about 2.5 s to 100
/// subscribers, libzmq drops most and is done in well under 1 s).
const FULL_RUN_SECS: f64 = 0.85;

/// Messages per full run to `subs` subscribers: [`FULL_COUNTS`], and a
/// power law between (and beyond) its points, to two significant digits.
fn full_count(subs: usize) -> f64 {
    let n = subs as f64;
    let pts = FULL_COUNTS.map(|(s, c)| (s as f64, c as f64));
    if n <= pts[0].0 {
        return pts[0].1;
    }
    // The segment n falls in; the last one extends beyond its end.
    let (a, b) = if n <= pts[1].0 {
        (pts[0], pts[1])
    } else {
        (pts[1], pts[2])
    };
    let slope = (b.1 / a.1).ln() / (b.0 / a.0).ln();
    a.1 * (n / a.0).powf(slope)
}

/// Rounds to two significant digits.
fn round2(v: f64) -> u64 {
    if v < 100.0 {
        return v.round() as u64;
    }
    let unit = 10f64.powf(v.log10().floor() - 1.0);
    ((v / unit).round() * unit) as u64
}

/// The message count of a run to `subs` subscribers: about 1-2 s at full
/// settings, a fifth of that with `--quick`; at least 100.
pub fn message_count(subs: usize, quick: bool) -> u64 {
    let share = if quick { QUICK_SHARE } else { 1.0 };
    round2(full_count(subs) * share).max(100)
}

/// One fan-out run: what the subscribers got and how fast the publisher
/// sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FanoutRun {
    /// `sub_fanout`'s result.
    pub sub: Subs,
    /// `pub_fanout`'s `mean send rate`, msg/s.
    pub send_rate: f64,
}

impl FanoutRun {
    /// Deliveries over what a publisher that drops nothing would deliver
    /// (`count` x subscribers), 0 to 1.
    pub fn share(&self) -> f64 {
        let all = self.sub.count as f64 * self.sub.subscribers as f64;
        if all > 0.0 {
            self.sub.deliveries as f64 / all
        } else {
            f64::NAN
        }
    }
}

/// The results of one implementation at one subscriber count.
pub type FanoutCell = Cell<Peer, FanoutRun>;

/// The fan-out scenario.
pub struct Fanout<'a> {
    /// The options.
    pub opts: &'a Options,
    /// The perf tools.
    pub tools: &'a Tools,
}

impl Fanout<'_> {
    /// One `pub_fanout`/`sub_fanout` run of `count` messages to `subs`
    /// subscribers, both sides on `peer`.
    fn run_pair(&self, peer: Peer, subs: usize, count: u64) -> Result<FanoutRun, RunError> {
        // The side channel: another free port, on which the publisher
        // listens for the subscriber process's milestones.
        let sync = new_endpoint(TRANSPORT)?.0;
        let args = [
            SIZE.to_string(),
            count.to_string(),
            subs.to_string(),
            "--sync".into(),
            sync.trim_start_matches("tcp://").to_owned(),
        ];
        let args = [&args[..], &peer.tool_args()].concat();
        let out = run_pair(
            self.tools,
            TRANSPORT,
            TOOLS,
            [args.clone(), args],
            self.opts.timeout_for(Some(self.run_secs(subs))),
            &format!("{count} messages to {subs} subscriber(s)"),
        )?;
        let sub = parsed("sub_fanout", &out[1], parse_fanout)?;
        if sub.count != count || sub.size != SIZE || sub.subscribers != subs {
            return Err(RunError::Failed(format!(
                "sub_fanout reported {} x {} B to {} subscriber(s), expected {count} x {SIZE} B to {subs}",
                sub.count, sub.size, sub.subscribers
            )));
        }
        let send_rate = parsed("pub_fanout", &out[0], parse_send_rate)?.msgs_per_sec;
        Ok(FanoutRun { sub, send_rate })
    }
}

impl Scenario for Fanout<'_> {
    type Series = Peer;
    type Sample = FanoutRun;

    fn name(&self) -> String {
        "fanout".into()
    }

    fn base_param(&self, subs: usize) -> u64 {
        message_count(subs, self.opts.quick)
    }

    fn run(&self, peer: Peer, subs: usize, count: u64) -> Result<FanoutRun, RunError> {
        self.run_pair(peer, subs, count)
    }

    fn describe(&self, r: &FanoutRun) -> String {
        format!(
            "{} deliveries/s, {:.1}% delivered, {} to {} per subscriber, sent at {} msg/s",
            fmt_int(r.sub.msgs_per_sec),
            r.share() * 100.0,
            fmt_int(r.sub.min_per_sub as f64),
            fmt_int(r.sub.max_per_sub as f64),
            fmt_int(r.send_rate)
        )
    }

    fn prepare_secs(&self, subs: usize) -> f64 {
        self.run_secs(subs)
    }

    fn run_secs(&self, subs: usize) -> f64 {
        let count = message_count(subs, self.opts.quick) as f64;
        RUN_OVERHEAD_SECS + PER_SUB_SECS * subs as f64 + FULL_RUN_SECS * count / full_count(subs)
    }

    fn point_label(&self, subs: usize) -> String {
        subs_label(subs)
    }
}

/// `1 subscriber`, `10 subscribers`.
fn subs_label(subs: usize) -> String {
    format!("{subs} subscriber{}", if subs == 1 { "" } else { "s" })
}

fn deliveries_per_sec(r: &FanoutRun) -> f64 {
    r.sub.msgs_per_sec
}

fn share(r: &FanoutRun) -> f64 {
    r.share()
}

fn min_per_sub(r: &FanoutRun) -> f64 {
    r.sub.min_per_sub as f64
}

fn max_per_sub(r: &FanoutRun) -> f64 {
    r.sub.max_per_sub as f64
}

fn send_rate(r: &FanoutRun) -> f64 {
    r.send_rate
}

/// The report section: table, failures and chart.
pub fn section(cells: &[FanoutCell], opts: &Options, machine: &Machine) -> Section {
    let rates = |c: &FanoutCell| stat(c, deliveries_per_sec);
    let shares = |c: &FanoutCell| stat(c, |r| r.share() * 100.0);
    // A log scale once the bars span more than a factor of 8.
    let log = wide(cells.iter().filter_map(rates));
    let rate_title = format!(
        "Deliveries per second, all subscribers{}",
        if log { " (log scale)" } else { "" }
    );
    let panels = vec![
        (
            Panel {
                log,
                ..Panel::new(&rate_title, "deliveries/s", "msg/s")
            },
            &rates as _,
        ),
        (
            Panel {
                reference: Some((100.0, "all".into())),
                ..Panel::new(
                    "Share of the messages delivered (PUB drops at the high-water mark)",
                    "delivered (%)",
                    "%",
                )
            },
            &shares as _,
        ),
    ];
    let title = format!(
        "PUB/SUB fan-out, {SIZE} B, {} (higher is better)",
        TRANSPORT.describe()
    );
    let heading = (title, chart_subtitle(machine, opts.runs), "subscribers");
    Section {
        id: TRANSPORT.name().into(),
        title: format!("PUB/SUB fan-out, {}", TRANSPORT.describe()),
        headline: format!(
            "PUB/SUB fan-out, {}, {SIZE} B, one PUB (pub_fanout) and all SUBs (sub_fanout) in two processes, both on the same implementation; {} run(s) per row; deliveries/s summed over the subscribers",
            TRANSPORT.describe(),
            opts.runs
        ),
        columns: columns(
            "impl/runtime",
            &[
                "subs",
                "count",
                "median deliveries/s",
                "min",
                "max",
                "delivered",
                "min/sub",
                "max/sub",
                "send msg/s",
                "vs libzmq",
            ],
        ),
        rows: cells.iter().map(|c| table_row(cells, c)).collect(),
        failures: failure_lines(cells, subs_label),
        figures: vec![Figure {
            file: "fanout.svg".into(),
            alt: "PUB/SUB fan-out deliveries per second and share delivered by subscriber count"
                .into(),
            chart: chart(cells, heading, subs_label, panels),
        }],
        json: [
            ("transport".into(), TRANSPORT.describe().into()),
            ("message_size".into(), SIZE.into()),
        ]
        .into_iter()
        .collect(),
    }
}

fn table_row(cells: &[FanoutCell], c: &FanoutCell) -> TableRow {
    let rate = stat(c, deliveries_per_sec);
    let median = |f: fn(&FanoutRun) -> f64| stat(c, f).map(|s| s.median);
    let r = ratio(cells, c, deliveries_per_sec).map(|r| r.median);
    let text = vec![
        c.series.label(),
        c.size.to_string(),
        fmt_int(c.param as f64),
        rate.map_or(status(c).into(), |s| fmt_int(s.median)),
        fmt_opt(rate.map(|s| s.min)),
        fmt_opt(rate.map(|s| s.max)),
        median(share).map_or("-".into(), |v| format!("{:.1}%", v * 100.0)),
        fmt_opt(median(min_per_sub)),
        fmt_opt(median(max_per_sub)),
        fmt_opt(median(send_rate)),
        fmt_ratio(r),
    ];
    let ints = |f: fn(&Subs) -> u64| -> Vec<u64> { c.samples.iter().map(|r| f(&r.sub)).collect() };
    let json = json!({
        "count": c.param,
        "runs_deliveries_per_sec": nums(c, deliveries_per_sec),
        "runs_deliveries": ints(|s| s.deliveries),
        "runs_share_delivered": nums(c, share),
        "runs_min_per_subscriber": ints(|s| s.min_per_sub),
        "runs_max_per_subscriber": ints(|s| s.max_per_sub),
        "runs_send_msgs_per_sec": nums(c, send_rate),
        "median_deliveries_per_sec": opt_num(rate.map(|s| s.median)),
        "min_deliveries_per_sec": opt_num(rate.map(|s| s.min)),
        "max_deliveries_per_sec": opt_num(rate.map(|s| s.max)),
        "median_share_delivered": opt_num(median(share)),
        "median_min_per_subscriber": opt_num(median(min_per_sub)),
        "median_max_per_subscriber": opt_num(median(max_per_sub)),
        "median_send_msgs_per_sec": opt_num(median(send_rate)),
        "ratio_vs_libzmq": opt_num(r),
    });
    TableRow {
        group: c.size.to_string(),
        cells: text,
        json: result_json(c, "subscribers", json),
    }
}

/// What the fan-out report says besides its section.
pub fn about(opts: &Options) -> About {
    let counts: Vec<String> = (opts.fanout_subs.iter())
        .map(|&n| format!("{} to {n}", fmt_int(message_count(n, opts.quick) as f64)))
        .collect();
    About {
        name: "fanout",
        title: "monocoque vs libzmq: PUB/SUB fan-out",
        benchmark: "pub_sub_fanout",
        intro: vec![
            format!(
                "each run: `pub_fanout` (PUB, binds) sends HELLOs until every SUB of `sub_fanout` (one process, connects) has one, then the DATA messages as fast as `send` takes them, then ENDs; messages per run (the same for every implementation): {}",
                counts.join(", ")
            ),
            "columns: `median deliveries/s`, `min`, `max` = median, min and max over the runs of `sub_fanout`'s DATA messages received by all subscribers per second (first arrival at any subscriber to the last); `delivered` = deliveries / (count x subscribers), `min/sub` and `max/sub` = fewest and most DATA messages one subscriber received (a starved subscriber: a min far below the max), `send msg/s` = `pub_fanout`'s send rate, each the median over the runs; `vs libzmq` = median deliveries/s / libzmq's; chart: bars are medians, whiskers span min to max".into(),
            "PUB drops the messages for a subscriber whose queue is at the high-water mark (1000 by default): a fast sender delivers a smaller share".into(),
        ],
        json: json!({
            "unit": "deliveries per second",
            "settings": {
                "runs": opts.runs,
                "subscribers": opts.fanout_subs,
                "size": SIZE,
                "quick": opts.quick,
                "optimized": OPTIMIZED,
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use monocoque_bench::args::Runtime;

    fn run(subs: usize, count: u64, deliveries: u64, rate: f64) -> FanoutRun {
        FanoutRun {
            sub: Subs {
                size: SIZE,
                count,
                subscribers: subs,
                deliveries,
                min_per_sub: deliveries / subs as u64 / 2,
                max_per_sub: deliveries / subs as u64,
                msgs_per_sec: rate,
            },
            send_rate: rate * 2.0,
        }
    }

    #[test]
    fn counts() {
        assert_eq!(message_count(1, false), 3_000_000);
        assert_eq!(message_count(10, false), 750_000);
        assert_eq!(message_count(100, false), 20_000);
        assert_eq!(message_count(100, true), 4_000);
        assert_eq!(message_count(1, true), 600_000);
        // Between and beyond the points: monotonic, sane.
        let five = message_count(5, false);
        assert!((750_000..3_000_000).contains(&five), "{five}");
        let thirty = message_count(30, false);
        assert!((20_000..750_000).contains(&thirty), "{thirty}");
        assert!(message_count(1000, false) >= 100);
        assert!(message_count(1000, false) < 20_000);
        assert_eq!(round2(123_456.0), 120_000);
        assert_eq!(round2(99.4), 99);
    }

    #[test]
    fn section_table_and_chart() {
        let ours = Peer::Monocoque(Runtime::Tokio);
        let cell = |series, subs: usize, samples: Vec<FanoutRun>| Cell {
            series,
            size: subs,
            param: 1000,
            samples,
            errors: Vec::new(),
            skipped: false,
        };
        let mut failed = cell(Peer::Zeromq, 10, Vec::new());
        failed.errors.push("run 1: boom".into());
        let cells = vec![
            cell(Peer::Libzmq, 10, vec![run(10, 1000, 2000, 100.0)]),
            cell(
                ours,
                10,
                vec![run(10, 1000, 10_000, 300.0), run(10, 1000, 8000, 100.0)],
            ),
            failed,
        ];
        let opts = Options::from_args(Vec::new()).unwrap();
        let s = section(&cells, &opts, &Machine::detect());
        assert_eq!(
            s.rows[1].cells,
            [
                "monocoque/tokio",
                "10",
                "1,000",
                "200",
                "100",
                "300",
                "90.0%",
                "450",
                "900",
                "400",
                "2.00x"
            ]
        );
        assert_eq!(s.rows[2].cells[3], "failed");
        assert_eq!(s.rows[0].json["ratio_vs_libzmq"], 1.0);
        assert_eq!(s.rows[1].json["runs_min_per_subscriber"], json!([500, 400]));
        assert_eq!(s.rows[1].json["subscribers"], 10);
        assert_eq!(s.failures, ["zmq.rs/tokio 10 subscribers: run 1: boom"]);
        let chart = &s.figures[0].chart;
        assert_eq!(chart.categories, ["10 subscribers"]);
        let b = chart.panels[1].bars[1][0].unwrap();
        assert_eq!((b.value, b.low, b.high), (90.0, 80.0, 100.0));
        // Two bars in each panel; the failed cell has none.
        assert_eq!(crate::chart::tests::check_svg(&chart.to_svg()), 4);
        let json: serde_json::Value = serde_json::from_value(about(&opts).json).unwrap();
        assert_eq!(json["settings"]["subscribers"], json!([1, 10, 100]));
    }
}
