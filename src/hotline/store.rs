//! Calls as stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{CallFilter, CallOutcome, CallerKind, NewCall};
use crate::db::schema::hotline_calls;
use crate::db::{DbBackend, DbConn};
use crate::domain::{CallId, Province, ReferralId, Region, StationLanguage, UserId};
use crate::error::AppError;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = hotline_calls)]
pub struct CallRow {
    pub id: CallId,
    pub started_at: NaiveDateTime,
    pub duration_secs: i32,
    pub language: StationLanguage,
    pub caller_kind: CallerKind,
    pub region: Option<Region>,
    pub province: Option<Province>,
    pub outcome: CallOutcome,
    pub diverted_project: Option<String>,
    pub referral_id: Option<ReferralId>,
    pub operator_id: Option<UserId>,
    pub created_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConn,
    c: &NewCall,
    operator_id: Option<UserId>,
    now: NaiveDateTime,
) -> Result<CallRow, AppError> {
    if let Some(r) = c.referral_id {
        // Only a missing referral is the caller's mistake; a failing database is not.
        if !crate::referrals::store::exists(conn, r)? {
            return Err(AppError::invalid("referral_id", "no such referral"));
        }
    }
    Ok(diesel::insert_into(hotline_calls::table)
        .values((
            hotline_calls::started_at.eq(c.started_at),
            hotline_calls::duration_secs.eq(c.duration_secs),
            hotline_calls::language.eq(c.language),
            hotline_calls::caller_kind.eq(c.caller_kind),
            hotline_calls::region.eq(c.region),
            hotline_calls::province.eq(c.province),
            hotline_calls::outcome.eq(c.outcome),
            hotline_calls::diverted_project.eq(&c.diverted_project),
            hotline_calls::referral_id.eq(c.referral_id),
            hotline_calls::operator_id.eq(operator_id),
            hotline_calls::created_at.eq(now),
        ))
        .returning(crate::db::columns::<CallRow>())
        .get_result::<CallRow>(conn)?)
}

pub fn list(conn: &mut DbConn, f: &CallFilter) -> Result<Vec<CallRow>, AppError> {
    let limit = f.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request("limit", "must be between 1 and 500"));
    }
    let mut q = hotline_calls::table.into_boxed::<DbBackend>();
    if let Some(o) = f.outcome {
        q = q.filter(hotline_calls::outcome.eq(o));
    }
    if let Some(l) = f.language {
        q = q.filter(hotline_calls::language.eq(l));
    }
    if let Some(b) = f.before {
        q = q.filter(hotline_calls::id.lt(CallId(b)));
    }
    Ok(q.select(CallRow::as_select())
        .order(hotline_calls::id.desc())
        .limit(limit)
        .load(conn)?)
}
