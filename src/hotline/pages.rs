//! The call log page: the last calls and the form to log one.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use super::model::{CallFilter, CallInput, CallOutcome, CallView, CallerKind};
use super::service;
use crate::auth::Access;
use crate::domain::territory::{Province, Region, PROVINCES, REGIONS};
use crate::domain::{Role, StationLanguage};
use crate::error::AppError;
use crate::protocols::Art18Project;
use crate::web::page::{pairs, redirect_with_flash, render_status, Form, Page};
use crate::web::{Ctx, RouteDef};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/hotline", UNIT, hotline_page),
        RouteDef::new(Method::POST, "/hotline", UNIT, hotline_submit),
    ]
}

#[derive(Template)]
#[template(path = "hotline/index.html")]
struct HotlinePage {
    page: Page,
    form: Form,
    calls: Vec<CallLine>,
    projects: Vec<Art18Project>,
    languages: &'static [StationLanguage],
    callers: &'static [CallerKind],
    outcomes: &'static [CallOutcome],
    regions: &'static [Region],
    provinces: &'static [Province],
}

/// A call as people read it: province and project by name.
struct CallLine {
    view: CallView,
    province: Option<String>,
    project: Option<String>,
}

async fn hotline_render(ctx: &Ctx, form: Form, status: StatusCode) -> Result<HttpResponse, AppError> {
    let filter = CallFilter {
        limit: Some(50),
        ..CallFilter::default()
    };
    let calls = service::calls(&ctx.state, filter).await?;
    let tpl = HotlinePage {
        page: Page::new(ctx, "hotline.title"),
        form,
        calls: calls
            .iter()
            .map(|c| CallLine {
                view: CallView::from(c),
                province: c.province.map(|p| format!("{} ({})", p.name, p.sigla)),
                project: c.diverted_project.as_ref().map(|id| {
                    ctx.state
                        .protocols
                        .projects
                        .iter()
                        .find(|p| &p.id == id)
                        .map_or_else(|| id.clone(), |p| p.name.clone())
                }),
            })
            .collect(),
        projects: ctx.state.protocols.projects.clone(),
        languages: StationLanguage::ALL,
        callers: CallerKind::ALL,
        outcomes: CallOutcome::ALL,
        regions: REGIONS,
        provinces: PROVINCES,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn hotline_page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set("language", "it");
    form.set("outcome", "information");
    // The form starts at now: most calls are logged as they end.
    form.set("started_at", crate::clock::rome_local_input(ctx.now));
    hotline_render(&ctx, form, StatusCode::OK).await
}

async fn hotline_submit(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let mut form = Form::from_pairs(&pairs(&body)?);
    let mut errors = Vec::new();
    let input = CallInput {
        started_at: form.opt("started_at"),
        duration_secs: duration(&form, &mut errors),
        language: form.choice("language", StationLanguage::parse, &mut errors),
        caller_kind: form.choice("caller_kind", CallerKind::parse, &mut errors),
        region: form.opt("region"),
        province: form.opt("province"),
        outcome: form.choice("outcome", CallOutcome::parse, &mut errors),
        diverted_project: form.opt("diverted_project"),
        referral_id: form.number("referral_id", &mut errors),
    };
    let result = if errors.is_empty() {
        service::record_call(&ctx.state, &ctx.caller(), input).await.map(|_| ())
    } else {
        // All errors in one round: the rules are checked on what could be read, too.
        if let Err(AppError::Invalid(rules)) = input.check(&ctx.state.protocols, ctx.now) {
            errors.extend(rules);
        }
        Err(AppError::Invalid(errors))
    };
    match result {
        Ok(()) => Ok(redirect_with_flash("/hotline", "flash.call_logged")),
        Err(AppError::Invalid(mut fields)) => {
            // The duration is typed as minutes and seconds.
            for f in &mut fields {
                if f.field == "duration_secs" {
                    f.field = "duration_min".into();
                }
            }
            form.absorb(&AppError::Invalid(fields), ctx.lang);
            hotline_render(&ctx, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

/// The duration typed as minutes and seconds (either may be left empty), in seconds.
fn duration(form: &Form, errors: &mut Vec<crate::error::FieldError>) -> Option<i32> {
    let minutes: Option<i32> = form.number("duration_min", errors);
    let seconds: Option<i32> = form.number("duration_sec", errors);
    if seconds.is_some_and(|s| !(0..60).contains(&s)) {
        errors.push(crate::error::FieldError::new(
            "duration_sec",
            "must be between 0 and 59",
        ));
        return None;
    }
    match (minutes, seconds) {
        (None, None) => None,
        (m, s) => Some(m.unwrap_or(0).saturating_mul(60).saturating_add(s.unwrap_or(0))),
    }
}
