//! Charts drawn by the server as SVG: horizontal bars, one group per row, one bar per column,
//! each column filled with its own black-and-white pattern (solid, hatching, dots, cross-hatching,
//! …) named in a legend, and every bar labelled with its count, so that the chart reads without
//! colour, printed in grey or by a screen reader (the SVG has a title and a description, and the
//! table beside it holds the same numbers). No external asset: the patterns are inline.

use std::fmt::Write;

use super::disclosure::Published;
use super::model::{Indicator, Table, ALL};
use crate::domain::Lang;

/// Escapes text for XML.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// The patterns, in order (they repeat past the last).
const PATTERNS: usize = 6;

fn defs() -> String {
    let mut s = String::from("<defs>");
    s.push_str(r##"<pattern id="p0" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#222"/></pattern>"##);
    s.push_str(r##"<pattern id="p1" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#222" stroke-width="2.5"/></pattern>"##);
    s.push_str(r##"<pattern id="p2" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff"/><circle cx="3" cy="3" r="1.5" fill="#222"/></pattern>"##);
    s.push_str(r##"<pattern id="p3" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff"/><path d="M0 0L6 6M6 0L0 6" stroke="#222" stroke-width="1"/></pattern>"##);
    s.push_str(r##"<pattern id="p4" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#999"/></pattern>"##);
    s.push_str(r##"<pattern id="p5" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="3" x2="6" y2="3" stroke="#222" stroke-width="1.5"/></pattern>"##);
    s.push_str("</defs>");
    s
}

/// One bar to draw: group label, series label, value (`None`: withheld).
pub struct Bar {
    pub group: String,
    pub series: usize,
    pub value: Option<i64>,
}

/// The bars of a table, the series labels and the chart's title.
pub fn bars(t: &Table, p: &Published, lang: Lang) -> (Vec<Bar>, Vec<String>, String) {
    let series: Vec<String> = if t.spec.cols.is_some() {
        t.cols
            .iter()
            .map(|c| t.spec.cols.unwrap_or(Indicator::Gender).value_label(c, lang))
            .collect()
    } else {
        vec![t.spec.measure.label(lang).to_owned()]
    };
    let mut out = Vec::new();
    for (r, key) in t.rows.iter().enumerate() {
        let group = match t.spec.rows {
            Some(i) => i.value_label(key, lang),
            None => Indicator::Gender.value_label(ALL, lang),
        };
        for (c, _) in t.cols.iter().enumerate() {
            out.push(Bar {
                group: group.clone(),
                series: c,
                value: p.cells[r][c],
            });
        }
    }
    let title = match (t.spec.rows, t.spec.cols) {
        (Some(r), Some(c)) => format!("{} × {} · {}", r.label(lang), c.label(lang), t.spec.measure.label(lang)),
        (Some(r), None) => format!("{} · {}", r.label(lang), t.spec.measure.label(lang)),
        _ => t.spec.measure.label(lang).to_owned(),
    };
    (out, series, title)
}

/// The chart of a table as an SVG document (inline in a page).
pub fn svg(t: &Table, p: &Published, lang: Lang) -> String {
    let (bars, series, title) = bars(t, p, lang);
    let max = bars.iter().filter_map(|b| b.value).max().unwrap_or(0).max(1);
    let (label_w, plot_w, bar_h, gap) = (220.0, 440.0, 16.0, 10.0);
    let per_group = series.len() as f64 * bar_h + gap;
    let groups = t.rows.len() as f64;
    let legend_h = if series.len() > 1 {
        22.0 * series.len() as f64 + 10.0
    } else {
        0.0
    };
    let height = 40.0 + groups * per_group + legend_h;
    let width = label_w + plot_w + 70.0;
    let withheld = if lang == Lang::It {
        "x (soppresso)"
    } else {
        "x (withheld)"
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 {width} {height}" width="100%" class="chart" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<title id="chart-title">{}</title>"#, xml(&title));
    let desc = if lang == Lang::It {
        "Barre orizzontali; ogni serie ha un motivo in bianco e nero e ogni barra il suo valore."
    } else {
        "Horizontal bars; each series has its own black-and-white pattern and each bar its value."
    };
    let _ = write!(s, r#"<desc id="chart-desc">{}</desc>"#, xml(desc));
    s.push_str(&defs());
    let _ = write!(s, r#"<text x="0" y="16" font-weight="bold">{}</text>"#, xml(&title));
    let mut y = 30.0;
    let mut last_group = String::new();
    for b in &bars {
        if b.group != last_group {
            if !last_group.is_empty() {
                y += gap;
            }
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                label_w - 8.0,
                y + bar_h * 0.75,
                xml(&b.group)
            );
            last_group = b.group.clone();
        }
        let pattern = b.series % PATTERNS;
        match b.value {
            Some(v) => {
                let w = (v as f64 / max as f64 * plot_w).max(if v > 0 { 1.0 } else { 0.0 });
                let _ = write!(
                    s,
                    r##"<rect x="{label_w}" y="{y}" width="{w:.1}" height="{}" fill="url(#p{pattern})" stroke="#222" stroke-width="0.5"><title>{}: {v}</title></rect><text x="{:.1}" y="{}">{v}</text>"##,
                    bar_h - 2.0,
                    xml(&series[b.series]),
                    label_w + w + 4.0,
                    y + bar_h * 0.75
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<text x="{}" y="{}" font-style="italic">{}</text>"#,
                    label_w + 4.0,
                    y + bar_h * 0.75,
                    withheld
                );
            }
        }
        y += bar_h;
    }
    if series.len() > 1 {
        y += gap + 6.0;
        for (i, name) in series.iter().enumerate() {
            let _ = write!(
                s,
                r##"<rect x="{label_w}" y="{y}" width="28" height="14" fill="url(#p{})" stroke="#222" stroke-width="0.5"/><text x="{}" y="{}">{}</text>"##,
                i % PATTERNS,
                label_w + 36.0,
                y + 11.0,
                xml(name)
            );
            y += 22.0;
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(xml("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }
}
