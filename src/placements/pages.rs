//! The escape-point pages: the availability board with its filters and the registry
//! (`/escape-points`), and a place (`/escape-points/{id}`) whose address is shown once, on a
//! posted request, audited. Never an address anywhere else.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::lifecycle::PlacementAction;
use super::service::{self, BoardLine, Need};
use super::store::{self, PlacementRow, Point};
use super::vocab::{CheckOutReason, PlaceType, PlacementKind, PlacementStatus, PointStatus, TurnAwayReason};
use crate::auth::Access;
use crate::domain::{CaseId, Province, Role};
use crate::error::AppError;
use crate::referrals::vocab::Gender;
use crate::web::page::{pairs, redirect_with_flash, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef, SubId};
use chrono::Datelike;

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const COORDINATOR: Access = Access::Roles(&[Role::Coordinator]);
/// The unit and the observatory's analysts (who see small counts withheld).
const OBSERVERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Analyst]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/escape-points", UNIT, board_page),
        RouteDef::new(Method::POST, "/escape-points", COORDINATOR, create_submit),
        RouteDef::new(Method::GET, "/escape-points/new", COORDINATOR, new_page),
        RouteDef::new(Method::GET, "/escape-points/occupancy", OBSERVERS, occupancy_page),
        RouteDef::new(Method::GET, "/escape-points/{id}", UNIT, point_page),
        RouteDef::new(Method::POST, "/escape-points/{id}", COORDINATOR, update_submit),
        RouteDef::new(Method::GET, "/escape-points/{id}/edit", COORDINATOR, edit_page),
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

// ----- the registry: a point added or changed by a coordinator -----

#[derive(Template)]
#[template(path = "escape_points/form.html")]
struct PointFormPage {
    page: Page,
    form: Form,
    /// `None`: a new point.
    id: Option<i64>,
    statuses: &'static [PointStatus],
    flags: [(&'static str, &'static str); 6],
    provinces: &'static [Province],
}

const FLAGS: [(&str, &str); 6] = [
    ("takes_women", "escape_points.women"),
    ("takes_men", "escape_points.men"),
    ("takes_minors", "escape_points.minors"),
    ("takes_children", "escape_points.children"),
    ("takes_trans", "escape_points.trans"),
    ("accessible", "escape_points.accessible"),
];

fn point_form(ctx: &Ctx, form: Form, id: Option<i64>, status: StatusCode) -> Result<HttpResponse, AppError> {
    let tpl = PointFormPage {
        page: Page::new(
            ctx,
            if id.is_some() {
                "escape_points.edit"
            } else {
                "escape_points.new"
            },
        ),
        form,
        id,
        statuses: PointStatus::ALL,
        flags: FLAGS,
        provinces: crate::domain::territory::PROVINCES,
    };
    render_status(&tpl.page, status, &tpl)
}

/// The form as the API's input, with the numbers and choices it could not read named.
fn point_input(form: &Form) -> (super::api::PointInput, Vec<crate::error::FieldError>) {
    let mut errors = Vec::new();
    let beds = form.number("beds", &mut errors).unwrap_or(0);
    let family_rooms = form.number("family_rooms", &mut errors).unwrap_or(0);
    let status = form.choice("status", PointStatus::parse, &mut errors);
    let input = super::api::PointInput {
        name: form.v("name").to_owned(),
        province: form.v("province").to_owned(),
        // Blank: unchanged on an edit, none on a new point.
        address: form.opt("address"),
        beds,
        family_rooms,
        takes_women: form.is("takes_women", "on"),
        takes_men: form.is("takes_men", "on"),
        takes_minors: form.is("takes_minors", "on"),
        takes_children: form.is("takes_children", "on"),
        takes_trans: form.is("takes_trans", "on"),
        accessible: form.is("accessible", "on"),
        languages: form
            .v("languages")
            .split('\u{1f}')
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        contact_phone: form.v("contact_phone").to_owned(),
        status,
        suspended_reason: form.opt("suspended_reason"),
        version: None,
    };
    (input, errors)
}

/// Every problem with the form at once: what could not be read and what the rules refuse.
fn checked(
    ctx: &Ctx,
    form: &mut Form,
    code: Option<&str>,
) -> Option<(Option<String>, store::PointFields, Option<String>)> {
    let (input, mut errors) = point_input(form);
    let code = code.map(|c| super::api::point_code(c, &mut errors));
    match input.fields_into(errors) {
        Ok((fields, address)) => Some((code, fields, address)),
        Err(e) => {
            form.absorb(&e, ctx.lang);
            None
        }
    }
}

async fn new_page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set("status", PointStatus::Active.as_str());
    form.set("beds", "0");
    form.set("family_rooms", "0");
    point_form(&ctx, form, None, StatusCode::OK)
}

