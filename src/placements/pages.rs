//! The escape-point pages: the availability board with its filters and the registry
//! (`/escape-points`), and a place (`/escape-points/{id}`) whose address is shown once, on a
//! posted request, audited. Never an address anywhere else.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::service::{self, BoardLine, Need};
use super::store::Point;
use crate::auth::Access;
use crate::domain::{Province, Role};
use crate::error::AppError;
use crate::referrals::vocab::Gender;
use crate::web::page::{pairs, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/escape-points", UNIT, board_page),
        RouteDef::new(Method::GET, "/escape-points/{id}", UNIT, point_page),
        RouteDef::new(Method::POST, "/escape-points/{id}/address", UNIT, reveal_submit),
    ]
}

#[derive(Template)]
#[template(path = "escape_points/board.html")]
struct BoardPage {
    page: Page,
    form: Form,
    genders: &'static [Gender],
    lines: Vec<BoardLine>,
    points: Vec<Point>,
    error: Option<&'static str>,
}

/// Reads the filter form (checkboxes send `on`); an unreadable province or language is named.
fn need_of(form: &Form) -> Result<Need, &'static str> {
    let flag = |k: &str| matches!(form.v(k), "on" | "true" | "1");
    let gender = match form.v("gender") {
        "" => None,
        g => Some(Gender::parse(g).ok_or("escape_points.bad_filter")?),
    };
    let language = match form.v("language").trim() {
        "" => None,
        l => Some(crate::domain::parse_language(l).ok_or("escape_points.bad_language")?),
    };
    let province = match form.v("province").trim() {
        "" => None,
        p => Some(Province::parse(p).ok_or("escape_points.bad_province")?),
    };
    Ok(Need {
        gender,
        minor: flag("minor"),
        children: flag("children"),
        language,
        accessible: flag("accessible"),
        province,
    })
}

async fn board_page(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(req.query_string().as_bytes())?);
    let (need, error) = match need_of(&form) {
        Ok(n) => (n, None),
        Err(e) => (Need::default(), Some(e)),
    };
    let lines = service::board(&ctx.state, &ctx.caller(), need).await?;
    let points = service::list(&ctx.state, &ctx.caller()).await?;
    let tpl = BoardPage {
        page: Page::new(&ctx, "escape_points.title"),
        form,
        genders: Gender::ALL,
        lines,
        points,
        error,
    };
    let status = if tpl.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(&tpl.page, status, &tpl)
}

#[derive(Template)]
#[template(path = "escape_points/point.html")]
struct PointPage {
    page: Page,
    p: Point,
    /// Shown once, after a posted request.
    address: Option<Option<String>>,
}

async fn point_page(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    let p = service::get(&ctx.state, &ctx.caller(), id.0).await?;
    let tpl = PointPage {
        page: Page::new(&ctx, "escape_points.point"),
        p,
        address: None,
    };
    render_status(&tpl.page, StatusCode::OK, &tpl)
}

async fn reveal_submit(ctx: Ctx, id: PathId, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let _ = pairs(&body)?;
    let address = service::reveal_address(&ctx.state, &ctx.caller(), id.0).await?;
    let p = service::get(&ctx.state, &ctx.caller(), id.0).await?;
    let tpl = PointPage {
        page: Page::new(&ctx, "escape_points.point"),
        p,
        address: Some(address),
    };
    let mut res = render_status(&tpl.page, StatusCode::OK, &tpl)?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
