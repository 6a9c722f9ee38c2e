//! Browser sessions, stored in the database so that several instances share them.
//!
//! The cookie carries a random secret; the table keeps only its SHA-256, so a copy of the
//! database does not let anyone in. Sessions end after `session_idle_minutes` without a request
//! or `session_absolute_hours` after login, whichever comes first.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{hash_secret, random_secret, Actor, Principal, SessionRef};
use crate::config::Settings;
use crate::db::schema::{organisations, sessions, users};
use crate::db::DbConn;
use crate::domain::{OrgId, OrgKind, Role, UserId};
use crate::error::AppError;

pub const COOKIE: &str = "varco_session";

/// A session just opened: the cookie value is shown once, to the browser.
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
}

/// Opens a session for a user.
pub fn create(
    conn: &mut DbConn,
    user_id: UserId,
    now: NaiveDateTime,
    settings: &Settings,
) -> Result<NewSession, AppError> {
    let cookie_value = random_secret();
    let csrf_token = random_secret();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(hash_secret(&cookie_value)),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(&csrf_token),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(now + Duration::hours(settings.session_absolute_hours)),
        ))
        .execute(conn)?;
    Ok(NewSession {
        cookie_value,
        csrf_token,
    })
}

/// What a session cookie leads to.
pub enum Lookup {
    Valid(Principal),
    /// The session existed but ran out (idle or absolute); it has been deleted.
    Expired,
    Unknown,
}

type Row = (
    String,
    UserId,
    String,
    NaiveDateTime,
    NaiveDateTime,
    String,
    String,
    Role,
    Option<OrgId>,
    bool,
    Option<OrgKind>,
    Option<bool>,
);

/// A write a session lookup asks for: done through the writer, not on the reading connection.
#[derive(Clone, Debug)]
pub enum Touch {
    /// The session ran out: delete it.
    End(String),
    /// Refresh its last-seen time (at most once a minute).
    Seen(String, NaiveDateTime),
}

/// Applies a [`Touch`] (inside a write).
pub fn touch(conn: &mut DbConn, touch: &Touch) -> Result<(), AppError> {
    match touch {
        Touch::End(id_hash) => {
            diesel::delete(sessions::table.filter(sessions::id_hash.eq(id_hash))).execute(conn)?;
        }
        Touch::Seen(id_hash, at) => {
            diesel::update(sessions::table.filter(sessions::id_hash.eq(id_hash)))
                .set(sessions::last_seen_at.eq(*at))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Resolves a cookie to its user; a plain read. The session's end (expired) or the refresh of its
/// last-seen time (at most once a minute: a write per request would cost more than the request)
/// comes back as a [`Touch`] for the writer.
pub fn resolve(
    conn: &mut DbConn,
    cookie_value: &str,
    now: NaiveDateTime,
    settings: &Settings,
) -> Result<(Lookup, Option<Touch>), AppError> {
    let id_hash = hash_secret(cookie_value);
    let row: Option<Row> = sessions::table
        .inner_join(users::table.left_join(organisations::table))
        .filter(sessions::id_hash.eq(&id_hash))
        .select((
            sessions::id_hash,
            sessions::user_id,
            sessions::csrf_token,
            sessions::last_seen_at,
            sessions::expires_at,
            users::username,
            users::display_name,
            users::role,
            users::org_id,
            users::disabled,
            organisations::kind.nullable(),
            organisations::active.nullable(),
        ))
        .first(conn)
        .optional()?;
    let Some((
        id_hash,
        user_id,
        csrf_token,
        last_seen,
        expires_at,
        username,
        display_name,
        role,
        org_id,
        disabled,
        org_kind,
        org_active,
    )) = row
    else {
        return Ok((Lookup::Unknown, None));
    };
    let idle_limit = last_seen + Duration::minutes(settings.session_idle_minutes);
    // A deactivated organisation's people are out at once (their sessions are also deleted
    // with the deactivation; this holds for any left behind).
    if disabled || org_active == Some(false) || now >= expires_at || now >= idle_limit {
        return Ok((Lookup::Expired, Some(Touch::End(id_hash))));
    }
    let touch = (now - last_seen >= Duration::seconds(60)).then(|| Touch::Seen(id_hash.clone(), now));
    let found = Lookup::Valid(Principal {
        actor: Actor::User {
            id: user_id,
            username,
            display_name,
        },
        role,
        org_id,
        org_kind,
        session: Some(SessionRef { id_hash, csrf_token }),
    });
    Ok((found, touch))
}

/// Ends one session.
pub fn delete(conn: &mut DbConn, id_hash: &str) -> Result<(), AppError> {
    diesel::delete(sessions::table.filter(sessions::id_hash.eq(id_hash))).execute(conn)?;
    Ok(())
}

/// Removes sessions past their absolute or idle expiry (housekeeping).
pub fn purge_expired(conn: &mut DbConn, now: NaiveDateTime, settings: &Settings) -> Result<usize, AppError> {
    let idle_cutoff = now - Duration::minutes(settings.session_idle_minutes);
    Ok(
        diesel::delete(sessions::table.filter(sessions::expires_at.le(now).or(sessions::last_seen_at.le(idle_cutoff))))
            .execute(conn)?,
    )
}