async fn create_submit(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let mut form = Form::from_pairs(&pairs(&body)?);
    let code = form.v("code").to_owned();
    let Some((Some(code), fields, address)) = checked(&ctx, &mut form, Some(&code)) else {
        return point_form(&ctx, form, None, StatusCode::UNPROCESSABLE_ENTITY);
    };
    match service::create(&ctx.state, &ctx.caller(), code, fields, address).await {
        Ok(p) => Ok(redirect_with_flash(
            &format!("/escape-points/{}", p.row.id),
            "flash.point_saved",
        )),
        Err(AppError::Conflict(m)) => {
            form.add_error("code", crate::web::i18n::message(ctx.lang, &m));
            point_form(&ctx, form, None, StatusCode::CONFLICT)
        }
        Err(e) => Err(e),
    }
}

/// The form filled with a point as stored (never its address).
fn form_of(p: &Point) -> Form {
    let mut f = Form::default();
    f.set("name", p.row.name.clone());
    f.set("province", p.row.province.code);
    f.set("beds", p.row.beds.to_string());
    f.set("family_rooms", p.row.family_rooms.to_string());
    for (k, on) in [
        ("takes_women", p.row.takes_women),
        ("takes_men", p.row.takes_men),
        ("takes_minors", p.row.takes_minors),
        ("takes_children", p.row.takes_children),
        ("takes_trans", p.row.takes_trans),
        ("accessible", p.row.accessible),
    ] {
        if on {
            f.set(k, "on");
        }
    }
    f.set("languages", p.languages.join("\u{1f}"));
    f.set("contact_phone", p.row.contact_phone.clone());
    f.set("status", p.row.status.as_str());
    f.set("suspended_reason", p.row.suspended_reason.clone().unwrap_or_default());
    f.set("version", p.row.version.to_string());
    f
}

async fn edit_page(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    let p = service::get(&ctx.state, &ctx.caller(), id.0).await?;
    point_form(&ctx, form_of(&p), Some(id.0), StatusCode::OK)
}

async fn update_submit(ctx: Ctx, id: PathId, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let id = id.0;
    let mut form = Form::from_pairs(&pairs(&body)?);
    let Some(version) = form.v("version").trim().parse::<crate::domain::Version>().ok() else {
        form.general = Some(crate::web::i18n::message(
            ctx.lang,
            "the form is missing its version: reload the page",
        ));
        return point_form(&ctx, form, Some(id), StatusCode::UNPROCESSABLE_ENTITY);
    };
    let Some((_, fields, address)) = checked(&ctx, &mut form, None) else {
        return point_form(&ctx, form, Some(id), StatusCode::UNPROCESSABLE_ENTITY);
    };
    match service::update(&ctx.state, &ctx.caller(), id, version, fields, address).await {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/escape-points/{id}"),
            "flash.point_saved",
        )),
        Err(AppError::StaleVersion { current_version }) => {
            // Keep what was typed; saving again is a choice made knowing someone else saved.
            form.set("version", current_version.to_string());
            form.general = Some(crate::web::i18n::t(ctx.lang, "form.stale").to_owned());
            point_form(&ctx, form, Some(id), StatusCode::CONFLICT)
        }
        Err(e) => Err(e),
    }
}

// ----- the occupancy history -----

#[derive(Template)]
#[template(path = "escape_points/occupancy.html")]
struct OccupancyPage {
    page: Page,
    form: Form,
    view: Option<super::api::OccupancyView>,
}

impl OccupancyPage {
    /// A count, or "< threshold" where it is withheld.
    fn count(&self, n: &Option<i64>) -> String {
        match (n, self.view.as_ref().and_then(|v| v.threshold)) {
            (Some(n), _) => n.to_string(),
            (None, Some(t)) => format!("< {t}"),
            (None, None) => "—".to_owned(),
        }
    }
}

async fn occupancy_page(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let mut form = Form::from_pairs(&pairs(req.query_string().as_bytes())?);
    // Default: the current month so far, Rome days.
    let today = crate::clock::rome(ctx.now).date_naive();
    if form.v("from").is_empty() && form.v("to").is_empty() {
        form.set("from", today.with_day(1).unwrap_or(today).to_string());
        form.set("to", today.to_string());
    }
    let mut errors = Vec::new();
    let mut day = |k: &str| match chrono::NaiveDate::parse_from_str(form.v(k).trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(crate::error::FieldError::new(k, "must be a date"));
            None
        }
    };
    let (from, to) = (day("from"), day("to"));
    let period = match (from, to) {
        (Some(f), Some(t)) if errors.is_empty() => match service::Period::new(f, t) {
            Ok(p) => Some(p),
            Err(e) => {
                form.absorb(&e, ctx.lang);
                None
            }
        },
        _ => {
            form.absorb(&AppError::Invalid(errors), ctx.lang);
            None
        }
    };
    let view = match period {
        Some(period) => {
            let (lines, threshold) = service::occupancy(&ctx.state, &ctx.caller(), period.clone()).await?;
            Some(super::api::OccupancyView::of(&period, &lines, threshold))
        }
        None => None,
    };
    let status = if view.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let tpl = OccupancyPage {
        page: Page::new(&ctx, "escape_points.occupancy"),
        form,
        view,
    };
    render_status(&tpl.page, status, &tpl)
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
