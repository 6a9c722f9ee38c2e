//! `GET /api/v1/audit`: administrators read and filter the log. There is no route that edits or
//! deletes it (and the database refuses to).

use actix_web::http::Method;
use actix_web::web;

use super::store::{EntryPage, Filter};
use crate::auth::Access;
use crate::error::{AppError, Problem};
use crate::web::{ApiQuery, Ctx, RouteDef};

pub fn routes() -> Vec<RouteDef> {
    vec![RouteDef::new(Method::GET, "/api/v1/audit", Access::ADMIN, list)]
}

/// Audit entries, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(Filter), operation_id = "list_audit",
    responses((status = 200, body = EntryPage), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn list(ctx: Ctx, filter: ApiQuery<Filter>) -> Result<web::Json<EntryPage>, AppError> {
    Ok(web::Json(super::search(&ctx.state, &ctx.caller(), filter.0).await?))
}
