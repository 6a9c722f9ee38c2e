//! The roles a person or an organisation's system can hold.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a principal may do. The permission check is per route (see `web::routes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Administers accounts, organisations, tokens; reads the audit log.
    Admin,
    /// Crisis-unit lead (*coordinatore dell'unità di crisi*).
    Coordinator,
    /// Crisis-unit staff (*operatore*).
    Operator,
    /// Cultural mediator (*mediatore linguistico-culturale*).
    Mediator,
    /// Staff of a referring organisation (*soggetto segnalante*).
    Referrer,
    /// Territorial-commission staff (*Commissione Territoriale*).
    Commission,
    /// Observatory analyst: aggregates only, never a personal field.
    Analyst,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Admin,
        Role::Coordinator,
        Role::Operator,
        Role::Mediator,
        Role::Referrer,
        Role::Commission,
        Role::Analyst,
    ];

    /// Roles an organisation's bearer token may carry: never a crisis-unit or admin role.
    pub const TOKEN_ROLES: &'static [Role] = &[Role::Referrer, Role::Commission, Role::Analyst];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Operator => "operator",
            Role::Mediator => "mediator",
            Role::Referrer => "referrer",
            Role::Commission => "commission",
            Role::Analyst => "analyst",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.as_str() == s.trim())
    }

    /// Roles that act on behalf of an organisation and so must belong to one.
    pub fn needs_org(self) -> bool {
        matches!(self, Role::Referrer | Role::Commission)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
