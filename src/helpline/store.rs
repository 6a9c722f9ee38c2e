//! The helpline's tables: calls and chats as imported (a re-import adds nothing: the unique
//! uniqueid / chat id), contact records with their referrals.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::chats::Chat;
use super::switchboard::Call;
use super::vocab::{
    CallDirection, CallOutcome, ChatChannel, ContactChannel, ContactReason, Contacter, LearnedFrom, ReferralTarget,
};
use crate::db::schema::{helpline_calls, helpline_chats, helpline_contact_referrals, helpline_contacts};
use crate::db::DbConn;
use crate::domain::UserId;
use crate::error::AppError;

#[derive(Insertable)]
#[diesel(table_name = helpline_calls, treat_none_as_default_value = false)]
struct NewCall<'a> {
    uniqueid: &'a str,
    direction: CallDirection,
    started_at: NaiveDateTime,
    outcome: CallOutcome,
    wait_secs: Option<i32>,
    talk_secs: Option<i32>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = helpline_chats, treat_none_as_default_value = false)]
struct NewChat<'a> {
    external_id: &'a str,
    started_at: NaiveDateTime,
    channel: ChatChannel,
    first_response_secs: Option<i32>,
    created_at: NaiveDateTime,
}

/// Rows per statement on PostgreSQL (well under its 65,535 parameters).
const CHUNK: usize = 1000;

