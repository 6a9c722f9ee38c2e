//! What a shift covers, and who may cover it: shared by the roster (shifts), the accounts (a
//! role change ends the shifts the new role cannot hold) and routing.

use super::Role;
use crate::vocabulary;

vocabulary! {
    /// What a shift covers in the crisis unit.
    Duty ("duty") {
        Operator = "operator" => ("Operatore", "Operator"),
        Coordinator = "coordinator" => ("Coordinatore", "Coordinator"),
        Mediator = "mediator" => ("Mediatore", "Mediator"),
    }
}

/// The roles that may cover a duty (and open what it is routed).
pub fn fits(duty: Duty, role: Role) -> bool {
    match duty {
        Duty::Operator => matches!(role, Role::Operator | Role::Coordinator),
        Duty::Coordinator => role == Role::Coordinator,
        Duty::Mediator => role == Role::Mediator,
    }
}
