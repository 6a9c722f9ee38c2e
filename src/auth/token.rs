//! Bearer tokens for organisations' systems: how a request's token becomes its caller.
//!
//! A token is 32 random bytes shown once at creation (`accounts::tokens`); only its SHA-256 is
//! stored and looked up (argon2 on every API call would cap the service at a few hundred requests
//! a second).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{hash_secret, Actor, Principal};
use crate::app::{App, Cache};
use crate::db::schema::{api_tokens, organisations};
use crate::db::DbConn;
use crate::domain::{OrgId, OrgKind, Role, TokenId};
use crate::error::AppError;

pub const PREFIX: &str = "vrc_";

/// Recently resolved tokens, by the SHA-256 of their secret: an organisation's system calling the
/// API many times a second costs one lookup per `token_cache_seconds`, not one per call. A
/// revocation or an organisation change made through this instance makes it stale at once
/// ([`Cache::Tokens`]); other instances (on PostgreSQL) see it within the cache's lifetime.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Principal, Instant, u64)>>,
}

impl TokenCache {
    fn get(&self, hash: &str, ttl: StdDuration, generation: u64) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|(_, at, g)| at.elapsed() < ttl && *g == generation)
            .map(|(p, _, _)| p.clone())
    }

    fn put(&self, hash: String, principal: Principal, ttl: StdDuration, generation: u64) {
        if ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: stale entries go when the map grows (organisations have a handful of tokens).
        if entries.len() >= 1024 {
            entries.retain(|_, (_, at, g)| at.elapsed() < ttl && *g == generation);
        }
        entries.insert(hash, (principal, Instant::now(), generation));
    }
}

/// The caller a bearer secret stands for, through the instance's cache; `None` for an unknown or
/// revoked token, or one whose organisation is deactivated.
pub async fn authenticate(app: &App, secret: String, now: NaiveDateTime) -> Result<Option<Principal>, AppError> {
    let hash = hash_secret(&secret);
    let ttl = StdDuration::from_secs(app.settings.token_cache_seconds);
    let cache = app.singleton::<TokenCache>();
    let generation = app.generation(Cache::Tokens);
    if let Some(p) = cache.get(&hash, ttl, generation) {
        return Ok(Some(p));
    }
    let (found, used) = app.db.read(move |conn| resolve(conn, &secret, now)).await?;
    if let Some(id) = used {
        // Last use is a hint for administrators: through the writer, refreshed at most once a
        // minute per token.
        app.db
            .write(move |conn| {
                diesel::update(api_tokens::table.find(id))
                    .set(api_tokens::last_used_at.eq(now))
                    .execute(conn)?;
                Ok(())
            })
            .await?;
    }
    if let Some(p) = &found {
        cache.put(hash, p.clone(), ttl, generation);
    }
    Ok(found)
}

/// Resolves a bearer secret to its principal (a plain read); revoked and unknown tokens resolve
/// to nothing. The token's id comes back too when its last use is more than a minute old.
pub fn resolve(
    conn: &mut DbConn,
    secret: &str,
    now: NaiveDateTime,
) -> Result<(Option<Principal>, Option<TokenId>), AppError> {
    if !secret.starts_with(PREFIX) || secret.len() > 100 {
        return Ok((None, None));
    }
    type Found = (
        TokenId,
        String,
        OrgId,
        Role,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        bool,
        OrgKind,
    );
    let row: Option<Found> = api_tokens::table
        .inner_join(organisations::table)
        .filter(api_tokens::token_hash.eq(hash_secret(secret)))
        .select((
            api_tokens::id,
            api_tokens::label,
            api_tokens::org_id,
            api_tokens::role,
            api_tokens::last_used_at,
            api_tokens::revoked_at,
            organisations::active,
            organisations::kind,
        ))
        .first(conn)
        .optional()?;
    let Some((id, label, org_id, role, last_used_at, revoked_at, org_active, org_kind)) = row else {
        return Ok((None, None));
    };
    if revoked_at.is_some() || !org_active {
        return Ok((None, None));
    }
    let used = last_used_at
        .is_none_or(|t| now - t >= Duration::seconds(60))
        .then_some(id);
    let principal = Principal {
        actor: Actor::Token { id, label },
        role,
        org_id: Some(org_id),
        org_kind: Some(org_kind),
        session: None,
    };
    Ok((Some(principal), used))
}
