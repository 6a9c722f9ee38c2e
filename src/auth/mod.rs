//! Who is calling and what they may do: passwords, sessions, bearer tokens, CSRF, lockout.

pub mod login;
pub mod password;
pub mod session;
pub mod setup;
pub mod token;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use chrono::NaiveDateTime;

use crate::domain::{Caller, OrgId, Role, UserId};

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub actor: Actor,
    pub role: Role,
    pub org_id: Option<OrgId>,
    /// The kind of the caller's organisation (read with the caller, to spare a query later).
    pub org_kind: Option<crate::domain::OrgKind>,
    /// Present when the caller came with a session cookie (browser).
    pub session: Option<SessionRef>,
}

/// A person (through a session) or an organisation's system (through a bearer token); the
/// `System` and `Anonymous` actors never authenticate.
pub use crate::domain::Actor;

/// The session a browser request belongs to.
#[derive(Clone, Debug)]
pub struct SessionRef {
    pub id_hash: String,
    pub csrf_token: String,
}

impl Principal {
    pub fn user_id(&self) -> Option<UserId> {
        match self.actor {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    /// The caller a service receives for a request made by this principal.
    pub fn caller(&self, ip: Option<String>, request_id: Option<String>, now: NaiveDateTime) -> Caller {
        Caller {
            actor: self.actor.clone(),
            role: Some(self.role),
            org_id: self.org_id,
            org_kind: self.org_kind,
            ip,
            request_id,
            now,
        }
    }
}

/// Who may call a route. Every route declares one; there is no default but deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (login, setup, health, static files).
    Public,
    /// Only principals holding one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub const ADMIN: Access = Access::Roles(&[Role::Admin]);
    pub const ANY_USER: Access = Access::Roles(Role::ALL);

    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (Access::Roles(roles), Some(r)) => roles.contains(&r),
            (Access::Roles(_), None) => false,
        }
    }
}

/// 32 random bytes, URL-safe base64 without padding.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a secret, hex: how session ids and tokens are stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hash_stably() {
        let a = random_secret();
        let b = random_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_secret("x"), hash_secret("x"));
        assert_eq!(hash_secret("x").len(), 64);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
    }

    #[test]
    fn access_denies_unless_the_role_is_listed() {
        assert!(Access::Public.allows(None));
        assert!(!Access::ADMIN.allows(None));
        assert!(!Access::ADMIN.allows(Some(Role::Operator)));
        assert!(Access::ADMIN.allows(Some(Role::Admin)));
    }
}
