//! What the API and the pages both do with referrals: the caller's standing, one store call and
//! its audit entry in one transaction.

use sha2::{Digest, Sha256};

use super::model::{ReferralInput, Submitter};
use super::store::{self, Actor, Created, Idempotency, ReferralRow};
use super::vocab::DeclineReason;
use crate::accounts::orgs;
use crate::audit::{self, Event};
use crate::auth::{self as auth_mod, Principal};
use crate::domain::Role;
use crate::error::AppError;
use crate::web::Ctx;

/// How the caller stands towards referrals.
pub async fn submitter(ctx: &Ctx) -> Result<Submitter, AppError> {
    let p = ctx.user()?;
    match p.role {
        Role::Coordinator | Role::Operator => Ok(Submitter::Unit),
        Role::Commission => Ok(Submitter::Commission {
            org_id: p.org_id.ok_or(AppError::Forbidden)?,
        }),
        Role::Referrer => Ok(Submitter::Referrer {
            org_id: p.org_id.ok_or(AppError::Forbidden)?,
            org_kind: p.org_kind.ok_or(AppError::Forbidden)?,
        }),
        _ => Err(AppError::Forbidden),
    }
}

pub fn actor_of(p: &Principal) -> Actor {
    match &p.actor {
        auth_mod::Actor::User { id, username, .. } => Actor {
            user_id: Some(*id),
            token_id: None,
            label: username.clone(),
        },
        auth_mod::Actor::Token { id, label } => Actor {
            user_id: None,
            token_id: Some(*id),
            label: format!("token {id}: {label}"),
        },
    }
}

