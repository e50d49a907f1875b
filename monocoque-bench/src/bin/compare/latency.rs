//! The REQ/REP latency scenario: `local_lat` (REP, binds) and
//! `remote_lat --histogram` (REQ, connects, times every roundtrip) as two
//! processes over tcp loopback, both on the same implementation; the sample
//! is `remote_lat`'s mean and percentiles (one-way, half a roundtrip). One
//! unrecorded warm-up run per implementation and size first. The report is
//! `latency.{md,json}` and `latency.svg` (mean and p99).

use monocoque_bench::output::{Latency as Lat, parse_latency};
use serde_json::json;

use crate::chart::Panel;
use crate::machine::Machine;
use crate::options::Options;
use crate::peers::{Contender, Peer};
use crate::process::{RunError, Tools, Transport, parsed, run_pair};
use crate::report::{
    About, Figure, OPTIMIZED, Section, TableRow, chart, chart_subtitle, columns, fmt_ratio,
    fmt_size, nums, opt_num, ratio, result_json, stat, status,
};
use crate::runner::{Cell, Scenario, failure_lines};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["local_lat", "remote_lat"];

/// The transport of every latency run.
const TRANSPORT: Transport = Transport::Tcp;

/// Expected seconds per roundtrip on a small machine (two one-way trips of
/// about 60 us, from the first measurements on 2 cores).
const ROUNDTRIP_SECS: f64 = 120e-6;
/// Seconds a run takes beyond its roundtrips.
const RUN_OVERHEAD_SECS: f64 = 0.12;

/// The results of one implementation at one size.
pub type LatencyCell = Cell<Peer, Lat>;

/// The latency scenario.
pub struct Latency<'a> {
    /// The options.
    pub opts: &'a Options,
    /// The perf tools.
    pub tools: &'a Tools,
}

impl Latency<'_> {
    /// One local_lat/remote_lat pair (`remote_lat --histogram`), both sides
    /// on `peer`.
    fn run_pair(&self, peer: Peer, size: usize, roundtrips: u64) -> Result<Lat, RunError> {
        let args = [
            &[size.to_string(), roundtrips.to_string()][..],
            &peer.tool_args(),
        ]
        .concat();
        let out = run_pair(
            self.tools,
            TRANSPORT,
            TOOLS,
            [args.clone(), [&args[..], &["--histogram".into()]].concat()],
            self.opts.timeout_for(Some(self.run_secs(size))),
            &format!("{roundtrips} roundtrips"),
        )?;
        let parsed = parsed("remote_lat", &out[1], parse_latency)?;
        if parsed.roundtrips != roundtrips || parsed.size != size || parsed.percentiles.is_none() {
            return Err(RunError::Failed(format!(
                "remote_lat reported {} x {} B (percentiles: {}), expected {roundtrips} x {size} B",
                parsed.roundtrips,
                parsed.size,
                parsed.percentiles.is_some()
            )));
        }
        Ok(parsed)
    }

    fn warm_up_roundtrips(&self) -> u64 {
        (self.opts.roundtrips / 10).max(10)
    }
}

impl Scenario for Latency<'_> {
    type Series = Peer;
    type Sample = Lat;

    fn name(&self) -> String {
        "latency".into()
    }

    fn base_param(&self, _size: usize) -> u64 {
        self.opts.roundtrips
    }

    fn prepares(&self) -> bool {
        true
    }

    /// A tenth of a run, unrecorded (page cache, CPU frequency).
    fn prepare(&self, peer: Peer, size: usize, base: u64) -> Result<(u64, String), RunError> {
        let p = self.run_pair(peer, size, self.warm_up_roundtrips())?;
        Ok((base, format!("mean {:.2} us", p.mean_us)))
    }

    fn run(&self, peer: Peer, size: usize, roundtrips: u64) -> Result<Lat, RunError> {
        self.run_pair(peer, size, roundtrips)
    }

    fn describe(&self, p: &Lat) -> String {
        format!(
            "mean {:.2} us, p50 {:.2} us, p99 {:.2} us",
            p.mean_us,
            p50(p),
            p99(p)
        )
    }

    fn prepare_secs(&self, _size: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.warm_up_roundtrips() as f64 * ROUNDTRIP_SECS
    }

    fn run_secs(&self, _size: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.opts.roundtrips as f64 * ROUNDTRIP_SECS
    }
}

fn mean(p: &Lat) -> f64 {
    p.mean_us
}

fn p50(p: &Lat) -> f64 {
    p.percentiles.map_or(f64::NAN, |p| p.p50)
}

fn p99(p: &Lat) -> f64 {
    p.percentiles.map_or(f64::NAN, |p| p.p99)
}

/// The statistics of the table: the mean, p50 and p99 of each run.
const STATS: [fn(&Lat) -> f64; 3] = [mean, p50, p99];

