//! A placement's lifecycle as one pure transition function, applied by the store with
//! `UPDATE … WHERE id AND version`.
//!
//! ```text
//! held ──check in──▶ checked in ──check out──▶ checked out
//!   │  ╲──release──▶ released        placed ──check in──▶ checked in
//!   │   ╲─turn away─▶ turned away    placed ──release / turn away──▶ released / turned away
//!   └──expire (the clock)──▶ expired
//! ```

use super::vocab::PlacementStatus;
use crate::vocabulary;

vocabulary! {
    /// What can be done to a placement.
    PlacementAction ("placement_action") {
        CheckIn = "check_in" => ("registrare l'arrivo", "check in"),
        CheckOut = "check_out" => ("registrare l'uscita", "check out"),
        Release = "release" => ("rilasciare il posto", "release the place"),
        TurnAway = "turn_away" => ("registrare la mancata accoglienza", "record a turn-away"),
        Expire = "expire" => ("far scadere il trattenimento", "expire the hold"),
    }
}

/// An action the state does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Illegal {
    pub state: PlacementStatus,
    pub action: PlacementAction,
}

/// The state after `action`, or why it cannot happen.
pub fn transition(state: PlacementStatus, action: PlacementAction) -> Result<PlacementStatus, Illegal> {
    use PlacementAction as A;
    use PlacementStatus as S;
    let next = match (state, action) {
        (S::Held | S::Placed, A::CheckIn) => S::CheckedIn,
        (S::CheckedIn, A::CheckOut) => S::CheckedOut,
        (S::Held | S::Placed, A::Release) => S::Released,
        (S::Held | S::Placed, A::TurnAway) => S::TurnedAway,
        (S::Held, A::Expire) => S::Expired,
        (state, action) => return Err(Illegal { state, action }),
    };
    Ok(next)
}

impl From<Illegal> for crate::error::AppError {
    fn from(i: Illegal) -> Self {
        crate::error::AppError::IllegalTransition {
            state: i.state.as_str(),
            action: i.action.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_becomes_a_stay_and_ends() {
        let s = transition(PlacementStatus::Held, PlacementAction::CheckIn).expect("legal");
        assert_eq!(
            transition(s, PlacementAction::CheckOut),
            Ok(PlacementStatus::CheckedOut)
        );
    }

    #[test]
    fn ended_placements_take_no_action() {
        for s in [
            PlacementStatus::CheckedOut,
            PlacementStatus::Released,
            PlacementStatus::Expired,
            PlacementStatus::TurnedAway,
        ] {
            assert!(!s.is_open());
            for a in PlacementAction::ALL {
                assert!(transition(s, *a).is_err(), "{s:?} {a:?}");
            }
        }
        assert!(transition(PlacementStatus::Placed, PlacementAction::Expire).is_err());
        assert!(transition(PlacementStatus::CheckedIn, PlacementAction::Release).is_err());
    }
}
