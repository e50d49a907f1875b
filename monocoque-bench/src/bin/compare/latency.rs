//! The REQ/REP latency scenario: `local_lat` (REP, binds) and
//! `remote_lat --histogram` (REQ, connects, times every roundtrip) as two
//! processes over tcp loopback, both on the same implementation; the sample
//! is `remote_lat`'s mean, p50 and p99 (one-way, half a roundtrip). One
//! unrecorded warm-up run per implementation and size first. The report is
//! `latency.{md,json}` and `latency.svg` (mean and p99).

use monocoque_bench::args::Impl;
use serde_json::json;

use crate::Ctx;
use crate::chart::Panel;
use crate::peers::{Peer, peers};
use crate::process::{RunError, Transport, read};
use crate::report::Fmt::*;
use crate::report::What::*;
use crate::report::{About, Bars, Figure, OPTIMIZED, Section, Table, chart, col, fmt_size};
use crate::runner::{Cell, Part, Sample, Scenario};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["local_lat", "remote_lat"];

/// The transport of every latency run.
const TRANSPORT: Transport = Transport::Tcp;

/// Expected seconds per roundtrip on a small machine (two one-way trips of
/// about 60 us, from the first measurements on 2 cores).
const ROUNDTRIP_SECS: f64 = 120e-6;
/// Seconds a run takes beyond its roundtrips.
const RUN_OVERHEAD_SECS: f64 = 0.12;

/// The table, of three metrics: the mean, p50 and p99 of each run, in us.
const TABLE: Table = Table {
    cols: &[
        col("size", "size", Point, Size),
        col("", "runs_mean_us", Runs(0), Dec2),
        col("", "runs_p50_us", Runs(1), Dec2),
        col("", "runs_p99_us", Runs(2), Dec2),
        col("mean us", "mean_us", Median(0), Dec2),
        col("p50 us", "p50_us", Median(1), Dec2),
        col("p99 us", "p99_us", Median(2), Dec2),
        col("mean vs libzmq", "ratio_vs_libzmq.mean", Ratio(0), Times),
        col("p50 vs libzmq", "ratio_vs_libzmq.p50", Ratio(1), Times),
        col("p99 vs libzmq", "ratio_vs_libzmq.p99", Ratio(2), Times),
    ],
    pair: false,
};

/// The latency scenario.
pub struct Latency<'a> {
    ctx: &'a Ctx<'a>,
}

/// The latency scenario: libzmq and monocoque (the latency tools run on
/// nothing else), at `--lat-sizes`.
pub fn part<'a>(ctx: &'a Ctx<'a>) -> Part<'a> {
    Part {
        scenario: Box::new(Latency { ctx }),
        series: peers(ctx.opts, &[Impl::Libzmq, Impl::Monocoque], true),
        points: ctx.opts.lat_sizes.clone(),
    }
}

impl Latency<'_> {
    fn warm_up_roundtrips(&self) -> u64 {
        (self.ctx.opts.roundtrips / 10).max(10)
    }
}

