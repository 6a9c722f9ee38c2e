//! Disclosure control for what leaves the crisis unit.
//!
//! **Tables.** A count under the threshold (default 5, `VARCO_DISCLOSURE_THRESHOLD`; never under 3,
//! the minimum of Italian official statistics) is suppressed (*soppressione primaria*); zeros are
//! shown. Then complementary counts are suppressed (*soppressione secondaria*) until no suppressed
//! value can be worked out from the published ones: every row, column and margin is an equation
//! (cells add up to their total), no equation may hold exactly one suppressed entry, and an
//! attacker who also knows that a primary count lies between 1 and threshold − 1 and solves the
//! equations by intervals must not pin any suppressed value down.
//!
//! **One pattern per value, bottom-up.** A table is protected by dimension: first its grand total
//! (withheld iff 0 < total < threshold), then each one-dimensional table with the grand total's
//! pattern fixed, then the cross-table with its row totals, column totals and grand total fixed
//! to the patterns of those smaller tables. Complements are chosen only among the entries being
//! decided (never a fixed margin): the non-zero before the zero, the smallest, then by the codes
//! of its keys (never positions), so the margin "women" has one pattern whichever table shows it.
//! The indicators are put in a canonical order (by code) and the other order is the transpose.
//! A withheld value fixed earlier keeps the interval an attacker could tell of it then: a later
//! stage that narrows it takes complements among its own entries where it can (otherwise two
//! tables holding the same withheld value could be played against each other). When an exposure
//! cannot be closed by the entries being decided, every one of them in the equations holding it
//! is withheld, and what still cannot be closed is counted (`unresolved`).
//!
//! **Joint tables.** The same solver protects several tables at once (`protect_joint`): the
//! seventeen blocks of a year (year, quarters, months; `release`), with one more equation for
//! every entry where parts add up to a whole (`sums`), and a territory at two levels, the
//! provinces of a region adding up to it (`Link`); or sibling tables under a parent already
//! protected whose pattern is fixed (`protect_family`).
//!
//! **Records.** See `export::ctdc`: k-anonymity by generalisation, then dropping.

use std::collections::HashMap;

use super::model::{Table, ALL};

/// A table as published: `None` where a count is withheld.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub cells: Vec<Vec<Option<i64>>>,
    pub row_totals: Vec<Option<i64>>,
    pub col_totals: Vec<Option<i64>>,
    pub total: Option<i64>,
    /// Counts withheld for being small, and withheld to protect them.
    pub primary: usize,
    pub secondary: usize,
    /// The threshold applied (`None`: exact counts, inside the unit).
    pub threshold: Option<i64>,
    /// The blocks (years, quarters, months) the period was decomposed into for an analyst; a
    /// count is shown only when it is shown in every one. Empty for a table protected alone.
    pub blocks: Vec<String>,
    /// For a region or province: the indicator of the national table this table is a slice of.
    pub territory_from: Option<super::model::Indicator>,
    /// Exposures the entries being decided could not close (their margins were fixed).
    pub unresolved: usize,
}

/// A table's values with its dimensions in canonical order: `a` (first), `b` (second), each
/// present or not. `cells` is `a × b` when both are present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    pub a: Option<Vec<String>>,
    pub b: Option<Vec<String>>,
    pub cells: Vec<Vec<i64>>,
    pub a_tot: Vec<i64>,
    pub b_tot: Vec<i64>,
    pub total: i64,
}

/// What is withheld of a grid (same shape), and what an attacker could tell of each entry when it
/// was decided (its interval): a later table must not narrow it, or two tables holding the same
/// withheld value could be played against each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub cells: Vec<Vec<bool>>,
    pub a_tot: Vec<bool>,
    pub b_tot: Vec<bool>,
    pub total: bool,
    pub ranges: HashMap<(Option<String>, Option<String>), (i64, i64)>,
}

/// A grid and its pattern: what a block publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protected {
    pub grid: Grid,
    pub mask: Mask,
}

fn dim_exists(indicator: bool, keys: &[String]) -> bool {
    indicator || keys.len() != 1 || keys[0] != ALL
}

/// Whether a table's rows and columns are real dimensions, and whether the canonical order
/// swaps them (the column indicator's code before the row's, or columns without rows).
pub fn orientation(t: &Table) -> (bool, bool, bool) {
    let has_r = dim_exists(t.spec.rows.is_some(), &t.rows);
    let has_c = dim_exists(t.spec.cols.is_some(), &t.cols);
    let swap = match (has_r, has_c) {
        (false, true) => true,
        (true, true) => match (t.spec.rows, t.spec.cols) {
            (Some(r), Some(c)) => c.as_str() < r.as_str(),
            _ => false,
        },
        _ => false,
    };
    (has_r, has_c, swap)
}

