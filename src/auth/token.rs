//! Bearer tokens for organisations' systems, scoped to an organisation and a role.
//!
//! A token is 32 random bytes shown once at creation; only its SHA-256 is stored and looked up
//! (argon2 on every API call would cap the service at a few hundred requests a second).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{hash_secret, random_secret, Actor, Principal};
use crate::db::schema::{api_tokens, organisations};
use crate::db::DbConn;
use crate::domain::Role;
use crate::error::AppError;

pub const PREFIX: &str = "vrc_";

/// A token as stored (never with its secret).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub prefix: String,
    pub label: String,
    pub org_id: i64,
    pub role: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Creates a token; returns its row and the secret, which is never shown again.
pub fn create(
    conn: &mut DbConn,
    org_id: i64,
    role: Role,
    label: &str,
    created_by: Option<i64>,
    now: NaiveDateTime,
) -> Result<(TokenRow, String), AppError> {
    if !Role::TOKEN_ROLES.contains(&role) {
        return Err(AppError::invalid(
            "role",
            "a token may carry only the referrer, commission or analyst role",
        ));
    }
    let org = crate::accounts::orgs::get(conn, org_id).map_err(|e| match e {
        AppError::NotFound => AppError::invalid("org_id", "no such organisation"),
        other => other,
    })?;
    if !org.active {
        return Err(AppError::invalid("org_id", "the organisation is not active"));
    }
    if role == Role::Commission && org.kind() != crate::domain::OrgKind::TerritorialCommission {
        return Err(AppError::invalid(
            "org_id",
            "a commission token belongs to a territorial commission",
        ));
    }
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    if label.is_empty() || label.chars().count() > 100 {
        return Err(AppError::invalid("label", "must be between 1 and 100 characters long"));
    }
    let secret = format!("{PREFIX}{}", random_secret());
    let id: i64 = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::token_hash.eq(hash_secret(&secret)),
            api_tokens::prefix.eq(&secret[..PREFIX.len() + 6]),
            api_tokens::label.eq(&label),
            api_tokens::org_id.eq(org_id),
            api_tokens::role.eq(role.as_str()),
            api_tokens::created_by.eq(created_by),
            api_tokens::created_at.eq(now),
        ))
        .returning(api_tokens::id)
        .get_result(conn)?;
    Ok((get(conn, id)?, secret))
}

/// Recently resolved tokens, by the SHA-256 of their secret: an organisation's system calling the
/// API many times a second costs one lookup per `ttl`, not one per call. A revocation or an
/// organisation change made through this instance clears it at once; other instances (on
/// PostgreSQL) see it within `ttl`.
pub struct TokenCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<String, (Principal, std::time::Instant)>>,
}

impl TokenCache {
    /// A cache keeping lookups for `seconds` (0: no cache).
    pub fn new(seconds: u64) -> TokenCache {
        TokenCache {
            ttl: std::time::Duration::from_secs(seconds),
            entries: Default::default(),
        }
    }

    pub fn get(&self, hash: &str) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(p, _)| p.clone())
    }

    pub fn put(&self, hash: String, principal: Principal) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: stale entries go when the map grows (organisations have a handful of tokens).
        if entries.len() >= 1024 {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        entries.insert(hash, (principal, std::time::Instant::now()));
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Resolves a bearer secret to its principal; revoked and unknown tokens resolve to nothing.
pub fn resolve(conn: &mut DbConn, secret: &str, now: NaiveDateTime) -> Result<Option<Principal>, AppError> {
    if !secret.starts_with(PREFIX) || secret.len() > 100 {
        return Ok(None);
    }
    let row: Option<(TokenRow, bool, String)> = api_tokens::table
        .inner_join(organisations::table)
        .filter(api_tokens::token_hash.eq(hash_secret(secret)))
        .select((TokenRow::as_select(), organisations::active, organisations::kind))
        .first(conn)
        .optional()?;
    let Some((row, org_active, org_kind)) = row else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&row.role) else {
        return Ok(None);
    };
    if row.revoked_at.is_some() || !org_active {
        return Ok(None);
    }
    // Last use is a hint for administrators: refreshed at most once a minute per token.
    if row.last_used_at.is_none_or(|t| now - t >= Duration::seconds(60)) {
        diesel::update(api_tokens::table.find(row.id))
            .set(api_tokens::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(Principal {
        actor: Actor::Token {
            id: row.id,
            label: row.label,
        },
        role,
        org_id: Some(row.org_id),
        org_kind: crate::domain::OrgKind::parse(&org_kind),
        session: None,
    }))
}

/// Revokes a token at once; revoking twice is refused.
pub fn revoke(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<TokenRow, AppError> {
    let row: TokenRow = api_tokens::table.find(id).select(TokenRow::as_select()).first(conn)?;
    if row.revoked_at.is_some() {
        return Err(AppError::Conflict("the token is already revoked".into()));
    }
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::revoked_at.eq(now))
        .execute(conn)?;
    get(conn, id)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<TokenRow, AppError> {
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
