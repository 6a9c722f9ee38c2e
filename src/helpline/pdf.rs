//! The report as PDF (printpdf, the shared DejaVu Sans subset of `crate::pdf`): the figures of
//! sections 1–13 in Italian, with the charts drawn as vector shapes: bars of shares and the
//! weekday × hour heat maps of calls and chats.

use printpdf::{Color, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Pt, Rect, Rgb};

use super::report::{hms, Grid, Report, Share};
use crate::error::AppError;
use crate::pdf::{font, subset, text_op, Placed, MM_PER_PT};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;
const BOTTOM: f32 = 20.0;

enum Block {
    Text(f32, String),
    Gap(f32),
    Bars(Vec<Share>),
    Heat(Grid),
}

impl Block {
    fn height(&self) -> f32 {
        match self {
            Block::Text(size, _) => size * MM_PER_PT * 1.45,
            Block::Gap(h) => *h,
            Block::Bars(items) => 5.0 * items.len() as f32 + 2.0,
            Block::Heat(g) => 6.0 + 3.2 * g.rows.len() as f32,
        }
    }
}

fn n(v: i64) -> String {
    super::report::thousands(&v)
}

fn p(v: f64) -> String {
    super::report::pct(&v)
}

/// A filled rectangle, from the top-left corner in mm.
fn rect(ops: &mut Vec<Op>, x: f32, y_top: f32, w: f32, h: f32, shade: f32) {
    let c = 1.0 - shade * 0.75;
    ops.push(Op::SetFillColor {
        col: Color::Rgb(Rgb::new(0.48 + 0.52 * c, 0.12 + 0.88 * c, 0.36 + 0.64 * c, None)),
    });
    let mut r = Rect::from_xywh(
        Pt::from(Mm(x)),
        Pt::from(Mm(PAGE_H - y_top - h)),
        Pt::from(Mm(w)),
        Pt::from(Mm(h)),
    );
    r.mode = Some(PaintMode::Fill);
    ops.push(Op::DrawRectangle { rectangle: r });
}

fn blocks(r: &Report) -> Vec<Block> {
    let t = |s: &str| Block::Text(10.0, s.to_owned());
    let h = |s: &str| Block::Text(13.0, s.to_owned());
    let c = &r.calls;
    let mut b = vec![
        Block::Text(
            16.0,
            "Relazione sull'attività del numero di pubblica utilità 1522".into(),
        ),
        t(&format!(
            "Periodo: {} – {} (periodo precedente: {} – {})",
            r.from.format("%d/%m/%Y"),
            r.to.format("%d/%m/%Y"),
            r.previous_from.format("%d/%m/%Y"),
            r.previous_to.format("%d/%m/%Y")
        )),
        Block::Gap(3.0),
        h("1. Chiamate in entrata"),
        t(&format!("Numero chiamate entrate in coda: {}", n(c.queued))),
        t(&format!("Numero chiamate risposte: {}", n(c.answered))),
        t(&format!("Numero chiamate non risposte: {}", n(c.unanswered))),
        t(&format!("Numero chiamate in segreteria: {}", n(c.voicemail))),
        t(&format!("Chiuse durante l'attesa in coda: {}", n(c.abandoned))),
        t(&format!("Numero chiamate in blacklist: {}", n(c.blacklisted))),
        t(&format!(
            "Chiamate chiuse nel corso del messaggio di benvenuto: {}",
            n(c.welcome_closed)
        )),
        t(&format!("Totale: {}", n(c.total))),
    ];
    if let Some(ch) = c.change_percent {
        b.push(t(&format!(
            "Variazione rispetto al periodo precedente ({}): {}%",
            n(c.previous_total),
            p(ch)
        )));
    }
    b.push(Block::Bars(c.categories.clone()));
    b.push(t("Ripartizione chiamate entrate in coda"));
    b.push(Block::Bars(c.queued_split.clone()));
    b.push(h("2. Durata chiamate e tempo medio di conversazione"));
    b.push(t(&format!("Durata totale chiamate: {}", hms(r.times.talk_total_secs))));
    b.push(t(&format!(
        "Tempo medio di conversazione per chiamata: {}",
        r.times.talk_average
    )));
    b.push(h("3. Tempo di attesa medio di trasferimento alle operatrici"));
    b.push(t(&format!("{} secondi", r.times.wait_average_secs)));
    b.push(h("4. Distribuzione delle chiamate"));
    b.push(t("Fascia oraria: Lun Mar Mer Gio Ven Sab Dom — Tot — %"));
    for (i, row) in r.calls_by_band.cells.iter().enumerate() {
        b.push(t(&format!(
            "{}: {} — {} — {}",
            r.calls_by_band.rows[i],
            row.iter().map(|v| n(*v)).collect::<Vec<_>>().join(" "),
            n(r.calls_by_band.row_totals[i]),
            p(r.calls_by_band.row_percent[i])
        )));
    }
    b.push(t(&format!(
        "Media giornaliera (al netto della blacklist): {} · giorno di picco: {} ({})",
        p(r.days.daily_average),
        r.days
            .peak_day
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| "—".into()),
        n(r.days.peak_calls)
    )));
    b.push(t("Distribuzione chiamate per ora e giorno della settimana"));
    b.push(Block::Heat(r.calls_by_hour.clone()));
    b.push(h("5. Contatti via chat"));
    b.push(t(&format!(
        "N. Chat App: {} · N. Chat sito: {} · Totale Chat: {}",
        n(r.chats.app),
        n(r.chats.site),
        n(r.chats.total)
    )));
    b.push(h("6. Tempo di risposta alle chat"));
    b.push(Block::Bars(r.chats.first_response.clone()));
    b.push(h("7. Distribuzione delle chat"));
    b.push(Block::Heat(r.chats_by_hour.clone()));
    b.push(h("8. Chiamate alla Rete antiviolenza effettuate dalle operatrici"));
    b.push(t(&format!("Chiamate verso l'esterno: {}", n(r.outgoing_calls))));
    let k = &r.contacts;
    b.push(h("9. Chi ha contattato il 1522"));
    b.push(t(&format!("Schede: {} · vittime: {}", n(k.records), n(k.victims))));
    b.push(Block::Bars(k.who.clone()));
    b.push(h("10. Regione di provenienza di chi contatta"));
    b.push(Block::Bars(k.regions.clone()));
    b.push(h("11. Motivo di contatto"));
    for (label, s) in [("Chiamate", &k.phone_reasons), ("Chat", &k.chat_reasons)] {
        b.push(t(&format!(
            "{label}: con motivo rilevato {} · validi {} ({}%) · non validi {}",
            n(s.with_reason),
            n(s.valid),
            p(s.valid_percent),
            n(s.invalid)
        )));
        b.push(Block::Bars(s.valid_reasons.clone()));
        b.push(Block::Bars(s.invalid_reasons.clone()));
    }
    b.push(h("12. Modalità di conoscenza del numero 1522"));
    b.push(Block::Bars(k.learned_from.clone()));
    b.push(h("13. Invii alla Rete antiviolenza"));
    b.push(t(&format!("Invii: {}", n(k.referrals_total))));
    b.push(Block::Bars(k.referrals.clone()));
    for a in &r.atr {
        b.push(t(&format!(
            "ATR {}: schede {} · vittime {} · invii {}",
            a.atr,
            n(a.records),
            n(a.victims),
            n(a.referrals_total)
        )));
    }
    b
}

