//! The roster page: who is on now, the gaps ahead, the shifts of the week; coordinators add and
//! remove shifts.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::model::{Duty, RosterView, ShiftInput, ShiftMode};
use super::service;
use crate::accounts::users::UserRow;
use crate::auth::Access;
use crate::domain::{Role, ShiftId, UserId};
use crate::error::AppError;
use crate::web::page::{pairs, redirect_with_flash, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef};

const STAFF: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Mediator]);
const COORDINATOR: Access = Access::Roles(&[Role::Coordinator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/roster", STAFF, roster_page),
        RouteDef::new(Method::POST, "/roster/shifts", COORDINATOR, shift_submit),
        RouteDef::new(Method::POST, "/roster/shifts/{id}/delete", COORDINATOR, shift_delete),
    ]
}

#[derive(Template)]
#[template(path = "roster/index.html")]
struct RosterPage {
    page: Page,
    form: Form,
    roster: RosterView,
    can_edit: bool,
    staff: Vec<UserRow>,
    duties: &'static [Duty],
    modes: &'static [ShiftMode],
}

async fn roster_render(ctx: &Ctx, req_query: &str, form: Form, status: StatusCode) -> Result<HttpResponse, AppError> {
    #[derive(serde::Deserialize)]
    struct Q {
        from: Option<chrono::NaiveDate>,
        days: Option<i64>,
    }
    let q: Q = crate::web::extract::parse_query(req_query).unwrap_or(Q { from: None, days: None });
    let roster = service::view(&ctx.state, &ctx.caller(), q.from, q.days).await?;
    let can_edit = ctx.user()?.role == Role::Coordinator;
    let staff = if can_edit {
        service::staff(&ctx.state).await?
    } else {
        Vec::new()
    };
    let tpl = RosterPage {
        page: Page::new(ctx, "roster.title"),
        form,
        roster,
        can_edit,
        staff,
        duties: Duty::ALL,
        modes: ShiftMode::ALL,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn roster_page(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set("mode", "on_duty");
    roster_render(&ctx, req.query_string(), form, StatusCode::OK).await
}

async fn shift_submit(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let mut form = Form::from_pairs(&pairs(&body)?);
    let input = ShiftInput {
        user_id: form.v("user_id").trim().parse().ok().map(UserId),
        duty: form.v("duty").to_owned(),
        mode: form.v("mode").to_owned(),
        starts_at: form.v("starts_at").to_owned(),
        ends_at: form.v("ends_at").to_owned(),
    };
    match service::add_shift(&ctx.state, &ctx.caller(), input).await {
        Ok(_) => Ok(redirect_with_flash("/roster", "flash.shift_added")),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            form.absorb(&e, ctx.lang);
            roster_render(&ctx, "", form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

async fn shift_delete(ctx: Ctx, id: PathId, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = crate::web::page::pairs(&body)?;
    if !crate::web::page::confirmed(&form) {
        let what = crate::web::page::Confirmation {
            heading: "confirm.shift_title",
            intro: "confirm.shift_intro",
            lost: &["confirm.shift_lost_cover", "confirm.irreversible"],
            yes: "confirm.shift_yes",
        };
        let action = format!("/roster/shifts/{}/delete", id.0);
        return crate::web::page::confirm_page(&ctx, what, &action, &form, &[], "/roster");
    }
    service::remove_shift(&ctx.state, &ctx.caller(), ShiftId(id.0)).await?;
    Ok(redirect_with_flash("/roster", "flash.shift_removed"))
}
