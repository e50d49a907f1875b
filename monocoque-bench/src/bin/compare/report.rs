//! Reports: a [`Report`] is a title, an introduction and [`Section`]s, each
//! section a table (headline, column names, [`TableRow`]s, failures) with
//! its [`Figure`]s (SVG charts). One report becomes a text table on stdout
//! ([`Report::table`]) and `<name>.md`, `<name>.json` (serde_json) and the
//! charts' SVG files in the report directory ([`Report::write`]).
//!
//! A scenario describes its table once, as [`Col`]s: each names a column,
//! its JSON field and what it shows of a [`Cell`] (the point, the count,
//! the median, min or max of a metric over the runs, the ratio to libzmq);
//! [`Table::rows`] makes both the text and the JSON of every row from that.
//! Its charts are [`Bars`] of the same metrics ([`chart`]).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use monocoque_bench::stats::Summary;
use serde_json::{Map, Value, json};

use crate::chart::{Bar, Chart, Panel, Series};
use crate::machine::Machine;
use crate::peers::Peer;
use crate::runner::Cell;

/// Whether this `compare` was built with optimisations (in every report's
/// settings).
pub const OPTIMIZED: bool = !cfg!(debug_assertions);

/// How a column writes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    /// Rounded, thousands grouped: `1,234,568`.
    Int,
    /// One decimal.
    Dec1,
    /// Two decimals.
    Dec2,
    /// A share as a percentage with one decimal: `90.0%`.
    Pct,
    /// A multiple: `2.00x`.
    Times,
    /// A message size: `64 B`, `1 KiB`.
    Size,
    /// A plain whole number.
    Plain,
}

impl Fmt {
    /// `v` written this way.
    fn show(self, v: f64) -> String {
        match self {
            Fmt::Int => fmt_int(v),
            Fmt::Dec1 => format!("{v:.1}"),
            Fmt::Dec2 => format!("{v:.2}"),
            Fmt::Pct => format!("{:.1}%", v * 100.0),
            Fmt::Times => format!("{v:.2}x"),
            Fmt::Size => fmt_size(v as usize),
            Fmt::Plain => (v as u64).to_string(),
        }
    }
}

/// What a column shows of a cell; `usize` is the index of a metric (a
/// value of every run, see [`Sample`](crate::runner::Sample)).
#[derive(Debug, Clone, Copy)]
pub enum What {
    /// The point: a message size, a subscriber or peer count.
    Point,
    /// The runs' parameter (a message or roundtrip count); `-` in the table
    /// when no run succeeded.
    Count,
    /// Every run's value (JSON only).
    Runs(usize),
    /// The median over the runs.
    Median(usize),
    /// The smallest value of the runs.
    Min(usize),
    /// The largest value of the runs.
    Max(usize),
    /// The median over libzmq's median at the same point.
    Ratio(usize),
    /// Anything else the cell says.
    Calc(fn(&Cell) -> Option<f64>),
}

/// One column of a section's table and its JSON field.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// The header; empty for a JSON field the table leaves out.
    pub head: &'static str,
    /// The JSON field; `outer.inner` puts it into the object `outer`.
    pub key: &'static str,
    /// What it shows.
    pub what: What,
    /// How the table writes it.
    pub fmt: Fmt,
}

/// A [`Col`] (shorter to write in a table's description).
pub const fn col(head: &'static str, key: &'static str, what: What, fmt: Fmt) -> Col {
    Col {
        head,
        key,
        what,
        fmt,
    }
}

/// How a scenario's table shows its cells: a row per cell, `impl/runtime`
/// first.
#[derive(Debug)]
pub struct Table {
    /// The columns after `impl/runtime`, with their JSON fields.
    pub cols: &'static [Col],
    /// Who ran, in JSON: as `receiver` and `sender` (throughput), or as
    /// `impl` and `runtime`.
    pub pair: bool,
}

