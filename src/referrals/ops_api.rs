//! `/api/v1/hotline/calls` and `/api/v1/roster`: the central station's log and the on-call roster.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::hotline::{self, CallFilter, CallInput, CallView};
use super::roster::{self, Gap, ShiftInput, ShiftView};
use super::vocab::{Duty, ShiftMode};
use crate::audit::{self, Event};
use crate::auth::Access;
use crate::clock::ROME;
use crate::domain::Role;
use crate::error::{AppError, Problem};
use crate::web::{ApiJson, ApiQuery, Ctx, PathId, RouteDef};

const STAFF: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Mediator]);
const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const COORDINATOR: Access = Access::Roles(&[Role::Coordinator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/hotline/calls", UNIT, list_calls),
        RouteDef::new(Method::POST, "/api/v1/hotline/calls", UNIT, create_call),
        RouteDef::new(Method::GET, "/api/v1/roster", STAFF, get_roster),
        RouteDef::new(Method::POST, "/api/v1/roster/shifts", COORDINATOR, create_shift),
        RouteDef::new(Method::DELETE, "/api/v1/roster/shifts/{id}", COORDINATOR, delete_shift),
    ]
}

/// Logs a call to 800 290 290 (every call, referral or not).
#[utoipa::path(post, path = "/api/v1/hotline/calls", tag = "hotline", request_body = CallInput,
    responses((status = 201, body = CallView), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create_call(ctx: Ctx, body: ApiJson<CallInput>) -> Result<HttpResponse, AppError> {
    let call = body.0.check(&ctx.state.protocols, ctx.now)?;
    let row = record_call(&ctx, call).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(CallView::from(&row)))
}

/// Stores a call with its audit entry (shared with the page).
pub async fn record_call(ctx: &Ctx, call: hotline::NewCall) -> Result<hotline::CallRow, AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    let operator = ctx.user()?.user_id();
    ctx.state
        .db
        .write(move |conn| {
            let row = hotline::insert(conn, &call, operator, now)?;
            audit::record(
                conn,
                &who,
                now,
                Event::new("hotline.call").entity("hotline_call", row.id),
            )?;
            Ok(row)
        })
        .await
}

/// The call log, newest first.
#[utoipa::path(get, path = "/api/v1/hotline/calls", tag = "hotline", params(CallFilter),
    responses((status = 200, body = [CallView]), (status = 400, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list_calls(ctx: Ctx, q: ApiQuery<CallFilter>) -> Result<web::Json<Vec<CallView>>, AppError> {
    let f = q.0;
    let rows = ctx.state.db.read(move |c| hotline::list(c, &f)).await?;
    Ok(web::Json(rows.iter().map(CallView::from).collect()))
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

/// The roster of a period: shifts, who covers each duty now, and the gaps to fill.
#[derive(Serialize, ToSchema)]
pub struct RosterView {
    pub from: String,
    pub to: String,
    pub shifts: Vec<ShiftView>,
    /// On duty or on call right now, by duty.
    pub now: Vec<ShiftView>,
    /// Stretches with no operator or no coordinator.
    pub gaps: Vec<Gap>,
}

/// Builds the roster view (shared with the page; an audited read: it names staff).
pub async fn roster_view(ctx: &Ctx, from: Option<NaiveDate>, days: Option<i64>) -> Result<RosterView, AppError> {
    let days = days.unwrap_or(7);
    if !(1..=31).contains(&days) {
        return Err(AppError::bad_request("days", "must be between 1 and 31"));
    }
    let now = ctx.now;
    let today = now.and_utc().with_timezone(&ROME).date_naive();
    let first = from.unwrap_or(today);
    let start = ROME
        .from_local_datetime(&first.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(now);
    // A view starting today starts now: past hours are not gaps to fill.
    let start = if first == today { now.max(start) } else { start };
    let end_day = first + Duration::days(days);
    let end = ROME
        .from_local_datetime(&end_day.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(start + Duration::days(days));
    let (who, at) = (ctx.who(), ctx.now);
    ctx.state
        .db
        .write(move |conn| {
            let shifts = roster::between(conn, start, end)?;
            let mut current = Vec::new();
            for duty in Duty::ALL {
                current.extend(
                    roster::covering(conn, *duty, now)?
                        .iter()
                        .map(|(s, u)| ShiftView::new(s, u)),
                );
            }
            let mut gaps = roster::gaps(conn, Duty::Operator, start, end)?;
            gaps.extend(roster::gaps(conn, Duty::Coordinator, start, end)?);
            audit::record(conn, &who, at, Event::new("roster.read"))?;
            Ok(RosterView {
                from: crate::clock::rome_rfc3339(start),
                to: crate::clock::rome_rfc3339(end),
                shifts: shifts.iter().map(|(s, u)| ShiftView::new(s, u)).collect(),
                now: current,
                gaps,
            })
        })
        .await
}

/// The roster: shifts of a period, who is on now, and the gaps ahead.
#[utoipa::path(get, path = "/api/v1/roster", tag = "roster", params(RosterQuery),
    responses((status = 200, body = RosterView), (status = 400, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get_roster(ctx: Ctx, q: ApiQuery<RosterQuery>) -> Result<web::Json<RosterView>, AppError> {
    Ok(web::Json(roster_view(&ctx, q.0.from, q.0.days).await?))
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

/// Stores a shift with its audit entry (shared with the page).
pub async fn add_shift(ctx: &Ctx, input: ShiftInput) -> Result<ShiftView, AppError> {
    let shift = input.parse()?;
    let (who, now) = (ctx.who(), ctx.now);
    let by = ctx.user()?.user_id();
    let result = ctx
        .state
        .db
        .write(move |conn| {
            let row = roster::insert(conn, &shift, by, now)?;
            let user = crate::accounts::users::get(conn, row.user_id)?;
            audit::record(
                conn,
                &who,
                now,
                Event::new("roster.shift_create").entity("shift", row.id),
            )?;
            Ok(ShiftView::new(&row, &user))
        })
        .await;
    ctx.state.directory.clear();
    result
}

/// Adds a shift (coordinators).
#[utoipa::path(post, path = "/api/v1/roster/shifts", tag = "roster", request_body = ShiftBody,
    responses((status = 201, body = ShiftView), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create_shift(ctx: Ctx, body: ApiJson<ShiftBody>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let view = add_shift(
        &ctx,
        ShiftInput {
            user_id: Some(b.user_id),
            duty: b.duty.as_str().into(),
            mode: b.mode.as_str().into(),
            starts_at: b.starts_at,
            ends_at: b.ends_at,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Removes a shift.
pub async fn remove_shift(ctx: &Ctx, id: i64) -> Result<(), AppError> {
    let (who, now) = (ctx.who(), ctx.now);
    let result = ctx
        .state
        .db
        .write(move |conn| {
            roster::delete(conn, id)?;
            audit::record(conn, &who, now, Event::new("roster.shift_delete").entity("shift", id))
        })
        .await;
    ctx.state.directory.clear();
    result
}

/// Removes a shift (coordinators).
#[utoipa::path(delete, path = "/api/v1/roster/shifts/{id}", tag = "roster", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn delete_shift(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    remove_shift(&ctx, id.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
