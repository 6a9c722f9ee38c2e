//! The use cases of accounts, shared by the JSON API, the pages and the command line: each takes
//! the caller and the application, runs one audited write (or an audited read) and marks the
//! caches it makes stale. Password hashing happens here too, off the async workers and outside
//! any transaction.

use actix_web::web;

use super::orgs::{self, OrgFields, OrgInput, OrgRow};
use super::tokens::{self, TokenRow};
use super::users::{self, NewUser, UserPatch, UserRow};
use crate::app::{App, Cache};
use crate::audit::{self, Event, Outcome};
use crate::auth::session::{self, NewSession};
use crate::auth::{password, setup};
use crate::domain::{Actor, Caller, OrgId, Password, Role, TokenId, UserId, Version};
use crate::error::AppError;

/// Users with their organisation's name (an audited read).
pub async fn list_users(app: &App, caller: &Caller) -> Result<Vec<(UserRow, Option<String>)>, AppError> {
    audit::read(app, caller, |conn| {
        let rows = users::list(conn)?;
        let n = rows.len();
        Ok((rows, Event::new("user.list").detail(format!("{n} users"))))
    })
    .await
}

/// One user (an audited read).
pub async fn read_user(app: &App, caller: &Caller, id: UserId) -> Result<UserRow, AppError> {
    audit::read(app, caller, move |conn| {
        Ok((users::get(conn, id)?, Event::new("user.read").entity("user", id)))
    })
    .await
}

/// Hashes a password on a blocking thread (argon2 takes tens of milliseconds).
pub async fn hash_password(app: &App, plain: String) -> Result<String, AppError> {
    app.singleton::<password::PasswordWork>().hashed();
    web::block(move || password::hash(&plain)).await?
}

pub async fn create_user(app: &App, caller: &Caller, new: NewUser) -> Result<UserRow, AppError> {
    let hash = hash_password(app, new.password.expose().to_owned()).await?;
    // Routing reads users from the directory snapshot.
    audit::write(app, caller, &[Cache::Directory], move |tx| {
        let row = users::insert(tx.conn, &new, &hash, tx.caller().now)?;
        tx.audit(Event::new("user.create").entity("user", row.id))?;
        Ok(row)
    })
    .await
}

/// Applies `patch`; a `new_password` is checked against the user name and hashed first.
pub async fn update_user(
    app: &App,
    caller: &Caller,
    id: UserId,
    expected_version: Version,
    mut patch: UserPatch,
    new_password: Option<String>,
) -> Result<UserRow, AppError> {
    if let Some(pw) = new_password {
        let username = app.db.read(move |c| Ok(users::get(c, id)?.username)).await?;
        Password::parse(&pw, &username).map_err(|m| AppError::invalid("password", m))?;
        patch.password_hash = Some(hash_password(app, pw).await?);
    }
    audit::write(app, caller, &[Cache::Directory], move |tx| {
        let detail = describe_patch(&patch);
        let row = users::update(tx.conn, id, expected_version, patch, tx.caller().now)?;
        tx.audit(Event::new("user.update").entity("user", id).detail(detail))?;
        Ok(row)
    })
    .await
}

/// Disables a user by user name (the command line), ending their sessions.
pub async fn disable_user(app: &App, caller: &Caller, username: String) -> Result<UserRow, AppError> {
    audit::write(app, caller, &[Cache::Directory], move |tx| {
        let u = users::find_by_username(tx.conn, &username)?.ok_or(AppError::NotFound)?;
        let patch = UserPatch {
            disabled: Some(true),
            ..UserPatch::default()
        };
        let row = users::update(tx.conn, u.id, u.version, patch, tx.caller().now)?;
        tx.audit(Event::new("user.update").entity("user", u.id).detail("disabled"))?;
        Ok(row)
    })
    .await
}

/// Which fields a patch touches (names only, never values), for the audit entry.
pub fn describe_patch(p: &UserPatch) -> String {
    let mut f: Vec<String> = Vec::new();
    if p.display_name.is_some() {
        f.push("display_name".into());
    }
    if p.email.is_some() {
        f.push("email".into());
    }
    if let Some(r) = p.role {
        f.push(format!("role={r}"));
    }
    if p.org_id.is_some() {
        f.push("org_id".into());
    }
    match p.disabled {
        Some(true) => f.push("disabled".into()),
        Some(false) => f.push("enabled".into()),
        None => {}
    }
    if p.password_hash.is_some() {
        f.push("password".into());
    }
    if p.unlock {
        f.push("unlock".into());
    }
    if p.languages.is_some() {
        f.push("languages".into());
    }
    if f.is_empty() {
        "no change".into()
    } else {
        f.join(", ")
    }
}

/// Organisations, by name (not personal data: no audit entry).
pub async fn list_orgs(app: &App) -> Result<Vec<OrgRow>, AppError> {
    app.db.read(orgs::list).await
}

