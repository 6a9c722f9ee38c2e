//! TEMPORARY stub, replaced by the notify branch at merge.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::outbox;
use crate::db::DbConn;
use crate::error::AppError;
use crate::web::i18n::Lang;

pub struct NewMessage {
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub kind: &'static str,
    pub reference: Option<String>,
}

#[derive(Clone, Copy, Debug)]
pub enum Template {
    NewReferral,
    Emergency,
    Escalation,
    Overdue,
    Decision,
    Feedback,
    ConsentWithdrawn,
}

impl Template {
    pub fn kind(self) -> &'static str {
        match self {
            Template::NewReferral => "new_referral",
            Template::Emergency => "emergency",
            Template::Escalation => "escalation",
            Template::Overdue => "overdue",
            Template::Decision => "decision",
            Template::Feedback => "feedback",
            Template::ConsentWithdrawn => "consent_withdrawn",
        }
    }
}

pub fn render(t: Template, reference: &str, link: &str, _lang: Lang) -> (String, String) {
    (
        format!("[Varco] {} {reference}", t.kind()),
        format!("{reference}\n{link}\n"),
    )
}

pub fn enqueue(conn: &mut DbConn, m: &NewMessage, now: NaiveDateTime) -> Result<i64, AppError> {
    Ok(diesel::insert_into(outbox::table)
        .values((
            outbox::recipient.eq(&m.recipient),
            outbox::subject.eq(&m.subject),
            outbox::body_text.eq(&m.body_text),
            outbox::kind.eq(m.kind),
            outbox::reference.eq(&m.reference),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .returning(outbox::id)
        .get_result(conn)?)
}
