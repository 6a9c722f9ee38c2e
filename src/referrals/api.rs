//! `/api/v1/referrals`: intake from every source, the unit's decisions, the outside view for
//! referrers and commissions.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::model::ReferralInput;
use super::service::{self, Action, CaseFile};
use super::store::{self, ReferralRow};
use super::vocab::{
    AgeBand, Channel, ContactRoute, DeclineReason, EmergenceContext, ExploitationType, Gender, Status, Urgency,
};
use crate::auth::Access;
use crate::clock::rome_rfc3339;
use crate::config::Settings;
use crate::domain::{Role, SourceKind};
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
    pub audition_date: String,
    pub commission: Option<Named>,
    pub section: Option<String>,
    pub collected_by: Option<String>,
    pub scope: String,
    pub contact_route: Option<ContactRoute>,
    pub contact_detail: Option<String>,
    pub withdrawn_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub at: String,
    pub actor: Option<String>,
    pub kind: String,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FeedbackView {
    pub at: String,
    pub body: String,
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
    pub received_at: String,
    pub urgency: Urgency,
    pub person: PersonView,
    /// ISTAT province code.
    pub emergence_province: Option<String>,
    pub emergence_context: Option<EmergenceContext>,
    pub exploitation_types: Vec<ExploitationType>,
    pub indicators: Vec<String>,
    pub indicators_version: Option<String>,
    pub notes: Option<String>,
    pub interview_joint: Option<bool>,
    pub consent: Option<ConsentView>,
    pub assigned_operator: Option<Named>,
    pub proposed_mediator: Option<Named>,
    pub acknowledged_at: Option<String>,
    pub escalated_at: Option<String>,
    /// When the unit must act (acknowledge an emergency, take an ordinary referral in charge).
    pub deadline: String,
    pub overdue: bool,
    pub decided_at: Option<String>,
    pub decline_reason: Option<DeclineReason>,
    /// For the unit only: never shown to the referrer.
    pub decision_note: Option<String>,
    pub duplicate_of: Option<i64>,
    pub history: Vec<EventView>,
    pub feedback: Vec<FeedbackView>,
    pub version: i64,
}

fn named(file: &CaseFile, kind: char, id: Option<i64>) -> Option<Named> {
    id.map(|id| Named {
        id,
        name: file.names.get(&(kind, id)).cloned().unwrap_or_default(),
    })
}

