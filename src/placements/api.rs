//! `/api/v1/escape-points` and `/api/v1/placements`: the registry of escape points, the live
//! availability board, the reveal of an address, holds and placements of a case. No answer but
//! the reveal carries an address.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::lifecycle::PlacementAction;
use super::service::{self, BoardLine, Need};
use super::store::{PlacementRow, Point, PointFields};
use super::vocab::{CheckOutReason, PlaceType, PlacementKind, PlacementStatus, PointStatus, TurnAwayReason};
use crate::auth::Access;
use crate::clock::rome;
use crate::domain::{CaseId, Province, Role};
use crate::error::{AppError, FieldError, Problem};
use crate::referrals::vocab::Gender;
use crate::web::json::versioned;
use crate::web::{expected_version, ApiJson, ApiQuery, Ctx, PathId, RouteDef};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const COORDINATOR: Access = Access::Roles(&[Role::Coordinator]);
/// The unit and the observatory's analysts (who see small counts withheld).
const OBSERVERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Analyst]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/escape-points", UNIT, list_points),
        RouteDef::new(Method::POST, "/api/v1/escape-points", COORDINATOR, create_point),
        RouteDef::new(Method::GET, "/api/v1/escape-points/board", UNIT, board),
        RouteDef::new(Method::GET, "/api/v1/escape-points/occupancy", OBSERVERS, occupancy),
        RouteDef::new(Method::GET, "/api/v1/escape-points/{id}", UNIT, get_point),
        RouteDef::new(Method::PATCH, "/api/v1/escape-points/{id}", COORDINATOR, update_point),
        RouteDef::new(Method::POST, "/api/v1/escape-points/{id}/address", UNIT, reveal_address),
        RouteDef::new(Method::GET, "/api/v1/placements", UNIT, list_placements),
        RouteDef::new(Method::POST, "/api/v1/placements", UNIT, create_placement),
        RouteDef::new(Method::POST, "/api/v1/placements/{id}/check-in", UNIT, check_in),
        RouteDef::new(Method::POST, "/api/v1/placements/{id}/check-out", UNIT, check_out),
        RouteDef::new(Method::POST, "/api/v1/placements/{id}/release", UNIT, release),
        RouteDef::new(Method::POST, "/api/v1/placements/{id}/turn-away", UNIT, turn_away),
    ]
}

// ----- views -----

/// An escape point (punto di fuga), without its address.
#[derive(Serialize, ToSchema)]
pub struct PointView {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// Province *sigla*.
    pub province: String,
    pub beds: i32,
    pub family_rooms: i32,
    pub takes_women: bool,
    pub takes_men: bool,
    pub takes_minors: bool,
    pub takes_children: bool,
    pub takes_trans: bool,
    pub accessible: bool,
    /// ISO 639 codes of the staff's languages.
    pub languages: Vec<String>,
    /// The 24/7 route to activate the place (not secret).
    pub contact_phone: String,
    pub status: PointStatus,
    pub suspended_reason: Option<String>,
    /// An example written at the first start, not a real place.
    pub example: bool,
    /// Whether an address is on file (see the reveal).
    pub has_address: bool,
    pub version: i64,
}

impl PointView {
    pub fn of(p: &Point) -> PointView {
        let r = &p.row;
        PointView {
            id: r.id,
            code: r.code.clone(),
            name: r.name.clone(),
            province: r.province.sigla.to_owned(),
            beds: r.beds,
            family_rooms: r.family_rooms,
            takes_women: r.takes_women,
            takes_men: r.takes_men,
            takes_minors: r.takes_minors,
            takes_children: r.takes_children,
            takes_trans: r.takes_trans,
            accessible: r.accessible,
            languages: p.languages.clone(),
            contact_phone: r.contact_phone.clone(),
            status: r.status,
            suspended_reason: r.suspended_reason.clone(),
            example: r.example,
            has_address: r.has_address,
            version: r.version.get(),
        }
    }
}

