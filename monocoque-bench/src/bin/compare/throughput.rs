//! The PUSH/PULL throughput scenario: `local_thr` (PULL, binds) and
//! `remote_thr` (PUSH, connects) as two processes over one [`Transport`];
//! `local_thr`'s msg/s is the sample. Before the runs of each variant at
//! each size, a short probe run picks a message count that makes a run last
//! about `--target-secs`. One report section (table and chart) per
//! transport, in `throughput.{md,json}` and `throughput-<transport>.svg`.

use std::time::Duration;

use monocoque_bench::output::{ParsedThroughput, parse_throughput};
use monocoque_bench::stats::{Summary, summarize};

use crate::chart::{Bar, Chart, Panel, Series};
use crate::machine::Machine;
use crate::options::Options;
use crate::peers::{Peer, Variant};
use crate::process::{RunError, ToolRun, Tools, Transport, new_endpoint, run_tools};
use crate::report::{
    Column, Figure, Report, Section, TableRow, chart_subtitle, common_intro, common_json_fields,
    fmt_int, fmt_size, json_num, json_str,
};
use crate::runner::{Cell, Scenario, failure_lines};

/// The perf tools this scenario runs.
pub const TOOLS: [&str; 2] = ["local_thr", "remote_thr"];

/// Seconds a run takes beyond its messages: two processes starting,
/// connecting, exiting.
const RUN_OVERHEAD_SECS: f64 = 0.12;

/// The results of one variant at one size: msg/s per run.
pub type ThroughputCell = Cell<Variant, f64>;

/// The throughput scenario over one transport.
pub struct Throughput<'a> {
    /// The options.
    pub opts: &'a Options,
    /// The perf tools.
    pub tools: &'a Tools,
    /// The transport of every run.
    pub transport: Transport,
}

impl Throughput<'_> {
    /// One `local_thr`/`remote_thr` run of `count` messages of `size` bytes.
    fn run_pair(
        &self,
        variant: Variant,
        size: usize,
        count: u64,
        timeout: Duration,
    ) -> Result<ParsedThroughput, RunError> {
        let (endpoint, listen) = new_endpoint(self.transport)?;
        let common = [endpoint, size.to_string(), count.to_string()];
        let with = |peer: Peer| {
            let mut a = common.to_vec();
            a.extend(peer.tool_args());
            a
        };
        let outputs = run_tools(
            ToolRun {
                tool: self.tools.get("local_thr"),
                args: with(variant.recv),
            },
            &[ToolRun {
                tool: self.tools.get("remote_thr"),
                args: with(variant.send),
            }],
            &listen,
            timeout,
            &format!("{count} messages"),
        )?;
        let parsed = parse_throughput(&outputs[0]).ok_or_else(|| {
            RunError::Failed(format!(
                "cannot read local_thr's output: {}",
                outputs[0].trim()
            ))
        })?;
        if parsed.count != count || parsed.size != size {
            return Err(RunError::Failed(format!(
                "local_thr reported {} x {} B, expected {count} x {size} B",
                parsed.count, parsed.size
            )));
        }
        Ok(parsed)
    }

    /// The timeout of a measured run of `count` messages of `size` bytes:
    /// runs last about `--target-secs`, unless the counts are fixed.
    fn run_timeout(&self, size: usize, count: u64) -> Duration {
        let expected = if self.opts.fixed_counts {
            Options::expected_secs(size, count)
        } else {
            self.opts.target_secs
        };
        self.opts.timeout_for(Some(expected))
    }

    /// The probe's message count at `base` messages per run.
    fn probe_count(base: u64) -> u64 {
        (base / 20).max(100)
    }
}

