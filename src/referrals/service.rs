//! The use cases of referrals, shared by the JSON API, the pages and the command line: the
//! caller's standing (`policy`), one store call and its audit entry in one transaction.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::model::ReferralInput;
use super::policy::{self, Power, Standing};
use super::routing;
use super::store::{self, Actor, Created, Idempotency, ListFilter, ReferralRow};
use super::vocab::{DeclineReason, Status};
use crate::accounts::{orgs, users};
use crate::app::App;
use crate::audit::{self, Event};
use crate::domain::Caller;
use crate::error::AppError;

/// How the caller appears in a referral's history.
pub fn actor_of(caller: &Caller) -> Actor {
    Actor {
        user_id: caller.user_id(),
        token_id: caller.token_id(),
        label: caller.label(),
    }
}

fn idempotency(caller: &Caller, input: &ReferralInput, key: Option<String>) -> Result<Option<Idempotency>, AppError> {
    let Some(k) = key else {
        return Ok(None);
    };
    let k = k.trim().to_owned();
    if k.is_empty() || k.len() > 100 || !k.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::bad_request(
            "Idempotency-Key",
            "must be 1 to 100 printable ASCII characters",
        ));
    }
    let scope = match (caller.user_id(), caller.token_id()) {
        (Some(id), _) => format!("user:{id}"),
        (_, Some(id)) => format!("token:{id}"),
        _ => "system".to_owned(),
    };
    Ok(Some(Idempotency {
        scope,
        key: k,
        request_hash: hex::encode(Sha256::digest(format!("{input:?}").as_bytes())),
    }))
}

/// Checks and stores a referral. With an `Idempotency-Key`, a retried request returns the
/// referral the first one created and stores nothing new.
pub async fn create(
    app: &App,
    caller: &Caller,
    input: ReferralInput,
    idempotency_key: Option<String>,
) -> Result<Created, AppError> {
    let who = policy::submitter(caller)?;
    let now = caller.now;
    let new = input.check(who, &app.protocols, now)?;
    let idempotency = std::sync::Arc::new(idempotency(caller, &input, idempotency_key)?);
    let routing = routing::route(app, &new, now).await?;
    let actor = actor_of(caller);
    // Two concurrent retries of one submission both find no key and race to insert it: the loser
    // hits the unique index (a conflict) and, run again, finds the winner's referral and replays
    // it. The same retry covers the rare collision of two random references.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (new, actor, idem, routing) = (new.clone(), actor.clone(), idempotency.clone(), routing.clone());
        let (protocols, settings) = (app.protocols.clone(), app.settings.clone());
        let result = audit::write(app, caller, &[], move |tx| {
            let created = store::create(
                tx.conn,
                &new,
                &actor,
                idem.as_ref().as_ref(),
                &routing,
                &protocols,
                &settings,
                now,
            )?;
            let mut ev = Event::new("referral.create").entity("referral", created.referral.id);
            if created.replayed {
                ev = ev.detail("idempotent retry: nothing stored");
            }
            tx.audit(ev)?;
            Ok(created)
        })
        .await;
        match result {
            Err(AppError::Conflict(_)) if attempts < 3 => continue,
            other => return other,
        }
    }
}

/// Everything the unit sees of a referral.
pub struct CaseFile {
    pub referral: ReferralRow,
    pub person: store::PersonRow,
    pub consent: Option<store::ConsentRow>,
    pub events: Vec<store::EventRow>,
    pub feedback: Vec<store::FeedbackRow>,
    /// Names of the organisations and people it refers to, by id.
    pub names: HashMap<(char, i64), String>,
    /// How the reader stands towards it (which view they get).
    pub standing: Standing,
}