impl Scenario for Latency<'_> {
    fn name(&self) -> String {
        "latency".into()
    }

    fn base_param(&self, _size: usize) -> u64 {
        self.ctx.opts.roundtrips
    }

    /// A tenth of a run, unrecorded (page cache, CPU frequency).
    fn prepare_name(&self) -> Option<&'static str> {
        Some("warm-up")
    }

    fn prepare(&self, peer: Peer, size: usize, base: u64) -> Result<(u64, String), RunError> {
        let sample = self.run(peer, size, self.warm_up_roundtrips())?;
        Ok((base, format!("mean {:.2} us", sample[0])))
    }

    /// One local_lat/remote_lat pair (`remote_lat --histogram`), both sides
    /// on `peer`.
    fn run(&self, peer: Peer, size: usize, roundtrips: u64) -> Result<Sample, RunError> {
        let args = [
            &[size.to_string(), roundtrips.to_string()][..],
            &peer.tool_args(),
        ]
        .concat();
        let histogram = [&args[..], &["--histogram".into()]].concat();
        let timeout = self.ctx.opts.timeout_for(self.run_secs(size));
        let what = format!("{roundtrips} roundtrips");
        let out = (self.ctx).run_pair(TRANSPORT, TOOLS, [args, histogram], timeout, &what)?;
        let given = [
            ("message size", size as u64),
            ("roundtrip count", roundtrips),
        ];
        let keys = ["average latency", "latency p50", "latency p99"];
        Ok(read("remote_lat", &out[1], &given, keys)?.to_vec())
    }

    fn describe(&self, s: &Sample) -> String {
        format!(
            "mean {:.2} us, p50 {:.2} us, p99 {:.2} us",
            s[0], s[1], s[2]
        )
    }

    fn prepare_secs(&self, _size: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.warm_up_roundtrips() as f64 * ROUNDTRIP_SECS
    }

    fn run_secs(&self, _size: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.ctx.opts.roundtrips as f64 * ROUNDTRIP_SECS
    }

    fn section(&self, cells: &[Cell]) -> Section {
        let (t, opts) = (TRANSPORT.describe(), self.ctx.opts);
        let panel = |title| Panel::new(title, "one-way latency (us)", "us");
        let panels = vec![
            (panel("Mean one-way latency"), Bars::Stat(0)),
            (panel("p99 one-way latency"), Bars::Stat(2)),
        ];
        let heading = (self.ctx).heading(
            format!("REQ/REP latency, {t} (lower is better)"),
            "message size",
        );
        Section {
            id: TRANSPORT.name().into(),
            title: t.into(),
            headline: format!(
                "REQ/REP latency, {t}, REP (local_lat) and REQ (remote_lat) in separate processes; {} roundtrips x {} run(s) per row; one-way us (half a roundtrip), medians over runs",
                opts.roundtrips, opts.runs
            ),
            figures: vec![Figure {
                file: "latency.svg".into(),
                alt: "REQ/REP one-way latency, mean and p99, by message size".into(),
                chart: chart(cells, heading, &fmt_size, panels),
            }],
            json: json!({"transport": t}),
            ..Section::of(&TABLE, cells, &fmt_size)
        }
    }

    fn about(&self) -> About {
        let opts = self.ctx.opts;
        About {
            name: "latency",
            title: "monocoque vs libzmq: REQ/REP latency",
            benchmark: "req_rep_latency",
            intro: vec![
                "each run: `local_lat` (REP, binds) and `remote_lat --histogram` (REQ, connects, times every roundtrip), after one unrecorded warm-up run per row".into(),
                "columns: medians over the runs of the mean, p50 and p99 one-way latency; `vs libzmq` = ours / libzmq's (above 1 is slower); chart: bars are medians, whiskers span min to max".into(),
            ],
            json: json!({
                "unit": "one-way microseconds (half a roundtrip)",
                "settings": {
                    "runs": opts.runs,
                    "roundtrips": opts.roundtrips,
                    "quick": opts.quick,
                    "optimized": OPTIMIZED,
                },
            }),
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
        let ours = Peer::Monocoque(Runtime::Smol);
        let cells = [
            cell(
                Peer::Libzmq,
                64,
                &[&[40.0, 40.0, 80.0], &[50.0, 50.0, 90.0]],
            ),
            cell(ours, 64, &[&[90.0, 90.0, 170.0]]),
        ];
        Ctx::with_test(&[], |ctx| {
            let s = part(ctx).scenario.section(&cells);
            let row = "monocoque/smol|64 B|90.00|90.00|170.00|2.00x|2.00x|2.00x";
            assert_eq!(s.rows[1].cells.join("|"), row);
            let ratios = json!({"mean": 1, "p50": 1, "p99": 1});
            assert_eq!(s.rows[0].json["ratio_vs_libzmq"], ratios);
            assert_eq!(s.rows[1].json["runs_p99_us"], json!([170]));
            let b = s.figures[0].chart.panels[1].bars[0][0].unwrap();
            assert_eq!((b.value, b.low, b.high), (85.0, 80.0, 90.0));
        });
    }
}
