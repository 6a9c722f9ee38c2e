//! Reading a message saved from the crisis unit's mailbox (`.eml`) into the fields of a draft
//! referral: plain email, and Italian certified email (PEC), where the provider wraps the original
//! message (`postacert.eml`) in an envelope with its certificate data (`daticert.xml`).
//!
//! Pure: bytes in, owned values out; no I/O. Errors never carry message content (data protection:
//! they end up in logs and pages).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use mail_parser::decoders::html::html_to_text;
use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};
use serde::Serialize;

/// Larger files are refused before parsing: a referral email with its notes is far smaller, and
/// the whole file is held in memory.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// The parts a PEC provider adds around the original message; never listed as attachments.
const DATICERT: &str = "daticert.xml";
const POSTACERT: &str = "postacert.eml";
const ENVELOPE_PARTS: &[&str] = &[DATICERT, POSTACERT, "smime.p7s"];

/// Plain email or certified email (PEC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Plain,
    Pec,
}

/// What the PEC provider certifies about the original message (from `daticert.xml`, else from the
/// envelope's headers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PecEnvelope {
    /// The certified sender (`<mittente>`).
    pub sender: Option<String>,
    /// When the provider accepted the message, UTC.
    pub sent_at: Option<NaiveDateTime>,
    /// The provider's message identifier (`<identificativo>`), without angle brackets.
    pub message_id: Option<String>,
    /// The envelope type (`tipo` of `<postacert>`): `posta-certificata`, or `errore` for a
    /// transport anomaly.
    pub kind: Option<String>,
}

/// The readable content of a message: for a PEC, of the original message inside the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportedMessage {
    pub kind: MessageKind,
    /// The sender's address only, without the display name.
    pub from: Option<String>,
    pub subject: Option<String>,
    /// The `Date` header, UTC.
    pub date: Option<NaiveDateTime>,
    /// The text/plain body, or the text/html body stripped of tags; trimmed, never empty.
    pub text: String,
    /// Attachment file names, without the PEC envelope's own parts.
    pub attachments: Vec<String>,
    pub pec: Option<PecEnvelope>,
}

/// Why a file cannot be imported. Messages say what is wrong, never what the message contains.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the file is not an email message (no message headers)")]
    NotAMessage,
    #[error("the message has no readable text")]
    NoBody,
    #[error("certified email (PEC) without the original message (postacert.eml): a receipt or a damaged envelope")]
    PecWithoutOriginal,
    #[error("the original message (postacert.eml) of the certified email (PEC) is not an email message")]
    PecOriginalUnreadable,
    /// A receipt of the provider about a message the unit sent: never a referral.
    #[error("a certified email (PEC) receipt, not a referral")]
    PecReceipt,
}

/// What a PEC receipt certifies: the `X-Ricevuta` header of the provider's message, or the `tipo`
/// of `<postacert>` in its `daticert.xml` (DPR 68/2005 technical rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// `accettazione`: the sender's provider accepted the message.
    Acceptance,
    /// `non-accettazione`: the sender's provider refused it.
    NonAcceptance,
    /// `presa-in-carico`: the recipient's provider took it over.
    TakenInCharge,
    /// `avvenuta-consegna`: delivered to the recipient's mailbox.
    Delivery,
    /// `preavviso-errore-consegna`: not delivered within 12 hours (a final receipt follows).
    DeliveryWarning,
    /// `errore-consegna`: could not be delivered.
    DeliveryError,
    /// `rilevazione-virus`: refused for a virus.
    Virus,
}

impl ReceiptKind {
    pub const CODES: &'static [(&'static str, ReceiptKind)] = &[
        ("accettazione", ReceiptKind::Acceptance),
        ("non-accettazione", ReceiptKind::NonAcceptance),
        ("presa-in-carico", ReceiptKind::TakenInCharge),
        ("avvenuta-consegna", ReceiptKind::Delivery),
        ("preavviso-errore-consegna", ReceiptKind::DeliveryWarning),
        ("errore-consegna", ReceiptKind::DeliveryError),
        ("rilevazione-virus", ReceiptKind::Virus),
    ];

    /// The kind of a provider's code, case and blanks ignored.
    pub fn from_code(code: &str) -> Option<ReceiptKind> {
        let code = code.trim();
        Self::CODES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(code))
            .map(|(_, k)| *k)
    }

    /// The provider's code.
    pub fn code(self) -> &'static str {
        Self::CODES
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(c, _)| *c)
            .unwrap_or("accettazione")
    }
}

