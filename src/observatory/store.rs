//! The observatory's queries: one `GROUP BY` over the referrals of the period and territory for
//! the cells, one per margin when the margins are not sums of cells (persons, cases, multi-valued
//! indicators: a person or a case is counted once in a total even when it falls in two cells), and
//! one for the person links. Indicators are SQL expressions over typed columns and rows (never
//! over comma-joined text); every literal in them comes from Varco's own tables (ISTAT codes,
//! vocabulary codes, instants formatted here), never from the request.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::model::{
    Indicator, Measure, Period, Spec, Table, Territory, TerritoryBasis, ALL, MEANS_OF_CONTROL, PROTECTION_SOURCES,
    UNKNOWN,
};
use crate::db::DbConn;
use crate::domain::territory::{PROVINCES, REGIONS};
use crate::domain::Province;
use crate::error::AppError;

fn ts(at: NaiveDateTime) -> String {
    format!("'{}'", at.format("%Y-%m-%d %H:%M:%S"))
}

fn quoted(codes: impl IntoIterator<Item = &'static str>) -> String {
    codes
        .into_iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CASE` mapping a province column to its region's code.
fn region_of(column: &str) -> String {
    let mut sql = String::from("CASE");
    for r in REGIONS {
        let provinces = quoted(PROVINCES.iter().filter(|p| p.region == r.code).map(|p| p.code));
        if !provinces.is_empty() {
            sql.push_str(&format!(" WHEN {column} IN ({provinces}) THEN '{}'", r.code));
        }
    }
    sql.push_str(&format!(" ELSE '{UNKNOWN}' END"));
    sql
}

/// The joins an indicator needs, by alias.
fn joins_of(ind: Indicator) -> Option<(&'static str, String)> {
    match ind {
        Indicator::ExploitationType => Some((
            "re",
            "LEFT JOIN referral_exploitation re ON re.referral_id = r.id".to_owned(),
        )),
        Indicator::Outcome => Some((
            "co",
            "LEFT JOIN case_referrals ocr ON ocr.referral_id = r.id LEFT JOIN case_outcomes co ON co.case_id = ocr.case_id"
                .to_owned(),
        )),
        Indicator::MeansOfControl => Some((
            "ri",
            format!(
                "LEFT JOIN referral_indicators ri ON ri.referral_id = r.id AND ri.indicator IN ({})",
                quoted(MEANS_OF_CONTROL.iter().map(|(id, _)| *id))
            ),
        )),
        _ => None,
    }
}

/// The SQL expression of an indicator's value (text, never NULL).
fn expr_of(ind: Indicator, period: &Period) -> Result<String, AppError> {
    Ok(match ind {
        Indicator::Gender => "r.person_gender".to_owned(),
        Indicator::AgeBand => format!("COALESCE(r.person_age_band, '{UNKNOWN}')"),
        Indicator::Minor => "CASE WHEN r.person_minor THEN 'yes' ELSE 'no' END".to_owned(),
        Indicator::EmergenceRegion => region_of("r.emergence_province"),
        Indicator::EmergenceProvince => format!("COALESCE(r.emergence_province, '{UNKNOWN}')"),
        Indicator::ExploitationRegion => region_of("r.exploitation_province"),
        Indicator::ExploitationProvince => format!("COALESCE(r.exploitation_province, '{UNKNOWN}')"),
        Indicator::ExploitationType => format!("COALESCE(re.exploitation, '{UNKNOWN}')"),
        Indicator::SourceKind => "r.source_kind".to_owned(),
        Indicator::InternationalProtection => format!(
            "CASE WHEN r.source_kind IN ({}) THEN 'yes' ELSE 'no' END",
            quoted(PROTECTION_SOURCES.iter().map(|s| s.as_str()))
        ),
        Indicator::Channel => "r.channel".to_owned(),
        Indicator::Citizenship => format!("COALESCE(r.person_citizenship, '{UNKNOWN}')"),
        Indicator::Outcome => "COALESCE(co.kind, 'none')".to_owned(),
        Indicator::MeansOfControl => {
            let mut sql = String::from("CASE ri.indicator");
            for (id, m) in MEANS_OF_CONTROL {
                sql.push_str(&format!(" WHEN '{id}' THEN '{}'", m.as_str()));
            }
            sql.push_str(" ELSE 'not_specified' END");
            sql
        }
        Indicator::Status => "r.status".to_owned(),
        Indicator::Year | Indicator::Quarter | Indicator::Month => bucket_case(&period.buckets(ind)?),
    })
}

/// The period bucket of `r.received_at` as nested `CASE`s splitting the buckets in halves: a
/// row meets about log2(buckets) comparisons, not one per bucket.
fn bucket_case(buckets: &[(String, NaiveDateTime)]) -> String {
    match buckets {
        [] => format!("'{UNKNOWN}'"),
        [(label, _)] => format!("'{label}'"),
        _ => {
            let mid = buckets.len() / 2;
            format!(
                "CASE WHEN r.received_at < {} THEN {} ELSE {} END",
                ts(buckets[mid].1),
                bucket_case(&buckets[..mid]),
                bucket_case(&buckets[mid..])
            )
        }
    }
}

/// The provinces a territory filter keeps.
fn territory_filter(territory: Territory, basis: TerritoryBasis) -> String {
    let column = match basis {
        TerritoryBasis::Emergence => "r.emergence_province",
        TerritoryBasis::Exploitation => "r.exploitation_province",
    };
    match territory {
        Territory::National => String::new(),
        Territory::Region(region) => format!(
            " AND {column} IN ({})",
            quoted(PROVINCES.iter().filter(|p| p.region == region.code).map(|p| p.code))
        ),
        Territory::Province(p) => format!(" AND {column} = '{}'", p.code),
    }
}

/// `FROM … WHERE …` of the referrals a report reads, with the joins its indicators need.
fn from_where(spec: &Spec, extra_joins: &[&str]) -> String {
    let mut sql = String::from(" FROM referrals r");
    let mut seen: Vec<&str> = Vec::new();
    for ind in [spec.rows, spec.cols].into_iter().flatten() {
        if let Some((alias, join)) = joins_of(ind) {
            if !seen.contains(&alias) {
                seen.push(alias);
                sql.push(' ');
                sql.push_str(&join);
            }
        }
    }
    for j in extra_joins {
        sql.push(' ');
        sql.push_str(j);
    }
    sql.push_str(&format!(
        " WHERE r.status <> 'draft' AND r.received_at >= {} AND r.received_at < {}{}",
        ts(spec.period.start),
        ts(spec.period.end),
        territory_filter(spec.territory, spec.basis)
    ));
    sql
}

/// What is counted, and the join it needs.
fn unit_of(measure: Measure) -> (&'static str, Option<&'static str>) {
    match measure {
        Measure::Referrals => ("r.id", None),
        Measure::Cases => ("cr.case_id", Some("JOIN case_referrals cr ON cr.referral_id = r.id")),
        Measure::Persons => (
            "CASE WHEN rp.person_id IS NULL THEN -r.id ELSE rp.person_id END",
            Some("LEFT JOIN referral_persons rp ON rp.referral_id = r.id"),
        ),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    k1: String,
    #[diesel(sql_type = Text)]
    k2: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Links {
    #[diesel(sql_type = BigInt)]
    referrals: i64,
    #[diesel(sql_type = BigInt)]
    persons: i64,
}

/// Counts grouped by up to two expressions.
fn grouped(conn: &mut DbConn, spec: &Spec, k1: Option<&str>, k2: Option<&str>) -> Result<Vec<Count>, AppError> {
    let (unit, join) = unit_of(spec.measure);
    let count = if spec.partitions() {
        "COUNT(*)".to_owned()
    } else {
        format!("COUNT(DISTINCT {unit})")
    };
    let e1 = k1.map_or(format!("'{ALL}'"), str::to_owned);
    let e2 = k2.map_or(format!("'{ALL}'"), str::to_owned);
    let group = match (k1, k2) {
        (Some(_), Some(_)) => " GROUP BY 1, 2",
        (Some(_), None) => " GROUP BY 1",
        (None, Some(_)) => " GROUP BY 2",
        (None, None) => "",
    };
    let sql = format!(
        "SELECT {e1} AS k1, {e2} AS k2, CAST({count} AS BIGINT) AS n{}{group}",
        from_where(spec, join.as_slice())
    );
    Ok(diesel::sql_query(sql).load::<Count>(conn)?)
}

/// The table of a report, with exact counts: a constant number of queries (at most five).
pub fn table(conn: &mut DbConn, spec: &Spec) -> Result<Table, AppError> {
    let e1 = spec.rows.map(|i| expr_of(i, &spec.period)).transpose()?;
    let e2 = spec.cols.map(|i| expr_of(i, &spec.period)).transpose()?;
    let cells = grouped(conn, spec, e1.as_deref(), e2.as_deref())?;
    let mut rows = keys(spec.rows, &spec.period, cells.iter().map(|c| c.k1.as_str()))?;
    let mut cols = keys(spec.cols, &spec.period, cells.iter().map(|c| c.k2.as_str()))?;
    if rows.is_empty() {
        rows.push(ALL.to_owned());
    }
    if cols.is_empty() {
        cols.push(ALL.to_owned());
    }
    let mut grid = vec![vec![0i64; cols.len()]; rows.len()];
    for c in &cells {
        if let (Some(r), Some(k)) = (
            rows.iter().position(|x| *x == c.k1),
            cols.iter().position(|x| *x == c.k2),
        ) {
            grid[r][k] = c.n;
        }
    }
    let (row_totals, col_totals, total) = if spec.partitions() {
        let rt: Vec<i64> = grid.iter().map(|r| r.iter().sum()).collect();
        let ct: Vec<i64> = (0..cols.len()).map(|k| grid.iter().map(|r| r[k]).sum()).collect();
        let t = rt.iter().sum();
        (rt, ct, t)
    } else {
        let by = |found: Vec<Count>, keys: &[String], first: bool| {
            let mut v = vec![0i64; keys.len()];
            for c in found {
                let k = if first { &c.k1 } else { &c.k2 };
                if let Some(i) = keys.iter().position(|x| x == k) {
                    v[i] = c.n;
                }
            }
            v
        };
        let rt = if e2.is_some() && e1.is_some() {
            by(grouped(conn, spec, e1.as_deref(), None)?, &rows, true)
        } else if e1.is_some() {
            grid.iter().map(|r| r[0]).collect()
        } else {
            vec![0; rows.len()]
        };
        let ct = if e1.is_some() && e2.is_some() {
            by(grouped(conn, spec, None, e2.as_deref())?, &cols, false)
        } else if e2.is_some() {
            grid[0].clone()
        } else {
            vec![0; cols.len()]
        };
        let t = grouped(conn, spec, None, None)?.first().map_or(0, |c| c.n);
        let rt = if e1.is_none() { vec![t; rows.len()] } else { rt };
        let ct = if e2.is_none() { vec![t; cols.len()] } else { ct };
        (rt, ct, t)
    };
    let links = diesel::sql_query(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS referrals, CAST(COUNT(DISTINCT rp.person_id) AS BIGINT) AS persons \
         FROM referrals r JOIN referral_persons rp ON rp.referral_id = r.id WHERE r.status <> 'draft' \
         AND r.received_at >= {} AND r.received_at < {}{}",
        ts(spec.period.start),
        ts(spec.period.end),
        territory_filter(spec.territory, spec.basis)
    ))
    .get_result::<Links>(conn)?;
    Ok(Table {
        spec: spec.clone(),
        rows,
        cols,
        cells: grid,
        row_totals,
        col_totals,
        total,
        linked_referrals: links.referrals,
        linked_persons: links.persons,
    })
}

/// The keys of one dimension, in a stable order: every period of a breakdown (empty ones
/// included), otherwise the values found, in the vocabulary's order with "not recorded" last.
fn keys<'a>(
    ind: Option<Indicator>,
    period: &Period,
    found: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, AppError> {
    let Some(ind) = ind else {
        return Ok(Vec::new());
    };
    if ind.is_period() {
        return Ok(period.buckets(ind)?.into_iter().map(|b| b.0).collect());
    }
    let mut seen: BTreeMap<(usize, String), ()> = BTreeMap::new();
    for k in found {
        seen.insert((order_of(ind, k), k.to_owned()), ());
    }
    Ok(seen.into_keys().map(|(_, k)| k).collect())
}

fn order_of(ind: Indicator, code: &str) -> usize {
    use crate::casework::vocab::OutcomeKind;
    use crate::domain::SourceKind;
    use crate::referrals::vocab::{AgeBand, Channel, ExploitationType, Gender, Status};
    if code == UNKNOWN || code == "none" || code == "not_specified" {
        return usize::MAX;
    }
    let pos = |codes: &[&str]| codes.iter().position(|c| *c == code).unwrap_or(usize::MAX - 1);
    match ind {
        Indicator::Gender => pos(Gender::CODES),
        Indicator::AgeBand => pos(AgeBand::CODES),
        Indicator::Minor | Indicator::InternationalProtection => pos(&["yes", "no"]),
        Indicator::ExploitationType => pos(ExploitationType::CODES),
        Indicator::SourceKind => pos(SourceKind::CODES),
        Indicator::Channel => pos(Channel::CODES),
        Indicator::Outcome => pos(OutcomeKind::CODES),
        Indicator::MeansOfControl => pos(super::model::MeansOfControl::CODES),
        Indicator::Status => pos(Status::CODES),
        _ => 0,
    }
}

/// One referral as the record-level (CTDC) file needs it: typed, non-identifying facts only.
#[derive(QueryableByName, Clone, Debug)]
pub struct RecordRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub received_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub gender: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub age_broad: Option<String>,
    #[diesel(sql_type = Bool)]
    pub minor: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub age_band: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub citizenship: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub exploitation_province: Option<String>,
    #[diesel(sql_type = Text)]
    pub source_kind: String,
    /// One row per value of the multi-valued facts: `kind:code` (`x:` exploitation, `m:`
    /// indicator of a means of control), or NULL.
    #[diesel(sql_type = Nullable<Text>)]
    pub fact: Option<String>,
}

/// The referrals of a period and territory for the record-level file, in id order, one row per
/// multi-valued fact; `each` sees them in order. One query whatever the period, read as a stream
/// (SQLite steps through the result; PostgreSQL in row-by-row mode), so that memory stays flat.
pub fn records(
    conn: &mut DbConn,
    period: &Period,
    territory: Territory,
    basis: TerritoryBasis,
    mut each: impl FnMut(&RecordRow),
) -> Result<usize, AppError> {
    let sql = format!(
        "SELECT r.id AS id, r.received_at AS received_at, r.person_gender AS gender, r.person_age_broad AS age_broad, \
         r.person_minor AS minor, r.person_age_band AS age_band, r.person_citizenship AS citizenship, \
         r.exploitation_province AS exploitation_province, r.source_kind AS source_kind, f.fact AS fact \
         FROM referrals r \
         LEFT JOIN (SELECT referral_id, 'x:' || exploitation AS fact FROM referral_exploitation \
                    UNION ALL SELECT referral_id, 'm:' || indicator AS fact FROM referral_indicators WHERE indicator IN ({}, 'signs_of_prostitution')) f \
           ON f.referral_id = r.id \
         WHERE r.status <> 'draft' AND r.received_at >= {} AND r.received_at < {}{} \
         ORDER BY r.id",
        quoted(MEANS_OF_CONTROL.iter().map(|(id, _)| *id)),
        ts(period.start),
        ts(period.end),
        territory_filter(territory, basis)
    );
    let mut n = 0;
    match conn {
        DbConn::Sqlite(c) => {
            for row in diesel::sql_query(sql).load_iter::<RecordRow, diesel::connection::DefaultLoadingMode>(c)? {
                each(&row?);
                n += 1;
            }
        }
        DbConn::Pg(c) => {
            for row in diesel::sql_query(sql).load_iter::<RecordRow, diesel::pg::PgRowByRowLoadingMode>(c)? {
                each(&row?);
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The province of a stored code (`None` when not recorded or unknown).
pub fn province(code: Option<&str>) -> Option<Province> {
    code.and_then(Province::by_code)
}
