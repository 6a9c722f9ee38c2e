//! The observatory's queries: one `GROUP BY` over the referrals of the period and territory for
//! the cells, one per margin when the margins are not sums of cells (persons, cases, multi-valued
//! indicators: a person or a case is counted once in a total even when it falls in two cells), and
//! one for the person links. Indicators are SQL expressions over typed columns and rows (never
//! over comma-joined text); every literal in them comes from Varco's own tables (ISTAT codes,
//! vocabulary codes, instants formatted here), never from the request.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::model::{
    Indicator, Measure, Period, Spec, Table, Territory, TerritoryBasis, ALL, MEANS_OF_CONTROL, PROTECTION_SOURCES,
    UNKNOWN,
};
use crate::db::DbConn;
use crate::domain::territory::PROVINCES;
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

/// The joins an indicator needs, by alias.
fn joins_of(ind: Indicator) -> Option<(&'static str, String)> {
    match ind {
        Indicator::ExploitationType => Some((
            "re",
            "LEFT JOIN referral_exploitation re ON re.referral_id = r.id".to_owned(),
        )),
        Indicator::LabourSector => Some((
            "rl",
            "LEFT JOIN referral_labour_sectors rl ON rl.referral_id = r.id".to_owned(),
        )),
        Indicator::RecruiterRelation => Some((
            "rr",
            "LEFT JOIN referral_recruiter_relations rr ON rr.referral_id = r.id".to_owned(),
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

/// How a raw value read by SQL becomes the indicator's value: most are read as they are; a
/// region is worked out from its province and membership of the international-protection system
/// from the source, in Rust, so that the database groups by a plain column instead of evaluating
/// a long `CASE` on every row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lift {
    Same,
    Region,
    Protection,
}

impl Lift {
    fn apply(self, raw: &str) -> String {
        match self {
            Lift::Same => raw.to_owned(),
            Lift::Region => Province::by_code(raw).map_or_else(|| UNKNOWN.to_owned(), |p| p.region.to_owned()),
            Lift::Protection => {
                let yes = PROTECTION_SOURCES.iter().any(|s| s.as_str() == raw);
                if yes { "yes" } else { "no" }.to_owned()
            }
        }
    }
}

/// The SQL expression of an indicator's raw value (text, never NULL) and how it is lifted.
fn expr_of(ind: Indicator, period: &Period) -> Result<(String, Lift), AppError> {
    let same = |sql: String| (sql, Lift::Same);
    Ok(match ind {
        Indicator::Gender => same("r.person_gender".to_owned()),
        Indicator::AgeBand => same(format!("COALESCE(r.person_age_band, '{UNKNOWN}')")),
        Indicator::Minor => same("CASE WHEN r.person_minor THEN 'yes' ELSE 'no' END".to_owned()),
        Indicator::EmergenceRegion => (format!("COALESCE(r.emergence_province, '{UNKNOWN}')"), Lift::Region),
        Indicator::EmergenceProvince => same(format!("COALESCE(r.emergence_province, '{UNKNOWN}')")),
        Indicator::ExploitationRegion => (format!("COALESCE(r.exploitation_province, '{UNKNOWN}')"), Lift::Region),
        Indicator::ExploitationProvince => same(format!("COALESCE(r.exploitation_province, '{UNKNOWN}')")),
        Indicator::ExploitationType => same(format!("COALESCE(re.exploitation, '{UNKNOWN}')")),
        Indicator::LabourSector => same(format!("COALESCE(rl.sector, '{UNKNOWN}')")),
        Indicator::RecruiterRelation => same(format!("COALESCE(rr.relation, '{UNKNOWN}')")),
        Indicator::SourceKind => same("r.source_kind".to_owned()),
        Indicator::InternationalProtection => ("r.source_kind".to_owned(), Lift::Protection),
        Indicator::Channel => same("r.channel".to_owned()),
        Indicator::Citizenship => same(format!("COALESCE(r.person_citizenship, '{UNKNOWN}')")),
        Indicator::Outcome => same("COALESCE(co.kind, 'none')".to_owned()),
        Indicator::MeansOfControl => {
            let mut sql = String::from("CASE ri.indicator");
            for (id, m) in MEANS_OF_CONTROL {
                sql.push_str(&format!(" WHEN '{id}' THEN '{}'", m.as_str()));
            }
            sql.push_str(" ELSE 'not_specified' END");
            same(sql)
        }
        Indicator::Status => same("r.status".to_owned()),
        Indicator::Year | Indicator::Quarter | Indicator::Month => same(bucket_case(&period.buckets(ind)?)),
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
    from_where_with(spec, extra_joins, false)
}

/// `from_where`, keeping only the referrals that have a row of their multi-valued indicators
/// when `only_with_facts` (inner joins).
fn from_where_with(spec: &Spec, extra_joins: &[&str], only_with_facts: bool) -> String {
    let mut sql = String::from(" FROM referrals r");
    let mut seen: Vec<&str> = Vec::new();
    for ind in [spec.rows, spec.cols].into_iter().flatten() {
        if let Some((alias, join)) = joins_of(ind) {
            if !seen.contains(&alias) {
                seen.push(alias);
                sql.push(' ');
                if only_with_facts {
                    sql.push_str(&join.replace("LEFT JOIN", "JOIN"));
                } else {
                    sql.push_str(&join);
                }
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

/// The value of a multi-valued indicator for a referral without any of its rows.
fn empty_code(ind: Indicator) -> &'static str {
    match ind {
        Indicator::Outcome => "none",
        Indicator::MeansOfControl => "not_specified",
        _ => UNKNOWN,
    }
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
    #[diesel(sql_type = Text)]
    k3: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Unit {
    #[diesel(sql_type = BigInt)]
    u: i64,
    #[diesel(sql_type = Text)]
    k1: String,
    #[diesel(sql_type = Text)]
    k2: String,
    #[diesel(sql_type = Text)]
    k3: String,
}

/// The two dimensions of a table as SQL (a constant for a missing one) and their lifts.
type Dims = [(String, Lift); 2];

fn dims_of(spec: &Spec) -> Result<Dims, AppError> {
    let one = |ind: Option<Indicator>| match ind {
        Some(i) => expr_of(i, &spec.period),
        None => Ok((format!("'{ALL}'"), Lift::Same)),
    };
    Ok([one(spec.rows)?, one(spec.cols)?])
}

/// The values of both dimensions, interned: each raw value read is lifted once.
#[derive(Default)]
struct Interner {
    raw: rustc_hash::FxHashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn id(&mut self, raw: &str, lift: Lift) -> u32 {
        if let Some(i) = self.raw.get(raw) {
            return *i;
        }
        let value = lift.apply(raw);
        let i = match self.values.iter().position(|v| *v == value) {
            Some(i) => i as u32,
            None => {
                self.values.push(value);
                (self.values.len() - 1) as u32
            }
        };
        self.raw.insert(raw.to_owned(), i);
        i
    }
}

/// How one read is split into the tables of several periods: `sql` gives each referral a key,
/// `blocks` the tables (by index) a key counts in. One table: a constant key.
struct Split {
    sql: String,
    blocks: rustc_hash::FxHashMap<String, Vec<u32>>,
    count: usize,
}

impl Split {
    fn one() -> Split {
        Split {
            sql: "'0'".to_owned(),
            blocks: [("0".to_owned(), vec![0])].into_iter().collect(),
            count: 1,
        }
    }

    fn of(&self, key: &str) -> &[u32] {
        self.blocks.get(key).map_or(&[], Vec::as_slice)
    }
}

/// Exact counts of one table by value pair (dense, `cells[a * width + b]`), with margins and
/// total.
#[derive(Clone)]
struct Counted {
    width: usize,
    cells: Vec<i64>,
    margins: [Vec<i64>; 2],
    total: i64,
    linked_referrals: i64,
    linked_persons: i64,
}

impl Counted {
    fn new(values: &[Vec<String>; 2]) -> Counted {
        Counted {
            width: values[1].len(),
            cells: vec![0; values[0].len() * values[1].len()],
            margins: [vec![0; values[0].len()], vec![0; values[1].len()]],
            total: 0,
            linked_referrals: 0,
            linked_persons: 0,
        }
    }

    fn at(&self, a: u32, b: u32) -> usize {
        a as usize * self.width + b as usize
    }
}

/// A query's rows, streamed (SQLite steps through them; PostgreSQL's are read in one piece).
fn stream(conn: &mut DbConn, sql: String, mut each: impl FnMut(Unit)) -> Result<(), AppError> {
    match conn {
        DbConn::Sqlite(c) => {
            for row in diesel::sql_query(sql).load_iter::<Unit, diesel::connection::DefaultLoadingMode>(c)? {
                each(row?);
            }
        }
        DbConn::Pg(c) => {
            for row in diesel::sql_query(sql).load_iter::<Unit, diesel::connection::DefaultLoadingMode>(c)? {
                each(row?);
            }
        }
    }
    Ok(())
}

/// Distinct units per table: `seen` holds (unit, value, value, key of the split); each unit
/// counts once in every cell, row, column and total of every table it reaches. Sorted once by
/// unit (a unit's rows are few), then each unit's tables worked out on its own.
fn sweep(mut seen: Vec<(i64, u32, u32, u32)>, split: &[&[u32]], out: &mut [Counted]) {
    seen.sort_unstable();
    seen.dedup();
    let mut reached: Vec<(u32, u32, u32)> = Vec::new();
    let mut cols: Vec<u32> = Vec::new();
    for group in seen.chunk_by(|x, y| x.0 == y.0) {
        reached.clear();
        for &(_, a, b, k) in group {
            for t in split[k as usize] {
                reached.push((*t, a, b));
            }
        }
        reached.sort_unstable();
        reached.dedup();
        for table in reached.chunk_by(|x, y| x.0 == y.0) {
            let t = &mut out[table[0].0 as usize];
            t.total += 1;
            cols.clear();
            let mut last_row = None;
            for &(_, a, b) in table {
                let i = t.at(a, b);
                t.cells[i] += 1;
                if last_row != Some(a) {
                    t.margins[0][a as usize] += 1;
                    last_row = Some(a);
                }
                cols.push(b);
            }
            cols.sort_unstable();
            cols.dedup();
            for b in &cols {
                t.margins[1][*b as usize] += 1;
            }
        }
    }
}

/// The keys of a split as they are read, interned: a row keeps the key's index, not its text.
struct SplitKeys<'a> {
    split: &'a Split,
    index: rustc_hash::FxHashMap<String, u32>,
    of: Vec<&'a [u32]>,
}

impl<'a> SplitKeys<'a> {
    fn new(split: &'a Split) -> SplitKeys<'a> {
        SplitKeys {
            split,
            index: rustc_hash::FxHashMap::default(),
            of: Vec::new(),
        }
    }

    fn id(&mut self, key: String) -> u32 {
        if let Some(k) = self.index.get(&key) {
            return *k;
        }
        self.of.push(self.split.of(&key));
        let k = (self.of.len() - 1) as u32;
        self.index.insert(key, k);
        k
    }
}

impl Counted {
    /// `n` more units in the cell (a, b) of each of `tables`, its row, column and total.
    fn add(out: &mut [Counted], a: u32, b: u32, tables: &[u32], n: i64) {
        for t in tables {
            let t = &mut out[*t as usize];
            let i = t.at(a, b);
            t.cells[i] += n;
            t.margins[0][a as usize] += n;
            t.margins[1][b as usize] += n;
            t.total += n;
        }
    }
}

/// Referrals by the two dimensions' values and the split's key: one `GROUP BY`, interned.
fn grouped(
    conn: &mut DbConn,
    dims: &Dims,
    split: &Split,
    from_where: String,
    names: &mut [Interner; 2],
) -> Result<Vec<(u32, u32, String, i64)>, AppError> {
    let sql = format!(
        "SELECT {} AS k1, {} AS k2, {} AS k3, CAST(COUNT(*) AS BIGINT) AS n{from_where} GROUP BY 1, 2, 3",
        dims[0].0, dims[1].0, split.sql
    );
    Ok(diesel::sql_query(sql)
        .load::<Count>(conn)?
        .into_iter()
        .map(|c| (names[0].id(&c.k1, dims[0].1), names[1].id(&c.k2, dims[1].1), c.k3, c.n))
        .collect())
}

/// (unit, value, value, key of the split) for each row of `from_where`, streamed and interned.
fn units(
    conn: &mut DbConn,
    unit: &str,
    dims: &Dims,
    from_where: String,
    names: &mut [Interner; 2],
    keys: &mut SplitKeys<'_>,
) -> Result<Vec<(i64, u32, u32, u32)>, AppError> {
    let sql = format!(
        "SELECT CAST({unit} AS BIGINT) AS u, {} AS k1, {} AS k2, {} AS k3{from_where}",
        dims[0].0, dims[1].0, keys.split.sql
    );
    let mut seen = Vec::new();
    stream(conn, sql, |row| {
        let (a, b) = (names[0].id(&row.k1, dims[0].1), names[1].id(&row.k2, dims[1].1));
        seen.push((row.u, a, b, keys.id(row.k3)));
    })?;
    Ok(seen)
}

/// `FROM … WHERE …` of the referrals of a selection linked to a person, driven by the links
/// (far fewer than the referrals of a long period).
fn linked_from(spec: &Spec) -> String {
    format!(
        " FROM referral_persons rp CROSS JOIN referrals r WHERE r.id = rp.referral_id AND r.status <> 'draft' \
         AND r.received_at >= {} AND r.received_at < {}{}",
        ts(spec.period.start),
        ts(spec.period.end),
        territory_filter(spec.territory, spec.basis)
    )
}

/// The counts of a selection, split into tables: one read whatever the period.
/// - Every referral in one cell: a `GROUP BY` of plain columns, whose margins are sums.
/// - Persons under single-valued indicators: the same `GROUP BY`, then only the referrals linked
///   to a person read one by one — a person counts once where its referrals count each (a
///   referral linked to nobody is a person of its own).
/// - Referrals under one multi-valued indicator: `count_with_facts`.
/// - Otherwise (cases, two multi-valued indicators): one streamed read of (unit, value, value),
///   sorted and swept here, so that cells, margins and total come from the same read.
///
/// Then the person links, driven by `referral_persons` (far fewer than the referrals of a long
/// period).
fn count(conn: &mut DbConn, spec: &Spec, split: &Split) -> Result<([Vec<String>; 2], Vec<Counted>), AppError> {
    let dims = dims_of(spec)?;
    let mut names = [Interner::default(), Interner::default()];
    let mut keys = SplitKeys::new(split);
    let single_valued = ![spec.rows, spec.cols]
        .into_iter()
        .flatten()
        .any(Indicator::multi_valued);
    let by_links = spec.measure == Measure::Persons && single_valued;
    let multi: Vec<usize> = [spec.rows, spec.cols]
        .iter()
        .enumerate()
        .filter(|(_, i)| i.is_some_and(Indicator::multi_valued))
        .map(|(d, _)| d)
        .collect();
    let (values, mut out) = if spec.measure == Measure::Referrals && multi.len() == 1 {
        count_with_facts(conn, spec, split, &dims, multi[0])?
    } else if spec.partitions() || by_links {
        let found = grouped(conn, &dims, split, from_where(spec, &[]), &mut names)?;
        let linked = if by_links {
            units(conn, "rp.person_id", &dims, linked_from(spec), &mut names, &mut keys)?
        } else {
            Vec::new()
        };
        let values = names.map(|n| n.values);
        let mut out = vec![Counted::new(&values); split.count];
        for (a, b, k, n) in found {
            Counted::add(&mut out, a, b, split.of(&k), n);
        }
        // Each linked referral was counted as a person of its own: take it back, then count
        // its person once.
        for &(_, a, b, k) in &linked {
            Counted::add(&mut out, a, b, keys.of[k as usize], -1);
        }
        sweep(linked, &keys.of, &mut out);
        (values, out)
    } else {
        let (unit, join) = unit_of(spec.measure);
        let seen = units(
            conn,
            unit,
            &dims,
            from_where(spec, join.as_slice()),
            &mut names,
            &mut keys,
        )?;
        let values = names.map(|n| n.values);
        let mut out = vec![Counted::new(&values); split.count];
        sweep(seen, &keys.of, &mut out);
        (values, out)
    };
    let links = format!(
        "SELECT CAST(rp.person_id AS BIGINT) AS u, '{ALL}' AS k1, '{ALL}' AS k2, {} AS k3{}",
        split.sql,
        linked_from(spec)
    );
    let mut persons: Vec<(u32, i64)> = Vec::new();
    stream(conn, links, |row| {
        for t in split.of(&row.k3) {
            out[*t as usize].linked_referrals += 1;
            persons.push((*t, row.u));
        }
    })?;
    persons.sort_unstable();
    persons.dedup();
    for (t, _) in persons {
        out[t as usize].linked_persons += 1;
    }
    Ok((values, out))
}

/// Referrals under one multi-valued indicator (dimension `m`) and a single-valued one: every
/// referral counted once by a `GROUP BY` as if it had none of the multi-valued rows, then only the
/// referrals that have some read one by one (their rows swept for distinct referrals) and moved
/// from "none" to their values. The read grows with the rows recorded, not with the register.
fn count_with_facts(
    conn: &mut DbConn,
    spec: &Spec,
    split: &Split,
    dims: &Dims,
    m: usize,
) -> Result<([Vec<String>; 2], Vec<Counted>), AppError> {
    let ind = [spec.rows, spec.cols][m].ok_or_else(|| misuse("a multi-valued dimension without its indicator"))?;
    let empty = empty_code(ind);
    let mut names = [Interner::default(), Interner::default()];
    let mut plain = dims.clone();
    plain[m] = (format!("'{empty}'"), Lift::Same);
    let bare = Spec {
        rows: if m == 0 { None } else { spec.rows },
        cols: if m == 1 { None } else { spec.cols },
        ..spec.clone()
    };
    let found = grouped(conn, &plain, split, from_where(&bare, &[]), &mut names)?;
    let mut keys = SplitKeys::new(split);
    let seen = units(
        conn,
        "r.id",
        dims,
        from_where_with(spec, &[], true),
        &mut names,
        &mut keys,
    )?;
    let none = names[m].id(empty, Lift::Same);
    let values = names.map(|n| n.values);
    let mut out = vec![Counted::new(&values); split.count];
    for (a, b, k, n) in found {
        Counted::add(&mut out, a, b, split.of(&k), n);
    }
    let mut facts = vec![Counted::new(&values); split.count];
    sweep(seen, &keys.of, &mut facts);
    let s = 1 - m;
    for (t, f) in out.iter_mut().zip(&facts) {
        for (i, n) in f.cells.iter().enumerate() {
            t.cells[i] += n;
        }
        for (v, n) in f.margins[m].iter().enumerate() {
            t.margins[m][v] += n;
        }
        // The referrals that have rows are no longer "none": in its margin, and in its cell
        // of each single-valued value.
        t.margins[m][none as usize] -= f.total;
        for (v, n) in f.margins[s].iter().enumerate() {
            let i = if m == 0 {
                t.at(none, v as u32)
            } else {
                t.at(v as u32, none)
            };
            t.cells[i] -= n;
        }
    }
    Ok((values, out))
}

/// A table from its counts: the keys found (a value counts as found when a unit reached it).
fn assemble(spec: Spec, values: &[Vec<String>; 2], counted: &Counted) -> Result<Table, AppError> {
    let found = |d: usize| {
        values[d]
            .iter()
            .zip(&counted.margins[d])
            .filter(|(_, n)| **n > 0)
            .map(|(v, _)| v.as_str())
    };
    let mut rows = keys(spec.rows, &spec.period, found(0))?;
    let mut cols = keys(spec.cols, &spec.period, found(1))?;
    if rows.is_empty() {
        rows.push(ALL.to_owned());
    }
    if cols.is_empty() {
        cols.push(ALL.to_owned());
    }
    // Where each interned value sits among the keys (a value found but not a key is dropped:
    // cannot happen for the vocabularies, kept safe for the period buckets).
    let place = |values: &[String], keys: &[String]| -> Vec<Option<usize>> {
        values.iter().map(|v| keys.iter().position(|k| k == v)).collect()
    };
    let (at_row, at_col) = (place(&values[0], &rows), place(&values[1], &cols));
    let mut grid = vec![vec![0i64; cols.len()]; rows.len()];
    let mut row_totals = vec![0i64; rows.len()];
    let mut col_totals = vec![0i64; cols.len()];
    for (a, r) in at_row.iter().enumerate() {
        let Some(r) = r else { continue };
        row_totals[*r] += counted.margins[0][a];
        for (b, c) in at_col.iter().enumerate() {
            if let Some(c) = c {
                grid[*r][*c] += counted.cells[counted.at(a as u32, b as u32)];
            }
        }
    }
    for (b, c) in at_col.iter().enumerate() {
        if let Some(c) = c {
            col_totals[*c] += counted.margins[1][b];
        }
    }
    Ok(Table {
        spec,
        rows,
        cols,
        cells: grid,
        row_totals,
        col_totals,
        total: counted.total,
        linked_referrals: counted.linked_referrals,
        linked_persons: counted.linked_persons,
    })
}

/// The table of a report, with exact counts: two queries whatever the period (the counts, read
/// once, and the person links).
pub fn table(conn: &mut DbConn, spec: &Spec) -> Result<Table, AppError> {
    let (values, counted) = count(conn, spec, &Split::one())?;
    assemble(spec.clone(), &values, &counted[0])
}

/// The table of a period of whole months and the tables of the seventeen blocks of every year it
/// touches — each year, its quarters, its months, in that order, year after year — from the same
/// two queries (the analysts' disclosure control protects a year's blocks together). Neither
/// dimension is a period.
pub fn year_blocks(conn: &mut DbConn, spec: &Spec) -> Result<(Table, Vec<Table>), AppError> {
    if [spec.rows, spec.cols].into_iter().flatten().any(Indicator::is_period) {
        return Err(misuse("a year's blocks are not split by period"));
    }
    let out_of_range = || AppError::invalid("from", "is out of range");
    let first = |y: i32, m: u32| chrono::NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(out_of_range);
    let last = |y: i32, m: u32| {
        if m == 12 {
            chrono::NaiveDate::from_ymd_opt(y, 12, 31).ok_or_else(out_of_range)
        } else {
            first(y, m + 1)?.pred_opt().ok_or_else(out_of_range)
        }
    };
    let (y0, y1) = (spec.period.from.year(), spec.period.to.year());
    if spec.period.from.day() != 1 || spec.period.to != last(y1, spec.period.to.month())? {
        return Err(misuse("a year's blocks are read for whole months"));
    }
    let years = Period::new(first(y0, 1)?, last(y1, 12)?)?;
    let months = years.buckets(Indicator::Month)?;
    let mut blocks: rustc_hash::FxHashMap<String, Vec<u32>> = rustc_hash::FxHashMap::default();
    let mut periods = vec![spec.period];
    for (i, (label, _)) in months.iter().enumerate() {
        let (y, m) = (i / 12, (i % 12) as u32);
        let base = 1 + 17 * y as u32;
        let mut of = vec![base, base + 1 + m / 3, base + 5 + m];
        let day = first(y0 + y as i32, m + 1)?;
        if day >= spec.period.from && day <= spec.period.to {
            of.push(0);
        }
        blocks.insert(label.clone(), of);
    }
    for y in y0..=y1 {
        periods.push(Period::new(first(y, 1)?, last(y, 12)?)?);
        for q in 0..4u32 {
            periods.push(Period::new(first(y, 3 * q + 1)?, last(y, 3 * q + 3)?)?);
        }
        for m in 1..=12u32 {
            periods.push(Period::new(first(y, m)?, last(y, m)?)?);
        }
    }
    let split = Split {
        sql: bucket_case(&months),
        blocks,
        count: periods.len(),
    };
    let read = Spec {
        period: years,
        ..spec.clone()
    };
    let (values, counted) = count(conn, &read, &split)?;
    let mut tables = periods
        .into_iter()
        .zip(&counted)
        .map(|(period, c)| assemble(Spec { period, ..spec.clone() }, &values, c))
        .collect::<Result<Vec<Table>, AppError>>()?;
    let whole = tables.remove(0);
    Ok((whole, tables))
}

/// The coarser indicator a finer one adds up into (a province into its region, a source into
/// membership of the international-protection system), and how a code is lifted.
fn coarser_of(i: Indicator) -> Option<(Indicator, Lift)> {
    match i {
        Indicator::EmergenceProvince => Some((Indicator::EmergenceRegion, Lift::Region)),
        Indicator::ExploitationProvince => Some((Indicator::ExploitationRegion, Lift::Region)),
        Indicator::SourceKind => Some((Indicator::InternationalProtection, Lift::Protection)),
        _ => None,
    }
}

/// The code of the coarser indicator a finer code adds up into (`unknown` into `unknown`).
pub fn parent_code(fine: Indicator, code: &str) -> String {
    match coarser_of(fine) {
        Some((_, lift)) if code != UNKNOWN => lift.apply(code),
        _ => code.to_owned(),
    }
}

/// The same table by the coarser indicator (regions instead of provinces, membership of the
/// protection system instead of sources), when its margins are sums (a partition): the finer
/// values added up, with the keys a read by the coarser indicator would have. `None` when the
/// table has no such dimension or is not a partition.
pub fn coarser(t: &Table) -> Result<Option<Table>, AppError> {
    if !t.spec.partitions() {
        return Ok(None);
    }
    let (rows_up, cols_up) = (t.spec.rows.and_then(coarser_of), t.spec.cols.and_then(coarser_of));
    if rows_up.is_none() && cols_up.is_none() {
        return Ok(None);
    }
    let spec = Spec {
        rows: rows_up.map(|u| u.0).or(t.spec.rows),
        cols: cols_up.map(|u| u.0).or(t.spec.cols),
        ..t.spec.clone()
    };
    let lift = |keys: &[String], how: Option<(Indicator, Lift)>| -> Vec<String> {
        keys.iter()
            .map(|k| match how {
                Some((_, lift)) if k != ALL => lift.apply(k),
                _ => k.clone(),
            })
            .collect()
    };
    let (r_of, c_of) = (lift(&t.rows, rows_up), lift(&t.cols, cols_up));
    let found = |of: &[String], totals: &[i64]| -> Vec<String> {
        of.iter()
            .zip(totals)
            .filter(|(_, n)| **n > 0)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let (fr, fc) = (found(&r_of, &t.row_totals), found(&c_of, &t.col_totals));
    let mut rows = keys(spec.rows, &spec.period, fr.iter().map(String::as_str))?;
    let mut cols = keys(spec.cols, &spec.period, fc.iter().map(String::as_str))?;
    if rows.is_empty() {
        rows.push(ALL.to_owned());
    }
    if cols.is_empty() {
        cols.push(ALL.to_owned());
    }
    let pos = |keys: &[String], k: &str| keys.iter().position(|x| x == k);
    let mut cells = vec![vec![0i64; cols.len()]; rows.len()];
    let mut row_totals = vec![0i64; rows.len()];
    let mut col_totals = vec![0i64; cols.len()];
    for (i, rk) in r_of.iter().enumerate() {
        let Some(r) = pos(&rows, rk) else { continue };
        row_totals[r] += t.row_totals[i];
        for (j, ck) in c_of.iter().enumerate() {
            if let Some(c) = pos(&cols, ck) {
                cells[r][c] += t.cells[i][j];
            }
        }
    }
    for (j, ck) in c_of.iter().enumerate() {
        if let Some(c) = pos(&cols, ck) {
            col_totals[c] += t.col_totals[j];
        }
    }
    Ok(Some(Table {
        spec,
        rows,
        cols,
        cells,
        row_totals,
        col_totals,
        total: t.total,
        linked_referrals: t.linked_referrals,
        linked_persons: t.linked_persons,
    }))
}

/// A table with one period dimension made of the tables of its periods (`parts`, one per
/// period in order, by the other dimension alone) and the table of the whole period by that
/// dimension (`whole`): what `table` would read, without reading it again.
pub fn by_period(spec: &Spec, whole: &Table, parts: &[&Table]) -> Result<Table, AppError> {
    let rows_are_periods = spec.rows.is_some_and(Indicator::is_period);
    let by = if rows_are_periods { spec.rows } else { spec.cols };
    let periods = keys(by, &spec.period, std::iter::empty())?;
    if periods.len() != parts.len() {
        return Err(misuse("the periods do not match their tables"));
    }
    // The other dimension: the whole period's keys; a part's value found by key.
    let others = whole.rows.clone();
    let value = |t: &Table, k: &str| t.rows.iter().position(|x| x == k).map_or(0, |i| t.row_totals[i]);
    let by_part: Vec<Vec<i64>> = parts
        .iter()
        .map(|t| others.iter().map(|k| value(t, k)).collect())
        .collect();
    let part_totals: Vec<i64> = parts.iter().map(|t| t.total).collect();
    let (rows, cols, cells, row_totals, col_totals) = if rows_are_periods {
        (periods, others, by_part, part_totals, whole.row_totals.clone())
    } else {
        let cells = (0..others.len())
            .map(|o| by_part.iter().map(|p| p[o]).collect())
            .collect();
        (others, periods, cells, whole.row_totals.clone(), part_totals)
    };
    Ok(Table {
        spec: spec.clone(),
        rows,
        cols,
        cells,
        row_totals,
        col_totals,
        total: whole.total,
        linked_referrals: whole.linked_referrals,
        linked_persons: whole.linked_persons,
    })
}

/// A caller's mistake, not the user's: a 500 naming it in the log.
fn misuse(what: &str) -> AppError {
    AppError::internal(std::io::Error::other(what.to_owned()))
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
    use crate::referrals::vocab::{
        AgeBand, Channel, ExploitationType, Gender, LabourSector, RecruiterRelation, Status,
    };
    if code == UNKNOWN || code == "none" || code == "not_specified" {
        return usize::MAX;
    }
    let pos = |codes: &[&str]| codes.iter().position(|c| *c == code).unwrap_or(usize::MAX - 1);
    match ind {
        Indicator::Gender => pos(Gender::CODES),
        Indicator::AgeBand => pos(AgeBand::CODES),
        Indicator::Minor | Indicator::InternationalProtection => pos(&["yes", "no"]),
        Indicator::ExploitationType => pos(ExploitationType::CODES),
        Indicator::LabourSector => pos(LabourSector::CODES),
        Indicator::RecruiterRelation => pos(RecruiterRelation::CODES),
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
                    UNION ALL SELECT referral_id, 'l:' || sector AS fact FROM referral_labour_sectors \
                    UNION ALL SELECT referral_id, 'r:' || relation AS fact FROM referral_recruiter_relations \
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