/// The report section: table, failures and chart.
pub fn section(cells: &[LatencyCell], opts: &Options, machine: &Machine) -> Section {
    let title = format!(
        "REQ/REP latency, {} (lower is better)",
        TRANSPORT.describe()
    );
    let heading = (title, chart_subtitle(machine, opts.runs), "message size");
    let panel = |title| Panel::new(title, "one-way latency (us)", "us");
    let (means, p99s) = (
        |c: &LatencyCell| stat(c, mean),
        |c: &LatencyCell| stat(c, p99),
    );
    let panels = vec![
        (panel("Mean one-way latency"), &means as _),
        (panel("p99 one-way latency"), &p99s as _),
    ];
    Section {
        id: TRANSPORT.name().into(),
        title: TRANSPORT.describe().into(),
        headline: format!(
            "REQ/REP latency, {}, REP (local_lat) and REQ (remote_lat) in separate processes; {} roundtrips x {} run(s) per row; one-way us (half a roundtrip), medians over runs",
            TRANSPORT.describe(),
            opts.roundtrips,
            opts.runs
        ),
        columns: columns(
            "impl/runtime",
            &[
                "size",
                "mean us",
                "p50 us",
                "p99 us",
                "mean vs libzmq",
                "p50 vs libzmq",
                "p99 vs libzmq",
            ],
        ),
        rows: cells.iter().map(|c| table_row(cells, c)).collect(),
        failures: failure_lines(cells, fmt_size),
        figures: vec![Figure {
            file: "latency.svg".into(),
            alt: "REQ/REP one-way latency, mean and p99, by message size".into(),
            chart: chart(cells, heading, fmt_size, panels),
        }],
        json: [("transport".into(), TRANSPORT.describe().into())]
            .into_iter()
            .collect(),
    }
}

fn table_row(cells: &[LatencyCell], c: &LatencyCell) -> TableRow {
    let m = STATS.map(|f| stat(c, f).map(|s| s.median));
    let r = STATS.map(|f| ratio(cells, c, f).map(|r| r.median));
    let us = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
    let text = vec![
        c.series.label(),
        fmt_size(c.size),
        m[0].map_or(status(c).into(), |v| format!("{v:.2}")),
        us(m[1]),
        us(m[2]),
        fmt_ratio(r[0]),
        fmt_ratio(r[1]),
        fmt_ratio(r[2]),
    ];
    let json = json!({
        "runs_mean_us": nums(c, mean),
        "runs_p50_us": nums(c, p50),
        "runs_p99_us": nums(c, p99),
        "mean_us": opt_num(m[0]),
        "p50_us": opt_num(m[1]),
        "p99_us": opt_num(m[2]),
        "ratio_vs_libzmq": {"mean": opt_num(r[0]), "p50": opt_num(r[1]), "p99": opt_num(r[2])},
    });
    TableRow {
        group: c.size.to_string(),
        cells: text,
        json: result_json(c, "size", json),
    }
}

/// What the latency report says besides its section.
pub fn about(opts: &Options) -> About {
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

#[cfg(test)]
mod tests {
    use super::*;
    use monocoque_bench::args::Runtime;
    use monocoque_bench::output::Percentiles;

    fn lat(mean_us: f64, p99: f64) -> Lat {
        Lat {
            size: 64,
            roundtrips: 100,
            mean_us,
            percentiles: Some(Percentiles {
                p50: mean_us,
                p90: p99,
                p99,
                max: p99,
            }),
        }
    }

    #[test]
    fn section_table_and_chart() {
        let cell = |series, samples| Cell {
            series,
            size: 64,
            param: 100,
            samples,
            errors: Vec::new(),
            skipped: false,
        };
        let ours = Peer::Monocoque(Runtime::Smol);
        let cells = vec![
            cell(Peer::Libzmq, vec![lat(40.0, 80.0), lat(50.0, 90.0)]),
            cell(ours, vec![lat(90.0, 170.0)]),
        ];
        let opts = Options::from_args(Vec::new()).unwrap();
        let s = section(&cells, &opts, &Machine::detect());
        assert_eq!(
            s.rows[1].cells,
            [
                "monocoque/smol",
                "64 B",
                "90.00",
                "90.00",
                "170.00",
                "2.00x",
                "2.00x",
                "2.00x"
            ]
        );
        assert_eq!(s.rows[0].json["ratio_vs_libzmq"]["p99"], 1.0);
        assert_eq!(s.rows[1].json["runs_p99_us"], json!([170.0]));
        let chart = &s.figures[0].chart;
        assert_eq!(chart.panels.len(), 2);
        let b = chart.panels[1].bars[0][0].unwrap();
        assert_eq!((b.value, b.low, b.high), (85.0, 80.0, 90.0));
        assert_eq!(crate::chart::tests::check_svg(&chart.to_svg()), 4);
    }
}
