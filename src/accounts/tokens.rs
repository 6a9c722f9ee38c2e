//! How tokens are shown (the store is `auth::token`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::token::TokenRow;
use crate::clock::rome_rfc3339;
use crate::domain::Role;

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
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl TokenView {
    pub fn new(t: TokenRow, org_name: String) -> TokenView {
        TokenView {
            role: Role::parse(&t.role).unwrap_or(Role::Analyst),
            id: t.id,
            prefix: t.prefix,
            label: t.label,
            org_id: t.org_id,
            org_name,
            created_at: rome_rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rome_rfc3339),
            revoked_at: t.revoked_at.map(rome_rfc3339),
        }
    }
}
