//! The audit-log viewer for administrators.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::store::{EntryView, Filter};
use crate::auth::Access;
use crate::error::AppError;
use crate::web::page::{render, urlencode, Form, Page};
use crate::web::{Ctx, RouteDef};

pub fn routes() -> Vec<RouteDef> {
    vec![RouteDef::new(Method::GET, "/admin/audit", Access::ADMIN, viewer)]
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    page: Page,
    form: Form,
    entries: Vec<EntryView>,
    next_href: Option<String>,
    outcomes: &'static [super::Outcome],
}

async fn viewer(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let mut form = Form::from_pairs(&pairs);
    // Empty inputs of the filter form mean "any".
    let kept: Vec<(String, String)> = pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    let filter: Filter = match crate::web::extract::parse_query(&query) {
        Ok(f) => f,
        Err(e) => {
            form.absorb(&e, ctx.lang);
            Filter::default()
        }
    };
    let filter = match filter.check() {
        Ok(()) => filter,
        Err(e) => {
            form.absorb(&e, ctx.lang);
            Filter::default()
        }
    };
    let result = super::search(&ctx.state, &ctx.caller(), filter).await?;
    let next_href = result.next_before.map(|b| {
        let mut q: Vec<(String, String)> = kept.into_iter().filter(|(k, _)| k != "before").collect();
        q.push(("before".into(), b.to_string()));
        format!("/admin/audit?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
    });
    let _ = urlencode;
    let tpl = AuditPage {
        page: Page::new(&ctx, "audit.title"),
        form,
        entries: result.entries,
        next_href,
        outcomes: super::Outcome::ALL,
    };
    render(&tpl.page, &tpl)
}
