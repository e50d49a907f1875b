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

use monocoque_bench::output::{Roundtrips, parse_router};
use serde_json::json;

use crate::chart::Panel;
use crate::machine::Machine;
use crate::options::Options;
use crate::peers::{Contender, Peer};
use crate::process::{RunError, Tools, Transport, parsed, run_pair};
use crate::report::{
    About, Figure, OPTIMIZED, Section, TableRow, chart, chart_subtitle, columns, fmt_int, fmt_opt,
    fmt_ratio, nums, opt_num, ratio, result_json, stat, status,
};
use crate::runner::{Cell, Scenario, failure_lines};

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

/// The results of one implementation.
pub type RouterCell = Cell<Peer, Roundtrips>;

/// The router scenario.
pub struct Router<'a> {
    /// The options.
    pub opts: &'a Options,
    /// The perf tools.
    pub tools: &'a Tools,
}

impl Router<'_> {
    /// One `router_echo`/`dealers` run: `peers` DEALERs making `count`
    /// roundtrips each, both sides on `peer`.
    fn run_pair(&self, peer: Peer, peers: usize, count: u64) -> Result<Roundtrips, RunError> {
        let args = [SIZE.to_string(), count.to_string(), peers.to_string()];
        let args = [&args[..], &peer.tool_args()].concat();
        let out = run_pair(
            self.tools,
            TRANSPORT,
            TOOLS,
            [args.clone(), args],
            self.opts.timeout_for(Some(self.run_secs(peers))),
            &format!("{count} roundtrips x {peers} peers"),
        )?;
        let parsed = parsed("dealers", &out[1], parse_router)?;
        if parsed.count != count || parsed.size != SIZE || parsed.peers != peers {
            return Err(RunError::Failed(format!(
                "dealers reported {} x {} B x {} peers, expected {count} x {SIZE} B x {peers}",
                parsed.count, parsed.size, parsed.peers
            )));
        }
        Ok(parsed)
    }
}

impl Scenario for Router<'_> {
    type Series = Peer;
    type Sample = Roundtrips;

    fn name(&self) -> String {
        "router".into()
    }

    fn base_param(&self, peers: usize) -> u64 {
        count_per_peer(peers, self.opts.quick)
    }

    fn run(&self, peer: Peer, peers: usize, count: u64) -> Result<Roundtrips, RunError> {
        self.run_pair(peer, peers, count)
    }

    fn describe(&self, r: &Roundtrips) -> String {
        format!(
            "{} roundtrips/s ({} roundtrips)",
            fmt_int(r.msgs_per_sec),
            fmt_int(r.roundtrips as f64)
        )
    }

    fn prepare_secs(&self, peers: usize) -> f64 {
        self.run_secs(peers)
    }

    fn run_secs(&self, peers: usize) -> f64 {
        let total = count_per_peer(peers, self.opts.quick) as f64 * peers as f64;
        RUN_OVERHEAD_SECS + PER_PEER_SECS * peers as f64 + total / ROUNDTRIPS_PER_SEC
    }

    fn point_label(&self, peers: usize) -> String {
        peers_label(peers)
    }
}

/// `1 peer`, `100 peers`.
fn peers_label(peers: usize) -> String {
    format!("{peers} peer{}", if peers == 1 { "" } else { "s" })
}

/// Roundtrips per second of a run.
fn rate(r: &Roundtrips) -> f64 {
    r.msgs_per_sec
}

