//! What an analyst gets: disclosure control that holds across the tables of a release and across
//! releases of overlapping periods and territories.
//!
//! - **Periods** are whole calendar months that have ended (`check_period`); the crisis unit
//!   keeps any period. A period is decomposed into the largest aligned blocks (whole years, then
//!   whole quarters, then months). A year's seventeen blocks (the year, its four quarters, its
//!   twelve months) are protected jointly, bottom-up by dimension (`disclosure::protect_joint`),
//!   with one more equation for every entry: the quarters add up to the year, the months to their
//!   quarter (for persons, cases and multi-valued indicators too, as if they were sums: stricter).
//!   Jointly rather than top-down, because a pattern fixed from above can be narrowed by the
//!   blocks below it with no free entry left to widen it. An entry of a released table is shown
//!   only when it is shown in every block of its period, so a release of several blocks tells
//!   nothing the blocks do not.
//! - **Tables with a period dimension**: each period's row (or column) is the table of that
//!   sub-period, the period-total margin the table of the whole period.
//! - **Territory**: a table of a region or province is the column of that territory in the
//!   national table with the territory as a dimension, with that column's pattern; a cross-table
//!   with a territory filter is refused. A table with a territory dimension is protected at both
//!   levels at once (regions and provinces), the provinces of a region adding up to it.
//!
//! The seventeen blocks of a year are read together (`store::year_tables`: two queries), once per
//! release for each year the period touches (twice with a territory dimension: both levels).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use super::disclosure::{self, Grid, Protected, Published};
use super::model::{Indicator, Measure, Period, Spec, Table, Territory, TerritoryBasis};
use super::store;
use crate::db::DbConn;
use crate::error::AppError;

/// A block of the calendar: a year, a quarter (1–4) or a month (1–12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Block {
    Year(i32),
    Quarter(i32, u32),
    Month(i32, u32),
}

fn month_start(y: i32, m: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, 1)
}

fn month_end(y: i32, m: u32) -> Option<NaiveDate> {
    month_start(y, m)?
        .checked_add_months(chrono::Months::new(1))?
        .pred_opt()
}

impl Block {
    /// `2015`, `2015-Q1`, `2015-01`: the labels of the period breakdowns.
    pub fn label(self) -> String {
        match self {
            Block::Year(y) => format!("{y}"),
            Block::Quarter(y, q) => format!("{y}-Q{q}"),
            Block::Month(y, m) => format!("{y}-{m:02}"),
        }
    }

    fn months(self) -> (i32, u32, u32) {
        match self {
            Block::Year(y) => (y, 1, 12),
            Block::Quarter(y, q) => (y, 3 * q - 2, 3 * q),
            Block::Month(y, m) => (y, m, m),
        }
    }

    pub fn first(self) -> Option<NaiveDate> {
        let (y, m, _) = self.months();
        month_start(y, m)
    }

    pub fn last(self) -> Option<NaiveDate> {
        let (y, _, m) = self.months();
        month_end(y, m)
    }

    pub fn period(self) -> Result<Period, AppError> {
        match (self.first(), self.last()) {
            (Some(f), Some(l)) => Period::new(f, l),
            _ => Err(AppError::bad_request("from", "is out of range")),
        }
    }
}

/// A period of whole months decomposed into the largest aligned blocks: whole years, then whole
/// quarters, then months.
pub fn decompose(from: NaiveDate, to: NaiveDate) -> Vec<Block> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    let end = (to.year(), to.month());
    while (y, m) <= end {
        let fits = |b: Block| b.last().is_some_and(|l| l <= to);
        let block = if m == 1 && fits(Block::Year(y)) {
            Block::Year(y)
        } else if (m - 1) % 3 == 0 && fits(Block::Quarter(y, (m - 1) / 3 + 1)) {
            Block::Quarter(y, (m - 1) / 3 + 1)
        } else {
            Block::Month(y, m)
        };
        let (_, _, last) = block.months();
        if last == 12 {
            y += 1;
            m = 1;
        } else {
            m = last + 1;
        }
        out.push(block);
    }
    out
}

