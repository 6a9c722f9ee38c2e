//! `GET /api/v1/outbox`: administrators and coordinators see whether notifications went out.

use actix_web::http::Method;
use actix_web::web;
use serde::Serialize;
use utoipa::ToSchema;

use chrono::{DateTime, FixedOffset};

use super::{OutboxEntry, OutboxFilter, Status, Template};
use crate::auth::Access;
use crate::clock::rome;
use crate::domain::Role;
use crate::error::{AppError, Problem};
use crate::web::{ApiQuery, Ctx, PathId, RouteDef};

/// Who may watch deliveries: the administrators who run the service and the coordinators who
/// must know that an alert did not reach anyone.
pub const READERS: Access = Access::Roles(&[Role::Admin, Role::Coordinator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/outbox", READERS, list_outbox),
        RouteDef::new(Method::POST, "/api/v1/outbox/{id}/retry", READERS, retry),
    ]
}

/// A message's delivery state (never its subject or body).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxView {
    pub id: i64,
    pub kind: Template,
    /// The referral's reference, when about one.
    pub reference: Option<String>,
    pub recipient: String,
    pub status: Status,
    pub attempts: i32,
    /// Europe/Rome, RFC 3339.
    pub next_attempt_at: DateTime<FixedOffset>,
    /// A short technical reason of the last failed attempt.
    pub last_error: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub sent_at: Option<DateTime<FixedOffset>>,
}

impl From<OutboxEntry> for OutboxView {
    fn from(e: OutboxEntry) -> Self {
        OutboxView {
            id: e.id.get(),
            kind: e.kind,
            reference: e.reference,
            recipient: e.recipient,
            status: e.status,
            attempts: e.attempts,
            next_attempt_at: rome(e.next_attempt_at),
            last_error: e.last_error,
            created_at: rome(e.created_at),
            sent_at: e.sent_at.map(rome),
        }
    }
}

/// Recent notifications and their delivery state, newest first.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "outbox", params(OutboxFilter),
    responses((status = 200, body = [OutboxView]), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list_outbox(
    ctx: Ctx,
    filter: ApiQuery<OutboxFilter>,
) -> Result<web::Json<Vec<OutboxView>>, AppError> {
    let rows = super::read_outbox(&ctx.state, &ctx.caller(), filter.0).await?;
    Ok(web::Json(rows.into_iter().map(OutboxView::from).collect()))
}

/// Sends a message given up (`failed`) again: a new round of attempts, due at once.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "outbox", params(("id" = i64, Path)),
    operation_id = "retry_outbox_message",
    responses((status = 200, body = OutboxView),
        (status = 409, body = Problem, description = "The message is not one given up")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn retry(ctx: Ctx, id: PathId<crate::domain::MessageId>) -> Result<web::Json<OutboxView>, AppError> {
    let entry = super::retry(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(web::Json(OutboxView::from(entry)))
}
