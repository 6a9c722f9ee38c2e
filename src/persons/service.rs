//! The use cases of persons, shared by the JSON API and the pages: only the crisis unit
//! (coordinators and operators) may see candidates, journeys and decide; every read opens
//! personal fields and is audited, every decision is an audited write, refusals are audited too.

use super::model::Decision;
use super::store::{self, Journey, Proposals};
use crate::app::App;
use crate::audit::{self, Event, Outcome as AuditOutcome};
use crate::domain::{Caller, PersonId, ReferralId};
use crate::error::AppError;
use crate::referrals::policy::{self, Standing};
use crate::referrals::service::match_indexer;
use crate::referrals::store as referral_store;
use crate::referrals::vocab::Status;

/// How many candidates are proposed at most.
pub const PROPOSED: usize = 10;

fn unit_only(caller: &Caller) -> Result<(), AppError> {
    match policy::standing(caller) {
        Ok(Standing::Unit) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// A refusal (no such record, or not the caller's to see or do) is audited, naming what was asked.
async fn audited<T>(
    app: &App,
    caller: &Caller,
    action: &'static str,
    entity: (&'static str, i64),
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    let why = match &result {
        Err(AppError::NotFound) => "no such record",
        Err(AppError::Forbidden) => "not allowed to the caller",
        _ => return result,
    };
    let event = Event::new(action)
        .entity(entity.0, entity.1)
        .outcome(AuditOutcome::Denied)
        .detail(why);
    if let Err(e) = audit::record_now(app, caller, event).await {
        tracing::error!(error = %e, "a refusal could not be audited");
    }
    result
}

/// The persons who may be the one `referral` is about, best first, with the score and the
/// reason per field (an audited read: the proposals' aliases are opened). A referral not linked
/// to a person yet counts as a person of its own: one is made for each such proposal, so that a
/// decision can name it.
pub async fn candidates(app: &App, caller: &Caller, referral: ReferralId) -> Result<Proposals, AppError> {
    let result = candidates_checked(app, caller, referral).await;
    audited(app, caller, "person.candidates", ("referral", referral.get()), result).await
}

async fn candidates_checked(app: &App, caller: &Caller, referral: ReferralId) -> Result<Proposals, AppError> {
    unit_only(caller)?;
    let indexer = match_indexer(app).await?;
    let keys = app.keys();
    let mut found = audit::read(app, caller, move |conn| {
        let found = store::candidates(conn, &keys, &indexer, referral, PROPOSED)?;
        let event = Event::new("person.candidates")
            .entity("referral", referral)
            .detail(format!("{} candidates", found.proposals.len()));
        Ok((found, event))
    })
    .await?;
    let alone: Vec<ReferralId> = found
        .proposals
        .iter()
        .filter(|p| p.candidate.person_id.is_none())
        .map(|p| p.candidate.referral_id)
        .collect();
    if alone.is_empty() {
        return Ok(found);
    }
    let by = caller.user_id();
    let mut attempts = 0;
    let made = loop {
        attempts += 1;
        let alone = alone.clone();
        let result = audit::write(app, caller, &[], move |tx| {
            let now = tx.caller().now;
            let mut made = Vec::new();
            for r in &alone {
                made.push((*r, store::person_or_new(tx.conn, *r, by, now)?));
            }
            tx.audit(
                Event::new("person.create").detail(format!("{} referrals, each a person of its own", made.len())),
            )?;
            Ok(made)
        })
        .await;
        match result {
            // Two searches made the same person at once: the second finds the first's.
            Err(AppError::Conflict(_)) if attempts < 3 => continue,
            other => break other?,
        }
    };
    for p in &mut found.proposals {
        if let Some((_, person)) = made.iter().find(|(r, _)| *r == p.candidate.referral_id) {
            p.candidate.person_id = Some(*person);
        }
    }
    Ok(found)
}

/// A person's journey: their referrals across channels, their cases, the decisions about them
/// (an audited read: the referrals' aliases are opened).
pub async fn journey(app: &App, caller: &Caller, person: PersonId) -> Result<Journey, AppError> {
    let result = async {
        unit_only(caller)?;
        let keys = app.keys();
        audit::read(app, caller, move |conn| {
            let j = store::journey(conn, &keys, person)?;
            Ok((j, Event::new("person.read").entity("person", person)))
        })
        .await
    }
    .await;
    audited(app, caller, "person.read", ("person", person.get()), result).await
}

/// What a decision left: the referral, the person it is about now, the decision, the score.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub referral_id: ReferralId,
    pub person_id: PersonId,
    pub decision: Decision,
    pub score: Option<i32>,
}

/// The referral a decision names: it must exist and not be a draft (a draft is about nobody
/// until it is confirmed).
fn named_referral(conn: &mut crate::db::DbConn, referral: ReferralId) -> Result<referral_store::Referral, AppError> {
    match referral_store::get(conn, referral) {
        Ok(r) if r.status() == Status::Draft => Err(AppError::invalid(
            "referral_id",
            "is a draft: confirm it before linking it to a person",
        )),
        Ok(r) => Ok(r),
        Err(AppError::NotFound) => Err(AppError::invalid("referral_id", "no such referral")),
        Err(e) => Err(e),
    }
}

/// Runs one decision as an audited write.
async fn decide(
    app: &App,
    caller: &Caller,
    person: PersonId,
    referral: ReferralId,
    decision: Decision,
) -> Result<Outcome, AppError> {
    let action = match decision {
        Decision::Confirmed => "person.link",
        Decision::Rejected => "person.reject",
        Decision::Unlinked => "person.unlink",
    };
    let result = async {
        unit_only(caller)?;
        let indexer = match_indexer(app).await?;
        let keys = app.keys();
        let by = caller.user_id();
        audit::write(app, caller, &[], move |tx| {
            let now = tx.caller().now;
            let conn = &mut *tx.conn;
            if !store::exists(conn, person)? {
                return Err(AppError::NotFound);
            }
            let r = named_referral(conn, referral)?;
            let current = store::person_of(conn, referral)?;
            let assessed = store::assess(conn, &keys, &indexer, &r, person)?;
            let score = assessed.as_ref().map(|(s, _)| *s);
            let now_of = match decision {
                Decision::Confirmed => {
                    if current == Some(person) {
                        return Err(AppError::Conflict(
                            "the referral is already linked to this person".into(),
                        ));
                    }
                    store::link(conn, referral, person, by, now)?;
                    person
                }
                Decision::Rejected => {
                    if current == Some(person) {
                        return Err(AppError::Conflict(
                            "the referral is linked to this person: undo the link instead".into(),
                        ));
                    }
                    if store::decision_on(conn, referral, person)? == Some(Decision::Rejected) {
                        return Err(AppError::Conflict("this pair was already rejected".into()));
                    }
                    store::person_or_new(conn, referral, by, now)?
                }
                Decision::Unlinked => {
                    if current != Some(person) {
                        return Err(AppError::Conflict("the referral is not linked to this person".into()));
                    }
                    if store::referrals_of(conn, person)?.len() < 2 {
                        return Err(AppError::Conflict(
                            "this is the person's only referral: there is nothing to undo".into(),
                        ));
                    }
                    store::new_person(conn, referral, by, now)?
                }
            };
            store::decide(conn, referral, person, decision, assessed, by, now)?;
            tx.audit(
                Event::new(action)
                    .entity("person", person)
                    .detail(format!("referral {referral}")),
            )?;
            Ok(Outcome {
                referral_id: referral,
                person_id: now_of,
                decision,
                score,
            })
        })
        .await
    }
    .await;
    audited(app, caller, action, ("person", person.get()), result).await
}

/// The operator confirms that `referral` is about `person`: it is linked to them (moved from
/// the person it had), and the decision kept. Before the referral is taken in charge this
/// decides the case it joins; afterwards only its person changes.
pub async fn link(app: &App, caller: &Caller, person: PersonId, referral: ReferralId) -> Result<Outcome, AppError> {
    decide(app, caller, person, referral, Decision::Confirmed).await
}

/// The operator says `referral` is not about `person`: the pair is never proposed again.
pub async fn reject(app: &App, caller: &Caller, person: PersonId, referral: ReferralId) -> Result<Outcome, AppError> {
    decide(app, caller, person, referral, Decision::Rejected).await
}

/// The operator undoes a link: the referral gets a person of its own again, and the pair is not
/// proposed again.
pub async fn unlink(app: &App, caller: &Caller, person: PersonId, referral: ReferralId) -> Result<Outcome, AppError> {
    decide(app, caller, person, referral, Decision::Unlinked).await
}
