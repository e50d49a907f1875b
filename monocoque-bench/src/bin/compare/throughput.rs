//! The PUSH/PULL throughput scenario: `local_thr` (PULL, binds) and
//! `remote_thr` (PUSH, connects) as two processes over one [`Transport`],
//! both on the same implementation; `local_thr`'s msg/s is the sample.
//! Before the runs of each implementation at each size, a short probe run
//! picks a message count that makes a run last about `--target-secs`. One
//! report section (table and chart) per transport, in
//! `throughput.{md,json}` and `throughput-<transport>.svg`.
//!
//! With CURVE ([`curve_part`]): the same pair over tcp as CURVE server
//! (`local_thr --curve`) and client (`remote_thr --curve`), with two key
//! pairs generated afresh for every run; libzmq, monocoque and whoever else
//! has CURVE; the first section of the `curve` report
//! (`curve-throughput.svg`).

use std::time::Duration;

use clap::ValueEnum;
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
    About, Bars, Figure, OPTIMIZED, Section, Table, chart, col, fmt_int, fmt_size, num, ratio_panel,
};
use crate::runner::{Cell, Part, Sample, Scenario};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["local_thr", "remote_thr"];

/// Seconds a run takes beyond its messages: two processes starting,
/// connecting, exiting.
const RUN_OVERHEAD_SECS: f64 = 0.12;

/// The table, of the one metric: msg/s.
const TABLE: Table = Table {
    cols: &[
        col("size", "size", Point, Size),
        col("count", "count", Count, Int),
        col("", "samples_msgs_per_sec", Runs(0), Int),
        col("median msg/s", "median_msgs_per_sec", Median(0), Int),
        col("min", "min_msgs_per_sec", Min(0), Int),
        col("max", "max_msgs_per_sec", Max(0), Int),
        col("MB/s", "median_mb_per_sec", Calc(mb_per_sec), Dec1),
        col("vs libzmq", "ratio_vs_libzmq", Ratio(0), Times),
    ],
    pair: true,
};

/// The median msg/s times the message size, in MB/s.
fn mb_per_sec(c: &Cell) -> Option<f64> {
    c.stat(0).map(|s| s.median * c.point as f64 / 1e6)
}

/// The throughput scenario over one transport, with or without CURVE.
pub struct Throughput<'a> {
    ctx: &'a Ctx<'a>,
    transport: Transport,
    curve: bool,
}

/// The throughput scenario over `transport`: every implementation, at the
/// sizes of that transport, and after monocoque's rows the batched ones
/// ([`Peer::MonocoqueBatched`]) of its default set-ups.
pub fn part<'a>(ctx: &'a Ctx<'a>, transport: Transport) -> Part<'a> {
    Part {
        scenario: Box::new(Throughput {
            ctx,
            transport,
            curve: false,
        }),
        series: with_batched(peers(ctx.opts, of(transport), true)),
        points: ctx.opts.sizes_for(transport).to_vec(),
    }
}

/// The implementations whose tools run over `transport`: monocoque-rs's over tcp only.
fn of(transport: Transport) -> &'static [Impl] {
    const NOT_MONOCOQUE_RS: &[Impl] = &[
        Impl::Monocoque,
        Impl::Libzmq,
        Impl::Zeromq,
        Impl::Omq,
        Impl::Raw,
    ];
    match transport {
        Transport::Tcp => Impl::value_variants(),
        Transport::Ipc => NOT_MONOCOQUE_RS,
    }
}

/// `series` with a batched row after the last monocoque row for each of its default
/// (multi-thread) set-ups, and monocoque-rs's coalescing row after its own.
fn with_batched(series: Vec<Peer>) -> Vec<Peer> {
    let batched: Vec<Peer> = (series.iter())
        .filter_map(|p| match p {
            Peer::Monocoque(rt) if !rt.is_single_thread() => Some(Peer::MonocoqueBatched(*rt)),
            _ => None,
        })
        .collect();
    let after = (series.iter())
        .rposition(|p| matches!(p, Peer::Monocoque(_)))
        .map_or(series.len(), |i| i + 1);
    let mut out = series;
    out.splice(after..after, batched);
    if let Some(i) = out.iter().position(|p| *p == Peer::MonocoqueRs) {
        out.insert(i + 1, Peer::MonocoqueRsCoalescing);
    }
    out
}

/// The CURVE throughput scenario over tcp: the implementations with CURVE
/// (libzmq loaded at run time, monocoque on each runtime), at
/// `--curve-sizes`.
pub fn curve_part<'a>(ctx: &'a Ctx<'a>) -> Part<'a> {
    let mut series = peers(ctx.opts, Impl::value_variants(), true);
    series.retain(|p| curve_built_in(p.imp()));
    Part {
        scenario: Box::new(Throughput {
            ctx,
            transport: Transport::Tcp,
            curve: true,
        }),
        series,
        points: ctx.opts.curve_sizes.clone(),
    }
}

