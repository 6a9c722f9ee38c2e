//! HTTP plumbing shared by every room: state, request context, access checks, extractors,
//! middleware, pages and the route table.

pub mod access;
pub mod csrf;
pub mod ctx;
pub mod extract;
pub mod i18n;
pub mod json;
pub mod middleware;
pub mod page;
pub mod routes;

use actix_web::cookie::{Cookie, SameSite};

use crate::config::Settings;

pub use ctx::Ctx;
pub use extract::{expected_version, ApiJson, ApiQuery, PathId, SubId};
pub use routes::RouteDef;

/// What every handler can reach: the application the services run on.
pub type AppState = crate::app::App;

/// The session cookie: HttpOnly, SameSite=Lax (links from emails still arrive signed in),
/// Secure unless turned off for plain-HTTP tests.
pub fn session_cookie(settings: &Settings, value: String) -> Cookie<'static> {
    Cookie::build(crate::auth::session::COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(settings.cookie_secure)
        .same_site(SameSite::Lax)
        .finish()
}

/// A cookie that removes the session cookie.
pub fn session_cookie_removal(settings: &Settings) -> Cookie<'static> {
    let mut c = session_cookie(settings, String::new());
    c.make_removal();
    c
}
