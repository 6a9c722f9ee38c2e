//! A case's lifecycle as one pure transition function (the referral has its own, in
//! `referrals::lifecycle`). Stores apply it with `UPDATE … WHERE id AND version`.
//!
//! ```text
//! received ─take charge─▶ taken in charge ─plan interview─▶ interview planned ─hold─▶ interviewed
//!   ─assess─▶ assessment ─decide outcome─▶ outcome decided ─send feedback─▶ feedback sent ─close─▶ closed
//! closed ─reopen─▶ taken in charge
//! ```
//! Steps may be repeated (another interview, another note) without going back; a case can be
//! closed from any open state (a person who disappears), and reopened.

use super::vocab::CaseStatus;
use crate::vocabulary;

vocabulary! {
    /// What can be done to a case.
    CaseAction ("case_action") {
        TakeCharge = "take_charge" => ("prendere in carico", "take in charge"),
        PlanInterview = "plan_interview" => ("fissare un colloquio", "plan an interview"),
        HoldInterview = "hold_interview" => ("registrare il colloquio svolto", "record the interview held"),
        Assess = "assess" => ("avviare la valutazione", "start the assessment"),
        DecideOutcome = "decide_outcome" => ("decidere l'esito", "decide the outcome"),
        SendFeedback = "send_feedback" => ("inviare il riscontro scritto", "send the written feedback"),
        Close = "close" => ("chiudere il caso", "close the case"),
        Reopen = "reopen" => ("riaprire il caso", "reopen the case"),
    }
}

/// An action the state does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Illegal {
    pub state: CaseStatus,
    pub action: CaseAction,
}

/// The state after `action`, or why it cannot happen.
pub fn transition(state: CaseStatus, action: CaseAction) -> Result<CaseStatus, Illegal> {
    use CaseAction as A;
    use CaseStatus as S;
    let next = match (state, action) {
        (S::Received, A::TakeCharge) => S::TakenInCharge,
        // Another interview can be planned at any point of the work, without losing ground.
        (S::TakenInCharge, A::PlanInterview) => S::InterviewPlanned,
        (
            S::InterviewPlanned | S::Interviewed | S::Assessment | S::OutcomeDecided | S::FeedbackSent,
            A::PlanInterview,
        ) => state,
        (S::InterviewPlanned, A::HoldInterview) => S::Interviewed,
        (S::Interviewed | S::Assessment | S::OutcomeDecided | S::FeedbackSent, A::HoldInterview) => state,
        (S::Interviewed, A::Assess) => S::Assessment,
        (S::Assessment | S::OutcomeDecided | S::FeedbackSent, A::Assess) => state,
        (S::Interviewed | S::Assessment, A::DecideOutcome) => S::OutcomeDecided,
        (S::OutcomeDecided | S::FeedbackSent, A::DecideOutcome) => state,
        (S::OutcomeDecided, A::SendFeedback) => S::FeedbackSent,
        (S::FeedbackSent, A::SendFeedback) => S::FeedbackSent,
        (s, A::Close) if s.is_open() && s != S::Received => S::Closed,
        (S::Closed, A::Reopen) => S::TakenInCharge,
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
    fn the_whole_path_then_reopen() {
        use CaseAction as A;
        let mut s = CaseStatus::Received;
        for a in [
            A::TakeCharge,
            A::PlanInterview,
            A::HoldInterview,
            A::Assess,
            A::DecideOutcome,
            A::SendFeedback,
            A::Close,
        ] {
            s = transition(s, a).expect("legal");
        }
        assert_eq!(s, CaseStatus::Closed);
        assert_eq!(transition(s, A::Reopen), Ok(CaseStatus::TakenInCharge));
    }

    #[test]
    fn every_pair_is_decided_and_closed_cases_only_reopen() {
        for s in CaseStatus::ALL {
            for a in CaseAction::ALL {
                let r = transition(*s, *a);
                if *s == CaseStatus::Closed {
                    assert_eq!(r.is_ok(), *a == CaseAction::Reopen, "{s:?} {a:?}");
                }
                if let Err(e) = r {
                    assert_eq!((e.state, e.action), (*s, *a));
                }
            }
        }
        // No skipping: feedback before an outcome, an outcome before an interview.
        assert!(transition(CaseStatus::TakenInCharge, CaseAction::SendFeedback).is_err());
        assert!(transition(CaseStatus::TakenInCharge, CaseAction::DecideOutcome).is_err());
        assert!(transition(CaseStatus::InterviewPlanned, CaseAction::Assess).is_err());
        assert!(transition(CaseStatus::Received, CaseAction::Close).is_err());
    }
}
