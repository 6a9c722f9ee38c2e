//! The roles a person or an organisation's system can hold.

use crate::vocabulary;

vocabulary! {
    /// What a principal may do. The permission check is per route (see `web::routes`).
    Role ("role") {
        /// Administers accounts, organisations, tokens; reads the audit log.
        Admin = "admin" => ("Amministratore", "Administrator"),
        /// Crisis-unit lead (*coordinatore dell'unità di crisi*).
        Coordinator = "coordinator" => ("Coordinatore unità di crisi", "Crisis-unit coordinator"),
        /// Crisis-unit staff (*operatore*).
        Operator = "operator" => ("Operatore unità di crisi", "Crisis-unit operator"),
        /// Cultural mediator (*mediatore linguistico-culturale*).
        Mediator = "mediator" => ("Mediatore linguistico-culturale", "Cultural mediator"),
        /// Staff of a referring organisation (*soggetto segnalante*).
        Referrer = "referrer" => ("Soggetto segnalante", "Referrer"),
        /// Territorial-commission staff (*Commissione Territoriale*).
        Commission = "commission" => ("Commissione Territoriale", "Territorial commission"),
        /// Observatory analyst: aggregates only, never a personal field.
        Analyst = "analyst" => ("Osservatorio (analista)", "Observatory analyst"),
    }
}

impl Role {
    /// Roles an organisation's bearer token may carry: never a crisis-unit or admin role.
    pub const TOKEN_ROLES: &'static [Role] = &[Role::Referrer, Role::Commission, Role::Analyst];

    /// Roles that act on behalf of an organisation and so must belong to one.
    pub fn needs_org(self) -> bool {
        matches!(self, Role::Referrer | Role::Commission)
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
