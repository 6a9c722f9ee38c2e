//! `/api/v1/persons`: the candidates for a referral, a person's journey, and the operators'
//! decisions (link, reject, unlink). The crisis unit's only.

use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::HttpResponse;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::model::{Decision, MatchField, Reason, Verdict};
use super::service::{self, Outcome};
use super::store::{Journey, Proposals};
use crate::auth::Access;
use crate::casework::vocab::CaseStatus;
use crate::clock::rome;
use crate::domain::{PersonId, ReferralId, Role, SourceKind, UserId};
use crate::error::{AppError, Problem};
use crate::referrals::api::Named;
use crate::referrals::store::Referral;
use crate::referrals::vocab::{Channel, Status};
use crate::web::{ApiJson, ApiQuery, Ctx, PathId, RouteDef};

/// The crisis unit: coordinators and operators.
pub const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/persons/candidates", UNIT, candidates),
        RouteDef::new(Method::GET, "/api/v1/persons/{id}", UNIT, get),
        RouteDef::new(Method::POST, "/api/v1/persons/{id}/link", UNIT, link),
        RouteDef::new(Method::POST, "/api/v1/persons/{id}/reject", UNIT, reject),
        RouteDef::new(Method::POST, "/api/v1/persons/{id}/unlink", UNIT, unlink),
    ]
}

/// Why a field counts for or against a match.
#[derive(Serialize, ToSchema)]
pub struct ReasonView {
    pub field: MatchField,
    pub verdict: Verdict,
    /// Years apart (`birth_year`) or days apart (`emergence_date`).
    pub distance: Option<i64>,
    /// What the field adds to the score (negative when it counts against).
    pub points: i32,
}

impl From<&Reason> for ReasonView {
    fn from(r: &Reason) -> Self {
        ReasonView {
            field: r.field,
            verdict: r.verdict,
            distance: r.distance,
            points: r.points,
        }
    }
}

/// A referral, briefly, with the alias it gives.
#[derive(Serialize, ToSchema)]
pub struct ReferralBrief {
    pub id: i64,
    pub reference: String,
    pub received_at: DateTime<FixedOffset>,
    pub channel: Channel,
    pub source_kind: SourceKind,
    pub status: Status,
    /// Absent when none was given, or erased (consent withdrawn).
    pub alias: Option<String>,
}

impl ReferralBrief {
    pub fn new(r: &Referral, alias: Option<String>) -> ReferralBrief {
        ReferralBrief {
            id: r.id().get(),
            reference: r.row.reference.clone(),
            received_at: rome(r.row.received_at),
            channel: r.row.channel,
            source_kind: r.row.source_kind,
            status: r.status(),
            alias,
        }
    }
}

/// A person who may be the one the referral is about.
#[derive(Serialize, ToSchema)]
pub struct CandidateView {
    pub person_id: i64,
    /// 0–100.
    pub score: i32,
    /// The person's referral most alike.
    pub referral: ReferralBrief,
    /// How many of the person's referrals the search found.
    pub referrals_found: i64,
    /// One per field compared.
    pub reasons: Vec<ReasonView>,
}

/// The candidates for a referral, best first.
#[derive(Serialize, ToSchema)]
pub struct CandidateList {
    pub referral: ReferralBrief,
    /// The referral's person, once linked (taken in charge, or a decision).
    pub person_id: Option<i64>,
    pub candidates: Vec<CandidateView>,
}

impl CandidateList {
    pub fn new(p: &Proposals) -> CandidateList {
        CandidateList {
            referral: ReferralBrief::new(&p.subject, p.subject_alias.clone()),
            person_id: p.subject_person.map(PersonId::get),
            candidates: p
                .proposals
                .iter()
                .filter_map(|x| {
                    Some(CandidateView {
                        person_id: x.candidate.person_id?.get(),
                        score: x.candidate.score,
                        referral: ReferralBrief::new(&x.referral, x.alias.clone()),
                        referrals_found: x.candidate.referrals_found as i64,
                        reasons: x.candidate.reasons.iter().map(ReasonView::from).collect(),
                    })
                })
                .collect(),
        }
    }
}

