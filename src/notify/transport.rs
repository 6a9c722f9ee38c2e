//! How messages leave: an SMTP server, or `.eml` files in the mail folder when none is set.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;
use crate::error::AppError;

/// How long one SMTP command may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A folder receiving one `.eml` file per message.
    Folder(PathBuf),
}

impl std::fmt::Debug for Transport {
    // The SMTP URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp(_) => f.write_str("Transport::Smtp"),
            Transport::Folder(p) => write!(f, "Transport::Folder({})", p.display()),
        }
    }
}

impl Transport {
    /// The transport the settings name: `smtp_url` when set, else `mail_dir` (created if missing).
    pub fn from_settings(settings: &Settings) -> Result<Transport, AppError> {
        sender(settings)?;
        match settings.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => {
                // The error would echo the URL, password included: name the setting instead.
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|_| AppError::Unavailable("VARCO_SMTP_URL: not a valid SMTP URL".into()))?;
                Ok(Transport::Smtp(builder.timeout(Some(SMTP_TIMEOUT)).build()))
            }
            None => {
                let dir = PathBuf::from(&settings.mail_dir);
                crate::db::files::private_dir(&dir)
                    .map_err(|e| AppError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
                Ok(Transport::Folder(dir))
            }
        }
    }

    /// Sends one message; the error is a short technical description, safe to store and show.
    pub async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| describe_smtp(&e)),
            Transport::Folder(dir) => {
                // Written here rather than by lettre's file transport: a message is a private
                // file (0600) from its first byte, and appears whole or not at all.
                let dir = dir.clone();
                let bytes = message.formatted();
                let written = actix_web::web::block(move || {
                    // Recreated in case it was removed while the service runs.
                    crate::db::files::private_dir(&dir)?;
                    let path = dir.join(format!("{}.eml", uuid::Uuid::new_v4()));
                    crate::db::files::write_private_atomic(&path, &bytes)
                })
                .await;
                match written {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("mail folder: {}", e.kind())),
                    Err(_) => Err("mail folder: write failed".into()),
                }
            }
        }
    }
}

/// The `From:` of every message.
pub fn sender(settings: &Settings) -> Result<Mailbox, AppError> {
    settings
        .mail_from
        .parse()
        .map_err(|_| AppError::Unavailable("VARCO_MAIL_FROM: not an email address".into()))
}

/// The header naming the referral a message is about, for filtering and support.
#[derive(Clone)]
struct XVarcoReference(String);

impl Header for XVarcoReference {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Varco-Reference")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(XVarcoReference(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Builds a plain-text message. The body is quoted-printable: accented Italian stays readable in
/// the raw message and no server has to accept 8-bit data.
pub fn build_message(
    from: Mailbox,
    recipient: &str,
    subject: &str,
    body: &str,
    reference: &str,
) -> Result<Message, String> {
    build_message_with(from, recipient, subject, body, reference, None, None)
}

/// [`build_message`] with a chosen `Message-ID` (without angle brackets: what PEC receipts quote
/// back) and a file attached (`multipart/mixed`: the text, then the file in base64).
pub fn build_message_with(
    from: Mailbox,
    recipient: &str,
    subject: &str,
    body: &str,
    reference: &str,
    message_id: Option<&str>,
    attachment: Option<(&str, &[u8])>,
) -> Result<Message, String> {
    let to: Mailbox = recipient.parse().map_err(|_| "invalid recipient address".to_owned())?;
    let body = Body::new_with_encoding(body.to_owned(), ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| "body cannot be encoded".to_owned())?;
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        // `<uuid@host>` when none was chosen: relays add one when missing, the mail folder would not.
        .message_id(message_id.map(|id| format!("<{id}>")))
        .header(XVarcoReference(reference.to_owned()));
    match attachment {
        None => builder.header(ContentType::TEXT_PLAIN).body(body),
        Some((name, bytes)) => {
            let content_type = if name.to_ascii_lowercase().ends_with(".pdf") {
                "application/pdf"
            } else {
                "application/octet-stream"
            };
            let content_type = ContentType::parse(content_type).map_err(|_| "bad content type".to_owned())?;
            let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body);
            let file = lettre::message::Attachment::new(name.to_owned()).body(Body::new(bytes.to_vec()), content_type);
            builder.multipart(MultiPart::mixed().singlepart(text).singlepart(file))
        }
    }
    .map_err(|_| "message cannot be built".to_owned())
}

/// The kind of the first I/O error in a chain ("connection refused", "timed out"): never the
/// server's text, which may quote the recipient.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

fn describe_smtp(e: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = e.status() {
        let what = if e.is_permanent() {
            "permanent rejection"
        } else {
            "temporary failure"
        };
        return format!("SMTP {code}: {what}");
    }
    if e.is_timeout() {
        return "SMTP: timed out".into();
    }
    if e.is_tls() {
        return "SMTP: TLS failure".into();
    }
    if let Some(kind) = io_kind(e) {
        return format!("SMTP: {kind}");
    }
    if e.is_response() {
        return "SMTP: unreadable response".into();
    }
    "SMTP: delivery failed".into()
}
