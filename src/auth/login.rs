//! Password login with per-account lockout and throttling by address.
//!
//! Every attempt is counted *before* its password is checked, by statements that increment a
//! counter and read it back in one step (`UPDATE … RETURNING`, an upsert with `RETURNING`), so that
//! parallel attempts each see their own count: of 16 simultaneous guesses at an account with a
//! threshold of 5, five are checked. Three counters, all in the database so that they hold across
//! instances:
//! - the account's consecutive failures (`users.failed_logins`): at the threshold the account is
//!   locked for `lockout_minutes`;
//! - failures for one account name from one address (`ip_failure_limit`), which also covers
//!   names that do not exist;
//! - failures from one address whatever the account (`address_failure_cap`, much higher: many
//!   people may sit behind one proxy).
//!
//! A locked account answers exactly as a wrong password or an unknown name does, after the same
//! work (a dummy check): the answer never tells which accounts exist. The password check runs
//! outside any transaction: argon2 takes tens of milliseconds and must not hold SQLite's write lock.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::password::{self, PasswordWork};
use super::session::{self, NewSession};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::config::Settings;
use crate::db::schema::{login_throttle, organisations, users};
use crate::db::DbConn;
use crate::domain::{Actor, Caller, OrgId, Role, UserId};
use crate::error::AppError;

/// How a login attempt ended.
pub enum LoginResult {
    Success {
        session: NewSession,
        user_id: UserId,
    },
    /// Wrong user name or password, a locked or disabled account, or an inactive organisation:
    /// never told apart.
    Invalid,
    /// Too many failures from this address (for this account name, or in all).
    Throttled {
        retry_after_secs: u64,
    },
}

struct Candidate {
    id: UserId,
    username: String,
    hash: String,
    /// Disabled, or acting for an organisation that is no longer active.
    barred: Option<&'static str>,
    role: Role,
    org_id: Option<OrgId>,
}

/// What the counters allowed, decided before the password is checked.
enum Reservation {
    /// Check the password; `account_failures` is the account's count including this attempt.
    Check {
        account_failures: Option<i32>,
    },
    /// The account is locked (or just became so): answer as a wrong password.
    Locked,
    Throttled,
}

fn digest(label: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// Counts one more attempt under `key` within the window and returns the count (1 when the
/// window had passed). One upsert: parallel attempts get distinct counts.
fn bump(conn: &mut DbConn, key: &str, now: NaiveDateTime, window: Duration) -> Result<i32, AppError> {
    let cutoff = now - window;
    crate::on_backend!(conn, |c| diesel::delete(
        login_throttle::table
            .filter(login_throttle::key.eq(key))
            .filter(login_throttle::window_start.le(cutoff)),
    )
    .execute(c))?;
    let n = crate::on_backend!(conn, |c| diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::key.eq(key),
            login_throttle::window_start.eq(now),
            login_throttle::attempts.eq(1),
        ))
        .on_conflict(login_throttle::key)
        .do_update()
        .set(login_throttle::attempts.eq(login_throttle::attempts + 1))
        .returning(login_throttle::attempts)
        .get_result::<i32>(c))?;
    Ok(n)
}

/// Takes back one attempt counted under `key` (it was not a failure).
fn unbump(conn: &mut DbConn, key: &str) -> Result<(), AppError> {
    diesel::update(
        login_throttle::table
            .filter(login_throttle::key.eq(key))
            .filter(login_throttle::attempts.gt(0)),
    )
    .set(login_throttle::attempts.eq(login_throttle::attempts - 1))
    .execute(conn)?;
    Ok(())
}

/// Counts one more failure (or attempt in progress) on an account and returns the count, or
/// `None` when the account is locked. At the threshold the account is locked and its count
/// starts again. One `UPDATE … RETURNING`: parallel attempts get distinct counts.
pub fn count_account_attempt(
    conn: &mut DbConn,
    id: UserId,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Option<i32>, AppError> {
    let n: Option<i32> = diesel::update(
        users::table
            .find(id)
            .filter(users::locked_until.is_null().or(users::locked_until.le(now))),
    )
    .set(users::failed_logins.eq(users::failed_logins + 1))
    .returning(users::failed_logins)
    .get_result(conn)
    .optional()?;
    match n {
        Some(n) if n > settings.lockout_threshold => {
            lock(conn, id, settings, now)?;
            Ok(None)
        }
        other => Ok(other),
    }
}

/// Locks an account for `lockout_minutes`; its failure count starts again.
fn lock(conn: &mut DbConn, id: UserId, settings: &Settings, now: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set((
            users::locked_until.eq(now + Duration::minutes(settings.lockout_minutes)),
            users::failed_logins.eq(0),
        ))
        .execute(conn)?;
    Ok(())
}

/// After a checked attempt failed: locks the account when this failure reached the threshold.
pub fn account_attempt_failed(
    conn: &mut DbConn,
    id: UserId,
    failures: i32,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    if failures >= settings.lockout_threshold {
        lock(conn, id, settings, now)?;
        return Ok(true);
    }
    Ok(false)
}

/// After a checked attempt succeeded: the account's failures start again.
pub fn account_attempt_succeeded(conn: &mut DbConn, id: UserId) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set(users::failed_logins.eq(0))
        .execute(conn)?;
    Ok(())
}