/// A referral on the person's journey.
#[derive(Serialize, ToSchema)]
pub struct StepView {
    pub referral: ReferralBrief,
    pub linked_at: DateTime<FixedOffset>,
    pub linked_by: Option<Named>,
}

/// A case about the person.
#[derive(Serialize, ToSchema)]
pub struct CaseBrief {
    pub id: i64,
    pub reference: String,
    pub status: CaseStatus,
    pub opened_at: DateTime<FixedOffset>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub referral_ids: Vec<i64>,
}

/// A decision about the person.
#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    pub referral_id: i64,
    pub reference: Option<String>,
    pub decision: Decision,
    /// The score when it was decided.
    pub score: Option<i32>,
    /// The reasons when it was decided, as codes (`alias=phonetic;birth_year=match:1;…`).
    pub reasons: Option<String>,
    pub decided_by: Option<Named>,
    pub decided_at: DateTime<FixedOffset>,
}

/// A person's journey across channels: referrals by date, cases, decisions.
#[derive(Serialize, ToSchema)]
pub struct JourneyView {
    pub id: i64,
    pub created_at: DateTime<FixedOffset>,
    pub referrals: Vec<StepView>,
    pub cases: Vec<CaseBrief>,
    pub decisions: Vec<DecisionView>,
}

impl JourneyView {
    pub fn new(j: &Journey) -> Result<JourneyView, AppError> {
        let named = |u: Option<UserId>, names: &HashMap<UserId, String>| {
            u.map(|id| Named {
                id: id.get(),
                name: names.get(&id).cloned().unwrap_or_default(),
            })
        };
        let mut cases = Vec::new();
        for c in &j.cases {
            cases.push(CaseBrief {
                id: c.id.get(),
                reference: c.reference.clone(),
                status: CaseStatus::from_code(&c.status)
                    .ok_or_else(|| AppError::Internal(format!("unknown case status {:?}", c.status)))?,
                opened_at: rome(c.opened_at),
                closed_at: c.closed_at.map(rome),
                referral_ids: c.referrals.iter().map(|r| r.get()).collect(),
            });
        }
        Ok(JourneyView {
            id: j.person.get(),
            created_at: rome(j.created_at),
            referrals: j
                .steps
                .iter()
                .map(|s| StepView {
                    referral: ReferralBrief::new(&s.referral, s.alias.clone()),
                    linked_at: rome(s.linked_at),
                    linked_by: named(s.linked_by, &j.names),
                })
                .collect(),
            cases,
            decisions: j
                .decisions
                .iter()
                .map(|d| DecisionView {
                    referral_id: d.referral_id.get(),
                    reference: j.references.get(&d.referral_id).cloned(),
                    decision: d.decision,
                    score: d.score,
                    reasons: d.reasons.clone(),
                    decided_by: named(d.decided_by, &j.names),
                    decided_at: rome(d.decided_at),
                })
                .collect(),
        })
    }
}

/// Whose candidates.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    /// The referral under review.
    #[param(value_type = i64)]
    pub referral_id: ReferralId,
}