impl Grid {
    /// The grid of a table, in canonical orientation.
    pub fn of(t: &Table) -> Grid {
        let (has_r, has_c, swap) = orientation(t);
        let (nr, nc) = (t.rows.len(), t.cols.len());
        let cell = |r: usize, c: usize| t.cells[r][c];
        let (a, b, cells, a_tot, b_tot) = match (has_r, has_c, swap) {
            (true, true, false) => (
                Some(t.rows.clone()),
                Some(t.cols.clone()),
                t.cells.clone(),
                t.row_totals.clone(),
                t.col_totals.clone(),
            ),
            (true, true, true) => (
                Some(t.cols.clone()),
                Some(t.rows.clone()),
                (0..nc).map(|c| (0..nr).map(|r| cell(r, c)).collect()).collect(),
                t.col_totals.clone(),
                t.row_totals.clone(),
            ),
            (true, false, _) => (
                Some(t.rows.clone()),
                None,
                Vec::new(),
                (0..nr).map(|r| cell(r, 0)).collect(),
                Vec::new(),
            ),
            (false, true, _) => (
                Some(t.cols.clone()),
                None,
                Vec::new(),
                (0..nc).map(|c| cell(0, c)).collect(),
                Vec::new(),
            ),
            (false, false, _) => (None, None, Vec::new(), Vec::new(), Vec::new()),
        };
        Grid {
            a,
            b,
            cells,
            a_tot,
            b_tot,
            total: t.total,
        }
    }

    fn na(&self) -> usize {
        self.a.as_ref().map_or(0, Vec::len)
    }

    fn nb(&self) -> usize {
        self.b.as_ref().map_or(0, Vec::len)
    }

    fn both(&self) -> bool {
        self.a.is_some() && self.b.is_some()
    }

