//! The use cases of referrals, shared by the JSON API, the pages and the command line: the
//! caller's standing (`policy`), one store call and its audit entry in one transaction.

use chrono::NaiveDateTime;
use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::model::ReferralInput;
use super::policy::{self, Power, Standing};
use super::routing;
use super::store::{self, Actor, Created, Idempotency, ListFilter, Referral};
use super::vocab::{DeclineReason, Status};
use crate::accounts::{orgs, users};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::domain::{Caller, OrgId, ReferralId, UserId, Version};
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
    let sealed = store::seal_intake(&app.keys(), &*match_indexer(app).await?, &new);
    let actor = actor_of(caller);
    // Two concurrent retries of one submission both find no key and race to insert it: the loser
    // hits the unique index (a conflict) and, run again, finds the winner's referral and replays
    // it. The same retry covers the rare collision of two random references.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (new, actor, idem, routing) = (new.clone(), actor.clone(), idempotency.clone(), routing.clone());
        let (protocols, settings, sealed) = (app.protocols.clone(), app.settings.clone(), sealed.clone());
        let result = audit::write(app, caller, &[], move |tx| {
            let created = store::create(
                tx.conn,
                sealed,
                &new,
                &actor,
                idem.as_ref().as_ref(),
                &routing,
                &protocols,
                &settings,
                now,
            )?;
            let mut ev = Event::new("referral.create").entity("referral", created.referral.id());
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

/// The deployment's person-matching indexer (`crypto::match_index`), read once per instance.
pub async fn match_indexer(app: &App) -> Result<std::sync::Arc<crate::crypto::BlindIndexer>, AppError> {
    let cell = app.singleton::<crate::crypto::match_index::IndexerCell>();
    if let Some(indexer) = cell.get() {
        return Ok(indexer);
    }
    let (keys, now) = (app.keys(), app.now());
    let indexer = std::sync::Arc::new(
        app.db
            .write(move |c| crate::crypto::match_index::indexer(c, &keys, now))
            .await?,
    );
    cell.set(indexer.clone());
    Ok(indexer)
}

/// Everything the unit sees of a referral (an outsider's reading fills only what the outside
/// view shows: the referral and the feedback addressed to them).
pub struct CaseFile {
    pub referral: Referral,
    pub facts: store::Facts,
    pub sensitive: store::Sensitive,
    pub events: Vec<store::EventRow>,
    /// Names of the organisations named, by id.
    pub org_names: HashMap<OrgId, String>,
    /// Names of the people named (with the languages they speak), by id.
    pub user_names: HashMap<UserId, String>,
    /// The languages of the people named (codes), for pages that name them in words.
    pub user_languages: HashMap<UserId, Vec<String>>,
    /// How the reader stands towards it (which view they get).
    pub standing: Standing,
    /// The reference of the referral this one duplicates, if declined as a duplicate.
    pub duplicate_reference: Option<String>,
}

/// A mediator's share of a case file (see [`policy::MediatorView`]): what is not theirs to see
/// is never put in it.
fn mediator_file(
    conn: &mut crate::db::DbConn,
    keys: &crate::crypto::Keyring,
    referral: Referral,
    view: policy::MediatorView,
    standing: Standing,
) -> Result<CaseFile, AppError> {
    let all = store::facts(conn, referral.id())?;
    let mut file = CaseFile {
        facts: store::Facts {
            languages: all.languages,
            ..store::Facts::default()
        },
        sensitive: store::Sensitive::default(),
        events: Vec::new(),
        org_names: HashMap::new(),
        user_names: HashMap::new(),
        user_languages: HashMap::new(),
        standing,
        referral,
        duplicate_reference: None,
    };
    if view == policy::MediatorView::Interview {
        let sensitive = store::sensitive(conn, keys, &file.referral)?;
        file.sensitive.person = store::Person {
            alias: sensitive.person.alias,
            age: sensitive.person.age,
            nationality: sensitive.person.nationality,
            ..store::Person::default()
        };
        file.sensitive.erased = sensitive.erased;
        file.facts.exploitation = all.exploitation;
        if let Some(org) = file.referral.row.hosted_org_id {
            file.org_names.insert(org, orgs::get(conn, org)?.name);
        }
        if let Some(op) = file.referral.routing.assigned_operator_id {
            let u = users::get(conn, op)?;
            file.user_names.insert(op, u.name_with_languages());
            file.user_languages.insert(op, u.languages);
        }
    }
    Ok(file)
}

/// Reads a referral for the caller (an audited read). Outsiders may read only their own
/// organisation's reports, and of those only the outside view; anyone else gets 404, so existence
/// is not revealed.
pub async fn read(app: &App, caller: &Caller, id: ReferralId) -> Result<CaseFile, AppError> {
    let result = read_file(app, caller, id).await;
    audit_refusal(app, caller, "referral.read", id, result).await
}

/// A refusal to read or act on a referral (it does not exist for the caller, or the caller may
/// not do that) is audited as well, naming the referral asked for.
async fn audit_refusal<T>(
    app: &App,
    caller: &Caller,
    action: &'static str,
    id: ReferralId,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    let why = match &result {
        Err(AppError::NotFound) => "not visible to the caller, or no such referral",
        Err(AppError::Forbidden) => "not allowed to the caller",
        _ => return result,
    };
    let event = Event::new(action)
        .entity("referral", id)
        .outcome(Outcome::Denied)
        .detail(why);
    if let Err(e) = audit::record_now(app, caller, event).await {
        tracing::error!(error = %e, "a refusal could not be audited");
    }
    result
}

async fn read_file(app: &App, caller: &Caller, id: ReferralId) -> Result<CaseFile, AppError> {
    let standing = policy::standing(caller)?;
    let keys = app.keys();
    audit::read(app, caller, move |conn| {
        let referral = store::get(conn, id)?;
        if !policy::can_see(&referral.row, &referral.routing, standing) {
            return Err(AppError::NotFound);
        }
        let event = Event::new("referral.read").entity("referral", id);
        if let Standing::Mediator { user_id } = standing {
            let view = policy::mediator_view(&referral.row, &referral.routing, user_id).ok_or(AppError::NotFound)?;
            let file = mediator_file(conn, &keys, referral, view, standing)?;
            return Ok((file, event.detail("mediator")));
        }
        if policy::is_outside(standing) {
            let feedback = store::feedback(conn, &keys, &referral)?;
            // What the organisation sent, without the sealed fields: it can tell its reports apart.
            let file = CaseFile {
                facts: store::facts(conn, id)?,
                referral,
                sensitive: store::Sensitive {
                    feedback,
                    ..store::Sensitive::default()
                },
                events: Vec::new(),
                org_names: HashMap::new(),
                user_names: HashMap::new(),
                user_languages: HashMap::new(),
                standing,
                duplicate_reference: None,
            };
            return Ok((file, event));
        }
        let sensitive = store::sensitive(conn, &keys, &referral)?;
        let r = &referral.row;
        let orgs_named = [
            r.referring_org_id,
            r.hosted_org_id,
            r.submitter_org_id,
            sensitive.consent.as_ref().map(|c| c.commission_org_id),
        ];
        let mut org_names = HashMap::new();
        for org in orgs_named.into_iter().flatten() {
            org_names.insert(org, orgs::get(conn, org)?.name);
        }
        let events = store::events(conn, id)?;
        let people: Vec<UserId> = [
            referral.routing.assigned_operator_id,
            referral.routing.proposed_mediator_id,
            referral.decision.as_ref().and_then(|d| d.decided_by),
        ]
        .into_iter()
        .flatten()
        .chain(events.iter().filter_map(|e| e.subject_user_id))
        .collect();
        let mut user_names = HashMap::new();
        let mut user_languages = HashMap::new();
        for user in people {
            if user_names.contains_key(&user) {
                continue;
            }
            let u = users::get(conn, user)?;
            user_names.insert(user, u.name_with_languages());
            user_languages.insert(user, u.languages);
        }
        let duplicate_reference = match referral.decision.as_ref().and_then(|d| d.duplicate_of) {
            Some(other) => Some(store::get(conn, other)?.row.reference),
            None => None,
        };
        let file = CaseFile {
            facts: store::facts(conn, id)?,
            sensitive,
            events,
            referral,
            org_names,
            user_names,
            user_languages,
            standing,
            duplicate_reference,
        };
        Ok((file, event))
    })
    .await
}

/// Referrals the caller may list, newest first (an audited read): all for the unit, those
/// proposed to a mediator, an organisation's own for referrers and commissions.
pub async fn list(app: &App, caller: &Caller, mut filter: ListFilter) -> Result<Vec<Referral>, AppError> {
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
        let operators: Vec<UserId> = open
            .iter()
            .chain(&drafts)
            .chain(&recent)
            .filter_map(|r| r.routing.assigned_operator_id)
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
    pub open: Vec<Referral>,
    pub drafts: Vec<Referral>,
    pub recent: Vec<Referral>,
    /// Display names of the operators named, by id.
    pub names: HashMap<UserId, String>,
}

/// A decision or action of the unit on a referral.
pub enum Action {
    Acknowledge,
    TakeCharge,
    Decline {
        reason: DeclineReason,
        note: Option<String>,
        duplicate_of: Option<store::Duplicate>,
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
    id: ReferralId,
    expected_version: Version,
    action: Action,
) -> Result<Referral, AppError> {
    let name = action.audit_name();
    let result = act_checked(
        app,
        caller,
        id,
        expected_version,
        action,
        |_: &mut crate::db::DbConn, _: &Referral, _: &Actor, _: NaiveDateTime| Ok(()),
    )
    .await
    .map(|(r, ())| r);
    audit_refusal(app, caller, name, id, result).await
}

/// Work a room above this one does in the same transaction as a referral's action (the case a
/// taking in charge opens): it sees the referral after the action.
pub trait Then<T>:
    FnOnce(&mut crate::db::DbConn, &Referral, &Actor, NaiveDateTime) -> Result<T, AppError> + Send + 'static
{
}
impl<T, F> Then<T> for F where
    F: FnOnce(&mut crate::db::DbConn, &Referral, &Actor, NaiveDateTime) -> Result<T, AppError> + Send + 'static
{
}

/// [`act`], then `then` in the same transaction: both happen or neither.
pub async fn act_then<T: Send + 'static>(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected_version: Version,
    action: Action,
    then: impl Then<T>,
) -> Result<(Referral, T), AppError> {
    let name = action.audit_name();
    let result = act_checked(app, caller, id, expected_version, action, then).await;
    audit_refusal(app, caller, name, id, result).await
}

async fn act_checked<T: Send + 'static>(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected_version: Version,
    action: Action,
    then: impl Then<T>,
) -> Result<(Referral, T), AppError> {
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
    let (settings, keys) = (app.settings.clone(), app.keys());
    let erasing = matches!(action, Action::WithdrawConsent);
    let result = audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let current = store::get(tx.conn, id)?;
        if !policy::can_see(&current.row, &current.routing, standing) {
            return Err(AppError::NotFound);
        }
        let name = action.audit_name();
        let conn = &mut *tx.conn;
        let mut erasure = None;
        let v = expected_version;
        let row = match action {
            Action::Acknowledge => store::acknowledge(conn, &current, v, &actor, now)?,
            Action::TakeCharge => store::take_charge(conn, &current, v, &actor, &settings, now)?,
            Action::Decline {
                reason,
                note,
                duplicate_of,
            } => {
                let d = store::Decline {
                    reason,
                    note,
                    duplicate_of,
                };
                store::decline(conn, &keys, &current, v, &d, &actor, &settings, now)?
            }
            Action::Feedback(body) => store::add_feedback(conn, &keys, &current, v, &body, &actor, &settings, now)?,
            Action::WithdrawConsent => {
                // The ledger entry is taken while the key is there, written once it is gone.
                erasure = match current.row.data_key_id {
                    Some(k) => crate::crypto::store::erasure_of(conn, &keys, k)?,
                    None => None,
                };
                store::withdraw_consent(conn, &current, v, &actor, &settings, now)?
            }
        };
        let more = then(&mut *tx.conn, &row, &actor, now)?;
        tx.audit(Event::new(name).entity("referral", id))?;
        Ok((row, erasure, more))
    })
    .await;
    let (row, erasure, more) = result?;
    if erasing {
        // The log's pages that held the destroyed key go at the next checkpoint.
        app.db.truncate_wal_soon();
    }
    if let Some(e) = erasure {
        // Committed: the live database has forgotten the person whatever happens here. Without
        // the entry a backup taken earlier and restored would bring them back: say so loudly.
        let path = crate::crypto::ledger::path_for(&app.settings);
        if let Err(err) = crate::crypto::ledger::append(&path, &[e]) {
            tracing::error!(error = %err, referral = id.get(), "erasure not written to the erasure ledger");
        }
    }
    Ok((row, more))
}

