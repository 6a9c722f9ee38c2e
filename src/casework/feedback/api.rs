//! `/api/v1/cases/{id}/feedback`: a case's written feedback letters, a sub-resource of the case.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::service::{self, DraftInput, LetterFile};
use super::{Delivery, LetterStatus, RecipientRole};
use crate::auth::Access;
use crate::clock::rome;
use crate::domain::{CaseId, LetterId, OrgId, ReferralId, Role};
use crate::error::{AppError, Problem};
use crate::referrals::api::{Named, VersionOnly};
use crate::web::json::versioned;
use crate::web::{expected_version, ApiJson, Ctx, PathId, RouteDef, SubId};

/// Operators and coordinators.
pub const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
/// Approval is a coordinator's.
pub const COORDINATORS: Access = Access::Roles(&[Role::Coordinator]);
/// The unit, and the recipient organisation's people (each sees only what is addressed to them).
pub const READERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Referrer, Role::Commission]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/cases/{id}/feedback", UNIT, list),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/feedback", UNIT, draft),
        RouteDef::new(Method::GET, "/api/v1/cases/{id}/feedback/{sub}", UNIT, get),
        RouteDef::new(Method::PUT, "/api/v1/cases/{id}/feedback/{sub}", UNIT, edit),
        RouteDef::new(
            Method::POST,
            "/api/v1/cases/{id}/feedback/{sub}/approve",
            COORDINATORS,
            approve,
        ),
        RouteDef::new(
            Method::POST,
            "/api/v1/cases/{id}/feedback/{sub}/withdraw",
            COORDINATORS,
            withdraw,
        ),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/feedback/{sub}/send", UNIT, send),
        RouteDef::new(Method::GET, "/api/v1/cases/{id}/feedback/{sub}/pdf", READERS, pdf),
    ]
}

/// A written feedback letter as the unit reads it.
#[derive(Serialize, ToSchema)]
pub struct FeedbackLetter {
    pub id: i64,
    /// `F-7K2M9QXH`, printed on the letter.
    pub reference: String,
    pub case_id: i64,
    /// The referral it answers.
    pub referral: Named,
    /// The organisation it is addressed to.
    pub recipient: Named,
    pub recipient_role: RecipientRole,
    pub status: LetterStatus,
    /// The text; absent once the case's personal data is erased.
    pub body: Option<String>,
    pub drafted_at: DateTime<FixedOffset>,
    pub drafted_by: Option<String>,
    /// Who last edited the text (not allowed to approve it).
    pub edited_by: Option<String>,
    pub approved_at: Option<DateTime<FixedOffset>>,
    pub approved_by: Option<String>,
    /// SHA-256 of the PDF (lower-case hex), fixed at approval.
    pub pdf_sha256: Option<String>,
    pub pdf_pages: Option<i32>,
    pub sent_at: Option<DateTime<FixedOffset>>,
    pub sent_by: Option<String>,
    /// The address it was sent to.
    pub sent_to: Option<String>,
    /// Where its email is: the outbox's state, then what PEC receipts said.
    pub delivery: Option<Delivery>,
    pub accepted_at: Option<DateTime<FixedOffset>>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    pub not_delivered_at: Option<DateTime<FixedOffset>>,
    pub version: i64,
}

impl FeedbackLetter {
    pub fn of(f: &LetterFile) -> FeedbackLetter {
        let r = &f.letter.row;
        FeedbackLetter {
            id: r.id.get(),
            reference: r.reference.clone(),
            case_id: r.case_id.get(),
            referral: Named {
                id: r.referral_id.get(),
                name: f.referral_reference.clone(),
            },
            recipient: Named {
                id: r.recipient_org_id.get(),
                name: f.recipient_name.clone(),
            },
            recipient_role: r.recipient_role,
            status: r.status,
            body: f.body.clone(),
            drafted_at: rome(r.drafted_at),
            drafted_by: f.drafted_by.clone(),
            edited_by: f.edited_by.clone(),
            approved_at: r.approved_at.map(rome),
            approved_by: f.approved_by.clone(),
            pdf_sha256: r.pdf_sha256.clone(),
            pdf_pages: r.pdf_pages,
            sent_at: r.sent_at.map(rome),
            sent_by: f.sent_by.clone(),
            sent_to: r.recipient_email.clone(),
            delivery: f.letter.delivery(),
            accepted_at: r.accepted_at.map(rome),
            delivered_at: r.delivered_at.map(rome),
            not_delivered_at: r.not_delivered_at.map(rome),
            version: r.version.get(),
        }
    }
}

/// What to draft: by default a letter to each recipient the source's procedure names
/// (`feedback_to`) about the case's first referral.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    /// The referral answered (one of the case's); default: the case's first.
    pub referral_id: Option<i64>,
    /// The territorial commission to write to when the procedure names the commission but the
    /// report came from someone else (a CAS, a prefecture); without it no letter goes to one.
    pub commission_org_id: Option<i64>,
}

/// A PEC receipt recorded by the email import against the letter it acknowledges.
#[derive(Serialize, ToSchema)]
pub struct ReceiptRecorded {
    /// The letter's reference (`F-…`).
    pub letter: String,
    /// The provider's kind of receipt (`accettazione`, `avvenuta-consegna`, `errore-consegna`, …).
    pub receipt: String,
    /// The letter's delivery state now.
    pub delivery: Delivery,
}

/// A draft's new text.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// The version read (or send `If-Match`).
    pub version: Option<i64>,
    pub body: String,
}

