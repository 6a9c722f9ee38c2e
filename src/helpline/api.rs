//! `/api/v1/1522/…`: the network protocols with their state, the live routing decision, contact
//! records (schede) and the quarterly report (aggregates only).

use actix_web::http::Method;
use actix_web::HttpResponse;
use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::directory::{self, NewService, Service};
use super::report::Report;
use super::routing::{self, RoutingDecision};
use super::service;
use super::store::ContactFacts;
use super::vocab::{ContactChannel, ContactReason, Contacter, LearnedFrom, ReferralTarget};
use crate::auth::Access;
use crate::domain::{Province, Region, Role};
use crate::error::{AppError, Problem};
use crate::protocols::helpline::{HelplineProtocol, ProtocolKind, ProtocolState};
use crate::web::{ApiJson, ApiQuery, Ctx, RouteDef};

/// The 1522's shift leads and operators: the crisis unit's coordinators and operators staff it.
const DESK: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
/// The desk and the analysts (protocols and the report's aggregates carry no personal data).
const READERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Analyst]);
/// Shift leads.
const LEADS: Access = Access::Roles(&[Role::Coordinator]);
/// Shift leads and analysts.
const REPORTERS: Access = Access::Roles(&[Role::Coordinator, Role::Analyst]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/1522/protocols", READERS, protocols),
        RouteDef::new(Method::GET, "/api/v1/1522/routing", DESK, route),
        RouteDef::new(Method::POST, "/api/v1/1522/contacts", DESK, create_contact),
        RouteDef::new(Method::GET, "/api/v1/1522/report", REPORTERS, report),
        RouteDef::new(Method::GET, "/api/v1/1522/directory", DESK, directory),
        RouteDef::new(
            Method::POST,
            "/api/v1/1522/imports/switchboard",
            LEADS,
            import_switchboard,
        ),
        RouteDef::new(Method::POST, "/api/v1/1522/imports/chats", LEADS, import_chats),
        RouteDef::new(Method::POST, "/api/v1/1522/directory", LEADS, add_service),
        RouteDef::new(
            Method::POST,
            "/api/v1/1522/directory/{id}/address",
            LEADS,
            reveal_address,
        ),
    ]
}

/// A protocol's opening hours.
#[derive(Serialize, ToSchema)]
pub struct HoursView {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, Europe/Rome.
    pub from: String,
    pub to: String,
}

/// A protocol's local referent.
#[derive(Serialize, ToSchema)]
pub struct ReferentView {
    pub name: String,
    pub address: Option<String>,
    pub phone: String,
    pub hours: Vec<HoursView>,
    /// Local closures, `MM-DD`.
    pub closed_on: Vec<String>,
}

/// A signatory.
#[derive(Serialize, ToSchema)]
pub struct PartyView {
    pub group: String,
    pub name: String,
    pub commitments: Vec<String>,
}

/// A network protocol and its state today.
#[derive(Serialize, ToSchema)]
pub struct ProtocolView {
    pub id: String,
    pub title: String,
    /// `atr` (direct transfer from the 1522) or `local_network`.
    pub kind: String,
    /// `in_force`, `expired` or `not_yet_in_force` (Europe/Rome today).
    pub state: String,
    pub source: String,
    pub signed_on: Option<NaiveDate>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: NaiveDate,
    pub validity_note: Option<String>,
    pub operational_meetings_per_year: Option<u32>,
    pub territory_name: String,
    /// Province *sigle*.
    pub provinces: Vec<String>,
    pub municipalities: Vec<String>,
    pub referent: Option<ReferentView>,
    pub parties: Vec<PartyView>,
}

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

pub fn state_code(s: ProtocolState) -> &'static str {
    match s {
        ProtocolState::InForce => "in_force",
        ProtocolState::Expired => "expired",
        ProtocolState::NotYetInForce => "not_yet_in_force",
    }
}

