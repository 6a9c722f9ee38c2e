//! A table and its chart as PDF (printpdf; the font and its subsetting are the written feedback's,
//! `casework::feedback::pdf`): title and statement, the chart as horizontal bars (each series its
//! own shade of grey with an outline, each bar labelled with its count, a legend: readable printed
//! in black and white), then the table, over as many A4 pages as it needs.

use printpdf::{Color, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Pt, Rect, Rgb};

use super::chart::bars;
use super::disclosure::Published;
use super::export::statement;
use super::model::{Indicator, Table, ALL};
use crate::casework::feedback::pdf::{PAGE_H, PAGE_W};
use crate::domain::Lang;
use crate::error::AppError;
use crate::pdf::{font, subset, text_op, Placed};

const MARGIN: f32 = 15.0;
const TOP: f32 = 18.0;
const BOTTOM: f32 = 20.0;

enum Item {
    Text(Placed),
    /// A bar: x, y from the top, width, height (mm), grey level.
    Bar(f32, f32, f32, f32, f32),
}

fn grey(i: usize) -> f32 {
    [0.1, 0.55, 0.85, 0.35, 0.7, 0.95][i % 6]
}

/// Renders the table.
pub fn render(t: &Table, p: &Published, lang: Lang) -> Result<Vec<u8>, AppError> {
    let font = font()?;
    let width = PAGE_W - 2.0 * MARGIN;
    let mut pages: Vec<Vec<Item>> = vec![Vec::new()];
    let mut y = TOP;
    let (bar_list, series, title) = bars(t, p, lang);
    let put = |pages: &mut Vec<Vec<Item>>, y: &mut f32, size: f32, x: f32, text: String, advance: f32| {
        if *y + advance > PAGE_H - BOTTOM {
            pages.push(Vec::new());
            *y = TOP;
        }
        *y += advance;
        if let Some(page) = pages.last_mut() {
            page.push(Item::Text(Placed {
                size,
                x_mm: x,
                y_mm: *y,
                text,
            }));
        }
    };
    for l in font.wrap(&title, 14.0, width) {
        put(&mut pages, &mut y, 14.0, MARGIN, l, 7.0);
    }
    for s in statement(t, p, lang) {
        for l in font.wrap(&s, 8.5, width) {
            put(&mut pages, &mut y, 8.5, MARGIN, l, 4.2);
        }
    }
    y += 4.0;
    // The chart.
    let label_w = 55.0;
    let plot_w = width - label_w - 15.0;
    let max = bar_list.iter().filter_map(|b| b.value).max().unwrap_or(0).max(1) as f32;
    let bar_h = 3.6;
    let mut last = String::new();
    for b in &bar_list {
        if y + bar_h + 2.0 > PAGE_H - BOTTOM {
            pages.push(Vec::new());
            y = TOP;
        }
        if b.group != last {
            y += 2.0;
            let label = font
                .wrap(&b.group, 7.5, label_w - 2.0)
                .into_iter()
                .next()
                .unwrap_or_default();
            if let Some(page) = pages.last_mut() {
                page.push(Item::Text(Placed {
                    size: 7.5,
                    x_mm: MARGIN,
                    y_mm: y + bar_h - 0.8,
                    text: label,
                }));
            }
            last = b.group.clone();
        }
        let (w, text) = match b.value {
            Some(v) => (v as f32 / max * plot_w, v.to_string()),
            None => (0.0, "x".to_owned()),
        };
        if let Some(page) = pages.last_mut() {
            if w > 0.0 {
                page.push(Item::Bar(MARGIN + label_w, y, w.max(0.3), bar_h - 0.6, grey(b.series)));
            }
            page.push(Item::Text(Placed {
                size: 7.0,
                x_mm: MARGIN + label_w + w + 1.5,
                y_mm: y + bar_h - 0.9,
                text,
            }));
        }
        y += bar_h;
    }
    if series.len() > 1 {
        y += 3.0;
        for (i, s) in series.iter().enumerate() {
            if y + 5.0 > PAGE_H - BOTTOM {
                pages.push(Vec::new());
                y = TOP;
            }
            if let Some(page) = pages.last_mut() {
                page.push(Item::Bar(MARGIN + label_w, y, 8.0, 3.4, grey(i)));
                page.push(Item::Text(Placed {
                    size: 7.5,
                    x_mm: MARGIN + label_w + 10.0,
                    y_mm: y + 3.0,
                    text: s.clone(),
                }));
            }
            y += 4.6;
        }
    }
    // The table.
    y += 6.0;
    let cols: Vec<String> = t
        .cols
        .iter()
        .map(|c| match t.spec.cols {
            Some(i) => i.value_label(c, lang),
            None => t.spec.measure.label(lang).to_owned(),
        })
        .collect();
    let total = Indicator::Gender.value_label(ALL, lang);
    let n_cols = cols.len() + usize::from(t.spec.cols.is_some());
    let col_w = ((width - label_w) / n_cols.max(1) as f32).max(8.0);
    let size = if n_cols > 6 { 6.0 } else { 7.5 };
    let row = |pages: &mut Vec<Vec<Item>>, y: &mut f32, label: String, values: Vec<String>| {
        if *y + 4.5 > PAGE_H - BOTTOM {
            pages.push(Vec::new());
            *y = TOP;
        }
        *y += 4.5;
        if let Some(page) = pages.last_mut() {
            let label = font
                .wrap(&label, size, label_w - 2.0)
                .into_iter()
                .next()
                .unwrap_or_default();
            page.push(Item::Text(Placed {
                size,
                x_mm: MARGIN,
                y_mm: *y,
                text: label,
            }));
            for (i, v) in values.into_iter().enumerate() {
                let v = font.wrap(&v, size, col_w - 1.0).into_iter().next().unwrap_or_default();
                page.push(Item::Text(Placed {
                    size,
                    x_mm: MARGIN + label_w + i as f32 * col_w,
                    y_mm: *y,
                    text: v,
                }));
            }
        }
    };
    let mut head = cols.clone();
    if t.spec.cols.is_some() {
        head.push(total.clone());
    }
    let first = t.spec.rows.map_or_else(String::new, |r| r.label(lang).to_owned());
    row(&mut pages, &mut y, first, head);
    let shown = |v: Option<i64>| v.map_or_else(|| "x".to_owned(), |n| n.to_string());
    for (r, key) in t.rows.iter().enumerate() {
        let label = t.spec.rows.map_or_else(|| total.clone(), |i| i.value_label(key, lang));
        let mut values: Vec<String> = p.cells[r].iter().map(|v| shown(*v)).collect();
        if t.spec.cols.is_some() {
            values.push(shown(p.row_totals[r]));
        }
        row(&mut pages, &mut y, label, values);
    }
    if t.spec.rows.is_some() {
        let mut values: Vec<String> = p.col_totals.iter().map(|v| shown(*v)).collect();
        if t.spec.cols.is_some() {
            values.push(shown(p.total));
        }
        row(&mut pages, &mut y, total.clone(), values);
    }
    let n = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let footer = if lang == Lang::It {
            format!("Varco · Osservatorio · pagina {} di {n}", i + 1)
        } else {
            format!("Varco · Observatory · page {} of {n}", i + 1)
        };
        page.push(Item::Text(Placed {
            size: 7.5,
            x_mm: MARGIN,
            y_mm: PAGE_H - 10.0,
            text: footer,
        }));
    }
    let chars = pages
        .iter()
        .flatten()
        .filter_map(|i| match i {
            Item::Text(p) => Some(p.text.chars()),
            Item::Bar(..) => None,
        })
        .flatten()
        .collect::<std::collections::BTreeSet<char>>();
    let mut doc = PdfDocument::new(&title);
    let handle = PdfFontHandle::External(doc.add_font(&subset(font, &chars)?));
    let black = Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None));
    let pages: Vec<PdfPage> = pages
        .iter()
        .map(|items| {
            let mut ops = Vec::new();
            for item in items {
                match item {
                    Item::Text(p) => {
                        ops.push(Op::SetFillColor { col: black.clone() });
                        text_op(&mut ops, &handle, p);
                    }
                    Item::Bar(x, y, w, h, g) => {
                        ops.push(Op::SetFillColor {
                            col: Color::Rgb(Rgb::new(*g, *g, *g, None)),
                        });
                        ops.push(Op::SetOutlineColor { col: black.clone() });
                        ops.push(Op::SetOutlineThickness { pt: Pt(0.4) });
                        ops.push(Op::DrawRectangle {
                            rectangle: Rect {
                                x: Mm(*x).into(),
                                y: Mm(PAGE_H - *y - *h).into(),
                                width: Mm(*w).into(),
                                height: Mm(*h).into(),
                                mode: Some(PaintMode::FillStroke),
                                winding_order: None,
                            },
                        });
                    }
                }
            }
            PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops)
        })
        .collect();
    let bytes = doc.with_pages(pages).save(&PdfSaveOptions::default(), &mut Vec::new());
    if !bytes.starts_with(b"%PDF") {
        return Err(AppError::Internal("the report could not be rendered".into()));
    }
    Ok(bytes)
}
