//! Notifications through a transactional outbox.
//!
//! A change that should tell someone (a new referral, an escalation, a decision) calls [`enqueue`]
//! inside its own write transaction: the message exists if and only if the change committed. The
//! dispatcher ([`dispatch_due`], run every few seconds by the application) claims due messages
//! under a lease, sends them outside any transaction, and records the result: `sent`, or another
//! attempt later with exponential backoff, or `failed` after [`MAX_ATTEMPTS`].
//!
//! Delivery is at least once: a process that dies between sending and recording sends that
//! message again when its lease runs out. Messages hold only a reference and a link (see
//! [`templates`]); logs hold only counts.

pub mod api;
pub mod pages;
pub mod templates;
pub mod transport;

use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::audit::{self, Event};
use crate::clock::{db_now, SharedClock};
use crate::config::Settings;
use crate::db::schema::outbox;
use crate::db::{Db, DbConn};
use crate::domain::{Caller, MessageId};
use crate::error::AppError;

pub use templates::{render, Template};
pub use transport::Transport;

/// Attempts after which a message is given up (`failed`).
pub const MAX_ATTEMPTS: i32 = 8;
/// Messages claimed per transaction.
pub const BATCH: i64 = 10;
/// How long a claim keeps other dispatchers off a message.
pub const LEASE_MINUTES: i64 = 5;
/// Batches per call of [`dispatch_due`], so that one call ends even under a flood.
const MAX_BATCHES: usize = 50;
/// Longest wait between two attempts.
const MAX_BACKOFF_MINUTES: i64 = 60;

crate::vocabulary! {
    /// Where a message is in its delivery.
    Status ("outbox_status") as "OutboxStatus" {
        /// Waiting for its first or next attempt.
        Pending = "pending" => ("In attesa", "Pending"),
        Sent = "sent" => ("Inviato", "Sent"),
        /// Given up after [`MAX_ATTEMPTS`].
        Failed = "failed" => ("Non recapitato", "Failed"),
    }
}

/// A message to send.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub kind: Template,
    /// The referral's reference (`R-7K2M9QXH`), when the message is about one.
    pub reference: Option<String>,
}

impl NewMessage {
    /// A message rendered from a template, in Italian first (see [`render`]).
    pub fn from_template(kind: Template, recipient: &str, reference: &str, link: &str) -> NewMessage {
        let (subject, body_text) = render(kind, reference, link, crate::domain::Lang::It);
        NewMessage {
            recipient: recipient.to_owned(),
            subject,
            body_text,
            kind,
            reference: Some(reference.to_owned()),
        }
    }
}

/// The link to a referral for crisis-unit staff.
pub fn referral_link(settings: &Settings, referral_id: i64) -> String {
    format!("{}/referrals/{referral_id}", settings.base_url())
}

/// The link to a referral in the referrers' portal.
pub fn portal_link(settings: &Settings, referral_id: i64) -> String {
    format!("{}/portal/{referral_id}", settings.base_url())
}

/// A message as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: MessageId,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub kind: Template,
    pub reference: Option<String>,
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// The `Message-ID` chosen when queued (without angle brackets), so that receipts can be
    /// matched to it; `None`: one is made at sending.
    pub message_id: Option<String>,
    /// A file sent with the message (a feedback letter's PDF), dropped once the message is sent
    /// (kept while it may be sent again, given up included).
    pub attachment_name: Option<String>,
    pub attachment: Option<Vec<u8>>,
}

/// A file to send with a message.
#[derive(Clone, Debug)]
pub struct Attachment {
    /// The file name the recipient sees (`riscontro-F-7K2M9QXH.pdf`); its extension gives the
    /// content type.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A message's delivery state, without its subject and body (for lists).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxEntry {
    pub id: MessageId,
    pub recipient: String,
    pub kind: Template,
    pub reference: Option<String>,
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
struct NewRow<'a> {
    recipient: &'a str,
    subject: &'a str,
    body_text: &'a str,
    kind: Template,
    reference: Option<&'a str>,
    status: Status,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    message_id: Option<&'a str>,
    attachment_name: Option<&'a str>,
    attachment: Option<&'a [u8]>,
}

