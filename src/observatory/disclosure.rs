//! Disclosure control for what leaves the crisis unit.
//!
//! **Tables.** A count under the threshold (default 5, `VARCO_DISCLOSURE_THRESHOLD`; never under 3,
//! the minimum of Italian official statistics) is suppressed (*soppressione primaria*); zeros are
//! shown. Then complementary cells are suppressed (*soppressione secondaria*) until no suppressed
//! value can be worked out from the published ones: every row, column and the two margins are
//! equations (cells add up to their total), and no equation may hold exactly one suppressed entry;
//! an attacker who also knows that a primary cell lies between 1 and threshold − 1 and solves
//! the equations by intervals must still not pin any suppressed value down. The complement of an
//! equation is chosen by a rule that depends only on the entries of that equation (an inner cell
//! before a total, a non-zero count before a zero, the smallest count, then the first key), so
//! the same cell of the same data is suppressed the same way in every table and release that
//! holds it.
//!
//! **Records.** See `export::ctdc`: k-anonymity by generalisation, then dropping.

use super::model::Table;

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
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Shown,
    Primary,
    Secondary,
}

/// One entry of the table: its value, whether it is an inner cell, and a key for ordering.
struct Entry {
    value: i64,
    inner: bool,
    key: (usize, usize, usize),
}

/// The entries and equations of a table (each equation: entries with +1 adding up to the
/// entry with −1).
pub struct System {
    entries: Vec<Entry>,
    equations: Vec<Vec<(usize, i64)>>,
    rows: usize,
    cols: usize,
}

