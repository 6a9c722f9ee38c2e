//! Feedback letters in the database. Every change is one `UPDATE … WHERE id AND version AND
//! status` (the lifecycle's state), so that a stale or illegal change touches nothing.
//!
//! The PDF and its SHA-256 are written by [`approve`] only, on a draft, and no statement here
//! writes them again: once approved, a letter's PDF never changes (a test compares the bytes and
//! the hash before and after sending and after its receipts).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;

use super::{Delivery, LetterStatus, RecipientRole};
use crate::crypto::Sealed;
use crate::db::schema::{feedback_letters, outbox};
use crate::db::DbConn;
use crate::domain::{CaseId, LetterId, MessageId, OrgId, ReferralId, UserId, Version};
use crate::error::AppError;

/// A letter as stored, without its PDF (read with [`pdf_of`]).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = feedback_letters)]
pub struct LetterRow {
    pub id: LetterId,
    pub reference: String,
    pub case_id: CaseId,
    pub referral_id: ReferralId,
    pub recipient_org_id: OrgId,
    pub recipient_role: RecipientRole,
    pub status: LetterStatus,
    pub body: Sealed,
    pub drafted_by: Option<UserId>,
    pub drafted_at: NaiveDateTime,
    pub edited_by: Option<UserId>,
    pub approved_by: Option<UserId>,
    pub approved_at: Option<NaiveDateTime>,
    pub pdf_sha256: Option<String>,
    pub pdf_pages: Option<i32>,
    pub sent_by: Option<UserId>,
    pub sent_at: Option<NaiveDateTime>,
    pub recipient_email: Option<String>,
    pub outbox_id: Option<MessageId>,
    pub message_id: Option<String>,
    pub delivery: Option<Delivery>,
    pub accepted_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub not_delivered_at: Option<NaiveDateTime>,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A letter with the state of its email in the outbox (none before it is sent).
#[derive(Clone, Debug)]
pub struct Letter {
    pub row: LetterRow,
    pub outbox: Option<crate::notify::Status>,
}

impl Letter {
    /// Where the letter's email is: what the receipts said, else the outbox's state.
    pub fn delivery(&self) -> Option<Delivery> {
        self.row
            .delivery
            .map(|stored| super::effective_delivery(stored, self.outbox))
    }
}

const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

fn new_reference() -> String {
    let mut rng = rand::thread_rng();
    let code: String = (0..8)
        .map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char)
        .collect();
    format!("F-{code}")
}

/// A draft to store.
pub struct NewDraft {
    pub case_id: CaseId,
    pub referral_id: ReferralId,
    pub recipient_org_id: OrgId,
    pub recipient_role: RecipientRole,
    pub body: Sealed,
    pub drafted_by: Option<UserId>,
}

pub fn insert_draft(conn: &mut DbConn, d: &NewDraft, now: NaiveDateTime) -> Result<LetterRow, AppError> {
    Ok(diesel::insert_into(feedback_letters::table)
        .values((
            feedback_letters::reference.eq(new_reference()),
            feedback_letters::case_id.eq(d.case_id),
            feedback_letters::referral_id.eq(d.referral_id),
            feedback_letters::recipient_org_id.eq(d.recipient_org_id),
            feedback_letters::recipient_role.eq(d.recipient_role),
            feedback_letters::status.eq(LetterStatus::Draft),
            feedback_letters::body.eq(&d.body),
            feedback_letters::drafted_by.eq(d.drafted_by),
            feedback_letters::drafted_at.eq(now),
            feedback_letters::version.eq(Version::FIRST),
            feedback_letters::created_at.eq(now),
            feedback_letters::updated_at.eq(now),
        ))
        .returning(crate::db::columns::<LetterRow>())
        .get_result(conn)?)
}

/// True when a letter to `org` in `role` about `referral` is being written or waits to be sent.
pub fn unsent_exists(
    conn: &mut DbConn,
    referral: ReferralId,
    org: OrgId,
    role: RecipientRole,
) -> Result<bool, AppError> {
    let found: Option<LetterId> = feedback_letters::table
        .filter(feedback_letters::referral_id.eq(referral))
        .filter(feedback_letters::recipient_org_id.eq(org))
        .filter(feedback_letters::recipient_role.eq(role))
        .filter(feedback_letters::status.ne(LetterStatus::Sent))
        .select(feedback_letters::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Adds the outbox's state to rows.
fn with_outbox(conn: &mut DbConn, rows: Vec<LetterRow>) -> Result<Vec<Letter>, AppError> {
    let ids: Vec<MessageId> = rows.iter().filter_map(|r| r.outbox_id).collect();
    let states: Vec<(MessageId, crate::notify::Status)> = if ids.is_empty() {
        Vec::new()
    } else {
        outbox::table
            .filter(outbox::id.eq_any(&ids))
            .select((outbox::id, outbox::status))
            .load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let outbox = row
                .outbox_id
                .and_then(|o| states.iter().find(|(id, _)| *id == o).map(|(_, s)| *s));
            Letter { row, outbox }
        })
        .collect())
}