/// An analyst's period: whole calendar months that have ended (`today` in Europe/Rome). The
/// figures of a period still open change, and two releases of it could be subtracted.
pub fn check_period(period: &Period, today: NaiveDate) -> Result<(), AppError> {
    if period.from.day() != 1 {
        return Err(AppError::invalid(
            "from",
            "an analyst's period starts on the first day of a month",
        ));
    }
    if period.to.succ_opt().is_none_or(|d| d.day() != 1) {
        return Err(AppError::invalid(
            "to",
            "an analyst's period ends on the last day of a month",
        ));
    }
    if period.to >= today {
        return Err(AppError::invalid(
            "to",
            "an analyst's period must have ended: the figures of a period still open change",
        ));
    }
    Ok(())
}

/// A kind of table: its two indicators, in canonical order.
type Kind = (Option<Indicator>, Option<Indicator>);

/// The patterns of the blocks of one kind of table (measure, indicators in canonical order,
/// territory basis), national, computed top-down and kept for the release.
struct Releaser {
    measure: Measure,
    a: Option<Indicator>,
    b: Option<Indicator>,
    basis: TerritoryBasis,
    threshold: i64,
    grids: HashMap<(Kind, Block), Grid>,
    /// The tables of the blocks read by `prefetch` (a table by period is made of them).
    tables: HashMap<(Kind, Block), Table>,
    protected: HashMap<Block, Protected>,
    unresolved: usize,
}

fn union_keys(
    first: Option<&Vec<String>>,
    others: &[&Grid],
    of: fn(&Grid) -> Option<&Vec<String>>,
) -> Option<Vec<String>> {
    let mut keys: Vec<String> = first.cloned()?;
    let mut extra: Vec<String> = Vec::new();
    for g in others {
        for k in of(g).into_iter().flatten() {
            if !keys.contains(k) && !extra.contains(k) {
                extra.push(k.clone());
            }
        }
    }
    extra.sort();
    keys.extend(extra);
    Some(keys)
}

/// The other level of a territory indicator (region ↔ province, the same basis). Sources are not
/// linked to membership of the international-protection system (see the README: the headline
/// series would be withheld whenever one source is small).
fn other_level(i: Indicator) -> Option<Indicator> {
    match i {
        Indicator::EmergenceRegion => Some(Indicator::EmergenceProvince),
        Indicator::EmergenceProvince => Some(Indicator::EmergenceRegion),
        Indicator::ExploitationRegion => Some(Indicator::ExploitationProvince),
        Indicator::ExploitationProvince => Some(Indicator::ExploitationRegion),
        _ => None,
    }
}

/// True for the coarser level of a pair (a region).
fn is_coarse(i: Indicator) -> bool {
    matches!(i, Indicator::EmergenceRegion | Indicator::ExploitationRegion)
}

/// Which finer keys (indices of `parts`, values of `fine`) make up each coarser key (indices of
/// `wholes`); "not recorded" makes up "not recorded".
fn groups(fine: Indicator, wholes: &[String], parts: &[String]) -> Vec<(usize, Vec<usize>)> {
    wholes
        .iter()
        .enumerate()
        .map(|(w, whole)| {
            let members = parts
                .iter()
                .enumerate()
                .filter(|(_, p)| store::parent_code(fine, p) == *whole)
                .map(|(i, _)| i)
                .collect();
            (w, members)
        })
        .collect()
}

/// The most years read at once (a read is split by month: at most 400 of them).
const YEARS_PER_READ: i32 = 30;

impl Releaser {
    /// Keeps the blocks of the years from `y0` on, as `store::year_blocks` gives them.
    fn keep(&mut self, kind: Kind, y0: i32, tables: Vec<Table>) {
        for (i, t) in tables.into_iter().enumerate() {
            let y = y0 + (i / 17) as i32;
            let b = match i % 17 {
                0 => Block::Year(y),
                j @ 1..=4 => Block::Quarter(y, j as u32),
                j => Block::Month(y, (j - 4) as u32),
            };
            self.grids.insert((kind, b), Grid::of(&t));
            self.tables.insert((kind, b), t);
        }
    }

