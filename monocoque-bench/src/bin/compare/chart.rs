//! Grouped bar charts as standalone SVG 1.1 text.
//!
//! A [`Chart`] has a title, categories along x (message sizes, say), one
//! [`Series`] per implementation in a fixed colour with a legend, and one or
//! more [`Panel`]s stacked vertically that share those: each with its own y
//! axis (linear or log, ticks, grid, label), an optional dashed reference
//! line, and per bar a value with a min–max whisker. Every bar is one
//! `<rect class="bar">` carrying a `<title>` tooltip; a missing value is a
//! small `×` on the axis.

use std::fmt::Write as _;

/// Width of every chart, in pixels.
const WIDTH: f64 = 900.0;
/// Left margin: y tick labels and the y axis label.
const LEFT: f64 = 84.0;
/// Right margin: the reference line's label.
const RIGHT: f64 = 58.0;
/// Height of a panel's plot area.
const PLOT_HEIGHT: f64 = 250.0;
/// Font size of most text.
const FONT: f64 = 12.0;
/// Estimated width of one character at [`FONT`], for the legend layout.
const CHAR_WIDTH: f64 = 6.9;

/// One implementation: a bar in every group, a legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend text.
    pub name: String,
    /// Fill colour, `#rrggbb`.
    pub color: String,
}

/// One bar: its height and its whisker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// The bar's value (a median, say).
    pub value: f64,
    /// Bottom of the whisker (the smallest sample).
    pub low: f64,
    /// Top of the whisker (the largest sample).
    pub high: f64,
}

impl Bar {
    /// A bar at `value` whose whisker spans `low` to `high`.
    pub fn new(value: f64, low: f64, high: f64) -> Bar {
        Bar { value, low, high }
    }
}

/// One plot with its own y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Heading above the plot.
    pub title: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Unit appended to values in tooltips.
    pub unit: String,
    /// Logarithmic y axis (values must be positive; others show as missing).
    pub log: bool,
    /// A dashed horizontal line at a value, with a label.
    pub reference: Option<(f64, String)>,
    /// Bars grow up or down from this value instead of from the bottom of
    /// the axis (1 for ratios, say).
    pub base: Option<f64>,
    /// `bars[series][category]`; `None` where there is no value.
    pub bars: Vec<Vec<Option<Bar>>>,
}

impl Panel {
    /// A linear panel without bars (they come with [`report::chart`]), no
    /// reference line, bars growing from the bottom.
    ///
    /// [`report::chart`]: crate::report::chart
    pub fn new(title: &str, y_label: &str, unit: &str) -> Panel {
        Panel {
            title: title.into(),
            y_label: y_label.into(),
            unit: unit.into(),
            log: false,
            reference: None,
            base: None,
            bars: Vec::new(),
        }
    }
}

/// A grouped bar chart of one or more panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Heading of the whole chart.
    pub title: String,
    /// A smaller line under the title (machine, date).
    pub subtitle: String,
    /// Label under the categories.
    pub x_label: String,
    /// Category names, left to right.
    pub categories: Vec<String>,
    /// The series, in legend and bar order.
    pub series: Vec<Series>,
    /// The plots, top to bottom.
    pub panels: Vec<Panel>,
}

/// A y axis: maps values to pixels and lists its ticks.
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
    /// Tick spacing of a linear axis.
    step: f64,
    top: f64,
    bottom: f64,
}

impl Axis {
    /// An axis showing every value in `values` (and 0 when linear): from
    /// 0 to a round number, or between powers of ten.
    fn fit(values: &[f64], log: bool, top: f64, bottom: f64) -> Axis {
        let shown = (values.iter().copied()).filter(|v| v.is_finite() && (!log || *v > 0.0));
        let (min, max) = shown.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let (lo, hi, step) = if !log {
            let max = if max > 0.0 { max * 1.05 } else { 1.0 };
            let step = nice_step(max / 5.0);
            (0.0, (max / step).ceil() * step, step)
        } else if min.is_infinite() {
            (1.0, 10.0, 1.0)
        } else {
            let lo = 10f64.powf(min.log10().floor());
            (lo, 10f64.powf(max.log10().ceil()).max(lo * 10.0), 1.0)
        };
        Axis {
            log,
            lo,
            hi,
            step,
            top,
            bottom,
        }
    }