impl Scenario for Throughput<'_> {
    type Series = Variant;
    type Sample = f64;

    fn name(&self) -> String {
        format!("throughput {}", self.transport.name())
    }

    fn label(&self, series: Variant) -> String {
        series.label()
    }

    fn base_param(&self, size: usize) -> u64 {
        self.opts.base_count(size)
    }

    fn prepares(&self) -> bool {
        !self.opts.fixed_counts
    }

    fn prepare_name(&self) -> &'static str {
        "probe"
    }

    /// A short run that picks the count for about `--target-secs` per run;
    /// also a warm-up. Never more than the base count, so slow
    /// implementations get shorter runs, not longer ones.
    fn prepare(&self, variant: Variant, size: usize, base: u64) -> Result<(u64, String), RunError> {
        let probe_count = Self::probe_count(base);
        let timeout = self.run_timeout(size, base).min(Duration::from_secs(20));
        let p = self.run_pair(variant, size, probe_count, timeout)?;
        let want = (p.msgs_per_sec * self.opts.target_secs) as u64;
        // The raw limit is 10-20x faster than the base counts assume at
        // small sizes: let its runs grow too.
        let cap = if variant.recv == Peer::Raw {
            base.saturating_mul(20)
        } else {
            base
        };
        let count = want.clamp(probe_count.min(base), cap);
        Ok((
            count,
            format!(
                "{} msg/s -> {} messages per run",
                fmt_int(p.msgs_per_sec),
                fmt_int(count as f64)
            ),
        ))
    }

    fn run(&self, variant: Variant, size: usize, count: u64) -> Result<f64, RunError> {
        self.run_pair(variant, size, count, self.run_timeout(size, count))
            .map(|p| p.msgs_per_sec)
    }

    fn describe(&self, msgs_per_sec: &f64) -> String {
        format!("{} msg/s", fmt_int(*msgs_per_sec))
    }

    fn prepare_secs(&self, _size: usize) -> f64 {
        // A twentieth of a run at the assumed rate; slower implementations
        // take longer.
        RUN_OVERHEAD_SECS + self.opts.target_secs * 0.1
    }

    fn run_secs(&self, size: usize) -> f64 {
        RUN_OVERHEAD_SECS
            + match self.opts.count_override {
                Some(count) => Options::expected_secs(size, count) / 3.0,
                None => self.opts.target_secs,
            }
    }
}

/// Median, min and max msg/s of a cell.
fn summary(cell: &ThroughputCell) -> Option<Summary> {
    summarize(&cell.samples)
}

/// libzmq's median at `size`, what the ratios divide by.
fn baseline(cells: &[ThroughputCell], size: usize) -> Option<f64> {
    cells
        .iter()
        .find(|c| c.size == size && c.series.is_libzmq_baseline())
        .and_then(summary)
        .map(|s| s.median)
        .filter(|&b| b > 0.0)
}

/// Median over libzmq's median, with the min and max samples likewise.
fn ratio(cells: &[ThroughputCell], cell: &ThroughputCell) -> Option<Summary> {
    let base = baseline(cells, cell.size)?;
    let s = summary(cell)?;
    Some(Summary {
        median: s.median / base,
        min: s.min / base,
        max: s.max / base,
    })
}

/// The section headline.
fn headline(transport: Transport, runs: usize) -> String {
    format!(
        "PUSH/PULL throughput, {}, default options, sender and receiver in separate processes; {runs} run(s) per row, msg/s",
        transport.describe()
    )
}

/// The report section of one transport: table, failures and chart.
pub fn section(
    cells: &[ThroughputCell],
    transport: Transport,
    opts: &Options,
    machine: &Machine,
) -> Section {
    let columns = vec![
        Column::text("impl/runtime"),
        Column::num("size"),
        Column::num("count"),
        Column::num("median msg/s"),
        Column::num("min"),
        Column::num("max"),
        Column::num("MB/s"),
        Column::num("vs libzmq"),
    ];
    let rows = cells.iter().map(|c| table_row(cells, c)).collect();
    let failures = failure_lines(cells, |s| s.label(), fmt_size);
    Section {
        id: transport.name().into(),
        title: transport.describe().into(),
        headline: headline(transport, opts.runs),
        columns,
        rows,
        failures,
        figures: vec![Figure {
            file: format!("throughput-{}.svg", transport.name()),
            alt: format!(
                "PUSH/PULL throughput over {} by message size",
                transport.describe()
            ),
            chart: chart(cells, transport, opts, machine),
        }],
        json_fields: vec![("transport".into(), json_str(transport.describe()))],
    }
}