    /// The table of `spec` (a period of whole months, no period dimension) and the blocks of
    /// every year it touches, at every level this releaser protects, each level in one read: a
    /// release over ten years reads the register once per level, not once per year and block.
    fn prefetch(&mut self, conn: &mut DbConn, spec: &Spec) -> Result<Table, AppError> {
        let (y0, y1) = (spec.period.from.year(), spec.period.to.year());
        if y1 - y0 >= YEARS_PER_READ {
            return store::table(conn, spec);
        }
        let (kinds, _, _) = self.levels();
        let mut whole = None;
        if kinds.len() == 2 && spec.partitions() {
            // Regions are sums of their provinces: one read by province gives both levels.
            let (region, province) = (kinds[0], kinds[1]);
            let read = Spec {
                rows: province.0,
                cols: province.1,
                ..spec.clone()
            };
            let (t, blocks) = store::year_blocks(conn, &read)?;
            let lifted = blocks
                .iter()
                .map(|b| store::coarser(b).map(|r| r.unwrap_or_else(|| b.clone())))
                .collect::<Result<Vec<Table>, AppError>>()?;
            let whole_region = store::coarser(&t)?;
            self.keep(province, y0, blocks);
            self.keep(region, y0, lifted);
            let is =
                |kind: Kind| [spec.rows, spec.cols] == [kind.0, kind.1] || [spec.rows, spec.cols] == [kind.1, kind.0];
            return match (is(province), is(region), whole_region) {
                (true, _, _) if [spec.rows, spec.cols] == [province.0, province.1] => Ok(t),
                (false, true, Some(r)) if [spec.rows, spec.cols] == [region.0, region.1] => Ok(r),
                _ => store::table(conn, spec),
            };
        }
        for kind in kinds {
            let read = Spec {
                rows: kind.0,
                cols: kind.1,
                ..spec.clone()
            };
            // The requested table itself comes from the read of its own dimensions.
            let mine = [spec.rows, spec.cols] == [kind.0, kind.1] || [spec.rows, spec.cols] == [kind.1, kind.0];
            let (t, blocks) = store::year_blocks(conn, if mine { spec } else { &read })?;
            self.keep(kind, y0, blocks);
            if mine {
                whole = Some(t);
            }
        }
        match whole {
            Some(t) => Ok(t),
            None => store::table(conn, spec),
        }
    }

    fn grid(
        &mut self,
        conn: &mut DbConn,
        kind: (Option<Indicator>, Option<Indicator>),
        block: Block,
    ) -> Result<Grid, AppError> {
        if let Some(g) = self.grids.get(&(kind, block)) {
            return Ok(g.clone());
        }
        let y = match block {
            Block::Year(y) | Block::Quarter(y, _) | Block::Month(y, _) => y,
        };
        let spec = Spec {
            measure: self.measure,
            rows: kind.0,
            cols: kind.1,
            period: Block::Year(y).period()?,
            territory: Territory::National,
            basis: self.basis,
        };
        // The year's seventeen blocks from one read (they are protected together anyway).
        self.keep(kind, y, store::year_blocks(conn, &spec)?.1);
        self.grids
            .get(&(kind, block))
            .cloned()
            .ok_or_else(|| AppError::internal(std::io::Error::other("a block of the year was not read")))
    }

    /// The kinds protected together: this one alone, or, when one of its dimensions is a
    /// territory, the region level and the province level (in that order), whose provinces add
    /// up to their region; and which of the two this is, and whether the territory is `b`.
    fn levels(&self) -> (Vec<Kind>, usize, bool) {
        let alone = (vec![(self.a, self.b)], 0, false);
        let territory_a = self.a.and_then(other_level);
        let territory_b = self.b.and_then(other_level);
        match (territory_a, territory_b) {
            (Some(other), None) => {
                let (r, p) = if self.a.is_some_and(is_coarse) {
                    ((self.a, self.b), (Some(other), self.b))
                } else {
                    ((Some(other), self.b), (self.a, self.b))
                };
                let me = if self.a.is_some_and(is_coarse) { 0 } else { 1 };
                (vec![r, p], me, false)
            }
            (None, Some(other)) => {
                let (r, p) = if self.b.is_some_and(is_coarse) {
                    ((self.a, self.b), (self.a, Some(other)))
                } else {
                    ((self.a, Some(other)), (self.a, self.b))
                };
                let me = if self.b.is_some_and(is_coarse) { 0 } else { 1 };
                (vec![r, p], me, true)
            }
            _ => alone,
        }
    }