/// Inserts the calls not stored yet; the number added.
pub fn insert_calls(conn: &mut DbConn, calls: &[Call], now: NaiveDateTime) -> Result<usize, AppError> {
    let rows: Vec<NewCall> = calls
        .iter()
        .map(|c| NewCall {
            uniqueid: &c.uniqueid,
            direction: c.direction,
            started_at: c.started_at,
            outcome: c.outcome,
            wait_secs: c.wait_secs,
            talk_secs: c.talk_secs,
            created_at: now,
        })
        .collect();
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        n += match conn {
            DbConn::Sqlite(c) => chunk.iter().try_fold(0, |n, row| {
                diesel::insert_into(helpline_calls::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)
                    .map(|k| n + k)
            })?,
            DbConn::Pg(c) => diesel::insert_into(helpline_calls::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(n)
}

/// Inserts the chats not stored yet; the number added.
pub fn insert_chats(conn: &mut DbConn, chats: &[Chat], now: NaiveDateTime) -> Result<usize, AppError> {
    let rows: Vec<NewChat> = chats
        .iter()
        .map(|c| NewChat {
            external_id: &c.external_id,
            started_at: c.started_at,
            channel: c.channel,
            first_response_secs: c.first_response_secs,
            created_at: now,
        })
        .collect();
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        n += match conn {
            DbConn::Sqlite(c) => chunk.iter().try_fold(0, |n, row| {
                diesel::insert_into(helpline_chats::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)
                    .map(|k| n + k)
            })?,
            DbConn::Pg(c) => diesel::insert_into(helpline_chats::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(n)
}

/// A call as the report reads it.
pub type CallFact = (NaiveDateTime, CallDirection, CallOutcome, Option<i32>, Option<i32>);

/// The calls started in `[from, to)` (UTC).
pub fn calls_between(conn: &mut DbConn, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<CallFact>, AppError> {
    Ok(helpline_calls::table
        .filter(
            helpline_calls::started_at
                .ge(from)
                .and(helpline_calls::started_at.lt(to)),
        )
        .select((
            helpline_calls::started_at,
            helpline_calls::direction,
            helpline_calls::outcome,
            helpline_calls::wait_secs,
            helpline_calls::talk_secs,
        ))
        .load(conn)?)
}

/// The incoming calls in `[from, to)` (the previous period's total).
pub fn incoming_count(conn: &mut DbConn, from: NaiveDateTime, to: NaiveDateTime) -> Result<i64, AppError> {
    Ok(helpline_calls::table
        .filter(
            helpline_calls::started_at
                .ge(from)
                .and(helpline_calls::started_at.lt(to)),
        )
        .filter(helpline_calls::direction.eq(CallDirection::Incoming))
        .count()
        .get_result(conn)?)
}

/// A chat as the report reads it.
pub type ChatFact = (NaiveDateTime, ChatChannel, Option<i32>);

pub fn chats_between(conn: &mut DbConn, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<ChatFact>, AppError> {
    Ok(helpline_chats::table
        .filter(
            helpline_chats::started_at
                .ge(from)
                .and(helpline_chats::started_at.lt(to)),
        )
        .select((
            helpline_chats::started_at,
            helpline_chats::channel,
            helpline_chats::first_response_secs,
        ))
        .load(conn)?)
}

/// A contact record's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFacts {
    pub contacted_at: NaiveDateTime,
    pub channel: ContactChannel,
    pub who: Option<Contacter>,
    /// ISTAT region code.
    pub region: Option<String>,
    pub reason: Option<ContactReason>,
    pub learned_from: Option<LearnedFrom>,
    pub first_contact: Option<bool>,
    /// The network territory (protocol id) the contact came from.
    pub atr: Option<String>,
    pub referrals: Vec<ReferralTarget>,
}

#[derive(Insertable)]
#[diesel(table_name = helpline_contacts, treat_none_as_default_value = false)]
struct NewContact<'a> {
    contacted_at: NaiveDateTime,
    channel: ContactChannel,
    who: Option<Contacter>,
    region: Option<&'a str>,
    reason: Option<ContactReason>,
    learned_from: Option<LearnedFrom>,
    first_contact: Option<bool>,
    atr: Option<&'a str>,
    operator_id: Option<UserId>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = helpline_contact_referrals, treat_none_as_default_value = false)]
struct NewReferral {
    contact_id: i64,
    target: ReferralTarget,
}

/// Records a contact with its referrals; its id.
pub fn insert_contact(
    conn: &mut DbConn,
    c: &ContactFacts,
    operator: Option<UserId>,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let id: i64 = diesel::insert_into(helpline_contacts::table)
        .values(NewContact {
            contacted_at: c.contacted_at,
            channel: c.channel,
            who: c.who,
            region: c.region.as_deref(),
            reason: c.reason,
            learned_from: c.learned_from,
            first_contact: c.first_contact,
            atr: c.atr.as_deref(),
            operator_id: operator,
            created_at: now,
        })
        .returning(helpline_contacts::id)
        .get_result(conn)?;
    let rows: Vec<NewReferral> = c
        .referrals
        .iter()
        .map(|t| NewReferral {
            contact_id: id,
            target: *t,
        })
        .collect();
    crate::insert_rows!(conn, helpline_contact_referrals::table, rows)?;
    Ok(id)
}

type ContactRow = (
    i64,
    NaiveDateTime,
    ContactChannel,
    Option<Contacter>,
    Option<String>,
    Option<ContactReason>,
    Option<LearnedFrom>,
    Option<bool>,
    Option<String>,
);

/// The contact records of `[from, to)` with their referrals, by id.
pub fn contacts_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(i64, ContactFacts)>, AppError> {
    let rows: Vec<ContactRow> = helpline_contacts::table
        .filter(
            helpline_contacts::contacted_at
                .ge(from)
                .and(helpline_contacts::contacted_at.lt(to)),
        )
        .order(helpline_contacts::id)
        .select((
            helpline_contacts::id,
            helpline_contacts::contacted_at,
            helpline_contacts::channel,
            helpline_contacts::who,
            helpline_contacts::region,
            helpline_contacts::reason,
            helpline_contacts::learned_from,
            helpline_contacts::first_contact,
            helpline_contacts::atr,
        ))
        .load(conn)?;
    let refs: Vec<(i64, ReferralTarget)> = helpline_contact_referrals::table
        .inner_join(helpline_contacts::table)
        .filter(
            helpline_contacts::contacted_at
                .ge(from)
                .and(helpline_contacts::contacted_at.lt(to)),
        )
        .select((
            helpline_contact_referrals::contact_id,
            helpline_contact_referrals::target,
        ))
        .load(conn)?;
    let mut by_id: std::collections::HashMap<i64, Vec<ReferralTarget>> = std::collections::HashMap::new();
    for (id, t) in refs {
        by_id.entry(id).or_default().push(t);
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, contacted_at, channel, who, region, reason, learned_from, first_contact, atr)| {
                let mut referrals = by_id.remove(&id).unwrap_or_default();
                referrals.sort();
                (
                    id,
                    ContactFacts {
                        contacted_at,
                        channel,
                        who,
                        region,
                        reason,
                        learned_from,
                        first_contact,
                        atr,
                        referrals,
                    },
                )
            },
        )
        .collect())
}