impl ProtocolView {
    pub fn of(p: &HelplineProtocol, today: NaiveDate) -> ProtocolView {
        ProtocolView {
            id: p.id.clone(),
            title: p.title.clone(),
            kind: match p.kind {
                ProtocolKind::Atr => "atr",
                ProtocolKind::LocalNetwork => "local_network",
            }
            .into(),
            state: state_code(p.state(today)).into(),
            source: p.source.clone(),
            signed_on: p.signed_on,
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            validity_note: p.validity_note.clone(),
            operational_meetings_per_year: p.operational_meetings_per_year,
            territory_name: p.territory.name.clone(),
            provinces: p.territory.provinces.clone(),
            municipalities: p.territory.municipalities.clone(),
            referent: p.referent.as_ref().map(|r| ReferentView {
                name: r.name.clone(),
                address: r.address.clone(),
                phone: r.phone.clone(),
                hours: r
                    .hours
                    .iter()
                    .map(|h| HoursView {
                        days: h.days.iter().map(|d| d.to_string().to_lowercase()).collect(),
                        from: hm(h.from),
                        to: hm(h.to),
                    })
                    .collect(),
                closed_on: r.closed_on.iter().map(|(m, d)| format!("{m:02}-{d:02}")).collect(),
            }),
            parties: p
                .parties
                .iter()
                .map(|x| PartyView {
                    group: x.group.clone(),
                    name: x.name.clone(),
                    commitments: x.commitments.clone(),
                })
                .collect(),
        }
    }
}

