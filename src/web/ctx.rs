//! The request context handlers receive: caller, request id, address, language, time.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::NaiveDateTime;

use super::i18n::{Lang, LANG_COOKIE};
use super::AppState;
use crate::auth::Principal;
use crate::clock::db_now;
use crate::domain::Caller;
use crate::error::AppError;

/// The id given to each request, echoed in `X-Request-Id` and stored in audit entries.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Everything a handler needs about the request besides its body.
#[derive(Clone)]
pub struct Ctx {
    pub state: web::Data<AppState>,
    pub principal: Option<Principal>,
    pub request_id: String,
    pub ip: Option<String>,
    pub lang: Lang,
    /// The request's instant, from the injected clock.
    pub now: NaiveDateTime,
    /// The request path, for links back (language switch, login redirect).
    pub path: String,
    /// The anonymous CSRF cookie, when present.
    pub pre_csrf: Option<String>,
    /// A flash message key left by the previous response.
    pub flash: Option<String>,
}

impl Ctx {
    /// The caller, or 401.
    pub fn user(&self) -> Result<&Principal, AppError> {
        self.principal.as_ref().ok_or(AppError::Unauthenticated)
    }

    /// The caller as the services receive it (anonymous when nobody is signed in).
    pub fn caller(&self) -> Caller {
        match &self.principal {
            Some(p) => p.caller(self.ip.clone(), Some(self.request_id.clone()), self.now),
            None => Caller::anonymous(self.ip.clone(), Some(self.request_id.clone()), self.now),
        }
    }

    pub fn settings(&self) -> &crate::config::Settings {
        &self.state.settings
    }
}

/// The client's address: the peer, or the proxy's `X-Forwarded-For` when the proxy is trusted.
pub fn client_ip(req: &HttpRequest, trust_proxy: bool) -> Option<String> {
    if trust_proxy {
        if let Some(ip) = req.connection_info().realip_remote_addr() {
            return Some(strip_port(ip).to_owned());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}

fn strip_port(addr: &str) -> &str {
    if addr.starts_with('[') {
        return addr.trim_start_matches('[').split(']').next().unwrap_or(addr);
    }
    match addr.matches(':').count() {
        1 => addr.split(':').next().unwrap_or(addr),
        _ => addr,
    }
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Ctx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(ctx_of(req))
    }
}

/// Builds the context of a request (also used by the HTML error pages).
pub fn ctx_of(req: &HttpRequest) -> Result<Ctx, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?;
    let principal = req.extensions().get::<Principal>().cloned();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let lang = req
        .cookie(LANG_COOKIE)
        .and_then(|c| Lang::parse(c.value()))
        .unwrap_or_default();
    Ok(Ctx {
        now: db_now(state.clock.as_ref()),
        ip: client_ip(req, state.settings.trust_proxy),
        pre_csrf: req.cookie(super::csrf::PRE_COOKIE).map(|c| c.value().to_owned()),
        flash: req.cookie(super::page::FLASH_COOKIE).map(|c| c.value().to_owned()),
        path: req.path().to_owned(),
        state,
        principal,
        request_id,
        lang,
    })
}