    fn t(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// The pixel row of `v`, clamped to the plot.
    fn y(&self, v: f64) -> f64 {
        let v = if self.log { v.max(self.lo) } else { v };
        let frac = (self.t(v) - self.t(self.lo)) / (self.t(self.hi) - self.t(self.lo));
        let frac = if frac.is_finite() {
            frac.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.bottom - frac * (self.bottom - self.top)
    }

    /// Whether `v` can be drawn on this axis.
    fn shows(&self, v: f64) -> bool {
        v.is_finite() && (!self.log || v > 0.0)
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let first = self.lo.log10().round() as i32;
            let decades = self.hi.log10().round() as i32 - first;
            let mults: &[f64] = if decades <= 3 {
                &[1.0, 2.0, 5.0]
            } else {
                &[1.0]
            };
            let mut out = Vec::new();
            for d in 0..=decades {
                let base = 10f64.powi(first + d);
                for m in mults {
                    let v = base * m;
                    if v <= self.hi * 1.000_001 {
                        out.push(v);
                    }
                }
            }
            out
        } else {
            let n = (self.hi / self.step).round() as usize;
            (0..=n).map(|i| i as f64 * self.step).collect()
        }
    }
}

/// 1, 2 or 5 times a power of ten, near `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let pow = 10f64.powf(raw.log10().floor());
    let m = raw / pow;
    let nice = if m < 1.5 {
        1.0
    } else if m < 3.0 {
        2.0
    } else if m < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * pow
}

/// `v` over its SI prefix's power (`G`, `M`, `k`, or none), and the prefix.
fn scaled(v: f64) -> (f64, &'static str) {
    match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    }
}

/// A short axis label: `0.5`, `25`, `200k`, `1.5M`, `2G`.
pub fn fmt_tick(v: f64) -> String {
    let (scaled, suffix) = scaled(v);
    let mut s = format!("{scaled:.2}");
    while s.contains('.') && (s.ends_with('0') || s.ends_with('.')) {
        s.pop();
    }
    format!("{s}{suffix}")
}

/// A value for a tooltip: three significant digits and a suffix.
fn fmt_value(v: f64) -> String {
    let (scaled, suffix) = scaled(v);
    let digits = match scaled.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        _ => 2,
    };
    format!("{scaled:.digits$}{suffix}")
}

/// `s` with XML's special characters escaped (for text and attributes in
/// double quotes).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Appends a `<text>` element at `(x, y)` with more attributes `attrs` (each
/// with a space before it) and the escaped `content`.
fn text(out: &mut String, (x, y): (f64, f64), attrs: &str, content: &str) {
    let content = escape(content);
    let _ = writeln!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\"{attrs}>{content}</text>"
    );
}

/// Appends a horizontal `<line>` at `y` from `x0` to `x1`, with more
/// attributes `attrs`.
fn hline(out: &mut String, y: f64, (x0, x1): (f64, f64), attrs: &str) {
    let _ = writeln!(
        out,
        "<line x1=\"{x0:.1}\" y1=\"{y:.1}\" x2=\"{x1:.1}\" y2=\"{y:.1}\" stroke-width=\"1\"{attrs}/>"
    );
}

impl Chart {
    /// The legend's rows: `(x, series index)` per entry, wrapped to the width.
    fn legend_rows(&self) -> Vec<Vec<(f64, usize)>> {
        let mut rows = vec![Vec::new()];
        let mut x = LEFT;
        for (i, s) in self.series.iter().enumerate() {
            let w = 17.0 + s.name.chars().count() as f64 * CHAR_WIDTH + 14.0;
            if x + w > WIDTH - 16.0 && x > LEFT {
                rows.push(Vec::new());
                x = LEFT;
            }
            if let Some(row) = rows.last_mut() {
                row.push((x, i));
            }
            x += w;
        }
        rows
    }

