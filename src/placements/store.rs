//! Escape points and placements in the database. A placement is taken under the point's lock:
//! on PostgreSQL `SELECT … FOR UPDATE` of the point's row, so that operators of several app
//! instances placing at once queue on it; on SQLite the single writer already lets one write in at
//! a time. The free count is read after the lock, in the same transaction as the insert.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::lifecycle::{self, PlacementAction};
use super::vocab::{CheckOutReason, PlaceType, PlacementKind, PlacementStatus, PointStatus, TurnAwayReason};
use crate::crypto::{DataKey, Keyring};
use crate::db::schema::{escape_point_languages, escape_points, placements};
use crate::db::DbConn;
use crate::domain::{CaseId, DataKeyId, Province, UserId, Version};
use crate::error::AppError;

/// The sealed field of a point's address.
pub const ADDRESS_FIELD: &str = "escape_point.address";

/// An escape point as stored. Its address is not read with it, not even sealed: only whether it
/// has one; [`address`] reads and opens it on an audited request.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = escape_points)]
pub struct PointRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub province: Province,
    #[diesel(select_expression = escape_points::address.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<escape_points::address>)]
    pub has_address: bool,
    pub data_key_id: Option<DataKeyId>,
    pub beds: i32,
    pub family_rooms: i32,
    pub takes_women: bool,
    pub takes_men: bool,
    pub takes_minors: bool,
    pub takes_children: bool,
    pub takes_trans: bool,
    pub accessible: bool,
    pub contact_phone: String,
    pub status: PointStatus,
    pub suspended_reason: Option<String>,
    pub example: bool,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PointRow {
    pub fn capacity(&self, t: PlaceType) -> i64 {
        i64::from(match t {
            PlaceType::Bed => self.beds,
            PlaceType::FamilyRoom => self.family_rooms,
        })
    }
}

/// A point with its staff's languages.
#[derive(Clone, Debug)]
pub struct Point {
    pub row: PointRow,
    pub languages: Vec<String>,
}

