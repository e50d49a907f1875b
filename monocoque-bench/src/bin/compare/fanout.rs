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

use monocoque_bench::args::Impl;
use serde_json::json;

use crate::Ctx;
use crate::chart::Panel;
use crate::peers::{Peer, peers};
use crate::process::{RunError, Transport, new_endpoint, read};
use crate::report::Fmt::*;
use crate::report::What::*;
use crate::report::{About, Bars, Figure, OPTIMIZED, Section, Table, chart, col, fmt_int};
use crate::runner::{Cell, Part, Sample, Scenario};

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

/// The table, of six metrics: deliveries/s, the share delivered, the fewest
/// and most per subscriber, the send rate and the deliveries of each run.
const TABLE: Table = Table {
    cols: &[
        col("subs", "subscribers", Point, Plain),
        col("count", "count", Count, Int),
        col("", "runs_deliveries_per_sec", Runs(0), Int),
        col("", "runs_deliveries", Runs(5), Int),
        col("", "runs_share_delivered", Runs(1), Pct),
        col("", "runs_min_per_subscriber", Runs(2), Int),
        col("", "runs_max_per_subscriber", Runs(3), Int),
        col("", "runs_send_msgs_per_sec", Runs(4), Int),
        col(
            "median deliveries/s",
            "median_deliveries_per_sec",
            Median(0),
            Int,
        ),
        col("min", "min_deliveries_per_sec", Min(0), Int),
        col("max", "max_deliveries_per_sec", Max(0), Int),
        col("delivered", "median_share_delivered", Median(1), Pct),
        col("min/sub", "median_min_per_subscriber", Median(2), Int),
        col("max/sub", "median_max_per_subscriber", Median(3), Int),
        col("send msg/s", "median_send_msgs_per_sec", Median(4), Int),
        col("vs libzmq", "ratio_vs_libzmq", Ratio(0), Times),
    ],
    pair: false,
};

/// The fan-out scenario.
pub struct Fanout<'a> {
    ctx: &'a Ctx<'a>,
}

/// The fan-out scenario: libzmq, monocoque on each runtime in its default
/// set-up and zmq.rs (the fan-out tools run on nothing else), to each
/// subscriber count of `--fanout-subs`.
pub fn part<'a>(ctx: &'a Ctx<'a>) -> Part<'a> {
    Part {
        scenario: Box::new(Fanout { ctx }),
        series: peers(
            ctx.opts,
            &[Impl::Libzmq, Impl::Monocoque, Impl::Zeromq],
            false,
        ),
        points: ctx.opts.fanout_subs.clone(),
    }
}

