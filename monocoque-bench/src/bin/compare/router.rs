//! The ROUTER <-> DEALERs scenario: `router_echo` (ROUTER, binds, echoes
//! every message to its sender) and `dealers` (N DEALER sockets in one
//! process, connect, up to 32 messages in flight each) as two processes
//! over tcp loopback, both on the same implementation, 64 B messages; the
//! sample is `dealers`' roundtrips per second (all peers, from the end of a
//! warm-up barrier to the last echo).
//!
//! One point (`--router-peers` DEALERs, 100 by default; the runner's "size"
//! is the peer count here), a fixed roundtrip count ([`count_per_peer`]),
//! no preparation step. The report is `router.{md,json}` and `router.svg`.

use monocoque_bench::args::Impl;
use serde_json::json;

use crate::Ctx;
use crate::chart::Panel;
use crate::peers::{Peer, peers};
use crate::process::{RunError, Transport, read};
use crate::report::Fmt::*;
use crate::report::What::*;
use crate::report::{
    About, Bars, Figure, OPTIMIZED, Section, Table, chart, col, fmt_int, ratio_panel,
};
use crate::runner::{Cell, Part, Sample, Scenario};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["router_echo", "dealers"];

/// The transport of every router run.
const TRANSPORT: Transport = Transport::Tcp;

/// The message size of every router run.
pub const SIZE: usize = 64;

/// Roundtrips per full run, over all peers: about 0.7-2 s on 2 cores
/// (150,000-450,000 a second with 100 peers).
const FULL_ROUNDTRIPS: u64 = 300_000;
/// Roundtrips per `--quick` run, over all peers.
const QUICK_ROUNDTRIPS: u64 = 100_000;
/// Fewest roundtrips per peer.
const MIN_PER_PEER: u64 = 100;

/// Seconds a run takes beyond its roundtrips: two processes starting and
/// exiting.
const RUN_OVERHEAD_SECS: f64 = 0.1;
/// Extra seconds of a run per peer: connecting, the warm-up barrier.
const PER_PEER_SECS: f64 = 0.002;
/// Expected roundtrips per second (the mean over the implementations,
/// measured on 2 cores).
const ROUNDTRIPS_PER_SEC: f64 = 400_000.0;

/// Roundtrips per peer of a run with `peers` DEALERs: 3,000 each for 100
/// (1,000 with `--quick`).
pub fn count_per_peer(peers: usize, quick: bool) -> u64 {
    let total = if quick {
        QUICK_ROUNDTRIPS
    } else {
        FULL_ROUNDTRIPS
    };
    (total / peers.max(1) as u64).max(MIN_PER_PEER)
}

/// The table, of the one metric: roundtrips/s.
const TABLE: Table = Table {
    cols: &[
        col("peers", "peers", Point, Plain),
        col("", "size", Calc(size), Int),
        col("count/peer", "count_per_peer", Count, Int),
        col("", "roundtrips", Calc(roundtrips), Int),
        col("", "runs_roundtrips_per_sec", Runs(0), Int),
        col(
            "median roundtrips/s",
            "median_roundtrips_per_sec",
            Median(0),
            Int,
        ),
        col("min", "min_roundtrips_per_sec", Min(0), Int),
        col("max", "max_roundtrips_per_sec", Max(0), Int),
        col("vs libzmq", "ratio_vs_libzmq", Ratio(0), Times),
    ],
    pair: false,
};

/// The message size of a cell's runs: [`SIZE`].
fn size(_: &Cell) -> Option<f64> {
    Some(SIZE as f64)
}

/// All roundtrips of a run: the count per peer times the peers.
fn roundtrips(c: &Cell) -> Option<f64> {
    Some(c.param as f64 * c.point as f64)
}

/// The router scenario.
pub struct Router<'a> {
    ctx: &'a Ctx<'a>,
}

/// The router scenario: libzmq, monocoque on each runtime in its default
/// set-up and zmq.rs (the router tools run on nothing else), with
/// `--router-peers` DEALERs.
pub fn part<'a>(ctx: &'a Ctx<'a>) -> Part<'a> {
    Part {
        scenario: Box::new(Router { ctx }),
        series: peers(
            ctx.opts,
            &[Impl::Libzmq, Impl::Monocoque, Impl::Zeromq],
            false,
        ),
        points: vec![ctx.opts.router_peers],
    }
}

