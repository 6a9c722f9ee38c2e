//! `/api/v1/hotline/calls`: the central station's log.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};

use super::model::{CallFilter, CallInput, CallView};
use super::service;
use crate::auth::Access;
use crate::domain::Role;
use crate::error::{AppError, Problem};
use crate::web::{ApiJson, ApiQuery, Ctx, RouteDef};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/hotline/calls", UNIT, list_calls),
        RouteDef::new(Method::POST, "/api/v1/hotline/calls", UNIT, create_call),
    ]
}

/// Logs a call to 800 290 290 (every call, referral or not).
#[utoipa::path(post, path = "/api/v1/hotline/calls", tag = "hotline", request_body = CallInput,
    responses((status = 201, body = CallView), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create_call(ctx: Ctx, body: ApiJson<CallInput>) -> Result<HttpResponse, AppError> {
    let row = service::record_call(&ctx.state, &ctx.caller(), body.0).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(CallView::from(&row)))
}

/// The call log, newest first.
#[utoipa::path(get, path = "/api/v1/hotline/calls", tag = "hotline", params(CallFilter),
    responses((status = 200, body = [CallView]), (status = 400, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list_calls(ctx: Ctx, q: ApiQuery<CallFilter>) -> Result<web::Json<Vec<CallView>>, AppError> {
    let rows = service::calls(&ctx.state, q.0).await?;
    Ok(web::Json(rows.iter().map(CallView::from).collect()))
}
