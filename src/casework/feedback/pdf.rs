//! A feedback letter as PDF (printpdf, DejaVu Sans embedded and subset to the glyphs used):
//! letterhead, reference and date, recipient, subject, the body wrapped to the page width across
//! as many A4 pages as it needs, and "pagina N di M" at the foot of each.
//!
//! Pure and synchronous (bytes out); callers run it off the async workers. Rendering a three-page
//! letter takes a few milliseconds (`cargo bench --bench feedback_pdf`).

use chrono::NaiveDate;
use printpdf::{Color, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rgb};

use crate::error::AppError;
use crate::pdf::{font, subset, text_op, Placed, MM_PER_PT};

pub const PAGE_W: f32 = 210.0;
pub const PAGE_H: f32 = 297.0;
const MARGIN_X: f32 = 25.0;
const TOP: f32 = 20.0;
/// The body stops above the footer.
const BOTTOM: f32 = 25.0;
const BODY_PT: f32 = 11.0;
const LINE_PT: f32 = 15.0;
const SMALL_PT: f32 = 8.5;

/// What a letter shows. Nothing else of the case goes on paper.
#[derive(Clone, Debug)]
pub struct LetterView<'a> {
    /// The project running the unit (`VARCO_UNIT_NAME`).
    pub unit_name: &'a str,
    /// The letter's reference (`F-7K2M9QXH`).
    pub reference: &'a str,
    /// The referral it answers (`R-…`), which the recipient knows.
    pub referral_reference: &'a str,
    /// The date of the letter (approval), shown dd/mm/yyyy.
    pub date: NaiveDate,
    /// The recipient organisation, as addressed.
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// A rendered letter.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub pages: u32,
}

fn rule(ops: &mut Vec<Op>, y_from_top_mm: f32) {
    let y = Mm(PAGE_H - y_from_top_mm);
    ops.extend([
        Op::SetOutlineColor {
            col: Color::Rgb(Rgb::new(0.45, 0.45, 0.45, None)),
        },
        Op::SetOutlineThickness { pt: Pt(0.6) },
        Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint {
                        p: Point::new(Mm(MARGIN_X), y),
                        bezier: false,
                    },
                    LinePoint {
                        p: Point::new(Mm(PAGE_W - MARGIN_X), y),
                        bezier: false,
                    },
                ],
                is_closed: false,
            },
        },
    ]);
}