/// A PEC receipt: what it certifies, about which message the unit sent, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PecReceipt {
    pub kind: ReceiptKind,
    /// The Message-ID of the message it acknowledges (`<msgid>` of `daticert.xml`, else the
    /// `X-Riferimento-Message-ID` header), without angle brackets.
    pub original_message_id: Option<String>,
    /// When the provider issued it, UTC.
    pub at: Option<NaiveDateTime>,
}

/// The receipt a saved message is, if it is one.
pub fn pec_receipt(bytes: &[u8]) -> Option<PecReceipt> {
    if bytes.len() > MAX_MESSAGE_BYTES || bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    receipt_of(&parse_message(bytes)?)
}

/// A receipt is told by its `X-Ricevuta` header or by the `tipo` of its certificate; a
/// transport envelope (`posta-certificata`, `errore`) is not one.
fn receipt_of(outer: &Message<'_>) -> Option<PecReceipt> {
    let xml = outer
        .parts
        .iter()
        .find(|p| has_name(p, DATICERT))
        .map(|p| String::from_utf8_lossy(p.contents()).into_owned())
        .unwrap_or_default();
    let kind = top_header(outer, "X-Ricevuta")
        .and_then(ReceiptKind::from_code)
        .or_else(|| attribute(&xml, "postacert", "tipo").and_then(|t| ReceiptKind::from_code(&t)))?;
    let strip = |id: &str| {
        id.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .to_owned()
    };
    let original_message_id = element_text(&xml, "msgid")
        .map(|id| strip(&id))
        .or_else(|| top_header(outer, "X-Riferimento-Message-ID").map(strip))
        .filter(|id| !id.is_empty());
    Some(PecReceipt {
        kind,
        original_message_id,
        at: parse_daticert(&xml).sent_at.or_else(|| outer.date().and_then(to_utc)),
    })
}

/// Reads an `.eml` file: a plain message, or a PEC envelope whose original message is returned.
pub fn parse_eml(bytes: &[u8]) -> Result<ImportedMessage, ImportError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(ImportError::TooLarge {
            limit: MAX_MESSAGE_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let outer = parse_message(bytes).ok_or(ImportError::NotAMessage)?;
    // A delivery receipt carries the original message as `postacert.eml`: it must not be read
    // as that message (it is the unit's own letter coming back).
    if receipt_of(&outer).is_some() {
        return Err(ImportError::PecReceipt);
    }
    if !is_pec(&outer) {
        return read_message(&outer, MessageKind::Plain, None, Vec::new());
    }

    let envelope = pec_envelope(&outer);
    // Anything the provider's envelope carries besides its own parts (normally nothing).
    let extra = attachment_names(&outer, ENVELOPE_PARTS);
    let original = outer
        .parts
        .iter()
        .find(|p| has_name(p, POSTACERT))
        .ok_or(ImportError::PecWithoutOriginal)?;
    match &original.body {
        PartType::Message(inner) if looks_like_message(inner) => {
            read_message(inner, MessageKind::Pec, Some(envelope), extra)
        }
        PartType::Message(_) | PartType::Multipart(_) => Err(ImportError::PecOriginalUnreadable),
        // Some clients save the original as an opaque attachment: parse its bytes.
        _ => {
            let inner = parse_message(original.contents()).ok_or(ImportError::PecOriginalUnreadable)?;
            read_message(&inner, MessageKind::Pec, Some(envelope), extra)
        }
    }
}

/// Parses bytes as a message only if they start with at least one header mail-parser knows
/// (`From`, `Date`, `Content-Type`…): it accepts almost anything as "headers" otherwise.
fn parse_message(bytes: &[u8]) -> Option<Message<'_>> {
    MessageParser::default().parse(bytes).filter(looks_like_message)
}

fn looks_like_message(m: &Message<'_>) -> bool {
    m.parts
        .first()
        .is_some_and(|root| root.headers.iter().any(|h| !h.name.is_other()))
}

/// A PEC: the provider's `X-Trasporto` header, or a `daticert.xml` part.
fn is_pec(m: &Message<'_>) -> bool {
    let transport = top_header(m, "X-Trasporto").map(|v| v.to_ascii_lowercase());
    matches!(transport.as_deref(), Some("posta-certificata" | "errore"))
        || m.parts.iter().any(|p| has_name(p, DATICERT))
}