fn table_row(cells: &[ThroughputCell], c: &ThroughputCell) -> TableRow {
    let s = summary(c);
    let num = |f: fn(&Summary) -> f64| s.as_ref().map_or("-".into(), |s| fmt_int(f(s)));
    let ratio = ratio(cells, c);
    let cells_text = vec![
        c.series.label(),
        fmt_size(c.size),
        if s.is_some() {
            fmt_int(c.param as f64)
        } else {
            "-".into()
        },
        match &s {
            Some(s) => fmt_int(s.median),
            None if !c.errors.is_empty() => "failed".into(),
            None if c.skipped => "skipped".into(),
            None => "-".into(),
        },
        num(|s| s.min),
        num(|s| s.max),
        s.as_ref().map_or("-".into(), |s| {
            format!("{:.1}", s.median * c.size as f64 / 1e6)
        }),
        ratio.map_or("-".into(), |r| format!("{:.2}x", r.median)),
    ];
    let peer = |p: Peer| {
        format!(
            "{{\"impl\": {}, \"runtime\": {}}}",
            json_str(p.imp().name()),
            p.runtime().map_or("null".into(), |r| json_str(r.name()))
        )
    };
    let samples: Vec<String> = c.samples.iter().map(|v| json_num(Some(*v))).collect();
    let errors: Vec<String> = c.errors.iter().map(|e| json_str(e)).collect();
    let json = format!(
        "{{\"label\": {}, \"receiver\": {}, \"sender\": {}, \"size\": {}, \"count\": {}, \"samples_msgs_per_sec\": [{}], \"median_msgs_per_sec\": {}, \"min_msgs_per_sec\": {}, \"max_msgs_per_sec\": {}, \"median_mb_per_sec\": {}, \"ratio_vs_libzmq\": {}, \"errors\": [{}]}}",
        json_str(&c.series.label()),
        peer(c.series.recv),
        peer(c.series.send),
        c.size,
        c.param,
        samples.join(", "),
        json_num(s.map(|s| s.median)),
        json_num(s.map(|s| s.min)),
        json_num(s.map(|s| s.max)),
        json_num(s.map(|s| s.median * c.size as f64 / 1e6)),
        json_num(ratio.map(|r| r.median)),
        errors.join(", ")
    );
    TableRow {
        group: c.size.to_string(),
        cells: cells_text,
        json,
    }
}

/// The categories (sizes, in run order) and series (variants, in run order)
/// of `cells`.
fn axes(cells: &[ThroughputCell]) -> (Vec<usize>, Vec<Variant>) {
    let mut sizes = Vec::new();
    let mut variants = Vec::new();
    for c in cells {
        if !sizes.contains(&c.size) {
            sizes.push(c.size);
        }
        if !variants.contains(&c.series) {
            variants.push(c.series);
        }
    }
    (sizes, variants)
}

/// Bars of `value(cell)` for every variant at every size.
fn bars(
    cells: &[ThroughputCell],
    sizes: &[usize],
    variants: &[Variant],
    value: impl Fn(&ThroughputCell) -> Option<Summary>,
) -> Vec<Vec<Option<Bar>>> {
    variants
        .iter()
        .map(|&v| {
            sizes
                .iter()
                .map(|&size| {
                    let cell = cells.iter().find(|c| c.series == v && c.size == size)?;
                    value(cell).map(|s| Bar::new(s.median, s.min, s.max))
                })
                .collect()
        })
        .collect()
}

/// msg/s by size (log scale), and the ratio to libzmq below it.
fn chart(cells: &[ThroughputCell], transport: Transport, opts: &Options, m: &Machine) -> Chart {
    let (sizes, variants) = axes(cells);
    let rate = bars(cells, &sizes, &variants, summary);
    let ratios = bars(cells, &sizes, &variants, |c| ratio(cells, c));
    let spread = ratios
        .iter()
        .flatten()
        .flatten()
        .flat_map(|b| [b.low, b.high])
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let mut panels = vec![Panel {
        title: "Messages per second (log scale)".into(),
        y_label: "msg/s".into(),
        unit: "msg/s".into(),
        log: true,
        reference: None,
        base: None,
        bars: rate,
    }];
    if variants.iter().any(|v| v.is_libzmq_baseline()) {
        let log = spread.1 / spread.0 > 8.0;
        panels.push(Panel {
            title: format!(
                "Ratio to libzmq's median{} (above 1: faster than libzmq)",
                if log { ", log scale" } else { "" }
            ),
            y_label: "x libzmq".into(),
            unit: "x libzmq".into(),
            log,
            reference: Some((1.0, "libzmq".into())),
            base: Some(1.0),
            bars: ratios,
        });
    }
    Chart {
        title: format!("PUSH/PULL throughput, {}", transport.describe()),
        subtitle: chart_subtitle(m, opts.runs),
        x_label: "message size".into(),
        categories: sizes.iter().map(|&s| fmt_size(s)).collect(),
        series: variants
            .iter()
            .map(|v| Series {
                name: v.label(),
                color: v.color().into(),
            })
            .collect(),
        panels,
    }
}