/// The letters of a case, oldest first.
pub fn of_case(conn: &mut DbConn, case: CaseId) -> Result<Vec<Letter>, AppError> {
    let rows = feedback_letters::table
        .filter(feedback_letters::case_id.eq(case))
        .order(feedback_letters::id.asc())
        .select(LetterRow::as_select())
        .load(conn)?;
    with_outbox(conn, rows)
}

/// A letter of a case (404 when it is another case's).
pub fn get(conn: &mut DbConn, case: CaseId, id: LetterId) -> Result<Letter, AppError> {
    let row = feedback_letters::table
        .find(id)
        .filter(feedback_letters::case_id.eq(case))
        .select(LetterRow::as_select())
        .first(conn)?;
    Ok(with_outbox(conn, vec![row])?.remove(0))
}

/// A letter by its id alone.
pub fn find(conn: &mut DbConn, id: LetterId) -> Result<Letter, AppError> {
    let row = feedback_letters::table
        .find(id)
        .select(LetterRow::as_select())
        .first(conn)?;
    Ok(with_outbox(conn, vec![row])?.remove(0))
}

/// The sent letters addressed to `org`, about `referral` when given, newest first.
pub fn sent_to(conn: &mut DbConn, org: OrgId, referral: Option<ReferralId>) -> Result<Vec<Letter>, AppError> {
    let mut q = feedback_letters::table
        .filter(feedback_letters::recipient_org_id.eq(org))
        .filter(feedback_letters::status.eq(LetterStatus::Sent))
        .select(LetterRow::as_select())
        .into_boxed();
    if let Some(r) = referral {
        q = q.filter(feedback_letters::referral_id.eq(r));
    }
    let rows = q.order(feedback_letters::id.desc()).limit(200).load(conn)?;
    with_outbox(conn, rows)
}

/// The sealed PDF, once approved.
pub fn pdf_of(conn: &mut DbConn, id: LetterId) -> Result<Option<Sealed>, AppError> {
    Ok(feedback_letters::table
        .find(id)
        .select(feedback_letters::pdf)
        .first::<Option<Vec<u8>>>(conn)?
        .map(Sealed::from_bytes))
}

fn stale(current: &LetterRow) -> AppError {
    AppError::StaleVersion {
        current_version: current.version.get(),
    }
}