    /// The chart as an SVG 1.1 document: title, subtitle, legend, then the
    /// panels one below the other.
    pub fn to_svg(&self) -> String {
        let legend = self.legend_rows();
        let legend_top = if self.subtitle.is_empty() { 48.0 } else { 66.0 };
        let panels_top = legend_top + legend.len() as f64 * 20.0 + 8.0;
        let panel_height = 26.0 + PLOT_HEIGHT + 52.0;
        let height = panels_top + self.panels.len() as f64 * panel_height + 8.0;
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH:.0} {height:.0}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"{FONT:.0}\">"
        );
        let _ = writeln!(
            out,
            "<rect class=\"background\" x=\"0\" y=\"0\" width=\"{WIDTH:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>"
        );
        let centre = WIDTH / 2.0;
        let bold = " text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\"";
        text(&mut out, (centre, 28.0), bold, &self.title);
        if !self.subtitle.is_empty() {
            let grey = " text-anchor=\"middle\" fill=\"#555555\"";
            text(&mut out, (centre, 48.0), grey, &self.subtitle);
        }
        for (r, row) in legend.iter().enumerate() {
            let y = legend_top + r as f64 * 20.0;
            for &(x, i) in row {
                let s = &self.series[i];
                let _ = writeln!(
                    out,
                    "<rect class=\"swatch\" x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\" stroke=\"#333333\" stroke-width=\"0.5\"/>",
                    y - 10.0,
                    escape(&s.color)
                );
                text(&mut out, (x + 17.0, y), "", &s.name);
            }
        }
        for (p, panel) in self.panels.iter().enumerate() {
            self.panel_svg(panel, panels_top + p as f64 * panel_height, &mut out);
        }
        out.push_str("</svg>\n");
        out
    }

    /// One panel at `top`: its title, grid and ticks, bars and whiskers (a
    /// `×` where a value is missing), reference line and axes.
    fn panel_svg(&self, panel: &Panel, top: f64, out: &mut String) {
        let (plot_top, plot_bottom) = (top + 26.0, top + 26.0 + PLOT_HEIGHT);
        let (x0, x1) = (LEFT, WIDTH - RIGHT);
        let bars = panel.bars.iter().flatten().flatten();
        let mut values: Vec<f64> = bars.flat_map(|b| [b.value, b.low, b.high]).collect();
        values.extend(
            panel
                .reference
                .as_ref()
                .map(|r| r.0)
                .into_iter()
                .chain(panel.base),
        );
        let axis = Axis::fit(&values, panel.log, plot_top, plot_bottom);
        let bold = " font-size=\"14\" font-weight=\"bold\"";
        text(out, (x0, top + 14.0), bold, &panel.title);
        for v in axis.ticks() {
            let y = axis.y(v);
            hline(out, y, (x0, x1), " stroke=\"#e0e0e0\"");
            text(
                out,
                (x0 - 6.0, y + 4.0),
                " text-anchor=\"end\"",
                &fmt_tick(v),
            );
        }
        let mid = (plot_top + plot_bottom) / 2.0;
        let turned = format!(" text-anchor=\"middle\" transform=\"rotate(-90 18 {mid:.1})\"");
        text(out, (18.0, mid), &turned, &panel.y_label);

        let group_w = (x1 - x0) / self.categories.len().max(1) as f64;
        let bar_w = group_w * 0.8 / self.series.len().max(1) as f64;
        let gap = if bar_w > 4.0 { 1.0 } else { 0.0 };
        for (c, category) in self.categories.iter().enumerate() {
            let gx = x0 + c as f64 * group_w;
            for (s, series) in self.series.iter().enumerate() {
                let bx = gx + group_w * 0.1 + s as f64 * bar_w;
                let cx = bx + bar_w / 2.0;
                let bar = (panel.bars.get(s).and_then(|row| row.get(c)).copied())
                    .flatten()
                    .filter(|b| axis.shows(b.value));
                let color = escape(&series.color);
                let Some(bar) = bar else {
                    let attrs =
                        format!(" class=\"missing\" text-anchor=\"middle\" fill=\"{color}\"");
                    text(out, (cx, plot_bottom - 3.0), &attrs, "\u{d7}");
                    continue;
                };
                let (y, value) = (axis.y(bar.value), fmt_value(bar.value));
                let y0 = panel
                    .base
                    .filter(|&b| axis.shows(b))
                    .map_or(plot_bottom, |b| axis.y(b));
                let spread = bar.low.is_finite() && bar.high.is_finite();
                let range = if spread && (bar.low < bar.value || bar.high > bar.value) {
                    format!(" (min {}, max {})", fmt_value(bar.low), fmt_value(bar.high))
                } else {
                    String::new()
                };
                let tip = escape(&format!(
                    "{} {category}: {value} {}{range}",
                    series.name, panel.unit
                ));
                let _ = writeln!(
                    out,
                    "<rect class=\"bar\" x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{tip}</title></rect>",
                    y.min(y0),
                    (bar_w - gap).max(0.5),
                    (y0 - y).abs(),
                );
                // The whisker, where it is at least a pixel long.
                let end = |v: f64| axis.y(if axis.shows(v) { v } else { bar.value });
                let (lo, hi) = (end(bar.low), end(bar.high));
                if (axis.shows(bar.low) || axis.shows(bar.high)) && lo - hi >= 1.0 {
                    let cap = (bar_w / 4.0).clamp(1.5, 4.0);
                    let (l, r) = (cx - cap, cx + cap);
                    let _ = writeln!(
                        out,
                        "<path class=\"whisker\" d=\"M {cx:.1} {lo:.1} V {hi:.1} M {l:.1} {lo:.1} H {r:.1} M {l:.1} {hi:.1} H {r:.1}\" stroke=\"#000000\" stroke-width=\"1\" fill=\"none\"/>"
                    );
                }
            }
            let label = (gx + group_w / 2.0, plot_bottom + 18.0);
            text(out, label, " text-anchor=\"middle\"", category);
        }
        if let Some((v, label)) = &panel.reference
            && axis.shows(*v)
        {
            let y = axis.y(*v);
            hline(
                out,
                y,
                (x0, x1),
                " stroke=\"#d62728\" stroke-dasharray=\"6 4\"",
            );
            let red = " fill=\"#d62728\" font-size=\"11\"";
            text(out, (x1 + 4.0, y + 4.0), red, label);
        }
        // Axes on top of the bars.
        let _ = writeln!(
            out,
            "<path class=\"axis\" d=\"M {x0:.1} {plot_top:.1} V {plot_bottom:.1} H {x1:.1}\" stroke=\"#000000\" stroke-width=\"1\" fill=\"none\"/>"
        );
        let x_label = ((x0 + x1) / 2.0, plot_bottom + 38.0);
        text(
            out,
            x_label,
            " text-anchor=\"middle\" fill=\"#333333\"",
            &self.x_label,
        );
    }
}

