//! The network directory (*Mappatura*): anti-violence centres, shelters, social-health services and
//! police contacts by region, province and municipality; importable from CSV (bad lines reported
//! by number); searchable by place. A shelter's address follows the escape points' rule: sealed
//! under a data key of its own (`crate::crypto`), never in a list, shown only to a shift lead on a
//! posted request, every reveal and refusal audited.

use std::io::Read;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::switchboard::BadLine;
use super::vocab::ServiceKind;
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::crypto::{Keyring, Sealed};
use crate::db::schema::helpline_services;
use crate::db::DbConn;
use crate::domain::{Caller, DataKeyId, Province, Region, Role};
use crate::error::AppError;

/// The sealed field of a shelter's address.
pub const ADDRESS_FIELD: &str = "helpline_service.address";

/// A service as given (checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    pub kind: ServiceKind,
    pub name: String,
    /// ISTAT region code.
    pub region: String,
    /// Province *sigla*.
    pub province: String,
    pub municipality: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// A shelter's is sealed; the others' are public.
    pub address: Option<String>,
}

/// A service as listed (a shelter's address never).
#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = helpline_services)]
pub struct Service {
    pub id: i64,
    pub kind: ServiceKind,
    pub name: String,
    /// ISTAT region code.
    pub region: String,
    /// Province *sigla*.
    pub province: String,
    pub municipality: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// `null` for shelters (see the reveal).
    pub address: Option<String>,
}

fn text(field: &'static str, v: &str, max: usize, required: bool) -> Result<Option<String>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return if required {
            Err(AppError::invalid(field, "is required"))
        } else {
            Ok(None)
        };
    }
    if v.chars().count() > max {
        return Err(AppError::invalid(field, "is too long"));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "must not contain control characters"));
    }
    Ok(Some(v.to_owned()))
}

impl NewService {
    /// Checks a service's fields (the province fixes the region when none is given).
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        kind: &str,
        name: &str,
        region: &str,
        province: &str,
        municipality: &str,
        phone: &str,
        email: &str,
        address: &str,
    ) -> Result<NewService, AppError> {
        let kind = ServiceKind::parse(kind).ok_or_else(|| AppError::invalid("kind", "unknown service kind"))?;
        let province = Province::parse(province).ok_or_else(|| AppError::invalid("province", "unknown province"))?;
        let region = match region.trim() {
            "" => province.region.to_owned(),
            r => Region::parse(r)
                .ok_or_else(|| AppError::invalid("region", "unknown region"))?
                .code
                .to_owned(),
        };
        if region != province.region {
            return Err(AppError::invalid("province", "is not in the region"));
        }
        Ok(NewService {
            kind,
            name: text("name", name, 200, true)?.unwrap_or_default(),
            region,
            province: province.sigla.to_owned(),
            municipality: text("municipality", municipality, 100, true)?.unwrap_or_default(),
            phone: text("phone", phone, 40, false)?,
            email: text("email", email, 200, false)?,
            address: text("address", address, 300, false)?,
        })
    }
}

/// Reads a directory CSV (header `kind,name,region,province,municipality,phone,email,address`;
/// `region`, `phone`, `email`, `address` may be blank); bad lines by number.
pub fn read_csv<R: Read>(input: R) -> Result<(Vec<NewService>, Vec<BadLine>), String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = csv
        .headers()
        .map_err(|e| format!("the header cannot be read: {e}"))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(n));
    let need = |n: &str| col(n).ok_or_else(|| format!("no {n} column"));
    let (kind, name, province, municipality) = (need("kind")?, need("name")?, need("province")?, need("municipality")?);
    let (region, phone, email, address) = (col("region"), col("phone"), col("email"), col("address"));
    let (mut out, mut bad) = (Vec::new(), Vec::new());
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                bad.push(BadLine {
                    file: "directory",
                    line,
                    reason: e.to_string(),
                });
                if e.is_io_error() {
                    break;
                }
                continue;
            }
        }
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        match NewService::parse(
            get(Some(kind)),
            get(Some(name)),
            get(region),
            get(Some(province)),
            get(Some(municipality)),
            get(phone),
            get(email),
            get(address),
        ) {
            Ok(s) => out.push(s),
            Err(e) => bad.push(BadLine {
                file: "directory",
                line,
                reason: e.to_string(),
            }),
        }
    }
    Ok((out, bad))
}

#[derive(Insertable)]
#[diesel(table_name = helpline_services, treat_none_as_default_value = false)]
struct Row<'a> {
    kind: ServiceKind,
    name: &'a str,
    region: &'a str,
    province: &'a str,
    municipality: &'a str,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    address: Option<&'a str>,
    sealed_address: Option<Sealed>,
    data_key_id: Option<DataKeyId>,
    created_at: NaiveDateTime,
}

