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

use std::time::Duration;

use monocoque_bench::output::{ParsedFanout, parse_fanout, parse_send_rate};
use monocoque_bench::stats::{Summary, summarize};

use crate::chart::{Bar, Chart, Panel, Series};
use crate::machine::Machine;
use crate::options::Options;
use crate::peers::Peer;
use crate::process::{RunError, ToolRun, Tools, Transport, new_endpoint, run_tools};
use crate::report::{
    Column, Figure, Report, Section, TableRow, chart_subtitle, common_intro, common_json_fields,
    fmt_int, json_num, json_str,
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
    pub sub: ParsedFanout,
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
        let (endpoint, listen) = new_endpoint(TRANSPORT)?;
        // The side channel: another free port, on which the publisher
        // listens for the subscriber process's milestones.
        let mut sync = new_endpoint(TRANSPORT)?.0;
        while sync == endpoint {
            sync = new_endpoint(TRANSPORT)?.0;
        }
        let sync = sync.trim_start_matches("tcp://").to_owned();
        let args = |endpoint: &str| {
            let mut a = vec![
                endpoint.to_owned(),
                SIZE.to_string(),
                count.to_string(),
                subs.to_string(),
                "--sync".into(),
                sync.clone(),
            ];
            a.extend(peer.tool_args());
            a
        };
        let outputs = run_tools(
            ToolRun {
                tool: self.tools.get("pub_fanout"),
                args: args(&endpoint),
            },
            &[ToolRun {
                tool: self.tools.get("sub_fanout"),
                args: args(&endpoint),
            }],
            &listen,
            self.opts.timeout_for(Some(self.run_secs(subs))),
            &format!("{count} messages to {subs} subscriber(s)"),
        )?;
        let sub = parse_fanout(&outputs[1]).ok_or_else(|| {
            RunError::Failed(format!(
                "cannot read sub_fanout's output: {}",
                outputs[1].trim()
            ))
        })?;
        if sub.count != count || sub.size != SIZE || sub.subscribers != subs {
            return Err(RunError::Failed(format!(
                "sub_fanout reported {} x {} B to {} subscriber(s), expected {count} x {SIZE} B to {subs}",
                sub.count, sub.size, sub.subscribers
            )));
        }
        let send_rate = parse_send_rate(&outputs[0]).ok_or_else(|| {
            RunError::Failed(format!(
                "cannot read pub_fanout's send rate: {}",
                outputs[0].trim()
            ))
        })?;
        Ok(FanoutRun { sub, send_rate })
    }
}