#[cfg(test)]
pub mod tests {
    //! Checks of SVG text, also used by the report tests.

    use super::*;

    /// Panics unless `svg` is well-formed XML (roxmltree parses it) with an
    /// `<svg>` root, and every coordinate or length attribute is a finite
    /// number (lengths not negative). Returns how many `<rect class="bar">`
    /// it has.
    pub fn check_svg(svg: &str) -> usize {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        for node in doc.descendants().filter(|n| n.is_element()) {
            for attr in ["x", "y", "x1", "y1", "x2", "y2", "width", "height"] {
                let Some(v) = node.attribute(attr) else {
                    continue;
                };
                let n: f64 = v.parse().unwrap_or_else(|_| panic!("{attr}=\"{v}\""));
                let length = attr == "width" || attr == "height";
                assert!(n.is_finite() && (n >= 0.0 || !length), "{attr}=\"{v}\"");
            }
        }
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let bar =
            |n: &roxmltree::Node| n.has_tag_name("rect") && n.attribute("class") == Some("bar");
        doc.descendants().filter(bar).count()
    }

    fn chart(log: bool, bars: Vec<Vec<Option<Bar>>>) -> Chart {
        Chart {
            title: "PUSH/PULL <throughput> & more".into(),
            subtitle: "a machine".into(),
            x_label: "message size".into(),
            categories: vec!["16 B".into(), "64 B".into(), "1 MiB".into()],
            series: vec![
                Series {
                    name: "libzmq".into(),
                    color: "#4d4d4d".into(),
                },
                Series {
                    name: "monocoque/tokio".into(),
                    color: "#1f77b4".into(),
                },
            ],
            panels: vec![Panel {
                log,
                reference: Some((1.0, "libzmq".into())),
                bars,
                ..Panel::new("msg/s", "messages per second", "msg/s")
            }],
        }
    }