/// Reads the erasure ledger of `settings` (see `crypto::ledger`).
pub fn erasure_ledger(settings: &crate::config::Settings) -> Result<Vec<crate::crypto::ledger::Erasure>, AppError> {
    let path = crate::crypto::ledger::path_for(settings);
    crate::crypto::ledger::read(&path).map_err(|e| AppError::Unavailable(format!("the erasure ledger: {e}")))
}

/// Applies the erasure ledger to a database being opened (at start, or by `varco restore` before
/// the copy is put in place): each referral erased after this copy was taken is erased again,
/// each with an audit entry. Returns how many.
pub fn reapply_erasures(
    conn: &mut crate::db::DbConn,
    keys: &crate::crypto::Keyring,
    erasures: &[crate::crypto::ledger::Erasure],
    now: chrono::NaiveDateTime,
) -> Result<usize, AppError> {
    if erasures.is_empty() {
        return Ok(0);
    }
    crate::db::write_tx(conn, |c| {
        let ids = store::reapply_erasures(c, keys, erasures, now)?;
        let caller = Caller::system("erasure ledger", now);
        for id in &ids {
            audit::record(
                c,
                &caller,
                Event::new("referral.erasure_reapplied").entity("referral", id),
            )?;
        }
        Ok(ids.len())
    })
}