    /// The block's pattern: its year's seventeen blocks (the year, its quarters, its months) are
    /// protected jointly, bottom-up by dimension, with the equations that the quarters add up to
    /// the year and the months to their quarter; with a territory dimension, at both levels at
    /// once, the provinces adding up to their region. Every request touching the year gets the
    /// same.
    fn protected(&mut self, conn: &mut DbConn, block: Block) -> Result<Protected, AppError> {
        if let Some(p) = self.protected.get(&block) {
            return Ok(p.clone());
        }
        let y = match block {
            Block::Year(y) | Block::Quarter(y, _) | Block::Month(y, _) => y,
        };
        let mut blocks = vec![Block::Year(y)];
        blocks.extend((1..=4).map(|q| Block::Quarter(y, q)));
        blocks.extend((1..=12).map(|m| Block::Month(y, m)));
        let n = blocks.len();
        let (kinds, me, in_b) = self.levels();
        let mut labels: Vec<String> = Vec::new();
        let mut grids: Vec<Grid> = Vec::new();
        for (level, kind) in kinds.iter().enumerate() {
            let mut level_grids = Vec::with_capacity(n);
            for b in &blocks {
                level_grids.push(self.grid(conn, *kind, *b)?);
                labels.push(format!("{level}:{}", b.label()));
            }
            // The same keys for all blocks: the year's (a superset of its parts'), and any a
            // late registration added; the territory's other dimension the same at both levels.
            let refs: Vec<&Grid> = level_grids.iter().collect();
            let a = union_keys(level_grids[0].a.as_ref(), &refs, |g| g.a.as_ref());
            let b = union_keys(level_grids[0].b.as_ref(), &refs, |g| g.b.as_ref());
            grids.extend(level_grids.iter().map(|g| g.aligned(a.as_deref(), b.as_deref())));
        }
        let mut links = Vec::new();
        if kinds.len() == 2 {
            // The dimension that is not the territory: one set of keys for both levels.
            let refs: Vec<&Grid> = grids.iter().collect();
            let (a, b) = if in_b {
                (union_keys(grids[0].a.as_ref(), &refs, |g| g.a.as_ref()), None)
            } else {
                (None, union_keys(grids[0].b.as_ref(), &refs, |g| g.b.as_ref()))
            };
            for g in grids.iter_mut() {
                let a_keys = if in_b { a.clone() } else { g.a.clone() };
                let b_keys = if in_b { g.b.clone() } else { b.clone() };
                *g = g.aligned(a_keys.as_deref(), b_keys.as_deref());
            }
            let fine = if in_b { kinds[1].1 } else { kinds[1].0 }
                .ok_or_else(|| AppError::internal(std::io::Error::other("a level without its indicator")))?;
            for t in 0..n {
                let (whole, part) = (&grids[t], &grids[n + t]);
                let keys = |g: &Grid| if in_b { g.b.clone() } else { g.a.clone() }.unwrap_or_default();
                links.push(disclosure::Link {
                    whole: t,
                    part: n + t,
                    in_b,
                    groups: groups(fine, &keys(whole), &keys(part)),
                });
            }
        }
        let mut sums = Vec::new();
        for level in 0..kinds.len() {
            let o = level * n;
            sums.push((o, vec![o + 1, o + 2, o + 3, o + 4]));
            for q in 0..4 {
                sums.push((o + 1 + q, (0..3).map(|m| o + 5 + 3 * q + m).collect()));
            }
        }
        let (masks, unresolved) = disclosure::protect_joint(&grids, None, &sums, &links, &labels, self.threshold);
        self.unresolved += unresolved;
        let mine = me * n..(me + 1) * n;
        for ((b, grid), mask) in blocks
            .iter()
            .zip(grids.drain(mine.clone()))
            .zip(masks[mine].iter().cloned())
        {
            self.protected.insert(*b, Protected { grid, mask });
        }
        Ok(self.protected[&block].clone())
    }