/// Notes explaining known failures in `cells`.
pub fn notes(cells: &[ThroughputCell], transport: Transport) -> Vec<String> {
    let libzmq_ipc_hang = transport == Transport::Ipc
        && cells.iter().any(|c| {
            c.series.recv == Peer::Libzmq
                && c.series.send == Peer::Libzmq
                && c.errors.iter().any(|e| e.contains("timed out"))
        });
    if libzmq_ipc_hang {
        vec!["libzmq to libzmq over ipc: the PUSH side sometimes exits without having written its last queued messages (zeromq/libzmq#4660, ipc drops messages despite linger), so `local_thr` waits for them until the timeout (here in about 10-25% of runs)".into()]
    } else {
        Vec::new()
    }
}

/// The throughput report over its sections (one per transport).
pub fn report(
    opts: &Options,
    machine: &Machine,
    notes: &[String],
    elapsed: Duration,
    sections: Vec<Section>,
) -> Report {
    let mut intro = common_intro(machine);
    intro.push(format!(
        "runs per row: {}; message count per run picked by a probe run for about {} s{}",
        opts.runs,
        opts.target_secs,
        if opts.fixed_counts {
            " (disabled: fixed counts)"
        } else {
            ""
        }
    ));
    intro.push("columns: median, min and max over the runs of `local_thr`'s mean throughput (first to last message); MB/s = median x size / 10^6; `vs libzmq` = median / libzmq's median at that size; charts: bars are medians, whiskers span min to max".into());
    intro.push("`a<-b`: `a` receives (PULL, `local_thr`), `b` sends (PUSH, `remote_thr`)".into());
    intro.push(format!("total time: {:.0} s", elapsed.as_secs_f64()));
    let mut json_fields = common_json_fields("push_pull_throughput", machine);
    let transports: Vec<String> = sections.iter().map(|s| json_str(&s.id)).collect();
    json_fields.push((
        "settings".into(),
        format!(
            "{{\"runs\": {}, \"target_secs\": {}, \"fixed_counts\": {}, \"quick\": {}, \"optimized\": {}, \"transports\": [{}]}}",
            opts.runs,
            opts.target_secs,
            opts.fixed_counts,
            opts.quick,
            !cfg!(debug_assertions),
            transports.join(", ")
        ),
    ));
    json_fields.push((
        "elapsed_secs".into(),
        format!("{:.1}", elapsed.as_secs_f64()),
    ));
    Report {
        name: "throughput".into(),
        title: "monocoque vs libzmq: PUSH/PULL throughput".into(),
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

    fn cell(series: Variant, size: usize, samples: &[f64]) -> ThroughputCell {
        Cell {
            series,
            size,
            param: 1000,
            samples: samples.to_vec(),
            errors: Vec::new(),
            skipped: false,
        }
    }

    #[test]
    fn section_table_and_chart() {
        let lib = Variant::same(Peer::Libzmq);
        let ours = Variant::same(Peer::Monocoque(Runtime::Tokio));
        let mut failed = cell(ours, 1 << 20, &[]);
        failed.errors.push("run 1: boom".into());
        failed.skipped = true;
        let cells = vec![
            cell(lib, 64, &[100.0, 200.0, 300.0]),
            cell(ours, 64, &[300.0, 400.0, 500.0]),
            cell(lib, 1 << 20, &[10.0]),
            failed,
        ];
        let opts = Options::parse(Vec::new()).unwrap();
        let m = Machine::detect();
        let s = section(&cells, Transport::Ipc, &opts, &m);
        assert_eq!(s.id, "ipc");
        assert_eq!(
            s.rows[1].cells,
            [
                "monocoque/tokio",
                "64 B",
                "1,000",
                "400",
                "300",
                "500",
                "0.0",
                "2.00x"
            ]
        );
        assert_eq!(s.rows[3].cells[3], "failed");
        assert!(s.rows[0].json.contains("\"ratio_vs_libzmq\": 1.000"));
        assert_eq!(s.failures, ["monocoque/tokio 1 MiB: run 1: boom"]);
        let fig = &s.figures[0];
        assert_eq!(fig.file, "throughput-ipc.svg");
        assert_eq!(fig.chart.categories, ["64 B", "1 MiB"]);
        assert_eq!(fig.chart.panels.len(), 2);
        let ratio = fig.chart.panels[1].bars[1][0].unwrap();
        assert_eq!((ratio.value, ratio.low, ratio.high), (2.0, 1.5, 2.5));
        // Three bars in each panel; the failed cell has none.
        let svg = fig.chart.to_svg();
        assert_eq!(crate::chart::tests::check_svg(&svg), 6);
    }
}