/// The letters of a case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/feedback", tag = "feedback", params(("id" = i64, Path, description = "the case")),
    operation_id = "list_feedback_letters",
    responses((status = 200, body = Vec<FeedbackLetter>)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list(ctx: Ctx, id: PathId<CaseId>) -> Result<HttpResponse, AppError> {
    let files = service::list(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(HttpResponse::Ok().json(files.iter().map(FeedbackLetter::of).collect::<Vec<_>>()))
}

/// Drafts a letter to each recipient of the referral's procedure that has none in progress, from
/// the template (the referral, its source, the interviews held; nothing sealed).
#[utoipa::path(post, path = "/api/v1/cases/{id}/feedback", tag = "feedback", params(("id" = i64, Path, description = "the case")),
    operation_id = "draft_feedback_letters", request_body = DraftRequest,
    responses((status = 201, body = Vec<FeedbackLetter>, description = "the drafts made"),
        (status = 409, body = Problem, description = "every recipient already has a letter in progress, or the case is closed")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn draft(ctx: Ctx, id: PathId<CaseId>, body: ApiJson<DraftRequest>) -> Result<HttpResponse, AppError> {
    let input = DraftInput {
        referral_id: body.0.referral_id.map(ReferralId),
        commission_org_id: body.0.commission_org_id.map(OrgId),
    };
    let files = service::draft(&ctx.state, &ctx.caller(), id.0, input).await?;
    Ok(HttpResponse::Created().json(files.iter().map(FeedbackLetter::of).collect::<Vec<_>>()))
}

/// One letter.
#[utoipa::path(get, path = "/api/v1/cases/{id}/feedback/{sub}", tag = "feedback",
    params(("id" = i64, Path, description = "the case"), ("sub" = i64, Path, description = "the letter")),
    operation_id = "get_feedback_letter",
    responses((status = 200, body = FeedbackLetter)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get(ctx: Ctx, id: PathId<CaseId>, sub: SubId<LetterId>) -> Result<HttpResponse, AppError> {
    let f = service::get(&ctx.state, &ctx.caller(), id.0, sub.0).await?;
    Ok(letter_ok(&f))
}

/// Replaces a draft's text (an approved or sent letter: 409 naming its state).
#[utoipa::path(put, path = "/api/v1/cases/{id}/feedback/{sub}", tag = "feedback",
    params(("id" = i64, Path, description = "the case"), ("sub" = i64, Path, description = "the letter")),
    operation_id = "edit_feedback_letter", request_body = EditRequest,
    responses((status = 200, body = FeedbackLetter)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn edit(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: ApiJson<EditRequest>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    let f = service::edit(&ctx.state, &ctx.caller(), id.0, sub.0, expected, body.0.body).await?;
    Ok(letter_ok(&f))
}

/// A letter as the answer of a change: 200 with its version as `ETag`.
fn letter_ok(f: &service::LetterFile) -> HttpResponse {
    versioned(StatusCode::OK, &FeedbackLetter::of(f), f.letter.row.version, None)
}

/// A coordinator approves a draft (not one they last edited): the PDF is rendered once and kept
/// with its SHA-256; it never changes after.
#[utoipa::path(post, path = "/api/v1/cases/{id}/feedback/{sub}/approve", tag = "feedback",
    params(("id" = i64, Path, description = "the case"), ("sub" = i64, Path, description = "the letter")),
    operation_id = "approve_feedback_letter", request_body = VersionOnly,
    responses((status = 200, body = FeedbackLetter)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn approve(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    let f = service::approve(&ctx.state, &ctx.caller(), id.0, sub.0, expected).await?;
    Ok(letter_ok(&f))
}

/// A coordinator takes an approval back before the letter is sent: the PDF is dropped and the
/// letter is a draft again (409 once sent).
#[utoipa::path(post, path = "/api/v1/cases/{id}/feedback/{sub}/withdraw", tag = "feedback",
    params(("id" = i64, Path, description = "the case"), ("sub" = i64, Path, description = "the letter")),
    operation_id = "withdraw_feedback_approval", request_body = VersionOnly,
    responses((status = 200, body = FeedbackLetter)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn withdraw(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    let f = service::withdraw(&ctx.state, &ctx.caller(), id.0, sub.0, expected).await?;
    Ok(letter_ok(&f))
}

/// Sends an approved letter by (certified) email with its PDF attached, and moves the case to
/// `feedback_sent` (it must have reached `outcome_decided`; otherwise 409 names the case's state
/// and `send_feedback`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/feedback/{sub}/send", tag = "feedback",
    params(("id" = i64, Path, description = "the case"), ("sub" = i64, Path, description = "the letter")),
    operation_id = "send_feedback_letter", request_body = VersionOnly,
    responses((status = 200, body = FeedbackLetter)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn send(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: ApiJson<VersionOnly>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    let f = service::send(&ctx.state, &ctx.caller(), id.0, sub.0, expected).await?;
    Ok(letter_ok(&f))
}

/// The letter's PDF, as approved: for the unit once approved, for the recipient organisation once
/// sent (anyone else: 404). Its SHA-256 is `pdf_sha256` of the letter.
#[utoipa::path(get, path = "/api/v1/cases/{id}/feedback/{sub}/pdf", tag = "feedback",
    params(("id" = i64, Path, description = "the case"), ("sub" = i64, Path, description = "the letter")),
    operation_id = "get_feedback_pdf",
    responses((status = 200, content_type = "application/pdf", body = String, description = "the PDF")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn pdf(ctx: Ctx, id: PathId<CaseId>, sub: SubId<LetterId>) -> Result<HttpResponse, AppError> {
    let f = service::pdf_of(&ctx.state, &ctx.caller(), Some(id.0), sub.0).await?;
    Ok(pdf_response(f))
}

/// A PDF answer: inline, named after the letter, never cached by shared caches.
pub fn pdf_response(f: service::PdfFile) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"riscontro-{}.pdf\"", f.reference),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(f.bytes)
}