impl Throughput<'_> {
    /// One `local_thr`/`remote_thr` run of `count` messages of `size`
    /// bytes; returns its msg/s.
    fn run_pair(
        &self,
        peer: Peer,
        size: usize,
        count: u64,
        timeout: Duration,
    ) -> Result<f64, RunError> {
        let mut args = [
            &[size.to_string(), count.to_string()][..],
            &peer.tool_args(),
        ]
        .concat();
        // Fresh keys for every run, handed over in the environment.
        let mut env = Vec::new();
        if self.curve {
            args.push("--curve".into());
            env.push((KEYS_ENV, CurveKeys::generate().to_env()));
        }
        let what = format!("{count} messages");
        let (t, args) = (self.transport, [args.clone(), args]);
        let out = (self.ctx).run_pair_with(t, TOOLS, args, &env, timeout, &what)?;
        let given = [("message size", size as u64), ("message count", count)];
        let [rate] = read("local_thr", &out[0], &given, ["mean throughput [msg/s]"])?;
        Ok(rate)
    }

    /// The timeout of a run: runs last about `--target-secs`.
    fn timeout(&self) -> Duration {
        self.ctx.opts.timeout_for(self.ctx.opts.target_secs)
    }
}

impl Scenario for Throughput<'_> {
    fn name(&self) -> String {
        let curve = if self.curve { "curve " } else { "" };
        format!("{curve}throughput {}", self.transport.name())
    }

    fn base_param(&self, size: usize) -> u64 {
        if self.curve {
            self.ctx.opts.curve_base_count(size)
        } else {
            self.ctx.opts.base_count(size)
        }
    }

    fn prepare_name(&self) -> Option<&'static str> {
        (!self.ctx.opts.fixed_counts).then_some("probe")
    }

    /// A short run that picks the count for about `--target-secs` per run;
    /// also a warm-up. Never more than the base count, so slow
    /// implementations get shorter runs, not longer ones.
    fn prepare(&self, peer: Peer, size: usize, base: u64) -> Result<(u64, String), RunError> {
        let probe = (base / 20).max(100);
        let timeout = self.timeout().min(Duration::from_secs(20));
        let rate = self.run_pair(peer, size, probe, timeout)?;
        let want = (rate * self.ctx.opts.target_secs) as u64;
        // The raw limit is 10-20x faster than the base counts assume at
        // small sizes: let its runs grow too.
        let cap = if peer == Peer::Raw {
            base.saturating_mul(20)
        } else {
            base
        };
        let count = want.clamp(probe.min(base), cap);
        let (rate, per_run) = (fmt_int(rate), fmt_int(count as f64));
        Ok((count, format!("{rate} msg/s -> {per_run} messages per run")))
    }

    fn run(&self, peer: Peer, size: usize, count: u64) -> Result<Sample, RunError> {
        Ok(vec![self.run_pair(peer, size, count, self.timeout())?])
    }

    fn describe(&self, sample: &Sample) -> String {
        format!("{} msg/s", fmt_int(sample[0]))
    }

    fn prepare_secs(&self, _size: usize) -> f64 {
        // A twentieth of a run at the assumed rate; slower implementations
        // take longer.
        RUN_OVERHEAD_SECS + self.ctx.opts.target_secs * 0.1
    }

    fn run_secs(&self, _size: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.ctx.opts.target_secs
    }

    fn section(&self, cells: &[Cell]) -> Section {
        let (t, runs) = (self.transport.describe(), self.ctx.opts.runs);
        let rates = Panel {
            log: true,
            ..Panel::new("Messages per second (log scale)", "msg/s", "msg/s")
        };
        let panels = [(rates, Bars::Stat(0))].into_iter();
        let panels = panels.chain(ratio_panel(cells, 0)).collect();
        let (what, id, file) = if self.curve {
            let what = "CURVE PUSH/PULL throughput".to_owned();
            (
                what,
                "curve-throughput".to_owned(),
                "curve-throughput.svg".to_owned(),
            )
        } else {
            let name = self.transport.name();
            let file = format!("throughput-{name}.svg");
            ("PUSH/PULL throughput".to_owned(), name.to_owned(), file)
        };
        let heading = self.ctx.heading(format!("{what}, {t}"), "message size");
        let how = if self.curve {
            "PULL (local_thr) the CURVE server, PUSH (remote_thr) the client, fresh key pairs every run, no ZAP handler"
        } else {
            "default options"
        };
        Section {
            id,
            title: if self.curve {
                format!("{what}, {t}")
            } else {
                t.into()
            },
            headline: format!(
                "{what}, {t}, {how}, sender and receiver in separate processes; {runs} run(s) per row, msg/s"
            ),
            figures: vec![Figure {
                file,
                alt: format!("{what} over {t} by message size"),
                chart: chart(cells, heading, &fmt_size, panels),
            }],
            json: json!({"transport": t, "curve": self.curve}),
            ..Section::of(&TABLE, cells, &fmt_size)
        }
    }

    fn notes(&self, cells: &[Cell]) -> Vec<String> {
        let libzmq_ipc_hang = self.transport == Transport::Ipc
            && (cells.iter()).any(|c| {
                c.peer == Peer::Libzmq && c.errors.iter().any(|e| e.contains("timed out"))
            });
        if libzmq_ipc_hang {
            vec!["libzmq to libzmq over ipc: the PUSH side sometimes exits without having written its last queued messages (zeromq/libzmq#4660, ipc drops messages despite linger), so `local_thr` waits for them until the timeout (here in about 10-25% of runs)".into()]
        } else {
            Vec::new()
        }
    }

    /// What the throughput report says besides its sections (one per
    /// transport).
    fn about(&self) -> About {
        if self.curve {
            return crate::handshake::about(self.ctx);
        }
        let opts = self.ctx.opts;
        let transports: Vec<&str> = opts.transports.iter().map(|t| t.name()).collect();
        let fixed = if opts.fixed_counts {
            " (disabled: fixed counts)"
        } else {
            ""
        };
        About {
            name: "throughput",
            title: "monocoque vs libzmq: PUSH/PULL throughput",
            benchmark: "push_pull_throughput",
            intro: vec![
                format!(
                    "runs per row: {}; message count per run picked by a probe run for about {} s{fixed}",
                    opts.runs, opts.target_secs
                ),
                "columns: median, min and max over the runs of `local_thr`'s mean throughput (first to last message); MB/s = median x size / 10^6; `vs libzmq` = median / libzmq's median at that size; charts: bars are medians, whiskers span min to max".into(),
            ],
            json: json!({"settings": {
                "runs": opts.runs,
                "target_secs": num(opts.target_secs),
                "fixed_counts": opts.fixed_counts,
                "quick": opts.quick,
                "optimized": OPTIMIZED,
                "transports": transports,
            }}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::cell;
    use monocoque_bench::args::Runtime;

    #[test]
    fn section_table_and_chart() {
        let ours = Peer::Monocoque(Runtime::Tokio);
        let cells = [
            cell(Peer::Libzmq, 64, &[&[100.0], &[200.0], &[300.0]]),
            cell(ours, 64, &[&[300.0], &[400.0], &[500.0]]),
        ];
        Ctx::with_test(&[], |ctx| {
            let s = part(ctx, Transport::Ipc).scenario.section(&cells);
            let row = "monocoque/tokio|64 B|1,000|400|300|500|0.0|2.00x";
            assert_eq!(
                (s.id.as_str(), s.rows[1].cells.join("|")),
                ("ipc", row.into())
            );
            let json = &s.rows[1].json;
            let who = json!({"impl": "monocoque", "runtime": "tokio"});
            assert_eq!((&json["receiver"], &json["sender"]), (&who, &who));
            assert_eq!(json["samples_msgs_per_sec"], json!([300, 400, 500]));
            let fig = &s.figures[0];
            assert_eq!(fig.file, "throughput-ipc.svg");
            let ratio = fig.chart.panels[1].bars[1][0].unwrap();
            assert_eq!((ratio.value, ratio.low, ratio.high), (2.0, 1.5, 2.5));
        });
    }

    #[test]
    fn batched_rows_follow_monocoque_default_set_ups() {
        let (tokio, one) = (Runtime::Tokio, Runtime::TokioCurrentThread);
        let series = vec![
            Peer::Libzmq,
            Peer::Monocoque(tokio),
            Peer::Monocoque(one),
            Peer::Omq,
            Peer::MonocoqueRs,
        ];
        assert_eq!(
            with_batched(series),
            [
                Peer::Libzmq,
                Peer::Monocoque(tokio),
                Peer::Monocoque(one),
                Peer::MonocoqueBatched(tokio),
                Peer::Omq,
                Peer::MonocoqueRs,
                Peer::MonocoqueRsCoalescing,
            ]
        );
        assert_eq!(with_batched(vec![Peer::Libzmq]), [Peer::Libzmq]);
    }
}
