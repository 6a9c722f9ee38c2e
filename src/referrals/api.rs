//! `/api/v1/referrals`: intake from every source, the unit's decisions, the outside view for
//! referrers and commissions.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::model::ReferralInput;
use super::service::{self, Action, CaseFile};
use super::store::{self, Referral};
use super::vocab::{
    AgeBand, Channel, ConsentScope, ContactRoute, DeclineReason, EmergenceContext, EventKind, ExploitationType, Gender,
    LabourSector, MediatorAnswer, RecruiterRelation, Status, Urgency,
};
use crate::auth::Access;
use crate::clock::rome;
use crate::config::Settings;
use crate::domain::{OrgId, ReferralId, Role, SourceKind, UserId};
use crate::error::{AppError, Problem};
use crate::web::json::versioned;
use crate::web::{expected_version, ApiJson, ApiQuery, Ctx, PathId, RouteDef};

/// The crisis unit (decisions are theirs).
pub const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
/// Whoever may submit referrals.
pub const SUBMITTERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Referrer, Role::Commission]);
/// Whoever may read referrals (each sees only their own share).
pub const READERS: Access = Access::Roles(&[
    Role::Coordinator,
    Role::Operator,
    Role::Mediator,
    Role::Referrer,
    Role::Commission,
]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::POST, "/api/v1/referrals", SUBMITTERS, create),
        RouteDef::new(Method::POST, "/api/v1/referrals/drafts", UNIT, import_draft),
        RouteDef::new(Method::GET, "/api/v1/referrals", READERS, list),
        RouteDef::new(Method::GET, "/api/v1/referrals/{id}", READERS, get),
        RouteDef::new(Method::POST, "/api/v1/referrals/{id}/confirm", UNIT, confirm),
        RouteDef::new(Method::POST, "/api/v1/referrals/{id}/acknowledge", UNIT, acknowledge),
        RouteDef::new(Method::POST, "/api/v1/referrals/{id}/take-charge", UNIT, take_charge),
        RouteDef::new(Method::POST, "/api/v1/referrals/{id}/decline", UNIT, decline),
        RouteDef::new(Method::POST, "/api/v1/referrals/{id}/feedback", UNIT, feedback),
        RouteDef::new(
            Method::POST,
            "/api/v1/referrals/{id}/mediation",
            Access::Roles(&[Role::Mediator]),
            answer_mediation,
        ),
        RouteDef::new(
            Method::POST,
            "/api/v1/referrals/{id}/consent/withdraw",
            Access::Roles(&[Role::Coordinator, Role::Operator, Role::Commission]),
            withdraw_consent,
        ),
    ]
}

/// A named record.
#[derive(Serialize, ToSchema)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// The pseudonymous person.
#[derive(Serialize, ToSchema)]
pub struct PersonView {
    pub alias: Option<String>,
    pub gender: Gender,
    pub age: Option<i32>,
    pub age_band: Option<AgeBand>,
    pub nationality: Option<String>,
    pub minor: bool,
    pub languages: Vec<String>,
    pub hosted_by: Option<Named>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    pub audition_date: NaiveDate,
    pub commission: Option<Named>,
    pub section: Option<String>,
    pub collected_by: Option<String>,
    pub scope: ConsentScope,
    pub contact_route: ContactRoute,
    pub contact_detail: Option<String>,
    pub withdrawn_at: Option<DateTime<FixedOffset>>,
}

/// An entry of the referral's history.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub at: DateTime<FixedOffset>,
    /// Who acted (user name, token label, or the service: `routing`, `escalation`).
    pub actor: Option<String>,
    pub kind: EventKind,
    /// The person the entry is about (operator assigned, mediator proposed).
    pub about: Option<Named>,
    /// A code or a count (never a personal value).
    pub detail: Option<String>,
}

/// Written feedback; `body` is absent once erased (consent withdrawn).
#[derive(Serialize, ToSchema)]
pub struct FeedbackView {
    pub at: DateTime<FixedOffset>,
    pub body: Option<String>,
}

