//! The route table. Every route is declared here with the roles that may call it; the access
//! check is installed on each from its declaration, so a route cannot exist without one, and the
//! tests walk this table to prove every role is refused where it is not named.

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{web, FromRequest, Handler, Responder, Route};

use super::access;
use crate::auth::Access;
use crate::error::AppError;

/// One route: method, path pattern, who may call it, and its handler.
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    route: Route,
}

impl RouteDef {
    pub fn new<F, Args>(method: Method, path: &'static str, access: Access, handler: F) -> RouteDef
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        RouteDef {
            route: web::method(method.clone()).to(handler),
            method,
            path,
            access,
        }
    }

    /// True for JSON API routes (listed in the OpenAPI document).
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/v1/")
    }
}

/// Every route of the service, in matching order (literal segments before `{id}`).
pub fn table() -> Vec<RouteDef> {
    let mut all = Vec::new();
    all.extend(crate::pages::routes());
    all.extend(crate::accounts::pages::routes());
    all.extend(crate::audit::pages::routes());
    all.extend(crate::referrals::pages::routes());
    all.extend(crate::persons::pages::routes());
    all.extend(crate::hotline::pages::routes());
    all.extend(crate::roster::pages::routes());
    all.extend(crate::notify::pages::routes());
    all.extend(crate::casework::pages::routes());
    all.extend(crate::casework::feedback::pages::routes());
    all.extend(crate::placements::pages::routes());
    all.extend(crate::helpline::pages::routes());
    all.extend(crate::observatory::pages::routes());
    all.extend(crate::accounts::api::routes());
    all.extend(crate::audit::api::routes());
    all.extend(crate::referrals::api::routes());
    all.extend(crate::persons::api::routes());
    all.extend(crate::hotline::api::routes());
    all.extend(crate::roster::api::routes());
    all.extend(crate::notify::api::routes());
    all.extend(crate::casework::api::routes());
    all.extend(crate::casework::feedback::api::routes());
    all.extend(crate::placements::api::routes());
    all.extend(crate::helpline::api::routes());
    all.extend(crate::observatory::api::routes());
    all
}

/// Method, path and access of every route (for tests and the OpenAPI check).
pub fn declarations() -> Vec<(Method, &'static str, Access)> {
    table().into_iter().map(|r| (r.method, r.path, r.access)).collect()
}

/// Registers the table: one resource per path, each route wrapped in its access check.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut groups: Vec<(&'static str, Vec<RouteDef>)> = Vec::new();
    for def in table() {
        match groups.iter_mut().find(|(p, _)| *p == def.path) {
            Some((_, defs)) => defs.push(def),
            None => groups.push((def.path, vec![def])),
        }
    }
    for (path, defs) in groups {
        let allow = defs.iter().map(|d| d.method.as_str()).collect::<Vec<_>>().join(", ");
        let mut resource = web::resource(path).default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<actix_web::HttpResponse, _>(AppError::MethodNotAllowed { allow }) }
        }));
        for def in defs {
            let access = def.access;
            resource = resource.route(
                def.route
                    .wrap(from_fn(move |req, next| access::check(access, req, next))),
            );
        }
        cfg.service(resource);
    }
}

/// Anything unrouted.
pub async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// The unrouted answer, with the caller known for a page read: the 404 page keeps the
/// navigation. Other methods get their 404 without a session lookup.
pub fn unrouted() -> Route {
    web::to(not_found).wrap(from_fn(|req: actix_web::dev::ServiceRequest, next| async move {
        if req.method() == Method::GET && !req.path().starts_with("/api/") {
            access::check(Access::Public, req, next).await
        } else {
            next.call(req).await.map(|r| r.map_into_boxed_body())
        }
    }))
}
