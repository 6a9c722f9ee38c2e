//! Who sees which referral, and who may do what with it: the one place these rules live.
//!
//! - The crisis unit (coordinators, operators) sees every referral and acts on it.
//! - A cultural mediator sees a referral proposed to them while it is open: the proposal until
//!   they answer it, then, if they accepted, what the interview needs; they answer proposals and
//!   decide nothing else.
//! - A referring organisation or a territorial commission (its staff or its system) sees its own
//!   reports only, in the outside view; a commission may withdraw the consent it recorded.
//! - Anyone else sees nothing. A referral one may not see answers 404, so existence is not
//!   revealed.

use super::model::Submitter;
use super::store::{ReferralRow, RoutingRow};
use super::vocab::{MediatorAnswer, Status};
use crate::domain::{Caller, Role, UserId};
use crate::error::AppError;

/// How a caller stands towards referrals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Coordinators and operators.
    Unit,
    /// A cultural mediator: the referrals proposed to them.
    Mediator { user_id: UserId },
    /// A referring organisation or a commission: its own reports, in the outside view.
    Outside(Submitter),
}

/// The caller's standing, or 403 for roles that have none.
pub fn standing(caller: &Caller) -> Result<Standing, AppError> {
    match caller.role {
        Some(Role::Coordinator | Role::Operator) => Ok(Standing::Unit),
        Some(Role::Mediator) => Ok(Standing::Mediator {
            user_id: caller.user_id().ok_or(AppError::Forbidden)?,
        }),
        Some(Role::Commission | Role::Referrer) => Ok(Standing::Outside(submitter(caller)?)),
        _ => Err(AppError::Forbidden),
    }
}

/// Who files a referral: the unit, or a referring organisation or commission for itself.
pub fn submitter(caller: &Caller) -> Result<Submitter, AppError> {
    match caller.role {
        Some(Role::Coordinator | Role::Operator) => Ok(Submitter::Unit),
        Some(Role::Commission) => Ok(Submitter::Commission {
            org_id: caller.org_id.ok_or(AppError::Forbidden)?,
        }),
        Some(Role::Referrer) => Ok(Submitter::Referrer {
            org_id: caller.org_id.ok_or(AppError::Forbidden)?,
            org_kind: caller.org_kind.ok_or(AppError::Forbidden)?,
        }),
        _ => Err(AppError::Forbidden),
    }
}

/// What a mediator sees of a referral proposed to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediatorView {
    /// A proposal waiting for their answer: what they need to decide (languages, urgency, when),
    /// nothing of the person.
    Proposal,
    /// Accepted and still open: what the interview needs (how to address the person, languages,
    /// gender and age, nationality, where they are hosted, who the operator is); never the notes,
    /// the referrer's contact, the consent record, the decision note or the feedback.
    Interview,
}

/// What `user_id`, a mediator, sees of a referral: nothing unless it was proposed to them, is
/// open, and they have not declined it.
pub fn mediator_view(row: &ReferralRow, routing: &RoutingRow, user_id: UserId) -> Option<MediatorView> {
    let open = matches!(row.status, Status::New | Status::InCharge);
    if routing.proposed_mediator_id != Some(user_id) || !open {
        return None;
    }
    match routing.mediator_answer {
        None => Some(MediatorView::Proposal),
        Some(MediatorAnswer::Accepted) => Some(MediatorView::Interview),
        Some(MediatorAnswer::Declined) => None,
    }
}

/// True when `standing` may see `row` (the case file for the unit, the proposal or the
/// interview's share for a mediator, the outside view for its organisation).
pub fn can_see(row: &ReferralRow, routing: &RoutingRow, standing: Standing) -> bool {
    match standing {
        Standing::Unit => true,
        Standing::Mediator { user_id } => mediator_view(row, routing, user_id).is_some(),
        Standing::Outside(Submitter::Referrer { org_id, .. } | Submitter::Commission { org_id }) => {
            row.submitter_org_id == Some(org_id)
        }
        Standing::Outside(Submitter::Unit) => false,
    }
}

/// What a standing may do to a referral it can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    /// Every decision of the unit.
    Decide,
    /// Withdraw the consent the caller's commission recorded.
    WithdrawConsent,
    None,
}

pub fn power(standing: Standing) -> Power {
    match standing {
        Standing::Unit => Power::Decide,
        Standing::Outside(Submitter::Commission { .. }) => Power::WithdrawConsent,
        Standing::Mediator { .. } | Standing::Outside(_) => Power::None,
    }
}

/// True for callers who get the outside view.
pub fn is_outside(standing: Standing) -> bool {
    matches!(standing, Standing::Outside(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrgId, OrgKind};

    #[test]
    fn only_commissions_among_outsiders_hold_a_power() {
        assert_eq!(power(Standing::Unit), Power::Decide);
        assert_eq!(
            power(Standing::Outside(Submitter::Commission { org_id: OrgId(1) })),
            Power::WithdrawConsent
        );
        assert_eq!(
            power(Standing::Outside(Submitter::Referrer {
                org_id: OrgId(1),
                org_kind: OrgKind::Cas
            })),
            Power::None
        );
        assert_eq!(power(Standing::Mediator { user_id: UserId(3) }), Power::None);
    }
}