/// A referral as the crisis unit sees it.
#[derive(Serialize, ToSchema)]
pub struct ReferralView {
    pub id: i64,
    /// Short reference used in emails and on the phone (`R-7K2M9QXH`).
    pub reference: String,
    pub status: Status,
    pub channel: Channel,
    pub source_kind: SourceKind,
    pub referring_org: Option<Named>,
    pub referrer_contact: Option<String>,
    pub received_at: DateTime<FixedOffset>,
    pub urgency: Urgency,
    pub person: PersonView,
    /// ISTAT province code.
    pub emergence_province: Option<String>,
    /// ISTAT province code of the place of exploitation, if known.
    pub exploitation_province: Option<String>,
    pub emergence_context: Option<EmergenceContext>,
    pub exploitation_types: Vec<ExploitationType>,
    /// The sectors of labour exploitation, where known.
    pub labour_sectors: Vec<LabourSector>,
    /// Who recruited the person, as reported.
    pub recruiter_relations: Vec<RecruiterRelation>,
    pub indicators: Vec<String>,
    pub indicators_version: Option<String>,
    pub notes: Option<String>,
    pub interview_joint: Option<bool>,
    pub consent: Option<ConsentView>,
    pub assigned_operator: Option<Named>,
    pub proposed_mediator: Option<Named>,
    pub acknowledged_at: Option<DateTime<FixedOffset>>,
    pub escalated_at: Option<DateTime<FixedOffset>>,
    /// When the unit must act (acknowledge an emergency, take an ordinary referral in charge).
    pub deadline: DateTime<FixedOffset>,
    pub overdue: bool,
    pub decided_at: Option<DateTime<FixedOffset>>,
    pub decline_reason: Option<DeclineReason>,
    /// For the unit only: never shown to the referrer.
    pub decision_note: Option<String>,
    pub duplicate_of: Option<i64>,
    /// The reference of `duplicate_of`.
    pub duplicate_of_reference: Option<String>,
    /// True once the personal fields were erased (consent withdrawn).
    pub erased: bool,
    pub history: Vec<EventView>,
    pub feedback: Vec<FeedbackView>,
    pub version: i64,
}

fn org(file: &CaseFile, id: Option<OrgId>) -> Option<Named> {
    id.map(|id| Named {
        id: id.get(),
        name: file.org_names.get(&id).cloned().unwrap_or_default(),
    })
}

fn user(file: &CaseFile, id: Option<UserId>) -> Option<Named> {
    id.map(|id| Named {
        id: id.get(),
        name: file.user_names.get(&id).cloned().unwrap_or_default(),
    })
}

fn feedback_views(feedback: &[store::Feedback]) -> Vec<FeedbackView> {
    feedback
        .iter()
        .map(|f| FeedbackView {
            at: rome(f.at),
            body: f.body.clone(),
        })
        .collect()
}

