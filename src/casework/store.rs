//! Cases in the database: opened (or joined) when a referral is taken in charge, moved through
//! their lifecycle by one versioned update, with a timeline of who did what and when.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;

use super::lifecycle::{self, CaseAction};
use super::vocab::{CaseEventKind, CaseStatus};
use crate::crypto::{DataKey, Keyring};
use crate::db::schema::{case_events, case_referrals, cases, persons, referral_persons};
use crate::db::DbConn;
use crate::domain::{CaseId, DataKeyId, PersonId, ReferralId, UserId, Version};
use crate::error::AppError;
use crate::referrals::store::{Actor, Referral};

/// A case as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: CaseId,
    pub reference: String,
    pub person_id: PersonId,
    pub status: CaseStatus,
    pub operator_id: Option<UserId>,
    pub data_key_id: Option<DataKeyId>,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A timeline entry.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = case_events)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: CaseId,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<UserId>,
    pub actor_label: Option<String>,
    pub kind: CaseEventKind,
    pub subject_user_id: Option<UserId>,
    pub detail: Option<String>,
}

const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

fn new_reference() -> String {
    let mut rng = rand::thread_rng();
    let code: String = (0..8)
        .map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char)
        .collect();
    format!("C-{code}")
}

/// Records a timeline entry.
pub fn event(
    conn: &mut DbConn,
    case: CaseId,
    actor: &Actor,
    kind: CaseEventKind,
    subject: Option<UserId>,
    detail: Option<String>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(case_events::table)
        .values((
            case_events::case_id.eq(case),
            case_events::at.eq(now),
            case_events::actor_user_id.eq(actor.user_id),
            case_events::actor_label.eq(Some(actor.label.clone())),
            case_events::kind.eq(kind),
            case_events::subject_user_id.eq(subject),
            case_events::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// The person a referral is about, if linked.
pub fn person_of(conn: &mut DbConn, referral: ReferralId) -> Result<Option<PersonId>, AppError> {
    Ok(referral_persons::table
        .find(referral)
        .select(referral_persons::person_id)
        .first::<PersonId>(conn)
        .optional()?)
}

/// A new person, known only by this referral so far.
pub fn new_person(
    conn: &mut DbConn,
    referral: ReferralId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<PersonId, AppError> {
    let person: PersonId = diesel::insert_into(persons::table)
        .values(persons::created_at.eq(now))
        .returning(persons::id)
        .get_result(conn)?;
    diesel::insert_into(referral_persons::table)
        .values((
            referral_persons::referral_id.eq(referral),
            referral_persons::person_id.eq(person),
            referral_persons::linked_at.eq(now),
            referral_persons::linked_by.eq(actor.user_id),
        ))
        .execute(conn)?;
    Ok(person)
}

/// The open case of a person, if any.
pub fn open_case_of(conn: &mut DbConn, person: PersonId) -> Result<Option<CaseRow>, AppError> {
    Ok(cases::table
        .filter(cases::person_id.eq(person))
        .filter(cases::status.ne(CaseStatus::Closed))
        .order(cases::id.desc())
        .select(CaseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Taking a referral in charge: the case of its person (linked by the operator beforehand, see
/// `persons`) takes it in when one is open; otherwise a case is opened, for a new person unless
/// the referral was linked to a known one. Runs in the referral's own transaction.
pub fn open_or_join(
    conn: &mut DbConn,
    keys: &Keyring,
    referral: &Referral,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<CaseId, AppError> {
    let rid = referral.id();
    let person = match person_of(conn, rid)? {
        Some(p) => p,
        None => new_person(conn, rid, actor, now)?,
    };
    if let Some(open) = open_case_of(conn, person)? {
        diesel::insert_into(case_referrals::table)
            .values((
                case_referrals::referral_id.eq(rid),
                case_referrals::case_id.eq(open.id),
                case_referrals::joined_at.eq(now),
            ))
            .execute(conn)?;
        event(
            conn,
            open.id,
            actor,
            CaseEventKind::ReferralJoined,
            None,
            Some(referral.row.reference.clone()),
            now,
        )?;
        return Ok(open.id);
    }
    let status = lifecycle::transition(CaseStatus::Received, CaseAction::TakeCharge)?;
    let (key_id, _key) = crate::crypto::store::create(conn, keys, now)?;
    let operator = referral.routing.assigned_operator_id.or(actor.user_id);
    let id: CaseId = diesel::insert_into(cases::table)
        .values((
            cases::reference.eq(new_reference()),
            cases::person_id.eq(person),
            cases::status.eq(status),
            cases::operator_id.eq(operator),
            cases::data_key_id.eq(Some(key_id)),
            cases::opened_at.eq(now),
            cases::version.eq(Version::FIRST),
            cases::created_at.eq(now),
            cases::updated_at.eq(now),
        ))
        .returning(cases::id)
        .get_result(conn)?;
    diesel::insert_into(case_referrals::table)
        .values((
            case_referrals::referral_id.eq(rid),
            case_referrals::case_id.eq(id),
            case_referrals::joined_at.eq(now),
        ))
        .execute(conn)?;
    event(
        conn,
        id,
        actor,
        CaseEventKind::Opened,
        operator,
        Some(referral.row.reference.clone()),
        now,
    )?;
    Ok(id)
}

pub fn get(conn: &mut DbConn, id: CaseId) -> Result<CaseRow, AppError> {
    Ok(cases::table.find(id).select(CaseRow::as_select()).first(conn)?)
}

/// The case that answers a referral, if it was taken in charge.
pub fn case_of_referral(conn: &mut DbConn, referral: ReferralId) -> Result<Option<CaseId>, AppError> {
    Ok(case_referrals::table
        .find(referral)
        .select(case_referrals::case_id)
        .first(conn)
        .optional()?)
}

/// The referrals a case answers, oldest first.
pub fn referrals_of(conn: &mut DbConn, case: CaseId) -> Result<Vec<ReferralId>, AppError> {
    Ok(case_referrals::table
        .filter(case_referrals::case_id.eq(case))
        .order(case_referrals::joined_at.asc())
        .select(case_referrals::referral_id)
        .load(conn)?)
}

pub fn events(conn: &mut DbConn, case: CaseId) -> Result<Vec<CaseEvent>, AppError> {
    Ok(case_events::table
        .filter(case_events::case_id.eq(case))
        .order(case_events::id.asc())
        .select(CaseEvent::as_select())
        .load(conn)?)
}

/// The case's data key (free text is sealed under it); none once destroyed.
pub fn key(conn: &mut DbConn, keys: &Keyring, case: &CaseRow) -> Result<Option<DataKey>, AppError> {
    match case.data_key_id {
        Some(k) => crate::crypto::store::open(conn, keys, k),
        None => Ok(None),
    }
}

/// Applies `action` if the case is still at `expected`; records the change on the timeline.
pub fn apply(
    conn: &mut DbConn,
    current: &CaseRow,
    expected: Version,
    action: CaseAction,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<CaseRow, AppError> {
    if current.version != expected {
        return Err(AppError::StaleVersion {
            current_version: current.version.get(),
        });
    }
    let next = lifecycle::transition(current.status, action)?;
    let closed_at = match next {
        CaseStatus::Closed => Some(now),
        _ => None,
    };
    let updated = diesel::update(
        cases::table
            .filter(cases::id.eq(current.id))
            .filter(cases::version.eq(expected)),
    )
    .set((
        cases::status.eq(next),
        cases::closed_at.eq(closed_at),
        cases::version.eq(expected.next()),
        cases::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<CaseRow>())
    .get_result::<CaseRow>(conn)
    .optional()?;
    let row = updated.ok_or_else(|| AppError::StaleVersion {
        current_version: current.version.get(),
    })?;
    if next != current.status {
        event(
            conn,
            row.id,
            actor,
            CaseEventKind::Transition,
            None,
            Some(format!("{} → {}", current.status.as_str(), next.as_str())),
            now,
        )?;
    }
    Ok(row)
}

/// Moves the case up one version without a state change (a change of its parts: a booking, a
/// reassignment), refusing a stale one.
pub fn bump(conn: &mut DbConn, current: &CaseRow, expected: Version, now: NaiveDateTime) -> Result<CaseRow, AppError> {
    if current.version != expected {
        return Err(AppError::StaleVersion {
            current_version: current.version.get(),
        });
    }
    diesel::update(
        cases::table
            .filter(cases::id.eq(current.id))
            .filter(cases::version.eq(expected)),
    )
    .set((cases::version.eq(expected.next()), cases::updated_at.eq(now)))
    .returning(crate::db::columns::<CaseRow>())
    .get_result::<CaseRow>(conn)
    .optional()?
    .ok_or_else(|| AppError::StaleVersion {
        current_version: current.version.get(),
    })
}

/// Gives the case to another operator.
pub fn reassign(
    conn: &mut DbConn,
    current: &CaseRow,
    expected: Version,
    to: UserId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<CaseRow, AppError> {
    let row = bump(conn, current, expected, now)?;
    let row = diesel::update(cases::table.find(row.id))
        .set(cases::operator_id.eq(Some(to)))
        .returning(crate::db::columns::<CaseRow>())
        .get_result::<CaseRow>(conn)?;
    event(conn, row.id, actor, CaseEventKind::Reassigned, Some(to), None, now)?;
    Ok(row)
}

/// Filters of the case list.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    pub operator: Option<UserId>,
    /// The cases this operator may open: run by them, or with a task or a booking of theirs.
    pub member: Option<UserId>,
    pub status: Option<CaseStatus>,
    pub open_only: bool,
    pub limit: i64,
}

pub fn list(conn: &mut DbConn, f: &CaseFilter) -> Result<Vec<CaseRow>, AppError> {
    let mut q = cases::table.select(CaseRow::as_select()).into_boxed();
    if let Some(op) = f.operator {
        q = q.filter(cases::operator_id.eq(op));
    }
    if let Some(me) = f.member {
        use crate::db::schema::{case_tasks, interview_staff, interviews};
        let tasked = case_tasks::table
            .filter(case_tasks::assignee_id.eq(me))
            .select(case_tasks::case_id);
        let booked = interviews::table
            .inner_join(interview_staff::table)
            .filter(interview_staff::user_id.eq(me))
            .select(interviews::case_id);
        q = q.filter(
            cases::operator_id
                .eq(me)
                .or(cases::id.eq_any(tasked))
                .or(cases::id.eq_any(booked)),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(cases::status.eq(s));
    }
    if f.open_only {
        q = q.filter(cases::status.ne(CaseStatus::Closed));
    }
    Ok(q.order(cases::id.desc()).limit(f.limit.clamp(1, 500)).load(conn)?)
}
