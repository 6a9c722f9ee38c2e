//! The helpline's services: imports (audited as one entry each, with their counts), contact
//! records, the report (analysts read only its aggregates; every export is audited with its
//! period and format).

use chrono::NaiveDate;

use super::chats::Chat;
use super::report::{self, Report};
use super::store::{self, ContactFacts};
use super::switchboard::Call;
use crate::app::App;
use crate::audit::{self, Event};
use crate::domain::{Caller, Region};
use crate::error::AppError;

/// What an import added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub read: usize,
    pub added: usize,
}

/// Stores the calls not stored yet (by uniqueid).
pub async fn import_calls(app: &App, caller: &Caller, calls: Vec<Call>, bad_lines: usize) -> Result<Added, AppError> {
    let now = app.now();
    let read = calls.len();
    let added = audit::write(app, caller, &[], move |tx| {
        let added = store::insert_calls(tx.conn, &calls, now)?;
        tx.audit(
            Event::new("helpline.import_switchboard")
                .detail(format!("read={read} added={added} bad_lines={bad_lines}")),
        )?;
        Ok(added)
    })
    .await?;
    Ok(Added { read, added })
}

/// Stores the chats not stored yet (by chat id or line digest).
pub async fn import_chats(app: &App, caller: &Caller, chats: Vec<Chat>, bad_lines: usize) -> Result<Added, AppError> {
    let now = app.now();
    let read = chats.len();
    let added = audit::write(app, caller, &[], move |tx| {
        let added = store::insert_chats(tx.conn, &chats, now)?;
        tx.audit(
            Event::new("helpline.import_chats").detail(format!("read={read} added={added} bad_lines={bad_lines}")),
        )?;
        Ok(added)
    })
    .await?;
    Ok(Added { read, added })
}

/// Records a contact (scheda); its id.
pub async fn record_contact(app: &App, caller: &Caller, facts: ContactFacts) -> Result<i64, AppError> {
    let now = app.now();
    let operator = caller.user_id();
    audit::write(app, caller, &[], move |tx| {
        let id = store::insert_contact(tx.conn, &facts, operator, now)?;
        tx.audit(Event::new("helpline.contact_create").entity("helpline_contact", id))?;
        Ok(id)
    })
    .await
}

/// A period of whole Rome days, checked: not reversed, at most two years, within 2000–2100.
pub fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), AppError> {
    let lo = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let hi = NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or_default();
    if from < lo || from > hi {
        return Err(AppError::invalid("from", "must be a date between 2000 and 2100"));
    }
    if to < from || to > hi {
        return Err(AppError::invalid("to", "must not be before from"));
    }
    if (to - from).num_days() > 731 {
        return Err(AppError::invalid("to", "a period is at most two years"));
    }
    Ok(())
}

/// The report for `[from, to]` (Rome days), audited with its period and format.
pub async fn report(
    app: &App,
    caller: &Caller,
    from: NaiveDate,
    to: NaiveDate,
    format: &str,
) -> Result<Report, AppError> {
    check_period(from, to)?;
    let format = format.to_owned();
    audit::read(app, caller, move |conn| {
        let (start, end) = (
            report::rome_midnight(from),
            report::rome_midnight(to + chrono::Duration::days(1)),
        );
        let (pf, pt) = report::previous(from, to);
        let calls = store::calls_between(conn, start, end)?;
        let previous = store::incoming_count(
            conn,
            report::rome_midnight(pf),
            report::rome_midnight(pt + chrono::Duration::days(1)),
        )?;
        let chats = store::chats_between(conn, start, end)?;
        let contacts: Vec<ContactFacts> = store::contacts_between(conn, start, end)?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        let region_name = |code: &str| {
            Region::parse(code)
                .map(|r| r.name.to_owned())
                .unwrap_or_else(|| code.to_owned())
        };
        let r = report::compute(from, to, &calls, previous, &chats, &contacts, &region_name);
        Ok((
            r,
            Event::new("helpline.report").detail(format!("from={from} to={to} format={format}")),
        ))
    })
    .await
}