/// Queues a message, due at once. Call it inside the transaction of the change it announces.
pub fn enqueue(conn: &mut DbConn, msg: &NewMessage, now: NaiveDateTime) -> Result<MessageId, AppError> {
    enqueue_with(conn, msg, None, None, now)
}

/// Queues a message with the `Message-ID` it will carry (`local@domain`, without angle
/// brackets) and a file attached, e.g. a feedback letter and its PDF.
pub fn enqueue_with(
    conn: &mut DbConn,
    msg: &NewMessage,
    message_id: Option<&str>,
    attachment: Option<&Attachment>,
    now: NaiveDateTime,
) -> Result<MessageId, AppError> {
    let recipient = msg.recipient.trim();
    // Both checks: the form rule used everywhere else, and what the mailer will accept, so that
    // a queued message can always be built.
    let valid = matches!(crate::domain::parse_email(Some(recipient)), Ok(Some(_)))
        && recipient.parse::<lettre::Address>().is_ok();
    if !valid {
        return Err(AppError::invalid("recipient", "must be an email address"));
    }
    if msg.subject.trim().is_empty() {
        return Err(AppError::invalid("subject", "is required"));
    }
    let row = NewRow {
        recipient,
        subject: &msg.subject,
        body_text: &msg.body_text,
        kind: msg.kind,
        reference: msg.reference.as_deref(),
        status: Status::Pending,
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        message_id,
        attachment_name: attachment.map(|a| a.file_name.as_str()),
        attachment: attachment.map(|a| a.bytes.as_slice()),
    };
    let id = crate::on_backend!(conn, |c| diesel::insert_into(outbox::table)
        .values(&row)
        .returning(outbox::id)
        .get_result(c))?;
    Ok(id)
}

/// Claims up to `batch` due messages, oldest first, for `lease`: no other dispatcher takes them
/// until it runs out. Must run inside a write transaction ([`crate::db::write_tx`], `Db::write`):
/// the lock that keeps two claimers apart lasts until its commit.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    batch: i64,
    lease: Duration,
) -> Result<Vec<OutboxRow>, AppError> {
    if !crate::db::in_transaction(conn) {
        return Err(AppError::Internal("claim_due outside a transaction".into()));
    }
    let ids = lock_due(conn, now, batch)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
        .set(outbox::locked_until.eq(now + lease))
        .execute(conn)?;
    Ok(outbox::table
        .filter(outbox::id.eq_any(&ids))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Ids of the messages due at `now` and not leased, oldest first, at most `batch`, locked until
/// the transaction ends so that dispatchers of several instances claiming at once take disjoint
/// messages instead of waiting for each other (see [`crate::load_skip_locked`]).
fn lock_due(conn: &mut DbConn, now: NaiveDateTime, batch: i64) -> Result<Vec<MessageId>, AppError> {
    let pending = Status::Pending;
    Ok(crate::load_skip_locked!(
        conn,
        outbox::table
            .filter(outbox::status.eq(pending))
            .filter(outbox::next_attempt_at.le(now))
            .filter(outbox::locked_until.is_null().or(outbox::locked_until.le(now)))
            .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
            .select(outbox::id)
            .limit(batch)
    )?)
}

/// True when some message is due (a plain read: the dispatcher takes the write lock only then).
pub fn any_due(conn: &mut DbConn, now: NaiveDateTime) -> Result<bool, AppError> {
    let first: Option<i64> = outbox::table
        .filter(outbox::status.eq(Status::Pending))
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::locked_until.is_null().or(outbox::locked_until.le(now)))
        .select(outbox::id)
        .first(conn)
        .optional()?;
    Ok(first.is_some())
}

/// Wait before the attempt following the `attempts`-th failure: 1 min, 2, 4, … capped at 60.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 16) - 1;
    Duration::minutes((1_i64 << exp).min(MAX_BACKOFF_MINUTES))
}