/// Reads a referral for the caller (an audited read). Outsiders may read only their own
/// organisation's reports; anyone else gets 404, so existence is not revealed.
pub async fn read(app: &App, caller: &Caller, id: i64) -> Result<CaseFile, AppError> {
    let standing = policy::standing(caller)?;
    audit::read(app, caller, move |conn| {
        let referral = store::get(conn, id)?;
        if !policy::can_see(&referral, standing) {
            return Err(AppError::NotFound);
        }
        let consent = store::consent(conn, id)?;
        let mut names = HashMap::new();
        let orgs_named = [
            referral.referring_org_id,
            referral.hosted_org_id,
            referral.submitter_org_id,
            consent.as_ref().map(|c| c.commission_org_id),
        ];
        for org in orgs_named.into_iter().flatten() {
            if let Ok(o) = orgs::get(conn, org) {
                names.insert(('o', org), o.name);
            }
        }
        let events = store::events(conn, id)?;
        let people = [
            referral.assigned_operator_id,
            referral.proposed_mediator_id,
            referral.decided_by,
        ];
        let named_in_history = events.iter().filter_map(|e| {
            e.detail
                .as_deref()
                .and_then(|d| d.strip_prefix("user "))
                .and_then(|id| id.parse::<i64>().ok())
        });
        for user in people.into_iter().flatten().chain(named_in_history) {
            if names.contains_key(&('u', user)) {
                continue;
            }
            if let Ok(u) = users::get(conn, user) {
                let langs = u.language_list().join(", ");
                names.insert(
                    ('u', user),
                    if langs.is_empty() {
                        u.display_name
                    } else {
                        format!("{} ({langs})", u.display_name)
                    },
                );
            }
        }
        let file = CaseFile {
            person: store::person(conn, id)?,
            consent,
            events,
            feedback: store::feedback(conn, id)?,
            referral,
            names,
            standing,
        };
        Ok((file, Event::new("referral.read").entity("referral", id)))
    })
    .await
}

/// Referrals the caller may list, newest first (an audited read): all for the unit, those
/// proposed to a mediator, an organisation's own for referrers and commissions.
pub async fn list(app: &App, caller: &Caller, mut filter: ListFilter) -> Result<Vec<ReferralRow>, AppError> {
    match policy::standing(caller)? {
        Standing::Outside(s) => filter.submitter_org_id = s.org_id(),
        Standing::Mediator { user_id } => filter.mediator_id = Some(user_id),
        Standing::Unit => {}
    }
    audit::read(app, caller, move |conn| {
        let rows = store::list(conn, &filter)?;
        let n = rows.len();
        Ok((rows, Event::new("referral.list").detail(format!("{n} referrals"))))
    })
    .await
}

/// The queue page's lists (an audited read): the referrals waiting on the unit, oldest first,
/// the drafts to review, and the `recent` newest the caller may see, with the names of the
/// operators they are assigned to.
pub async fn queue(app: &App, caller: &Caller, recent: i64) -> Result<Queue, AppError> {
    let standing = policy::standing(caller)?;
    let mut recent_filter = ListFilter {
        limit: recent,
        ..ListFilter::default()
    };
    match standing {
        Standing::Outside(s) => recent_filter.submitter_org_id = s.org_id(),
        Standing::Mediator { user_id } => recent_filter.mediator_id = Some(user_id),
        Standing::Unit => {}
    }
    let unit = standing == Standing::Unit;
    audit::read(app, caller, move |conn| {
        let open = if unit { store::open_queue(conn)? } else { Vec::new() };
        let drafts = if unit {
            store::list(
                conn,
                &ListFilter {
                    status: Some(Status::Draft),
                    limit: 200,
                    ..ListFilter::default()
                },
            )?
        } else {
            Vec::new()
        };
        let recent = store::list(conn, &recent_filter)?;
        let operators: Vec<i64> = open
            .iter()
            .chain(&drafts)
            .chain(&recent)
            .filter_map(|r| r.assigned_operator_id)
            .collect();
        let names = users::display_names(conn, &operators)?;
        let n = open.len() + drafts.len() + recent.len();
        Ok((
            Queue {
                open,
                drafts,
                recent,
                names,
            },
            Event::new("referral.list").detail(format!("{n} referrals")),
        ))
    })
    .await
}

/// The queue page's lists (see [`queue`]).
pub struct Queue {
    pub open: Vec<ReferralRow>,
    pub drafts: Vec<ReferralRow>,
    pub recent: Vec<ReferralRow>,
    /// Display names of the operators named, by id.
    pub names: HashMap<i64, String>,
}

/// A decision or action of the unit on a referral.
pub enum Action {
    Acknowledge,
    TakeCharge,
    Decline {
        reason: DeclineReason,
        note: Option<String>,
        duplicate_of: Option<i64>,
    },
    Feedback(String),
    WithdrawConsent,
}

impl Action {
    fn audit_name(&self) -> &'static str {
        match self {
            Action::Acknowledge => "referral.acknowledge",
            Action::TakeCharge => "referral.take_charge",
            Action::Decline { .. } => "referral.decline",
            Action::Feedback(_) => "referral.feedback",
            Action::WithdrawConsent => "referral.consent_withdrawn",
        }
    }
}