/// The text of a top-level header that mail-parser does not know by name.
fn top_header<'a>(m: &'a Message<'_>, name: &str) -> Option<&'a str> {
    m.parts
        .first()?
        .headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .and_then(|h| h.value.as_text())
        .map(str::trim)
}

fn has_name(part: &MessagePart<'_>, name: &str) -> bool {
    part.attachment_name()
        .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
}

fn read_message(
    m: &Message<'_>,
    kind: MessageKind,
    pec: Option<PecEnvelope>,
    extra_attachments: Vec<String>,
) -> Result<ImportedMessage, ImportError> {
    // Whatever the sender put in: control characters are not text (nor storable on PostgreSQL).
    let clean = crate::domain::text::clean;
    let text = readable_text(m)
        .map(|t| clean(&t))
        .filter(|t| !t.trim().is_empty())
        .ok_or(ImportError::NoBody)?;
    let mut attachments = attachment_names(m, &[]);
    attachments.extend(extra_attachments);
    let attachments = attachments.iter().map(|a| clean(a)).collect();
    Ok(ImportedMessage {
        kind,
        from: m
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(clean)
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty()),
        subject: non_empty(m.subject().map(clean).as_deref()),
        date: m.date().and_then(to_utc),
        text,
        attachments,
        pec,
    })
}

/// The text/plain parts, or failing those the HTML parts without tags.
fn readable_text(m: &Message<'_>) -> Option<String> {
    let collect = |ids: &[u32]| -> String {
        let texts: Vec<String> = ids
            .iter()
            .filter_map(|id| m.parts.get(*id as usize))
            .filter_map(|p| match &p.body {
                PartType::Text(t) => Some(t.to_string()),
                PartType::Html(h) => Some(html_to_text(h)),
                _ => None,
            })
            .collect();
        tidy(&texts.join("\n\n"))
    };
    let text = collect(&m.text_body);
    let text = if text.is_empty() { collect(&m.html_body) } else { text };
    (!text.is_empty()).then_some(text)
}

/// Unix line ends, no trailing spaces, at most one blank line in a row, trimmed.
fn tidy(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank_lines += 1;
            if blank_lines > 1 {
                continue;
            }
        } else {
            blank_lines = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned()
}

fn attachment_names(m: &Message<'_>, skip: &[&str]) -> Vec<String> {
    m.attachments()
        .filter(|p| !skip.iter().any(|s| has_name(p, s)))
        .map(|p| match (non_empty(p.attachment_name()), &p.body) {
            (Some(name), _) => name,
            // A forwarded message without a file name: use its subject, as mail clients do.
            (None, PartType::Message(inner)) => {
                format!("{}.eml", non_empty(inner.subject()).unwrap_or_else(|| "message".into()))
            }
            (None, _) => "(unnamed)".to_owned(),
        })
        .collect()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn to_utc(d: &mail_parser::DateTime) -> Option<NaiveDateTime> {
    if !d.is_valid() {
        return None;
    }
    chrono::DateTime::from_timestamp(d.to_timestamp(), 0).map(|d| d.naive_utc())
}

/// The envelope's certificate data: `daticert.xml` first, the envelope's headers where it is
/// missing or silent.
fn pec_envelope(outer: &Message<'_>) -> PecEnvelope {
    let xml = outer
        .parts
        .iter()
        .find(|p| has_name(p, DATICERT))
        .map(|p| String::from_utf8_lossy(p.contents()).into_owned())
        .unwrap_or_default();
    let from_xml = parse_daticert(&xml);
    PecEnvelope {
        sender: from_xml.sender.or_else(|| {
            // Providers set Reply-To to the original sender ("Per conto di: …" is in From).
            outer
                .reply_to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_owned)
        }),
        sent_at: from_xml.sent_at.or_else(|| outer.date().and_then(to_utc)),
        message_id: from_xml.message_id.or_else(|| non_empty(outer.message_id())),
        kind: from_xml
            .kind
            .or_else(|| top_header(outer, "X-Trasporto").map(str::to_owned)),
    }
}