/// What became of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Failed; another attempt is scheduled.
    Retry,
    /// Failed for the last time.
    GaveUp,
}

/// Records the result of sending a claimed message, and frees its lease.
pub fn record_attempt(
    conn: &mut DbConn,
    row: &OutboxRow,
    now: NaiveDateTime,
    result: Result<(), String>,
) -> Result<Attempt, AppError> {
    let attempts = row.attempts + 1;
    // Only a message still pending: a result recorded twice (an expired lease) changes nothing.
    let target = outbox::table
        .filter(outbox::id.eq(row.id))
        .filter(outbox::status.eq(Status::Pending));
    match result {
        Ok(()) => {
            diesel::update(target)
                .set((
                    outbox::status.eq(Status::Sent),
                    outbox::attempts.eq(attempts),
                    outbox::sent_at.eq(Some(now)),
                    outbox::locked_until.eq(None::<NaiveDateTime>),
                    outbox::last_error.eq(None::<String>),
                    outbox::attachment.eq(None::<Vec<u8>>),
                ))
                .execute(conn)?;
            Ok(Attempt::Sent)
        }
        Err(error) => {
            let error: String = error.chars().take(200).collect();
            let gave_up = attempts >= MAX_ATTEMPTS;
            let status = if gave_up { Status::Failed } else { Status::Pending };
            diesel::update(target)
                .set((
                    outbox::status.eq(status),
                    outbox::attempts.eq(attempts),
                    outbox::next_attempt_at.eq(now + backoff(attempts)),
                    outbox::locked_until.eq(None::<NaiveDateTime>),
                    outbox::last_error.eq(Some(error)),
                ))
                .execute(conn)?;
            Ok(if gave_up { Attempt::GaveUp } else { Attempt::Retry })
        }
    }
}

/// Frees the lease of claimed messages not attempted.
fn release(conn: &mut DbConn, ids: &[MessageId]) -> Result<(), AppError> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq(Status::Pending)),
    )
    .set(outbox::locked_until.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

/// What one dispatch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub sent: usize,
    /// Failed attempts with another one scheduled.
    pub retried: usize,
    /// Messages given up in this dispatch.
    pub failed: usize,
}

impl DispatchReport {
    pub fn is_empty(&self) -> bool {
        self.sent + self.retried + self.failed == 0
    }
}

/// Sends every due message: claims a batch, sends each outside the transaction, records each
/// result, and goes on while batches come back full.
pub async fn dispatch_due(
    db: &Db,
    transport: &Transport,
    settings: &Settings,
    clock: &SharedClock,
) -> Result<DispatchReport, AppError> {
    let from = transport::sender(settings)?;
    let lease = Duration::minutes(LEASE_MINUTES);
    // The lease is counted on the injected clock, but sending takes real time: stop well before
    // half of it has passed in real time so that no other dispatcher can take a message this one
    // is still going to send.
    let budget = std::time::Duration::from_secs((LEASE_MINUTES * 60 / 2) as u64);
    let mut report = DispatchReport::default();
    for _ in 0..MAX_BATCHES {
        let now = db_now(clock.as_ref());
        if !db.read(move |c| any_due(c, now)).await? {
            break;
        }
        let rows = db.write(move |c| claim_due(c, now, BATCH, lease)).await?;
        let full = rows.len() as i64 == BATCH;
        let started = Instant::now();
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            if started.elapsed() > budget {
                let ids: Vec<MessageId> = std::iter::once(row.id).chain(rows.map(|r| r.id)).collect();
                db.write(move |c| release(c, &ids)).await?;
                return Ok(report);
            }
            let reference = row.reference.clone().unwrap_or_else(|| format!("outbox-{}", row.id));
            let attachment = match (&row.attachment_name, &row.attachment) {
                (Some(name), Some(bytes)) => Some((name.as_str(), bytes.as_slice())),
                _ => None,
            };
            let result = match transport::build_message_with(
                from.clone(),
                &row.recipient,
                &row.subject,
                &row.body_text,
                &reference,
                row.message_id.as_deref(),
                attachment,
            ) {
                Ok(message) => transport.send(message).await,
                Err(e) => Err(e),
            };
            let now = db_now(clock.as_ref());
            match db.write(move |c| record_attempt(c, &row, now, result)).await? {
                Attempt::Sent => report.sent += 1,
                Attempt::Retry => report.retried += 1,
                Attempt::GaveUp => report.failed += 1,
            }
        }
        if !full {
            break;
        }
    }
    Ok(report)
}