/// A line of the availability board.
#[derive(Serialize, ToSchema)]
pub struct BoardLineView {
    pub point: PointView,
    pub free_beds: i64,
    pub free_family_rooms: i64,
    /// Holds pending (unexpired), by place type.
    pub held_beds: i64,
    pub held_family_rooms: i64,
    /// Free places of the type the person needs (a family room with children, else a bed).
    pub free_needed: i64,
    /// From the emergence province (coarse: see the README).
    pub distance_km: Option<u32>,
}

impl BoardLineView {
    pub fn of(l: &BoardLine) -> BoardLineView {
        BoardLineView {
            point: PointView::of(&l.point),
            free_beds: l.free_beds,
            free_family_rooms: l.free_family_rooms,
            held_beds: l.held_beds,
            held_family_rooms: l.held_family_rooms,
            free_needed: l.free_needed,
            distance_km: l.km,
        }
    }
}

/// A point named, without its address.
#[derive(Serialize, ToSchema)]
pub struct PointRef {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub contact_phone: String,
}

/// A hold, placement or turn-away.
#[derive(Serialize, ToSchema)]
pub struct PlacementView {
    pub id: i64,
    pub case_id: i64,
    pub point: PointRef,
    pub kind: PlacementKind,
    pub place_type: PlaceType,
    pub status: PlacementStatus,
    /// When a hold lapses by itself.
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub checked_in_at: Option<DateTime<FixedOffset>>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    pub check_out_reason: Option<CheckOutReason>,
    pub turn_away_reason: Option<TurnAwayReason>,
    pub created_at: DateTime<FixedOffset>,
    pub version: i64,
}

impl PlacementView {
    pub fn of(r: &PlacementRow, p: &Point, now: chrono::NaiveDateTime) -> PlacementView {
        // A hold past its expiry reads as expired before the job marks it.
        let status = if r.status == PlacementStatus::Held && !r.occupies(now) {
            PlacementStatus::Expired
        } else {
            r.status
        };
        PlacementView {
            id: r.id,
            case_id: r.case_id.get(),
            point: PointRef {
                id: p.row.id,
                code: p.row.code.clone(),
                name: p.row.name.clone(),
                contact_phone: p.row.contact_phone.clone(),
            },
            kind: r.kind,
            place_type: r.place_type,
            status,
            expires_at: r.expires_at.map(rome),
            checked_in_at: r.checked_in_at.map(rome),
            ended_at: r.ended_at.map(rome),
            check_out_reason: r.check_out_reason,
            turn_away_reason: r.turn_away_reason,
            created_at: rome(r.created_at),
            version: r.version.get(),
        }
    }
}

/// The address of a point, revealed once.
#[derive(Serialize, ToSchema)]
pub struct AddressView {
    /// `null` when none is on file.
    pub address: Option<String>,
}

// ----- inputs -----

/// A new point.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPointInput {
    /// Unique, unchangeable.
    pub code: String,
    pub name: String,
    /// ISTAT code, *sigla* or name.
    pub province: String,
    /// Secret: sealed at rest, shown only on an audited request.
    #[schema(example = "(indirizzo riservato)")]
    pub address: Option<String>,
    pub beds: i32,
    #[serde(default)]
    pub family_rooms: i32,
    #[serde(default)]
    pub takes_women: bool,
    #[serde(default)]
    pub takes_men: bool,
    #[serde(default)]
    pub takes_minors: bool,
    #[serde(default)]
    pub takes_children: bool,
    #[serde(default)]
    pub takes_trans: bool,
    #[serde(default)]
    pub accessible: bool,
    #[serde(default)]
    pub languages: Vec<String>,
    pub contact_phone: String,
    /// Default `active`; `suspended` needs a reason.
    pub status: Option<PointStatus>,
    pub suspended_reason: Option<String>,
}

/// A point as a coordinator changes it (its code stays).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointInput {
    pub name: String,
    /// ISTAT code, *sigla* or name.
    pub province: String,
    /// Secret: sealed at rest, shown only on an audited request. Absent on an update: unchanged.
    #[schema(example = "(indirizzo riservato)")]
    pub address: Option<String>,
    pub beds: i32,
    #[serde(default)]
    pub family_rooms: i32,
    #[serde(default)]
    pub takes_women: bool,
    #[serde(default)]
    pub takes_men: bool,
    #[serde(default)]
    pub takes_minors: bool,
    #[serde(default)]
    pub takes_children: bool,
    #[serde(default)]
    pub takes_trans: bool,
    #[serde(default)]
    pub accessible: bool,
    #[serde(default)]
    pub languages: Vec<String>,
    pub contact_phone: String,
    /// Default `active`; `suspended` needs a reason.
    pub status: Option<PointStatus>,
    pub suspended_reason: Option<String>,
    /// The version read.
    pub version: Option<i64>,
}