/// The few fields of `daticert.xml` Varco needs, by plain string search: the format is fixed
/// (DPR 68/2005 technical rules) and a whole XML parser is not worth its weight here.
fn parse_daticert(xml: &str) -> PecEnvelope {
    let sent_at = element_text(xml, "giorno")
        .zip(element_text(xml, "ora"))
        .and_then(|(day, time)| {
            let date = NaiveDate::parse_from_str(&day, "%d/%m/%Y").ok()?;
            let time = NaiveTime::parse_from_str(&time, "%H:%M:%S").ok()?;
            let local = date.and_time(time);
            match attribute(xml, "data", "zona") {
                Some(zone) => Some(local - TimeDelta::seconds(utc_offset_seconds(&zone)?)),
                // No zone given: the providers are Italian, so Italian time.
                None => chrono_tz::Europe::Rome
                    .from_local_datetime(&local)
                    .earliest()
                    .map(|d| d.naive_utc()),
            }
        });
    PecEnvelope {
        sender: element_text(xml, "mittente"),
        sent_at,
        message_id: element_text(xml, "identificativo")
            .map(|id| id.trim_start_matches('<').trim_end_matches('>').to_owned()),
        kind: attribute(xml, "postacert", "tipo"),
    }
}

/// `+0100`, `-0530`, `+01:00` → seconds east of UTC.
fn utc_offset_seconds(zone: &str) -> Option<i64> {
    let zone = zone.trim();
    let sign = match zone.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// Byte range of the first start tag `<name …>` (not `<name-other>` or `<names>`).
fn start_tag(xml: &str, name: &str) -> Option<(usize, usize)> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(found) = xml[from..].find(&open) {
        let start = from + found;
        let after = start + open.len();
        match xml[after..].chars().next() {
            Some(c) if c == '>' || c == '/' || c.is_whitespace() => {
                let end = after + xml[after..].find('>')?;
                return Some((start, end + 1));
            }
            Some(_) => from = after,
            None => return None,
        }
    }
    None
}