/// Renders the report.
pub fn render(r: &Report) -> Result<Vec<u8>, AppError> {
    let font = font()?;
    let mut pages: Vec<(Vec<Placed>, Vec<Op>)> = vec![(Vec::new(), Vec::new())];
    let mut y = MARGIN;
    let width = PAGE_W - 2.0 * MARGIN;
    for block in blocks(r) {
        if y + block.height() > PAGE_H - BOTTOM {
            pages.push((Vec::new(), Vec::new()));
            y = MARGIN;
        }
        let Some((texts, shapes)) = pages.last_mut() else { break };
        match &block {
            Block::Text(size, s) => {
                for line in font.wrap(s, *size, width) {
                    y += size * MM_PER_PT * 1.45;
                    texts.push(Placed {
                        size: *size,
                        x_mm: MARGIN,
                        y_mm: y,
                        text: line,
                    });
                }
            }
            Block::Gap(h) => y += h,
            Block::Bars(items) => {
                for it in items {
                    y += 5.0;
                    texts.push(Placed {
                        size: 8.0,
                        x_mm: MARGIN,
                        y_mm: y,
                        text: it.label.chars().take(48).collect(),
                    });
                    let len = (it.percent as f32 / 100.0) * 80.0;
                    rect(shapes, MARGIN + 75.0, y - 3.2, len.max(0.3), 3.6, 0.9);
                    texts.push(Placed {
                        size: 8.0,
                        x_mm: MARGIN + 77.0 + len,
                        y_mm: y,
                        text: format!("{} ({}%)", n(it.count), p(it.percent)),
                    });
                }
                y += 2.0;
            }
            Block::Heat(g) => {
                let max = g.cells.iter().flat_map(|r| r.iter()).copied().max().unwrap_or(0).max(1) as f32;
                y += 5.0;
                for (d, name) in ["Lun", "Mar", "Mer", "Gio", "Ven", "Sab", "Dom"].iter().enumerate() {
                    texts.push(Placed {
                        size: 7.0,
                        x_mm: MARGIN + 24.0 + d as f32 * 14.0,
                        y_mm: y,
                        text: (*name).to_owned(),
                    });
                }
                for (i, row) in g.cells.iter().enumerate() {
                    let top = y + 1.0 + i as f32 * 3.2;
                    texts.push(Placed {
                        size: 6.0,
                        x_mm: MARGIN,
                        y_mm: top + 2.5,
                        text: g.rows[i].clone(),
                    });
                    for (d, v) in row.iter().enumerate() {
                        rect(shapes, MARGIN + 22.0 + d as f32 * 14.0, top, 13.2, 2.9, *v as f32 / max);
                    }
                }
                y += 1.0 + 3.2 * g.rows.len() as f32;
            }
        }
    }
    let total = pages.len();
    for (i, (texts, _)) in pages.iter_mut().enumerate() {
        texts.push(Placed {
            size: 7.5,
            x_mm: MARGIN,
            y_mm: PAGE_H - 10.0,
            text: format!(
                "1522 · {} – {} · pagina {} di {total}",
                r.from.format("%d/%m/%Y"),
                r.to.format("%d/%m/%Y"),
                i + 1
            ),
        });
    }
    let chars = pages
        .iter()
        .flat_map(|(t, _)| t.iter())
        .flat_map(|p| p.text.chars())
        .collect::<std::collections::BTreeSet<char>>();
    let mut doc = PdfDocument::new("Relazione 1522");
    let handle = PdfFontHandle::External(doc.add_font(&subset(font, &chars)?));
    let pdf_pages: Vec<PdfPage> = pages
        .into_iter()
        .map(|(texts, mut ops)| {
            for t in &texts {
                text_op(&mut ops, &handle, t);
            }
            PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops)
        })
        .collect();
    let bytes = doc
        .with_pages(pdf_pages)
        .save(&PdfSaveOptions::default(), &mut Vec::new());
    if !bytes.starts_with(b"%PDF") {
        return Err(AppError::Internal("the report could not be rendered".into()));
    }
    Ok(bytes)
}