/// The report section: table, failures and chart.
pub fn section(cells: &[RouterCell], opts: &Options, machine: &Machine) -> Section {
    let rates = |c: &RouterCell| stat(c, rate);
    let ratios = |c: &RouterCell| ratio(cells, c, rate);
    let mut panels = vec![(
        Panel::new("Roundtrips per second, all peers", "roundtrips/s", "msg/s"),
        &rates as _,
    )];
    if cells.iter().any(|c| c.series.is_baseline()) {
        panels.push((
            Panel {
                reference: Some((1.0, "libzmq".into())),
                base: Some(1.0),
                ..Panel::new(
                    "Ratio to libzmq's median (above 1: faster than libzmq)",
                    "x libzmq",
                    "x libzmq",
                )
            },
            &ratios as _,
        ));
    }
    let title = format!(
        "ROUTER <-> DEALERs, {SIZE} B, {} (higher is better)",
        TRANSPORT.describe()
    );
    let heading = (title, chart_subtitle(machine, opts.runs), "DEALER peers");
    Section {
        id: TRANSPORT.name().into(),
        title: format!("ROUTER <-> DEALERs, {}", TRANSPORT.describe()),
        headline: format!(
            "ROUTER (router_echo) echoing to DEALERs (dealers, one process, up to 32 in flight each), {}, {SIZE} B, both on the same implementation; {} run(s) per row; roundtrips/s over all peers",
            TRANSPORT.describe(),
            opts.runs
        ),
        columns: columns(
            "impl/runtime",
            &[
                "peers",
                "count/peer",
                "median roundtrips/s",
                "min",
                "max",
                "vs libzmq",
            ],
        ),
        rows: cells.iter().map(|c| table_row(cells, c)).collect(),
        failures: failure_lines(cells, peers_label),
        figures: vec![Figure {
            file: "router.svg".into(),
            alt: "ROUTER to DEALERs roundtrips per second by implementation".into(),
            chart: chart(cells, heading, peers_label, panels),
        }],
        json: [
            ("transport".into(), TRANSPORT.describe().into()),
            ("message_size".into(), SIZE.into()),
        ]
        .into_iter()
        .collect(),
    }
}

fn table_row(cells: &[RouterCell], c: &RouterCell) -> TableRow {
    let s = stat(c, rate);
    let r = ratio(cells, c, rate).map(|r| r.median);
    let text = vec![
        c.series.label(),
        c.size.to_string(),
        fmt_int(c.param as f64),
        s.map_or(status(c).into(), |s| fmt_int(s.median)),
        fmt_opt(s.map(|s| s.min)),
        fmt_opt(s.map(|s| s.max)),
        fmt_ratio(r),
    ];
    let json = json!({
        "size": SIZE,
        "count_per_peer": c.param,
        "roundtrips": c.param * c.size as u64,
        "runs_roundtrips_per_sec": nums(c, rate),
        "median_roundtrips_per_sec": opt_num(s.map(|s| s.median)),
        "min_roundtrips_per_sec": opt_num(s.map(|s| s.min)),
        "max_roundtrips_per_sec": opt_num(s.map(|s| s.max)),
        "ratio_vs_libzmq": opt_num(r),
    });
    TableRow {
        group: c.size.to_string(),
        cells: text,
        json: result_json(c, "peers", json),
    }
}

/// What the router report says besides its section.
pub fn about(opts: &Options) -> About {
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

#[cfg(test)]
mod tests {
    use super::*;
    use monocoque_bench::args::Runtime;

    fn rt(msgs_per_sec: f64) -> Roundtrips {
        Roundtrips {
            size: SIZE,
            count: 3000,
            peers: 100,
            roundtrips: 300_000,
            msgs_per_sec,
        }
    }

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
        let cell = |series, samples: Vec<Roundtrips>| Cell {
            series,
            size: 100,
            param: 3000,
            samples,
            errors: Vec::new(),
            skipped: false,
        };
        let mut failed = cell(Peer::Zeromq, Vec::new());
        failed.errors.push("run 1: timed out".into());
        failed.skipped = true;
        let cells = vec![
            cell(Peer::Libzmq, vec![rt(100_000.0), rt(300_000.0)]),
            cell(ours, vec![rt(300_000.0), rt(500_000.0), rt(400_000.0)]),
            failed,
        ];
        let opts = Options::from_args(Vec::new()).unwrap();
        let s = section(&cells, &opts, &Machine::detect());
        assert_eq!(
            s.rows[1].cells,
            [
                "monocoque/smol",
                "100",
                "3,000",
                "400,000",
                "300,000",
                "500,000",
                "2.00x"
            ]
        );
        assert_eq!(s.rows[2].cells[3], "failed");
        assert_eq!(s.rows[1].json["roundtrips"], 300_000);
        assert_eq!(s.failures, ["zmq.rs/tokio 100 peers: run 1: timed out"]);
        let chart = &s.figures[0].chart;
        assert_eq!(chart.categories, ["100 peers"]);
        assert_eq!(chart.panels.len(), 2);
        let b = chart.panels[1].bars[1][0].unwrap();
        assert_eq!((b.value, b.low, b.high), (2.0, 1.5, 2.5));
        assert_eq!(crate::chart::tests::check_svg(&chart.to_svg()), 4);
        assert_eq!(about(&opts).json["settings"]["count_per_peer"], 3000);
    }
}