/// Checks and stores a referral. With an `Idempotency-Key`, a retried request returns the
/// referral the first one created and stores nothing new.
pub async fn create(ctx: &Ctx, input: ReferralInput, idempotency_key: Option<String>) -> Result<Created, AppError> {
    let p = ctx.user()?.clone();
    let who_standing = submitter(ctx).await?;
    let new = input.check(who_standing, &ctx.state.protocols, ctx.now)?;
    let idempotency = match idempotency_key {
        None => None,
        Some(k) => {
            let k = k.trim().to_owned();
            if k.is_empty() || k.len() > 100 || !k.chars().all(|c| c.is_ascii_graphic()) {
                return Err(AppError::bad_request(
                    "Idempotency-Key",
                    "must be 1 to 100 printable ASCII characters",
                ));
            }
            let scope = match &p.actor {
                auth_mod::Actor::User { id, .. } => format!("user:{id}"),
                auth_mod::Actor::Token { id, .. } => format!("token:{id}"),
            };
            Some(Idempotency {
                scope,
                key: k,
                request_hash: hex::encode(Sha256::digest(format!("{input:?}").as_bytes())),
            })
        }
    };
    let actor = actor_of(&p);
    let (who, now) = (ctx.who(), ctx.now);
    let idempotency = std::sync::Arc::new(idempotency);
    let routing = match ctx.state.directory.fresh(now).and_then(|d| d.prepare(&new, now)) {
        Some(r) => r?,
        None => {
            let (new, state) = (new.clone(), ctx.state.clone());
            ctx.state
                .db
                .read(move |conn| {
                    state.directory.refresh(conn, now)?;
                    store::prepare(conn, &new, now)
                })
                .await?
        }
    };
    // Two concurrent retries of one submission both find no key and race to insert it: the loser
    // hits the unique index (a conflict) and, run again, finds the winner's referral and replays
    // it. The same retry covers the rare collision of two random references.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (new, actor, who, idem, state, routing) = (
            new.clone(),
            actor.clone(),
            who.clone(),
            idempotency.clone(),
            ctx.state.clone(),
            routing.clone(),
        );
        let result = ctx
            .state
            .db
            .write(move |conn| {
                let created = store::create(
                    conn,
                    &new,
                    &actor,
                    idem.as_ref().as_ref(),
                    &routing,
                    &state.protocols,
                    &state.settings,
                    now,
                )?;
                let mut ev = Event::new("referral.create").entity("referral", created.referral.id);
                if created.replayed {
                    ev = ev.detail("idempotent retry: nothing stored");
                }
                audit::record(conn, &who, now, ev)?;
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
    pub names: std::collections::HashMap<(char, i64), String>,
}

/// Reads a referral for the caller (an audited read). Outsiders may read only their own
/// organisation's reports; anyone else gets 404, so existence is not revealed.
pub async fn read(ctx: &Ctx, id: i64) -> Result<CaseFile, AppError> {
    let p = ctx.user()?.clone();
    let standing = submitter_or_staff(ctx).await?;
    let (who, now) = (ctx.who(), ctx.now);
    ctx.state
        .db
        .write(move |conn| {
            let referral = store::get(conn, id)?;
            let allowed = match standing {
                None => store::visible_to_staff(&referral, p.role, p.user_id()),
                Some(s) => store::visible_to_org(&referral, s),
            };
            if !allowed {
                return Err(AppError::NotFound);
            }
            let consent = store::consent(conn, id)?;
            let mut names = std::collections::HashMap::new();
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
            for user in [
                referral.assigned_operator_id,
                referral.proposed_mediator_id,
                referral.decided_by,
            ]
            .into_iter()
            .flatten()
            {
                if let Ok(u) = crate::accounts::users::get(conn, user) {
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
                events: store::events(conn, id)?,
                feedback: store::feedback(conn, id)?,
                referral,
                names,
            };
            audit::record(conn, &who, now, Event::new("referral.read").entity("referral", id))?;
            Ok(file)
        })
        .await
}

/// `None` for unit staff (mediators included), `Some` for referrers and commissions.
async fn submitter_or_staff(ctx: &Ctx) -> Result<Option<Submitter>, AppError> {
    let p = ctx.user()?;
    match p.role {
        Role::Coordinator | Role::Operator | Role::Mediator => Ok(None),
        _ => submitter(ctx).await.map(Some),
    }
}

/// Referrals the caller may list (an audited read).
pub async fn list(ctx: &Ctx, mut filter: store::ListFilter) -> Result<Vec<ReferralRow>, AppError> {
    let p = ctx.user()?.clone();
    match submitter_or_staff(ctx).await? {
        Some(Submitter::Referrer { org_id, .. } | Submitter::Commission { org_id }) => {
            filter.submitter_org_id = Some(org_id)
        }
        Some(Submitter::Unit) => {}
        None if p.role == Role::Mediator => filter.mediator_id = Some(p.user_id().unwrap_or(-1)),
        None => {}
    }
    let (who, now) = (ctx.who(), ctx.now);
    ctx.state
        .db
        .write(move |conn| {
            let rows = store::list(conn, &filter)?;
            audit::record(
                conn,
                &who,
                now,
                Event::new("referral.list").detail(format!("{} referrals", rows.len())),
            )?;
            Ok(rows)
        })
        .await
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
pub async fn act(ctx: &Ctx, id: i64, expected_version: i64, action: Action) -> Result<ReferralRow, AppError> {
    let p = ctx.user()?.clone();
    let standing = submitter_or_staff(ctx).await?;
    // A commission may withdraw consent on its own reports; everything else is the unit's.
    let outsider = standing.is_some();
    if outsider && !matches!(action, Action::WithdrawConsent) {
        return Err(AppError::Forbidden);
    }
    let actor = actor_of(&p);
    let (who, now) = (ctx.who(), ctx.now);
    let settings = ctx.state.settings.clone();
    ctx.state
        .db
        .write(move |conn| {
            let current = store::get(conn, id)?;
            let allowed = match standing {
                None => store::visible_to_staff(&current, p.role, p.user_id()) && p.role != Role::Mediator,
                Some(s) => store::visible_to_org(&current, s),
            };
            if !allowed {
                return Err(AppError::NotFound);
            }
            let name = action.audit_name();
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
                Action::Feedback(body) => {
                    store::add_feedback(conn, id, expected_version, &body, &actor, &settings, now)?
                }
                Action::WithdrawConsent => store::withdraw_consent(conn, id, expected_version, &actor, &settings, now)?,
            };
            audit::record(conn, &who, now, Event::new(name).entity("referral", id))?;
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
pub async fn import_files(ctx: &Ctx, files: Vec<(String, Vec<u8>)>) -> Result<Vec<ImportOutcome>, AppError> {
    let p = ctx.user()?.clone();
    let mut out = Vec::new();
    for (file, bytes) in files {
        let parsed = super::import::parse_eml(&bytes);
        let result = match parsed {
            Err(e) => Err(e.to_string()),
            Ok(msg) => {
                let (who, now, actor, name) = (ctx.who(), ctx.now, actor_of(&p), file.clone());
                let row = ctx
                    .state
                    .db
                    .write(move |conn| {
                        let row = store::create_draft(conn, &msg, &name, &actor, now)?;
                        audit::record(
                            conn,
                            &who,
                            now,
                            Event::new("referral.import").entity("referral", row.id),
                        )?;
                        Ok(row)
                    })
                    .await?;
                Ok((row.id, row.reference))
            }
        };
        out.push(ImportOutcome { file, result });
    }
    Ok(out)
}

/// Confirms a reviewed draft (the unit's input, checked like any intake).
pub async fn confirm(ctx: &Ctx, id: i64, expected_version: i64, input: ReferralInput) -> Result<ReferralRow, AppError> {
    let p = ctx.user()?.clone();
    if !matches!(p.role, Role::Coordinator | Role::Operator) {
        return Err(AppError::Forbidden);
    }
    let new = input.check(Submitter::Unit, &ctx.state.protocols, ctx.now)?;
    let (who, now, actor, state) = (ctx.who(), ctx.now, actor_of(&p), ctx.state.clone());
    ctx.state
        .db
        .write(move |conn| {
            let row = store::confirm_draft(
                conn,
                id,
                expected_version,
                &new,
                &actor,
                &state.protocols,
                &state.settings,
                now,
            )?;
            audit::record(conn, &who, now, Event::new("referral.confirm").entity("referral", id))?;
            Ok(row)
        })
        .await
}