impl Scenario for Fanout<'_> {
    fn name(&self) -> String {
        "fanout".into()
    }

    fn points_are(&self) -> &'static str {
        "subscriber count(s)"
    }

    fn base_param(&self, subs: usize) -> u64 {
        message_count(subs, self.ctx.opts.quick)
    }

    /// One `pub_fanout`/`sub_fanout` run of `count` messages to `subs`
    /// subscribers, both sides on `peer`.
    fn run(&self, peer: Peer, subs: usize, count: u64) -> Result<Sample, RunError> {
        // The side channel: another free port, on which the publisher
        // listens for the subscriber process's milestones.
        let sync = new_endpoint(TRANSPORT)?.0;
        let sync = sync.trim_start_matches("tcp://").to_owned();
        let args = [
            SIZE.to_string(),
            count.to_string(),
            subs.to_string(),
            "--sync".into(),
            sync,
        ];
        let args = [&args[..], &peer.tool_args()].concat();
        let timeout = self.ctx.opts.timeout_for(self.run_secs(subs));
        let what = format!("{count} messages to {subs} subscriber(s)");
        let out = (self.ctx).run_pair(TRANSPORT, TOOLS, [args.clone(), args], timeout, &what)?;
        let given = [
            ("message size", SIZE as u64),
            ("message count", count),
            ("subscribers", subs as u64),
        ];
        let keys = [
            "mean throughput [msg/s]",
            "deliveries",
            "min per subscriber",
            "max per subscriber",
        ];
        let [rate, deliveries, min, max] = read("sub_fanout", &out[1], &given, keys)?;
        let [send] = read("pub_fanout", &out[0], &[], ["mean send rate [msg/s]"])?;
        // Deliveries over what a publisher that drops nothing would deliver.
        let share = deliveries / (count as f64 * subs as f64);
        Ok(vec![rate, share, min, max, send, deliveries])
    }

    fn describe(&self, s: &Sample) -> String {
        format!(
            "{} deliveries/s, {:.1}% delivered, {} to {} per subscriber, sent at {} msg/s",
            fmt_int(s[0]),
            s[1] * 100.0,
            fmt_int(s[2]),
            fmt_int(s[3]),
            fmt_int(s[4])
        )
    }

    fn run_secs(&self, subs: usize) -> f64 {
        let count = message_count(subs, self.ctx.opts.quick) as f64;
        RUN_OVERHEAD_SECS + PER_SUB_SECS * subs as f64 + FULL_RUN_SECS * count / full_count(subs)
    }

    fn point_label(&self, subs: usize) -> String {
        subs_label(subs)
    }

    fn section(&self, cells: &[Cell]) -> Section {
        let (t, runs) = (TRANSPORT.describe(), self.ctx.opts.runs);
        // A log scale once the bars span more than a factor of 8.
        let log = Bars::Stat(0).wide(cells);
        let rate_title = format!(
            "Deliveries per second, all subscribers{}",
            if log { " (log scale)" } else { "" }
        );
        let rates = Panel {
            log,
            ..Panel::new(&rate_title, "deliveries/s", "msg/s")
        };
        let share_title = "Share of the messages delivered (PUB drops at the high-water mark)";
        let shares = Panel {
            reference: Some((100.0, "all".into())),
            ..Panel::new(share_title, "delivered (%)", "%")
        };
        let panels = vec![(rates, Bars::Stat(0)), (shares, Bars::Pct(1))];
        let title = format!("PUB/SUB fan-out, {SIZE} B, {t} (higher is better)");
        let heading = self.ctx.heading(title, "subscribers");
        Section {
            id: TRANSPORT.name().into(),
            title: format!("PUB/SUB fan-out, {t}"),
            headline: format!(
                "PUB/SUB fan-out, {t}, {SIZE} B, one PUB (pub_fanout) and all SUBs (sub_fanout) in two processes, both on the same implementation; {runs} run(s) per row; deliveries/s summed over the subscribers"
            ),
            figures: vec![Figure {
                file: "fanout.svg".into(),
                alt:
                    "PUB/SUB fan-out deliveries per second and share delivered by subscriber count"
                        .into(),
                chart: chart(cells, heading, &subs_label, panels),
            }],
            json: json!({"transport": t, "message_size": SIZE}),
            ..Section::of(&TABLE, cells, &subs_label)
        }
    }

    fn about(&self) -> About {
        let opts = self.ctx.opts;
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
}

/// `1 subscriber`, `10 subscribers`.
fn subs_label(subs: usize) -> String {
    format!("{subs} subscriber{}", if subs == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::cell;
    use monocoque_bench::args::Runtime;

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
        // deliveries/s, share, min and max per subscriber, send rate, deliveries
        let run = |rate: f64, deliveries: f64| {
            let per_sub = deliveries / 10.0;
            [
                rate,
                deliveries / 10_000.0,
                per_sub / 2.0,
                per_sub,
                rate * 2.0,
                deliveries,
            ]
        };
        let ours = Peer::Monocoque(Runtime::Tokio);
        let cells = [
            cell(Peer::Libzmq, 10, &[&run(100.0, 2000.0)]),
            cell(ours, 10, &[&run(300.0, 10_000.0), &run(100.0, 8000.0)]),
        ];
        Ctx::with_test(&[], |ctx| {
            let s = part(ctx).scenario.section(&cells);
            let row = "monocoque/tokio|10|1,000|200|100|300|90.0%|450|900|400|2.00x";
            assert_eq!(s.rows[1].cells.join("|"), row);
            let json = &s.rows[1].json;
            assert_eq!(json["runs_min_per_subscriber"], json!([500, 400]));
            assert_eq!(
                (json["subscribers"].as_u64(), json["count"].as_u64()),
                (Some(10), Some(1000))
            );
            let b = s.figures[0].chart.panels[1].bars[1][0].unwrap();
            assert_eq!((b.value, b.low, b.high), (90.0, 80.0, 100.0));
            let about = part(ctx).scenario.about();
            assert_eq!(about.json["settings"]["subscribers"], json!([1, 10, 100]));
        });
    }
}