/// The 1522 network protocols, each with its state today; expired ones stay listed, flagged.
#[utoipa::path(get, path = "/api/v1/1522/protocols", tag = "helpline", operation_id = "list_helpline_protocols",
    responses((status = 200, body = Vec<ProtocolView>)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn protocols(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let today = crate::clock::rome(ctx.now).date_naive();
    let list: Vec<ProtocolView> = ctx
        .state
        .protocols
        .helpline
        .iter()
        .map(|p| ProtocolView::of(p, today))
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// The caller's situation.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoutingQuery {
    /// The caller's province: ISTAT code, *sigla* or name.
    pub province: String,
    /// ISO 639 code of the caller's language (default `it`).
    pub language: Option<String>,
    /// Immediate danger.
    pub emergency: Option<bool>,
}

/// Which mode applies now (Europe/Rome, the service's clock) and what to do: emergency, direct
/// transfer to the open referent of a network territory, referent closed, or national orientation.
#[utoipa::path(get, path = "/api/v1/1522/routing", tag = "helpline", params(RoutingQuery), operation_id = "helpline_routing",
    responses((status = 200, body = RoutingDecision),
        (status = 422, body = Problem, description = "The province or the language cannot be read")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn route(ctx: Ctx, q: ApiQuery<RoutingQuery>) -> Result<HttpResponse, AppError> {
    let q = q.0;
    let province = Province::parse(&q.province).ok_or_else(|| AppError::invalid("province", "unknown province"))?;
    let language = q.language.unwrap_or_else(|| "it".into());
    let ok = (2..=3).contains(&language.trim().len()) && language.trim().chars().all(|c| c.is_ascii_alphabetic());
    if !ok {
        return Err(AppError::invalid(
            "language",
            "must be a language code such as it, en, ro",
        ));
    }
    let now = ctx.now.and_utc();
    let mut d = routing::decide(
        &ctx.state.protocols.helpline,
        &province,
        now,
        &language,
        q.emergency.unwrap_or(false),
    );
    // The province's services; none there: the region's.
    let (sigla, region) = (province.sigla, province.region);
    d.centres = ctx
        .state
        .db
        .read(move |c| {
            let found = directory::search(c, sigla)?;
            if found.is_empty() {
                directory::in_region(c, region)
            } else {
                Ok(found)
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// A contact record (scheda): only contacts with content are recorded.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// RFC 3339 with offset; default now.
    pub contacted_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub channel: ContactChannel,
    pub who: Option<Contacter>,
    /// ISTAT region code or name.
    pub region: Option<String>,
    pub reason: Option<ContactReason>,
    pub learned_from: Option<LearnedFrom>,
    pub first_contact: Option<bool>,
    /// The network protocol (id) of the caller's territory.
    pub atr: Option<String>,
    #[serde(default)]
    pub referrals: Vec<ReferralTarget>,
}

/// The record made.
#[derive(Serialize, ToSchema)]
pub struct ContactCreated {
    pub id: i64,
}

/// Records a contact with its referrals to the network (several per contact).
#[utoipa::path(post, path = "/api/v1/1522/contacts", tag = "helpline", operation_id = "create_helpline_contact",
    request_body = ContactInput, responses((status = 201, body = ContactCreated)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn create_contact(ctx: Ctx, body: ApiJson<ContactInput>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let contacted_at = match b.contacted_at {
        Some(at) => {
            let at = at.naive_utc();
            if (at - ctx.now).num_days().abs() > 366 {
                return Err(AppError::invalid("contacted_at", "must be within a year of today"));
            }
            at
        }
        None => ctx.now,
    };
    let region = match b.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Some(
            Region::parse(r)
                .ok_or_else(|| AppError::invalid("region", "unknown region"))?
                .code
                .to_owned(),
        ),
        None => None,
    };
    let atr = match b.atr.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) if ctx.state.protocols.helpline.iter().any(|p| p.id == a) => Some(a.to_owned()),
        Some(_) => return Err(AppError::invalid("atr", "no such network protocol")),
        None => None,
    };
    let mut referrals = b.referrals;
    referrals.sort();
    referrals.dedup();
    let facts = ContactFacts {
        contacted_at,
        channel: b.channel,
        who: b.who,
        region,
        reason: b.reason,
        learned_from: b.learned_from,
        first_contact: b.first_contact,
        atr,
        referrals,
    };
    let id = service::record_contact(&ctx.state, &ctx.caller(), facts).await?;
    Ok(HttpResponse::Created().json(ContactCreated { id }))
}

/// The period of a report: whole days, Europe/Rome.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
}

/// The quarterly report for any period (seed 000, sections 1–13; see the README for its
/// structure); audited with its period.
#[utoipa::path(get, path = "/api/v1/1522/report", tag = "helpline", params(ReportQuery), operation_id = "helpline_report",
    responses((status = 200, body = Report),
        (status = 422, body = Problem, description = "The period is reversed, too long or out of range")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn report(ctx: Ctx, q: ApiQuery<ReportQuery>) -> Result<HttpResponse, AppError> {
    let r = service::report(&ctx.state, &ctx.caller(), q.0.from, q.0.to, "json").await?;
    Ok(HttpResponse::Ok().json(r))
}

/// The place searched.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// A region (name or two-digit ISTAT code), a province (*sigla*, name or three-digit ISTAT
    /// code) or a municipality.
    pub place: String,
}

/// The network directory of a place: centres, shelters (without their address), social-health
/// services and police contacts.
#[utoipa::path(get, path = "/api/v1/1522/directory", tag = "helpline", params(DirectoryQuery), operation_id = "helpline_directory",
    responses((status = 200, body = Vec<Service>),
        (status = 422, body = Problem, description = "No place given")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn directory(ctx: Ctx, q: ApiQuery<DirectoryQuery>) -> Result<HttpResponse, AppError> {
    let place = q.0.place.trim().to_owned();
    if place.is_empty() || place.chars().count() > 100 || place.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "place",
            "must name a region, province or municipality",
        ));
    }
    let found = ctx.state.db.read(move |c| directory::search(c, &place)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// A service of the directory.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    /// `anti_violence_centre`, `shelter`, `social_health` or `police`.
    pub kind: String,
    pub name: String,
    /// ISTAT code or name; default the province's.
    pub region: Option<String>,
    /// *Sigla*, name or ISTAT code.
    pub province: String,
    pub municipality: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// A shelter's is secret: sealed, shown only on an audited request.
    #[schema(example = "(indirizzo riservato)")]
    pub address: Option<String>,
}

/// What was added.
#[derive(Serialize, ToSchema)]
pub struct ServiceAdded {
    /// 0 when the same kind, name and municipality was already listed.
    pub added: usize,
}

/// Adds a service to the directory (shift leads).
#[utoipa::path(post, path = "/api/v1/1522/directory", tag = "helpline", operation_id = "add_helpline_service",
    request_body = ServiceInput, responses((status = 201, body = ServiceAdded)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn add_service(ctx: Ctx, body: ApiJson<ServiceInput>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let s = NewService::parse(
        &b.kind,
        &b.name,
        b.region.as_deref().unwrap_or(""),
        &b.province,
        &b.municipality,
        b.phone.as_deref().unwrap_or(""),
        b.email.as_deref().unwrap_or(""),
        b.address.as_deref().unwrap_or(""),
    )?;
    let added = directory::add(&ctx.state, &ctx.caller(), vec![s]).await?;
    Ok(HttpResponse::Created().json(ServiceAdded { added }))
}

/// A service's address: a shelter's opened from its seal; audited.
#[derive(Serialize, ToSchema)]
pub struct ServiceAddress {
    pub address: Option<String>,
}

/// Reveals a service's address (a shelter's is sealed) to a shift lead; audited.
#[utoipa::path(post, path = "/api/v1/1522/directory/{id}/address", tag = "helpline", params(("id" = i64, Path)), operation_id = "reveal_helpline_service_address",
    responses((status = 200, body = ServiceAddress),
        (status = 404, body = Problem, description = "No such service")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn reveal_address(ctx: Ctx, id: crate::web::PathId) -> Result<HttpResponse, AppError> {
    let address = directory::reveal_address(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ServiceAddress { address }))
}

/// Asterisk's logs as text (small files; the command line streams large ones).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchboardInput {
    /// cdr_csv's Master.csv.
    pub cdr: String,
    /// queue_log.
    pub queue_log: String,
    /// The zone of the CDR's times (default UTC, as `usegmtime=yes`).
    pub cdr_timezone: Option<String>,
    /// Default `blacklist`.
    pub blacklist_context: Option<String>,
    /// Default `from-internal`.
    pub outgoing_context: Option<String>,
}

/// A line left out.
#[derive(Serialize, ToSchema)]
pub struct BadLineView {
    /// `cdr`, `queue_log` or `chats`.
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportView {
    pub read: usize,
    /// New ones (a re-import adds nothing).
    pub added: usize,
    pub bad_lines: Vec<BadLineView>,
    /// queue_log calls without a CDR line, skipped.
    pub queue_without_cdr: usize,
}

fn bad_view(bad: &[super::switchboard::BadLine]) -> Vec<BadLineView> {
    bad.iter()
        .map(|b| BadLineView {
            file: b.file.to_owned(),
            line: b.line,
            reason: b.reason.clone(),
        })
        .collect()
}

fn context(field: &'static str, v: Option<String>, default: &str) -> Result<String, AppError> {
    match v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(default.to_owned()),
        Some(v) if v.len() <= 80 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => Ok(v),
        Some(_) => Err(AppError::invalid(field, "must be an Asterisk context name")),
    }
}

/// Imports the switchboard's logs: one outcome per call, calls already stored skipped, bad lines
/// named (shift leads; audited with the counts).
#[utoipa::path(post, path = "/api/v1/1522/imports/switchboard", tag = "helpline", operation_id = "import_helpline_switchboard",
    request_body = SwitchboardInput, responses((status = 200, body = ImportView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn import_switchboard(ctx: Ctx, body: ApiJson<SwitchboardInput>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let cdr_timezone = match b.cdr_timezone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
        Some(z) => Some(
            z.parse::<chrono_tz::Tz>()
                .map_err(|_| AppError::invalid("cdr_timezone", "unknown time zone"))?,
        ),
        None => None,
    };
    let opts = super::switchboard::Options {
        cdr_timezone,
        blacklist_context: context("blacklist_context", b.blacklist_context, "blacklist")?,
        outgoing_context: context("outgoing_context", b.outgoing_context, "from-internal")?,
    };
    let mut reader = super::switchboard::Reader::default();
    reader.read_cdr(b.cdr.as_bytes(), &opts, &mut |_| {});
    reader.read_queue_log(b.queue_log.as_bytes(), &mut |_| {});
    let (calls, orphans, bad) = reader.finish();
    let added = service::import_calls(&ctx.state, &ctx.caller(), calls, bad.len()).await?;
    Ok(HttpResponse::Ok().json(ImportView {
        read: added.read,
        added: added.added,
        bad_lines: bad_view(&bad),
        queue_without_cdr: orphans,
    }))
}

/// A chat export as text.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatsInput {
    /// LiveHelperChat's CSV export, or `started_at,channel,first_response_seconds[,id]`.
    pub csv: String,
}

/// Imports chats (shift leads; audited with the counts).
#[utoipa::path(post, path = "/api/v1/1522/imports/chats", tag = "helpline", operation_id = "import_helpline_chats",
    request_body = ChatsInput, responses((status = 200, body = ImportView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn import_chats(ctx: Ctx, body: ApiJson<ChatsInput>) -> Result<HttpResponse, AppError> {
    let (list, bad) = super::chats::read(body.0.csv.as_bytes(), &mut |_| {})
        .map_err(|_| AppError::invalid("csv", "has no usable header"))?;
    let added = service::import_chats(&ctx.state, &ctx.caller(), list, bad.len()).await?;
    Ok(HttpResponse::Ok().json(ImportView {
        read: added.read,
        added: added.added,
        bad_lines: bad_view(&bad),
        queue_without_cdr: 0,
    }))
}
