//! The pages of written feedback: the letters of a case (`templates/feedback/section.html`, a
//! fragment the case page includes, also shown on its own at `/cases/{id}/feedback`), a letter
//! (`/cases/{id}/feedback/{sub}`: read, edit, approve, send after a confirmation), its PDF, and
//! the PDF for the recipient organisation from the portal (`/portal/feedback/{id}/pdf`).

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use super::service::{self, DraftInput, LetterFile};
use super::LetterStatus;
use crate::accounts::orgs;
use crate::auth::Access;
use crate::domain::{CaseId, LetterId, OrgId, OrgKind, Role, Version};
use crate::error::AppError;
use crate::web::page::{field, pairs, redirect_with_flash, render, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef, SubId};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const COORDINATORS: Access = Access::Roles(&[Role::Coordinator]);
const OUTSIDE: Access = Access::Roles(&[Role::Referrer, Role::Commission]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/cases/{id}/feedback", UNIT, section_page),
        RouteDef::new(Method::POST, "/cases/{id}/feedback", UNIT, draft_submit),
        RouteDef::new(Method::GET, "/cases/{id}/feedback/{sub}", UNIT, letter_page),
        RouteDef::new(Method::POST, "/cases/{id}/feedback/{sub}/edit", UNIT, edit_submit),
        RouteDef::new(
            Method::POST,
            "/cases/{id}/feedback/{sub}/approve",
            COORDINATORS,
            approve_submit,
        ),
        RouteDef::new(Method::POST, "/cases/{id}/feedback/{sub}/send", UNIT, send_submit),
        RouteDef::new(
            Method::POST,
            "/cases/{id}/feedback/{sub}/withdraw",
            Access::Roles(&[Role::Coordinator]),
            withdraw_submit,
        ),
        RouteDef::new(Method::GET, "/cases/{id}/feedback/{sub}/pdf", UNIT, unit_pdf),
        RouteDef::new(Method::GET, "/portal/feedback/{id}/pdf", OUTSIDE, portal_pdf),
    ]
}

/// What `templates/feedback/section.html` needs, as the field `feedback` of the including page
/// (beside `page`): build it with [`section`].
pub struct Section {
    pub case_id: CaseId,
    pub letters: Vec<LetterFile>,
    /// The territorial commissions, for a letter to one when the report came from elsewhere.
    pub commissions: Vec<(OrgId, String)>,
}

/// The letters of a case for its page (an audited read).
pub async fn section(ctx: &Ctx, case_id: CaseId) -> Result<Section, AppError> {
    let letters = service::list(&ctx.state, &ctx.caller(), case_id).await?;
    let commissions = ctx
        .state
        .db
        .read(orgs::list)
        .await?
        .into_iter()
        .filter(|o| o.kind == OrgKind::TerritorialCommission && o.active)
        .map(|o| (o.id, o.name))
        .collect();
    Ok(Section {
        case_id,
        letters,
        commissions,
    })
}

#[derive(Template)]
#[template(path = "feedback/index.html")]
struct SectionPage {
    page: Page,
    feedback: Section,
    form: Form,
}

async fn section_page(ctx: Ctx, id: PathId<CaseId>) -> Result<HttpResponse, AppError> {
    let tpl = SectionPage {
        page: Page::new(&ctx, "feedback.title"),
        feedback: section(&ctx, id.0).await?,
        form: Form::default(),
    };
    render(&tpl.page, &tpl)
}

