//! A referral's lifecycle as one pure transition function: from a state and an action to the
//! next state, or the refusal naming both. Stores apply the result with one
//! `UPDATE … WHERE id = ? AND version = ? RETURNING …`.
//!
//! ```text
//! draft ──confirm──▶ new ──take charge──▶ in charge
//!                     │ ──decline───────▶ declined
//!                     │ (acknowledge, escalate, feedback: stay new)
//! new, in charge, declined ──withdraw consent──▶ restricted (nothing more)
//! ```

use super::vocab::Status;
use crate::vocabulary;

vocabulary! {
    /// What can be done to a referral.
    Action ("referral_action") {
        /// An imported draft, reviewed and completed, becomes a referral.
        Confirm = "confirm" => ("confermare la bozza", "confirm the draft"),
        /// The operator on duty has seen an emergency.
        Acknowledge = "acknowledge" => ("prendere visione", "acknowledge"),
        /// *Presa in carico*.
        TakeCharge = "take_charge" => ("prendere in carico", "take in charge"),
        Decline = "decline" => ("non prendere in carico", "decline"),
        /// Written feedback to the referrer or commission.
        Feedback = "feedback" => ("inviare un riscontro scritto", "send written feedback"),
        /// The person withdrew consent: restricted, personal data erased.
        WithdrawConsent = "withdraw_consent" => ("revocare il consenso", "withdraw consent"),
        /// Coordinators alerted about a missed deadline.
        Escalate = "escalate" => ("segnalare il ritardo al coordinamento", "escalate"),
    }
}

/// An action the state does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Illegal {
    pub state: Status,
    pub action: Action,
}

/// The state after `action`, or why it cannot happen.
pub fn transition(state: Status, action: Action) -> Result<Status, Illegal> {
    use Action as A;
    use Status as S;
    let next = match (state, action) {
        (S::Draft, A::Confirm) => S::New,
        (S::New, A::Acknowledge | A::Escalate | A::Feedback) => S::New,
        (S::New, A::TakeCharge) => S::InCharge,
        (S::New, A::Decline) => S::Declined,
        (S::InCharge, A::Feedback) => S::InCharge,
        (S::Declined, A::Feedback) => S::Declined,
        (S::New | S::InCharge | S::Declined, A::WithdrawConsent) => S::Restricted,
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

    /// Every (state, action) pair and what it must give.
    #[test]
    fn every_pair_of_state_and_action() {
        use Action as A;
        use Status as S;
        let expected = |s: Status, a: Action| -> Option<Status> {
            Some(match (s, a) {
                (S::Draft, A::Confirm) => S::New,
                (S::New, A::Acknowledge) => S::New,
                (S::New, A::Escalate) => S::New,
                (S::New, A::Feedback) => S::New,
                (S::New, A::TakeCharge) => S::InCharge,
                (S::New, A::Decline) => S::Declined,
                (S::New, A::WithdrawConsent) => S::Restricted,
                (S::InCharge, A::Feedback) => S::InCharge,
                (S::InCharge, A::WithdrawConsent) => S::Restricted,
                (S::Declined, A::Feedback) => S::Declined,
                (S::Declined, A::WithdrawConsent) => S::Restricted,
                _ => return None,
            })
        };
        let mut legal = 0;
        for s in Status::ALL {
            for a in Action::ALL {
                let got = transition(*s, *a);
                match expected(*s, *a) {
                    Some(next) => {
                        legal += 1;
                        assert_eq!(got, Ok(next), "{s} + {a}");
                    }
                    None => assert_eq!(got, Err(Illegal { state: *s, action: *a }), "{s} + {a}"),
                }
            }
        }
        assert_eq!(legal, 11);
        assert_eq!(Status::ALL.len() * Action::ALL.len(), 35);
    }

    #[test]
    fn nothing_follows_a_withdrawn_consent() {
        for a in Action::ALL {
            assert!(transition(Status::Restricted, *a).is_err(), "{a}");
        }
    }
}