/// Checks a user name and password and, when they match, opens a session.
pub async fn login(
    app: &App,
    caller: &Caller,
    username: String,
    password_input: String,
) -> Result<LoginResult, AppError> {
    let (db, settings, now) = (&app.db, app.settings.clone(), caller.now);
    let work = app.singleton::<PasswordWork>();
    let ip = caller.ip.clone().unwrap_or_else(|| "unknown".into());
    let name = username.trim().to_lowercase();
    let window = Duration::minutes(settings.lockout_minutes);
    let pair_key = format!("a:{}", digest("varco login pair", &[&ip, &name]));
    let address_key = format!("i:{}", digest("varco login address", &[&ip]));

    let candidate = {
        let name = name.clone();
        db.read(move |conn| {
            Ok(users::table
                .left_join(organisations::table)
                .filter(users::username.eq(&name))
                .select((
                    users::id,
                    users::username,
                    users::password_hash,
                    users::disabled,
                    organisations::active.nullable(),
                    users::role,
                    users::org_id,
                ))
                .first::<(UserId, String, String, bool, Option<bool>, Role, Option<OrgId>)>(conn)
                .optional()?
                .map(|(id, username, hash, disabled, org_active, role, org_id)| Candidate {
                    id,
                    username,
                    hash,
                    barred: if disabled {
                        Some("account disabled")
                    } else if org_active == Some(false) {
                        Some("organisation inactive")
                    } else {
                        None
                    },
                    role,
                    org_id,
                }))
        })
        .await?
    };

    // Counted and decided in one write, before any password work.
    let reservation = {
        let (who, settings, pair_key, address_key) =
            (caller.clone(), settings.clone(), pair_key.clone(), address_key.clone());
        let account = candidate.as_ref().map(|c| c.id);
        db.write(move |conn| {
            let address = bump(conn, &address_key, now, window)?;
            let pair = bump(conn, &pair_key, now, window)?;
            let throttled =
                i64::from(address) > settings.address_failure_cap || i64::from(pair) > settings.ip_failure_limit;
            let outcome = if throttled {
                Reservation::Throttled
            } else {
                match account {
                    Some(id) => match count_account_attempt(conn, id, &settings, now)? {
                        Some(n) => Reservation::Check {
                            account_failures: Some(n),
                        },
                        None => Reservation::Locked,
                    },
                    None => Reservation::Check { account_failures: None },
                }
            };
            let denied = match &outcome {
                Reservation::Throttled => Some("address throttled"),
                Reservation::Locked => Some("account locked"),
                Reservation::Check { .. } => None,
            };
            if let Some(detail) = denied {
                let mut event = Event::new("auth.login").outcome(Outcome::Denied).detail(detail);
                if let Some(id) = account {
                    event = event.entity("user", id);
                }
                audit::record(conn, &who, event)?;
            }
            Ok(outcome)
        })
        .await?
    };

    let account_failures = match reservation {
        Reservation::Throttled => {
            return Ok(LoginResult::Throttled {
                retry_after_secs: window.num_seconds().unsigned_abs(),
            })
        }
        Reservation::Locked => {
            // The same work and the same answer as a wrong password: a lock tells nothing.
            work.checked();
            actix_web::web::block(move || password::verify_dummy(&password_input)).await?;
            return Ok(LoginResult::Invalid);
        }
        Reservation::Check { account_failures } => account_failures,
    };

    let hash = candidate.as_ref().map(|c| c.hash.clone());
    work.checked();
    let matches = actix_web::web::block(move || match hash {
        Some(h) => password::verify(&password_input, &h),
        None => {
            password::verify_dummy(&password_input);
            false
        }
    })
    .await?;

    let who = caller.clone();
    db.write(move |conn| match candidate {
        Some(c) if matches && c.barred.is_none() => {
            diesel::update(users::table.find(c.id))
                .set((
                    users::failed_logins.eq(0),
                    users::locked_until.eq(None::<NaiveDateTime>),
                    users::last_login_at.eq(now),
                ))
                .execute(conn)?;
            // Not a failure: the pair starts again, the address gets its attempt back.
            diesel::delete(login_throttle::table.filter(login_throttle::key.eq(&pair_key))).execute(conn)?;
            unbump(conn, &address_key)?;
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
                    .detail(c.barred.unwrap_or("barred")),
            )?;
            Ok(LoginResult::Invalid)
        }
        other => {
            let mut event = Event::new("auth.login")
                .outcome(Outcome::Failure)
                .detail("wrong credentials");
            if let (Some(c), Some(n)) = (other, account_failures) {
                event = event.entity("user", c.id);
                if account_attempt_failed(conn, c.id, n, &settings, now)? {
                    event = event.detail("wrong credentials; account locked");
                }
            }
            audit::record(conn, &who, event)?;
            Ok(LoginResult::Invalid)
        }
    })
    .await
}

/// Deletes throttle counters whose window has passed (housekeeping).
pub fn purge_failures(conn: &mut DbConn, now: NaiveDateTime, settings: &Settings) -> Result<usize, AppError> {
    let cutoff = now - Duration::minutes(settings.lockout_minutes);
    Ok(diesel::delete(login_throttle::table.filter(login_throttle::window_start.le(cutoff))).execute(conn)?)
}
