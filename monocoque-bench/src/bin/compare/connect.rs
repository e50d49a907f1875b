//! The connection set-up scenario: `connect_server` (ROUTER, NULL, binds,
//! echoes one message per connection) and `connects` (one process, rounds
//! of N fresh DEALER sockets at once: connect, one roundtrip of a
//! [`SIZE`]-byte message, close) as two processes over tcp loopback, both
//! on the same implementation with default options but for the ROUTER's
//! ZMQ_BACKLOG, set to the clients of a round (with libzmq's default of
//! 100, a burst of 1,000 mostly measures the kernel's one-second SYN
//! retry). A connection counts as
//! set up once its echo is in (connect, ZMTP handshake, one message each
//! way). The sample is `connects`' connections per second over all rounds.
//!
//! One point per `--connect-clients` (100 and 1,000 by default), a fixed
//! count (`--connects` per run over all clients), no preparation step. The
//! second section of the `router` report (`router-connect.svg`).

use monocoque_bench::args::Impl;
use serde_json::json;

use crate::Ctx;
use crate::chart::Panel;
use crate::handshake::count_per_client;
use crate::peers::{Peer, peers};
use crate::process::{RunError, Transport, read};
use crate::report::Fmt::*;
use crate::report::What::*;
use crate::report::{About, Bars, Figure, Section, Table, chart, col, fmt_int, ratio_panel};
use crate::runner::{Cell, Part, Sample, Scenario};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["connect_server", "connects"];

/// The transport of every run.
const TRANSPORT: Transport = Transport::Tcp;

/// The size of each connection's message and its echo.
pub const SIZE: usize = 1;

/// Seconds a run takes beyond its connections: two processes starting and
/// exiting.
const RUN_OVERHEAD_SECS: f64 = 0.1;
/// Expected connections per second (about libzmq's on 2 cores; bursts past
/// the listen backlog wait for the kernel's SYN retry, a second later).
const CONNECTS_PER_SEC: f64 = 700.0;

/// The table, of the one metric: connections/s.
const TABLE: Table = Table {
    cols: &[
        col("clients", "clients", Point, Plain),
        col("rounds", "rounds", Count, Int),
        col("", "connections", Calc(connections), Int),
        col("", "runs_connections_per_sec", Runs(0), Int),
        col(
            "median connections/s",
            "median_connections_per_sec",
            Median(0),
            Int,
        ),
        col("min", "min_connections_per_sec", Min(0), Int),
        col("max", "max_connections_per_sec", Max(0), Int),
        col("vs libzmq", "ratio_vs_libzmq", Ratio(0), Times),
    ],
    pair: false,
};

/// All connections of a run: the rounds times the clients of each.
fn connections(c: &Cell) -> Option<f64> {
    Some(c.param as f64 * c.point as f64)
}

/// The connection set-up scenario.
pub struct Connect<'a> {
    ctx: &'a Ctx<'a>,
}

/// The connection set-up scenario: libzmq and monocoque on each runtime in
/// its default set-up, at each `--connect-clients`.
pub fn part<'a>(ctx: &'a Ctx<'a>) -> Part<'a> {
    Part {
        scenario: Box::new(Connect { ctx }),
        series: peers(ctx.opts, &[Impl::Libzmq, Impl::Monocoque], false),
        points: ctx.opts.connect_clients.clone(),
    }
}

impl Scenario for Connect<'_> {
    fn name(&self) -> String {
        "connection set-up".into()
    }

    fn points_are(&self) -> &'static str {
        "client count(s)"
    }

    fn base_param(&self, clients: usize) -> u64 {
        count_per_client(self.ctx.opts.connects, clients)
    }

    /// One `connect_server`/`connects` run: `rounds` rounds of `clients`
    /// DEALERs, both sides on `peer`.
    fn run(&self, peer: Peer, clients: usize, rounds: u64) -> Result<Sample, RunError> {
        let args = [SIZE.to_string(), rounds.to_string(), clients.to_string()];
        let args = [&args[..], &peer.tool_args()].concat();
        let timeout = self.ctx.opts.timeout_for(self.run_secs(clients));
        let what = format!("{rounds} rounds x {clients} clients");
        let out = (self.ctx).run_pair(TRANSPORT, TOOLS, [args.clone(), args], timeout, &what)?;
        let given = [
            ("message size", SIZE as u64),
            ("message count", rounds),
            ("peers", clients as u64),
        ];
        let [rate] = read("connects", &out[1], &given, ["mean handshake rate"])?;
        Ok(vec![rate])
    }

    fn describe(&self, s: &Sample) -> String {
        format!("{} connections/s", fmt_int(s[0]))
    }

    fn run_secs(&self, _clients: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.ctx.opts.connects as f64 / CONNECTS_PER_SEC
    }

    fn point_label(&self, clients: usize) -> String {
        clients_label(clients)
    }

    fn section(&self, cells: &[Cell]) -> Section {
        let (t, runs) = (TRANSPORT.describe(), self.ctx.opts.runs);
        let rates = Panel::new(
            "Connections set up per second, all clients",
            "connections/s",
            "/s",
        );
        let panels = [(rates, Bars::Stat(0))].into_iter();
        let panels = panels.chain(ratio_panel(cells, 0)).collect();
        let title = format!("Connection set-up, DEALERs to one ROUTER, {t} (higher is better)");
        let heading = self.ctx.heading(title, "DEALERs at once");
        Section {
            id: "connect".into(),
            title: format!("Connection set-up, DEALERs to one ROUTER, {t}"),
            headline: format!(
                "Connection set-up: ROUTER (connect_server) and rounds of DEALERs at once (connects, one process): each connects, makes one {SIZE} B roundtrip and closes, {t}, both on the same implementation with default options but the ROUTER's ZMQ_BACKLOG (set to the clients at once on both, so that a burst is not mostly the kernel's one-second SYN retry); {runs} run(s) per row; connections/s over all rounds"
            ),
            figures: vec![Figure {
                file: "router-connect.svg".into(),
                alt: "Connections set up per second by implementation and client count".into(),
                chart: chart(cells, heading, &clients_label, panels),
            }],
            json: json!({"transport": t, "message_size": SIZE}),
            ..Section::of(&TABLE, cells, &clients_label)
        }
    }

    fn about(&self) -> About {
        crate::router::part(self.ctx).scenario.about()
    }
}

/// `1 client`, `1,000 clients`.
fn clients_label(clients: usize) -> String {
    let n = fmt_int(clients as f64);
    format!("{n} client{}", if clients == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::cell;
    use monocoque_bench::args::Runtime;

    #[test]
    fn section_table_and_chart() {
        let ours = Peer::Monocoque(Runtime::Tokio);
        let mut cells = [
            cell(Peer::Libzmq, 1000, &[&[800.0], &[900.0]]),
            cell(ours, 1000, &[&[1200.0], &[1300.0], &[1250.0]]),
        ];
        cells.iter_mut().for_each(|c| c.param = 3);
        Ctx::with_test(&["--connect-clients", "1000"], |ctx| {
            assert_eq!(part(ctx).points, vec![1000]);
            assert_eq!(part(ctx).scenario.base_param(1000), 3);
            let s = part(ctx).scenario.section(&cells);
            let row = "monocoque/tokio|1000|3|1,250|1,200|1,300|1.47x";
            assert_eq!(s.rows[1].cells.join("|"), row);
            assert_eq!(s.rows[1].json["connections"].as_u64(), Some(3000));
            let chart = &s.figures[0].chart;
            assert_eq!(chart.categories[0].as_str(), "1,000 clients");
        });
    }
}