/// The reference of an earlier referral that is probably the same as `input` (see
/// `store::probable_duplicate`), to warn before filing from a form. `None` when the input does
/// not check (filing will say why) or the check is off. An audited read: it opens aliases.
pub async fn probable_duplicate(app: &App, caller: &Caller, input: &ReferralInput) -> Result<Option<String>, AppError> {
    let hours = app.settings.duplicate_window_hours;
    if hours == 0 {
        return Ok(None);
    }
    let who = policy::submitter(caller)?;
    let Ok(new) = input.check(who, &app.protocols, caller.now) else {
        return Ok(None);
    };
    let since = caller.now - chrono::Duration::hours(hours);
    let keys = app.keys();
    audit::read(app, caller, move |conn| {
        let found = store::probable_duplicate(conn, &keys, &new, since)?;
        let event = Event::new("referral.duplicate_check").detail(if found.is_some() { "match" } else { "none" });
        Ok((found, event))
    })
    .await
}

/// The referral with `reference` among those the caller may see (`None` otherwise: a reference
/// the caller may not see is as unknown as one that does not exist). The search is audited.
pub async fn find_by_reference(app: &App, caller: &Caller, reference: &str) -> Result<Option<ReferralId>, AppError> {
    let standing = policy::standing(caller)?;
    let reference = reference.trim().to_uppercase();
    audit::read(app, caller, move |conn| {
        let found = match store::id_by_reference(conn, &reference)? {
            Some(id) => {
                let r = store::get(conn, id)?;
                policy::can_see(&r.row, &r.routing, standing).then_some(id)
            }
            None => None,
        };
        let event = match found {
            Some(id) => Event::new("referral.search").entity("referral", id),
            None => Event::new("referral.search").detail("no match"),
        };
        Ok((found, event))
    })
    .await
}