impl NewPointInput {
    fn split(self) -> (String, PointInput) {
        (
            self.code,
            PointInput {
                name: self.name,
                province: self.province,
                address: self.address,
                beds: self.beds,
                family_rooms: self.family_rooms,
                takes_women: self.takes_women,
                takes_men: self.takes_men,
                takes_minors: self.takes_minors,
                takes_children: self.takes_children,
                takes_trans: self.takes_trans,
                accessible: self.accessible,
                languages: self.languages,
                contact_phone: self.contact_phone,
                status: self.status,
                suspended_reason: self.suspended_reason,
                version: None,
            },
        )
    }
}

fn text(field: &'static str, v: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = v.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(field, "is too long"));
    }
    v.to_owned()
}

/// A new point's code: required, at most 20 characters.
pub(super) fn point_code(v: &str, errors: &mut Vec<FieldError>) -> String {
    text("code", v, 20, errors)
}

impl NewPointInput {
    /// The code, the fields and the address, or every error at once.
    pub(super) fn parse(self) -> Result<(String, PointFields, Option<String>), AppError> {
        let mut errors = Vec::new();
        let code = point_code(&self.code, &mut errors);
        let (_, b) = self.split();
        match b.fields_into(errors) {
            Ok((fields, address)) => Ok((code, fields, address)),
            Err(e) => Err(e),
        }
    }
}

impl PointInput {
    pub(super) fn fields(&self) -> Result<(PointFields, Option<String>), AppError> {
        self.fields_into(Vec::new())
    }

    /// Checks every field, adding to `errors` found before; fails with all of them.
    pub(super) fn fields_into(&self, mut errors: Vec<FieldError>) -> Result<(PointFields, Option<String>), AppError> {
        let province = Province::parse(&self.province);
        if province.is_none() {
            errors.push(FieldError::new("province", "unknown province"));
        }
        if !(0..=500).contains(&self.beds) {
            errors.push(FieldError::new("beds", "must be between 0 and 500"));
        }
        if !(0..=500).contains(&self.family_rooms) {
            errors.push(FieldError::new("family_rooms", "must be between 0 and 500"));
        }
        let mut languages = Vec::new();
        for l in &self.languages {
            match crate::domain::parse_language(l) {
                Some(l) if !languages.contains(&l) => languages.push(l),
                Some(_) => {}
                None => {
                    errors.push(FieldError::new(
                        "languages",
                        "must be language codes such as it, en, ro",
                    ));
                    break;
                }
            }
        }
        let status = self.status.unwrap_or(PointStatus::Active);
        let suspended_reason = match (status, self.suspended_reason.as_deref().map(str::trim)) {
            (PointStatus::Suspended, Some(r)) if !r.is_empty() => Some(text("suspended_reason", r, 500, &mut errors)),
            (PointStatus::Suspended, _) => {
                errors.push(FieldError::new("suspended_reason", "is required to suspend"));
                None
            }
            (PointStatus::Active, _) => None,
        };
        let address = self.address.as_deref().map(|a| text("address", a, 500, &mut errors));
        let name = text("name", &self.name, 200, &mut errors);
        let contact_phone = text("contact_phone", &self.contact_phone, 100, &mut errors);
        match province {
            Some(province) if errors.is_empty() => Ok((
                PointFields {
                    name,
                    province,
                    beds: self.beds,
                    family_rooms: self.family_rooms,
                    takes_women: self.takes_women,
                    takes_men: self.takes_men,
                    takes_minors: self.takes_minors,
                    takes_children: self.takes_children,
                    takes_trans: self.takes_trans,
                    accessible: self.accessible,
                    contact_phone,
                    languages,
                    status,
                    suspended_reason,
                },
                address,
            )),
            _ => Err(AppError::Invalid(errors)),
        }
    }
}