fn exists(conn: &mut DbConn, s: &NewService) -> Result<bool, AppError> {
    Ok(helpline_services::table
        .filter(helpline_services::kind.eq(s.kind))
        .filter(helpline_services::name.eq(&s.name))
        .filter(helpline_services::municipality.eq(&s.municipality))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Stores the services not stored yet (same kind, name and municipality); the number added.
fn insert(conn: &mut DbConn, keys: &Keyring, services: &[NewService], now: NaiveDateTime) -> Result<usize, AppError> {
    let mut added = 0;
    for s in services {
        if exists(conn, s)? {
            continue;
        }
        let (public, sealed, key_id) = match (s.kind, &s.address) {
            (ServiceKind::Shelter, Some(a)) => {
                let (key_id, key) = crate::crypto::store::create(conn, keys, now)?;
                (None, Some(key.seal_str(ADDRESS_FIELD, a)), Some(key_id))
            }
            (_, a) => (a.as_deref(), None, None),
        };
        diesel::insert_into(helpline_services::table)
            .values(Row {
                kind: s.kind,
                name: &s.name,
                region: &s.region,
                province: &s.province,
                municipality: &s.municipality,
                phone: s.phone.as_deref(),
                email: s.email.as_deref(),
                address: public,
                sealed_address: sealed,
                data_key_id: key_id,
                created_at: now,
            })
            .execute(conn)?;
        added += 1;
    }
    Ok(added)
}

/// Adds services (one, from the API, or a CSV's): audited with the count.
pub async fn add(app: &App, caller: &Caller, services: Vec<NewService>) -> Result<usize, AppError> {
    let keys = app.keys();
    let now = app.now();
    audit::write(app, caller, &[], move |tx| {
        let n = insert(tx.conn, &keys, &services, now)?;
        tx.audit(Event::new("helpline.directory_add").detail(format!("added={n}")))?;
        Ok(n)
    })
    .await
}

/// The services of a place: a region (name, or its two-digit ISTAT code), a province (*sigla*,
/// name or three-digit ISTAT code) or a municipality (case-insensitive), centres first.
pub fn search(conn: &mut DbConn, place: &str) -> Result<Vec<Service>, AppError> {
    let place = place.trim();
    // One or two digits: a region's ISTAT code (a province's has three).
    if place.len() <= 2 && place.chars().all(|c| c.is_ascii_digit()) {
        return match Region::parse(place) {
            Some(r) => in_region(conn, r.code),
            None => Ok(Vec::new()),
        };
    }
    let mut q = helpline_services::table.into_boxed::<crate::db::DbBackend>();
    if let Some(p) = Province::parse(place) {
        q = q.filter(helpline_services::province.eq(p.sigla));
    } else if let Some(r) = Region::parse(place) {
        q = q.filter(helpline_services::region.eq(r.code));
    } else {
        let all: Vec<Service> = helpline_services::table
            .select(Service::as_select())
            .order(helpline_services::id)
            .load(conn)?;
        let mut found: Vec<Service> = all
            .into_iter()
            .filter(|s| s.municipality.to_lowercase() == place.to_lowercase())
            .collect();
        found.sort_by_key(|s| (s.kind, s.id));
        return Ok(found);
    }
    let mut found: Vec<Service> = q.select(Service::as_select()).order(helpline_services::id).load(conn)?;
    found.sort_by_key(|s| (s.kind, s.id));
    Ok(found)
}

/// The services of a region, by ISTAT code, centres first.
pub fn in_region(conn: &mut DbConn, region: &str) -> Result<Vec<Service>, AppError> {
    let mut found: Vec<Service> = helpline_services::table
        .filter(helpline_services::region.eq(region))
        .select(Service::as_select())
        .order(helpline_services::id)
        .load(conn)?;
    found.sort_by_key(|s| (s.kind, s.id));
    Ok(found)
}

/// A shelter's address: shift leads (coordinators) only; every reveal and refusal audited.
pub async fn reveal_address(app: &App, caller: &Caller, id: i64) -> Result<Option<String>, AppError> {
    if caller.role != Some(Role::Coordinator) {
        let event = Event::new("helpline.directory_address")
            .entity("helpline_service", id)
            .outcome(Outcome::Denied);
        audit::record_now(app, caller, event).await?;
        return Err(AppError::Forbidden);
    }
    let keys = app.keys();
    audit::write(app, caller, &[], move |tx| {
        let row: Option<(Option<Sealed>, Option<DataKeyId>, Option<String>)> = helpline_services::table
            .find(id)
            .select((
                helpline_services::sealed_address,
                helpline_services::data_key_id,
                helpline_services::address,
            ))
            .first(tx.conn)
            .optional()?;
        let Some((sealed, key_id, public)) = row else {
            return Err(AppError::NotFound);
        };
        let address = match (sealed, key_id) {
            (Some(sealed), Some(k)) => match crate::crypto::store::open(tx.conn, &keys, k)? {
                Some(key) => Some(key.open_str(ADDRESS_FIELD, &sealed).map_err(AppError::internal)?),
                None => None,
            },
            _ => public,
        };
        tx.audit(Event::new("helpline.directory_address").entity("helpline_service", id))?;
        Ok(address)
    })
    .await
}
