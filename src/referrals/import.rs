//! TEMPORARY stub, replaced by the protocols branch at merge (email and PEC parsing).

use chrono::NaiveDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Plain,
    Pec,
}

#[derive(Clone, Debug, Default)]
pub struct PecEnvelope {
    pub sender: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub message_id: Option<String>,
    pub kind: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ImportedMessage {
    pub kind: MessageKind,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub date: Option<NaiveDateTime>,
    pub text: String,
    pub attachments: Vec<String>,
    pub pec: Option<PecEnvelope>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not a message")]
    NotAMessage,
}

pub fn parse_eml(_bytes: &[u8]) -> Result<ImportedMessage, ImportError> {
    Err(ImportError::NotAMessage)
}
