//! First run: no default password exists. While there is no administrator, the server prints a
//! one-time setup link; whoever holds it creates the first administrator.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{hash_secret, random_secret};
use crate::accounts::users::{self, NewUser, UserRow};
use crate::audit::{self, Event, Who};
use crate::db::schema::setup_tokens;
use crate::db::DbConn;
use crate::domain::Role;
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

/// Creates the first administrator, consuming the token. Refused once any administrator exists,
/// so a leaked link is worthless after setup.
pub fn create_first_admin(
    conn: &mut DbConn,
    secret: &str,
    user: &NewUser,
    password_hash: &str,
    now: NaiveDateTime,
    who: &Who,
) -> Result<UserRow, AppError> {
    if users::admin_exists(conn)? {
        return Err(AppError::Conflict("setup is already done: log in instead".into()));
    }
    if !is_valid(conn, secret, now)? {
        return Err(AppError::invalid(
            "token",
            "the setup link is invalid, used or expired: restart the server for a new one",
        ));
    }
    if user.role != Role::Admin {
        return Err(AppError::invalid("role", "the first account is an administrator"));
    }
    let row = users::insert(conn, user, password_hash, now)?;
    // Every outstanding token is spent: setup happens once.
    diesel::update(setup_tokens::table.filter(setup_tokens::used_at.is_null()))
        .set(setup_tokens::used_at.eq(now))
        .execute(conn)?;
    let me = Who {
        actor_kind: "user",
        user_id: Some(row.id),
        label: Some(row.username.clone()),
        role: Some(Role::Admin.as_str().into()),
        ..who.clone()
    };
    audit::record(conn, &me, now, Event::new("setup.first_admin").entity("user", row.id))?;
    Ok(row)
}
