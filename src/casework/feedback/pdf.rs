//! A feedback letter as PDF (printpdf, DejaVu Sans embedded and subset to the glyphs used):
//! letterhead, reference and date, recipient, subject, the body wrapped to the page width across
//! as many A4 pages as it needs, and "pagina N di M" at the foot of each.
//!
//! Pure and synchronous (bytes out); callers run it off the async workers. Rendering a three-page
//! letter takes a few milliseconds (`cargo bench --bench feedback_pdf`).

use std::sync::OnceLock;

use chrono::NaiveDate;
use printpdf::{
    Color, Line, LinePoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rgb,
    TextItem,
};

use crate::error::AppError;

/// DejaVu Sans (Debian's `fonts-dejavu-core`; licence in `assets/fonts/DejaVu-LICENSE.txt`):
/// every Italian accent, the euro, typographic quotes and dashes.
const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

pub const PAGE_W: f32 = 210.0;
pub const PAGE_H: f32 = 297.0;
const MARGIN_X: f32 = 25.0;
const TOP: f32 = 20.0;
/// The body stops above the footer.
const BOTTOM: f32 = 25.0;
const BODY_PT: f32 = 11.0;
const LINE_PT: f32 = 15.0;
const SMALL_PT: f32 = 8.5;
const MM_PER_PT: f32 = 25.4 / 72.0;

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

/// The embedded font, parsed once (shared with the observatory's PDF).
pub struct Font {
    parsed: ParsedFont,
}

pub fn font() -> Result<&'static Font, AppError> {
    static PARSED: OnceLock<Option<Font>> = OnceLock::new();
    PARSED
        .get_or_init(|| ParsedFont::from_bytes(FONT, 0, &mut Vec::new()).map(|parsed| Font { parsed }))
        .as_ref()
        .ok_or_else(|| AppError::Internal("the embedded font cannot be read".into()))
}

impl Font {
    /// Width of `text` at `size` points, in millimetres.
    pub fn width_mm(&self, text: &str, size: f32) -> f32 {
        let units = f32::from(self.parsed.units_per_em.max(1));
        let advance: u32 = text
            .chars()
            .map(|c| {
                self.parsed
                    .lookup_glyph_index(c as u32)
                    .and_then(|g| self.parsed.get_glyph_width(g))
                    .map(u32::from)
                    .unwrap_or(units as u32 / 2)
            })
            .sum();
        advance as f32 / units * size * MM_PER_PT
    }

    /// `text` broken into lines no wider than `max_mm` at `size`: at spaces, and inside a word
    /// only when the word alone is wider than the line. Blank lines are kept.
    pub fn wrap(&self, text: &str, size: f32, max_mm: f32) -> Vec<String> {
        let mut out = Vec::new();
        for paragraph in text.replace("\r\n", "\n").split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width_mm(&candidate, size) <= max_mm {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                // A word wider than the line (a long address, a link): cut it.
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    if self.width_mm(&piece, size) > max_mm {
                        piece.pop();
                        out.push(std::mem::take(&mut piece));
                        piece.push(c);
                    }
                }
                line = piece;
            }
            out.push(line);
        }
        while out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        out
    }
}

/// One run of text placed on a page.
pub struct Placed {
    pub size: f32,
    pub x_mm: f32,
    /// From the top of the page.
    pub y_mm: f32,
    pub text: String,
}

/// Writes one run of text (`PAGE_H` from the top: A4 portrait).
pub fn text_op(ops: &mut Vec<Op>, font: &PdfFontHandle, t: &Placed) {
    ops.extend([
        Op::StartTextSection,
        Op::SetFont {
            font: font.clone(),
            size: Pt(t.size),
        },
        Op::SetTextCursor {
            pos: Point::new(Mm(t.x_mm), Mm(PAGE_H - t.y_mm)),
        },
        Op::ShowText {
            items: vec![TextItem::Text(t.text.clone())],
        },
        Op::EndTextSection,
    ]);
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

/// DejaVu Sans cut down to the glyphs of `chars` (and `.notdef`): printpdf embeds fonts whole
/// without its layout engine, and the whole face is 757 KB in every letter.
pub fn subset(font: &Font, chars: &std::collections::BTreeSet<char>) -> Result<ParsedFont, AppError> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{subset, CmapTarget, SubsetProfile};
    let fail = |what: &str| AppError::Internal(format!("font subset: {what}"));
    let mut ids: Vec<u16> = vec![0];
    let mut found: Vec<u16> = chars
        .iter()
        .filter_map(|c| font.parsed.lookup_glyph_index(*c as u32))
        .filter(|g| *g != 0)
        .collect();
    found.sort_unstable();
    found.dedup();
    ids.extend(found);
    let data = ReadScope::new(FONT)
        .read::<FontData<'_>>()
        .map_err(|_| fail("the font cannot be read"))?;
    let provider = data.table_provider(0).map_err(|_| fail("no face"))?;
    let bytes =
        subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode).map_err(|_| fail("subsetting failed"))?;
    ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).ok_or_else(|| fail("the subset cannot be read"))
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
