//! What the API and the pages both do: one store call and its audit entry in one transaction.
//! Password hashing happens here too, off the async workers and outside the transaction.

use actix_web::web;

use super::orgs::{self, OrgFields, OrgInput, OrgRow};
use super::users::{self, NewUser, UserPatch, UserRow};
use crate::audit::{self, Event};
use crate::auth::password;
use crate::auth::token::{self, TokenRow};
use crate::domain::Role;
use crate::error::AppError;
use crate::web::Ctx;

/// Users with their organisation's name (an audited read).
pub async fn list_users(ctx: &Ctx) -> Result<Vec<(UserRow, Option<String>)>, AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    ctx.state
        .db
        .write(move |conn| {
            let rows = users::list(conn)?;
            audit::record(
                conn,
                &who,
                now,
                Event::new("user.list").detail(format!("{} users", rows.len())),
            )?;
            Ok(rows)
        })
        .await
}

/// One user (an audited read).
pub async fn read_user(ctx: &Ctx, id: i64) -> Result<UserRow, AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    ctx.state
        .db
        .write(move |conn| {
            let row = users::get(conn, id)?;
            audit::record(conn, &who, now, Event::new("user.read").entity("user", id))?;
            Ok(row)
        })
        .await
}

/// Hashes a password on a blocking thread (argon2 takes tens of milliseconds).
pub async fn hash_password(plain: String) -> Result<String, AppError> {
    web::block(move || password::hash(&plain)).await?
}

pub async fn create_user(ctx: &Ctx, new: NewUser) -> Result<UserRow, AppError> {
    let hash = hash_password(new.password.expose().to_owned()).await?;
    let (who, now) = (ctx.who(), ctx.now);
    let result = ctx
        .state
        .db
        .write(move |conn| {
            let row = users::insert(conn, &new, &hash, now)?;
            audit::record(conn, &who, now, Event::new("user.create").entity("user", row.id))?;
            Ok(row)
        })
        .await;
    // Routing reads users from the directory snapshot.
    ctx.state.directory.clear();
    result
}

pub async fn update_user(ctx: &Ctx, id: i64, expected_version: i64, patch: UserPatch) -> Result<UserRow, AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    let result = ctx
        .state
        .db
        .write(move |conn| {
            let detail = describe_patch(&patch);
            let row = users::update(conn, id, expected_version, patch, now)?;
            audit::record(
                conn,
                &who,
                now,
                Event::new("user.update").entity("user", id).detail(detail),
            )?;
            Ok(row)
        })
        .await;
    ctx.state.directory.clear();
    result
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

pub async fn create_org(ctx: &Ctx, fields: OrgFields) -> Result<OrgRow, AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    let result = ctx
        .state
        .db
        .write(move |conn| {
            let row = orgs::insert(conn, &fields, now)?;
            audit::record(
                conn,
                &who,
                now,
                Event::new("organisation.create").entity("organisation", row.id),
            )?;
            Ok(row)
        })
        .await;
    ctx.state.directory.clear();
    result
}

/// Updates an organisation; `input` builds the new fields from the current row, inside the
/// same transaction (the API overlays a partial change, the pages send every field).
pub async fn update_org<F>(ctx: &Ctx, id: i64, expected_version: i64, input: F) -> Result<OrgRow, AppError>
where
    F: FnOnce(OrgRow) -> OrgInput + Send + 'static,
{
    let (who, now) = (ctx.who(), ctx.now);
    // A deactivated organisation's tokens stop working at once.
    let state = ctx.state.clone();
    let result = ctx
        .state
        .db
        .write(move |conn| {
            let fields = input(orgs::get(conn, id)?).parse()?;
            let row = orgs::update(conn, id, expected_version, &fields, now)?;
            audit::record(
                conn,
                &who,
                now,
                Event::new("organisation.update").entity("organisation", id),
            )?;
            Ok(row)
        })
        .await;
    state.token_cache.clear();
    state.directory.clear();
    result
}

/// Creates a token: its row, its organisation's name, and the secret (shown once).
pub async fn create_token(
    ctx: &Ctx,
    org_id: i64,
    role: Role,
    label: String,
) -> Result<(TokenRow, String, String), AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    let created_by = ctx.user()?.user_id();
    ctx.state
        .db
        .write(move |conn| {
            let (row, secret) = token::create(conn, org_id, role, &label, created_by, now)?;
            let org = orgs::get(conn, org_id)?.name;
            audit::record(conn, &who, now, Event::new("token.create").entity("token", row.id))?;
            Ok((row, org, secret))
        })
        .await
}

pub async fn revoke_token(ctx: &Ctx, id: i64) -> Result<(TokenRow, String), AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    let result = ctx
        .state
        .db
        .write(move |conn| {
            let row = token::revoke(conn, id, now)?;
            let org = orgs::get(conn, row.org_id)?.name;
            audit::record(conn, &who, now, Event::new("token.revoke").entity("token", id))?;
            Ok((row, org))
        })
        .await;
    // Revoked means refused from the next call on, not when the cache entry ages.
    ctx.state.token_cache.clear();
    result
}