    /// The same grid over other keys (a superset, or not): zeros where a key is new.
    pub fn aligned(&self, a: Option<&[String]>, b: Option<&[String]>) -> Grid {
        let pos = |keys: &Option<Vec<String>>, k: &str| keys.as_ref().and_then(|v| v.iter().position(|x| x == k));
        let a_keys: Option<Vec<String>> = a.map(<[String]>::to_vec);
        let b_keys: Option<Vec<String>> = b.map(<[String]>::to_vec);
        let a_tot = a_keys
            .iter()
            .flatten()
            .map(|k| pos(&self.a, k).map_or(0, |i| self.a_tot[i]))
            .collect();
        let b_tot = b_keys
            .iter()
            .flatten()
            .map(|k| pos(&self.b, k).map_or(0, |j| self.b_tot[j]))
            .collect();
        let cells = if a_keys.is_some() && b_keys.is_some() && self.both() {
            a_keys
                .iter()
                .flatten()
                .map(|ka| {
                    b_keys
                        .iter()
                        .flatten()
                        .map(|kb| match (pos(&self.a, ka), pos(&self.b, kb)) {
                            (Some(i), Some(j)) => self.cells[i][j],
                            _ => 0,
                        })
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        Grid {
            a: a_keys,
            b: b_keys,
            cells,
            a_tot,
            b_tot,
            total: self.total,
        }
    }
}

impl Mask {
    fn clear(g: &Grid) -> Mask {
        Mask {
            cells: vec![vec![false; g.nb()]; if g.both() { g.na() } else { 0 }],
            a_tot: vec![false; g.na()],
            b_tot: vec![false; g.nb()],
            total: false,
            ranges: HashMap::new(),
        }
    }
}

impl Protected {
    /// Whether an entry is withheld: `(Some(a), Some(b))` a cell, `(Some(a), None)` a total of
    /// the first dimension, `(None, Some(b))` of the second, `(None, None)` the grand total. A
    /// key the grid does not hold is a zero, shown.
    pub fn hidden(&self, a: Option<&str>, b: Option<&str>) -> bool {
        let pos = |keys: &Option<Vec<String>>, k: &str| keys.as_ref().and_then(|v| v.iter().position(|x| x == k));
        match (a, b) {
            (None, None) => self.mask.total,
            (Some(ka), None) => pos(&self.grid.a, ka).is_some_and(|i| self.mask.a_tot[i]),
            (None, Some(kb)) => pos(&self.grid.b, kb).is_some_and(|j| self.mask.b_tot[j]),
            (Some(ka), Some(kb)) => match (pos(&self.grid.a, ka), pos(&self.grid.b, kb)) {
                (Some(i), Some(j)) => self.mask.cells.get(i).and_then(|r| r.get(j)).copied().unwrap_or(false),
                _ => false,
            },
        }
    }

    /// The same pattern over other keys (new keys are zeros, shown).
    pub fn aligned(&self, a: Option<&[String]>, b: Option<&[String]>) -> Protected {
        let grid = self.grid.aligned(a, b);
        let mut mask = Mask::clear(&grid);
        mask.total = self.mask.total;
        for (i, ka) in grid.a.iter().flatten().enumerate() {
            mask.a_tot[i] = self.hidden(Some(ka), None);
            if grid.both() {
                for (j, kb) in grid.b.iter().flatten().enumerate() {
                    mask.cells[i][j] = self.hidden(Some(ka), Some(kb));
                }
            }
        }
        for (j, kb) in grid.b.iter().flatten().enumerate() {
            mask.b_tot[j] = self.hidden(None, Some(kb));
        }
        mask.ranges = self.mask.ranges.clone();
        Protected { grid, mask }
    }
}

/// The codes of an entry of a kind (`None`: a margin).
fn key_of(kind: Kind, a: &[String], b: &[String], i: usize, j: usize) -> (Option<String>, Option<String>) {
    match kind {
        Kind::Total => (None, None),
        Kind::A => (Some(a[i].clone()), None),
        Kind::B => (None, Some(b[j].clone())),
        Kind::Cell => (Some(a[i].clone()), Some(b[j].clone())),
    }
}

/// The kinds of entry, in the order they are decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Total,
    A,
    B,
    Cell,
}

/// Protects sibling grids (the same keys; one alone, or the children of a parent whose values
/// they add up to and whose pattern is fixed), bottom-up by dimension. `labels` name the
/// siblings for the tie-break. Returns their masks and the exposures left unresolved.
pub fn protect_family(
    grids: &[Grid],
    parent: Option<&Protected>,
    labels: &[String],
    threshold: i64,
) -> (Vec<Mask>, usize) {
    let sums = match parent {
        Some(_) => vec![(grids.len(), (0..grids.len()).collect())],
        None => Vec::new(),
    };
    protect_joint(grids, parent, &sums, &[], labels, threshold)
}

/// Two grids of the same selection whose territory dimension is at two levels (regions in
/// `whole`, provinces in `part`; indices into the grids): every region's provinces add up to it,
/// and the other dimension's margins and the total are the same values.
#[derive(Clone, Debug)]
pub struct Link {
    pub whole: usize,
    pub part: usize,
    /// True when the territory is the second dimension (`b`).
    pub in_b: bool,
    /// For each territory key of `whole`, the keys of `part` it is made of (indices).
    pub groups: Vec<(usize, Vec<usize>)>,
}

/// Protects grids jointly (the same keys), bottom-up by dimension: `sums` say which add up to
/// which, entry by entry (`(whole, parts)`, indices into `grids`, the fixed table after them);
/// `fixed` is a table already protected whose values and pattern are fixed.
pub fn protect_joint(
    grids: &[Grid],
    parent: Option<&Protected>,
    sums: &[(usize, Vec<usize>)],
    links: &[Link],
    labels: &[String],
    threshold: i64,
) -> (Vec<Mask>, usize) {
    let mut masks: Vec<Mask> = grids.iter().map(Mask::clear).collect();
    let Some(first) = grids.first() else {
        return (masks, 0);
    };
    let mut stages = vec![Kind::Total];
    if first.a.is_some() {
        stages.push(Kind::A);
    }
    if first.b.is_some() {
        stages.push(Kind::B);
    }
    if first.both() {
        stages.push(Kind::Cell);
    }
    let mut unresolved = 0;
    for (s, stage) in stages.iter().enumerate() {
        let included: Vec<Kind> = match stage {
            Kind::Total => vec![Kind::Total],
            Kind::A => vec![Kind::Total, Kind::A],
            Kind::B => vec![Kind::Total, Kind::B],
            Kind::Cell => stages[..=s].to_vec(),
        };
        let mut b = Builder::default();
        // Tables: the siblings, then the parent (all fixed).
        let n = grids.len();
        let tables: Vec<(&Grid, Option<&Mask>)> = grids
            .iter()
            .map(|g| (g, None))
            .chain(parent.map(|p| (&p.grid, Some(&p.mask))))
            .collect();
        let mut ids: HashMap<(usize, Kind, usize, usize), usize> = HashMap::new();
        for (t, (g, pm)) in tables.iter().enumerate() {
            let label = labels.get(t).map_or("", String::as_str);
            let a_keys = g.a.clone().unwrap_or_default();
            let b_keys = g.b.clone().unwrap_or_default();
            let fixed_of = |kind: Kind, i: usize, j: usize| -> Option<(bool, Option<(i64, i64)>)> {
                let m = match pm {
                    Some(m) => *m,
                    None if kind != *stage => &masks[t],
                    None => return None,
                };
                let w = match kind {
                    Kind::Total => m.total,
                    Kind::A => m.a_tot[i],
                    Kind::B => m.b_tot[j],
                    Kind::Cell => m.cells[i][j],
                };
                Some((w, m.ranges.get(&key_of(kind, &a_keys, &b_keys, i, j)).copied()))
            };
            for kind in &included {
                match kind {
                    Kind::Total => {
                        let id = b.entry(g.total, fixed_of(Kind::Total, 0, 0), format!("{label}\u{1}"));
                        ids.insert((t, Kind::Total, 0, 0), id);
                    }
                    Kind::A => {
                        for (i, k) in a_keys.iter().enumerate() {
                            let id = b.entry(g.a_tot[i], fixed_of(Kind::A, i, 0), format!("{label}\u{1}{k}\u{1}"));
                            ids.insert((t, Kind::A, i, 0), id);
                        }
                    }
                    Kind::B => {
                        for (j, k) in b_keys.iter().enumerate() {
                            let id = b.entry(g.b_tot[j], fixed_of(Kind::B, 0, j), format!("{label}\u{1}\u{1}{k}"));
                            ids.insert((t, Kind::B, 0, j), id);
                        }
                    }
                    Kind::Cell => {
                        for (i, ka) in a_keys.iter().enumerate() {
                            for (j, kb) in b_keys.iter().enumerate() {
                                let id = b.entry(
                                    g.cells[i][j],
                                    fixed_of(Kind::Cell, i, j),
                                    format!("{label}\u{1}{ka}\u{1}{kb}"),
                                );
                                ids.insert((t, Kind::Cell, i, j), id);
                            }
                        }
                    }
                }
            }
            let (na, nb) = (a_keys.len(), b_keys.len());
            let id = |k: Kind, i: usize, j: usize| ids[&(t, k, i, j)];
            let has = |k: Kind| included.contains(&k);
            if has(Kind::A) {
                let mut e: Vec<(usize, i64)> = (0..na).map(|i| (id(Kind::A, i, 0), 1)).collect();
                e.push((id(Kind::Total, 0, 0), -1));
                b.equations.push(e);
            }
            if has(Kind::B) {
                let mut e: Vec<(usize, i64)> = (0..nb).map(|j| (id(Kind::B, 0, j), 1)).collect();
                e.push((id(Kind::Total, 0, 0), -1));
                b.equations.push(e);
            }
            if has(Kind::Cell) {
                for i in 0..na {
                    let mut e: Vec<(usize, i64)> = (0..nb).map(|j| (id(Kind::Cell, i, j), 1)).collect();
                    e.push((id(Kind::A, i, 0), -1));
                    b.equations.push(e);
                }
                for j in 0..nb {
                    let mut e: Vec<(usize, i64)> = (0..na).map(|i| (id(Kind::Cell, i, j), 1)).collect();
                    e.push((id(Kind::B, 0, j), -1));
                    b.equations.push(e);
                }
            }
        }
        // Parts add up to their whole, entry by entry.
        for (whole, parts) in sums {
            let mut keys: Vec<(Kind, usize, usize)> = ids
                .keys()
                .filter(|(t, _, _, _)| t == whole)
                .map(|(_, k, i, j)| (*k, *i, *j))
                .collect();
            keys.sort_by_key(|(k, i, j)| (*k as u8, *i, *j));
            for (k, i, j) in keys {
                let mut e: Vec<(usize, i64)> = Vec::with_capacity(parts.len() + 1);
                for t in parts {
                    if let Some(id) = ids.get(&(*t, k, i, j)) {
                        e.push((*id, 1));
                    }
                }
                e.push((ids[&(*whole, k, i, j)], -1));
                b.equations.push(e);
            }
        }
        // Provinces add up to their region; the rest is the same value twice.
        let mut extra: Vec<Vec<(usize, i64)>> = Vec::new();
        for l in links {
            let id = |t: usize, k: Kind, i: usize, j: usize| ids.get(&(t, k, i, j)).copied();
            let same = |x: Option<usize>, y: Option<usize>| match (x, y) {
                (Some(x), Some(y)) => Some(vec![(x, 1), (y, -1)]),
                _ => None,
            };
            // A margin of one dimension, by key index.
            let margin = |t: usize, in_b: bool, k: usize| {
                if in_b {
                    id(t, Kind::B, 0, k)
                } else {
                    id(t, Kind::A, k, 0)
                }
            };
            extra.extend(same(id(l.part, Kind::Total, 0, 0), id(l.whole, Kind::Total, 0, 0)));
            let other_len = if l.in_b {
                grids[l.whole].na()
            } else {
                grids[l.whole].nb()
            };
            for k in 0..other_len {
                extra.extend(same(margin(l.part, !l.in_b, k), margin(l.whole, !l.in_b, k)));
            }
            for (w, parts) in &l.groups {
                if let Some(whole) = margin(l.whole, l.in_b, *w) {
                    let mut e: Vec<(usize, i64)> = parts
                        .iter()
                        .filter_map(|p| margin(l.part, l.in_b, *p).map(|x| (x, 1)))
                        .collect();
                    e.push((whole, -1));
                    extra.push(e);
                }
                for k in 0..other_len {
                    let cell = |t: usize, terr: usize| {
                        if l.in_b {
                            id(t, Kind::Cell, k, terr)
                        } else {
                            id(t, Kind::Cell, terr, k)
                        }
                    };
                    if let Some(whole) = cell(l.whole, *w) {
                        let mut e: Vec<(usize, i64)> =
                            parts.iter().filter_map(|p| cell(l.part, *p).map(|x| (x, 1))).collect();
                        e.push((whole, -1));
                        extra.push(e);
                    }
                }
            }
        }
        b.equations.extend(extra);
        let (withheld, range, left) = b.solve(threshold);
        unresolved += left;
        for ((t, kind, i, j), id) in &ids {
            if *t >= n || kind != stage {
                continue;
            }
            let w = withheld[*id];
            let (a_keys, b_keys) = (
                grids[*t].a.clone().unwrap_or_default(),
                grids[*t].b.clone().unwrap_or_default(),
            );
            let m = &mut masks[*t];
            if w {
                m.ranges.insert(key_of(*kind, &a_keys, &b_keys, *i, *j), range[*id]);
            }
            match kind {
                Kind::Total => m.total = w,
                Kind::A => m.a_tot[*i] = w,
                Kind::B => m.b_tot[*j] = w,
                Kind::Cell => m.cells[*i][*j] = w,
            }
        }
    }
    (masks, unresolved)
}

/// A system of entries (values, fixed or free, tie-break keys) and equations.
#[derive(Default)]
struct Builder {
    values: Vec<i64>,
    fixed: Vec<Option<bool>>,
    keys: Vec<String>,
    /// For a fixed withheld entry: its interval when it was decided.
    reference: Vec<Option<(i64, i64)>>,
    equations: Vec<Vec<(usize, i64)>>,
}

impl Builder {
    fn entry(&mut self, value: i64, fixed: Option<(bool, Option<(i64, i64)>)>, key: String) -> usize {
        self.values.push(value);
        self.fixed.push(fixed.map(|f| f.0));
        self.reference.push(fixed.and_then(|f| f.1));
        self.keys.push(key);
        self.values.len() - 1
    }

    /// The complement of an equation: the free entry still shown that the rule picks (non-zero
    /// before zero, the smallest, then by its keys' codes).
    fn complement(&self, withheld: &[bool], eq: &[(usize, i64)]) -> Option<usize> {
        eq.iter()
            .map(|(i, _)| *i)
            .filter(|i| self.fixed[*i].is_none() && !withheld[*i])
            .min_by(|x, y| {
                let k = |i: usize| (self.values[i] == 0, self.values[i]);
                k(*x).cmp(&k(*y)).then_with(|| self.keys[*x].cmp(&self.keys[*y]))
            })
    }

    /// Withheld entries, what an attacker can tell of each, and the exposures left unresolved.
    /// Exposed: a withheld entry pinned down, or a fixed one narrowed from what could be told
    /// of it when it was decided (closed when the free entries can; only a pinned one left
    /// open counts as unresolved).
    fn solve(&self, threshold: i64) -> (Vec<bool>, Vec<(i64, i64)>, usize) {
        let n = self.values.len();
        let small = |v: i64| v > 0 && v < threshold;
        let mut withheld: Vec<bool> = (0..n)
            .map(|i| self.fixed[i].unwrap_or_else(|| small(self.values[i])))
            .collect();
        let mut holding: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (q, eq) in self.equations.iter().enumerate() {
            for (i, _) in eq {
                holding[*i].push(q);
            }
        }
        let mut given_up = vec![false; n];
        let mut unresolved = 0;
        let norm = |(lo, hi): (i64, i64)| (lo.max(0), hi.min(UNBOUNDED));
        let mut range;
        loop {
            // No equation with exactly one withheld entry.
            let mut changed = true;
            while changed {
                changed = false;
                for eq in &self.equations {
                    if eq.iter().filter(|(i, _)| withheld[*i]).count() == 1 {
                        if let Some(c) = self.complement(&withheld, eq) {
                            withheld[c] = true;
                            changed = true;
                        }
                    }
                }
            }
            // No withheld entry pinned down by intervals.
            let values: Vec<Option<i64>> = (0..n).map(|i| (!withheld[i]).then_some(self.values[i])).collect();
            let primary: Vec<bool> = (0..n).map(|i| withheld[i] && small(self.values[i])).collect();
            range = intervals(&values, &primary, &self.equations, threshold);
            let pinned = |i: usize| range[i].0 >= range[i].1;
            let narrowed = |i: usize| {
                self.reference[i].is_some_and(|r| {
                    let ((lo, hi), (rlo, rhi)) = (norm(range[i]), norm(r));
                    lo > rlo || hi < rhi
                })
            };
            let exposed: Vec<usize> = (0..n)
                .filter(|i| withheld[*i] && !given_up[*i] && (pinned(*i) || narrowed(*i)))
                .collect();
            if exposed.is_empty() {
                break;
            }
            // For each, one more complement in the first equation holding it that still has one
            // (one per equation and round: the intervals are then read again); when none has,
            // every free entry of those equations is withheld already: given up.
            let mut touched = vec![false; self.equations.len()];
            for e in exposed {
                if holding[e].iter().any(|q| touched[*q]) {
                    continue;
                }
                match holding[e]
                    .iter()
                    .find_map(|q| self.complement(&withheld, &self.equations[*q]).map(|c| (*q, c)))
                {
                    Some((q, c)) => {
                        withheld[c] = true;
                        touched[q] = true;
                    }
                    None => {
                        given_up[e] = true;
                        if pinned(e) {
                            unresolved += 1;
                        }
                    }
                }
            }
        }
        (withheld, range, unresolved)
    }
}

/// The widest a secondary (complementary) value can be, for the interval reasoning.
const UNBOUNDED: i64 = i64::MAX / 4;

/// What an attacker who knows the published values, the equations and the threshold can infer
/// of each withheld entry: its lowest and highest possible value. Exposed when they meet.
pub fn intervals(
    values: &[Option<i64>],
    primary: &[bool],
    equations: &[Vec<(usize, i64)>],
    threshold: i64,
) -> Vec<(i64, i64)> {
    let mut range: Vec<(i64, i64)> = values
        .iter()
        .zip(primary)
        .map(|(v, p)| match (v, p) {
            (Some(v), _) => (*v, *v),
            (None, true) => (1, threshold - 1),
            (None, false) => (0, UNBOUNDED),
        })
        .collect();
    let clamp = |x: i128| x.clamp(i64::MIN as i128 / 2, i64::MAX as i128 / 2) as i64;
    for _ in 0..50 {
        let mut changed = false;
        for eq in equations {
            // Bounds of the sum of coef * x over the equation (which is 0).
            let (mut lo, mut hi) = (0i128, 0i128);
            for &(o, k) in eq {
                let (a, b) = (range[o].0 as i128, range[o].1 as i128);
                if k > 0 {
                    lo += a;
                    hi += b;
                } else {
                    lo -= b;
                    hi -= a;
                }
            }
            for &(e, coef) in eq {
                if values[e].is_some() {
                    continue;
                }
                let (a, b) = (range[e].0 as i128, range[e].1 as i128);
                // The others' sum, without this entry's share.
                let (olo, ohi) = if coef > 0 { (lo - a, hi - b) } else { (lo + b, hi + a) };
                // coef * x_e = -(others); coef is ±1
                let (new_lo, new_hi) = if coef > 0 { (-ohi, -olo) } else { (olo, ohi) };
                let (a2, b2) = (a.max(new_lo), b.min(new_hi));
                if (a2, b2) != (a, b) && a2 <= b2 {
                    range[e] = (clamp(a2), clamp(b2));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    range
}

/// A table's entries as published, given what is withheld of each (in canonical keys: see
/// `Protected::hidden`). Counts each entry once (a frequency table's cells are its row totals).
pub fn published_with(
    t: &Table,
    threshold: Option<i64>,
    hidden: &dyn Fn(Option<&str>, Option<&str>) -> bool,
) -> Published {
    let (has_r, has_c, swap) = orientation(t);
    let key = |r: Option<&str>, c: Option<&str>| -> (Option<String>, Option<String>) {
        let r = r.filter(|_| has_r).map(str::to_owned);
        let c = c.filter(|_| has_c).map(str::to_owned);
        if swap {
            (c, r)
        } else {
            (r, c)
        }
    };
    let th = threshold.unwrap_or(0);
    let (mut primary, mut secondary) = (0, 0);
    let mut show = |v: i64, k: (Option<String>, Option<String>), count: bool| -> Option<i64> {
        let w = threshold.is_some() && hidden(k.0.as_deref(), k.1.as_deref());
        if w && count {
            if v > 0 && v < th {
                primary += 1;
            } else {
                secondary += 1;
            }
        }
        (!w).then_some(v)
    };
    let cells = t
        .cells
        .iter()
        .enumerate()
        .map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(|(c, v)| show(*v, key(Some(&t.rows[r]), Some(&t.cols[c])), true))
                .collect()
        })
        .collect();
    let row_totals = t
        .row_totals
        .iter()
        .enumerate()
        .map(|(r, v)| show(*v, key(Some(&t.rows[r]), None), has_r && has_c))
        .collect();
    let col_totals = t
        .col_totals
        .iter()
        .enumerate()
        .map(|(c, v)| show(*v, key(None, Some(&t.cols[c])), has_r && has_c))
        .collect();
    let total = show(t.total, key(None, None), has_r || has_c);
    Published {
        cells,
        row_totals,
        col_totals,
        total,
        primary,
        secondary,
        threshold,
        blocks: Vec::new(),
        territory_from: None,
        unresolved: 0,
    }
}

/// Publishes a table alone: exact for the unit (`threshold` `None`), otherwise protected
/// bottom-up (grand total, the one-dimensional tables, the cross-table) in canonical orientation.
pub fn publish(t: &Table, threshold: Option<i64>) -> Published {
    let Some(th) = threshold else {
        return published_with(t, None, &|_, _| false);
    };
    let grid = Grid::of(t);
    let (masks, unresolved) = protect_family(std::slice::from_ref(&grid), None, &[String::new()], th);
    let p = Protected {
        grid,
        mask: masks.into_iter().next().expect("one mask"),
    };
    let mut out = published_with(t, Some(th), &|a, b| p.hidden(a, b));
    out.unresolved = unresolved;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observatory::model::{Indicator, Measure, Period, Spec, Territory, TerritoryBasis};

    fn table(cells: Vec<Vec<i64>>) -> Table {
        let nr = cells.len();
        let nc = cells[0].len();
        let row_totals: Vec<i64> = cells.iter().map(|r| r.iter().sum()).collect();
        let col_totals: Vec<i64> = (0..nc).map(|c| cells.iter().map(|r| r[c]).sum()).collect();
        let d = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
        Table {
            spec: Spec {
                measure: Measure::Referrals,
                rows: None,
                cols: None,
                period: Period::new(d, d).expect("period"),
                territory: Territory::National,
                basis: TerritoryBasis::Emergence,
            },
            rows: (0..nr).map(|r| format!("r{r}")).collect(),
            cols: (0..nc).map(|c| format!("c{c}")).collect(),
            total: row_totals.iter().sum(),
            cells,
            row_totals,
            col_totals,
            linked_referrals: 0,
            linked_persons: 0,
        }
    }

    #[test]
    fn a_lone_small_cell_takes_a_complement_in_its_row_and_column() {
        let t = table(vec![vec![2, 40, 30], vec![50, 60, 70]]);
        let p = publish(&t, Some(5));
        assert_eq!(p.cells[0][0], None);
        assert_eq!(p.primary, 1);
        assert!(p.secondary >= 3, "row, column and the rectangle closing them: {p:?}");
        assert_eq!(p.total, Some(252));
    }

    fn transposed(t: &Table) -> Table {
        let nc = t.cols.len();
        Table {
            rows: t.cols.clone(),
            cols: t.rows.clone(),
            cells: (0..nc).map(|c| t.cells.iter().map(|r| r[c]).collect()).collect(),
            row_totals: t.col_totals.clone(),
            col_totals: t.row_totals.clone(),
            spec: Spec {
                rows: t.spec.cols,
                cols: t.spec.rows,
                ..t.spec.clone()
            },
            ..t.clone()
        }
    }

    fn with_indicators(mut t: Table, rows: Indicator, cols: Indicator) -> Table {
        t.spec.rows = Some(rows);
        t.spec.cols = Some(cols);
        t
    }

    #[test]
    fn the_pattern_does_not_depend_on_the_orientation() {
        // gender × citizenship and citizenship × gender: one the transpose of the other.
        let t = with_indicators(
            table(vec![vec![2, 40, 30, 7], vec![50, 1, 70, 3], vec![0, 9, 4, 12]]),
            Indicator::Gender,
            Indicator::Citizenship,
        );
        let p = publish(&t, Some(5));
        let q = publish(&transposed(&t), Some(5));
        let nr = t.rows.len();
        let back: Vec<Vec<Option<i64>>> = (0..nr).map(|r| q.cells.iter().map(|row| row[r]).collect()).collect();
        assert_eq!(p.cells, back);
        assert_eq!(p.row_totals, q.col_totals);
        assert_eq!(p.col_totals, q.row_totals);
        assert_eq!(p.total, q.total);
        assert_eq!((p.primary, p.secondary), (q.primary, q.secondary));
        assert_eq!(p.primary, 4, "{p:?}");
    }

    #[test]
    fn margins_have_the_pattern_of_the_smaller_tables_whichever_table_shows_them() {
        // The gender margin of gender × citizenship and of gender × source: the pattern of the
        // frequency table by gender, in both.
        let by_citizenship = with_indicators(
            table(vec![vec![60, 2, 40], vec![3, 30, 0], vec![1, 1, 1]]),
            Indicator::Gender,
            Indicator::Citizenship,
        );
        let by_source = with_indicators(
            table(vec![vec![100, 2], vec![20, 13], vec![3, 0]]),
            Indicator::Gender,
            Indicator::SourceKind,
        );
        let mut alone = table(vec![vec![102], vec![33], vec![3]]);
        alone.cols = vec![ALL.to_owned()];
        alone.spec.rows = Some(Indicator::Gender);
        let a = publish(&by_citizenship, Some(5));
        let b = publish(&by_source, Some(5));
        let g = publish(&alone, Some(5));
        assert_eq!(a.row_totals, b.row_totals);
        let cells: Vec<Option<i64>> = g.cells.iter().map(|r| r[0]).collect();
        assert_eq!(a.row_totals, cells);
        assert_eq!(a.total, g.total);
        assert_eq!(cells[2], None, "3 is withheld");
        assert_eq!(cells[1], None, "and its complement: {g:?}");
    }

    #[test]
    fn the_pattern_does_not_depend_on_which_rows_are_present() {
        // The same counts with a row of zeros more: the same pattern on the common rows.
        let t = table(vec![vec![2, 40, 30], vec![50, 60, 3]]);
        let mut u = table(vec![vec![0, 0, 0], vec![2, 40, 30], vec![50, 60, 3]]);
        u.rows = vec!["a0".into(), "r0".into(), "r1".into()];
        let p = publish(&t, Some(5));
        let q = publish(&u, Some(5));
        assert_eq!(p.cells[..], q.cells[1..]);
        assert_eq!(p.col_totals, q.col_totals);
    }

    #[test]
    fn an_exposure_the_free_cells_cannot_close_is_withheld_whole_and_counted() {
        // Both cells of a row under the threshold, their row total fixed and shown (8 = 4 + 4):
        // no complement can help, the row's cells are withheld and the exposure is counted.
        let g = Grid {
            a: Some(vec!["r".into()]),
            b: Some(vec!["x".into(), "y".into()]),
            cells: vec![vec![4, 4]],
            a_tot: vec![8],
            b_tot: vec![4, 4],
            total: 8,
        };
        let parent = Protected {
            grid: g.clone(),
            mask: Mask {
                cells: vec![vec![false, false]],
                a_tot: vec![false],
                b_tot: vec![false, false],
                total: false,
                ranges: HashMap::new(),
            },
        };
        // Two children: the first holds everything, the second nothing.
        let mut empty = g.clone();
        empty.cells = vec![vec![0, 0]];
        empty.a_tot = vec![0];
        empty.b_tot = vec![0, 0];
        empty.total = 0;
        let (masks, unresolved) = protect_family(&[g, empty], Some(&parent), &["1".into(), "2".into()], 5);
        assert!(masks[0].cells[0][0] && masks[0].cells[0][1], "{masks:?}");
        assert!(unresolved > 0, "counted, never silent");
        // With a third column to complement with, it is closed.
        let t = table(vec![vec![4, 4, 30], vec![10, 10, 10]]);
        let p = publish(&t, Some(5));
        assert_eq!(p.unresolved, 0, "{p:?}");
    }

    #[test]
    fn a_year_of_large_tables_is_protected_in_bounded_time() {
        // The seventeen blocks of a year, 12 × 40 each, many small counts: it must finish (the
        // complements are added for every exposure of a round at once).
        let mut seed = 5u64;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let (na, nb) = (12, 40);
        let a: Vec<String> = (0..na).map(|i| format!("a{i:02}")).collect();
        let b: Vec<String> = (0..nb).map(|j| format!("b{j:02}")).collect();
        let grid = |cells: Vec<Vec<i64>>| Grid {
            a: Some(a.clone()),
            b: Some(b.clone()),
            a_tot: cells.iter().map(|r| r.iter().sum()).collect(),
            b_tot: (0..nb).map(|j| cells.iter().map(|r| r[j]).sum()).collect(),
            total: cells.iter().flatten().sum(),
            cells,
        };
        let months: Vec<Vec<Vec<i64>>> = (0..12)
            .map(|_| {
                (0..na)
                    .map(|_| {
                        (0..nb)
                            .map(|_| if next(3) == 0 { next(20) as i64 } else { next(3) as i64 })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let add = |parts: &[&Vec<Vec<i64>>]| -> Vec<Vec<i64>> {
            (0..na)
                .map(|i| (0..nb).map(|j| parts.iter().map(|p| p[i][j]).sum()).collect())
                .collect()
        };
        let quarters: Vec<Vec<Vec<i64>>> = (0..4)
            .map(|q| add(&[&months[3 * q], &months[3 * q + 1], &months[3 * q + 2]]))
            .collect();
        let year = add(&quarters.iter().collect::<Vec<_>>());
        let mut grids = vec![grid(year)];
        grids.extend(quarters.into_iter().map(&grid));
        grids.extend(months.into_iter().map(&grid));
        let labels: Vec<String> = (0..17).map(|i| format!("{i:02}")).collect();
        let mut sums = vec![(0, vec![1, 2, 3, 4])];
        for q in 0..4 {
            sums.push((1 + q, (0..3).map(|m| 5 + 3 * q + m).collect()));
        }
        let started = std::time::Instant::now();
        let (masks, _) = protect_joint(&grids, None, &sums, &[], &labels, 5);
        assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
        // Every small count withheld.
        for (g, m) in grids.iter().zip(&masks) {
            for i in 0..na {
                for j in 0..nb {
                    if (1..5).contains(&g.cells[i][j]) {
                        assert!(m.cells[i][j]);
                    }
                }
            }
        }
    }

    #[test]
    fn the_unit_sees_every_count() {
        let t = table(vec![vec![2, 40], vec![1, 0]]);
        let p = publish(&t, None);
        assert_eq!(p.cells, vec![vec![Some(2), Some(40)], vec![Some(1), Some(0)]]);
        assert_eq!(p.primary + p.secondary, 0);
    }
}
