//! The CURVE handshake scenario: `handshake_server` (REP, binds, the CURVE
//! server, answers one request per handshake) and `handshakes` (N clients
//! in one process, each making fresh REQ sockets as CURVE clients in a
//! row: connect, one roundtrip of a [`SIZE`]-byte message, close) as two
//! processes over tcp loopback, both on the same implementation, with two
//! key pairs generated afresh for every run. A handshake counts as done
//! when the reply to its first request is in, the same measure for every
//! implementation. The sample is `handshakes`' handshakes per second (all
//! clients, first connect to last close).
//!
//! One point per `--handshake-clients` (1 and 4 by default), a fixed count
//! (`--handshakes` per run over all clients), no preparation step. The
//! second section of the `curve` report (`curve-handshakes.svg`); this
//! module also writes that report's introduction ([`about`]).

use monocoque_bench::args::Impl;
use monocoque_bench::curve::{CurveKeys, KEYS_ENV};
use monocoque_bench::imp::curve_built_in;
use serde_json::json;

use crate::Ctx;
use crate::chart::Panel;
use crate::peers::{Peer, peers};
use crate::process::{RunError, Transport, read};
use crate::report::Fmt::*;
use crate::report::What::*;
use crate::report::{
    About, Bars, Figure, OPTIMIZED, Section, Table, chart, col, fmt_int, num, ratio_panel,
};
use crate::runner::{Cell, Part, Sample, Scenario};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["handshake_server", "handshakes"];

/// The transport of every handshake run.
const TRANSPORT: Transport = Transport::Tcp;

/// The size of each handshake's request and reply.
pub const SIZE: usize = 1;

/// Seconds a run takes beyond its handshakes: two processes starting and
/// exiting.
const RUN_OVERHEAD_SECS: f64 = 0.1;
/// Expected handshakes per second (about libzmq's with one client, on 2
/// cores; the others are faster).
const HANDSHAKES_PER_SEC: f64 = 600.0;

/// Handshakes per client of a run with `clients` clients: `total` shared
/// out, at least 1 each.
pub fn count_per_client(total: u64, clients: usize) -> u64 {
    (total / clients.max(1) as u64).max(1)
}

/// The table, of the one metric: handshakes/s.
const TABLE: Table = Table {
    cols: &[
        col("clients", "clients", Point, Plain),
        col("count/client", "count_per_client", Count, Int),
        col("", "handshakes", Calc(handshakes), Int),
        col("", "runs_handshakes_per_sec", Runs(0), Int),
        col(
            "median handshakes/s",
            "median_handshakes_per_sec",
            Median(0),
            Int,
        ),
        col("min", "min_handshakes_per_sec", Min(0), Int),
        col("max", "max_handshakes_per_sec", Max(0), Int),
        col("vs libzmq", "ratio_vs_libzmq", Ratio(0), Times),
    ],
    pair: false,
};

/// All handshakes of a run: the count per client times the clients.
fn handshakes(c: &Cell) -> Option<f64> {
    Some(c.param as f64 * c.point as f64)
}

/// The handshake scenario.
pub struct Handshake<'a> {
    ctx: &'a Ctx<'a>,
}

/// The handshake scenario: libzmq with CURVE and monocoque on each runtime
/// in its default set-up (the handshake tools spawn a task per client),
/// at each `--handshake-clients`.
pub fn part<'a>(ctx: &'a Ctx<'a>) -> Part<'a> {
    let mut series = peers(ctx.opts, &[Impl::Libzmq, Impl::Monocoque], false);
    series.retain(|p| curve_built_in(p.imp()));
    Part {
        scenario: Box::new(Handshake { ctx }),
        series,
        points: ctx.opts.handshake_clients.clone(),
    }
}