impl ReferralView {
    pub fn new(file: &CaseFile, settings: &Settings, now: chrono::NaiveDateTime) -> ReferralView {
        let referral = &file.referral;
        let (r, routing) = (&referral.row, &referral.routing);
        let p = &file.sensitive.person;
        ReferralView {
            id: r.id.get(),
            reference: r.reference.clone(),
            status: r.status,
            channel: r.channel,
            source_kind: r.source_kind,
            referring_org: org(file, r.referring_org_id),
            referrer_contact: p.referrer_contact.clone(),
            received_at: rome(r.received_at),
            urgency: r.urgency,
            person: PersonView {
                alias: p.alias.clone(),
                gender: r.person_gender,
                age: p.age,
                age_band: r.person_age_band,
                nationality: p.nationality.clone(),
                minor: r.person_minor,
                languages: file.facts.languages.clone(),
                hosted_by: org(file, r.hosted_org_id),
            },
            emergence_province: r.emergence_province.map(|p| p.code.to_owned()),
            exploitation_province: r.exploitation_province.map(|p| p.code.to_owned()),
            emergence_context: r.emergence_context,
            exploitation_types: file.facts.exploitation.clone(),
            labour_sectors: file.facts.labour_sectors.clone(),
            recruiter_relations: file.facts.recruiter_relations.clone(),
            indicators: file.facts.indicators.clone(),
            indicators_version: r.indicators_version.clone(),
            notes: p.notes.clone(),
            interview_joint: r.interview_joint,
            consent: file.sensitive.consent.as_ref().map(|c| ConsentView {
                audition_date: c.audition_date,
                commission: org(file, Some(c.commission_org_id)),
                section: c.section.clone(),
                collected_by: c.collected_by.clone(),
                scope: c.scope,
                contact_route: c.contact_route,
                contact_detail: c.contact_detail.clone(),
                withdrawn_at: c.withdrawn_at.map(rome),
            }),
            assigned_operator: user(file, routing.assigned_operator_id),
            proposed_mediator: user(file, routing.proposed_mediator_id),
            acknowledged_at: routing.acknowledged_at.map(rome),
            escalated_at: routing.escalated_at.map(rome),
            deadline: rome(referral.deadline(settings)),
            overdue: referral.is_overdue(now, settings),
            decided_at: referral.decided_at().map(rome),
            decline_reason: referral.decline_reason(),
            decision_note: file.sensitive.decision_note.clone(),
            duplicate_of: referral.decision.as_ref().and_then(|d| d.duplicate_of).map(|d| d.get()),
            duplicate_of_reference: file.duplicate_reference.clone(),
            erased: file.sensitive.erased,
            history: file
                .events
                .iter()
                .map(|e| EventView {
                    at: rome(e.at),
                    actor: e.actor_label.clone(),
                    kind: e.kind,
                    about: user(file, e.subject_user_id),
                    detail: e.detail.clone(),
                })
                .collect(),
            feedback: feedback_views(&file.sensitive.feedback),
            version: r.version.get(),
        }
    }
}

/// What a referrer or commission sees of its own report: status, decision and the feedback
/// addressed to it; nothing else.
#[derive(Serialize, ToSchema)]
pub struct OutsideView {
    pub id: i64,
    pub reference: String,
    pub status: Status,
    pub received_at: DateTime<FixedOffset>,
    pub decided_at: Option<DateTime<FixedOffset>>,
    pub decline_reason: Option<DeclineReason>,
    pub consent_withdrawn: bool,
    pub feedback: Vec<FeedbackView>,
    pub version: i64,
}

impl OutsideView {
    pub fn new(r: &Referral, feedback: &[store::Feedback]) -> OutsideView {
        OutsideView {
            id: r.id().get(),
            reference: r.row.reference.clone(),
            status: r.status(),
            received_at: rome(r.row.received_at),
            decided_at: r.decided_at().map(rome),
            decline_reason: r.decline_reason(),
            consent_withdrawn: r.status() == Status::Restricted,
            feedback: feedback_views(feedback),
            version: r.version().get(),
        }
    }
}

/// A line of a list: no personal field.
#[derive(Serialize, ToSchema)]
pub struct ReferralSummary {
    pub id: i64,
    pub reference: String,
    pub status: Status,
    pub urgency: Urgency,
    pub source_kind: SourceKind,
    pub received_at: DateTime<FixedOffset>,
    pub assigned_operator_id: Option<i64>,
    pub acknowledged: bool,
    pub overdue: bool,
    pub decline_reason: Option<DeclineReason>,
    pub version: i64,
}

impl ReferralSummary {
    pub fn new(r: &Referral, settings: &Settings, now: chrono::NaiveDateTime) -> ReferralSummary {
        ReferralSummary {
            id: r.id().get(),
            reference: r.row.reference.clone(),
            status: r.status(),
            urgency: r.row.urgency,
            source_kind: r.row.source_kind,
            received_at: rome(r.row.received_at),
            assigned_operator_id: r.routing.assigned_operator_id.map(|u| u.get()),
            acknowledged: r.routing.acknowledged_at.is_some(),
            overdue: r.is_overdue(now, settings),
            decline_reason: r.decline_reason(),
            version: r.version().get(),
        }
    }
}