    /// The blocks of a period of whole months, each with its pattern.
    fn release(
        &mut self,
        conn: &mut DbConn,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(Block, Protected)>, AppError> {
        let mut out = Vec::new();
        for b in decompose(from, to) {
            out.push((b, self.protected(conn, b)?));
        }
        Ok(out)
    }
}

fn hidden_in_any(blocks: &[(Block, Protected)], a: Option<&str>, b: Option<&str>) -> bool {
    blocks.iter().any(|(_, p)| p.hidden(a, b))
}

/// The national table of a spec for an analyst (`spec.territory` is ignored).
fn national(conn: &mut DbConn, spec: &Spec, threshold: i64) -> Result<(Table, Published), AppError> {
    let spec = Spec {
        territory: Territory::National,
        ..spec.clone()
    };
    let period_dims = [spec.rows, spec.cols]
        .into_iter()
        .flatten()
        .filter(|i| i.is_period())
        .count();
    if period_dims == 2 {
        return Err(AppError::invalid(
            "cols",
            "an analyst's table has at most one period dimension",
        ));
    }
    if period_dims == 1 {
        return by_period(conn, &spec, threshold);
    }
    let (a, b) = match (spec.rows, spec.cols) {
        (Some(r), Some(c)) if c.as_str() < r.as_str() => (Some(c), Some(r)),
        (None, Some(c)) => (Some(c), None),
        (r, c) => (r, c),
    };
    let mut rel = Releaser {
        measure: spec.measure,
        a,
        b,
        basis: spec.basis,
        threshold,
        grids: HashMap::new(),
        tables: HashMap::new(),
        protected: HashMap::new(),
        unresolved: 0,
    };
    let table = rel.prefetch(conn, &spec)?;
    let blocks = rel.release(conn, spec.period.from, spec.period.to)?;
    let mut p = disclosure::published_with(&table, Some(threshold), &|x, y| hidden_in_any(&blocks, x, y));
    p.blocks = blocks.iter().map(|(b, _)| b.label()).collect();
    p.unresolved = rel.unresolved;
    Ok((table, p))
}

/// The sub-periods of a breakdown by year, quarter or month: label, first and last day.
fn sub_periods(period: &Period, by: Indicator) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut b = match by {
        Indicator::Year => Block::Year(period.from.year()),
        Indicator::Quarter => Block::Quarter(period.from.year(), period.from.month0() / 3 + 1),
        _ => Block::Month(period.from.year(), period.from.month()),
    };
    while let (Some(f), Some(l)) = (b.first(), b.last()) {
        if f > period.to {
            break;
        }
        out.push((b.label(), f.max(period.from), l.min(period.to)));
        b = match b {
            Block::Year(y) => Block::Year(y + 1),
            Block::Quarter(y, 4) => Block::Quarter(y + 1, 1),
            Block::Quarter(y, q) => Block::Quarter(y, q + 1),
            Block::Month(y, 12) => Block::Month(y + 1, 1),
            Block::Month(y, m) => Block::Month(y, m + 1),
        };
    }
    out
}

/// A table with a period dimension: each period's row (or column) is the table of that
/// sub-period, the period-total margin the table of the whole period.
fn by_period(conn: &mut DbConn, spec: &Spec, threshold: i64) -> Result<(Table, Published), AppError> {
    let rows_are_periods = spec.rows.is_some_and(Indicator::is_period);
    let (by, other) = if rows_are_periods {
        (spec.rows, spec.cols)
    } else {
        (spec.cols, spec.rows)
    };
    let by = by.unwrap_or(Indicator::Month);
    let mut rel = Releaser {
        measure: spec.measure,
        a: other,
        b: None,
        basis: spec.basis,
        threshold,
        grids: HashMap::new(),
        tables: HashMap::new(),
        protected: HashMap::new(),
        unresolved: 0,
    };
    let one_way = rel.prefetch(
        conn,
        &Spec {
            rows: other,
            cols: None,
            ..spec.clone()
        },
    )?;
    // The table by period is made of the blocks just read when every period is one (a partial
    // first or last period is not: then it is read).
    let parts: Option<Vec<&Table>> = sub_periods(&spec.period, by)
        .iter()
        .map(|(label, f, l)| {
            decompose(*f, *l)
                .first()
                .filter(|b| b.label() == *label && decompose(*f, *l).len() == 1)
                .and_then(|b| rel.tables.get(&((other, None), *b)))
        })
        .collect();
    let table = match parts {
        Some(parts) => store::by_period(spec, &one_way, &parts)?,
        None => store::table(conn, spec)?,
    };
    let whole = rel.release(conn, spec.period.from, spec.period.to)?;
    let mut subs: HashMap<String, Vec<(Block, Protected)>> = HashMap::new();
    for (label, f, l) in sub_periods(&spec.period, by) {
        subs.insert(label, rel.release(conn, f, l)?);
    }
    // In canonical keys of the other dimension: (period label or none, other code or none).
    let hidden = |period: Option<&str>, x: Option<&str>| match period {
        None => hidden_in_any(&whole, x, None),
        Some(p) => subs.get(p).is_none_or(|blocks| hidden_in_any(blocks, x, None)),
    };
    // `published_with` asks in canonical keys: back to rows and columns, then to the period's
    // label and the other indicator's code.
    let (_, _, swap) = disclosure::orientation(&table);
    let lookup = |a: Option<&str>, b: Option<&str>| -> bool {
        let (r, c) = if swap { (b, a) } else { (a, b) };
        if rows_are_periods {
            hidden(r, c)
        } else {
            hidden(c, r)
        }
    };
    let mut p = disclosure::published_with(&table, Some(threshold), &lookup);
    p.blocks = whole.iter().map(|(b, _)| b.label()).collect();
    p.unresolved = rel.unresolved;
    Ok((table, p))
}

