//! The permission check every route passes through: resolve the caller (session cookie or, on
//! `/api/`, a bearer token), refuse anyone the route's `Access` does not name, and refuse
//! state-changing browser requests without their CSRF token. Denials are audited.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage};

use super::csrf;
use super::ctx::{client_ip, RequestId};
use super::AppState;
use crate::audit::{self, Event, Outcome};
use crate::auth::{session, token, Access, Principal};
use crate::clock::db_now;
use crate::domain::Caller;
use crate::error::AppError;

fn deny(req: ServiceRequest, e: AppError) -> ServiceResponse<BoxBody> {
    // `from_error` keeps the error on the response, so browser routes can render it as a page.
    let (http_req, _) = req.into_parts();
    ServiceResponse::new(http_req, actix_web::HttpResponse::from_error(e))
}

/// Names in `event` the record a refused request asked for: the `{id}` of the route, with the
/// kind of record from the path segment before it (`/api/v1/referrals/{id}/…` → `referral`).
fn record_of(req: &ServiceRequest, event: Event) -> Event {
    let Some(id) = req
        .match_info()
        .get("id")
        .filter(|id| id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()))
    else {
        return event;
    };
    let pattern = req.match_pattern().unwrap_or_default();
    let segments: Vec<&str> = pattern.split('/').collect();
    let kind = segments
        .iter()
        .position(|s| *s == "{id}")
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| segments.get(i))
        .map(|s| match *s {
            "referrals" | "portal" => "referral",
            "organisations" => "organisation",
            "users" => "user",
            "tokens" => "token",
            "shifts" => "shift",
            _ => "record",
        });
    match kind {
        Some(kind) => event.entity(kind, id),
        None => event,
    }
}

/// Enforces `access` on one route (installed by `routes::configure` on every route).
pub async fn check(
    access: Access,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(deny(req, AppError::Internal("application state missing".into())));
    };
    let is_api = req.path().starts_with("/api/");
    let ip = client_ip(req.request(), &state.settings);
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());

    // Static assets are public and need no caller: no database lookup for them.
    let principal = if req.path().starts_with("/static/") {
        None
    } else {
        match resolve(&state, &req, is_api).await {
            Ok(p) => p,
            Err(e) => {
                if matches!(e, AppError::Unauthenticated) && req.headers().contains_key(header::AUTHORIZATION) {
                    // A bearer token that is unknown, revoked or of a deactivated organisation:
                    // audited (never the token), so that a leaked or guessed token shows.
                    let caller = Caller::anonymous(ip.clone(), request_id.clone(), db_now(state.clock.as_ref()));
                    let event = record_of(&req, Event::new("auth.token"))
                        .outcome(Outcome::Denied)
                        .detail("unknown or revoked bearer token");
                    if let Err(e) = audit::record_now(&state, &caller, event).await {
                        return Ok(deny(req, e));
                    }
                }
                return Ok(deny(req, e));
            }
        }
    };
    if let Some(p) = &principal {
        req.extensions_mut().insert(p.clone());
    }

    if !access.allows(principal.as_ref().map(|p| p.role)) {
        let Some(p) = principal else {
            return Ok(deny(req, AppError::Unauthenticated));
        };
        let caller = p.caller(ip, request_id, db_now(state.clock.as_ref()));
        let route = req.match_pattern().unwrap_or_default();
        let action = format!("{} {}", req.method(), route);
        let audited = audit::record_now(
            &state,
            &caller,
            record_of(&req, Event::new("access.denied"))
                .outcome(Outcome::Denied)
                .detail(action),
        )
        .await;
        if let Err(e) = audited {
            return Ok(deny(req, e));
        }
        return Ok(deny(req, AppError::Forbidden));
    }

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let by_session = principal.as_ref().is_none_or(|p| p.session.is_some());
    if unsafe_method && by_session {
        let key = state.keys().derive(csrf::KEY_LABEL);
        let expected = csrf::expected(
            principal.as_ref(),
            req.cookie(csrf::pre_cookie(state.settings.cookie_secure))
                .as_ref()
                .map(|c| c.value()),
            &key,
        );
        let presented = if is_api {
            req.headers()
                .get(csrf::HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        } else {
            let (back, token) = form_token(req, state.settings.body_limit).await;
            req = back;
            match token {
                Ok(t) => t,
                Err(e) => return Ok(deny(req, e)),
            }
        };
        // An anonymous API call has no session to forge: only browser forms need the token. An
        // upload by a logged-in user is checked by its handler, on the form's first part.
        let upload = principal.as_ref().is_some_and(|p| p.session.is_some())
            && csrf::UPLOAD_ROUTES.contains(&req.match_pattern().unwrap_or_default().as_str())
            && req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let needed = !(upload || (is_api && principal.is_none()));
        if needed && !csrf::matches(expected.as_deref(), presented.as_deref()) {
            let now = db_now(state.clock.as_ref());
            let caller = match &principal {
                Some(p) => p.caller(ip, request_id, now),
                None => Caller::anonymous(ip, request_id, now),
            };
            let audited =
                audit::record_now(&state, &caller, Event::new("csrf.rejected").outcome(Outcome::Denied)).await;
            if let Err(e) = audited {
                return Ok(deny(req, e));
            }
            return Ok(deny(req, AppError::CsrfRejected));
        }
    }

    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The caller: a bearer token on `/api/`, else a session cookie. An invalid bearer token is a 401
/// (a system with a revoked token must learn it at once); an expired session is just no caller.
async fn resolve(
    state: &web::Data<AppState>,
    req: &ServiceRequest,
    is_api: bool,
) -> Result<Option<Principal>, AppError> {
    let now = db_now(state.clock.as_ref());
    if is_api {
        if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
            let value = auth.to_str().unwrap_or("");
            let Some(secret) = value.strip_prefix("Bearer ").map(str::trim).map(str::to_owned) else {
                return Err(AppError::Unauthenticated);
            };
            let principal = token::authenticate(state, secret, now).await?;
            return principal.map(Some).ok_or(AppError::Unauthenticated);
        }
    }
    let Some(cookie) = req.cookie(session::COOKIE) else {
        return Ok(None);
    };
    let settings = state.settings.clone();
    let value = cookie.value().to_owned();
    if value.is_empty() || value.len() > 100 {
        return Ok(None);
    }
    let (found, touch) = state
        .db
        .read(move |conn| session::resolve(conn, &value, now, &settings))
        .await?;
    if let Some(t) = touch {
        state.db.write(move |conn| session::touch(conn, &t)).await?;
    }
    Ok(match found {
        session::Lookup::Valid(p) => Some(p),
        session::Lookup::Expired | session::Lookup::Unknown => None,
    })
}

/// The CSRF token of a browser form: the `csrf` field of a URL-encoded body (the body is put
/// back for the handler).
async fn form_token(req: ServiceRequest, limit: usize) -> (ServiceRequest, Result<Option<String>, AppError>) {
    let urlencoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !urlencoded {
        // No token in the URL (it would reach logs and the browser's history): an upload
        // carries it as the form's first part, checked by its handler (`csrf::first_part`).
        return (req, Ok(None));
    }
    let (http_req, mut payload) = req.into_parts();
    match web::Bytes::from_request(&http_req, &mut payload).await {
        Ok(bytes) => {
            let token = csrf::field_of(&bytes);
            (ServiceRequest::from_parts(http_req, Payload::from(bytes)), Ok(token))
        }
        Err(_) => (
            ServiceRequest::from_parts(http_req, Payload::None),
            Err(AppError::PayloadTooLarge { limit }),
        ),
    }
}