/// A referral in a list or after a change, as the caller may see it: `ReferralSummary` for the
/// crisis unit (coordinators and operators) and the mediators it was proposed to; `OutsideView`
/// for a referrer or a commission (its own organisation's referrals only).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReferralLine {
    Unit(ReferralSummary),
    Outside(OutsideView),
}

impl ReferralLine {
    fn of(ctx: &Ctx, r: &Referral) -> ReferralLine {
        if is_outsider(ctx) {
            ReferralLine::Outside(OutsideView::new(r, &[]))
        } else {
            ReferralLine::Unit(ReferralSummary::new(r, &ctx.state.settings, ctx.now))
        }
    }
}

/// One referral as the caller may see it: `ReferralView`, the whole case file, for the crisis
/// unit (coordinators and operators); `OutsideView` for the referrer or commission that filed
/// it; `MediatorCaseView` for the mediator it was proposed to.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReferralRead {
    Unit(Box<ReferralView>),
    Outside(OutsideView),
    Mediator(MediatorCaseView),
}

/// Referrers and commissions get the outside view.
fn is_outsider(ctx: &Ctx) -> bool {
    super::policy::standing(&ctx.caller()).is_ok_and(super::policy::is_outside)
}

fn idempotency_key(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned())
}

/// Files a referral. Send `Idempotency-Key` so that a retry never creates a second one: the
/// retry answers 200 with the referral the first request created.
#[utoipa::path(post, path = "/api/v1/referrals", tag = "referrals", request_body = ReferralInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    operation_id = "create_referral",
    responses((status = 201, body = ReferralLine, description = "created: `ReferralSummary` for the unit, `OutsideView` for a referrer or commission",
            headers(("Location" = String, description = "the referral's URL"))),
        (status = 200, body = ReferralLine, description = "a retry with the same Idempotency-Key: the referral created first",
            headers(("Location" = String, description = "the referral's URL"))),
        (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create(ctx: Ctx, req: HttpRequest, body: ApiJson<ReferralInput>) -> Result<HttpResponse, AppError> {
    let created = service::create(&ctx.state, &ctx.caller(), body.0, idempotency_key(&req)).await?;
    let r = created.referral;
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let location = Some(format!("/api/v1/referrals/{}", r.id()));
    Ok(versioned(status, &ReferralLine::of(&ctx, &r), r.version(), location))
}

/// List filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub urgency: Option<Urgency>,
    /// Only referrals older than this id (paging).
    #[param(value_type = Option<i64>)]
    pub before: Option<ReferralId>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

/// Referrals, newest first: all of them for the unit, those proposed to a mediator, a referring
/// organisation's own for referrers and commissions (outside view).
#[utoipa::path(get, path = "/api/v1/referrals", tag = "referrals", params(ListQuery), operation_id = "list_referrals",
    responses((status = 200, body = [ReferralLine], description = "`ReferralSummary` lines for the unit and mediators, `OutsideView` lines for referrers and commissions")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list(ctx: Ctx, q: ApiQuery<ListQuery>) -> Result<HttpResponse, AppError> {
    let q = q.0;
    if q.limit.is_some_and(|l| !(1..=500).contains(&l)) {
        return Err(AppError::bad_request("limit", "must be between 1 and 500"));
    }
    let filter = store::ListFilter {
        status: q.status,
        urgency: q.urgency,
        before: q.before,
        limit: q.limit.unwrap_or(100),
        ..store::ListFilter::default()
    };
    let rows = service::list(&ctx.state, &ctx.caller(), filter).await?;
    let views: Vec<ReferralLine> = rows.iter().map(|r| ReferralLine::of(&ctx, r)).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// What a mediator sees of a referral proposed to them: until they answer, what they need to
/// decide; once they accepted, and while it is open, what the interview needs (`person`,
/// `exploitation_types`, `assigned_operator`). Never the notes, the referrer's contact, the
/// consent record, the decision or the feedback.
#[derive(Serialize, ToSchema)]
pub struct MediatorCaseView {
    pub id: i64,
    pub reference: String,
    pub status: Status,
    pub urgency: Urgency,
    pub received_at: DateTime<FixedOffset>,
    /// The languages the person speaks.
    pub languages: Vec<String>,
    /// The mediator's answer; null while the proposal waits for it.
    pub answer: Option<MediatorAnswer>,
    /// Once accepted.
    pub person: Option<MediatorPersonView>,
    pub exploitation_types: Vec<ExploitationType>,
    pub assigned_operator: Option<Named>,
    pub version: i64,
}

/// The person, as the interview needs them.
#[derive(Serialize, ToSchema)]
pub struct MediatorPersonView {
    pub alias: Option<String>,
    pub gender: Gender,
    pub age: Option<i32>,
    pub age_band: Option<AgeBand>,
    pub nationality: Option<String>,
    pub minor: bool,
    pub hosted_by: Option<Named>,
}

impl MediatorCaseView {
    pub fn new(file: &CaseFile) -> MediatorCaseView {
        let (r, routing) = (&file.referral.row, &file.referral.routing);
        let accepted = routing.mediator_answer == Some(MediatorAnswer::Accepted);
        let p = &file.sensitive.person;
        MediatorCaseView {
            id: r.id.get(),
            reference: r.reference.clone(),
            status: r.status,
            urgency: r.urgency,
            received_at: rome(r.received_at),
            languages: file.facts.languages.clone(),
            answer: routing.mediator_answer,
            person: accepted.then(|| MediatorPersonView {
                alias: p.alias.clone(),
                gender: r.person_gender,
                age: p.age,
                age_band: r.person_age_band,
                nationality: p.nationality.clone(),
                minor: r.person_minor,
                hosted_by: org(file, r.hosted_org_id),
            }),
            exploitation_types: file.facts.exploitation.clone(),
            assigned_operator: if accepted {
                user(file, routing.assigned_operator_id)
            } else {
                None
            },
            version: r.version.get(),
        }
    }
}

/// One referral: the case file for the unit, the outside view for its referrer or commission,
/// the mediator's share for the mediator it was proposed to.
#[utoipa::path(get, path = "/api/v1/referrals/{id}", tag = "referrals", params(("id" = i64, Path)),
    operation_id = "get_referral",
    responses((status = 200, body = ReferralRead,
        description = "`ReferralView` for the unit, `OutsideView` for the referrer or commission that filed it, `MediatorCaseView` for the mediator it was proposed to"),
        (status = 404, body = Problem, description = "no such referral, or not one the caller may see")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get(ctx: Ctx, id: PathId<ReferralId>) -> Result<HttpResponse, AppError> {
    let file = service::read(&ctx.state, &ctx.caller(), id.0).await?;
    let v = file.referral.version();
    let view = if matches!(file.standing, super::policy::Standing::Mediator { .. }) {
        ReferralRead::Mediator(MediatorCaseView::new(&file))
    } else if super::policy::is_outside(file.standing) {
        ReferralRead::Outside(OutsideView::new(&file.referral, &file.sensitive.feedback))
    } else {
        ReferralRead::Unit(Box::new(ReferralView::new(&file, &ctx.state.settings, ctx.now)))
    };
    Ok(versioned(StatusCode::OK, &view, v, None))
}

/// The version an action is based on.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionOnly {
    pub version: Option<i64>,
}

/// A decline.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    pub version: Option<i64>,
    pub reason: DeclineReason,
    /// For the unit only.
    #[validate(length(max = 4000))]
    pub note: Option<String>,
    /// With reason `duplicate`: the referral this one duplicates, by id…
    #[schema(value_type = Option<i64>)]
    pub duplicate_of: Option<ReferralId>,
    /// …or by its reference (`R-7K2M9QXH`).
    #[validate(length(max = 40))]
    pub duplicate_of_reference: Option<String>,
}

/// Written feedback for the referrer or commission.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    pub version: Option<i64>,
    #[validate(length(min = 1, max = 8000))]
    pub body: String,
}

async fn respond_action(
    ctx: &Ctx,
    req: &HttpRequest,
    id: ReferralId,
    version: Option<i64>,
    action: Action,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(req, version)?;
    let row = service::act(&ctx.state, &ctx.caller(), id, expected, action).await?;
    Ok(versioned(
        StatusCode::OK,
        &ReferralLine::of(ctx, &row),
        row.version(),
        None,
    ))
}

/// A mediator's answer to a proposal.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediationInput {
    pub version: Option<i64>,
    pub answer: MediatorAnswer,
}

/// The proposed mediator accepts or declines: accepted, they see what the interview needs;
/// declined, the referral leaves their list and the unit sees the answer in the history.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/mediation", tag = "referrals", params(("id" = i64, Path)),
    request_body = MediationInput, responses((status = 200, description = "accepted: what the interview needs", body = MediatorCaseView),
        (status = 204, description = "declined: the referral is no longer the mediator's to see"),
        (status = 404, body = Problem, description = "no such referral, or not one proposed to the caller"), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn answer_mediation(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<ReferralId>,
    body: ApiJson<MediationInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let expected = expected_version(&req, b.version)?;
    service::answer_proposal(&ctx.state, &ctx.caller(), id.0, expected, b.answer).await?;
    match b.answer {
        MediatorAnswer::Accepted => get(ctx, id).await,
        // Declined: no longer theirs to see.
        MediatorAnswer::Declined => Ok(HttpResponse::NoContent().finish()),
    }
}

/// The operator on duty has seen the emergency: the escalation clock stops.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/acknowledge", tag = "referrals", params(("id" = i64, Path)), operation_id = "acknowledge_referral",
    request_body = VersionOnly, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn acknowledge(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<ReferralId>,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    respond_action(&ctx, &req, id.0, body.0.version, Action::Acknowledge).await
}

/// The unit takes the referral in charge; the referrer is told.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/take-charge", tag = "referrals", params(("id" = i64, Path)), operation_id = "take_charge",
    request_body = VersionOnly, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn take_charge(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<ReferralId>,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    // The case about the person is opened (or joined) in the same transaction.
    let expected = expected_version(&req, body.0.version)?;
    let (row, _case) = crate::casework::service::take_charge(&ctx.state, &ctx.caller(), id.0, expected).await?;
    Ok(versioned(
        StatusCode::OK,
        &ReferralLine::of(&ctx, &row),
        row.version(),
        None,
    ))
}

/// The unit declines with a reason; the referrer sees the reason, never the note.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/decline", tag = "referrals", params(("id" = i64, Path)), operation_id = "decline_referral",
    request_body = DeclineInput, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn decline(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<ReferralId>,
    body: ApiJson<DeclineInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let duplicate_of = match (b.duplicate_of, b.duplicate_of_reference) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_request(
                "duplicate_of_reference",
                "give the duplicated referral by id or by reference, not both",
            ))
        }
        (Some(id), None) => Some(super::store::Duplicate::Id(id)),
        (None, Some(r)) => super::store::Duplicate::parse(&r),
        (None, None) => None,
    };
    let action = Action::Decline {
        reason: b.reason,
        note: b.note.filter(|n| !n.trim().is_empty()),
        duplicate_of,
    };
    respond_action(&ctx, &req, id.0, b.version, action).await
}

