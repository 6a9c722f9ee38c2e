//! Middleware on every response: request id and tracing span, security headers, and HTML error
//! pages for browser routes.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse, ResponseError};
use askama::Template;
use tracing::Instrument;

use super::ctx::{ctx_of, RequestId};
use super::page::{urlencode, Page};
use super::AppState;
use crate::error::AppError;

/// Gives the request an id, runs it in a tracing span and logs its outcome. Logged fields are
/// the route pattern (never the path with its values), method, status and latency: no personal
/// data.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // From the thread's generator: no system call per request (uuid's v4 asks the kernel).
    let id = format!("{:032x}", rand::random::<u128>());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method());
    let start = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let route = res.request().match_pattern().unwrap_or_else(|| "(unmatched)".into());
    let status = res.status().as_u16();
    let micros = start.elapsed().as_micros() as u64;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(route = %route, status, micros, "request failed");
        } else {
            tracing::debug!(route = %route, status, micros, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

/// Security headers on every response; `Cache-Control: no-store` unless a handler chose caching
/// (pages and API answers may hold personal data).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let tls = is_tls(&req);
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    let set = |h: &mut header::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(h, "cross-origin-resource-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    if tls {
        set(h, "strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    Ok(res)
}

/// TLS seen by the client: our own listener, a trusted proxy's `X-Forwarded-Proto`, or an
/// `https` public URL (the service is then always reached through TLS).
fn is_tls(req: &ServiceRequest) -> bool {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return false;
    };
    if state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        return true;
    }
    if req.app_config().secure() {
        return true;
    }
    req.peer_addr().is_some_and(|p| state.settings.is_trusted_proxy(p.ip()))
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    title_key: String,
    detail: Option<String>,
}

/// Browser routes answer errors as pages: 401 redirects to the login form, anything else
/// renders the error page in the user's language. `/api/` keeps problem+json.
pub async fn html_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_api = req.path().starts_with("/api/") || req.path() == "/healthz";
    let method = req.method().clone();
    let res = next.call(req).await?.map_into_boxed_body();
    if is_api || res.status().as_u16() < 400 {
        return Ok(res);
    }
    let Some(app_error) = res.response().error().and_then(|e| e.as_error::<AppError>()) else {
        return Ok(res);
    };
    // What the page needs, taken before the response is taken apart.
    let status = app_error.status_code();
    let unauthenticated = matches!(app_error, AppError::Unauthenticated);
    let detail_key = match app_error {
        AppError::Forbidden => Some("error.forbidden"),
        AppError::CsrfRejected => Some("error.csrf"),
        AppError::NotFound => Some("error.not_found"),
        AppError::Internal(_) | AppError::Unavailable(_) => Some("error.internal"),
        _ => None,
    };
    let problem_detail = app_error.problem().detail;
    let (http_req, _) = res.into_parts();
    let ctx = match ctx_of(&http_req) {
        Ok(c) => c,
        Err(e) => return Ok(ServiceResponse::new(http_req, e.error_response())),
    };
    if unauthenticated {
        let next = if method == actix_web::http::Method::GET {
            ctx.path.clone()
        } else {
            "/".into()
        };
        let to = format!("/login?next={}", urlencode(&next));
        let res = HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish();
        return Ok(ServiceResponse::new(http_req, res));
    }
    let page = Page::new(&ctx, "error.title");
    let detail = match detail_key {
        Some(k) => Some(page.t(k).to_owned()),
        None => problem_detail.map(|d| crate::web::i18n::message(ctx.lang, &d)),
    };
    let tpl = ErrorPage {
        status: status.as_u16(),
        title_key: format!(
            "error.status_{}",
            if status.is_server_error() { 500 } else { status.as_u16() }
        ),
        detail,
        page,
    };
    let html = tpl.render().unwrap_or_else(|_| "Error".into());
    let mut res = tpl.page.respond(status, html);
    if status == StatusCode::TOO_MANY_REQUESTS {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("900"));
    }
    Ok(ServiceResponse::new(http_req, res))
}
