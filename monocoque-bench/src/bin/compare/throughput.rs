//! The PUSH/PULL throughput scenario: `local_thr` (PULL, binds) and
//! `remote_thr` (PUSH, connects) as two processes over one [`Transport`];
//! `local_thr`'s msg/s is the sample. Before the runs of each variant at
//! each size, a short probe run picks a message count that makes a run last
//! about `--target-secs`. One report section (table and chart) per
//! transport, in `throughput.{md,json}` and `throughput-<transport>.svg`.

use std::time::Duration;

use monocoque_bench::output::{Throughput as Thr, parse_throughput};
use serde_json::json;

use crate::chart::Panel;
use crate::machine::Machine;
use crate::options::Options;
use crate::peers::{Contender, Peer, Variant};
use crate::process::{RunError, Tools, Transport, run_pair};
use crate::report::{
    About, Figure, OPTIMIZED, Section, TableRow, chart, chart_subtitle, columns, fmt_int, fmt_opt,
    fmt_ratio, fmt_size, num, nums, opt_num, ratio, result_json, stat, status, wide,
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
    ) -> Result<Thr, RunError> {
        let common = [size.to_string(), count.to_string()];
        let with = |peer: Peer| [&common[..], &peer.tool_args()].concat();
        let out = run_pair(
            self.tools,
            self.transport,
            TOOLS,
            [with(variant.recv), with(variant.send)],
            timeout,
            &format!("{count} messages"),
        )?;
        let parsed = crate::process::parsed("local_thr", &out[0], parse_throughput)?;
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
        let _ = (size, count);
        self.opts.timeout_for(Some(self.opts.target_secs))
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
        let _ = size;
        RUN_OVERHEAD_SECS + self.opts.target_secs
    }
}

/// The msg/s of a run.
fn rate(v: &f64) -> f64 {
    *v
}

/// The report section of one transport: table, failures and chart.
pub fn section(
    cells: &[ThroughputCell],
    transport: Transport,
    opts: &Options,
    machine: &Machine,
) -> Section {
    let rates = |c: &ThroughputCell| stat(c, rate);
    let ratios = |c: &ThroughputCell| ratio(cells, c, rate);
    let mut panels = vec![(
        Panel {
            log: true,
            ..Panel::new("Messages per second (log scale)", "msg/s", "msg/s")
        },
        &rates as _,
    )];
    if cells.iter().any(|c| c.series.is_libzmq_baseline()) {
        let log = wide(cells.iter().filter_map(ratios));
        let title = format!(
            "Ratio to libzmq's median{} (above 1: faster than libzmq)",
            if log { ", log scale" } else { "" }
        );
        panels.push((
            Panel {
                log,
                reference: Some((1.0, "libzmq".into())),
                base: Some(1.0),
                ..Panel::new(&title, "x libzmq", "x libzmq")
            },
            &ratios as _,
        ));
    }
    let title = format!("PUSH/PULL throughput, {}", transport.describe());
    let heading = (title, chart_subtitle(machine, opts.runs), "message size");
    Section {
        id: transport.name().into(),
        title: transport.describe().into(),
        headline: format!(
            "PUSH/PULL throughput, {}, default options, sender and receiver in separate processes; {} run(s) per row, msg/s",
            transport.describe(),
            opts.runs
        ),
        columns: columns(
            "impl/runtime",
            &[
                "size",
                "count",
                "median msg/s",
                "min",
                "max",
                "MB/s",
                "vs libzmq",
            ],
        ),
        rows: cells.iter().map(|c| table_row(cells, c)).collect(),
        failures: failure_lines(cells, fmt_size),
        figures: vec![Figure {
            file: format!("throughput-{}.svg", transport.name()),
            alt: format!(
                "PUSH/PULL throughput over {} by message size",
                transport.describe()
            ),
            chart: chart(cells, heading, fmt_size, panels),
        }],
        json: [("transport".into(), transport.describe().into())]
            .into_iter()
            .collect(),
    }
}

fn table_row(cells: &[ThroughputCell], c: &ThroughputCell) -> TableRow {
    let s = stat(c, rate);
    let r = ratio(cells, c, rate).map(|r| r.median);
    let mb = s.map(|s| s.median * c.size as f64 / 1e6);
    let text = vec![
        c.series.label(),
        fmt_size(c.size),
        if s.is_some() {
            fmt_int(c.param as f64)
        } else {
            "-".into()
        },
        s.map_or(status(c).into(), |s| fmt_int(s.median)),
        fmt_opt(s.map(|s| s.min)),
        fmt_opt(s.map(|s| s.max)),
        mb.map_or("-".into(), |mb| format!("{mb:.1}")),
        fmt_ratio(r),
    ];
    let json = json!({
        "count": c.param,
        "samples_msgs_per_sec": nums(c, rate),
        "median_msgs_per_sec": opt_num(s.map(|s| s.median)),
        "min_msgs_per_sec": opt_num(s.map(|s| s.min)),
        "max_msgs_per_sec": opt_num(s.map(|s| s.max)),
        "median_mb_per_sec": opt_num(mb),
        "ratio_vs_libzmq": opt_num(r),
    });
    TableRow {
        group: c.size.to_string(),
        cells: text,
        json: result_json(c, "size", json),
    }
}

/// Notes explaining known failures in `cells`.
pub fn notes(cells: &[ThroughputCell], transport: Transport) -> Vec<String> {
    let libzmq_ipc_hang = transport == Transport::Ipc
        && cells.iter().any(|c| {
            c.series.is_libzmq_baseline() && c.errors.iter().any(|e| e.contains("timed out"))
        });
    if libzmq_ipc_hang {
        vec!["libzmq to libzmq over ipc: the PUSH side sometimes exits without having written its last queued messages (zeromq/libzmq#4660, ipc drops messages despite linger), so `local_thr` waits for them until the timeout (here in about 10-25% of runs)".into()]
    } else {
        Vec::new()
    }
}

/// What the throughput report says besides its sections (one per
/// transport).
pub fn about(opts: &Options, sections: &[Section]) -> About {
    let transports: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
    About {
        name: "throughput",
        title: "monocoque vs libzmq: PUSH/PULL throughput",
        benchmark: "push_pull_throughput",
        intro: vec![
            format!(
                "runs per row: {}; message count per run picked by a probe run for about {} s{}",
                opts.runs,
                opts.target_secs,
                if opts.fixed_counts { " (disabled: fixed counts)" } else { "" }
            ),
            "columns: median, min and max over the runs of `local_thr`'s mean throughput (first to last message); MB/s = median x size / 10^6; `vs libzmq` = median / libzmq's median at that size; charts: bars are medians, whiskers span min to max".into(),
            "`a<-b`: `a` receives (PULL, `local_thr`), `b` sends (PUSH, `remote_thr`)".into(),
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
        let opts = Options::from_args(Vec::new()).unwrap();
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
        let json = &s.rows[1].json;
        assert_eq!(
            (json["ratio_vs_libzmq"].as_f64(), json["size"].as_u64()),
            (Some(2.0), Some(64))
        );
        assert_eq!(
            json["receiver"],
            json!({"impl": "monocoque", "runtime": "tokio"})
        );
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
