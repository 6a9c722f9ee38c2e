//! Organisations' bearer tokens: creation (the secret shown once), revocation, the list. How a
//! presented token is recognised is `auth::token`.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::orgs;
use crate::auth::token::PREFIX;
use crate::auth::{hash_secret, random_secret};
use crate::clock::rome;
use crate::db::schema::{api_tokens, organisations};
use crate::db::DbConn;
use crate::domain::{OrgId, Role, TokenId, UserId};
use crate::error::AppError;

/// A token as stored (never with its secret).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: TokenId,
    pub prefix: String,
    pub label: String,
    pub org_id: OrgId,
    pub role: Role,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Creates a token; returns its row and the secret, which is never shown again.
pub fn create(
    conn: &mut DbConn,
    org_id: OrgId,
    role: Role,
    label: &str,
    created_by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<(TokenRow, String), AppError> {
    if !Role::TOKEN_ROLES.contains(&role) {
        return Err(AppError::invalid(
            "role",
            "a token may carry only the referrer, commission or analyst role",
        ));
    }
    orgs::check_acts_for(conn, org_id, role)?;
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    if label.is_empty() || label.chars().count() > 100 {
        return Err(AppError::invalid("label", "must be between 1 and 100 characters long"));
    }
    let secret = format!("{PREFIX}{}", random_secret());
    let row = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::token_hash.eq(hash_secret(&secret)),
            api_tokens::prefix.eq(&secret[..PREFIX.len() + 6]),
            api_tokens::label.eq(&label),
            api_tokens::org_id.eq(org_id),
            api_tokens::role.eq(role),
            api_tokens::created_by.eq(created_by),
            api_tokens::created_at.eq(now),
        ))
        .returning(crate::db::columns::<TokenRow>())
        .get_result::<TokenRow>(conn)?;
    Ok((row, secret))
}

/// Revokes a token at once; revoking twice is refused.
pub fn revoke(conn: &mut DbConn, id: TokenId, now: NaiveDateTime) -> Result<TokenRow, AppError> {
    let revoked = diesel::update(api_tokens::table.find(id).filter(api_tokens::revoked_at.is_null()))
        .set(api_tokens::revoked_at.eq(now))
        .returning(crate::db::columns::<TokenRow>())
        .get_result::<TokenRow>(conn)
        .optional()?;
    match revoked {
        Some(row) => Ok(row),
        None => {
            get(conn, id)?;
            Err(AppError::Conflict("the token is already revoked".into()))
        }
    }
}

pub fn get(conn: &mut DbConn, id: TokenId) -> Result<TokenRow, AppError> {
    Ok(api_tokens::table.find(id).select(TokenRow::as_select()).first(conn)?)
}

/// Tokens with their organisation's name, newest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<(TokenRow, String)>, AppError> {
    Ok(api_tokens::table
        .inner_join(organisations::table)
        .select((TokenRow::as_select(), organisations::name))
        .order(api_tokens::id.desc())
        .load(conn)?)
}

/// A token as listed: never its secret, only the first characters to recognise it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    /// First characters of the secret, e.g. `vrc_AbC123`.
    pub prefix: String,
    pub label: String,
    pub org_id: i64,
    pub org_name: String,
    pub role: Role,
    pub created_at: DateTime<FixedOffset>,
    pub last_used_at: Option<DateTime<FixedOffset>>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
}

impl TokenView {
    pub fn new(t: TokenRow, org_name: String) -> TokenView {
        TokenView {
            role: t.role,
            id: t.id.get(),
            prefix: t.prefix,
            label: t.label,
            org_id: t.org_id.get(),
            org_name,
            created_at: rome(t.created_at),
            last_used_at: t.last_used_at.map(rome),
            revoked_at: t.revoked_at.map(rome),
        }
    }
}
