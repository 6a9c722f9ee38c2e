//! PDF text with printpdf: DejaVu Sans embedded and subset to the glyphs used, widths, wrapping
//! and placed runs of text. Shared by the written feedback letters and the 1522 report.

use std::sync::OnceLock;

use printpdf::{Mm, Op, ParsedFont, PdfFontHandle, Point, Pt, TextItem};

use crate::error::AppError;

/// DejaVu Sans (Debian's `fonts-dejavu-core`; licence in `assets/fonts/DejaVu-LICENSE.txt`):
/// every Italian accent, the euro, typographic quotes and dashes.
pub const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Millimetres per typographic point.
pub const MM_PER_PT: f32 = 25.4 / 72.0;
/// The height of an A4 page, mm.
const PAGE_H: f32 = 297.0;

/// The parsed face.
pub struct Font {
    pub parsed: ParsedFont,
}

/// The face, parsed once.
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

/// The operations that show a run on an A4 page.
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
