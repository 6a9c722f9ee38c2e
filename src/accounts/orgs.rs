//! Organisations: referring and partner bodies (seed 004), with kind, region and province.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::rome;
use crate::db::schema::{organisations, users};
use crate::db::DbConn;
use crate::domain::{OrgId, OrgKind, Province, Region, Role, Version};
use crate::error::{AppError, FieldError};

/// An organisation as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = organisations)]
pub struct OrgRow {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    pub section: Option<String>,
    pub region: Option<Region>,
    pub province: Option<Province>,
    pub email: Option<String>,
    pub active: bool,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl OrgRow {
    pub fn region_name(&self) -> Option<&'static str> {
        self.region.map(|r| r.name)
    }

    pub fn province_name(&self) -> Option<&'static str> {
        self.province.map(|p| p.name)
    }
}

/// An organisation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: i64,
    pub name: String,
    pub kind: OrgKind,
    /// Section of a territorial commission (e.g. "Sezione di Padova").
    pub section: Option<String>,
    /// ISTAT region code.
    pub region: Option<String>,
    /// ISTAT province code.
    pub province: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<OrgRow> for OrgView {
    fn from(r: OrgRow) -> Self {
        OrgView {
            kind: r.kind,
            id: r.id.get(),
            name: r.name,
            section: r.section,
            region: r.region.map(|r| r.code.to_owned()),
            province: r.province.map(|p| p.code.to_owned()),
            email: r.email,
            active: r.active,
            version: r.version.get(),
            created_at: rome(r.created_at),
            updated_at: rome(r.updated_at),
        }
    }
}

/// Raw organisation fields from a form or JSON body, before their rules are checked.
#[derive(Clone, Debug, Default)]
pub struct OrgInput {
    pub name: String,
    pub kind: String,
    pub section: Option<String>,
    pub region: Option<String>,
    pub province: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
}

/// Checked organisation fields.
#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = organisations, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct OrgFields {
    pub name: String,
    pub kind: OrgKind,
    pub section: Option<String>,
    pub region: Option<Region>,
    pub province: Option<Province>,
    pub email: Option<String>,
    pub active: bool,
}

impl OrgInput {
    /// Checks every field and reports all problems at once.
    pub fn parse(&self) -> Result<OrgFields, AppError> {
        let mut errors = Vec::new();
        let name = self.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            errors.push(FieldError::new("name", "is required"));
        } else if name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be at most 200 characters long"));
        }
        let kind = OrgKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new("kind", "is not a known kind of organisation"));
        }
        let blank = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let section = blank(&self.section);
        if section.is_some() && kind.is_some() && kind != Some(OrgKind::TerritorialCommission) {
            errors.push(FieldError::new(
                "section",
                "only a territorial commission has a section",
            ));
        }
        if section.as_deref().is_some_and(|s| s.chars().count() > 100) {
            errors.push(FieldError::new("section", "must be at most 100 characters long"));
        }
        let province = match blank(&self.province) {
            None => None,
            Some(p) => match Province::parse(&p) {
                Some(p) => Some(p),
                None => {
                    errors.push(FieldError::new(
                        "province",
                        "is not an Italian province (ISTAT code or sigla)",
                    ));
                    None
                }
            },
        };
        let mut region = match blank(&self.region) {
            None => None,
            Some(r) => match Region::parse(&r) {
                Some(r) => Some(r),
                None => {
                    errors.push(FieldError::new(
                        "region",
                        "is not an Italian region (ISTAT code or name)",
                    ));
                    None
                }
            },
        };
        if let Some(p) = province {
            match region {
                Some(r) if r.code != p.region => {
                    errors.push(FieldError::new("province", "is not in the region given"));
                }
                None => region = Some(p.region()),
                _ => {}
            }
        }
        let email = match crate::domain::parse_email(self.email.as_deref()) {
            Ok(e) => e,
            Err(m) => {
                errors.push(FieldError::new("email", m));
                None
            }
        };
        match kind {
            Some(kind) if errors.is_empty() => Ok(OrgFields {
                name,
                kind,
                section,
                region,
                province,
                email,
                active: self.active.unwrap_or(true),
            }),
            _ => Err(AppError::Invalid(errors)),
        }
    }
}

pub fn list(conn: &mut DbConn) -> Result<Vec<OrgRow>, AppError> {
    Ok(organisations::table
        .select(OrgRow::as_select())
        .order((organisations::name.asc(), organisations::id.asc()))
        .load(conn)?)
}

/// The organisation an account or a token with `role` is to act for: it exists and is active,
/// and the commission role acts only for a territorial commission. Refusals name `org_id`.
pub fn check_acts_for(conn: &mut DbConn, id: OrgId, role: Role) -> Result<OrgRow, AppError> {
    let org = get(conn, id).map_err(|e| match e {
        AppError::NotFound => AppError::invalid("org_id", "no such organisation"),
        other => other,
    })?;
    if !org.active {
        return Err(AppError::invalid("org_id", "the organisation is not active"));
    }
    if role == Role::Commission && org.kind != OrgKind::TerritorialCommission {
        return Err(AppError::invalid(
            "org_id",
            "the commission role acts only for a territorial commission",
        ));
    }
    Ok(org)
}

pub fn get(conn: &mut DbConn, id: OrgId) -> Result<OrgRow, AppError> {
    Ok(organisations::table.find(id).select(OrgRow::as_select()).first(conn)?)
}

pub fn insert(conn: &mut DbConn, f: &OrgFields, now: NaiveDateTime) -> Result<OrgRow, AppError> {
    Ok(diesel::insert_into(organisations::table)
        .values((
            f,
            organisations::version.eq(Version::FIRST),
            organisations::created_at.eq(now),
            organisations::updated_at.eq(now),
        ))
        .returning(crate::db::columns::<OrgRow>())
        .get_result::<OrgRow>(conn)?)
}

/// Replaces an organisation's fields if it is still at `expected_version`.
pub fn update(
    conn: &mut DbConn,
    id: OrgId,
    expected_version: Version,
    f: &OrgFields,
    now: NaiveDateTime,
) -> Result<OrgRow, AppError> {
    let current = get(conn, id)?;
    if current.version != expected_version {
        return Err(AppError::StaleVersion {
            current_version: current.version.get(),
        });
    }
    if current.kind == OrgKind::TerritorialCommission && f.kind != OrgKind::TerritorialCommission {
        let commission_users: i64 = users::table
            .filter(users::org_id.eq(id))
            .filter(users::role.eq(Role::Commission))
            .count()
            .get_result(conn)?;
        if commission_users > 0 {
            return Err(AppError::invalid(
                "kind",
                "commission accounts belong to this organisation: it must stay a territorial commission",
            ));
        }
    }
    let updated: Option<OrgRow> = diesel::update(
        organisations::table
            .filter(organisations::id.eq(id))
            .filter(organisations::version.eq(expected_version)),
    )
    .set((
        f,
        organisations::version.eq(expected_version.next()),
        organisations::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<OrgRow>())
    .get_result::<OrgRow>(conn)
    .optional()?;
    match updated {
        Some(row) => Ok(row),
        None => Err(AppError::StaleVersion {
            current_version: get(conn, id)?.version.get(),
        }),
    }
}