impl Scenario for Handshake<'_> {
    fn name(&self) -> String {
        "curve handshakes".into()
    }

    fn points_are(&self) -> &'static str {
        "client count(s)"
    }

    fn base_param(&self, clients: usize) -> u64 {
        count_per_client(self.ctx.opts.handshakes, clients)
    }

    /// One `handshake_server`/`handshakes` run: `clients` clients making
    /// `count` handshakes each, both sides on `peer`.
    fn run(&self, peer: Peer, clients: usize, count: u64) -> Result<Sample, RunError> {
        let args = [SIZE.to_string(), count.to_string(), clients.to_string()];
        let args = [&args[..], &peer.tool_args()].concat();
        let env = [(KEYS_ENV, CurveKeys::generate().to_env())];
        let timeout = self.ctx.opts.timeout_for(self.run_secs(clients));
        let what = format!("{count} handshakes x {clients} clients");
        let args = [args.clone(), args];
        let out = (self.ctx).run_pair_with(TRANSPORT, TOOLS, args, &env, timeout, &what)?;
        let given = [
            ("message size", SIZE as u64),
            ("message count", count),
            ("peers", clients as u64),
        ];
        let [rate] = read("handshakes", &out[1], &given, ["mean handshake rate"])?;
        Ok(vec![rate])
    }

    fn describe(&self, s: &Sample) -> String {
        format!("{} handshakes/s", fmt_int(s[0]))
    }

    fn run_secs(&self, _clients: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.ctx.opts.handshakes as f64 / HANDSHAKES_PER_SEC
    }

    fn point_label(&self, clients: usize) -> String {
        clients_label(clients)
    }

    fn section(&self, cells: &[Cell]) -> Section {
        let (t, runs) = (TRANSPORT.describe(), self.ctx.opts.runs);
        let rates = Panel::new(
            "CURVE handshakes per second, all clients",
            "handshakes/s",
            "/s",
        );
        let panels = [(rates, Bars::Stat(0))].into_iter();
        let panels = panels.chain(ratio_panel(cells, 0)).collect();
        let title = format!("CURVE handshakes, {t} (higher is better)");
        let heading = self.ctx.heading(title, "clients at once");
        Section {
            id: "curve-handshakes".into(),
            title: format!("CURVE handshakes, {t}"),
            headline: format!(
                "CURVE handshakes: REP server (handshake_server) and clients (handshakes, one process) each making fresh REQ sockets in a row (connect, one {SIZE} B roundtrip, close), {t}, both on the same implementation; {runs} run(s) per row; handshakes/s over all clients"
            ),
            figures: vec![Figure {
                file: "curve-handshakes.svg".into(),
                alt: "CURVE handshakes per second by implementation and client count".into(),
                chart: chart(cells, heading, &clients_label, panels),
            }],
            json: json!({"transport": t, "message_size": SIZE}),
            ..Section::of(&TABLE, cells, &clients_label)
        }
    }

    fn about(&self) -> About {
        about(self.ctx)
    }
}

/// What the `curve` report says besides its sections (CURVE throughput,
/// then handshakes): which libzmq ran, and how.
pub fn about(ctx: &Ctx<'_>) -> About {
    let opts = ctx.opts;
    let libzmq = libzmq_with_curve();
    About {
        name: "curve",
        title: "monocoque vs libzmq: CURVE throughput and handshakes",
        benchmark: "curve",
        intro: vec![
            format!(
                "libzmq rows of this report: {} (the vendored libzmq above has no CURVE; loaded at run time: $MONOCOQUE_BENCH_LIBZMQ, else pyzmq's bundled libzmq, else the system's libzmq.so.5)",
                libzmq.as_deref().unwrap_or_else(|e| e),
            ),
            format!(
                "throughput: runs per row: {}; message count per run picked by a probe run for about {} s; columns as in the throughput report",
                opts.runs, opts.target_secs
            ),
            format!(
                "handshakes: {} per run over all clients; a handshake is done once the reply to its socket's first request is in; `vs libzmq` = median / libzmq's median",
                fmt_int(opts.handshakes as f64)
            ),
            "no ZAP handler on either side: the server admits any client that proves its key (libzmq 4.3's behaviour without ZAP, and monocoque's)".into(),
        ],
        json: json!({
            "libzmq_curve": libzmq.as_ref().ok(),
            "libzmq_curve_missing": libzmq.as_ref().err(),
            "settings": {
                "runs": opts.runs,
                "target_secs": num(opts.target_secs),
                "sizes": opts.curve_sizes,
                "handshakes": opts.handshakes,
                "handshake_clients": opts.handshake_clients,
                "handshake_message_size": SIZE,
                "quick": opts.quick,
                "optimized": OPTIMIZED,
            },
        }),
    }
}

/// The libzmq with CURVE the tools load, `4.3.5 (<path>)`, or why there is
/// none.
fn libzmq_with_curve() -> Result<String, String> {
    #[cfg(feature = "libzmq-curve")]
    {
        monocoque_bench::imp::libzmq_curve::describe()
    }
    #[cfg(not(feature = "libzmq-curve"))]
    {
        Err("not built in (the `libzmq-curve` feature of monocoque-bench)".into())
    }
}

/// `1 client`, `4 clients`.
fn clients_label(clients: usize) -> String {
    format!("{clients} client{}", if clients == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::cell;
    use monocoque_bench::args::Runtime;

    #[test]
    fn counts_and_section() {
        assert_eq!(count_per_client(2000, 4), 500);
        assert_eq!(count_per_client(3, 4), 1);
        let ours = Peer::Monocoque(Runtime::Tokio);
        let mut cells = [
            cell(Peer::Libzmq, 4, &[&[500.0], &[700.0]]),
            cell(ours, 4, &[&[1200.0], &[1000.0], &[1400.0]]),
        ];
        cells.iter_mut().for_each(|c| c.param = 500);
        Ctx::with_test(&["--scenarios", "curve"], |ctx| {
            let s = part(ctx).scenario.section(&cells);
            let row = "monocoque/tokio|4|500|1,200|1,000|1,400|2.00x";
            assert_eq!(s.rows[1].cells.join("|"), row);
            assert_eq!(s.rows[1].json["handshakes"].as_u64(), Some(2000));
            let chart = &s.figures[0].chart;
            assert_eq!(chart.categories[0], "4 clients");
            let about = part(ctx).scenario.about();
            assert_eq!(
                (about.name, about.json["settings"]["handshakes"].as_u64()),
                ("curve", Some(2000))
            );
        });
    }
}