pub async fn get_org(app: &App, id: OrgId) -> Result<OrgRow, AppError> {
    app.db.read(move |c| orgs::get(c, id)).await
}

pub async fn create_org(app: &App, caller: &Caller, fields: OrgFields) -> Result<OrgRow, AppError> {
    audit::write(app, caller, &[Cache::Directory], move |tx| {
        let row = orgs::insert(tx.conn, &fields, tx.caller().now)?;
        tx.audit(Event::new("organisation.create").entity("organisation", row.id))?;
        Ok(row)
    })
    .await
}

/// Updates an organisation; `input` builds the new fields from the current row, inside the
/// same transaction (the API overlays a partial change, the pages send every field). A
/// deactivated organisation's tokens stop working at once, its people's sessions end and their
/// logins are refused.
pub async fn update_org<F>(
    app: &App,
    caller: &Caller,
    id: OrgId,
    expected_version: Version,
    input: F,
) -> Result<OrgRow, AppError>
where
    F: FnOnce(OrgRow) -> OrgInput + Send + 'static,
{
    audit::write(app, caller, &[Cache::Tokens, Cache::Directory], move |tx| {
        let was_active = orgs::get(tx.conn, id)?.active;
        let fields = input(orgs::get(tx.conn, id)?).parse()?;
        let row = orgs::update(tx.conn, id, expected_version, &fields, tx.caller().now)?;
        let mut event = Event::new("organisation.update").entity("organisation", id);
        if was_active && !row.active {
            // Its people are out at once, as its tokens are: sessions ended, logins refused.
            let ended = users::end_sessions_of_org(tx.conn, id)?;
            event = event.detail(format!("deactivated; {ended} session(s) ended"));
        }
        tx.audit(event)?;
        Ok(row)
    })
    .await
}

/// Tokens with their organisation's name, newest first (no secret: no audit entry).
pub async fn list_tokens(app: &App) -> Result<Vec<(TokenRow, String)>, AppError> {
    app.db.read(tokens::list).await
}

/// Creates a token: its row, its organisation's name, and the secret (shown once).
pub async fn create_token(
    app: &App,
    caller: &Caller,
    org_id: OrgId,
    role: Role,
    label: String,
) -> Result<(TokenRow, String, String), AppError> {
    let created_by = caller.user_id();
    audit::write(app, caller, &[], move |tx| {
        let (row, secret) = tokens::create(tx.conn, org_id, role, &label, created_by, tx.caller().now)?;
        let org = orgs::get(tx.conn, org_id)?.name;
        tx.audit(Event::new("token.create").entity("token", row.id))?;
        Ok((row, org, secret))
    })
    .await
}

/// Revokes a token: refused from the next call on, not when a cache entry ages.
pub async fn revoke_token(app: &App, caller: &Caller, id: TokenId) -> Result<(TokenRow, String), AppError> {
    audit::write(app, caller, &[Cache::Tokens], move |tx| {
        let row = tokens::revoke(tx.conn, id, tx.caller().now)?;
        let org = orgs::get(tx.conn, row.org_id)?.name;
        tx.audit(Event::new("token.revoke").entity("token", id))?;
        Ok((row, org))
    })
    .await
}

/// True when at least one enabled administrator exists.
pub async fn admin_exists(app: &App) -> Result<bool, AppError> {
    app.db.read(users::admin_exists).await
}

/// Refused once an administrator exists (a conflict) or with a link that is not valid.
fn setup_still_open(conn: &mut crate::db::DbConn, token: &str, now: chrono::NaiveDateTime) -> Result<(), AppError> {
    if users::admin_exists(conn)? {
        return Err(AppError::Conflict("setup is already done: log in instead".into()));
    }
    if !setup::is_valid(conn, token, now)? {
        return Err(AppError::invalid(
            "token",
            "the setup link is invalid, used or expired: restart the server for a new one",
        ));
    }
    Ok(())
}

/// Creates the first administrator with a setup token and opens their session. Refused once any
/// administrator exists, so a leaked link is worthless after setup.
pub async fn create_first_admin(
    app: &App,
    caller: &Caller,
    token: String,
    user: NewUser,
) -> Result<(UserRow, NewSession), AppError> {
    if user.role != Role::Admin {
        return Err(AppError::invalid("role", "the first account is an administrator"));
    }
    // Checked before the password is hashed (tens of milliseconds of CPU), so that anonymous
    // posts after setup or without a valid link cost nothing; checked again in the write, where
    // two concurrent setups meet.
    let (now, probe) = (caller.now, token.clone());
    app.db.read(move |conn| setup_still_open(conn, &probe, now)).await?;
    let hash = hash_password(app, user.password.expose().to_owned()).await?;
    let settings = app.settings.clone();
    audit::write(app, caller, &[Cache::Directory], move |tx| {
        let now = tx.caller().now;
        setup_still_open(tx.conn, &token, now)?;
        let row = users::insert(tx.conn, &user, &hash, now)?;
        setup::spend_all(tx.conn, now)?;
        let me = Caller {
            actor: Actor::User {
                id: row.id,
                username: row.username.clone(),
                display_name: row.display_name.clone(),
            },
            role: Some(Role::Admin),
            ..tx.caller().clone()
        };
        tx.audit_as(&me, Event::new("setup.first_admin").entity("user", row.id))?;
        let session = session::create(tx.conn, row.id, now, &settings)?;
        Ok((row, session))
    })
    .await
}

