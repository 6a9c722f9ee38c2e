//! The unit's pages about persons: the possible matches of a referral (with the reason per field
//! and the buttons to confirm or reject each) and a person's journey across channels.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use super::api::{CandidateList, JourneyView};
use super::model::Decision;
use super::service;
use crate::domain::{PersonId, ReferralId};
use crate::error::AppError;
use crate::web::i18n::message;
use crate::web::page::{pairs, redirect_with_flash, render, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef};

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/referrals/{id}/matches", super::api::UNIT, matches),
        RouteDef::new(Method::POST, "/referrals/{id}/matches", super::api::UNIT, decide),
        RouteDef::new(Method::GET, "/persons/{id}", super::api::UNIT, person),
    ]
}

#[derive(Template)]
#[template(path = "persons/matches.html")]
struct MatchesPage {
    page: Page,
    list: CandidateList,
    form: Form,
}

async fn matches_page(ctx: &Ctx, id: ReferralId, form: Form, status: StatusCode) -> Result<HttpResponse, AppError> {
    let found = service::candidates(&ctx.state, &ctx.caller(), id).await?;
    let tpl = MatchesPage {
        page: Page::new(ctx, "persons.matches_title"),
        list: CandidateList::new(&found),
        form,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn matches(ctx: Ctx, id: PathId<ReferralId>) -> Result<HttpResponse, AppError> {
    matches_page(&ctx, id.0, Form::default(), StatusCode::OK).await
}

/// Confirm, reject or undo: `person_id` and `decision` (`confirmed`, `rejected`, `unlinked`).
async fn decide(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let mut form = Form::from_pairs(&pairs);
    let person = form.v("person_id").trim().parse::<i64>().ok().map(PersonId);
    let decision = Decision::parse(form.v("decision"));
    let (Some(person), Some(decision)) = (person, decision) else {
        form.general = Some(message(ctx.lang, "the form is incomplete: reload the page"));
        return matches_page(&ctx, id.0, form, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let (state, caller) = (&ctx.state, ctx.caller());
    let result = match decision {
        Decision::Confirmed => service::link(state, &caller, person, id.0).await,
        Decision::Rejected => service::reject(state, &caller, person, id.0).await,
        Decision::Unlinked => service::unlink(state, &caller, person, id.0).await,
    };
    if result.is_ok() && decision != Decision::Rejected {
        crate::casework::service::follow_person(state, &caller, id.0).await?;
    }
    match result {
        Ok(o) => {
            let flash = match decision {
                Decision::Confirmed => "flash.person_linked",
                Decision::Rejected => "flash.person_rejected",
                Decision::Unlinked => "flash.person_unlinked",
            };
            let back = match decision {
                Decision::Confirmed => format!("/persons/{}", o.person_id),
                _ => format!("/referrals/{}/matches", id.0),
            };
            Ok(redirect_with_flash(&back, flash))
        }
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let status = if matches!(e, AppError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            form.absorb(&e, ctx.lang);
            matches_page(&ctx, id.0, form, status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "persons/person.html")]
struct PersonPage {
    page: Page,
    j: JourneyView,
}

async fn person(ctx: Ctx, id: PathId<PersonId>) -> Result<HttpResponse, AppError> {
    let j = service::journey(&ctx.state, &ctx.caller(), id.0).await?;
    let tpl = PersonPage {
        page: Page::new(&ctx, "persons.person_title"),
        j: JourneyView::new(&j)?,
    };
    render(&tpl.page, &tpl)
}