/// Replaces a draft's body.
pub fn edit(
    conn: &mut DbConn,
    current: &LetterRow,
    expected: Version,
    body: &Sealed,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<LetterRow, AppError> {
    if current.version != expected {
        return Err(stale(current));
    }
    super::transition(current.status, super::LetterAction::Edit)?;
    diesel::update(
        feedback_letters::table
            .filter(feedback_letters::id.eq(current.id))
            .filter(feedback_letters::version.eq(expected))
            .filter(feedback_letters::status.eq(LetterStatus::Draft)),
    )
    .set((
        feedback_letters::body.eq(body),
        feedback_letters::edited_by.eq(by),
        feedback_letters::version.eq(expected.next()),
        feedback_letters::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<LetterRow>())
    .get_result(conn)
    .optional()?
    .ok_or_else(|| stale(current))
}

/// What approval writes, once: the PDF (sealed), its SHA-256 and its page count.
pub struct Approval {
    pub pdf: Sealed,
    pub sha256: String,
    pub pages: i32,
}

/// Approves a draft and stores its PDF: the only statement that writes the PDF.
/// An approval taken back before sending: the PDF and its fingerprint are dropped, the letter is a
/// draft again (to be approved anew, by someone other than its last editor).
pub fn withdraw(
    conn: &mut DbConn,
    current: &LetterRow,
    expected: Version,
    now: NaiveDateTime,
) -> Result<LetterRow, AppError> {
    if current.version != expected {
        return Err(stale(current));
    }
    let next = super::transition(current.status, super::LetterAction::Withdraw)?;
    diesel::update(
        feedback_letters::table
            .filter(feedback_letters::id.eq(current.id))
            .filter(feedback_letters::version.eq(expected))
            .filter(feedback_letters::status.eq(LetterStatus::Approved)),
    )
    .set((
        feedback_letters::status.eq(next),
        feedback_letters::approved_by.eq(None::<UserId>),
        feedback_letters::approved_at.eq(None::<NaiveDateTime>),
        feedback_letters::pdf.eq(None::<Vec<u8>>),
        feedback_letters::pdf_sha256.eq(None::<String>),
        feedback_letters::pdf_pages.eq(None::<i32>),
        feedback_letters::version.eq(expected.next()),
        feedback_letters::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<LetterRow>())
    .get_result(conn)
    .optional()?
    .ok_or_else(|| stale(current))
}

pub fn approve(
    conn: &mut DbConn,
    current: &LetterRow,
    expected: Version,
    approval: &Approval,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<LetterRow, AppError> {
    if current.version != expected {
        return Err(stale(current));
    }
    let next = super::transition(current.status, super::LetterAction::Approve)?;
    diesel::update(
        feedback_letters::table
            .filter(feedback_letters::id.eq(current.id))
            .filter(feedback_letters::version.eq(expected))
            .filter(feedback_letters::status.eq(LetterStatus::Draft))
            .filter(feedback_letters::pdf.is_null()),
    )
    .set((
        feedback_letters::status.eq(next),
        feedback_letters::approved_by.eq(by),
        feedback_letters::approved_at.eq(Some(now)),
        feedback_letters::pdf.eq(Some(approval.pdf.as_bytes())),
        feedback_letters::pdf_sha256.eq(Some(&approval.sha256)),
        feedback_letters::pdf_pages.eq(Some(approval.pages)),
        feedback_letters::version.eq(expected.next()),
        feedback_letters::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<LetterRow>())
    .get_result(conn)
    .optional()?
    .ok_or_else(|| stale(current))
}

/// What sending records.
pub struct Sending<'a> {
    pub recipient_email: &'a str,
    pub outbox_id: MessageId,
    pub message_id: &'a str,
}

/// Marks an approved letter sent (its email queued in the outbox).
pub fn mark_sent(
    conn: &mut DbConn,
    current: &LetterRow,
    expected: Version,
    sending: &Sending<'_>,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<LetterRow, AppError> {
    if current.version != expected {
        return Err(stale(current));
    }
    let next = super::transition(current.status, super::LetterAction::Send)?;
    diesel::update(
        feedback_letters::table
            .filter(feedback_letters::id.eq(current.id))
            .filter(feedback_letters::version.eq(expected))
            .filter(feedback_letters::status.eq(LetterStatus::Approved)),
    )
    .set((
        feedback_letters::status.eq(next),
        feedback_letters::sent_by.eq(by),
        feedback_letters::sent_at.eq(Some(now)),
        feedback_letters::recipient_email.eq(Some(sending.recipient_email)),
        feedback_letters::outbox_id.eq(Some(sending.outbox_id)),
        feedback_letters::message_id.eq(Some(sending.message_id)),
        feedback_letters::delivery.eq(Some(Delivery::Queued)),
        feedback_letters::version.eq(expected.next()),
        feedback_letters::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<LetterRow>())
    .get_result(conn)
    .optional()?
    .ok_or_else(|| stale(current))
}

/// The sent letter whose email carried `message_id`.
pub fn by_message_id(conn: &mut DbConn, message_id: &str) -> Result<Option<Letter>, AppError> {
    let row = feedback_letters::table
        .filter(feedback_letters::message_id.eq(message_id))
        .select(LetterRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(row) => Ok(with_outbox(conn, vec![row])?.pop()),
        None => Ok(None),
    }
}

/// Records what a PEC receipt said (the delivery state and the time of its kind of receipt).
/// Not a user's edit: the version is not moved, so that an edit in flight is not refused.
pub fn set_delivery(
    conn: &mut DbConn,
    id: LetterId,
    delivery: Delivery,
    at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let target = feedback_letters::table
        .filter(feedback_letters::id.eq(id))
        .filter(feedback_letters::status.eq(LetterStatus::Sent));
    match delivery {
        Delivery::Accepted => diesel::update(target)
            .set((
                feedback_letters::delivery.eq(Some(delivery)),
                feedback_letters::accepted_at.eq(Some(at)),
                feedback_letters::updated_at.eq(now),
            ))
            .execute(conn)?,
        Delivery::Delivered => diesel::update(target)
            .set((
                feedback_letters::delivery.eq(Some(delivery)),
                feedback_letters::delivered_at.eq(Some(at)),
                feedback_letters::updated_at.eq(now),
            ))
            .execute(conn)?,
        Delivery::NotDelivered => diesel::update(target)
            .set((
                feedback_letters::delivery.eq(Some(delivery)),
                feedback_letters::not_delivered_at.eq(Some(at)),
                feedback_letters::updated_at.eq(now),
            ))
            .execute(conn)?,
        other => diesel::update(target)
            .set((
                feedback_letters::delivery.eq(Some(other)),
                feedback_letters::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(())
}