/// A placement (hold, stay, turn-away) as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = placements)]
pub struct PlacementRow {
    pub id: i64,
    pub case_id: CaseId,
    pub point_id: i64,
    pub kind: PlacementKind,
    pub place_type: PlaceType,
    pub status: PlacementStatus,
    pub operator_id: Option<UserId>,
    pub expires_at: Option<NaiveDateTime>,
    pub checked_in_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub check_out_reason: Option<CheckOutReason>,
    pub turn_away_reason: Option<TurnAwayReason>,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PlacementRow {
    /// True while it takes a place (a hold only until it expires, even before the job marks it).
    pub fn occupies(&self, now: NaiveDateTime) -> bool {
        match self.status {
            PlacementStatus::Held => self.expires_at.is_some_and(|e| e > now),
            s => s.is_open(),
        }
    }
}

/// What a coordinator sets on a point (the address apart: it is sealed).
#[derive(Clone, Debug)]
pub struct PointFields {
    pub name: String,
    pub province: Province,
    pub beds: i32,
    pub family_rooms: i32,
    pub takes_women: bool,
    pub takes_men: bool,
    pub takes_minors: bool,
    pub takes_children: bool,
    pub takes_trans: bool,
    pub accessible: bool,
    pub contact_phone: String,
    pub languages: Vec<String>,
    pub status: PointStatus,
    pub suspended_reason: Option<String>,
}

fn languages_of(conn: &mut DbConn, ids: &[i64]) -> Result<HashMap<i64, Vec<String>>, AppError> {
    let rows: Vec<(i64, String)> = escape_point_languages::table
        .filter(escape_point_languages::point_id.eq_any(ids))
        .order((escape_point_languages::point_id, escape_point_languages::language))
        .load(conn)?;
    let mut by: HashMap<i64, Vec<String>> = HashMap::new();
    for (p, l) in rows {
        by.entry(p).or_default().push(l);
    }
    Ok(by)
}

/// Every point, by code.
pub fn list(conn: &mut DbConn) -> Result<Vec<Point>, AppError> {
    let rows: Vec<PointRow> = escape_points::table
        .order(escape_points::code)
        .select(PointRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut langs = languages_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| Point {
            languages: langs.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<Point, AppError> {
    let row: PointRow = escape_points::table
        .find(id)
        .select(PointRow::as_select())
        .first(conn)?;
    let languages = languages_of(conn, &[id])?.remove(&id).unwrap_or_default();
    Ok(Point { row, languages })
}

/// The point's row, locked until the transaction ends on PostgreSQL (see the module's comment).
pub fn lock(conn: &mut DbConn, id: i64) -> Result<PointRow, AppError> {
    let row = match conn {
        DbConn::Sqlite(c) => escape_points::table
            .find(id)
            .select(PointRow::as_select())
            .first(c)
            .optional()?,
        DbConn::Pg(c) => escape_points::table
            .find(id)
            .select(PointRow::as_select())
            .for_update()
            .first(c)
            .optional()?,
    };
    row.ok_or(AppError::NotFound)
}

fn set_languages(conn: &mut DbConn, id: i64, languages: &[String]) -> Result<(), AppError> {
    diesel::delete(escape_point_languages::table.filter(escape_point_languages::point_id.eq(id))).execute(conn)?;
    for l in languages {
        diesel::insert_into(escape_point_languages::table)
            .values((
                escape_point_languages::point_id.eq(id),
                escape_point_languages::language.eq(l),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A new point; its address sealed under a data key of its own.
pub fn create(
    conn: &mut DbConn,
    keys: &Keyring,
    code: &str,
    f: &PointFields,
    address: Option<&str>,
    example: bool,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let (key_id, sealed) = match address {
        Some(a) => {
            let (key_id, key) = crate::crypto::store::create(conn, keys, now)?;
            (Some(key_id), Some(key.seal_str(ADDRESS_FIELD, a)))
        }
        None => (None, None),
    };
    let id: i64 = diesel::insert_into(escape_points::table)
        .values((
            escape_points::code.eq(code),
            escape_points::name.eq(&f.name),
            escape_points::province.eq(f.province),
            escape_points::address.eq(sealed),
            escape_points::data_key_id.eq(key_id),
            escape_points::beds.eq(f.beds),
            escape_points::family_rooms.eq(f.family_rooms),
            escape_points::takes_women.eq(f.takes_women),
            escape_points::takes_men.eq(f.takes_men),
            escape_points::takes_minors.eq(f.takes_minors),
            escape_points::takes_children.eq(f.takes_children),
            escape_points::takes_trans.eq(f.takes_trans),
            escape_points::accessible.eq(f.accessible),
            escape_points::contact_phone.eq(&f.contact_phone),
            escape_points::status.eq(f.status),
            escape_points::suspended_reason.eq(&f.suspended_reason),
            escape_points::example.eq(example),
            escape_points::version.eq(Version::FIRST),
            escape_points::created_at.eq(now),
            escape_points::updated_at.eq(now),
        ))
        .returning(escape_points::id)
        .get_result(conn)?;
    set_languages(conn, id, &f.languages)?;
    Ok(id)
}

/// Changes a point if still at `expected`; a new address is sealed under the point's key (made
/// now when it had none).
pub fn update(
    conn: &mut DbConn,
    keys: &Keyring,
    id: i64,
    expected: Version,
    f: &PointFields,
    address: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let row = lock(conn, id)?;
    if row.version != expected {
        return Err(AppError::StaleVersion {
            current_version: row.version.get(),
        });
    }
    let (key_id, sealed) = match address {
        Some(a) => {
            let key = match row.data_key_id {
                Some(k) => crate::crypto::store::open(conn, keys, k)?.map(|key| (k, key)),
                None => None,
            };
            let (k, key) = match key {
                Some(pair) => pair,
                None => crate::crypto::store::create(conn, keys, now)?,
            };
            (Some(k), Some(key.seal_str(ADDRESS_FIELD, a)))
        }
        None => (row.data_key_id, sealed_address(conn, id)?),
    };
    diesel::update(escape_points::table.find(id))
        .set((
            escape_points::name.eq(&f.name),
            escape_points::province.eq(f.province),
            escape_points::address.eq(sealed),
            escape_points::data_key_id.eq(key_id),
            escape_points::beds.eq(f.beds),
            escape_points::family_rooms.eq(f.family_rooms),
            escape_points::takes_women.eq(f.takes_women),
            escape_points::takes_men.eq(f.takes_men),
            escape_points::takes_minors.eq(f.takes_minors),
            escape_points::takes_children.eq(f.takes_children),
            escape_points::takes_trans.eq(f.takes_trans),
            escape_points::accessible.eq(f.accessible),
            escape_points::contact_phone.eq(&f.contact_phone),
            escape_points::status.eq(f.status),
            escape_points::suspended_reason.eq(&f.suspended_reason),
            escape_points::version.eq(row.version.next()),
            escape_points::updated_at.eq(now),
        ))
        .execute(conn)?;
    set_languages(conn, id, &f.languages)?;
    Ok(())
}

fn sealed_address(conn: &mut DbConn, id: i64) -> Result<Option<crate::crypto::Sealed>, AppError> {
    Ok(escape_points::table
        .find(id)
        .select(escape_points::address)
        .first(conn)?)
}

/// The point's address, opened with its key; `None` when it has none (or its key is gone).
pub fn address(conn: &mut DbConn, keys: &Keyring, row: &PointRow) -> Result<Option<String>, AppError> {
    let sealed = if row.has_address {
        sealed_address(conn, row.id)?
    } else {
        None
    };
    let (Some(sealed), Some(key_id)) = (&sealed, row.data_key_id) else {
        return Ok(None);
    };
    let Some(key): Option<DataKey> = crate::crypto::store::open(conn, keys, key_id)? else {
        return Ok(None);
    };
    Ok(Some(key.open_str(ADDRESS_FIELD, sealed).map_err(AppError::internal)?))
}

/// Places taken now, by point and type: placements expected or in place and unexpired holds.
/// The second map counts the unexpired holds alone.
pub type Taken = HashMap<(i64, PlaceType), i64>;

pub fn taken(conn: &mut DbConn, point: Option<i64>, now: NaiveDateTime) -> Result<(Taken, Taken), AppError> {
    let mut q = placements::table
        .filter(
            placements::status
                .eq_any([PlacementStatus::Placed, PlacementStatus::CheckedIn])
                .or(placements::status
                    .eq(PlacementStatus::Held)
                    .and(placements::expires_at.gt(now))),
        )
        .group_by((placements::point_id, placements::place_type, placements::status))
        .select((
            placements::point_id,
            placements::place_type,
            placements::status,
            diesel::dsl::count_star(),
        ))
        .into_boxed();
    if let Some(p) = point {
        q = q.filter(placements::point_id.eq(p));
    }
    let rows: Vec<(i64, PlaceType, PlacementStatus, i64)> = q.load(conn)?;
    let (mut all, mut held) = (Taken::new(), Taken::new());
    for (p, t, s, n) in rows {
        *all.entry((p, t)).or_default() += n;
        if s == PlacementStatus::Held {
            *held.entry((p, t)).or_default() += n;
        }
    }
    Ok((all, held))
}

/// A new hold or placement, if the point has a free place of its type: call inside the write
/// transaction. Without a free place, `Ok(Err(NoSpace))`: the turn-away is written and its
/// message names the point by code and name (never its address).
#[allow(clippy::too_many_arguments)]
pub fn place(
    conn: &mut DbConn,
    case: CaseId,
    point: i64,
    kind: PlacementKind,
    place_type: PlaceType,
    operator: Option<UserId>,
    hold_minutes: i64,
    now: NaiveDateTime,
) -> Result<Result<PlacementRow, NoSpace>, AppError> {
    let row = lock(conn, point)?;
    if row.status != PointStatus::Active {
        return Err(AppError::Conflict(format!(
            "the escape point {} ({}) is suspended",
            row.code, row.name
        )));
    }
    if place_type == PlaceType::FamilyRoom && !row.takes_children {
        return Err(AppError::invalid("place_type", "the escape point takes no children"));
    }
    let (taken, _) = taken(conn, Some(point), now)?;
    let used = taken.get(&(point, place_type)).copied().unwrap_or(0);
    if used >= row.capacity(place_type) {
        // The refusal is a fact the observatory counts (turn-aways for lack of space): it is
        // written as a turned-away placement, and the caller commits it before answering 409.
        let refused = insert(conn, case, point, kind, place_type, operator, Start::TurnedAway, now)?;
        let message = match place_type {
            PlaceType::Bed => format!("no free bed at the escape point {} ({})", row.code, row.name),
            PlaceType::FamilyRoom => format!("no free family room at the escape point {} ({})", row.code, row.name),
        };
        return Ok(Err(NoSpace { refused, message }));
    }
    let state = match kind {
        PlacementKind::Hold => Start::Held(now + chrono::Duration::minutes(hold_minutes)),
        _ => Start::Placed,
    };
    Ok(Ok(insert(conn, case, point, kind, place_type, operator, state, now)?))
}

/// A placement refused because the point had no free place of the type; the turn-away row that
/// records it is already written.
#[derive(Debug)]
pub struct NoSpace {
    pub refused: PlacementRow,
    pub message: String,
}

/// The state a new placement row starts in.
enum Start {
    Held(NaiveDateTime),
    Placed,
    TurnedAway,
}

#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &mut DbConn,
    case: CaseId,
    point: i64,
    kind: PlacementKind,
    place_type: PlaceType,
    operator: Option<UserId>,
    state: Start,
    now: NaiveDateTime,
) -> Result<PlacementRow, AppError> {
    let (status, expires, ended, reason) = match state {
        Start::Held(until) => (PlacementStatus::Held, Some(until), None, None),
        Start::Placed => (PlacementStatus::Placed, None, None, None),
        Start::TurnedAway => (
            PlacementStatus::TurnedAway,
            None,
            Some(now),
            Some(TurnAwayReason::NoSpace),
        ),
    };
    Ok(diesel::insert_into(placements::table)
        .values((
            placements::case_id.eq(case),
            placements::point_id.eq(point),
            placements::kind.eq(kind),
            placements::place_type.eq(place_type),
            placements::status.eq(status),
            placements::operator_id.eq(operator),
            placements::expires_at.eq(expires),
            placements::ended_at.eq(ended),
            placements::turn_away_reason.eq(reason),
            placements::version.eq(Version::FIRST),
            placements::created_at.eq(now),
            placements::updated_at.eq(now),
        ))
        .returning(crate::db::columns::<PlacementRow>())
        .get_result(conn)?)
}

pub fn get_placement(conn: &mut DbConn, id: i64) -> Result<PlacementRow, AppError> {
    Ok(placements::table
        .find(id)
        .select(PlacementRow::as_select())
        .first(conn)?)
}

/// Moves a placement by its lifecycle; a hold past its expiry can only expire.
pub fn apply(
    conn: &mut DbConn,
    p: &PlacementRow,
    action: PlacementAction,
    check_out: Option<CheckOutReason>,
    turn_away: Option<TurnAwayReason>,
    now: NaiveDateTime,
) -> Result<PlacementRow, AppError> {
    let state = if p.status == PlacementStatus::Held && !p.occupies(now) {
        PlacementStatus::Expired
    } else {
        p.status
    };
    if state == PlacementStatus::Expired && p.status == PlacementStatus::Held && action != PlacementAction::Expire {
        return Err(AppError::IllegalTransition {
            state: PlacementStatus::Expired.as_str(),
            action: action.as_str(),
        });
    }
    let next = lifecycle::transition(p.status, action)?;
    let checked_in = if next == PlacementStatus::CheckedIn {
        Some(now)
    } else {
        p.checked_in_at
    };
    let ended = if next.is_open() { None } else { Some(now) };
    let n = diesel::update(
        placements::table
            .filter(placements::id.eq(p.id))
            .filter(placements::version.eq(p.version)),
    )
    .set((
        placements::status.eq(next),
        placements::checked_in_at.eq(checked_in),
        placements::ended_at.eq(ended),
        placements::check_out_reason.eq(check_out.or(p.check_out_reason)),
        placements::turn_away_reason.eq(turn_away.or(p.turn_away_reason)),
        placements::version.eq(p.version.next()),
        placements::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::StaleVersion {
            current_version: get_placement(conn, p.id)?.version.get(),
        });
    }
    get_placement(conn, p.id)
}

/// The placements of a case, oldest first: the person's journey through places.
pub fn of_case(conn: &mut DbConn, case: CaseId) -> Result<Vec<PlacementRow>, AppError> {
    Ok(placements::table
        .filter(placements::case_id.eq(case))
        .order(placements::id)
        .select(PlacementRow::as_select())
        .load(conn)?)
}

/// True when `user` handles a hold or placement open at the point now.
pub fn handles(conn: &mut DbConn, user: UserId, point: i64, now: NaiveDateTime) -> Result<bool, AppError> {
    let rows: Vec<PlacementRow> = placements::table
        .filter(placements::point_id.eq(point))
        .filter(placements::operator_id.eq(user))
        .filter(placements::status.eq_any(PlacementStatus::OCCUPYING))
        .select(PlacementRow::as_select())
        .load(conn)?;
    Ok(rows.iter().any(|p| p.occupies(now)))
}

/// Marks the holds past their expiry as expired (they stopped counting already); returns the
/// (case, point) of each.
pub fn expire_holds(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<(CaseId, i64)>, AppError> {
    Ok(diesel::update(
        placements::table
            .filter(placements::status.eq(PlacementStatus::Held))
            .filter(placements::expires_at.le(now)),
    )
    .set((
        placements::status.eq(PlacementStatus::Expired),
        placements::ended_at.eq(now),
        placements::updated_at.eq(now),
    ))
    .returning((placements::case_id, placements::point_id))
    .get_results(conn)?)
}

/// One timeline entry per expired hold, written by the system, in one statement.
pub fn expired_on_timelines(conn: &mut DbConn, expired: &[(CaseId, i64)], now: NaiveDateTime) -> Result<(), AppError> {
    use crate::casework::vocab::CaseEventKind;
    use crate::db::schema::case_events;
    if expired.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = expired.iter().map(|(_, p)| *p).collect();
    let codes: std::collections::HashMap<i64, String> = escape_points::table
        .filter(escape_points::id.eq_any(ids))
        .select((escape_points::id, escape_points::code))
        .load(conn)?
        .into_iter()
        .collect();
    let rows: Vec<_> = expired
        .iter()
        .map(|(case, point)| {
            (
                case_events::case_id.eq(*case),
                case_events::at.eq(now),
                case_events::actor_label.eq(Some("Varco")),
                case_events::kind.eq(CaseEventKind::PlacementExpired),
                case_events::detail.eq(codes.get(point).cloned()),
            )
        })
        .collect();
    crate::insert_rows!(conn, case_events::table, rows)?;
    Ok(())
}

/// A point's code (shown on timelines; never its address).
pub fn point_code(conn: &mut DbConn, id: i64) -> Result<String, AppError> {
    Ok(escape_points::table.find(id).select(escape_points::code).first(conn)?)
}

/// The twelve escape points of seed 004, as examples (no address: a coordinator gives the real
/// one), written at the first start when the registry is empty. Returns how many were written.
pub fn seed_examples(conn: &mut DbConn, keys: &Keyring, now: NaiveDateTime) -> Result<usize, AppError> {
    let n: i64 = escape_points::table.count().get_result(conn)?;
    if n > 0 {
        return Ok(0);
    }
    // (code, name, province, beds, family rooms, women, men, minors, children, trans, accessible, languages)
    type Example = (
        &'static str,
        &'static str,
        &'static str,
        i32,
        i32,
        bool,
        bool,
        bool,
        bool,
        bool,
        bool,
        &'static [&'static str],
    );
    const EXAMPLES: [Example; 12] = [
        (
            "PF-01",
            "Punto di fuga Venezia (esempio)",
            "VE",
            4,
            2,
            true,
            false,
            false,
            true,
            true,
            true,
            &["it", "en", "fr"],
        ),
        (
            "PF-02",
            "Punto di fuga Padova (esempio)",
            "PD",
            3,
            1,
            true,
            false,
            false,
            true,
            true,
            false,
            &["it", "en"],
        ),
        (
            "PF-03",
            "Punto di fuga Treviso (esempio)",
            "TV",
            2,
            0,
            false,
            true,
            false,
            false,
            true,
            true,
            &["it", "ro", "ar"],
        ),
        (
            "PF-04",
            "Punto di fuga Verona (esempio)",
            "VR",
            3,
            1,
            true,
            false,
            true,
            true,
            false,
            false,
            &["it", "en"],
        ),
        (
            "PF-05",
            "Punto di fuga Vicenza (esempio)",
            "VI",
            2,
            1,
            true,
            false,
            false,
            true,
            true,
            true,
            &["it", "es"],
        ),
        (
            "PF-06",
            "Punto di fuga Rovigo (esempio)",
            "RO",
            2,
            0,
            false,
            true,
            false,
            false,
            false,
            false,
            &["it", "ur", "bn"],
        ),
        (
            "PF-07",
            "Punto di fuga Belluno (esempio)",
            "BL",
            2,
            1,
            true,
            false,
            false,
            true,
            false,
            true,
            &["it"],
        ),
        (
            "PF-08",
            "Punto di fuga Trieste (esempio)",
            "TS",
            3,
            1,
            true,
            false,
            false,
            true,
            true,
            false,
            &["it", "en", "sq"],
        ),
        (
            "PF-09",
            "Punto di fuga Udine (esempio)",
            "UD",
            2,
            0,
            true,
            true,
            false,
            false,
            true,
            true,
            &["it", "en"],
        ),
        (
            "PF-10",
            "Punto di fuga Pordenone (esempio)",
            "PN",
            2,
            1,
            true,
            false,
            false,
            true,
            false,
            false,
            &["it", "fr"],
        ),
        (
            "PF-11",
            "Punto di fuga Gorizia (esempio)",
            "GO",
            2,
            0,
            false,
            true,
            false,
            false,
            false,
            true,
            &["it", "ar"],
        ),
        (
            "PF-12",
            "Punto di fuga Trento (esempio)",
            "TN",
            3,
            2,
            true,
            false,
            true,
            true,
            true,
            true,
            &["it", "en", "de"],
        ),
    ];
    for (code, name, prov, beds, rooms, w, m, minors, children, trans, acc, langs) in EXAMPLES {
        let f = PointFields {
            name: name.into(),
            province: Province::parse(prov).ok_or_else(|| AppError::Internal(format!("province {prov}")))?,
            beds,
            family_rooms: rooms,
            takes_women: w,
            takes_men: m,
            takes_minors: minors,
            takes_children: children,
            takes_trans: trans,
            accessible: acc,
            contact_phone: "800 290 290".into(),
            languages: langs.iter().map(|l| (*l).to_owned()).collect(),
            status: PointStatus::Active,
            suspended_reason: None,
        };
        create(conn, keys, code, &f, None, true, now)?;
    }
    Ok(EXAMPLES.len())
}

/// The placements, holds and turn-aways that touch `[start, end)`: created before its end and
/// not ended before its start (the occupancy history reads them).
pub fn touching(conn: &mut DbConn, start: NaiveDateTime, end: NaiveDateTime) -> Result<Vec<PlacementRow>, AppError> {
    Ok(placements::table
        .filter(placements::created_at.lt(end))
        .filter(placements::ended_at.is_null().or(placements::ended_at.ge(start)))
        .order(placements::id)
        .select(PlacementRow::as_select())
        .load(conn)?)
}