impl Scenario for Router<'_> {
    fn name(&self) -> String {
        "router".into()
    }

    fn points_are(&self) -> &'static str {
        "peer count(s)"
    }

    fn base_param(&self, peers: usize) -> u64 {
        count_per_peer(peers, self.ctx.opts.quick)
    }

    /// One `router_echo`/`dealers` run: `peers` DEALERs making `count`
    /// roundtrips each, both sides on `peer`.
    fn run(&self, peer: Peer, peers: usize, count: u64) -> Result<Sample, RunError> {
        let args = [SIZE.to_string(), count.to_string(), peers.to_string()];
        let args = [&args[..], &peer.tool_args()].concat();
        let timeout = self.ctx.opts.timeout_for(self.run_secs(peers));
        let what = format!("{count} roundtrips x {peers} peers");
        let out = (self.ctx).run_pair(TRANSPORT, TOOLS, [args.clone(), args], timeout, &what)?;
        let given = [
            ("message size", SIZE as u64),
            ("message count", count),
            ("peers", peers as u64),
        ];
        let [rate] = read("dealers", &out[1], &given, ["mean throughput [msg/s]"])?;
        Ok(vec![rate])
    }

    fn describe(&self, s: &Sample) -> String {
        format!("{} roundtrips/s", fmt_int(s[0]))
    }

    fn run_secs(&self, peers: usize) -> f64 {
        let total = count_per_peer(peers, self.ctx.opts.quick) as f64 * peers as f64;
        RUN_OVERHEAD_SECS + PER_PEER_SECS * peers as f64 + total / ROUNDTRIPS_PER_SEC
    }

    fn point_label(&self, peers: usize) -> String {
        peers_label(peers)
    }

    fn section(&self, cells: &[Cell]) -> Section {
        let (t, runs) = (TRANSPORT.describe(), self.ctx.opts.runs);
        let rates = Panel::new("Roundtrips per second, all peers", "roundtrips/s", "msg/s");
        let panels = [(rates, Bars::Stat(0))].into_iter();
        let panels = panels.chain(ratio_panel(cells, 0)).collect();
        let title = format!("ROUTER <-> DEALERs, {SIZE} B, {t} (higher is better)");
        let heading = self.ctx.heading(title, "DEALER peers");
        Section {
            id: TRANSPORT.name().into(),
            title: format!("ROUTER <-> DEALERs, {t}"),
            headline: format!(
                "ROUTER (router_echo) echoing to DEALERs (dealers, one process, up to 32 in flight each), {t}, {SIZE} B, both on the same implementation; {runs} run(s) per row; roundtrips/s over all peers"
            ),
            figures: vec![Figure {
                file: "router.svg".into(),
                alt: "ROUTER to DEALERs roundtrips per second by implementation".into(),
                chart: chart(cells, heading, &peers_label, panels),
            }],
            json: json!({"transport": t, "message_size": SIZE}),
            ..Section::of(&TABLE, cells, &peers_label)
        }
    }

    fn about(&self) -> About {
        let opts = self.ctx.opts;
        let count = count_per_peer(opts.router_peers, opts.quick);
        About {
            name: "router",
            title: "monocoque vs libzmq: ROUTER <-> DEALERs",
            benchmark: "router_dealers",
            intro: vec![
                format!(
                    "each run: `router_echo` (ROUTER, binds) sends every message back to its sender; `dealers` (one process, connects) runs {} DEALERs, each sends one warm-up message and waits for its echo, then (clock started once all have) keeps up to 32 messages in flight until it has {} echoes",
                    opts.router_peers,
                    fmt_int(count as f64)
                ),
                "columns: median, min and max over the runs of `dealers`' roundtrips per second, all peers together (end of the warm-up barrier to the last echo); `vs libzmq` = median / libzmq's median; chart: bars are medians, whiskers span min to max".into(),
                format!(
                    "connection set-up (second section): `connect_server` (ROUTER, binds) echoes one message per connection; `connects` (one process) makes rounds of DEALERs at once ({} clients; {} connections per run), each connecting, making one roundtrip and closing; the sample is connections per second over all rounds",
                    opts.connect_clients.iter().map(|c| fmt_int(*c as f64)).collect::<Vec<_>>().join(" and "),
                    fmt_int(opts.connects as f64)
                ),
            ],
            json: json!({
                "unit": "roundtrips per second",
                "settings": {
                    "runs": opts.runs,
                    "peers": opts.router_peers,
                    "count_per_peer": count,
                    "size": SIZE,
                    "quick": opts.quick,
                    "optimized": OPTIMIZED,
                },
            }),
        }
    }
}

/// `1 peer`, `100 peers`.
fn peers_label(peers: usize) -> String {
    format!("{peers} peer{}", if peers == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::cell;
    use monocoque_bench::args::Runtime;

    #[test]
    fn counts() {
        assert_eq!(count_per_peer(100, false), 3000);
        assert_eq!(count_per_peer(100, true), 1000);
        assert_eq!(count_per_peer(1, false), 300_000);
        assert_eq!(count_per_peer(100_000, false), MIN_PER_PEER);
    }

    #[test]
    fn section_table_and_chart() {
        let ours = Peer::Monocoque(Runtime::Smol);
        let mut cells = [
            cell(Peer::Libzmq, 100, &[&[100_000.0], &[300_000.0]]),
            cell(ours, 100, &[&[300_000.0], &[500_000.0], &[400_000.0]]),
        ];
        cells.iter_mut().for_each(|c| c.param = 3000);
        Ctx::with_test(&[], |ctx| {
            let s = part(ctx).scenario.section(&cells);
            let row = "monocoque/smol|100|3,000|400,000|300,000|500,000|2.00x";
            assert_eq!(s.rows[1].cells.join("|"), row);
            let json = &s.rows[1].json;
            assert_eq!(
                (json["size"].as_u64(), json["roundtrips"].as_u64()),
                (Some(64), Some(300_000))
            );
            let chart = &s.figures[0].chart;
            assert_eq!(
                (chart.categories[0].as_str(), chart.panels.len()),
                ("100 peers", 2)
            );
            assert_eq!(
                part(ctx).scenario.about().json["settings"]["count_per_peer"],
                3000
            );
        });
    }
}