impl System {
    pub fn of(t: &Table) -> System {
        let (nr, nc) = (t.rows.len(), t.cols.len());
        let mut entries = Vec::with_capacity(nr * nc + nr + nc + 1);
        for (r, row) in t.cells.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                entries.push(Entry {
                    value: *v,
                    inner: true,
                    key: (0, r, c),
                });
            }
        }
        for (r, v) in t.row_totals.iter().enumerate() {
            entries.push(Entry {
                value: *v,
                inner: false,
                key: (1, r, 0),
            });
        }
        for (c, v) in t.col_totals.iter().enumerate() {
            entries.push(Entry {
                value: *v,
                inner: false,
                key: (2, 0, c),
            });
        }
        entries.push(Entry {
            value: t.total,
            inner: false,
            key: (3, 0, 0),
        });
        let cell = |r: usize, c: usize| r * nc + c;
        let rt = |r: usize| nr * nc + r;
        let ct = |c: usize| nr * nc + nr + c;
        let g = nr * nc + nr + nc;
        let mut equations = Vec::new();
        for r in 0..nr {
            let mut e: Vec<(usize, i64)> = (0..nc).map(|c| (cell(r, c), 1)).collect();
            e.push((rt(r), -1));
            equations.push(e);
        }
        for c in 0..nc {
            let mut e: Vec<(usize, i64)> = (0..nr).map(|r| (cell(r, c), 1)).collect();
            e.push((ct(c), -1));
            equations.push(e);
        }
        let mut e: Vec<(usize, i64)> = (0..nr).map(|r| (rt(r), 1)).collect();
        e.push((g, -1));
        equations.push(e);
        let mut e: Vec<(usize, i64)> = (0..nc).map(|c| (ct(c), 1)).collect();
        e.push((g, -1));
        equations.push(e);
        System {
            entries,
            equations,
            rows: nr,
            cols: nc,
        }
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
    for _ in 0..50 {
        let mut changed = false;
        for eq in equations {
            for &(e, coef) in eq {
                if values[e].is_some() {
                    continue;
                }
                // coef * x_e = -(sum of the others' coef * x)
                let (mut lo, mut hi) = (0i64, 0i64);
                for &(o, k) in eq {
                    if o == e {
                        continue;
                    }
                    let (a, b) = range[o];
                    if k > 0 {
                        lo = lo.saturating_add(a);
                        hi = hi.saturating_add(b);
                    } else {
                        lo = lo.saturating_sub(b);
                        hi = hi.saturating_sub(a);
                    }
                }
                // x_e = -(others) / coef, coef is ±1
                let (new_lo, new_hi) = if coef > 0 { (-hi, -lo) } else { (lo, hi) };
                let (a, b) = range[e];
                let (a2, b2) = (a.max(new_lo), b.min(new_hi));
                if (a2, b2) != (a, b) && a2 <= b2 {
                    range[e] = (a2, b2);
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

/// Publishes a table: exact for the unit (`threshold` `None`), otherwise with primary and
/// secondary suppression.
pub fn publish(t: &Table, threshold: Option<i64>) -> Published {
    let sys = System::of(t);
    let n = sys.entries.len();
    let mut state = vec![State::Shown; n];
    if let Some(th) = threshold {
        for (i, e) in sys.entries.iter().enumerate() {
            if e.value > 0 && e.value < th {
                state[i] = State::Primary;
            }
        }
        protect(&sys, &mut state, th);
    }
    let value = |i: usize| (state[i] == State::Shown).then_some(sys.entries[i].value);
    let (nr, nc) = (sys.rows, sys.cols);
    Published {
        cells: (0..nr).map(|r| (0..nc).map(|c| value(r * nc + c)).collect()).collect(),
        row_totals: (0..nr).map(|r| value(nr * nc + r)).collect(),
        col_totals: (0..nc).map(|c| value(nr * nc + nr + c)).collect(),
        total: value(n - 1),
        primary: state.iter().filter(|s| **s == State::Primary).count(),
        secondary: state.iter().filter(|s| **s == State::Secondary).count(),
        threshold,
    }
}

/// The complement of an equation: the unsuppressed entry the rule picks (depends only on the
/// entries of the equation).
fn complement(sys: &System, state: &[State], eq: &[(usize, i64)]) -> Option<usize> {
    eq.iter()
        .map(|(i, _)| *i)
        .filter(|i| state[*i] == State::Shown)
        .min_by_key(|i| {
            let e = &sys.entries[*i];
            (!e.inner, e.value == 0, e.value, e.key)
        })
}

fn protect(sys: &System, state: &mut [State], threshold: i64) {
    loop {
        // No equation with exactly one withheld entry.
        let mut changed = true;
        while changed {
            changed = false;
            for eq in &sys.equations {
                let hidden = eq.iter().filter(|(i, _)| state[*i] != State::Shown).count();
                if hidden == 1 {
                    if let Some(c) = complement(sys, state, eq) {
                        state[c] = State::Secondary;
                        changed = true;
                    }
                }
            }
        }
        // No withheld entry pinned down by intervals.
        let values: Vec<Option<i64>> = sys
            .entries
            .iter()
            .zip(state.iter())
            .map(|(e, s)| (*s == State::Shown).then_some(e.value))
            .collect();
        let primary: Vec<bool> = state.iter().map(|s| *s == State::Primary).collect();
        let range = intervals(&values, &primary, &sys.equations, threshold);
        let exposed = (0..state.len()).find(|i| state[*i] != State::Shown && range[*i].0 >= range[*i].1);
        let Some(e) = exposed else {
            return;
        };
        // Widen it: one more complement in the first equation holding it that still has one.
        let more = sys
            .equations
            .iter()
            .filter(|eq| eq.iter().any(|(i, _)| *i == e))
            .find_map(|eq| complement(sys, state, eq));
        match more {
            Some(c) => state[c] = State::Secondary,
            // Everything it touches is withheld already.
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observatory::model::{Measure, Period, Spec, Territory, TerritoryBasis};

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

    #[test]
    fn the_unit_sees_every_count() {
        let t = table(vec![vec![2, 40], vec![1, 0]]);
        let p = publish(&t, None);
        assert_eq!(p.cells, vec![vec![Some(2), Some(40)], vec![Some(1), Some(0)]]);
        assert_eq!(p.primary + p.secondary, 0);
    }
}
