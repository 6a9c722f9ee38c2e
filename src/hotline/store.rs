//! Calls as stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{CallFilter, NewCall};
use crate::db::schema::hotline_calls;
use crate::db::{DbBackend, DbConn};
use crate::error::AppError;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = hotline_calls)]
pub struct CallRow {
    pub id: i64,
    pub started_at: NaiveDateTime,
    pub duration_secs: i32,
    pub language: String,
    pub caller_kind: String,
    pub region: Option<String>,
    pub province: Option<String>,
    pub outcome: String,
    pub diverted_project: Option<String>,
    pub referral_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConn,
    c: &NewCall,
    operator_id: Option<i64>,
    now: NaiveDateTime,
) -> Result<CallRow, AppError> {
    if let Some(r) = c.referral_id {
        crate::referrals::store::get(conn, r).map_err(|_| AppError::invalid("referral_id", "no such referral"))?;
    }
    let id: i64 = diesel::insert_into(hotline_calls::table)
        .values((
            hotline_calls::started_at.eq(c.started_at),
            hotline_calls::duration_secs.eq(c.duration_secs),
            hotline_calls::language.eq(c.language.as_str()),
            hotline_calls::caller_kind.eq(c.caller_kind.as_str()),
            hotline_calls::region.eq(&c.region),
            hotline_calls::province.eq(&c.province),
            hotline_calls::outcome.eq(c.outcome.as_str()),
            hotline_calls::diverted_project.eq(&c.diverted_project),
            hotline_calls::referral_id.eq(c.referral_id),
            hotline_calls::operator_id.eq(operator_id),
            hotline_calls::created_at.eq(now),
        ))
        .returning(hotline_calls::id)
        .get_result(conn)?;
    Ok(hotline_calls::table.find(id).select(CallRow::as_select()).first(conn)?)
}

pub fn list(conn: &mut DbConn, f: &CallFilter) -> Result<Vec<CallRow>, AppError> {
    let limit = f.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request("limit", "must be between 1 and 500"));
    }
    let mut q = hotline_calls::table.into_boxed::<DbBackend>();
    if let Some(o) = f.outcome {
        q = q.filter(hotline_calls::outcome.eq(o.as_str()));
    }
    if let Some(l) = f.language {
        q = q.filter(hotline_calls::language.eq(l.as_str()));
    }
    if let Some(b) = f.before {
        q = q.filter(hotline_calls::id.lt(b));
    }
    Ok(q.select(CallRow::as_select())
        .order(hotline_calls::id.desc())
        .limit(limit)
        .load(conn)?)
}