impl Table {
    /// The column headers.
    pub fn heads(&self) -> Vec<&'static str> {
        let heads = self.cols.iter().map(|c| c.head).filter(|h| !h.is_empty());
        std::iter::once("impl/runtime").chain(heads).collect()
    }

    /// One row per cell, text and JSON; the first median without a value
    /// shows the cell's status instead.
    pub fn rows(&self, cells: &[Cell]) -> Vec<TableRow> {
        cells.iter().map(|c| self.row(cells, c)).collect()
    }

    fn row(&self, cells: &[Cell], c: &Cell) -> TableRow {
        let mut text = vec![c.peer.label()];
        let mut obj = Map::new();
        obj.insert("label".into(), c.peer.label().into());
        if self.pair {
            obj.insert("receiver".into(), Value::Object(c.peer.json()));
            obj.insert("sender".into(), Value::Object(c.peer.json()));
        } else {
            obj.extend(c.peer.json());
        }
        let mut status = Some(c.status());
        for col in self.cols {
            let stat = |m, pick: fn(Summary) -> f64| c.stat(m).map(pick);
            let (shown, value) = match col.what {
                What::Point => (Some(c.point as f64), c.point.into()),
                What::Count => {
                    let shown = (!c.samples.is_empty()).then_some(c.param as f64);
                    (shown, c.param.into())
                }
                What::Runs(m) => (None, c.samples.iter().map(|s| num(s[m])).collect()),
                What::Median(m) => (stat(m, |s| s.median), opt_num(stat(m, |s| s.median))),
                What::Min(m) => (stat(m, |s| s.min), opt_num(stat(m, |s| s.min))),
                What::Max(m) => (stat(m, |s| s.max), opt_num(stat(m, |s| s.max))),
                What::Ratio(m) => {
                    let v = ratio(cells, c, m).map(|r| r.median);
                    (v, opt_num(v))
                }
                What::Calc(f) => (f(c), opt_num(f(c))),
            };
            if !col.head.is_empty() {
                let empty = match col.what {
                    What::Median(_) => status.take(),
                    _ => None,
                };
                text.push(shown.map_or(empty.unwrap_or("-").into(), |v| col.fmt.show(v)));
            }
            if !col.key.is_empty() {
                put(&mut obj, col.key, value);
            }
        }
        obj.insert("errors".into(), json!(c.errors));
        TableRow {
            group: c.point.to_string(),
            cells: text,
            json: Value::Object(obj),
        }
    }
}

/// Inserts `value` as `key` (`outer.inner`: into the object `outer`).
fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        Some((outer, inner)) => {
            if let Value::Object(o) = obj.entry(outer).or_insert_with(|| json!({})) {
                o.insert(inner.into(), value);
            }
        }
        None => {
            obj.insert(key.into(), value);
        }
    }
}

/// One table line, and the same result as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// Rows with another group than the row before get a blank line before
    /// them in the text table (the message size, say).
    pub group: String,
    /// One formatted cell per column.
    pub cells: Vec<String>,
    /// The result as one JSON object.
    pub json: Value,
}

/// A chart of a section, written to a file of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File name in the report directory (`throughput-tcp.svg`).
    pub file: String,
    /// Alternative text of the Markdown image.
    pub alt: String,
    /// The chart.
    pub chart: Chart,
}

/// One table of a report, with its charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Short identifier, the `id` in JSON (`tcp`).
    pub id: String,
    /// Markdown heading.
    pub title: String,
    /// One sentence on what the table shows.
    pub headline: String,
    /// The column headers: the first left-aligned, the others (numbers)
    /// right-aligned.
    pub columns: Vec<&'static str>,
    /// The rows.
    pub rows: Vec<TableRow>,
    /// One line per row that had errors: `label point: errors`.
    pub failures: Vec<String>,
    /// Charts, shown above the table.
    pub figures: Vec<Figure>,
    /// More fields of the section's JSON object (an object).
    pub json: Value,
}

impl Section {
    /// The table of `cells` as `table` shows them, with their failures
    /// (`point` names the points); heading, charts and JSON fields empty.
    pub fn of(table: &Table, cells: &[Cell], point: &dyn Fn(usize) -> String) -> Section {
        Section {
            id: String::new(),
            title: String::new(),
            headline: String::new(),
            columns: table.heads(),
            rows: table.rows(cells),
            failures: failures(cells, point),
            figures: Vec::new(),
            json: Value::Null,
        }
    }
}

/// What a scenario's report says besides its sections.
#[derive(Debug, Clone)]
pub struct About {
    /// File name stem (`throughput`).
    pub name: &'static str,
    /// Markdown title.
    pub title: &'static str,
    /// The `benchmark` field of the JSON report.
    pub benchmark: &'static str,
    /// Bullet points after the common ones (date, machine, libzmq).
    pub intro: Vec<String>,
    /// Top-level JSON fields after the common ones (`unit`, `settings`).
    pub json: Value,
}