/// Applies an action if the referral is still at `expected_version`.
pub async fn act(
    app: &App,
    caller: &Caller,
    id: i64,
    expected_version: i64,
    action: Action,
) -> Result<ReferralRow, AppError> {
    let standing = policy::standing(caller)?;
    let allowed = match policy::power(standing) {
        Power::Decide => true,
        Power::WithdrawConsent => matches!(action, Action::WithdrawConsent),
        Power::None => false,
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let actor = actor_of(caller);
    let settings = app.settings.clone();
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let current = store::get(tx.conn, id)?;
        if !policy::can_see(&current, standing) {
            return Err(AppError::NotFound);
        }
        let name = action.audit_name();
        let conn = &mut *tx.conn;
        let row = match action {
            Action::Acknowledge => store::acknowledge(conn, id, expected_version, &actor, now)?,
            Action::TakeCharge => store::take_charge(conn, id, expected_version, &actor, &settings, now)?,
            Action::Decline {
                reason,
                note,
                duplicate_of,
            } => store::decline(
                conn,
                id,
                expected_version,
                reason,
                note,
                duplicate_of,
                &actor,
                &settings,
                now,
            )?,
            Action::Feedback(body) => store::add_feedback(conn, id, expected_version, &body, &actor, &settings, now)?,
            Action::WithdrawConsent => store::withdraw_consent(conn, id, expected_version, &actor, &settings, now)?,
        };
        tx.audit(Event::new(name).entity("referral", id))?;
        Ok(row)
    })
    .await
}

/// How one imported file ended.
pub struct ImportOutcome {
    pub file: String,
    /// The draft created (id, reference), or why the file was skipped.
    pub result: Result<(i64, String), String>,
}

/// Imports saved mailbox messages (`.eml`, PEC envelopes) as drafts. A malformed file is reported
/// by name and skipped; the others still import. Each draft is stored and audited on its own.
pub async fn import_files(
    app: &App,
    caller: &Caller,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<ImportOutcome>, AppError> {
    if !matches!(policy::standing(caller), Ok(Standing::Unit)) && caller.role.is_some() {
        return Err(AppError::Forbidden);
    }
    let mut out = Vec::new();
    for (file, bytes) in files {
        let result = match super::import::parse_eml(&bytes) {
            Err(e) => Err(e.to_string()),
            Ok(msg) => {
                let (actor, name) = (actor_of(caller), file.clone());
                let row = audit::write(app, caller, &[], move |tx| {
                    let row = store::create_draft(tx.conn, &msg, &name, &actor, tx.caller().now)?;
                    tx.audit(Event::new("referral.import").entity("referral", row.id))?;
                    Ok(row)
                })
                .await;
                match row {
                    Ok(row) => Ok((row.id, row.reference)),
                    // A file the rules refuse is reported and skipped; a failing database stops.
                    Err(e @ (AppError::Invalid(_) | AppError::BadRequest(_) | AppError::Conflict(_))) => {
                        Err(describe(&e))
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        out.push(ImportOutcome { file, result });
    }
    Ok(out)
}

fn describe(e: &AppError) -> String {
    match e {
        AppError::Invalid(f) | AppError::BadRequest(f) => f
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::Conflict(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Confirms a reviewed draft (the unit's input, checked like any intake).
pub async fn confirm(
    app: &App,
    caller: &Caller,
    id: i64,
    expected_version: i64,
    input: ReferralInput,
) -> Result<ReferralRow, AppError> {
    if policy::standing(caller)? != Standing::Unit {
        return Err(AppError::Forbidden);
    }
    let now = caller.now;
    let new = input.check(super::model::Submitter::Unit, &app.protocols, now)?;
    let actor = actor_of(caller);
    let (protocols, settings) = (app.protocols.clone(), app.settings.clone());
    audit::write(app, caller, &[], move |tx| {
        let row = store::confirm_draft(tx.conn, id, expected_version, &new, &actor, &protocols, &settings, now)?;
        tx.audit(Event::new("referral.confirm").entity("referral", id))?;
        Ok(row)
    })
    .await
}

/// Alerts coordinators about referrals past their deadline (see [`store::escalate_due`]);
/// returns how many were escalated. Safe to run on several instances at once: each referral is
/// escalated in a write transaction that marks it.
pub async fn escalate(app: &App, caller: &Caller) -> Result<usize, AppError> {
    let settings = app.settings.clone();
    audit::write(app, caller, &[], move |tx| {
        let n = store::escalate_due(tx.conn, &settings, tx.caller().now)?;
        if n > 0 {
            tx.audit(Event::new("referral.escalate").detail(format!("{n} referrals")))?;
        } else {
            // Nothing escalated: nothing to audit.
            tx.nothing_to_audit();
        }
        Ok(n)
    })
    .await
}