/// The persons already known who may be the one a referral is about, best first (at most 10,
/// scored 35 or more): the alias compared exactly and by sound across transliterations, then
/// nationality, birth year (±2), gender, hosting place, languages, emergence province and date,
/// each with its reason. Found through blind indexes: nothing is decrypted to search. A pair
/// rejected before is not proposed again.
#[utoipa::path(get, path = "/api/v1/persons/candidates", tag = "persons", params(CandidatesQuery),
    operation_id = "person_candidates",
    responses((status = 200, body = CandidateList), (status = 404, body = Problem, description = "no such referral")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn candidates(ctx: Ctx, q: ApiQuery<CandidatesQuery>) -> Result<HttpResponse, AppError> {
    let found = service::candidates(&ctx.state, &ctx.caller(), q.0.referral_id).await?;
    Ok(HttpResponse::Ok().json(CandidateList::new(&found)))
}

/// A person's journey across channels: their referrals by date (with the channel and source of
/// each), their cases, and the decisions that linked or kept referrals apart.
#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "persons", params(("id" = i64, Path)),
    operation_id = "get_person",
    responses((status = 200, body = JourneyView)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get(ctx: Ctx, id: PathId<PersonId>) -> Result<HttpResponse, AppError> {
    let j = service::journey(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(HttpResponse::Ok().json(JourneyView::new(&j)?))
}

/// The referral a decision is about.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    #[schema(value_type = i64)]
    pub referral_id: ReferralId,
}

/// What a decision left.
#[derive(Serialize, ToSchema)]
pub struct DecisionOutcome {
    pub referral_id: i64,
    /// The person the referral is about now (a new one after an unlink).
    pub person_id: i64,
    pub decision: Decision,
    /// How alike the referral is to the person's other referrals (none to compare: absent).
    pub score: Option<i32>,
}

impl From<Outcome> for DecisionOutcome {
    fn from(o: Outcome) -> Self {
        DecisionOutcome {
            referral_id: o.referral_id.get(),
            person_id: o.person_id.get(),
            decision: o.decision,
            score: o.score,
        }
    }
}

/// Confirms that the referral is about this person: it is linked to them (moved from its own
/// person, if it had one). Before the referral is taken in charge, this decides the case it
/// joins; afterwards its case keeps it.
#[utoipa::path(post, path = "/api/v1/persons/{id}/link", tag = "persons", params(("id" = i64, Path)),
    request_body = DecisionInput, operation_id = "link_person",
    responses((status = 200, body = DecisionOutcome), (status = 409, body = Problem, description = "already linked to this person")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn link(
    ctx: Ctx,
    id: PathId<PersonId>,
    body: ApiJson<DecisionInput>,
) -> Result<HttpResponse, AppError> {
    let o = service::link(&ctx.state, &ctx.caller(), id.0, body.0.referral_id).await?;
    crate::casework::service::follow_person(&ctx.state, &ctx.caller(), body.0.referral_id).await?;
    Ok(HttpResponse::Ok().json(DecisionOutcome::from(o)))
}

/// Not the same person: the pair is never proposed again.
#[utoipa::path(post, path = "/api/v1/persons/{id}/reject", tag = "persons", params(("id" = i64, Path)),
    request_body = DecisionInput, operation_id = "reject_person",
    responses((status = 200, body = DecisionOutcome), (status = 409, body = Problem, description = "already rejected, or linked (undo the link instead)")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn reject(
    ctx: Ctx,
    id: PathId<PersonId>,
    body: ApiJson<DecisionInput>,
) -> Result<HttpResponse, AppError> {
    let o = service::reject(&ctx.state, &ctx.caller(), id.0, body.0.referral_id).await?;
    Ok(HttpResponse::Ok().json(DecisionOutcome::from(o)))
}

/// Undoes a link: the referral gets a person of its own again; the pair is not proposed again.
#[utoipa::path(post, path = "/api/v1/persons/{id}/unlink", tag = "persons", params(("id" = i64, Path)),
    request_body = DecisionInput, operation_id = "unlink_person",
    responses((status = 200, body = DecisionOutcome), (status = 409, body = Problem, description = "not linked to this person, or their only referral")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn unlink(
    ctx: Ctx,
    id: PathId<PersonId>,
    body: ApiJson<DecisionInput>,
) -> Result<HttpResponse, AppError> {
    let o = service::unlink(&ctx.state, &ctx.caller(), id.0, body.0.referral_id).await?;
    crate::casework::service::follow_person(&ctx.state, &ctx.caller(), body.0.referral_id).await?;
    Ok(HttpResponse::Ok().json(DecisionOutcome::from(o)))
}
