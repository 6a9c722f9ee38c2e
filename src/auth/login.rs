//! Password login with per-account lockout and per-address throttling.
//!
//! Both counters live in the database, so they hold across instances. The password check runs
//! outside any transaction: argon2 takes tens of milliseconds and must not hold SQLite's write
//! lock while it does.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::password;
use super::session::{self, NewSession};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::config::Settings;
use crate::db::schema::{login_failures, users};
use crate::domain::{Actor, Caller, OrgId, Role, UserId};
use crate::error::AppError;

/// How a login attempt ended.
pub enum LoginResult {
    Success {
        session: NewSession,
        user_id: UserId,
    },
    /// Wrong user name or password (the two are not told apart), or a disabled account.
    Invalid,
    /// Too many failures on this account: locked until the time given.
    Locked {
        until: NaiveDateTime,
    },
    /// Too many failures from this address.
    Throttled {
        retry_after_secs: u64,
    },
}

struct Candidate {
    id: UserId,
    username: String,
    hash: String,
    disabled: bool,
    locked_until: Option<NaiveDateTime>,
    role: Role,
    org_id: Option<OrgId>,
}

/// Checks a user name and password and, when they match, opens a session.
pub async fn login(
    app: &App,
    caller: &Caller,
    username: String,
    password_input: String,
) -> Result<LoginResult, AppError> {
    let (db, settings, now) = (&app.db, app.settings.clone(), caller.now);
    let who = caller.clone();
    let ip = who.ip.clone().unwrap_or_else(|| "unknown".into());
    let window_start = now - Duration::minutes(settings.lockout_minutes);

    let (recent_failures, candidate) = {
        let ip = ip.clone();
        let name = username.trim().to_lowercase();
        db.read(move |conn| {
            let failures: i64 = login_failures::table
                .filter(login_failures::ip.eq(&ip))
                .filter(login_failures::at.gt(window_start))
                .count()
                .get_result(conn)?;
            let candidate = users::table
                .filter(users::username.eq(&name))
                .select((
                    users::id,
                    users::username,
                    users::password_hash,
                    users::disabled,
                    users::locked_until,
                    users::role,
                    users::org_id,
                ))
                .first::<(UserId, String, String, bool, Option<NaiveDateTime>, Role, Option<OrgId>)>(conn)
                .optional()?
                .map(|(id, username, hash, disabled, locked_until, role, org_id)| Candidate {
                    id,
                    username,
                    hash,
                    disabled,
                    locked_until,
                    role,
                    org_id,
                });
            Ok((failures, candidate))
        })
        .await?
    };

    if recent_failures >= settings.ip_failure_limit {
        let retry = (settings.lockout_minutes * 60) as u64;
        db.write(move |conn| {
            audit::record(
                conn,
                &who,
                Event::new("auth.login")
                    .outcome(Outcome::Denied)
                    .detail("address throttled"),
            )
        })
        .await?;
        return Ok(LoginResult::Throttled {
            retry_after_secs: retry,
        });
    }

    if let Some(c) = candidate.as_ref().filter(|c| c.locked_until.is_some_and(|t| t > now)) {
        let (id, until) = (c.id, c.locked_until.unwrap_or(now));
        db.write(move |conn| {
            audit::record(
                conn,
                &who,
                Event::new("auth.login")
                    .entity("user", id)
                    .outcome(Outcome::Denied)
                    .detail("account locked"),
            )
        })
        .await?;
        return Ok(LoginResult::Locked { until });
    }

    let hash = candidate.as_ref().map(|c| c.hash.clone());
    let matches = actix_web::web::block(move || match hash {
        Some(h) => password::verify(&password_input, &h),
        None => {
            password::verify_dummy(&password_input);
            false
        }
    })
    .await?;

    let threshold = settings.lockout_threshold;
    let lock_for = Duration::minutes(settings.lockout_minutes);
    db.write(move |conn| match candidate {
        Some(c) if matches && !c.disabled => {
            diesel::update(users::table.find(c.id))
                .set((
                    users::failed_logins.eq(0),
                    users::locked_until.eq(None::<NaiveDateTime>),
                    users::last_login_at.eq(now),
                ))
                .execute(conn)?;
            let session = session::create(conn, c.id, now, &settings)?;
            let me = Caller {
                actor: Actor::User {
                    id: c.id,
                    username: c.username,
                    display_name: String::new(),
                },
                role: Some(c.role),
                org_id: c.org_id,
                ..who
            };
            audit::record(conn, &me, Event::new("auth.login").entity("user", c.id))?;
            Ok(LoginResult::Success { session, user_id: c.id })
        }
        Some(c) if matches => {
            audit::record(
                conn,
                &who,
                Event::new("auth.login")
                    .entity("user", c.id)
                    .outcome(Outcome::Denied)
                    .detail("account disabled"),
            )?;
            Ok(LoginResult::Invalid)
        }
        other => {
            diesel::insert_into(login_failures::table)
                .values((login_failures::ip.eq(&ip), login_failures::at.eq(now)))
                .execute(conn)?;
            let mut event = Event::new("auth.login")
                .outcome(Outcome::Failure)
                .detail("wrong credentials");
            if let Some(c) = other {
                event = event.entity("user", c.id);
                let failures: i32 = diesel::update(users::table.find(c.id))
                    .set(users::failed_logins.eq(users::failed_logins + 1))
                    .returning(users::failed_logins)
                    .get_result(conn)?;
                if failures >= threshold {
                    diesel::update(users::table.find(c.id))
                        .set((users::locked_until.eq(now + lock_for), users::failed_logins.eq(0)))
                        .execute(conn)?;
                    event = event.detail("wrong credentials; account locked");
                }
            }
            audit::record(conn, &who, event)?;
            Ok(LoginResult::Invalid)
        }
    })
    .await
}

/// Deletes failure records older than the throttling window (housekeeping).
pub fn purge_failures(
    conn: &mut crate::db::DbConn,
    now: NaiveDateTime,
    settings: &Settings,
) -> Result<usize, AppError> {
    let cutoff = now - Duration::minutes(settings.lockout_minutes);
    Ok(diesel::delete(login_failures::table.filter(login_failures::at.le(cutoff))).execute(conn)?)
}