/// The indicator a territory filter is a value of.
fn territory_indicator(territory: Territory, basis: TerritoryBasis) -> Option<(Indicator, String)> {
    match (territory, basis) {
        (Territory::National, _) => None,
        (Territory::Region(r), TerritoryBasis::Emergence) => Some((Indicator::EmergenceRegion, r.code.to_owned())),
        (Territory::Region(r), TerritoryBasis::Exploitation) => {
            Some((Indicator::ExploitationRegion, r.code.to_owned()))
        }
        (Territory::Province(p), TerritoryBasis::Emergence) => Some((Indicator::EmergenceProvince, p.code.to_owned())),
        (Territory::Province(p), TerritoryBasis::Exploitation) => {
            Some((Indicator::ExploitationProvince, p.code.to_owned()))
        }
    }
}

/// An entry of a published table by its codes (`None`: a margin); `None` when the table has no
/// such key.
fn entry(t: &Table, p: &Published, row: Option<&str>, col: Option<&str>) -> Option<Option<i64>> {
    let r = row.map(|k| t.rows.iter().position(|x| x == k));
    let c = col.map(|k| t.cols.iter().position(|x| x == k));
    Some(match (r, c) {
        (Some(r), Some(c)) => p.cells[r?][c?],
        (Some(r), None) => p.row_totals[r?],
        (None, Some(c)) => p.col_totals[c?],
        (None, None) => p.total,
    })
}