    #[test]
    fn one_rect_per_bar_and_well_formed() {
        let b = |v: f64| Some(Bar::new(v, v * 0.9, v * 1.2));
        let full = vec![
            vec![b(2e6), b(1.5e6), b(900.0)],
            vec![b(3e6), b(1e6), b(1200.0)],
        ];
        for log in [false, true] {
            let svg = chart(log, full.clone()).to_svg();
            assert_eq!(check_svg(&svg), 6, "{svg}");
            assert!(svg.contains("&lt;throughput&gt; &amp; more"));
            assert!(svg.contains("<title>libzmq 16 B: 2.00M msg/s (min 1.80M, max 2.40M)</title>"));
            // Whiskers shorter than a pixel are left out (linear, at 1 kHz).
            let whiskers = svg.matches("class=\"whisker\"").count();
            assert_eq!(whiskers, if log { 6 } else { 4 });
        }
        // Missing, zero, negative and NaN values: no bar, a mark instead.
        let holes = vec![
            vec![None, b(0.0), b(f64::NAN)],
            vec![
                b(-1.0),
                b(5.0),
                Some(Bar::new(7.0, f64::NAN, f64::INFINITY)),
            ],
        ];
        let svg = chart(true, holes.clone()).to_svg();
        assert_eq!(check_svg(&svg), 2, "{svg}");
        assert_eq!(svg.matches("class=\"missing\"").count(), 4);
        let svg = chart(false, holes).to_svg();
        assert_eq!(check_svg(&svg), 4, "{svg}");
        // Nothing at all still draws axes.
        let svg = chart(false, Vec::new()).to_svg();
        assert_eq!(check_svg(&svg), 0);
    }

    #[test]
    fn bars_from_a_base() {
        let b = |v: f64| Some(Bar::new(v, v, v));
        let mut c = chart(true, vec![vec![b(0.5), b(2.0), b(1.0)]]);
        c.panels[0].base = Some(1.0);
        let svg = c.to_svg();
        assert_eq!(check_svg(&svg), 3);
        // The bar at 1 has no height; those at 0.5 and 2 are equally tall.
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let bars = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("bar"));
        let heights: Vec<f64> = bars
            .map(|n| n.attribute("height").unwrap().parse().unwrap())
            .collect();
        assert_eq!(heights[2], 0.0);
        assert!((heights[0] - heights[1]).abs() < 0.2, "{heights:?}");
    }

    #[test]
    fn axes_and_labels() {
        let ticks = [
            (0.5, "0.5"),
            (25.0, "25"),
            (2e5, "200k"),
            (1.5e6, "1.5M"),
            (2e9, "2G"),
        ];
        for (v, label) in ticks {
            assert_eq!(fmt_tick(v), label);
        }
        assert_eq!(fmt_value(1234.0), "1.23k");
        for (raw, step) in [(0.8, 1.0), (0.6, 0.5), (130.0, 100.0), (35.0, 50.0)] {
            assert_eq!(nice_step(raw), step);
        }
        let a = Axis::fit(&[3.0, 1e6], true, 0.0, 100.0);
        assert_eq!((a.lo, a.hi), (1.0, 1e6));
        assert_eq!(a.ticks().len(), 7);
        assert_eq!(a.y(1.0), 100.0);
        assert_eq!(a.y(1e6), 0.0);
        let a = Axis::fit(&[0.4, 3.0], true, 0.0, 100.0);
        assert_eq!(a.ticks(), [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]);
        let a = Axis::fit(&[0.0, 97.0], false, 0.0, 100.0);
        assert_eq!((a.lo, a.hi), (0.0, 120.0));
        assert_eq!(a.ticks(), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 120.0]);
    }
}