/// A whole report: `<name>.md`, `<name>.json`, the figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// File name stem (`throughput`).
    pub name: String,
    /// Markdown title.
    pub title: String,
    /// Bullet points under the title (date, machine, method).
    pub intro: Vec<String>,
    /// Top-level JSON fields before `notes` and `sections`.
    pub json: Map<String, Value>,
    /// The sections.
    pub sections: Vec<Section>,
    /// Notes at the end.
    pub notes: Vec<String>,
}

impl Report {
    /// The report `about` says, run on `machine` in `elapsed`: the date,
    /// machine and libzmq version first, the total time last.
    pub fn new(
        about: About,
        machine: &Machine,
        elapsed: Duration,
        sections: Vec<Section>,
        notes: Vec<String>,
    ) -> Report {
        let libzmq = monocoque_bench::libzmq_version();
        let mut intro = vec![
            format!("date: {}", machine.date),
            format!("machine: {}", machine.summary()),
            format!(
                "libzmq: {} (vendored, via the `zmq` crate)",
                libzmq.as_deref().unwrap_or("not built in")
            ),
        ];
        intro.extend(about.intro);
        intro.push(format!("total time: {:.0} s", elapsed.as_secs_f64()));
        let Value::Object(mut json) = json!({
            "benchmark": about.benchmark,
            "unix_time": machine.unix_time,
            "date": machine.date,
            "machine": {"cpu": machine.cpu, "cores": machine.cores, "kernel": machine.kernel},
            "libzmq_version": libzmq,
        }) else {
            unreachable!("an object literal")
        };
        if let Value::Object(more) = about.json {
            json.extend(more);
        }
        json.insert("elapsed_secs".into(), num(elapsed.as_secs_f64()));
        Report {
            name: about.name.into(),
            title: about.title.into(),
            intro,
            json,
            sections,
            notes,
        }
    }

    /// The text tables for stdout: per section its headline, the aligned
    /// table, and a `! ...` line per failure.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.sections.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", s.headline);
            out.push_str(&text_table(s));
            for f in &s.failures {
                let _ = writeln!(out, "! {f}");
            }
        }
        out
    }

    /// The Markdown report: title, introduction, per section a heading, the
    /// headline, the charts and the table, then the notes.
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title);
        for line in &self.intro {
            let _ = writeln!(out, "- {line}");
        }
        for s in &self.sections {
            let _ = write!(out, "\n## {}\n\n{}.\n\n", s.title, s.headline);
            for f in &s.figures {
                let _ = writeln!(out, "![{}]({})\n", f.alt.replace(['[', ']'], ""), f.file);
            }
            let _ = writeln!(out, "| {} |", s.columns.join(" | "));
            let _ = writeln!(out, "|---{}|", "|---:".repeat(s.columns.len() - 1));
            for row in &s.rows {
                let cells: Vec<String> = row.cells.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            if !s.failures.is_empty() {
                out.push_str("\nFailures:\n\n");
                for f in &s.failures {
                    let _ = writeln!(out, "- {}", f.replace('|', "\\|"));
                }
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }

    /// The JSON report: the top-level fields, the notes, and per section
    /// its id, title, headline, own fields, charts and `results` (one
    /// object per row).
    pub fn json(&self) -> String {
        let sections = (self.sections.iter()).map(|s| {
            let mut obj = json!({"id": s.id, "title": s.title, "headline": s.headline});
            if let (Value::Object(obj), Value::Object(more)) = (&mut obj, &s.json) {
                obj.extend(more.clone());
                let charts = s.figures.iter().map(|f| f.file.clone()).collect();
                obj.insert("charts".into(), charts);
                let results = s.rows.iter().map(|r| r.json.clone()).collect();
                obj.insert("results".into(), results);
            }
            obj
        });
        let mut all = self.json.clone();
        all.insert("notes".into(), json!(self.notes));
        all.insert("sections".into(), sections.collect());
        let text = serde_json::to_string_pretty(&all).unwrap_or_default();
        text + "\n"
    }

    /// Writes `<name>.md`, `<name>.json` and every figure into `dir`
    /// (created if needed); returns the names of the files written.
    pub fn write(&self, dir: &Path) -> Result<Vec<String>, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut files = vec![
            (format!("{}.md", self.name), self.markdown()),
            (format!("{}.json", self.name), self.json()),
        ];
        for s in &self.sections {
            for f in &s.figures {
                files.push((f.file.clone(), f.chart.to_svg()));
            }
        }
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(&name);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(name);
        }
        Ok(written)
    }
}