/// The table an analyst gets: the exact table (its keys and person links) and what is published
/// of it. `today` is the day in Europe/Rome.
pub fn analyst_table(
    conn: &mut DbConn,
    spec: &Spec,
    threshold: i64,
    today: NaiveDate,
) -> Result<(Table, Published), AppError> {
    check_period(&spec.period, today)?;
    let Some((tind, code)) = territory_indicator(spec.territory, spec.basis) else {
        return national(conn, spec, threshold);
    };
    let field = if matches!(spec.territory, Territory::Province(_)) {
        "province"
    } else {
        "region"
    };
    if spec.rows.is_some() && spec.cols.is_some() {
        return Err(AppError::invalid(
            field,
            "an analyst's cross-table covers Italy: use the territory as one of its two dimensions",
        ));
    }
    let table = store::table(conn, spec)?;
    let dim = spec.rows.or(spec.cols);
    let slice_of_itself = dim.is_none() || dim == Some(tind);
    let nspec = Spec {
        rows: if slice_of_itself { Some(tind) } else { dim },
        cols: if slice_of_itself { None } else { Some(tind) },
        territory: Territory::National,
        ..spec.clone()
    };
    let (nt, np) = national(conn, &nspec, threshold)?;
    // The national entry of each entry of the filtered table (a zero where the national table has
    // no such key; withheld if it is missing while the filtered table has it).
    let at = |k: Option<&str>| -> Option<i64> {
        let got = if slice_of_itself {
            entry(&nt, &np, Some(&code), None)
        } else {
            entry(&nt, &np, k, Some(&code))
        };
        got.unwrap_or(None)
    };
    let key_of = |r: usize, c: usize| -> Option<&str> {
        if spec.rows.is_some() {
            Some(table.rows[r].as_str())
        } else if spec.cols.is_some() {
            Some(table.cols[c].as_str())
        } else {
            None
        }
    };
    let cells: Vec<Vec<Option<i64>>> = (0..table.rows.len())
        .map(|r| (0..table.cols.len()).map(|c| at(key_of(r, c))).collect())
        .collect();
    let row_totals = (0..table.rows.len())
        .map(|r| {
            if spec.rows.is_some() {
                at(key_of(r, 0))
            } else {
                at(None)
            }
        })
        .collect();
    let col_totals = (0..table.cols.len())
        .map(|c| {
            if spec.cols.is_some() {
                at(key_of(0, c))
            } else {
                at(None)
            }
        })
        .collect();
    let total = at(None);
    let (mut primary, mut secondary) = (0, 0);
    let mut count = |v: i64, shown: Option<i64>| {
        if shown.is_none() {
            if v > 0 && v < threshold {
                primary += 1;
            } else {
                secondary += 1;
            }
        }
    };
    for (r, row) in cells.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            count(table.cells[r][c], *v);
        }
    }
    if dim.is_some() {
        count(table.total, total);
    }
    let p = Published {
        cells,
        row_totals,
        col_totals,
        total,
        primary,
        secondary,
        threshold: Some(threshold),
        blocks: np.blocks.clone(),
        territory_from: Some(tind),
        unresolved: np.unresolved,
    };
    Ok((table, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day")
    }

    #[test]
    fn a_period_is_decomposed_into_the_largest_aligned_blocks() {
        let labels = |f, t| decompose(d(f), d(t)).into_iter().map(Block::label).collect::<Vec<_>>();
        assert_eq!(labels("2015-01-01", "2015-12-31"), vec!["2015"]);
        assert_eq!(labels("2015-01-01", "2015-06-30"), vec!["2015-Q1", "2015-Q2"]);
        assert_eq!(
            labels("2014-11-01", "2016-04-30"),
            vec!["2014-11", "2014-12", "2015", "2016-Q1", "2016-04"]
        );
        assert_eq!(labels("2015-02-01", "2015-02-28"), vec!["2015-02"]);
    }

    #[test]
    fn provinces_are_grouped_under_their_region() {
        let regions = vec!["05".to_owned(), "12".to_owned(), "unknown".to_owned()];
        let provinces = vec![
            "027".to_owned(),
            "058".to_owned(),
            "028".to_owned(),
            "unknown".to_owned(),
        ];
        assert_eq!(
            groups(Indicator::EmergenceProvince, &regions, &provinces),
            vec![(0, vec![0, 2]), (1, vec![1]), (2, vec![3])]
        );
    }

    #[test]
    fn a_territory_dimension_is_protected_at_both_levels() {
        let releaser = |a, b| Releaser {
            measure: Measure::Referrals,
            a,
            b,
            basis: TerritoryBasis::Emergence,
            threshold: 5,
            grids: HashMap::new(),
            tables: HashMap::new(),
            protected: HashMap::new(),
            unresolved: 0,
        };
        let (kinds, me, in_b) = releaser(Some(Indicator::EmergenceProvince), Some(Indicator::Gender)).levels();
        assert_eq!(
            kinds,
            vec![
                (Some(Indicator::EmergenceRegion), Some(Indicator::Gender)),
                (Some(Indicator::EmergenceProvince), Some(Indicator::Gender))
            ]
        );
        assert_eq!((me, in_b), (1, false));
        let (kinds, me, in_b) = releaser(Some(Indicator::Citizenship), Some(Indicator::ExploitationRegion)).levels();
        assert_eq!(
            kinds[1],
            (Some(Indicator::Citizenship), Some(Indicator::ExploitationProvince))
        );
        assert_eq!((me, in_b), (0, true));
        let (kinds, _, _) = releaser(Some(Indicator::Citizenship), Some(Indicator::Gender)).levels();
        assert_eq!(kinds.len(), 1);
    }

    #[test]
    fn an_analysts_period_is_whole_months_that_have_ended() {
        let today = d("2026-11-25");
        let p = |f, t| Period::new(d(f), d(t)).expect("period");
        assert!(check_period(&p("2015-01-01", "2015-12-31"), today).is_ok());
        assert!(check_period(&p("2026-10-01", "2026-10-31"), today).is_ok());
        let field = |e: AppError| match e {
            AppError::Invalid(f) => f[0].field.clone(),
            other => panic!("{other:?}"),
        };
        let err = |f, t| field(check_period(&p(f, t), today).expect_err("refused"));
        assert_eq!(err("2015-01-02", "2015-12-31"), "from");
        assert_eq!(err("2015-01-01", "2015-12-30"), "to");
        assert_eq!(err("2026-11-01", "2026-11-30"), "to");
        assert_eq!(err("2026-01-01", "2026-12-31"), "to");
    }
}
