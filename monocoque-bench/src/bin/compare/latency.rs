//! The REQ/REP latency scenario: `local_lat` (REP, binds) and
//! `remote_lat --histogram` (REQ, connects, times every roundtrip) as two
//! processes over tcp loopback, both on the same implementation; the sample
//! is `remote_lat`'s mean and percentiles (one-way, half a roundtrip). One
//! unrecorded warm-up run per implementation and size first. The report is
//! `latency.{md,json}` and `latency.svg` (mean and p99).

use std::time::Duration;

use monocoque_bench::output::{ParsedLatency, Percentiles, parse_latency};
use monocoque_bench::stats::{Summary, summarize};

use crate::chart::{Bar, Chart, Panel, Series};
use crate::machine::Machine;
use crate::options::Options;
use crate::peers::Peer;
use crate::process::{RunError, ToolRun, Tools, Transport, new_endpoint, run_tools};
use crate::report::{
    Column, Figure, Report, Section, TableRow, chart_subtitle, common_intro, common_json_fields,
    fmt_size, json_num, json_str,
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
pub type LatencyCell = Cell<Peer, ParsedLatency>;

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
    fn run_pair(
        &self,
        peer: Peer,
        size: usize,
        roundtrips: u64,
    ) -> Result<ParsedLatency, RunError> {
        let (endpoint, listen) = new_endpoint(TRANSPORT)?;
        let mut args = vec![endpoint, size.to_string(), roundtrips.to_string()];
        args.extend(peer.tool_args());
        let local_args = args.clone();
        args.push("--histogram".into());
        let outputs = run_tools(
            ToolRun {
                tool: self.tools.get("local_lat"),
                args: local_args,
            },
            &[ToolRun {
                tool: self.tools.get("remote_lat"),
                args,
            }],
            &listen,
            self.opts.timeout_for(Some(self.run_secs(size))),
            &format!("{roundtrips} roundtrips"),
        )?;
        let parsed = parse_latency(&outputs[1]).ok_or_else(|| {
            RunError::Failed(format!(
                "cannot read remote_lat's output: {}",
                outputs[1].trim()
            ))
        })?;
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
    type Sample = ParsedLatency;

    fn name(&self) -> String {
        "latency".into()
    }

    fn label(&self, peer: Peer) -> String {
        peer.label()
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

    fn run(&self, peer: Peer, size: usize, roundtrips: u64) -> Result<ParsedLatency, RunError> {
        self.run_pair(peer, size, roundtrips)
    }

    fn describe(&self, p: &ParsedLatency) -> String {
        let pct = p.percentiles.unwrap_or(Percentiles {
            p50: f64::NAN,
            p90: f64::NAN,
            p99: f64::NAN,
            max: f64::NAN,
        });
        format!(
            "mean {:.2} us, p50 {:.2} us, p99 {:.2} us",
            p.mean_us, pct.p50, pct.p99
        )
    }

    fn prepare_secs(&self, _size: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.warm_up_roundtrips() as f64 * ROUNDTRIP_SECS
    }

    fn run_secs(&self, _size: usize) -> f64 {
        RUN_OVERHEAD_SECS + self.opts.roundtrips as f64 * ROUNDTRIP_SECS
    }
}

/// Median, min and max over the runs of one statistic of each run.
fn stat(cell: &LatencyCell, f: fn(&ParsedLatency) -> Option<f64>) -> Option<Summary> {
    let v: Option<Vec<f64>> = cell.samples.iter().map(f).collect();
    summarize(&v?)
}

fn mean(p: &ParsedLatency) -> Option<f64> {
    Some(p.mean_us)
}

fn p50(p: &ParsedLatency) -> Option<f64> {
    p.percentiles.map(|p| p.p50)
}

fn p99(p: &ParsedLatency) -> Option<f64> {
    p.percentiles.map(|p| p.p99)
}

/// Medians over the runs of the mean, p50 and p99 (us).
fn medians(cell: &LatencyCell) -> Option<[f64; 3]> {
    Some([
        stat(cell, mean)?.median,
        stat(cell, p50)?.median,
        stat(cell, p99)?.median,
    ])
}

/// Ours over libzmq's (mean, p50, p99): above 1 is slower.
fn ratios(cells: &[LatencyCell], cell: &LatencyCell) -> Option<[f64; 3]> {
    let b = cells
        .iter()
        .find(|c| c.size == cell.size && c.series == Peer::Libzmq)
        .and_then(medians)?;
    let s = medians(cell)?;
    let r = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
    Some([r(s[0], b[0]), r(s[1], b[1]), r(s[2], b[2])])
}

/// The report section: table, failures and chart.
pub fn section(cells: &[LatencyCell], opts: &Options, machine: &Machine) -> Section {
    let columns = vec![
        Column::text("impl/runtime"),
        Column::num("size"),
        Column::num("mean us"),
        Column::num("p50 us"),
        Column::num("p99 us"),
        Column::num("mean vs libzmq"),
        Column::num("p50 vs libzmq"),
        Column::num("p99 vs libzmq"),
    ];
    let rows = cells.iter().map(|c| table_row(cells, c)).collect();
    let failures = failure_lines(cells, |s| s.label(), fmt_size);
    Section {
        id: TRANSPORT.name().into(),
        title: TRANSPORT.describe().into(),
        headline: format!(
            "REQ/REP latency, {}, REP (local_lat) and REQ (remote_lat) in separate processes; {} roundtrips x {} run(s) per row; one-way us (half a roundtrip), medians over runs",
            TRANSPORT.describe(),
            opts.roundtrips,
            opts.runs
        ),
        columns,
        rows,
        failures,
        figures: vec![Figure {
            file: "latency.svg".into(),
            alt: "REQ/REP one-way latency, mean and p99, by message size".into(),
            chart: chart(cells, opts, machine),
        }],
        json_fields: vec![("transport".into(), json_str(TRANSPORT.describe()))],
    }
}

fn table_row(cells: &[LatencyCell], c: &LatencyCell) -> TableRow {
    let m = medians(c);
    let us = |i: usize| m.map_or("-".into(), |m| format!("{:.2}", m[i]));
    let status = if !c.errors.is_empty() {
        "failed"
    } else if c.skipped {
        "skipped"
    } else {
        "-"
    };
    let r = ratios(cells, c);
    let ratio = |i: usize| r.map_or("-".into(), |r| format!("{:.2}x", r[i]));
    let text = vec![
        c.series.label(),
        fmt_size(c.size),
        m.map_or(status.into(), |m| format!("{:.2}", m[0])),
        us(1),
        us(2),
        ratio(0),
        ratio(1),
        ratio(2),
    ];
    let list = |f: fn(&ParsedLatency) -> Option<f64>| {
        let v: Vec<String> = c.samples.iter().map(|r| json_num(f(r))).collect();
        v.join(", ")
    };
    let errors: Vec<String> = c.errors.iter().map(|e| json_str(e)).collect();
    let json = format!(
        "{{\"label\": {}, \"impl\": {}, \"runtime\": {}, \"size\": {}, \"runs_mean_us\": [{}], \"runs_p50_us\": [{}], \"runs_p99_us\": [{}], \"mean_us\": {}, \"p50_us\": {}, \"p99_us\": {}, \"ratio_vs_libzmq\": {{\"mean\": {}, \"p50\": {}, \"p99\": {}}}, \"errors\": [{}]}}",
        json_str(&c.series.label()),
        json_str(c.series.imp().name()),
        c.series
            .runtime()
            .map_or("null".into(), |r| json_str(r.name())),
        c.size,
        list(mean),
        list(p50),
        list(p99),
        json_num(m.map(|m| m[0])),
        json_num(m.map(|m| m[1])),
        json_num(m.map(|m| m[2])),
        json_num(r.map(|r| r[0])),
        json_num(r.map(|r| r[1])),
        json_num(r.map(|r| r[2])),
        errors.join(", ")
    );
    TableRow {
        group: c.size.to_string(),
        cells: text,
        json,
    }
}

/// Mean and p99 by size, one bar per implementation.
fn chart(cells: &[LatencyCell], opts: &Options, m: &Machine) -> Chart {
    let mut sizes = Vec::new();
    let mut peers = Vec::new();
    for c in cells {
        if !sizes.contains(&c.size) {
            sizes.push(c.size);
        }
        if !peers.contains(&c.series) {
            peers.push(c.series);
        }
    }
    let bars = |f: fn(&ParsedLatency) -> Option<f64>| -> Vec<Vec<Option<Bar>>> {
        peers
            .iter()
            .map(|&p| {
                sizes
                    .iter()
                    .map(|&size| {
                        let cell = cells.iter().find(|c| c.series == p && c.size == size)?;
                        stat(cell, f).map(|s| Bar::new(s.median, s.min, s.max))
                    })
                    .collect()
            })
            .collect()
    };
    let panel = |title: &str, f: fn(&ParsedLatency) -> Option<f64>| Panel {
        title: title.into(),
        y_label: "one-way latency (us)".into(),
        unit: "us".into(),
        log: false,
        reference: None,
        base: None,
        bars: bars(f),
    };
    Chart {
        title: format!(
            "REQ/REP latency, {} (lower is better)",
            TRANSPORT.describe()
        ),
        subtitle: chart_subtitle(m, opts.runs),
        x_label: "message size".into(),
        categories: sizes.iter().map(|&s| fmt_size(s)).collect(),
        series: peers
            .iter()
            .map(|p| Series {
                name: p.label(),
                color: p.color().into(),
            })
            .collect(),
        panels: vec![
            panel("Mean one-way latency", mean),
            panel("p99 one-way latency", p99),
        ],
    }
}

/// The latency report.
pub fn report(
    opts: &Options,
    machine: &Machine,
    notes: &[String],
    elapsed: Duration,
    sections: Vec<Section>,
) -> Report {
    let mut intro = common_intro(machine);
    intro.push("each run: `local_lat` (REP, binds) and `remote_lat --histogram` (REQ, connects, times every roundtrip), after one unrecorded warm-up run per row".into());
    intro.push("columns: medians over the runs of the mean, p50 and p99 one-way latency; `vs libzmq` = ours / libzmq's (above 1 is slower); chart: bars are medians, whiskers span min to max".into());
    intro.push(format!("total time: {:.0} s", elapsed.as_secs_f64()));
    let mut json_fields = common_json_fields("req_rep_latency", machine);
    json_fields.push((
        "unit".into(),
        json_str("one-way microseconds (half a roundtrip)"),
    ));
    json_fields.push((
        "settings".into(),
        format!(
            "{{\"runs\": {}, \"roundtrips\": {}, \"quick\": {}, \"optimized\": {}}}",
            opts.runs,
            opts.roundtrips,
            opts.quick,
            !cfg!(debug_assertions)
        ),
    ));
    json_fields.push((
        "elapsed_secs".into(),
        format!("{:.1}", elapsed.as_secs_f64()),
    ));
    Report {
        name: "latency".into(),
        title: "monocoque vs libzmq: REQ/REP latency".into(),
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

    fn lat(mean_us: f64, p99: f64) -> ParsedLatency {
        ParsedLatency {
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
        let ours = Peer::Monocoque(Runtime::Smol);
        let cells = vec![
            Cell {
                series: Peer::Libzmq,
                size: 64,
                param: 100,
                samples: vec![lat(40.0, 80.0), lat(50.0, 90.0)],
                errors: Vec::new(),
                skipped: false,
            },
            Cell {
                series: ours,
                size: 64,
                param: 100,
                samples: vec![lat(90.0, 170.0)],
                errors: Vec::new(),
                skipped: false,
            },
        ];
        let opts = Options::parse(Vec::new()).unwrap();
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
        assert!(s.rows[0].json.contains("\"p99\": 1.000"));
        let chart = &s.figures[0].chart;
        assert_eq!(chart.panels.len(), 2);
        let b = chart.panels[1].bars[0][0].unwrap();
        assert_eq!((b.value, b.low, b.high), (85.0, 80.0, 90.0));
        assert_eq!(crate::chart::tests::check_svg(&chart.to_svg()), 4);
    }
}