/// Reads the outbox; an audited read, since it shows recipients' addresses.
pub async fn read_outbox(app: &App, caller: &Caller, filter: OutboxFilter) -> Result<Vec<OutboxEntry>, AppError> {
    filter.status()?;
    filter.limit()?;
    audit::read(app, caller, move |conn| {
        let rows = list(conn, &filter)?;
        let n = rows.len();
        Ok((rows, Event::new("outbox.read").detail(format!("{n} messages"))))
    })
    .await
}

/// Puts a message given up back in the queue for a new round of attempts, due at once: for the
/// coordinator who learns that an alert reached nobody and has the address fixed. Only a failed
/// message (409 otherwise); audited.
pub async fn retry(app: &App, caller: &Caller, id: MessageId) -> Result<OutboxEntry, AppError> {
    if !matches!(
        caller.role,
        Some(crate::domain::Role::Admin | crate::domain::Role::Coordinator)
    ) {
        return Err(AppError::Forbidden);
    }
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let changed = diesel::update(
            outbox::table
                .filter(outbox::id.eq(id))
                .filter(outbox::status.eq(Status::Failed)),
        )
        .set((
            outbox::status.eq(Status::Pending),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(tx.conn)?;
        let entry: OutboxEntry = outbox::table.find(id).select(OutboxEntry::as_select()).first(tx.conn)?;
        if changed == 0 {
            return Err(AppError::Conflict("only a message given up can be sent again".into()));
        }
        tx.audit(Event::new("outbox.retry").entity("outbox", id.get()))?;
        Ok(entry)
    })
    .await
}

/// Filters of the outbox list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    /// `pending`, `sent` or `failed`.
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// Messages to list, newest first (1–500, default 100).
    pub limit: Option<i64>,
}

impl OutboxFilter {
    /// The status asked for, or 400 naming the parameter.
    pub fn status(&self) -> Result<Option<Status>, AppError> {
        match self.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => Status::parse(s)
                .map(Some)
                .ok_or_else(|| AppError::bad_request("status", "must be pending, sent or failed")),
        }
    }

    pub fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(100),
            Some(l) if (1..=500).contains(&l) => Ok(l),
            Some(_) => Err(AppError::bad_request("limit", "must be between 1 and 500")),
        }
    }
}

/// Recent messages, newest first.
pub fn list(conn: &mut DbConn, filter: &OutboxFilter) -> Result<Vec<OutboxEntry>, AppError> {
    let mut q = outbox::table.into_boxed::<crate::db::DbBackend>();
    if let Some(s) = filter.status()? {
        q = q.filter(outbox::status.eq(s));
    }
    Ok(q.select(OutboxEntry::as_select())
        .order(outbox::id.desc())
        .limit(filter.limit()?)
        .load(conn)?)
}

/// One message, whole.
pub fn get(conn: &mut DbConn, id: MessageId) -> Result<OutboxRow, AppError> {
    Ok(outbox::table.find(id).select(OutboxRow::as_select()).first(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_minute_up_to_an_hour() {
        let minutes: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(0).num_minutes(), 1);
        assert_eq!(backoff(i32::MAX).num_minutes(), 60);
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Status::parse("sending"), None);
    }
}
