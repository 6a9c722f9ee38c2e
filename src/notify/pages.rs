//! The outbox page: what was sent, what waits for another attempt, what was given up.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::{OutboxEntry, OutboxFilter, Status};
use crate::error::AppError;
use crate::web::page::{pairs, redirect_with_flash, render, Form, Page};
use crate::web::{Ctx, PathId, RouteDef};

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/admin/outbox", super::api::READERS, viewer),
        RouteDef::new(
            Method::POST,
            "/admin/outbox/{id}/retry",
            super::api::READERS,
            retry_submit,
        ),
    ]
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    page: Page,
    form: Form,
    statuses: &'static [Status],
    messages: Vec<OutboxEntry>,
}

async fn viewer(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let mut form = Form::from_pairs(&pairs);
    // An empty choice of the filter form means "any".
    let kept: Vec<(String, String)> = pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    let filter = crate::web::extract::parse_query::<OutboxFilter>(&query)
        .and_then(|f| f.status().and(f.limit()).map(|_| f))
        .unwrap_or_else(|e| {
            form.absorb(&e, ctx.lang);
            OutboxFilter::default()
        });
    let messages = super::read_outbox(&ctx.state, &ctx.caller(), filter).await?;
    let tpl = OutboxPage {
        page: Page::new(&ctx, "outbox.title"),
        form,
        statuses: Status::ALL,
        messages,
    };
    render(&tpl.page, &tpl)
}

/// The button on a message given up: back in the queue, then the list again.
async fn retry_submit(
    ctx: Ctx,
    id: PathId<crate::domain::MessageId>,
    body: actix_web::web::Bytes,
) -> Result<HttpResponse, AppError> {
    let _ = pairs(&body)?;
    super::retry(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(redirect_with_flash("/admin/outbox", "flash.outbox_retry"))
}
