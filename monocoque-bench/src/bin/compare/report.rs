//! Reports: a [`Report`] is a title, an introduction and [`Section`]s, each
//! section a table (title, [`Column`]s, [`TableRow`]s, failures) with its
//! [`Figure`]s (SVG charts). One report becomes a text table on stdout
//! ([`Report::table`]) and `<name>.md`, `<name>.json` (serde_json) and the
//! charts' SVG files in the report directory ([`Report::write`]). A
//! scenario only has to turn its results into sections, with the helpers
//! here: statistics over a cell's runs ([`stat`], [`ratio`]), its status,
//! the chart of a set of cells ([`chart`]) and the number formatting the
//! scenarios share.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use monocoque_bench::stats::{Summary, summarize};
use serde_json::{Map, Value, json};

use crate::chart::{Bar, Chart, Panel, Series};
use crate::machine::{Machine, utc_string};
use crate::peers::Contender;
use crate::runner::Cell;

/// Whether this `compare` was built with optimisations (in every report's
/// settings).
pub const OPTIMIZED: bool = !cfg!(debug_assertions);

/// A table column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The header.
    pub name: &'static str,
    /// Numbers: right-aligned.
    pub numeric: bool,
}

/// Left-aligned text columns named `first`, then right-aligned number
/// columns named `rest`.
pub fn columns(first: &'static str, rest: &[&'static str]) -> Vec<Column> {
    let text = Column {
        name: first,
        numeric: false,
    };
    let nums = rest.iter().map(|&name| Column {
        name,
        numeric: true,
    });
    std::iter::once(text).chain(nums).collect()
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
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<TableRow>,
    /// One line per row that had errors: `label size: errors`.
    pub failures: Vec<String>,
    /// Charts, shown above the table.
    pub figures: Vec<Figure>,
    /// More fields of the section's JSON object.
    pub json: Map<String, Value>,
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
        let date = utc_string(machine.unix_time);
        let mut intro = vec![
            format!("date: {date}"),
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
            "date": date,
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
            let header: Vec<&str> = s.columns.iter().map(|c| c.name).collect();
            let _ = writeln!(out, "| {} |", header.join(" | "));
            let align: Vec<&str> = (s.columns.iter())
                .map(|c| if c.numeric { "---:" } else { "---" })
                .collect();
            let _ = writeln!(out, "|{}|", align.join("|"));
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
            if let Value::Object(obj) = &mut obj {
                obj.extend(s.json.clone());
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
    /// (created if needed); returns the paths written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
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
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// A section's rows as an aligned text table with a header and a rule.
fn text_table(s: &Section) -> String {
    let mut widths: Vec<usize> = s.columns.iter().map(|c| c.name.chars().count()).collect();
    for row in &s.rows {
        for (w, cell) in widths.iter_mut().zip(&row.cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        for (i, ((cell, w), col)) in cells.zip(&widths).zip(&s.columns).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let _ = if col.numeric {
                write!(out, "{cell:>w$}")
            } else {
                write!(out, "{cell:<w$}")
            };
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut s.columns.iter().map(|c| c.name), &mut out);
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

/// Median, min and max over a cell's runs of `f` of each run; `None`
/// without runs, or when a value is NaN.
pub fn stat<S, R>(cell: &Cell<S, R>, f: impl Fn(&R) -> f64) -> Option<Summary> {
    let values: Vec<f64> = cell.samples.iter().map(f).collect();
    summarize(&values)
}

/// [`stat`] over libzmq's median at the same point (libzmq's cell is the
/// baseline's): the median, min and max as multiples of it.
pub fn ratio<S: Contender, R>(
    cells: &[Cell<S, R>],
    cell: &Cell<S, R>,
    f: impl Fn(&R) -> f64 + Copy,
) -> Option<Summary> {
    let base = (cells.iter())
        .find(|c| c.size == cell.size && c.series.is_baseline())
        .and_then(|c| stat(c, f))
        .map(|s| s.median)
        .filter(|&b| b > 0.0)?;
    let s = stat(cell, f)?;
    Some(Summary {
        median: s.median / base,
        min: s.min / base,
        max: s.max / base,
    })
}

/// What a table shows for a cell without results: `failed`, `skipped`
/// (given up) or `-`.
pub fn status<S, R>(cell: &Cell<S, R>) -> &'static str {
    if !cell.errors.is_empty() {
        "failed"
    } else if cell.skipped {
        "skipped"
    } else {
        "-"
    }
}

/// The fields every JSON result starts with: the series (`label`, who ran)
/// and the point (`size`, or `point_key` for a scenario whose point is
/// something else), then `more`, then the cell's `errors`.
pub fn result_json<S: Contender, R>(cell: &Cell<S, R>, point_key: &str, more: Value) -> Value {
    let mut obj = Map::new();
    obj.insert("label".into(), cell.series.label().into());
    obj.extend(cell.series.json());
    obj.insert(point_key.into(), cell.size.into());
    if let Value::Object(more) = more {
        obj.extend(more);
    }
    obj.insert("errors".into(), json!(cell.errors));
    Value::Object(obj)
}

/// A JSON number with three decimals; `null` when not finite.
pub fn num(v: f64) -> Value {
    if v.is_finite() {
        json!((v * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

/// [`num`] of each run's `f`.
pub fn nums<S, R>(cell: &Cell<S, R>, f: impl Fn(&R) -> f64) -> Value {
    cell.samples.iter().map(|r| num(f(r))).collect()
}

/// [`num`], or `null` when absent.
pub fn opt_num(v: Option<f64>) -> Value {
    v.map_or(Value::Null, num)
}

/// One panel's bars: for every series, at every point, the [`Summary`]
/// that `value` makes of its cell, as a bar with its whisker.
pub type Values<'a, S, R> = &'a dyn Fn(&Cell<S, R>) -> Option<Summary>;

/// A grouped bar chart of `cells`: a group per point (`point_label` names
/// it), a bar per series in its colour, a panel per `(panel, values)`
/// whose bars `values` makes.
pub fn chart<S: Contender, R>(
    cells: &[Cell<S, R>],
    (title, subtitle, x_label): (String, String, &str),
    point_label: fn(usize) -> String,
    panels: Vec<(Panel, Values<'_, S, R>)>,
) -> Chart {
    let mut points = Vec::new();
    let mut series = Vec::new();
    for c in cells {
        if !points.contains(&c.size) {
            points.push(c.size);
        }
        if !series.contains(&c.series) {
            series.push(c.series);
        }
    }
    let bars = |values: Values<'_, S, R>| -> Vec<Vec<Option<Bar>>> {
        (series.iter())
            .map(|&s| {
                (points.iter())
                    .map(|&p| {
                        let cell = cells.iter().find(|c| c.series == s && c.size == p)?;
                        values(cell).map(|v| Bar::new(v.median, v.min, v.max))
                    })
                    .collect()
            })
            .collect()
    };
    Chart {
        title,
        subtitle,
        x_label: x_label.into(),
        categories: points.iter().map(|&p| point_label(p)).collect(),
        series: (series.iter())
            .map(|s| Series {
                name: s.label(),
                color: s.color().into(),
            })
            .collect(),
        panels: (panels.into_iter())
            .map(|(panel, values)| Panel {
                bars: bars(values),
                ..panel
            })
            .collect(),
    }
}

/// Whether `values` (their min and max) span more than a factor of 8: the
/// point where a chart switches to a log scale.
pub fn wide(values: impl IntoIterator<Item = Summary>) -> bool {
    let (lo, hi) = (values.into_iter())
        .flat_map(|s| [s.min, s.max])
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    hi / lo > 8.0
}

/// The line under a chart's title: machine, date, what bars and whiskers are.
pub fn chart_subtitle(m: &Machine, runs: usize) -> String {
    format!(
        "{}, {} cores, {}; bar: median of {runs} run(s), whisker: min to max",
        m.cpu,
        m.cores,
        &utc_string(m.unix_time)[..10]
    )
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

/// [`fmt_int`], or `-` when absent.
pub fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), fmt_int)
}

/// A ratio: `2.00x`, or `-` when absent.
pub fn fmt_ratio(v: Option<f64>) -> String {
    v.map_or("-".into(), |r| format!("{r:.2}x"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Panel;

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(0.4), "0");
        assert_eq!(fmt_int(999.0), "999");
        assert_eq!(fmt_int(1000.0), "1,000");
        assert_eq!(fmt_int(1234567.8), "1,234,568");
        assert_eq!(fmt_size(64), "64 B");
        assert_eq!(fmt_size(65536), "64 KiB");
        assert_eq!(fmt_size(1 << 20), "1 MiB");
        assert_eq!(fmt_size(1536 * 1024), "1536 KiB");
        assert_eq!(num(f64::NAN), Value::Null);
        assert_eq!(num(2.0 / 3.0), json!(0.667));
        assert_eq!(
            (fmt_opt(None), fmt_ratio(Some(2.0))),
            ("-".into(), "2.00x".into())
        );
        let s = |min, max| Summary {
            median: min,
            min,
            max,
        };
        assert!(wide([s(1.0, 2.0), s(4.0, 9.0)]) && !wide([s(1.0, 8.0)]) && !wide([]));
    }

    fn section(id: &str, rows: usize) -> Section {
        let chart = Chart {
            title: "t".into(),
            subtitle: String::new(),
            x_label: "size".into(),
            categories: vec!["64 B".into()],
            series: vec![Series {
                name: "impl0".into(),
                color: "#000000".into(),
            }],
            panels: vec![Panel {
                bars: vec![vec![Some(Bar::new(1.0, 1.0, 1.0))]],
                ..Panel::new("p", "y", "msg/s")
            }],
        };
        Section {
            id: id.into(),
            title: format!("section {id}"),
            headline: format!("what {id} shows"),
            columns: columns("impl", &["msg/s"]),
            rows: (0..rows)
                .map(|i| TableRow {
                    group: (i / 2).to_string(),
                    cells: vec![format!("impl{i}"), fmt_int(1000.0 * i as f64)],
                    json: json!({"i": i}),
                })
                .collect(),
            failures: if rows > 2 {
                vec!["impl2 64 B: boom".into()]
            } else {
                Vec::new()
            },
            figures: vec![Figure {
                file: format!("{id}.svg"),
                alt: "a chart".into(),
                chart,
            }],
            json: json!({"transport": "tcp"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
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
        let sections = vec![section("tcp", 3), section("ipc", 0)];
        let machine = Machine::detect();
        Report::new(
            about,
            &machine,
            Duration::ZERO,
            sections,
            vec!["a note".into()],
        )
    }

    #[test]
    fn tables_and_markdown() {
        let r = report();
        let table = r.table();
        assert!(table.starts_with("what tcp shows\nimpl   msg/s\n------------\nimpl0      0\nimpl1  1,000\n\nimpl2  2,000\n! impl2 64 B: boom\n\nwhat ipc shows\n"), "{table}");
        let md = r.markdown();
        assert!(md.starts_with("# a title\n\n- date: "), "{md}");
        assert!(md.contains("- a line\n- total time: 0 s\n\n## section tcp\n\nwhat tcp shows.\n\n![a chart](tcp.svg)\n\n| impl | msg/s |\n|---|---:|\n| impl0 | 0 |\n"), "{md}");
        assert!(md.contains("\nFailures:\n\n- impl2 64 B: boom\n"), "{md}");
        assert!(md.ends_with("## Notes\n\n- a note\n"), "{md}");
    }

    #[test]
    fn json_report() {
        let json: Value = serde_json::from_str(&report().json()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "benchmark",
                "unix_time",
                "date",
                "machine",
                "libzmq_version",
                "settings",
                "elapsed_secs",
                "notes",
                "sections"
            ]
        );
        assert_eq!(json["settings"]["runs"], 1);
        assert_eq!(json["notes"], json!(["a note"]));
        let tcp = &json["sections"][0];
        assert_eq!(
            (tcp["id"].as_str(), tcp["transport"].as_str()),
            (Some("tcp"), Some("tcp"))
        );
        assert_eq!(tcp["results"], json!([{"i": 0}, {"i": 1}, {"i": 2}]));
        assert_eq!(json["sections"][1]["charts"], json!(["ipc.svg"]));
        assert_eq!(json["sections"][1]["results"], json!([]));
    }

    #[test]
    fn writes_every_file() {
        let dir = std::env::temp_dir().join(format!("compare-report-test-{}", std::process::id()));
        let written = report().write(&dir).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["thr.md", "thr.json", "tcp.svg", "ipc.svg"]);
        let svg = std::fs::read_to_string(dir.join("tcp.svg")).unwrap();
        assert_eq!(crate::chart::tests::check_svg(&svg), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