impl Scenario for Fanout<'_> {
    type Series = Peer;
    type Sample = FanoutRun;

    fn name(&self) -> String {
        "fanout".into()
    }

    fn label(&self, peer: Peer) -> String {
        peer.label()
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

/// Median, min and max over the runs of one value of each run.
fn stat(cell: &FanoutCell, f: fn(&FanoutRun) -> f64) -> Option<Summary> {
    let v: Vec<f64> = cell.samples.iter().map(f).collect();
    summarize(&v)
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

/// Deliveries/s over libzmq's median at the same subscriber count, with
/// the min and max runs likewise.
fn ratio(cells: &[FanoutCell], cell: &FanoutCell) -> Option<Summary> {
    let base = cells
        .iter()
        .find(|c| c.size == cell.size && c.series == Peer::Libzmq)
        .and_then(|c| stat(c, deliveries_per_sec))
        .map(|s| s.median)
        .filter(|&b| b > 0.0)?;
    let s = stat(cell, deliveries_per_sec)?;
    Some(Summary {
        median: s.median / base,
        min: s.min / base,
        max: s.max / base,
    })
}

/// The report section: table, failures and chart.
pub fn section(cells: &[FanoutCell], opts: &Options, machine: &Machine) -> Section {
    let columns = vec![
        Column::text("impl/runtime"),
        Column::num("subs"),
        Column::num("count"),
        Column::num("median deliveries/s"),
        Column::num("min"),
        Column::num("max"),
        Column::num("delivered"),
        Column::num("min/sub"),
        Column::num("max/sub"),
        Column::num("send msg/s"),
        Column::num("vs libzmq"),
    ];
    let rows = cells.iter().map(|c| table_row(cells, c)).collect();
    let failures = failure_lines(cells, |s| s.label(), subs_label);
    Section {
        id: TRANSPORT.name().into(),
        title: format!("PUB/SUB fan-out, {}", TRANSPORT.describe()),
        headline: format!(
            "PUB/SUB fan-out, {}, {SIZE} B, one PUB (pub_fanout) and all SUBs (sub_fanout) in two processes, both on the same implementation; {} run(s) per row; deliveries/s summed over the subscribers",
            TRANSPORT.describe(),
            opts.runs
        ),
        columns,
        rows,
        failures,
        figures: vec![Figure {
            file: "fanout.svg".into(),
            alt: "PUB/SUB fan-out deliveries per second and share delivered by subscriber count"
                .into(),
            chart: chart(cells, opts, machine),
        }],
        json_fields: vec![
            ("transport".into(), json_str(TRANSPORT.describe())),
            ("message_size".into(), SIZE.to_string()),
        ],
    }
}

fn table_row(cells: &[FanoutCell], c: &FanoutCell) -> TableRow {
    let rate = stat(c, deliveries_per_sec);
    let status = if !c.errors.is_empty() {
        "failed"
    } else if c.skipped {
        "skipped"
    } else {
        "-"
    };
    let median = |f: fn(&FanoutRun) -> f64| stat(c, f).map(|s| s.median);
    let int = |v: Option<f64>| v.map_or("-".into(), fmt_int);
    let r = ratio(cells, c);
    let text = vec![
        c.series.label(),
        c.size.to_string(),
        fmt_int(c.param as f64),
        rate.map_or(status.into(), |s| fmt_int(s.median)),
        int(rate.map(|s| s.min)),
        int(rate.map(|s| s.max)),
        median(share).map_or("-".into(), |v| format!("{:.1}%", v * 100.0)),
        int(median(min_per_sub)),
        int(median(max_per_sub)),
        int(median(send_rate)),
        r.map_or("-".into(), |r| format!("{:.2}x", r.median)),
    ];
    let nums = |f: fn(&FanoutRun) -> f64| {
        let v: Vec<String> = c.samples.iter().map(|r| json_num(Some(f(r)))).collect();
        v.join(", ")
    };
    let ints = |f: fn(&FanoutRun) -> u64| {
        let v: Vec<String> = c.samples.iter().map(|r| f(r).to_string()).collect();
        v.join(", ")
    };
    let errors: Vec<String> = c.errors.iter().map(|e| json_str(e)).collect();
    let json = format!(
        "{{\"label\": {}, \"impl\": {}, \"runtime\": {}, \"subscribers\": {}, \"size\": {SIZE}, \"count\": {}, \"runs_deliveries_per_sec\": [{}], \"runs_deliveries\": [{}], \"runs_share_delivered\": [{}], \"runs_min_per_subscriber\": [{}], \"runs_max_per_subscriber\": [{}], \"runs_send_msgs_per_sec\": [{}], \"median_deliveries_per_sec\": {}, \"min_deliveries_per_sec\": {}, \"max_deliveries_per_sec\": {}, \"median_share_delivered\": {}, \"median_min_per_subscriber\": {}, \"median_max_per_subscriber\": {}, \"median_send_msgs_per_sec\": {}, \"ratio_vs_libzmq\": {}, \"errors\": [{}]}}",
        json_str(&c.series.label()),
        json_str(c.series.imp().name()),
        c.series
            .runtime()
            .map_or("null".into(), |r| json_str(r.name())),
        c.size,
        c.param,
        nums(deliveries_per_sec),
        ints(|r| r.sub.deliveries),
        nums(share),
        ints(|r| r.sub.min_per_sub),
        ints(|r| r.sub.max_per_sub),
        nums(send_rate),
        json_num(rate.map(|s| s.median)),
        json_num(rate.map(|s| s.min)),
        json_num(rate.map(|s| s.max)),
        json_num(median(share)),
        json_num(median(min_per_sub)),
        json_num(median(max_per_sub)),
        json_num(median(send_rate)),
        json_num(r.map(|r| r.median)),
        errors.join(", ")
    );
    TableRow {
        group: c.size.to_string(),
        cells: text,
        json,
    }
}

/// Deliveries/s and the share delivered by subscriber count, one bar per
/// implementation.
fn chart(cells: &[FanoutCell], opts: &Options, m: &Machine) -> Chart {
    let mut subs = Vec::new();
    let mut peers = Vec::new();
    for c in cells {
        if !subs.contains(&c.size) {
            subs.push(c.size);
        }
        if !peers.contains(&c.series) {
            peers.push(c.series);
        }
    }
    let bars = |f: &dyn Fn(&FanoutRun) -> f64| -> Vec<Vec<Option<Bar>>> {
        peers
            .iter()
            .map(|&p| {
                subs.iter()
                    .map(|&n| {
                        let cell = cells.iter().find(|c| c.series == p && c.size == n)?;
                        let v: Vec<f64> = cell.samples.iter().map(f).collect();
                        summarize(&v).map(|s| Bar::new(s.median, s.min, s.max))
                    })
                    .collect()
            })
            .collect()
    };
    let rates = bars(&deliveries_per_sec);
    // A log scale once the bars span more than a factor of 8.
    let (lo, hi) = (rates.iter().flatten().flatten())
        .flat_map(|b| [b.low, b.high])
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let log = hi / lo > 8.0;
    Chart {
        title: format!(
            "PUB/SUB fan-out, {SIZE} B, {} (higher is better)",
            TRANSPORT.describe()
        ),
        subtitle: chart_subtitle(m, opts.runs),
        x_label: "subscribers".into(),
        categories: subs.iter().map(|&n| subs_label(n)).collect(),
        series: peers
            .iter()
            .map(|p| Series {
                name: p.label(),
                color: p.color().into(),
            })
            .collect(),
        panels: vec![
            Panel {
                title: format!(
                    "Deliveries per second, all subscribers{}",
                    if log { " (log scale)" } else { "" }
                ),
                y_label: "deliveries/s".into(),
                unit: "msg/s".into(),
                log,
                reference: None,
                base: None,
                bars: rates,
            },
            Panel {
                title: "Share of the messages delivered (PUB drops at the high-water mark)".into(),
                y_label: "delivered (%)".into(),
                unit: "%".into(),
                log: false,
                reference: Some((100.0, "all".into())),
                base: None,
                bars: bars(&|r| r.share() * 100.0),
            },
        ],
    }
}

/// The fan-out report.
pub fn report(
    opts: &Options,
    machine: &Machine,
    notes: &[String],
    elapsed: Duration,
    sections: Vec<Section>,
) -> Report {
    let mut intro = common_intro(machine);
    let counts: Vec<String> = (opts.fanout_subs.iter())
        .map(|&n| format!("{} to {n}", fmt_int(message_count(n, opts.quick) as f64)))
        .collect();
    intro.push(format!(
        "each run: `pub_fanout` (PUB, binds) sends HELLOs until every SUB of `sub_fanout` (one process, connects) has one, then the DATA messages as fast as `send` takes them, then ENDs; messages per run (the same for every implementation): {}",
        counts.join(", ")
    ));
    intro.push("columns: `median deliveries/s`, `min`, `max` = median, min and max over the runs of `sub_fanout`'s DATA messages received by all subscribers per second (first arrival at any subscriber to the last); `delivered` = deliveries / (count x subscribers), `min/sub` and `max/sub` = fewest and most DATA messages one subscriber received (a starved subscriber: a min far below the max), `send msg/s` = `pub_fanout`'s send rate, each the median over the runs; `vs libzmq` = median deliveries/s / libzmq's; chart: bars are medians, whiskers span min to max".into());
    intro.push("PUB drops the messages for a subscriber whose queue is at the high-water mark (1000 by default): a fast sender delivers a smaller share".into());
    intro.push(format!("total time: {:.0} s", elapsed.as_secs_f64()));
    let mut json_fields = common_json_fields("pub_sub_fanout", machine);
    json_fields.push(("unit".into(), json_str("deliveries per second")));
    let subs: Vec<String> = opts.fanout_subs.iter().map(usize::to_string).collect();
    json_fields.push((
        "settings".into(),
        format!(
            "{{\"runs\": {}, \"subscribers\": [{}], \"size\": {SIZE}, \"quick\": {}, \"optimized\": {}}}",
            opts.runs,
            subs.join(", "),
            opts.quick,
            !cfg!(debug_assertions)
        ),
    ));
    json_fields.push((
        "elapsed_secs".into(),
        format!("{:.1}", elapsed.as_secs_f64()),
    ));
    Report {
        name: "fanout".into(),
        title: "monocoque vs libzmq: PUB/SUB fan-out".into(),
        intro,
        json_fields,
        sections,
        notes: notes.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use monocoque_bench::args::Runtime;

    fn run(subs: usize, count: u64, deliveries: u64, rate: f64) -> FanoutRun {
        FanoutRun {
            sub: ParsedFanout {
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
        let opts = Options::parse(Vec::new()).unwrap();
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
        assert!(s.rows[0].json.contains("\"ratio_vs_libzmq\": 1.000"));
        assert!(
            s.rows[1]
                .json
                .contains("\"runs_min_per_subscriber\": [500, 400]")
        );
        assert_eq!(s.failures, ["zmq.rs/tokio 10 subscribers: run 1: boom"]);
        let chart = &s.figures[0].chart;
        assert_eq!(chart.categories, ["10 subscribers"]);
        let b = chart.panels[1].bars[1][0].unwrap();
        assert_eq!((b.value, b.low, b.high), (90.0, 80.0, 100.0));
        // Two bars in each panel; the failed cell has none.
        assert_eq!(crate::chart::tests::check_svg(&chart.to_svg()), 4);
        let r = report(&opts, &Machine::detect(), &[], Duration::ZERO, vec![s]);
        assert!(r.json().contains("\"subscribers\": [1, 10, 100]"));
    }
}