async fn draft_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = pairs(&body)?;
    let commission = field(&form, "commission_org_id")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<i64>()
                .map(OrgId)
                .map_err(|_| AppError::bad_request("commission_org_id", "must be a number"))
        })
        .transpose()?;
    let input = DraftInput {
        referral_id: None,
        commission_org_id: commission,
    };
    match service::draft(&ctx.state, &ctx.caller(), id.0, input).await {
        Ok(files) => {
            let to = match files.first() {
                Some(f) => format!("/cases/{}/feedback/{}", id.0, f.letter.row.id),
                None => format!("/cases/{}/feedback", id.0),
            };
            Ok(redirect_with_flash(&to, "flash.feedback_drafted"))
        }
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let mut form = Form::default();
            form.absorb(&e, ctx.lang);
            let status = match e {
                AppError::Conflict(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let tpl = SectionPage {
                page: Page::new(&ctx, "feedback.title"),
                feedback: section(&ctx, id.0).await?,
                form,
            };
            render_status(&tpl.page, status, &tpl)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "feedback/letter.html")]
struct LetterPage {
    page: Page,
    form: Form,
    f: LetterFile,
    is_coordinator: bool,
    /// The coordinator may approve (not the last editor).
    may_approve: bool,
}

async fn letter_view(
    ctx: &Ctx,
    case_id: CaseId,
    id: LetterId,
    form: Form,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let f = service::get(&ctx.state, &ctx.caller(), case_id, id).await?;
    let is_coordinator = ctx.user()?.role == Role::Coordinator;
    let may_approve = is_coordinator
        && f.letter.row.status == LetterStatus::Draft
        && !(f.letter.row.edited_by.is_some() && f.letter.row.edited_by == ctx.caller().user_id());
    let tpl = LetterPage {
        page: Page::new(ctx, "feedback.letter"),
        form,
        f,
        is_coordinator,
        may_approve,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn letter_page(ctx: Ctx, id: PathId<CaseId>, sub: SubId<LetterId>) -> Result<HttpResponse, AppError> {
    letter_view(&ctx, id.0, sub.0, Form::default(), StatusCode::OK).await
}

/// The version a form carries, or the form again with a general error.
fn version_of(form: &[(String, String)]) -> Option<Version> {
    field(form, "version").and_then(|v| v.trim().parse::<Version>().ok())
}

/// Runs a letter action from a form: on success back to the letter with a flash, on a refused
/// input or a conflict the letter again with the error and what was typed.
async fn act(
    ctx: &Ctx,
    case_id: CaseId,
    id: LetterId,
    form: &[(String, String)],
    flash: &str,
    run: impl std::future::Future<Output = Result<LetterFile, AppError>>,
) -> Result<HttpResponse, AppError> {
    let back = format!("/cases/{case_id}/feedback/{id}");
    match run.await {
        Ok(_) => Ok(redirect_with_flash(&back, flash)),
        Err(
            e @ (AppError::Invalid(_)
            | AppError::StaleVersion { .. }
            | AppError::IllegalTransition { .. }
            | AppError::Conflict(_)),
        ) => {
            let mut f = Form::from_pairs(form);
            f.absorb(&e, ctx.lang);
            if matches!(e, AppError::IllegalTransition { .. }) {
                f.general = Some(crate::web::i18n::t(ctx.lang, "feedback.illegal").to_owned());
            }
            let status = match e {
                AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            letter_view(ctx, case_id, id, f, status).await
        }
        Err(e) => Err(e),
    }
}

fn missing_version(ctx: &Ctx) -> AppError {
    let _ = ctx;
    AppError::invalid("version", "the form is missing its version: reload the page")
}

async fn edit_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = pairs(&body)?;
    let Some(v) = version_of(&form) else {
        return act(&ctx, id.0, sub.0, &form, "", async { Err(missing_version(&ctx)) }).await;
    };
    let text = field(&form, "body").unwrap_or_default().to_owned();
    let (state, caller) = (ctx.state.clone(), ctx.caller());
    act(&ctx, id.0, sub.0, &form, "flash.feedback_saved", async move {
        service::edit(&state, &caller, id.0, sub.0, v, text).await
    })
    .await
}

async fn approve_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = pairs(&body)?;
    let Some(v) = version_of(&form) else {
        return act(&ctx, id.0, sub.0, &form, "", async { Err(missing_version(&ctx)) }).await;
    };
    let (state, caller) = (ctx.state.clone(), ctx.caller());
    act(&ctx, id.0, sub.0, &form, "flash.feedback_approved", async move {
        service::approve(&state, &caller, id.0, sub.0, v).await
    })
    .await
}

/// Sending cannot be undone: asked first.
const SENDING: crate::web::page::Confirmation = crate::web::page::Confirmation {
    heading: "confirm.feedback_send_title",
    intro: "confirm.feedback_send_intro",
    lost: &[
        "confirm.feedback_send_email",
        "confirm.feedback_send_case",
        "confirm.irreversible",
    ],
    yes: "confirm.feedback_send_yes",
};

async fn send_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = pairs(&body)?;
    let back = format!("/cases/{}/feedback/{}", id.0, sub.0);
    if !crate::web::page::confirmed(&form) {
        let action = format!("/cases/{}/feedback/{}/send", id.0, sub.0);
        return crate::web::page::confirm_page(&ctx, SENDING, &action, &form, &["version"], &back);
    }
    let Some(v) = version_of(&form) else {
        return act(&ctx, id.0, sub.0, &form, "", async { Err(missing_version(&ctx)) }).await;
    };
    let (state, caller) = (ctx.state.clone(), ctx.caller());
    act(&ctx, id.0, sub.0, &form, "flash.feedback_sent_pec", async move {
        service::send(&state, &caller, id.0, sub.0, v).await
    })
    .await
}

/// Taking an approval back drops the PDF: asked first.
const WITHDRAWING: crate::web::page::Confirmation = crate::web::page::Confirmation {
    heading: "confirm.feedback_withdraw_title",
    intro: "confirm.feedback_withdraw_intro",
    lost: &["confirm.feedback_withdraw_pdf", "confirm.feedback_withdraw_again"],
    yes: "confirm.feedback_withdraw_yes",
};

async fn withdraw_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<LetterId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = pairs(&body)?;
    let back = format!("/cases/{}/feedback/{}", id.0, sub.0);
    if !crate::web::page::confirmed(&form) {
        let action = format!("/cases/{}/feedback/{}/withdraw", id.0, sub.0);
        return crate::web::page::confirm_page(&ctx, WITHDRAWING, &action, &form, &["version"], &back);
    }
    let Some(v) = version_of(&form) else {
        return act(&ctx, id.0, sub.0, &form, "", async { Err(missing_version(&ctx)) }).await;
    };
    let (state, caller) = (ctx.state.clone(), ctx.caller());
    act(&ctx, id.0, sub.0, &form, "flash.feedback_withdrawn", async move {
        service::withdraw(&state, &caller, id.0, sub.0, v).await
    })
    .await
}

async fn unit_pdf(ctx: Ctx, id: PathId<CaseId>, sub: SubId<LetterId>) -> Result<HttpResponse, AppError> {
    let f = service::pdf_of(&ctx.state, &ctx.caller(), Some(id.0), sub.0).await?;
    Ok(super::api::pdf_response(f))
}

async fn portal_pdf(ctx: Ctx, id: PathId<LetterId>) -> Result<HttpResponse, AppError> {
    let f = service::pdf_of(&ctx.state, &ctx.caller(), None, id.0).await?;
    Ok(super::api::pdf_response(f))
}

/// A sent letter as the portal lists it (see `templates/referrals/portal_detail.html`).
pub use service::PortalLetter;

/// The letters about a referral addressed to the caller's organisation, for the portal.
pub async fn for_portal(ctx: &Ctx, referral: crate::domain::ReferralId) -> Result<Vec<PortalLetter>, AppError> {
    service::for_recipient(&ctx.state, &ctx.caller(), referral).await
}
