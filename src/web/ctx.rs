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

/// The client's address. Behind trusted reverse proxies (`VARCO_TRUSTED_PROXIES`), the
/// rightmost `X-Forwarded-For` address that is not one of them: each proxy appends the address it
/// saw, so everything left of the last untrusted hop was written by the client and may be forged.
/// Otherwise the peer.
pub fn client_ip(req: &HttpRequest, settings: &crate::config::Settings) -> Option<String> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    Some(forwarded_client(peer, req.headers(), settings).to_string())
}

/// See [`client_ip`]: `peer` and the `X-Forwarded-For` headers (all of them, in order).
pub fn forwarded_client(
    peer: std::net::IpAddr,
    headers: &actix_web::http::header::HeaderMap,
    settings: &crate::config::Settings,
) -> std::net::IpAddr {
    if !settings.is_trusted_proxy(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match strip_port(hop).parse::<std::net::IpAddr>() {
            Ok(ip) if settings.is_trusted_proxy(ip) => client = ip,
            Ok(ip) => return ip,
            // Garbage where an address should be: stop at the last hop a proxy vouched for.
            Err(_) => return client,
        }
    }
    client
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
        ip: client_ip(req, &state.settings),
        pre_csrf: req
            .cookie(super::csrf::pre_cookie(state.settings.cookie_secure))
            .map(|c| c.value().to_owned()),
        flash: req.cookie(super::page::FLASH_COOKIE).map(|c| c.value().to_owned()),
        path: req.path().to_owned(),
        state,
        principal,
        request_id,
        lang,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_client_is_the_rightmost_forwarded_address_not_a_trusted_proxy() {
        let mut s = crate::config::Settings::default();
        let peer: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let spoofed = headers(&["6.6.6.6, 203.0.113.9"]);
        // No trusted proxy: the header is the client's word, ignored.
        assert_eq!(forwarded_client(peer, &spoofed, &s), peer);
        s.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(forwarded_client(peer, &spoofed, &s).to_string(), "203.0.113.9");
        // Two proxies in a row, and the header split over two lines.
        let chained = headers(&["6.6.6.6", "203.0.113.9, 10.0.0.7"]);
        assert_eq!(forwarded_client(peer, &chained, &s).to_string(), "203.0.113.9");
        // A peer that is not a proxy is believed over any header.
        let outsider: std::net::IpAddr = "198.51.100.4".parse().unwrap();
        assert_eq!(forwarded_client(outsider, &spoofed, &s), outsider);
        // Garbage after a proxy: the last address a proxy vouched for.
        assert_eq!(forwarded_client(peer, &headers(&["not an address"]), &s), peer);
        assert_eq!(forwarded_client(peer, &headers(&[]), &s), peer);
        assert_eq!(
            forwarded_client(peer, &headers(&["[2001:db8::1]:4711"]), &s).to_string(),
            "2001:db8::1"
        );
    }
}