/// How one imported file ended.
pub struct ImportOutcome {
    pub file: String,
    /// The draft created (id, reference), or why the file was skipped.
    pub result: Result<(ReferralId, String), String>,
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
                let (actor, name, keys) = (actor_of(caller), file.clone(), app.keys());
                let row = audit::write(app, caller, &[], move |tx| {
                    let row = store::create_draft(tx.conn, &keys, &msg, &name, &actor, tx.caller().now)?;
                    tx.audit(Event::new("referral.import").entity("referral", row.id()))?;
                    Ok(row)
                })
                .await;
                match row {
                    Ok(row) => Ok((row.id(), row.row.reference)),
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

/// The proposed mediator answers a proposal (see `store::answer_proposal`).
pub async fn answer_proposal(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected_version: Version,
    answer: super::vocab::MediatorAnswer,
) -> Result<Referral, AppError> {
    let result = async {
        let Standing::Mediator { user_id } = policy::standing(caller)? else {
            return Err(AppError::Forbidden);
        };
        let actor = actor_of(caller);
        audit::write(app, caller, &[], move |tx| {
            let current = store::get(tx.conn, id)?;
            if policy::mediator_view(&current.row, &current.routing, user_id).is_none() {
                return Err(AppError::NotFound);
            }
            let now = tx.caller().now;
            let row = store::answer_proposal(tx.conn, &current, expected_version, &actor, answer, now)?;
            tx.audit(
                Event::new("referral.mediation")
                    .entity("referral", id)
                    .detail(answer.as_str()),
            )?;
            Ok(row)
        })
        .await
    }
    .await;
    audit_refusal(app, caller, "referral.mediation", id, result).await
}

/// Confirms a reviewed draft (the unit's input, checked like any intake).
pub async fn confirm(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected_version: Version,
    input: ReferralInput,
) -> Result<Referral, AppError> {
    let result = confirm_checked(app, caller, id, expected_version, input).await;
    audit_refusal(app, caller, "referral.confirm", id, result).await
}

async fn confirm_checked(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected_version: Version,
    input: ReferralInput,
) -> Result<Referral, AppError> {
    if policy::standing(caller)? != Standing::Unit {
        return Err(AppError::Forbidden);
    }
    let now = caller.now;
    let new = input.check(super::model::Submitter::Unit, &app.protocols, now)?;
    let actor = actor_of(caller);
    let (protocols, settings, keys) = (app.protocols.clone(), app.settings.clone(), app.keys());
    audit::write(app, caller, &[], move |tx| {
        let current = store::get(tx.conn, id)?;
        let row = store::confirm_draft(
            tx.conn,
            &keys,
            &current,
            expected_version,
            &new,
            &actor,
            &protocols,
            &settings,
            now,
        )?;
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
