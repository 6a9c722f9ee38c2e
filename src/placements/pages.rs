//! The escape-point pages: the availability board with its filters and the registry
//! (`/escape-points`), and a place (`/escape-points/{id}`) whose address is shown once, on a
//! posted request, audited. Never an address anywhere else.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::lifecycle::PlacementAction;
use super::service::{self, BoardLine, Need};
use super::store::{PlacementRow, Point};
use super::vocab::{CheckOutReason, PlaceType, PlacementKind, PlacementStatus, PointStatus, TurnAwayReason};
use crate::auth::Access;
use crate::domain::{CaseId, Province, Role};
use crate::error::AppError;
use crate::referrals::vocab::Gender;
use crate::web::page::{pairs, redirect_with_flash, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef, SubId};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/escape-points", UNIT, board_page),
        RouteDef::new(Method::GET, "/escape-points/{id}", UNIT, point_page),
        RouteDef::new(Method::POST, "/escape-points/{id}/address", UNIT, reveal_submit),
        RouteDef::new(Method::GET, "/cases/{id}/placements", UNIT, journey_page),
        RouteDef::new(Method::POST, "/cases/{id}/placements", UNIT, place_submit),
        RouteDef::new(Method::POST, "/cases/{id}/placements/{sub}", UNIT, act_submit),
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

// ----- a case's journey through places -----

#[derive(Template)]
#[template(path = "escape_points/journey.html")]
struct JourneyPage {
    page: Page,
    form: Form,
    case_id: i64,
    reference: String,
    rows: Vec<(PlacementRow, Point)>,
    points: Vec<Point>,
    now: chrono::NaiveDateTime,
    kinds: &'static [PlacementKind],
    place_types: &'static [PlaceType],
    check_out_reasons: &'static [CheckOutReason],
    turn_away_reasons: &'static [TurnAwayReason],
    error: Option<String>,
}

impl JourneyPage {
    /// The status as it reads now (a hold past its time is expired before the job marks it).
    fn status_of(&self, r: &PlacementRow) -> PlacementStatus {
        if r.status == PlacementStatus::Held && !r.occupies(self.now) {
            PlacementStatus::Expired
        } else {
            r.status
        }
    }
}

async fn render_journey(
    ctx: &Ctx,
    case: CaseId,
    form: Form,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (reference, rows) = service::journey(&ctx.state, &ctx.caller(), case).await?;
    let points = service::list(&ctx.state, &ctx.caller())
        .await?
        .into_iter()
        .filter(|p| p.row.status == PointStatus::Active)
        .collect();
    let tpl = JourneyPage {
        page: Page::new(ctx, "escape_points.journey"),
        form,
        case_id: case.get(),
        reference,
        rows,
        points,
        now: ctx.now,
        kinds: PlacementKind::ALL,
        place_types: PlaceType::ALL,
        check_out_reasons: CheckOutReason::ALL,
        turn_away_reasons: TurnAwayReason::ALL,
        error,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn journey_page(ctx: Ctx, id: PathId<CaseId>) -> Result<HttpResponse, AppError> {
    render_journey(&ctx, id.0, Form::default(), None, StatusCode::OK).await
}

/// After a change: back to the journey, or the page again with the reason it was refused.
async fn after(ctx: &Ctx, case: CaseId, form: Form, result: Result<(), AppError>) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &format!("/cases/{}/placements", case.get()),
            "flash.placement_done",
        )),
        Err(
            e @ (AppError::Invalid(_)
            | AppError::BadRequest(_)
            | AppError::Conflict(_)
            | AppError::IllegalTransition { .. }
            | AppError::StaleVersion { .. }),
        ) => {
            let status = match e {
                AppError::Invalid(_) | AppError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            let text = match &e {
                AppError::Conflict(m) => crate::web::i18n::message(ctx.lang, m),
                AppError::Invalid(f) | AppError::BadRequest(f) => f
                    .iter()
                    .map(|f| crate::web::i18n::message(ctx.lang, &f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => crate::web::i18n::message(ctx.lang, "the placement's state does not allow this"),
            };
            render_journey(ctx, case, form, Some(text), status).await
        }
        Err(e) => Err(e),
    }
}

async fn place_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    // An unknown choice is an error, never a default; all of them at once.
    let mut errors = Vec::new();
    let point: Option<i64> = form.number("point_id", &mut errors);
    let kind = form.choice("kind", PlacementKind::parse, &mut errors);
    let place_type = form.choice("place_type", PlaceType::parse, &mut errors);
    for (field, missing) in [
        ("point_id", point.is_none()),
        ("kind", kind.is_none()),
        ("place_type", place_type.is_none()),
    ] {
        if missing && !errors.iter().any(|e| e.field == field) {
            errors.push(crate::error::FieldError::new(field, "is required"));
        }
    }
    let result = match (point, kind, place_type) {
        (Some(point), Some(kind), Some(place_type)) if errors.is_empty() => {
            service::place(&ctx.state, &ctx.caller(), id.0, point, kind, place_type)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::Invalid(errors)),
    };
    after(&ctx, id.0, form, result).await
}

async fn act_submit(ctx: Ctx, id: PathId<CaseId>, sub: SubId, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = match PlacementAction::parse(form.v("action")) {
        Some(PlacementAction::CheckOut) => match CheckOutReason::parse(form.v("reason")) {
            Some(r) => service::act(
                &ctx.state,
                &ctx.caller(),
                sub.0,
                PlacementAction::CheckOut,
                Some(r),
                None,
            )
            .await
            .map(|_| ()),
            None => Err(AppError::invalid("reason", "is required")),
        },
        Some(PlacementAction::TurnAway) => match TurnAwayReason::parse(form.v("reason")) {
            Some(r) => service::act(
                &ctx.state,
                &ctx.caller(),
                sub.0,
                PlacementAction::TurnAway,
                None,
                Some(r),
            )
            .await
            .map(|_| ()),
            None => Err(AppError::invalid("reason", "is required")),
        },
        Some(a @ (PlacementAction::CheckIn | PlacementAction::Release)) => {
            service::act(&ctx.state, &ctx.caller(), sub.0, a, None, None)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::invalid("action", "is required")),
    };
    after(&ctx, id.0, form, result).await
}
