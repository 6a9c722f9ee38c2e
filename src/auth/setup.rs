//! First run: no default password exists. While there is no administrator, the server prints a
//! one-time setup link; whoever holds it creates the first administrator
//! (`accounts::service::create_first_admin`).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{hash_secret, random_secret};
use crate::db::schema::setup_tokens;
use crate::db::DbConn;
use crate::error::AppError;

/// How long a printed setup link stays valid.
pub const VALIDITY_HOURS: i64 = 24;

/// Stores a new setup token and returns its secret, to be printed once.
pub fn issue(conn: &mut DbConn, now: NaiveDateTime) -> Result<String, AppError> {
    let secret = random_secret();
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_hash.eq(hash_secret(&secret)),
            setup_tokens::created_at.eq(now),
            setup_tokens::expires_at.eq(now + Duration::hours(VALIDITY_HOURS)),
        ))
        .execute(conn)?;
    Ok(secret)
}

/// True when `secret` is an unused, unexpired setup token.
pub fn is_valid(conn: &mut DbConn, secret: &str, now: NaiveDateTime) -> Result<bool, AppError> {
    let n: i64 = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(hash_secret(secret)))
        .filter(setup_tokens::used_at.is_null())
        .filter(setup_tokens::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Spends every outstanding token: setup happens once.
pub fn spend_all(conn: &mut DbConn, now: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(setup_tokens::table.filter(setup_tokens::used_at.is_null()))
        .set(setup_tokens::used_at.eq(now))
        .execute(conn)?;
    Ok(())
}