/// A section's rows as an aligned text table with a header and a rule.
fn text_table(s: &Section) -> String {
    let mut widths: Vec<usize> = s.columns.iter().map(|c| c.chars().count()).collect();
    for row in &s.rows {
        for (w, cell) in widths.iter_mut().zip(&row.cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            let _ = match i {
                0 => write!(out, "{cell:<w$}"),
                _ => write!(out, "  {cell:>w$}"),
            };
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut s.columns.iter().copied(), &mut out);
    let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    let mut last_group: Option<&str> = None;
    for row in &s.rows {
        if last_group.is_some_and(|g| g != row.group) {
            out.push('\n');
        }
        last_group = Some(&row.group);
        line(&mut row.cells.iter().map(String::as_str), &mut out);
    }
    out
}

/// Metric `m` of `cell` over libzmq's median at the same point: the
/// median, min and max as multiples of it.
pub fn ratio(cells: &[Cell], cell: &Cell, m: usize) -> Option<Summary> {
    let base = (cells.iter())
        .find(|c| c.point == cell.point && c.peer == Peer::Libzmq)
        .and_then(|c| c.stat(m))
        .map(|s| s.median)
        .filter(|&b| b > 0.0)?;
    let s = cell.stat(m)?;
    Some(Summary {
        median: s.median / base,
        min: s.min / base,
        max: s.max / base,
    })
}

/// One line per cell that had failures, for a report's Failures list:
/// `<label> <point>: <errors>`.
pub fn failures(cells: &[Cell], point: &dyn Fn(usize) -> String) -> Vec<String> {
    (cells.iter())
        .filter(|c| !c.errors.is_empty())
        .map(|c| {
            let errors = c.errors.join("; ");
            format!("{} {}: {errors}", c.peer.label(), point(c.point))
        })
        .collect()
}

/// A JSON number rounded to three decimals (a whole number as such);
/// `null` when not finite.
pub fn num(v: f64) -> Value {
    let v = (v * 1000.0).round() / 1000.0;
    match v {
        v if !v.is_finite() => Value::Null,
        v if v.fract() == 0.0 && v.abs() < 1e15 => json!(v as i64),
        v => json!(v),
    }
}

/// [`num`], or `null` when absent.
pub fn opt_num(v: Option<f64>) -> Value {
    v.map_or(Value::Null, num)
}

/// What a panel's bars show of each cell: the median (bar) and min to max
/// (whisker) of a metric over the runs, the same in percent, or over
/// libzmq's median ([`ratio`]).
#[derive(Debug, Clone, Copy)]
pub enum Bars {
    /// The metric itself.
    Stat(usize),
    /// The metric (a share) in percent.
    Pct(usize),
    /// The metric over libzmq's median.
    Ratio(usize),
}

impl Bars {
    /// What this makes of `cell`, one of `cells`.
    fn of(self, cells: &[Cell], cell: &Cell) -> Option<Summary> {
        match self {
            Bars::Stat(m) => cell.stat(m),
            Bars::Pct(m) => cell.stat(m).map(|s| Summary {
                median: s.median * 100.0,
                min: s.min * 100.0,
                max: s.max * 100.0,
            }),
            Bars::Ratio(m) => ratio(cells, cell, m),
        }
    }

    /// Whether these bars of `cells` span more than a factor of 8 (their
    /// min and max): the point where a chart switches to a log scale.
    pub fn wide(self, cells: &[Cell]) -> bool {
        let (lo, hi) = (cells.iter())
            .filter_map(|c| self.of(cells, c))
            .flat_map(|s| [s.min, s.max])
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        hi / lo > 8.0
    }
}

/// The panel of metric `m` over libzmq's median, with a dashed line at 1 and
/// a log scale when the ratios are [wide](Bars::wide); none without libzmq.
pub fn ratio_panel(cells: &[Cell], m: usize) -> Option<(Panel, Bars)> {
    cells.iter().find(|c| c.peer == Peer::Libzmq)?;
    let log = Bars::Ratio(m).wide(cells);
    let title = format!(
        "Ratio to libzmq's median{} (above 1: faster than libzmq)",
        if log { ", log scale" } else { "" }
    );
    let panel = Panel {
        log,
        reference: Some((1.0, "libzmq".into())),
        base: Some(1.0),
        ..Panel::new(&title, "x libzmq", "x libzmq")
    };
    Some((panel, Bars::Ratio(m)))
}

/// A grouped bar chart of `cells`: a group per point (`point` names it), a
/// bar per implementation in its colour, a panel per `(panel, bars)`.
pub fn chart(
    cells: &[Cell],
    (title, subtitle, x_label): (String, String, &str),
    point: &dyn Fn(usize) -> String,
    panels: Vec<(Panel, Bars)>,
) -> Chart {
    let (mut points, mut peers) = (Vec::new(), Vec::new());
    for c in cells {
        if !points.contains(&c.point) {
            points.push(c.point);
        }
        if !peers.contains(&c.peer) {
            peers.push(c.peer);
        }
    }
    let bars = |what: Bars| -> Vec<Vec<Option<Bar>>> {
        (peers.iter())
            .map(|&peer| {
                (points.iter())
                    .map(|&p| {
                        let cell = cells.iter().find(|c| c.peer == peer && c.point == p)?;
                        what.of(cells, cell)
                            .map(|v| Bar::new(v.median, v.min, v.max))
                    })
                    .collect()
            })
            .collect()
    };
    Chart {
        title,
        subtitle,
        x_label: x_label.into(),
        categories: points.iter().map(|&p| point(p)).collect(),
        series: (peers.iter())
            .map(|p| Series {
                name: p.label(),
                color: p.color().into(),
            })
            .collect(),
        panels: (panels.into_iter())
            .map(|(panel, what)| Panel {
                bars: bars(what),
                ..panel
            })
            .collect(),
    }
}

/// `64 B`, `1 KiB`, `1 MiB`.
pub fn fmt_size(size: usize) -> String {
    if size >= 1 << 20 && size.is_multiple_of(1 << 20) {
        format!("{} MiB", size >> 20)
    } else if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// Rounds and groups thousands (indicatif's `HumanCount`): 1234567.8 ->
/// "1,234,568".
pub fn fmt_int(v: f64) -> String {
    indicatif::HumanCount(v.max(0.0).round() as u64).to_string()
}

#[cfg(test)]
pub mod tests {
    //! Checks of the reports, and cells for the scenarios' tests.

    use super::*;
    use monocoque_bench::args::Runtime;

    /// A cell of `peer` at `point` whose runs gave `samples`.
    pub fn cell(peer: Peer, point: usize, samples: &[&[f64]]) -> Cell {
        Cell {
            peer,
            point,
            param: 1000,
            samples: samples.iter().map(|s| s.to_vec()).collect(),
            errors: Vec::new(),
            skipped: false,
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(0.4), "0");
        assert_eq!(fmt_int(1234567.8), "1,234,568");
        assert_eq!(fmt_size(64), "64 B");
        assert_eq!(fmt_size(65536), "64 KiB");
        assert_eq!(fmt_size(1 << 20), "1 MiB");
        assert_eq!(fmt_size(1536 * 1024), "1536 KiB");
        assert_eq!(
            [Fmt::Pct, Fmt::Times].map(|f| f.show(0.9)),
            ["90.0%", "0.90x"]
        );
        assert_eq!(num(f64::NAN), Value::Null);
        assert_eq!(num(2.0 / 3.0), json!(0.667));
        assert_eq!(num(3.0).to_string(), "3");
    }

    const COLS: &[Col] = &[
        col("size", "size", What::Point, Fmt::Size),
        col("", "runs", What::Runs(0), Fmt::Int),
        col("msg/s", "median", What::Median(0), Fmt::Int),
        col("max", "max", What::Max(0), Fmt::Int),
        col("p", "ratio.p", What::Ratio(0), Fmt::Times),
    ];

    fn section(id: &str) -> Section {
        let ours = Peer::Monocoque(Runtime::Tokio);
        let mut failed = cell(ours, 1024, &[]);
        failed.errors.push("boom".into());
        let cells = vec![
            cell(Peer::Libzmq, 64, &[&[1000.0], &[3000.0]]),
            cell(ours, 64, &[&[4000.0]]),
            failed,
        ];
        let heading = ("t".into(), String::new(), "size");
        let panels = vec![(Panel::new("p", "y", "msg/s"), Bars::Stat(0))];
        let table = Table {
            cols: COLS,
            pair: false,
        };
        Section {
            id: id.into(),
            title: format!("section {id}"),
            headline: format!("what {id} shows"),
            figures: vec![Figure {
                file: format!("{id}.svg"),
                alt: "a chart".into(),
                chart: chart(&cells, heading, &fmt_size, panels),
            }],
            json: json!({"transport": "tcp"}),
            ..Section::of(&table, &cells, &fmt_size)
        }
    }

    fn report() -> Report {
        let about = About {
            name: "thr",
            title: "a title",
            benchmark: "x",
            intro: vec!["a line".into()],
            json: json!({"settings": {"runs": 1}}),
        };
        let sections = vec![section("tcp"), section("ipc")];
        let notes = vec!["a note".into()];
        Report::new(about, &Machine::detect(), Duration::ZERO, sections, notes)
    }

    #[test]
    fn rows_from_the_columns() {
        let s = section("tcp");
        assert_eq!(s.columns, ["impl/runtime", "size", "msg/s", "max", "p"]);
        let cells: Vec<&[String]> = s.rows.iter().map(|r| &r.cells[..]).collect();
        assert_eq!(cells[0], ["libzmq", "64 B", "2,000", "3,000", "1.00x"]);
        assert_eq!(
            cells[1],
            ["monocoque/tokio", "64 B", "4,000", "4,000", "2.00x"]
        );
        assert_eq!(cells[2], ["monocoque/tokio", "1 KiB", "failed", "-", "-"]);
        assert_eq!(
            s.rows[1].json,
            json!({"label": "monocoque/tokio", "impl": "monocoque", "runtime": "tokio", "size": 64,
                "runs": [4000], "median": 4000, "max": 4000, "ratio": {"p": 2}, "errors": []})
        );
        assert_eq!(s.failures, ["monocoque/tokio 1 KiB: boom"]);
        let chart = &s.figures[0].chart;
        assert_eq!(chart.categories, ["64 B", "1 KiB"]);
        let b = chart.panels[0].bars[0][0].unwrap();
        assert_eq!((b.value, b.low, b.high), (2000.0, 1000.0, 3000.0));
        assert_eq!(crate::chart::tests::check_svg(&chart.to_svg()), 2);
        let wide = [
            cell(Peer::Libzmq, 64, &[&[10.0]]),
            cell(Peer::Raw, 64, &[&[90.0]]),
        ];
        assert!(ratio_panel(&wide, 0).is_some_and(|(p, _)| p.log && p.title.contains("log")));
        assert!(!Bars::Stat(0).wide(&wide[..1]) && ratio_panel(&wide[1..], 0).is_none());
    }

    #[test]
    fn tables_and_markdown() {
        let r = report();
        let table = r.table();
        let want = "what tcp shows
impl/runtime      size   msg/s    max      p
--------------------------------------------
libzmq            64 B   2,000  3,000  1.00x
monocoque/tokio   64 B   4,000  4,000  2.00x

monocoque/tokio  1 KiB  failed      -      -
! monocoque/tokio 1 KiB: boom

what ipc shows
";
        assert!(table.starts_with(want), "{table}");
        let md = r.markdown();
        assert!(md.starts_with("# a title\n\n- date: "), "{md}");
        assert!(md.contains("- a line\n- total time: 0 s\n\n## section tcp\n\nwhat tcp shows.\n\n![a chart](tcp.svg)\n\n| impl/runtime | size | msg/s | max | p |\n|---|---:|---:|---:|---:|\n| libzmq | 64 B |"), "{md}");
        assert!(
            md.contains("\nFailures:\n\n- monocoque/tokio 1 KiB: boom\n"),
            "{md}"
        );
        assert!(md.ends_with("## Notes\n\n- a note\n"), "{md}");
    }

    #[test]
    fn json_report_and_files() {
        let json: Value = serde_json::from_str(&report().json()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let want =
            "benchmark unix_time date machine libzmq_version settings elapsed_secs notes sections";
        assert_eq!(keys.join(" "), want);
        assert_eq!(json["notes"], json!(["a note"]));
        let tcp = &json["sections"][0];
        assert_eq!(
            (tcp["id"].as_str(), tcp["transport"].as_str()),
            (Some("tcp"), Some("tcp"))
        );
        assert_eq!(tcp["results"][0]["median"], 2000);
        assert_eq!(json["sections"][1]["charts"], json!(["ipc.svg"]));
        let dir = std::env::temp_dir().join(format!("compare-report-test-{}", std::process::id()));
        let names = report().write(&dir).unwrap();
        assert_eq!(names, ["thr.md", "thr.json", "tcp.svg", "ipc.svg"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
