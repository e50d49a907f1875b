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

use std::time::Duration;

use monocoque_bench::output::{ParsedRouter, parse_router};
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
pub type RouterCell = Cell<Peer, ParsedRouter>;

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
    fn run_pair(&self, peer: Peer, peers: usize, count: u64) -> Result<ParsedRouter, RunError> {
        let (endpoint, listen) = new_endpoint(TRANSPORT)?;
        let mut args = vec![
            endpoint,
            SIZE.to_string(),
            count.to_string(),
            peers.to_string(),
        ];
        args.extend(peer.tool_args());
        let outputs = run_tools(
            ToolRun {
                tool: self.tools.get("router_echo"),
                args: args.clone(),
            },
            &[ToolRun {
                tool: self.tools.get("dealers"),
                args,
            }],
            &listen,
            self.opts.timeout_for(Some(self.run_secs(peers))),
            &format!("{count} roundtrips x {peers} peers"),
        )?;
        let parsed = parse_router(&outputs[1]).ok_or_else(|| {
            RunError::Failed(format!(
                "cannot read dealers' output: {}",
                outputs[1].trim()
            ))
        })?;
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
    type Sample = ParsedRouter;

    fn name(&self) -> String {
        "router".into()
    }

    fn label(&self, peer: Peer) -> String {
        peer.label()
    }

    fn base_param(&self, peers: usize) -> u64 {
        count_per_peer(peers, self.opts.quick)
    }

    fn run(&self, peer: Peer, peers: usize, count: u64) -> Result<ParsedRouter, RunError> {
        self.run_pair(peer, peers, count)
    }

    fn describe(&self, r: &ParsedRouter) -> String {
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

/// Median, min and max roundtrips/s of a cell.
fn summary(cell: &RouterCell) -> Option<Summary> {
    let v: Vec<f64> = cell.samples.iter().map(|r| r.msgs_per_sec).collect();
    summarize(&v)
}

/// Roundtrips/s over libzmq's median at the same peer count, with the min
/// and max runs likewise.
fn ratio(cells: &[RouterCell], cell: &RouterCell) -> Option<Summary> {
    let base = cells
        .iter()
        .find(|c| c.size == cell.size && c.series == Peer::Libzmq)
        .and_then(summary)
        .map(|s| s.median)
        .filter(|&b| b > 0.0)?;
    let s = summary(cell)?;
    Some(Summary {
        median: s.median / base,
        min: s.min / base,
        max: s.max / base,
    })
}

/// The report section: table, failures and chart.
pub fn section(cells: &[RouterCell], opts: &Options, machine: &Machine) -> Section {
    let columns = vec![
        Column::text("impl/runtime"),
        Column::num("peers"),
        Column::num("count/peer"),
        Column::num("median roundtrips/s"),
        Column::num("min"),
        Column::num("max"),
        Column::num("vs libzmq"),
    ];
    let rows = cells.iter().map(|c| table_row(cells, c)).collect();
    let failures = failure_lines(cells, |s| s.label(), peers_label);
    Section {
        id: TRANSPORT.name().into(),
        title: format!("ROUTER <-> DEALERs, {}", TRANSPORT.describe()),
        headline: format!(
            "ROUTER (router_echo) echoing to DEALERs (dealers, one process, up to 32 in flight each), {}, {SIZE} B, both on the same implementation; {} run(s) per row; roundtrips/s over all peers",
            TRANSPORT.describe(),
            opts.runs
        ),
        columns,
        rows,
        failures,
        figures: vec![Figure {
            file: "router.svg".into(),
            alt: "ROUTER to DEALERs roundtrips per second by implementation".into(),
            chart: chart(cells, opts, machine),
        }],
        json_fields: vec![
            ("transport".into(), json_str(TRANSPORT.describe())),
            ("message_size".into(), SIZE.to_string()),
        ],
    }
}

fn table_row(cells: &[RouterCell], c: &RouterCell) -> TableRow {
    let s = summary(c);
    let status = if !c.errors.is_empty() {
        "failed"
    } else if c.skipped {
        "skipped"
    } else {
        "-"
    };
    let int = |v: Option<f64>| v.map_or("-".into(), fmt_int);
    let r = ratio(cells, c);
    let text = vec![
        c.series.label(),
        c.size.to_string(),
        fmt_int(c.param as f64),
        s.map_or(status.into(), |s| fmt_int(s.median)),
        int(s.map(|s| s.min)),
        int(s.map(|s| s.max)),
        r.map_or("-".into(), |r| format!("{:.2}x", r.median)),
    ];
    let samples: Vec<String> = (c.samples.iter())
        .map(|r| json_num(Some(r.msgs_per_sec)))
        .collect();
    let errors: Vec<String> = c.errors.iter().map(|e| json_str(e)).collect();
    let json = format!(
        "{{\"label\": {}, \"impl\": {}, \"runtime\": {}, \"peers\": {}, \"size\": {SIZE}, \"count_per_peer\": {}, \"roundtrips\": {}, \"runs_roundtrips_per_sec\": [{}], \"median_roundtrips_per_sec\": {}, \"min_roundtrips_per_sec\": {}, \"max_roundtrips_per_sec\": {}, \"ratio_vs_libzmq\": {}, \"errors\": [{}]}}",
        json_str(&c.series.label()),
        json_str(c.series.imp().name()),
        c.series
            .runtime()
            .map_or("null".into(), |r| json_str(r.name())),
        c.size,
        c.param,
        c.param * c.size as u64,
        samples.join(", "),
        json_num(s.map(|s| s.median)),
        json_num(s.map(|s| s.min)),
        json_num(s.map(|s| s.max)),
        json_num(r.map(|r| r.median)),
        errors.join(", ")
    );
    TableRow {
        group: c.size.to_string(),
        cells: text,
        json,
    }
}

/// Roundtrips/s (and the ratio to libzmq) by peer count, one bar per
/// implementation.
fn chart(cells: &[RouterCell], opts: &Options, m: &Machine) -> Chart {
    let mut points = Vec::new();
    let mut peers = Vec::new();
    for c in cells {
        if !points.contains(&c.size) {
            points.push(c.size);
        }
        if !peers.contains(&c.series) {
            peers.push(c.series);
        }
    }
    let bars = |f: &dyn Fn(&RouterCell) -> Option<Summary>| -> Vec<Vec<Option<Bar>>> {
        peers
            .iter()
            .map(|&p| {
                points
                    .iter()
                    .map(|&n| {
                        let cell = cells.iter().find(|c| c.series == p && c.size == n)?;
                        f(cell).map(|s| Bar::new(s.median, s.min, s.max))
                    })
                    .collect()
            })
            .collect()
    };
    let mut panels = vec![Panel {
        title: "Roundtrips per second, all peers".into(),
        y_label: "roundtrips/s".into(),
        unit: "msg/s".into(),
        log: false,
        reference: None,
        base: None,
        bars: bars(&summary),
    }];
    if peers.contains(&Peer::Libzmq) {
        panels.push(Panel {
            title: "Ratio to libzmq's median (above 1: faster than libzmq)".into(),
            y_label: "x libzmq".into(),
            unit: "x libzmq".into(),
            log: false,
            reference: Some((1.0, "libzmq".into())),
            base: Some(1.0),
            bars: bars(&|c| ratio(cells, c)),
        });
    }
    Chart {
        title: format!(
            "ROUTER <-> DEALERs, {SIZE} B, {} (higher is better)",
            TRANSPORT.describe()
        ),
        subtitle: chart_subtitle(m, opts.runs),
        x_label: "DEALER peers".into(),
        categories: points.iter().map(|&n| peers_label(n)).collect(),
        series: peers
            .iter()
            .map(|p| Series {
                name: p.label(),
                color: p.color().into(),
            })
            .collect(),
        panels,
    }
}

/// The router report.
pub fn report(
    opts: &Options,
    machine: &Machine,
    notes: &[String],
    elapsed: Duration,
    sections: Vec<Section>,
) -> Report {
    let mut intro = common_intro(machine);
    let count = count_per_peer(opts.router_peers, opts.quick);
    intro.push(format!(
        "each run: `router_echo` (ROUTER, binds) sends every message back to its sender; `dealers` (one process, connects) runs {} DEALERs, each sends one warm-up message and waits for its echo, then (clock started once all have) keeps up to 32 messages in flight until it has {} echoes",
        opts.router_peers,
        fmt_int(count as f64)
    ));
    intro.push("columns: median, min and max over the runs of `dealers`' roundtrips per second, all peers together (end of the warm-up barrier to the last echo); `vs libzmq` = median / libzmq's median; chart: bars are medians, whiskers span min to max".into());
    intro.push(format!("total time: {:.0} s", elapsed.as_secs_f64()));
    let mut json_fields = common_json_fields("router_dealers", machine);
    json_fields.push(("unit".into(), json_str("roundtrips per second")));
    json_fields.push((
        "settings".into(),
        format!(
            "{{\"runs\": {}, \"peers\": {}, \"count_per_peer\": {count}, \"size\": {SIZE}, \"quick\": {}, \"optimized\": {}}}",
            opts.runs,
            opts.router_peers,
            opts.quick,
            !cfg!(debug_assertions)
        ),
    ));
    json_fields.push((
        "elapsed_secs".into(),
        format!("{:.1}", elapsed.as_secs_f64()),
    ));
    Report {
        name: "router".into(),
        title: "monocoque vs libzmq: ROUTER <-> DEALERs".into(),
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

    fn rt(msgs_per_sec: f64) -> ParsedRouter {
        ParsedRouter {
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
        let cell = |series, samples: Vec<ParsedRouter>| Cell {
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
        let opts = Options::parse(Vec::new()).unwrap();
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
        assert!(s.rows[1].json.contains("\"roundtrips\": 300000,"));
        assert_eq!(s.failures, ["zmq.rs/tokio 100 peers: run 1: timed out"]);
        let chart = &s.figures[0].chart;
        assert_eq!(chart.categories, ["100 peers"]);
        assert_eq!(chart.panels.len(), 2);
        let b = chart.panels[1].bars[1][0].unwrap();
        assert_eq!((b.value, b.low, b.high), (2.0, 1.5, 2.5));
        assert_eq!(crate::chart::tests::check_svg(&chart.to_svg()), 4);
        let r = report(&opts, &Machine::detect(), &[], Duration::ZERO, vec![s]);
        assert!(r.json().contains("\"count_per_peer\": 3000"));
    }
}