fn point_response(status: StatusCode, p: &Point) -> HttpResponse {
    versioned(status, &PointView::of(p), p.row.version, None)
}

// ----- handlers -----

/// Escape points, by code (without addresses).
#[utoipa::path(get, path = "/api/v1/escape-points", tag = "escape-points", operation_id = "list_escape_points",
    responses((status = 200, body = Vec<PointView>)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list_points(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let points = service::list(&ctx.state, &ctx.caller()).await?;
    Ok(HttpResponse::Ok().json(points.iter().map(PointView::of).collect::<Vec<_>>()))
}

/// Adds an escape point (coordinators).
#[utoipa::path(post, path = "/api/v1/escape-points", tag = "escape-points", operation_id = "create_escape_point",
    request_body = NewPointInput, responses((status = 201, body = PointView),
        (status = 409, body = Problem, description = "Another point has the code")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create_point(ctx: Ctx, body: ApiJson<NewPointInput>) -> Result<HttpResponse, AppError> {
    let (code, fields, address) = body.0.parse()?;
    let p = service::create(&ctx.state, &ctx.caller(), code, fields, address).await?;
    Ok(point_response(StatusCode::CREATED, &p))
}

/// An escape point (without its address).
#[utoipa::path(get, path = "/api/v1/escape-points/{id}", tag = "escape-points", params(("id" = i64, Path)), operation_id = "get_escape_point",
    responses((status = 200, body = PointView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get_point(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    let p = service::get(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(point_response(StatusCode::OK, &p))
}

/// Changes an escape point: capacity, whom it takes, suspension with a reason (coordinators).
#[utoipa::path(patch, path = "/api/v1/escape-points/{id}", tag = "escape-points", params(("id" = i64, Path)), operation_id = "update_escape_point",
    request_body = PointInput, responses((status = 200, body = PointView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn update_point(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId,
    body: ApiJson<PointInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let expected = expected_version(&req, b.version)?;
    let (fields, address) = b.fields()?;
    let p = service::update(&ctx.state, &ctx.caller(), id.0, expected, fields, address).await?;
    Ok(point_response(StatusCode::OK, &p))
}

/// Who is to be placed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    pub gender: Option<Gender>,
    pub minor: Option<bool>,
    /// With children: needs a family room.
    pub children: Option<bool>,
    /// ISO 639 code the staff must speak.
    pub language: Option<String>,
    pub accessible: Option<bool>,
    /// Emergence province (ISTAT code, *sigla* or name): places nearer first.
    pub province: Option<String>,
}

impl BoardQuery {
    pub fn need(&self) -> Result<Need, AppError> {
        let language = match self.language.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(l) => Some(
                crate::domain::parse_language(l)
                    .ok_or_else(|| AppError::invalid("language", "must be a language code such as it, en, ro"))?,
            ),
            None => None,
        };
        let province = match self.province.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(p) => Some(Province::parse(p).ok_or_else(|| AppError::invalid("province", "unknown province"))?),
            None => None,
        };
        Ok(Need {
            gender: self.gender,
            minor: self.minor.unwrap_or(false),
            children: self.children.unwrap_or(false),
            language,
            accessible: self.accessible.unwrap_or(false),
            province,
        })
    }
}

/// The availability board: the places that can take this person now, free places and pending
/// holds, ranked by fit then distance from the emergence province.
#[utoipa::path(get, path = "/api/v1/escape-points/board", tag = "escape-points", params(BoardQuery), operation_id = "escape_point_board",
    responses((status = 200, body = Vec<BoardLineView>),
        (status = 422, body = Problem, description = "A filter names no province or language")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn board(ctx: Ctx, q: ApiQuery<BoardQuery>) -> Result<HttpResponse, AppError> {
    let need = q.0.need()?;
    let lines = service::board(&ctx.state, &ctx.caller(), need).await?;
    Ok(HttpResponse::Ok().json(lines.iter().map(BoardLineView::of).collect::<Vec<_>>()))
}

/// Reveals a point's address to a coordinator or to the operator handling an open hold or
/// placement there; audited, refusals included.
#[utoipa::path(post, path = "/api/v1/escape-points/{id}/address", tag = "escape-points", params(("id" = i64, Path)), operation_id = "reveal_escape_point_address",
    responses((status = 200, body = AddressView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn reveal_address(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    let address = service::reveal_address(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(AddressView { address }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlacementQuery {
    pub case_id: i64,
}

/// A case's holds, placements and turn-aways, oldest first: the person's journey through places.
#[utoipa::path(get, path = "/api/v1/placements", tag = "placements", params(PlacementQuery), operation_id = "list_placements",
    responses((status = 200, body = Vec<PlacementView>),
        (status = 404, body = Problem, description = "No such case, or not one the caller may see")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list_placements(ctx: Ctx, q: ApiQuery<PlacementQuery>) -> Result<HttpResponse, AppError> {
    let rows = service::of_case(&ctx.state, &ctx.caller(), CaseId::from(q.0.case_id)).await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(|(r, p)| PlacementView::of(r, p, ctx.now))
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementInput {
    pub case_id: i64,
    pub point_id: i64,
    /// `hold` keeps the place for `VARCO_HOLD_MINUTES` while transport is arranged.
    pub kind: PlacementKind,
    #[serde(default = "bed")]
    pub place_type: PlaceType,
}

fn bed() -> PlaceType {
    PlaceType::Bed
}

async fn placement_response(ctx: &Ctx, r: &PlacementRow, status: StatusCode) -> Result<HttpResponse, AppError> {
    let p = service::get(&ctx.state, &ctx.caller(), r.point_id).await?;
    Ok(versioned(status, &PlacementView::of(r, &p, ctx.now), r.version, None))
}

/// Holds or takes a place for a case's person; 409 naming the place when none of the type is
/// free (holds count) or the place is suspended.
#[utoipa::path(post, path = "/api/v1/placements", tag = "placements", operation_id = "create_placement",
    request_body = PlacementInput, responses((status = 201, body = PlacementView),
        (status = 404, body = Problem, description = "No such case or point, or a case the caller may not see"),
        (status = 409, body = Problem, description = "No free place of the type at the point, or the point is suspended")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create_placement(ctx: Ctx, body: ApiJson<PlacementInput>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let r = service::place(
        &ctx.state,
        &ctx.caller(),
        CaseId::from(b.case_id),
        b.point_id,
        b.kind,
        b.place_type,
    )
    .await?;
    placement_response(&ctx, &r, StatusCode::CREATED).await
}

/// The person arrived (a hold or an expected placement).
#[utoipa::path(post, path = "/api/v1/placements/{id}/check-in", tag = "placements", params(("id" = i64, Path)), operation_id = "check_in_placement",
    responses((status = 200, body = PlacementView),
        (status = 409, body = Problem, description = "The placement's state does not allow this (`state`, `action`)")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn check_in(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    let r = service::act(&ctx.state, &ctx.caller(), id.0, PlacementAction::CheckIn, None, None).await?;
    placement_response(&ctx, &r, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckOutInput {
    pub reason: CheckOutReason,
}

/// The person left the place, with the reason.
#[utoipa::path(post, path = "/api/v1/placements/{id}/check-out", tag = "placements", params(("id" = i64, Path)), operation_id = "check_out_placement",
    request_body = CheckOutInput, responses((status = 200, body = PlacementView),
        (status = 409, body = Problem, description = "The placement's state does not allow this (`state`, `action`)")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn check_out(ctx: Ctx, id: PathId, body: ApiJson<CheckOutInput>) -> Result<HttpResponse, AppError> {
    let r = service::act(
        &ctx.state,
        &ctx.caller(),
        id.0,
        PlacementAction::CheckOut,
        Some(body.0.reason),
        None,
    )
    .await?;
    placement_response(&ctx, &r, StatusCode::OK).await
}

/// A hold (or an expected placement) let go: the place is free again.
#[utoipa::path(post, path = "/api/v1/placements/{id}/release", tag = "placements", params(("id" = i64, Path)), operation_id = "release_placement",
    responses((status = 200, body = PlacementView),
        (status = 409, body = Problem, description = "The placement's state does not allow this (`state`, `action`)")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn release(ctx: Ctx, id: PathId) -> Result<HttpResponse, AppError> {
    let r = service::act(&ctx.state, &ctx.caller(), id.0, PlacementAction::Release, None, None).await?;
    placement_response(&ctx, &r, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnAwayInput {
    pub reason: TurnAwayReason,
}

/// The person was not taken in, with the reason; the place is free again.
#[utoipa::path(post, path = "/api/v1/placements/{id}/turn-away", tag = "placements", params(("id" = i64, Path)), operation_id = "turn_away_placement",
    request_body = TurnAwayInput, responses((status = 200, body = PlacementView),
        (status = 409, body = Problem, description = "The placement's state does not allow this (`state`, `action`)")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn turn_away(ctx: Ctx, id: PathId, body: ApiJson<TurnAwayInput>) -> Result<HttpResponse, AppError> {
    let r = service::act(
        &ctx.state,
        &ctx.caller(),
        id.0,
        PlacementAction::TurnAway,
        None,
        Some(body.0.reason),
    )
    .await?;
    placement_response(&ctx, &r, StatusCode::OK).await
}

/// The period of the occupancy history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OccupancyQuery {
    /// First day (YYYY-MM-DD, Europe/Rome).
    pub from: NaiveDate,
    /// Last day, included (YYYY-MM-DD, Europe/Rome); at most 366 days after `from`'s start.
    pub to: NaiveDate,
}

/// The occupancy of one place type over the period. A count under the disclosure threshold is
/// `null` for an observatory analyst, with `suppressed` set.
#[derive(Serialize, ToSchema)]
pub struct OccupancyLineView {
    pub place_type: PlaceType,
    /// Placements started in the period (checked in, or placed and expected).
    pub placements: Option<i64>,
    /// Nights spent in the period (a night counts when its closing midnight passes during a stay).
    pub nights: Option<i64>,
    /// Persons turned away for lack of space (`no_space`) in the period.
    pub turned_away_no_space: Option<i64>,
    /// Some count of this line is withheld (under the disclosure threshold).
    pub suppressed: bool,
}

/// The occupancy history: aggregates by place type only, no point named.
#[derive(Serialize, ToSchema)]
pub struct OccupancyView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The disclosure threshold applied (`null`: exact counts, for the unit).
    pub threshold: Option<i64>,
    pub lines: Vec<OccupancyLineView>,
}

impl OccupancyView {
    pub fn of(period: &service::Period, lines: &[service::Occupancy], threshold: Option<i64>) -> OccupancyView {
        OccupancyView {
            from: period.from,
            to: period.to,
            threshold,
            lines: lines
                .iter()
                .map(|o| {
                    let mut suppressed = false;
                    let mut shown = |n: i64| match threshold {
                        Some(t) if n > 0 && n < t => {
                            suppressed = true;
                            None
                        }
                        _ => Some(n),
                    };
                    let (placements, nights, turned_away_no_space) =
                        (shown(o.placements), shown(o.nights), shown(o.turned_away));
                    OccupancyLineView {
                        place_type: o.place_type,
                        placements,
                        nights,
                        turned_away_no_space,
                        suppressed,
                    }
                })
                .collect(),
        }
    }
}

/// The occupancy history for the observatory, by place type (`bed`, `family_room`): placements
/// started, nights spent and turn-aways for lack of space in a period of Europe/Rome days; audited.
/// Analysts see counts under `VARCO_DISCLOSURE_THRESHOLD` withheld (zero is shown).
#[utoipa::path(get, path = "/api/v1/escape-points/occupancy", tag = "escape-points", params(OccupancyQuery), operation_id = "escape_point_occupancy",
    responses((status = 200, body = OccupancyView),
        (status = 400, body = Problem, description = "A day is missing or malformed, `to` is before `from`, or the period is longer than 366 days (`errors` names the field)")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn occupancy(ctx: Ctx, q: ApiQuery<OccupancyQuery>) -> Result<HttpResponse, AppError> {
    let period = service::Period::new(q.0.from, q.0.to)?;
    let (lines, threshold) = service::occupancy(&ctx.state, &ctx.caller(), period.clone()).await?;
    Ok(HttpResponse::Ok().json(OccupancyView::of(&period, &lines, threshold)))
}