/// Ends the caller's session.
pub async fn logout(app: &App, caller: &Caller, session_hash: Option<String>) -> Result<(), AppError> {
    let user_id = caller.user_id();
    audit::write(app, caller, &[], move |tx| {
        if let Some(h) = &session_hash {
            session::delete(tx.conn, h)?;
        }
        let mut ev = Event::new("auth.logout");
        if let Some(id) = user_id {
            ev = ev.entity("user", id);
        }
        tx.audit(ev)
    })
    .await
}

/// The caller's own account and their organisation's name (an audited read).
pub async fn own_account(app: &App, caller: &Caller) -> Result<(UserRow, Option<String>), AppError> {
    let user_id = caller.user_id().ok_or(AppError::Forbidden)?;
    audit::read(app, caller, move |conn| {
        let user = users::get(conn, user_id)?;
        let org = match user.org_id {
            Some(id) => Some(orgs::get(conn, id)?.name),
            None => None,
        };
        Ok(((user, org), Event::new("account.read").entity("user", user_id)))
    })
    .await
}

/// The caller's organisation, for `/api/v1/me` (an audited read of the caller themselves).
pub async fn me(app: &App, caller: &Caller) -> Result<Option<OrgRow>, AppError> {
    let (entity, id) = match &caller.actor {
        Actor::User { id, .. } => ("user", id.get()),
        Actor::Token { id, .. } => ("token", id.get()),
        _ => return Err(AppError::Unauthenticated),
    };
    let org_id = caller.org_id;
    audit::read(app, caller, move |conn| {
        let org = match org_id {
            Some(id) => Some(orgs::get(conn, id)?),
            None => None,
        };
        Ok((org, Event::new("me.read").entity(entity, id)))
    })
    .await
}

/// Why a password change was refused: the fields and their English messages.
pub type PasswordErrors = Vec<(&'static str, &'static str)>;

/// Changes the caller's own password. `confirm` must repeat `new`; the current password must be
/// right. On success every session of the user ends and a fresh one is returned.
pub async fn change_password(
    app: &App,
    caller: &Caller,
    current: String,
    new: String,
    confirm: String,
) -> Result<Result<NewSession, PasswordErrors>, AppError> {
    let Actor::User { id, username, .. } = caller.actor.clone() else {
        return Err(AppError::Forbidden);
    };
    let mut errors: PasswordErrors = Vec::new();
    if new != confirm {
        errors.push(("password_confirm", "does not match the password"));
    }
    if let Err(m) = Password::parse(&new, &username) {
        errors.push(("password", m));
    }
    // A wrong current password counts toward the account's lockout, as at login: whoever holds
    // a stolen session cannot guess the password here either.
    let (settings, now) = (app.settings.clone(), caller.now);
    let failures = app
        .db
        .write(move |conn| crate::auth::login::count_account_attempt(conn, id, &settings, now))
        .await?;
    match failures {
        None => errors.push(("current_password", "too many wrong attempts: try again later")),
        Some(n) => {
            let stored = app.db.read(move |conn| users::password_hash(conn, id)).await?;
            app.singleton::<password::PasswordWork>().checked();
            let ok = web::block(move || password::verify(&current, &stored)).await?;
            let settings = app.settings.clone();
            if ok {
                app.db
                    .write(move |conn| crate::auth::login::account_attempt_succeeded(conn, id))
                    .await?;
            } else {
                app.db
                    .write(move |conn| crate::auth::login::account_attempt_failed(conn, id, n, &settings, now))
                    .await?;
                errors.push(("current_password", "is not your current password"));
            }
        }
    }
    if !errors.is_empty() {
        audit::record_now(
            app,
            caller,
            Event::new("account.password")
                .entity("user", id)
                .outcome(Outcome::Failure),
        )
        .await?;
        return Ok(Err(errors));
    }
    let hash = hash_password(app, new).await?;
    let settings = app.settings.clone();
    let session = audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let version = users::get(tx.conn, id)?.version;
        let patch = UserPatch {
            password_hash: Some(hash),
            ..UserPatch::default()
        };
        users::update(tx.conn, id, version, patch, now)?;
        tx.audit(Event::new("account.password").entity("user", id))?;
        // Every session ended with the change; this one continues in a fresh session.
        session::create(tx.conn, id, now, &settings)
    })
    .await?;
    Ok(Ok(session))
}