impl ReferralView {
    pub fn new(file: &CaseFile, settings: &Settings, now: chrono::NaiveDateTime) -> ReferralView {
        let r = &file.referral;
        let p = &file.person;
        ReferralView {
            id: r.id,
            reference: r.reference.clone(),
            status: r.status(),
            channel: Channel::parse(&r.channel).unwrap_or(Channel::Hotline),
            source_kind: r.source(),
            referring_org: named(file, 'o', r.referring_org_id),
            referrer_contact: p.referrer_contact.clone(),
            received_at: rome_rfc3339(r.received_at),
            urgency: r.urgency(),
            person: PersonView {
                alias: p.alias.clone(),
                gender: Gender::parse(&r.person_gender).unwrap_or(Gender::Unknown),
                age: p.age,
                age_band: r.person_age_band.as_deref().and_then(AgeBand::parse),
                nationality: p.nationality.clone(),
                minor: r.person_minor,
                languages: p
                    .languages
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                hosted_by: named(file, 'o', r.hosted_org_id),
            },
            emergence_province: r.emergence_province.clone(),
            emergence_context: r.emergence_context.as_deref().and_then(EmergenceContext::parse),
            exploitation_types: r.exploitation(),
            indicators: r.indicator_ids(),
            indicators_version: r.indicators_version.clone(),
            notes: p.notes.clone(),
            interview_joint: r.interview_joint,
            consent: file.consent.as_ref().map(|c| ConsentView {
                audition_date: c.audition_date.to_string(),
                commission: named(file, 'o', Some(c.commission_org_id)),
                section: c.section.clone(),
                collected_by: c.collected_by.clone(),
                scope: c.scope.clone(),
                contact_route: ContactRoute::parse(&c.contact_route),
                contact_detail: c.contact_detail.clone(),
                withdrawn_at: c.withdrawn_at.map(rome_rfc3339),
            }),
            assigned_operator: named(file, 'u', r.assigned_operator_id),
            proposed_mediator: named(file, 'u', r.proposed_mediator_id),
            acknowledged_at: r.acknowledged_at.map(rome_rfc3339),
            escalated_at: r.escalated_at.map(rome_rfc3339),
            deadline: rome_rfc3339(r.deadline(settings)),
            overdue: r.is_overdue(now, settings),
            decided_at: r.decided_at.map(rome_rfc3339),
            decline_reason: r.decline_reason.as_deref().and_then(DeclineReason::parse),
            decision_note: p.decision_note.clone(),
            duplicate_of: r.duplicate_of,
            history: file
                .events
                .iter()
                .map(|e| EventView {
                    at: rome_rfc3339(e.at),
                    actor: e.actor_label.clone(),
                    kind: e.kind.clone(),
                    // Routing records people by id; the unit reads their names.
                    detail: e.detail.as_deref().map(|d| {
                        d.strip_prefix("user ")
                            .and_then(|id| id.parse::<i64>().ok())
                            .and_then(|id| file.names.get(&('u', id)).cloned())
                            .unwrap_or_else(|| d.to_owned())
                    }),
                })
                .collect(),
            feedback: file
                .feedback
                .iter()
                .map(|f| FeedbackView {
                    at: rome_rfc3339(f.at),
                    body: f.body.clone(),
                })
                .collect(),
            version: r.version,
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
    pub received_at: String,
    pub decided_at: Option<String>,
    pub decline_reason: Option<DeclineReason>,
    pub consent_withdrawn: bool,
    pub feedback: Vec<FeedbackView>,
    pub version: i64,
}

impl OutsideView {
    pub fn new(r: &ReferralRow, feedback: &[store::FeedbackRow]) -> OutsideView {
        OutsideView {
            id: r.id,
            reference: r.reference.clone(),
            status: r.status(),
            received_at: rome_rfc3339(r.received_at),
            decided_at: r.decided_at.map(rome_rfc3339),
            decline_reason: r.decline_reason.as_deref().and_then(DeclineReason::parse),
            consent_withdrawn: r.status() == Status::Restricted,
            feedback: feedback
                .iter()
                .map(|f| FeedbackView {
                    at: rome_rfc3339(f.at),
                    body: f.body.clone(),
                })
                .collect(),
            version: r.version,
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
    pub received_at: String,
    pub assigned_operator_id: Option<i64>,
    pub acknowledged: bool,
    pub overdue: bool,
    pub decline_reason: Option<DeclineReason>,
    pub version: i64,
}

impl ReferralSummary {
    pub fn new(r: &ReferralRow, settings: &Settings, now: chrono::NaiveDateTime) -> ReferralSummary {
        ReferralSummary {
            id: r.id,
            reference: r.reference.clone(),
            status: r.status(),
            urgency: r.urgency(),
            source_kind: r.source(),
            received_at: rome_rfc3339(r.received_at),
            assigned_operator_id: r.assigned_operator_id,
            acknowledged: r.acknowledged_at.is_some(),
            overdue: r.is_overdue(now, settings),
            decline_reason: r.decline_reason.as_deref().and_then(DeclineReason::parse),
            version: r.version,
        }
    }
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
    responses((status = 201, body = ReferralView, description = "created (the unit's view; outsiders get OutsideView)"),
        (status = 200, description = "a retry with the same Idempotency-Key: the referral created first"),
        (status = 400, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create(ctx: Ctx, req: HttpRequest, body: ApiJson<ReferralInput>) -> Result<HttpResponse, AppError> {
    let created = service::create(&ctx.state, &ctx.caller(), body.0, idempotency_key(&req)).await?;
    let r = created.referral;
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let location = Some(format!("/api/v1/referrals/{}", r.id));
    if is_outsider(&ctx) {
        return Ok(versioned(status, &OutsideView::new(&r, &[]), r.version, location));
    }
    Ok(versioned(
        status,
        &ReferralSummary::new(&r, &ctx.state.settings, ctx.now),
        r.version,
        location,
    ))
}

/// List filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub urgency: Option<Urgency>,
    /// Only referrals older than this id (paging).
    pub before: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

/// Referrals, newest first: all of them for the unit, those proposed to a mediator, a referring
/// organisation's own for referrers and commissions (outside view).
#[utoipa::path(get, path = "/api/v1/referrals", tag = "referrals", params(ListQuery),
    responses((status = 200, body = [ReferralSummary]), (status = 403, body = Problem)),
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
    if is_outsider(&ctx) {
        let views: Vec<OutsideView> = rows.iter().map(|r| OutsideView::new(r, &[])).collect();
        return Ok(HttpResponse::Ok().json(views));
    }
    let views: Vec<ReferralSummary> = rows
        .iter()
        .map(|r| ReferralSummary::new(r, &ctx.state.settings, ctx.now))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// One referral: the case file for the unit, the outside view for its referrer or commission.
#[utoipa::path(get, path = "/api/v1/referrals/{id}", tag = "referrals", params(("id" = i64, Path)),
    responses((status = 200, body = ReferralView), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    let file = service::read(&ctx.state, &ctx.caller(), id.0).await?;
    let v = file.referral.version;
    if is_outsider(&ctx) {
        return Ok(versioned(
            StatusCode::OK,
            &OutsideView::new(&file.referral, &file.feedback),
            v,
            None,
        ));
    }
    Ok(versioned(
        StatusCode::OK,
        &ReferralView::new(&file, &ctx.state.settings, ctx.now),
        v,
        None,
    ))
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
    /// With reason `duplicate`: the referral this one duplicates.
    pub duplicate_of: Option<i64>,
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
    id: i64,
    version: Option<i64>,
    action: Action,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(req, version)?;
    let row = service::act(&ctx.state, &ctx.caller(), id, expected, action).await?;
    let body = if is_outsider(ctx) {
        serde_json::to_value(OutsideView::new(&row, &[]))
    } else {
        serde_json::to_value(ReferralSummary::new(&row, &ctx.state.settings, ctx.now))
    }
    .map_err(AppError::internal)?;
    Ok(versioned(StatusCode::OK, &body, row.version, None))
}

/// The operator on duty has seen the emergency: the escalation clock stops.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/acknowledge", tag = "referrals", params(("id" = i64, Path)),
    request_body = VersionOnly, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn acknowledge(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    respond_action(&ctx, &req, id.0, body.0.version, Action::Acknowledge).await
}

/// The unit takes the referral in charge; the referrer is told.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/take-charge", tag = "referrals", params(("id" = i64, Path)),
    request_body = VersionOnly, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn take_charge(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    respond_action(&ctx, &req, id.0, body.0.version, Action::TakeCharge).await
}

/// The unit declines with a reason; the referrer sees the reason, never the note.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/decline", tag = "referrals", params(("id" = i64, Path)),
    request_body = DeclineInput, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn decline(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId,
    body: ApiJson<DeclineInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let action = Action::Decline {
        reason: b.reason,
        note: b.note.filter(|n| !n.trim().is_empty()),
        duplicate_of: b.duplicate_of,
    };
    respond_action(&ctx, &req, id.0, b.version, action).await
}

/// Written feedback to the referrer or commission (they are notified; the email has no content).
#[utoipa::path(post, path = "/api/v1/referrals/{id}/feedback", tag = "referrals", params(("id" = i64, Path)),
    request_body = FeedbackInput, responses((status = 200, body = ReferralSummary), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn feedback(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId,
    body: ApiJson<FeedbackInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    respond_action(&ctx, &req, id.0, b.version, Action::Feedback(b.body)).await
}

/// The person withdrew consent: restricted at once, personal fields erased, the commission told.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/consent/withdraw", tag = "referrals", params(("id" = i64, Path)),
    request_body = VersionOnly, responses((status = 200, body = OutsideView), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn withdraw_consent(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    respond_action(&ctx, &req, id.0, body.0.version, Action::WithdrawConsent).await
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
    responses((status = 201, body = DraftCreated), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn import_draft(
    ctx: Ctx,
    req: HttpRequest,
    body: actix_web::web::Bytes,
) -> Result<HttpResponse, AppError> {
    let is_message = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("message/rfc822"));
    if !is_message {
        return Err(AppError::UnsupportedMediaType);
    }
    let name = req
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("message.eml")
        .to_owned();
    let mut outcome = service::import_files(&ctx.state, &ctx.caller(), vec![(name, body.to_vec())]).await?;
    match outcome.pop().map(|o| o.result) {
        Some(Ok((id, reference))) => Ok(HttpResponse::Created()
            .insert_header((actix_web::http::header::LOCATION, format!("/api/v1/referrals/{id}")))
            .json(DraftCreated {
                id,
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
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "the draft's version")),
    responses((status = 200, body = ReferralSummary), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn confirm(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId,
    body: ApiJson<ReferralInput>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, None)?;
    let row = service::confirm(&ctx.state, &ctx.caller(), id.0, expected, body.0).await?;
    Ok(versioned(
        StatusCode::OK,
        &ReferralSummary::new(&row, &ctx.state.settings, ctx.now),
        row.version,
        None,
    ))
}