/// Renders the letter.
pub fn render(view: &LetterView<'_>) -> Result<Rendered, AppError> {
    let font = font()?;
    let width = PAGE_W - 2.0 * MARGIN_X;
    let line_mm = LINE_PT * MM_PER_PT;
    let date = view.date.format("%d/%m/%Y").to_string();

    // The lines: letterhead, reference and date, recipient, subject, body.
    let mut lines: Vec<String> = Vec::new();
    lines.push(format!(
        "Riferimento: {}    Segnalazione: {}",
        view.reference, view.referral_reference
    ));
    lines.push(format!("Data: {date}"));
    lines.push(String::new());
    lines.extend(font.wrap(
        &format!("Alla cortese attenzione di: {}", view.recipient),
        BODY_PT,
        width,
    ));
    lines.push(String::new());
    lines.extend(font.wrap(&format!("Oggetto: {}", view.subject), BODY_PT, width));
    lines.push(String::new());
    lines.extend(font.wrap(view.body, BODY_PT, width));

    // Laid out over pages (what is placed, and where each page's rule goes).
    let mut pages: Vec<Vec<Placed>> = vec![Vec::new()];
    let mut y = TOP;
    for l in font.wrap(view.unit_name, 14.0, width) {
        y += 6.5;
        pages[0].push(Placed {
            size: 14.0,
            x_mm: MARGIN_X,
            y_mm: y,
            text: l,
        });
    }
    y += 5.0;
    pages[0].push(Placed {
        size: 11.0,
        x_mm: MARGIN_X,
        y_mm: y,
        text: "Unità di crisi e di valutazione".to_owned(),
    });
    let rule_at = y + 3.0;
    y = rule_at + 4.0;
    for line in lines {
        if y + line_mm > PAGE_H - BOTTOM {
            pages.push(Vec::new());
            y = TOP;
            // A continuation page repeats the reference and the date, small.
            if let Some(page) = pages.last_mut() {
                page.push(Placed {
                    size: SMALL_PT,
                    x_mm: MARGIN_X,
                    y_mm: y,
                    text: format!("{} · {date}", view.reference),
                });
            }
            y += 6.0;
        }
        y += line_mm;
        if !line.is_empty() {
            if let Some(page) = pages.last_mut() {
                page.push(Placed {
                    size: BODY_PT,
                    x_mm: MARGIN_X,
                    y_mm: y,
                    text: line,
                });
            }
        }
    }
    let total = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let footer = format!("pagina {} di {total}", i + 1);
        page.push(Placed {
            size: SMALL_PT,
            x_mm: MARGIN_X,
            y_mm: PAGE_H - 12.0,
            text: view.reference.to_owned(),
        });
        page.push(Placed {
            size: SMALL_PT,
            x_mm: PAGE_W - MARGIN_X - font.width_mm(&footer, SMALL_PT),
            y_mm: PAGE_H - 12.0,
            text: footer,
        });
    }

    // Only the glyphs used go into the file.
    let chars = pages
        .iter()
        .flatten()
        .flat_map(|p| p.text.chars())
        .collect::<std::collections::BTreeSet<char>>();
    let mut doc = PdfDocument::new(&format!("Riscontro scritto {}", view.reference));
    let handle = PdfFontHandle::External(doc.add_font(&subset(font, &chars)?));
    let pages: Vec<PdfPage> = pages
        .iter()
        .enumerate()
        .map(|(i, placed)| {
            let mut ops = Vec::new();
            if i == 0 {
                rule(&mut ops, rule_at);
            }
            for p in placed {
                text_op(&mut ops, &handle, p);
            }
            PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops)
        })
        .collect();
    let bytes = doc.with_pages(pages).save(&PdfSaveOptions::default(), &mut Vec::new());
    if !bytes.starts_with(b"%PDF") {
        return Err(AppError::Internal("the letter could not be rendered".into()));
    }
    Ok(Rendered {
        bytes,
        pages: total as u32,
    })
}

/// The SHA-256 of the bytes, lower-case hex: the letter's fingerprint, shown to its recipient.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(body: &str) -> LetterView<'_> {
        LetterView {
            unit_name: "Progetto N.A.Ve – Comune di Venezia",
            reference: "F-7K2M9QXH",
            referral_reference: "R-2345ABCD",
            date: NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"),
            recipient: "Commissione Territoriale di Verona",
            subject: "Riscontro sui colloqui svolti",
            body,
        }
    }

    #[test]
    fn a_short_letter_is_one_small_page_with_the_font_subset() {
        let r = render(&view("Perché è già così: città, più, però — €")).expect("render");
        assert_eq!(r.pages, 1);
        assert!(r.bytes.starts_with(b"%PDF"));
        // The whole DejaVu Sans is 757 KB: subset, a page is a few tens of KB.
        assert!(r.bytes.len() < 60_000, "{} bytes", r.bytes.len());
        // The text reads back, accents and all.
        let doc = lopdf::Document::load_mem(&r.bytes).expect("a PDF");
        let text = doc.extract_text(&[1]).expect("text");
        for expected in [
            "Perché è già così: città, più, però — €",
            "Unità di crisi e di valutazione",
            "Data: 26/11/2026",
            "pagina 1 di 1",
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
        assert_eq!(sha256_hex(b"").len(), 64);
    }

    #[test]
    fn long_bodies_flow_over_pages_and_long_words_are_cut() {
        let font = font().expect("font");
        let lines = font.wrap(&"parola ".repeat(40), BODY_PT, 160.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| font.width_mm(l, BODY_PT) <= 160.0));
        let cut = font.wrap(&"x".repeat(400), BODY_PT, 160.0);
        assert!(cut.len() > 1 && cut.iter().all(|l| font.width_mm(l, BODY_PT) <= 160.0));
        let body = "Si relaziona l'esito dei colloqui svolti. ".repeat(250);
        assert_eq!(render(&view(&body)).expect("render").pages, 3);
    }
}