/// The text of the first element `name`, entities decoded, trimmed; `None` when empty.
fn element_text(xml: &str, name: &str) -> Option<String> {
    let (_, content_start) = start_tag(xml, name)?;
    let close = format!("</{name}>");
    let len = xml[content_start..].find(&close)?;
    let text = decode_entities(xml[content_start..content_start + len].trim());
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// An attribute of the first element `name`.
fn attribute(xml: &str, name: &str, attr: &str) -> Option<String> {
    let (start, end) = start_tag(xml, name)?;
    let tag = &xml[start..end];
    let pattern = format!("{attr}=");
    let mut from = 0;
    while let Some(found) = tag[from..].find(&pattern) {
        let at = from + found;
        from = at + pattern.len();
        if !tag[..at].ends_with(char::is_whitespace) {
            continue; // `xtipo=` is not `tipo=`
        }
        let rest = &tag[from..];
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value = &rest[1..];
        let len = value.find(quote)?;
        let value = decode_entities(value[..len].trim());
        return (!value.is_empty()).then_some(value);
    }
    None
}

/// The five XML entities and numeric character references.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|semi| *semi <= 10).and_then(|semi| {
            let c = match &rest[1..semi] {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                num => {
                    let code = match num.strip_prefix("#x").or_else(|| num.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const PLAIN: &[u8] = include_bytes!("../../tests/fixtures/eml/plain.eml");
    const HTML_ONLY: &[u8] = include_bytes!("../../tests/fixtures/eml/html_only.eml");
    const PEC: &[u8] = include_bytes!("../../tests/fixtures/eml/pec.eml");
    const BROKEN: &[u8] = include_bytes!("../../tests/fixtures/eml/broken.eml");
    const PEC_WITHOUT_ORIGINAL: &[u8] = include_bytes!("../../tests/fixtures/eml/pec_without_original.eml");
    const FIXTURES: &[&[u8]] = &[PLAIN, HTML_ONLY, PEC, BROKEN, PEC_WITHOUT_ORIGINAL];

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("a test date")
    }

    #[test]
    fn a_plain_quoted_printable_message_keeps_its_accents() {
        let m = parse_eml(PLAIN).expect("plain.eml");
        assert_eq!(m.kind, MessageKind::Plain);
        assert_eq!(m.from.as_deref(), Some("ct.verona@interno.example"));
        assert_eq!(
            m.subject.as_deref(),
            Some("Segnalazione potenziale vittima di tratta – consenso acquisito")
        );
        // 10:15 +0100
        assert_eq!(m.date, Some(utc("2026-11-24 09:15:00")));
        assert!(
            m.text
                .starts_with("Gentili colleghi dell'Unità di crisi e di valutazione,"),
            "{}",
            m.text
        );
        assert!(m.text.contains("l'alias «Aurora», già ascoltata in audizione"));
        assert!(m.text.contains("è stata considerata potenziale vittima di tratta."));
        assert!(m.text.contains("ha prestato il consenso"));
        assert!(m.text.contains("perché la persona"));
        assert!(m.text.ends_with("Commissione Territoriale di Verona"));
        assert!(!m.text.contains('\r') && !m.text.contains("=C3"));
        assert!(m.attachments.is_empty());
        assert!(m.pec.is_none());
    }

    #[test]
    fn an_html_only_message_is_read_without_tags() {
        let m = parse_eml(HTML_ONLY).expect("html_only.eml");
        assert_eq!(m.kind, MessageKind::Plain);
        assert_eq!(m.from.as_deref(), Some("operatrice@coop-accoglienza.example"));
        assert_eq!(m.subject.as_deref(), Some("Segnalazione ospite è urgente"));
        // 18:40 -0500 is 23:40 UTC.
        assert_eq!(m.date, Some(utc("2026-11-23 23:40:00")));
        assert!(m.text.starts_with("Buongiorno,"), "{}", m.text);
        assert!(
            m.text.contains("(alias «Stella») è uscita più volte di notte"),
            "{}",
            m.text
        );
        assert!(m.text.contains("un colloquio in città."), "{}", m.text);
        for leftover in ["<", ">", "&egrave;", "color:", "Segnalazione</title"] {
            assert!(!m.text.contains(leftover), "{leftover} in {}", m.text);
        }
    }

    #[test]
    fn a_pec_yields_the_original_message_and_the_certificate() {
        let m = parse_eml(PEC).expect("pec.eml");
        assert_eq!(m.kind, MessageKind::Pec);
        // The original, not the provider's envelope ("POSTA CERTIFICATA: …", posta-certificata@…).
        assert_eq!(m.from.as_deref(), Some("prefettura.verona@pec.interno.example"));
        assert_eq!(
            m.subject.as_deref(),
            Some("Segnalazione art. 18 – richiesta di colloquio")
        );
        assert_eq!(m.date, Some(utc("2026-11-25 08:30:05")));
        assert!(
            m.text.starts_with("Alla cortese attenzione dell'Unità di crisi"),
            "{}",
            m.text
        );
        assert!(m.text.contains("(alias «Luce»)"));
        assert!(!m.text.contains("Messaggio di posta certificata"));
        assert_eq!(m.attachments, ["nota_prefettura.pdf"]);
        let pec = m.pec.expect("the envelope");
        assert_eq!(pec.sender.as_deref(), Some("prefettura.verona@pec.interno.example"));
        // 09:30:12 in zone +0100.
        assert_eq!(pec.sent_at, Some(utc("2026-11-25 08:30:12")));
        assert_eq!(
            pec.message_id.as_deref(),
            Some("opec21.20261125093012.54321.2.1@pec.gestore.example")
        );
        assert_eq!(pec.kind.as_deref(), Some("posta-certificata"));
    }

    /// pec.eml as text, with `from` replaced by `to` (which must be there).
    fn pec_with(from: &str, to: &str) -> String {
        let text = String::from_utf8_lossy(PEC).into_owned();
        assert!(text.contains(from), "{from}");
        text.replace(from, to)
    }

    #[test]
    fn a_flat_pec_envelope_is_recognised_by_its_daticert() {
        // As providers that skip the multipart/signed wrapper send it, without X-Trasporto.
        let flat = pec_with(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; \
             boundary=\"----=_Part_env_signed\"\r\n\r\nThis is a cryptographically signed message in MIME \
             format.\r\n\r\n------=_Part_env_signed\r\n",
            "",
        );
        let flat = flat.replace("X-Trasporto: posta-certificata\r\n", "");
        assert!(!flat.contains("X-Trasporto"));
        let m = parse_eml(flat.as_bytes()).expect("flat envelope");
        assert_eq!(m.kind, MessageKind::Pec);
        assert_eq!(
            m.subject.as_deref(),
            Some("Segnalazione art. 18 – richiesta di colloquio")
        );
        assert_eq!(m.pec.and_then(|p| p.sent_at), Some(utc("2026-11-25 08:30:12")));
    }

    #[test]
    fn a_pec_without_daticert_takes_the_envelope_from_its_headers() {
        let text = pec_with("filename=\"daticert.xml\"", "filename=\"other.xml\"")
            .replace("name=\"daticert.xml\"", "name=\"other.xml\"");
        let m = parse_eml(text.as_bytes()).expect("PEC by X-Trasporto");
        assert_eq!(m.kind, MessageKind::Pec);
        // Not an envelope part any more, so listed; the signature still is not.
        assert_eq!(m.attachments, ["nota_prefettura.pdf", "other.xml"]);
        let pec = m.pec.expect("the envelope");
        assert_eq!(pec.sender.as_deref(), Some("prefettura.verona@pec.interno.example"));
        assert_eq!(pec.sent_at, Some(utc("2026-11-25 08:30:12")));
        assert_eq!(
            pec.message_id.as_deref(),
            Some("opec21.20261125093012.54321.2.1@pec.gestore.example")
        );
        assert_eq!(pec.kind.as_deref(), Some("posta-certificata"));
    }

    #[test]
    fn a_multipart_alternative_message_prefers_its_plain_text() {
        // The original inside pec.eml, read on its own: multipart/mixed { alternative { base64
        // text/plain, quoted-printable text/html }, a PDF }.
        let text = String::from_utf8_lossy(PEC).into_owned();
        let start = text.find("Date: Wed, 25 Nov 2026 09:30:05").expect("the original");
        let end = text.find("------=_Part_env_mixed--").expect("the envelope's end");
        let m = parse_eml(&text.as_bytes()[start..end]).expect("the original");
        assert_eq!(m.kind, MessageKind::Plain);
        assert!(m.pec.is_none());
        assert_eq!(m.date, Some(utc("2026-11-25 08:30:05")));
        // The plain part keeps its blank lines; the HTML one would not.
        assert!(
            m.text.contains("di valutazione,\n\nla Prefettura di Verona"),
            "{}",
            m.text
        );
        assert_eq!(m.attachments, ["nota_prefettura.pdf"]);
    }

    #[test]
    fn a_pec_without_the_original_is_refused() {
        assert_eq!(parse_eml(PEC_WITHOUT_ORIGINAL), Err(ImportError::PecWithoutOriginal));
    }

    #[test]
    fn a_message_cut_off_before_its_body_has_no_body() {
        assert_eq!(parse_eml(BROKEN), Err(ImportError::NoBody));
    }

    #[test]
    fn garbage_is_not_a_message() {
        assert_eq!(parse_eml(b""), Err(ImportError::Empty));
        assert_eq!(parse_eml(b" \r\n\t"), Err(ImportError::Empty));
        assert_eq!(parse_eml(b"just some words\nand more"), Err(ImportError::NotAMessage));
        assert_eq!(parse_eml(b"Hello: world\n\nbody"), Err(ImportError::NotAMessage));
        assert_eq!(
            parse_eml(b"%PDF-1.4\n\x00\x01\x02\xff\xfe"),
            Err(ImportError::NotAMessage)
        );
        assert_eq!(parse_eml(b"Subject: only a subject\r\n\r\n"), Err(ImportError::NoBody));
    }

    #[test]
    fn errors_never_echo_the_message() {
        for e in [
            ImportError::Empty,
            ImportError::TooLarge { limit: 1 },
            ImportError::NotAMessage,
            ImportError::NoBody,
            ImportError::PecWithoutOriginal,
            ImportError::PecOriginalUnreadable,
            ImportError::PecReceipt,
        ] {
            let text = e.to_string();
            assert!(!text.contains("Aurora") && !text.contains('@'), "{text}");
        }
    }

    #[test]
    fn random_bytes_and_truncated_fixtures_never_panic() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_0004);
        for _ in 0..500 {
            let len = rng.gen_range(0..2048);
            let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            assert!(parse_eml(&bytes).is_err());
        }
        for fixture in FIXTURES {
            for cut in (0..fixture.len()).step_by(7) {
                let _ = parse_eml(&fixture[..cut]);
            }
            // Flipped bytes inside an otherwise valid message.
            for _ in 0..200 {
                let mut bytes = fixture.to_vec();
                for _ in 0..8 {
                    let at = rng.gen_range(0..bytes.len());
                    bytes[at] = rng.gen();
                }
                let _ = parse_eml(&bytes);
            }
        }
    }

    /// A delivery receipt as providers send it: the original message inside as `postacert.eml`.
    fn delivery_receipt(with_header: bool) -> String {
        let xml = "<postacert tipo=\"avvenuta-consegna\" errore=\"nessuno\"><dati>\
            <data zona=\"+0100\"><giorno>26/11/2026</giorno><ora>10:00:00</ora></data>\
            <identificativo>opec.1@pec.gestore.example</identificativo>\
            <msgid>&lt;letter-1@unit.example&gt;</msgid><consegna>ct@pec.example</consegna></dati></postacert>";
        let header = if with_header {
            "X-Ricevuta: avvenuta-consegna\r\n"
        } else {
            ""
        };
        format!(
            "{header}From: posta-certificata@pec.gestore.example\r\nTo: unit@pec.example\r\n\
             Subject: CONSEGNA: Riscontro scritto\r\nDate: Thu, 26 Nov 2026 10:00:01 +0100\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nRicevuta di avvenuta consegna\r\n\
             --b\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\n\
             Content-Disposition: attachment; filename=\"daticert.xml\"\r\n\r\n{xml}\r\n\
             --b\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\n\
             Content-Disposition: attachment; filename=\"postacert.eml\"\r\n\r\n\
             From: unit@pec.example\r\nTo: ct@pec.example\r\nSubject: Riscontro scritto\r\n\
             Message-ID: <letter-1@unit.example>\r\n\r\nIn allegato il riscontro.\r\n--b--\r\n"
        )
    }

    #[test]
    fn a_receipt_is_recognised_and_never_read_as_its_original() {
        for with_header in [true, false] {
            let text = delivery_receipt(with_header);
            let r = pec_receipt(text.as_bytes()).expect("a receipt");
            assert_eq!(r.kind, ReceiptKind::Delivery);
            assert_eq!(r.original_message_id.as_deref(), Some("letter-1@unit.example"));
            assert_eq!(r.at, Some(utc("2026-11-26 09:00:00")));
            assert_eq!(parse_eml(text.as_bytes()), Err(ImportError::PecReceipt));
        }
        // The referral fixtures are not receipts.
        for fixture in [PLAIN, HTML_ONLY, PEC, PEC_WITHOUT_ORIGINAL] {
            assert_eq!(pec_receipt(fixture), None);
        }
        assert_eq!(
            ReceiptKind::from_code(" Errore-Consegna "),
            Some(ReceiptKind::DeliveryError)
        );
        assert_eq!(ReceiptKind::from_code("posta-certificata"), None);
        for (code, kind) in ReceiptKind::CODES {
            assert_eq!(kind.code(), *code);
        }
    }

    #[test]
    fn daticert_fields_are_found_by_name() {
        let xml = r#"<postacert tipo="errore" errore="no-dest"><dati>
            <data zona="-0030"><giorno>01/03/2026</giorno><ora>23:45:00</ora></data>
            <identificativo>&lt;id@x&gt;</identificativo><mittente> a&amp;b@x.example </mittente>
            </dati></postacert>"#;
        let e = parse_daticert(xml);
        assert_eq!(e.kind.as_deref(), Some("errore"));
        assert_eq!(e.sent_at, Some(utc("2026-03-02 00:15:00")));
        assert_eq!(e.message_id.as_deref(), Some("id@x"));
        assert_eq!(e.sender.as_deref(), Some("a&b@x.example"));
        // Without a zone: Italian time (summer time in July).
        let e = parse_daticert("<data><giorno>01/07/2026</giorno><ora>12:00:00</ora></data>");
        assert_eq!(e.sent_at, Some(utc("2026-07-01 10:00:00")));
        assert_eq!(
            parse_daticert("<postacert><giorno>99/99/2026</giorno>"),
            PecEnvelope {
                sender: None,
                sent_at: None,
                message_id: None,
                kind: None,
            }
        );
        assert_eq!(decode_entities("&#232; &#xE0; &bogus; & x"), "è à &bogus; & x");
        assert_eq!(utc_offset_seconds("+01:00"), Some(3600));
        assert_eq!(utc_offset_seconds("0100"), None);
    }
}
