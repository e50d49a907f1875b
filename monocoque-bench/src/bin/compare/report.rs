//! Reports: a [`Report`] is a title, an introduction and [`Section`]s, each
//! section a table (title, [`Column`]s, [`TableRow`]s, failures) with its
//! [`Figure`]s (SVG charts). One report becomes a text table on stdout
//! ([`Report::table`]) and `<name>.md`, `<name>.json` and the charts' SVG
//! files in the report directory ([`Report::write`]). A scenario only has to
//! turn its results into sections; also the number formatting shared by the
//! scenarios.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::chart::Chart;
use crate::machine::{Machine, utc_string};

/// A table column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The header.
    pub name: String,
    /// Numbers: right-aligned.
    pub numeric: bool,
}

impl Column {
    /// A left-aligned text column.
    pub fn text(name: &str) -> Column {
        Column {
            name: name.into(),
            numeric: false,
        }
    }

    /// A right-aligned number column.
    pub fn num(name: &str) -> Column {
        Column {
            name: name.into(),
            numeric: true,
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
    pub json: String,
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
    /// More fields of the section's JSON object: (key, JSON value).
    pub json_fields: Vec<(String, String)>,
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
    /// Top-level JSON fields before `sections`: (key, JSON value).
    pub json_fields: Vec<(String, String)>,
    /// The sections.
    pub sections: Vec<Section>,
    /// Notes at the end.
    pub notes: Vec<String>,
}

impl Report {
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
            let header: Vec<&str> = s.columns.iter().map(|c| c.name.as_str()).collect();
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
    /// its id, title, headline, own fields and `results` (one object per
    /// row).
    pub fn json(&self) -> String {
        let mut out = String::from("{\n");
        for (k, v) in &self.json_fields {
            let _ = writeln!(out, "  {}: {v},", json_str(k));
        }
        let notes: Vec<String> = self.notes.iter().map(|n| json_str(n)).collect();
        let _ = writeln!(out, "  \"notes\": [{}],", notes.join(", "));
        out.push_str("  \"sections\": [");
        for (i, s) in self.sections.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            let _ = writeln!(out, "    {{");
            let _ = writeln!(out, "      \"id\": {},", json_str(&s.id));
            let _ = writeln!(out, "      \"title\": {},", json_str(&s.title));
            let _ = writeln!(out, "      \"headline\": {},", json_str(&s.headline));
            for (k, v) in &s.json_fields {
                let _ = writeln!(out, "      {}: {v},", json_str(k));
            }
            let charts: Vec<String> = s.figures.iter().map(|f| json_str(&f.file)).collect();
            let _ = writeln!(out, "      \"charts\": [{}],", charts.join(", "));
            out.push_str("      \"results\": [");
            for (j, row) in s.rows.iter().enumerate() {
                out.push_str(if j == 0 { "\n" } else { ",\n" });
                let _ = write!(out, "        {}", row.json);
            }
            out.push_str(if s.rows.is_empty() {
                "]\n"
            } else {
                "\n      ]\n"
            });
            out.push_str("    }");
        }
        out.push_str(if self.sections.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out
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
            let pad = w.saturating_sub(cell.chars().count());
            if col.numeric {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut s.columns.iter().map(|c| c.name.as_str()), &mut out);
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

/// The JSON fields every report starts with: benchmark name, date, machine,
/// libzmq version.
pub fn common_json_fields(benchmark: &str, machine: &Machine) -> Vec<(String, String)> {
    vec![
        ("benchmark".into(), json_str(benchmark)),
        ("unix_time".into(), machine.unix_time.to_string()),
        ("date".into(), json_str(&utc_string(machine.unix_time))),
        (
            "machine".into(),
            format!(
                "{{\"cpu\": {}, \"cores\": {}, \"kernel\": {}}}",
                json_str(&machine.cpu),
                machine.cores,
                json_str(&machine.kernel)
            ),
        ),
        (
            "libzmq_version".into(),
            monocoque_bench::libzmq_version().map_or("null".into(), |v| json_str(&v)),
        ),
    ]
}

/// The bullet points every report starts with: date, machine, libzmq.
pub fn common_intro(machine: &Machine) -> Vec<String> {
    vec![
        format!("date: {}", utc_string(machine.unix_time)),
        format!("machine: {}", machine.summary()),
        format!(
            "libzmq: {} (vendored, via the `zmq` crate)",
            monocoque_bench::libzmq_version().unwrap_or_else(|| "not built in".into())
        ),
    ]
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

/// Rounds and groups thousands: 1234567.8 -> "1,234,568".
pub fn fmt_int(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number with three decimals, or `null` when absent or not finite.
pub fn json_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Bar, Panel, Series};

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
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(json_num(Some(f64::NAN)), "null");
    }

    fn section(id: &str, rows: usize) -> Section {
        Section {
            id: id.into(),
            title: format!("section {id}"),
            headline: format!("what {id} shows"),
            columns: vec![Column::text("impl"), Column::num("msg/s")],
            rows: (0..rows)
                .map(|i| TableRow {
                    group: (i / 2).to_string(),
                    cells: vec![format!("impl{i}"), fmt_int(1000.0 * i as f64)],
                    json: format!("{{\"i\": {i}}}"),
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
                chart: Chart {
                    title: "t".into(),
                    subtitle: String::new(),
                    x_label: "size".into(),
                    categories: vec!["64 B".into()],
                    series: vec![Series {
                        name: "impl0".into(),
                        color: "#000000".into(),
                    }],
                    panels: vec![Panel {
                        title: "p".into(),
                        y_label: "y".into(),
                        unit: "msg/s".into(),
                        log: false,
                        reference: None,
                        base: None,
                        bars: vec![vec![Some(Bar::new(1.0, 1.0, 1.0))]],
                    }],
                },
            }],
            json_fields: vec![("transport".into(), json_str("tcp"))],
        }
    }

    fn report() -> Report {
        Report {
            name: "thr".into(),
            title: "a title".into(),
            intro: vec!["date: today".into()],
            json_fields: vec![("benchmark".into(), json_str("x"))],
            sections: vec![section("tcp", 3), section("ipc", 0)],
            notes: vec!["a note".into()],
        }
    }

    #[test]
    fn tables_and_markdown() {
        let r = report();
        let table = r.table();
        assert!(table.starts_with("what tcp shows\nimpl   msg/s\n------------\nimpl0      0\nimpl1  1,000\n\nimpl2  2,000\n! impl2 64 B: boom\n\nwhat ipc shows\n"), "{table}");
        let md = r.markdown();
        assert!(md.starts_with("# a title\n\n- date: today\n\n## section tcp\n\nwhat tcp shows.\n\n![a chart](tcp.svg)\n\n| impl | msg/s |\n|---|---:|\n| impl0 | 0 |\n"), "{md}");
        assert!(md.contains("\nFailures:\n\n- impl2 64 B: boom\n"), "{md}");
        assert!(md.ends_with("## Notes\n\n- a note\n"), "{md}");
    }

    #[test]
    fn json_is_balanced() {
        let json = report().json();
        assert!(
            json.contains("\"results\": [\n        {\"i\": 0},\n        {\"i\": 1},"),
            "{json}"
        );
        assert!(json.contains("\"transport\": \"tcp\","), "{json}");
        assert!(
            json.contains("\"charts\": [\"ipc.svg\"],\n      \"results\": []\n"),
            "{json}"
        );
        let mut depth = 0i32;
        let mut in_str = false;
        let mut escaped = false;
        for c in json.chars() {
            match (in_str, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') => in_str = false,
                (false, _, '"') => in_str = true,
                (false, _, '{' | '[') => depth += 1,
                (false, _, '}' | ']') => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "{json}");
        }
        assert_eq!(depth, 0, "{json}");
        assert!(!json.contains(",\n  ]") && !json.contains(",\n}"), "{json}");
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
