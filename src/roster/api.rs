//! `/api/v1/roster`: the on-call roster.

use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::model::{Duty, RosterView, ShiftInput, ShiftMode, ShiftView};
use super::service;
use crate::auth::Access;
use crate::domain::{Role, ShiftId, UserId};
use crate::error::{AppError, Problem};
use crate::web::{ApiJson, ApiQuery, Ctx, PathId, RouteDef};

const STAFF: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Mediator]);
const COORDINATOR: Access = Access::Roles(&[Role::Coordinator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/roster", STAFF, get_roster),
        RouteDef::new(Method::POST, "/api/v1/roster/shifts", COORDINATOR, create_shift),
        RouteDef::new(Method::DELETE, "/api/v1/roster/shifts/{id}", COORDINATOR, delete_shift),
    ]
}

/// Which days of the roster to show.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RosterQuery {
    /// First day (YYYY-MM-DD, Europe/Rome); default today.
    pub from: Option<NaiveDate>,
    /// Days to show, 1–31 (default 7).
    pub days: Option<i64>,
}

/// The roster: shifts of a period, who is on now, and the gaps ahead.
#[utoipa::path(get, path = "/api/v1/roster", tag = "roster", params(RosterQuery),
    responses((status = 200, body = RosterView), (status = 400, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get_roster(ctx: Ctx, q: ApiQuery<RosterQuery>) -> Result<web::Json<RosterView>, AppError> {
    Ok(web::Json(
        service::view(&ctx.state, &ctx.caller(), q.0.from, q.0.days).await?,
    ))
}

/// A new shift.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftBody {
    pub user_id: i64,
    pub duty: Duty,
    pub mode: ShiftMode,
    /// RFC 3339, or Europe/Rome local time (`2026-11-25T20:00`).
    pub starts_at: String,
    pub ends_at: String,
}

/// Adds a shift (coordinators).
#[utoipa::path(post, path = "/api/v1/roster/shifts", tag = "roster", request_body = ShiftBody,
    responses((status = 201, body = ShiftView), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create_shift(ctx: Ctx, body: ApiJson<ShiftBody>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let input = ShiftInput {
        user_id: Some(UserId(b.user_id)),
        duty: b.duty.as_str().into(),
        mode: b.mode.as_str().into(),
        starts_at: b.starts_at,
        ends_at: b.ends_at,
    };
    let view = service::add_shift(&ctx.state, &ctx.caller(), input).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Removes a shift (coordinators).
#[utoipa::path(delete, path = "/api/v1/roster/shifts/{id}", tag = "roster", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn delete_shift(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    service::remove_shift(&ctx.state, &ctx.caller(), ShiftId(id.0)).await?;
    Ok(HttpResponse::NoContent().finish())
}