/// Written feedback to the referrer or commission (they are notified; the email has no content).
#[utoipa::path(post, path = "/api/v1/referrals/{id}/feedback", tag = "referrals", params(("id" = i64, Path)), operation_id = "send_feedback",
    request_body = FeedbackInput, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn feedback(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<ReferralId>,
    body: ApiJson<FeedbackInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    respond_action(&ctx, &req, id.0, b.version, Action::Feedback(b.body)).await
}

/// The person withdrew consent: restricted at once, personal fields erased, the commission told.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/consent/withdraw", tag = "referrals", params(("id" = i64, Path)),
    operation_id = "withdraw_consent",
    request_body = VersionOnly, responses((status = 200, body = ReferralLine,
        description = "`ReferralSummary` for the unit, `OutsideView` for the commission that filed it"), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn withdraw_consent(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<ReferralId>,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    // The case's own notes go with the referral's when no consented referral is left on it.
    let expected = expected_version(&req, body.0.version)?;
    let row = crate::casework::service::withdraw_consent(&ctx.state, &ctx.caller(), id.0, expected).await?;
    Ok(versioned(
        StatusCode::OK,
        &ReferralLine::of(&ctx, &row),
        row.version(),
        None,
    ))
}

/// A draft created from an imported message.
#[derive(Serialize, ToSchema)]
pub struct DraftCreated {
    pub id: i64,
    pub reference: String,
    pub status: Status,
}

/// Imports one message saved from the unit's mailbox (`Content-Type: message/rfc822`; a PEC
/// envelope is recognised) as a draft that an operator must review and confirm.
#[utoipa::path(post, path = "/api/v1/referrals/drafts", tag = "referrals",
    request_body(content = String, content_type = "message/rfc822", description = "the .eml file"),
    params(("X-File-Name" = Option<String>, Header, description = "the file's name, kept with the draft")),
    operation_id = "import_draft",
    responses((status = 201, body = DraftCreated, headers(("Location" = String, description = "the draft's URL"))),
        (status = 200, body = crate::casework::feedback::api::ReceiptRecorded, description = "a PEC receipt (acceptance, delivery, non-delivery): recorded against the written feedback letter whose Message-ID it quotes; no draft"),
        (status = 413, body = Problem, description = "larger than 32 MB"), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn import_draft(
    ctx: Ctx,
    req: HttpRequest,
    payload: actix_web::web::Payload,
) -> Result<HttpResponse, AppError> {
    let is_message = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("message/rfc822"));
    if !is_message {
        return Err(AppError::UnsupportedMediaType);
    }
    let body = crate::web::extract::read_limited(&req, payload, super::import::MAX_MESSAGE_BYTES).await?;
    let name = req
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("message.eml")
        .to_owned();
    // A PEC receipt of a written feedback letter is recorded against it, never made a draft.
    use crate::casework::feedback::service::{import_mail, Imported};
    let mut outcome = import_mail(&ctx.state, &ctx.caller(), vec![(name, body.to_vec())]).await?;
    match outcome.pop().map(|o| o.result) {
        Some(Ok(Imported::Receipt { letter, kind, delivery })) => Ok(HttpResponse::Ok().json(
            crate::casework::feedback::api::ReceiptRecorded {
                letter,
                receipt: kind.code().to_owned(),
                delivery,
            },
        )),
        Some(Ok(Imported::Draft { id, reference })) => Ok(HttpResponse::Created()
            .insert_header((actix_web::http::header::LOCATION, format!("/api/v1/referrals/{id}")))
            .json(DraftCreated {
                id: id.get(),
                reference,
                status: Status::Draft,
            })),
        Some(Err(e)) => Err(AppError::invalid("body", e)),
        None => Err(AppError::Internal("no import outcome".into())),
    }
}

/// Confirms a reviewed draft with the complete referral (send the draft's version as `If-Match`):
/// from then on it is routed, notified and counted like any referral.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/confirm", tag = "referrals", request_body = ReferralInput,
    operation_id = "confirm_draft",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "the draft's version")),
    responses((status = 200, body = ReferralSummary), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn confirm(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<ReferralId>,
    body: ApiJson<ReferralInput>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, None)?;
    let row = service::confirm(&ctx.state, &ctx.caller(), id.0, expected, body.0).await?;
    Ok(versioned(
        StatusCode::OK,
        &ReferralSummary::new(&row, &ctx.state.settings, ctx.now),
        row.version(),
        None,
    ))
}
