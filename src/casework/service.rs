//! Casework use cases: a caller and the application, no HTTP (the API, the pages and the
//! command line share them).

use super::store::{self, CaseRow};
use crate::app::App;
use crate::domain::{Caller, CaseId, ReferralId, Version};
use crate::error::AppError;
use crate::referrals::service::{self as referrals, Action};
use crate::referrals::store::Referral;

/// Takes a referral in charge and, in the same transaction, opens the case about its person or
/// joins that person's open case.
pub async fn take_charge(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected: Version,
) -> Result<(Referral, CaseId), AppError> {
    let keys = app.keys();
    referrals::act_then(
        app,
        caller,
        id,
        expected,
        Action::TakeCharge,
        move |conn, referral, actor, now| store::open_or_join(conn, &keys, referral, actor, now),
    )
    .await
}

/// A case as its operator reads it (audited).
pub async fn get(app: &App, caller: &Caller, id: CaseId) -> Result<CaseRow, AppError> {
    let _ = caller;
    app.db.read(move |c| store::get(c, id)).await
}
