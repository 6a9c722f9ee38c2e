//! Escape-point and placement use cases: a caller and the application, no HTTP. For the crisis
//! unit only (coordinators and operators); the registry is kept by coordinators. Every write is
//! audited, and every reveal of an address (and every refusal of one).

use chrono::{NaiveDate, NaiveDateTime};

use super::lifecycle::PlacementAction;
use super::store::{self, PlacementRow, Point, PointFields};
use super::vocab::{CheckOutReason, PlaceType, PlacementKind, PointStatus, TurnAwayReason};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::casework::vocab::CaseEventKind;
use crate::domain::{Caller, CaseId, Province, Role, UserId, Version};
use crate::error::AppError;
use crate::referrals::vocab::Gender;

fn unit_member(caller: &Caller) -> Result<UserId, AppError> {
    match (caller.role, caller.user_id()) {
        (Some(Role::Coordinator | Role::Operator), Some(u)) => Ok(u),
        _ => Err(AppError::Forbidden),
    }
}

fn coordinator(caller: &Caller) -> Result<UserId, AppError> {
    match (caller.role, caller.user_id()) {
        (Some(Role::Coordinator), Some(u)) => Ok(u),
        _ => Err(AppError::Forbidden),
    }
}

pub async fn list(app: &App, caller: &Caller) -> Result<Vec<Point>, AppError> {
    unit_member(caller)?;
    app.db.read(store::list).await
}

pub async fn get(app: &App, caller: &Caller, id: i64) -> Result<Point, AppError> {
    unit_member(caller)?;
    app.db.read(move |c| store::get(c, id)).await
}

/// A new point (coordinators).
pub async fn create(
    app: &App,
    caller: &Caller,
    code: String,
    fields: PointFields,
    address: Option<String>,
) -> Result<Point, AppError> {
    coordinator(caller)?;
    let keys = app.keys();
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let id = store::create(tx.conn, &keys, &code, &fields, address.as_deref(), false, now)?;
        tx.audit(Event::new("escape_point.create").entity("escape_point", id))?;
        store::get(tx.conn, id)
    })
    .await
}

/// Changes a point, suspending or reactivating it included (coordinators).
pub async fn update(
    app: &App,
    caller: &Caller,
    id: i64,
    expected: Version,
    fields: PointFields,
    address: Option<String>,
) -> Result<Point, AppError> {
    coordinator(caller)?;
    let keys = app.keys();
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        store::update(tx.conn, &keys, id, expected, &fields, address.as_deref(), now)?;
        tx.audit(Event::new("escape_point.update").entity("escape_point", id))?;
        store::get(tx.conn, id)
    })
    .await
}

/// Who is to be placed, for the board.
#[derive(Clone, Debug, Default)]
pub struct Need {
    pub gender: Option<Gender>,
    pub minor: bool,
    pub children: bool,
    pub language: Option<String>,
    pub accessible: bool,
    pub province: Option<Province>,
}

impl Need {
    /// The place type the person needs: a room for a mother with children, else a bed.
    pub fn place_type(&self) -> PlaceType {
        if self.children {
            PlaceType::FamilyRoom
        } else {
            PlaceType::Bed
        }
    }

    /// True when the point can take this person (its free capacity apart).
    pub fn fits(&self, p: &Point) -> bool {
        let r = &p.row;
        let gender = match self.gender {
            Some(Gender::Female) => r.takes_women,
            Some(Gender::Male) => r.takes_men,
            Some(Gender::Trans) => r.takes_trans,
            Some(Gender::Unknown) | None => true,
        };
        gender
            && r.status == PointStatus::Active
            && (!self.minor || r.takes_minors)
            && (!self.children || (r.takes_children && r.family_rooms > 0))
            && (!self.accessible || r.accessible)
            && self
                .language
                .as_ref()
                .is_none_or(|l| p.languages.iter().any(|x| x == l))
    }
}

/// A line of the availability board.
#[derive(Clone, Debug)]
pub struct BoardLine {
    pub point: Point,
    pub free_beds: i64,
    pub free_family_rooms: i64,
    pub held_beds: i64,
    pub held_family_rooms: i64,
    /// Free places of the type the person needs.
    pub free_needed: i64,
    pub km: Option<u32>,
}

/// The places that can take this person now, with free capacity (capacity − placements expected
/// or in place − unexpired holds) and pending holds; ranked by fit (a free place of the needed
/// type first), then by distance from the emergence province, then by code.
pub fn board_of(points: Vec<Point>, taken: &store::Taken, held: &store::Taken, need: &Need) -> Vec<BoardLine> {
    let t = need.place_type();
    let mut lines: Vec<BoardLine> = points
        .into_iter()
        .filter(|p| need.fits(p))
        .map(|p| {
            let id = p.row.id;
            let free = |ty: PlaceType| (p.row.capacity(ty) - taken.get(&(id, ty)).copied().unwrap_or(0)).max(0);
            let (free_beds, free_family_rooms) = (free(PlaceType::Bed), free(PlaceType::FamilyRoom));
            BoardLine {
                free_needed: if t == PlaceType::Bed {
                    free_beds
                } else {
                    free_family_rooms
                },
                free_beds,
                free_family_rooms,
                held_beds: held.get(&(id, PlaceType::Bed)).copied().unwrap_or(0),
                held_family_rooms: held.get(&(id, PlaceType::FamilyRoom)).copied().unwrap_or(0),
                km: need.province.map(|from| super::distance::km(from, p.row.province)),
                point: p,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        (a.free_needed == 0)
            .cmp(&(b.free_needed == 0))
            .then(a.km.unwrap_or(0).cmp(&b.km.unwrap_or(0)))
            .then(a.point.row.code.cmp(&b.point.row.code))
    });
    lines
}

pub async fn board(app: &App, caller: &Caller, need: Need) -> Result<Vec<BoardLine>, AppError> {
    unit_member(caller)?;
    let now = caller.now;
    let (points, (taken, held)) = app
        .db
        .read(move |c| Ok((store::list(c)?, store::taken(c, None, now)?)))
        .await?;
    Ok(board_of(points, &taken, &held, &need))
}

/// A point's address, for coordinators and for the operator handling an open hold or placement
/// there; every reveal and every refusal audited.
pub async fn reveal_address(app: &App, caller: &Caller, id: i64) -> Result<Option<String>, AppError> {
    let keys = app.keys();
    let c = caller.clone();
    let result = async {
        let user = unit_member(caller)?;
        audit::write(app, caller, &[], move |tx| {
            let row = store::get(tx.conn, id)?.row;
            let allowed = c.role == Some(Role::Coordinator) || store::handles(tx.conn, user, id, c.now)?;
            if !allowed {
                return Err(AppError::Forbidden);
            }
            let address = store::address(tx.conn, &keys, &row)?;
            tx.audit(Event::new("escape_point.address").entity("escape_point", id))?;
            Ok(address)
        })
        .await
    }
    .await;
    if matches!(result, Err(AppError::Forbidden)) {
        let event = Event::new("escape_point.address")
            .entity("escape_point", id)
            .outcome(Outcome::Denied);
        if let Err(e) = audit::record_now(app, caller, event).await {
            tracing::error!(error = %e, "a refusal could not be audited");
        }
    }
    result
}

/// Loads a case the caller may work on, or 404.
fn open_case(
    conn: &mut crate::db::DbConn,
    caller: &Caller,
    id: CaseId,
) -> Result<crate::casework::store::CaseRow, AppError> {
    let case = crate::casework::store::get(conn, id)?;
    if !crate::casework::service::may_open(conn, caller, &case)? {
        return Err(AppError::NotFound);
    }
    Ok(case)
}

/// A hold or a placement of a case's person at a point, if a place of the type is free: capacity
/// is never exceeded, whatever the number of operators and instances placing at once.
pub async fn place(
    app: &App,
    caller: &Caller,
    case: CaseId,
    point: i64,
    kind: PlacementKind,
    place_type: PlaceType,
) -> Result<PlacementRow, AppError> {
    let user = unit_member(caller)?;
    let minutes = app.settings.hold_minutes;
    let c = caller.clone();
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let row = open_case(tx.conn, &c, case)?;
        if !row.status.is_open() {
            return Err(AppError::Conflict("the case is closed".into()));
        }
        let actor = crate::referrals::service::actor_of(&c);
        match store::place(tx.conn, case, point, kind, place_type, Some(user), minutes, now)? {
            Ok(p) => {
                let event = match kind {
                    PlacementKind::Hold => CaseEventKind::PlacementHeld,
                    _ => CaseEventKind::PlacementMade,
                };
                let code = store::point_code(tx.conn, point)?;
                crate::casework::store::event(tx.conn, case, &actor, event, None, Some(code), now)?;
                tx.audit(Event::new("placement.create").entity("placement", p.id))?;
                Ok(Ok(p))
            }
            // The turn-away is kept (the transaction commits) and the caller answered 409.
            Err(refusal) => {
                let code = store::point_code(tx.conn, point)?;
                let detail = format!("{code} {}", TurnAwayReason::NoSpace.as_str());
                let event = CaseEventKind::PlacementTurnedAway;
                crate::casework::store::event(tx.conn, case, &actor, event, None, Some(detail), now)?;
                tx.audit(
                    Event::new("placement.turn_away")
                        .entity("placement", refusal.refused.id)
                        .detail(TurnAwayReason::NoSpace.as_str()),
                )?;
                Ok(Err(refusal.message))
            }
        }
    })
    .await?
    .map_err(AppError::Conflict)
}

/// Check-in, check-out, release, turn-away.
pub async fn act(
    app: &App,
    caller: &Caller,
    id: i64,
    action: PlacementAction,
    check_out: Option<CheckOutReason>,
    turn_away: Option<TurnAwayReason>,
) -> Result<PlacementRow, AppError> {
    unit_member(caller)?;
    let c = caller.clone();
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let p = store::get_placement(tx.conn, id)?;
        open_case(tx.conn, &c, p.case_id)?;
        let p = store::apply(tx.conn, &p, action, check_out, turn_away, now)?;
        let code = store::point_code(tx.conn, p.point_id)?;
        let (event, detail) = match action {
            PlacementAction::CheckIn => (CaseEventKind::PlacementCheckedIn, code),
            PlacementAction::CheckOut => (
                CaseEventKind::PlacementCheckedOut,
                format!("{code} {}", p.check_out_reason.map_or("", |r| r.as_str())),
            ),
            PlacementAction::Release => (CaseEventKind::PlacementReleased, code),
            PlacementAction::TurnAway => (
                CaseEventKind::PlacementTurnedAway,
                format!("{code} {}", p.turn_away_reason.map_or("", |r| r.as_str())),
            ),
            PlacementAction::Expire => (CaseEventKind::PlacementExpired, code),
        };
        let actor = crate::referrals::service::actor_of(&c);
        crate::casework::store::event(
            tx.conn,
            p.case_id,
            &actor,
            event,
            None,
            Some(detail.trim_end().to_owned()),
            now,
        )?;
        tx.audit(
            Event::new("placement.transition")
                .entity("placement", id)
                .detail(action.as_str()),
        )?;
        Ok(p)
    })
    .await
}

/// A case's placements with their points: the person's journey through places.
pub async fn of_case(app: &App, caller: &Caller, case: CaseId) -> Result<Vec<(PlacementRow, Point)>, AppError> {
    unit_member(caller)?;
    let c = caller.clone();
    app.db
        .read(move |conn| {
            open_case(conn, &c, case)?;
            let rows = store::of_case(conn, case)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let p = store::get(conn, r.point_id)?;
                out.push((r, p));
            }
            Ok(out)
        })
        .await
}

/// Marks expired holds (the background job); they stopped counting at their expiry already.
pub async fn expire_holds(app: &App, now: NaiveDateTime) -> Result<usize, AppError> {
    let caller = Caller::system("holds", now);
    audit::write(app, &caller, &[], move |tx| {
        let expired = store::expire_holds(tx.conn, now)?;
        let n = expired.len();
        store::expired_on_timelines(tx.conn, &expired, now)?;
        if n == 0 {
            tx.nothing_to_audit();
        } else {
            tx.audit(Event::new("placement.expire").detail(n.to_string()))?;
        }
        Ok(n)
    })
    .await
}

/// The case's reference with its journey, for the case's placements page.
pub async fn journey(
    app: &App,
    caller: &Caller,
    case: CaseId,
) -> Result<(String, Vec<(PlacementRow, Point)>), AppError> {
    let rows = of_case(app, caller, case).await?;
    let reference = app
        .db
        .read(move |conn| Ok(crate::casework::store::get(conn, case)?.reference))
        .await?;
    Ok((reference, rows))
}

/// The occupancy of one place type over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occupancy {
    pub place_type: PlaceType,
    /// Placements started (checked in, or placed) in the period.
    pub placements: i64,
    /// Nights spent in the period.
    pub nights: i64,
    /// Turn-aways for lack of space in the period.
    pub turned_away: i64,
}

/// A period of Europe/Rome days, `to` inclusive, as stored UTC bounds `[start, end)` and the
/// midnights that close each of its nights.
#[derive(Clone, Debug)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    midnights: Vec<NaiveDateTime>,
}

/// The longest period the history answers for, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, AppError> {
        use crate::domain::time::{add_days, rome_day_start};
        if to < from {
            return Err(AppError::bad_request("to", "must not be before from"));
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(AppError::bad_request("to", "the period is at most 366 days"));
        }
        let start = rome_day_start(from).ok_or_else(|| AppError::bad_request("from", "is out of range"))?;
        let mut midnights = Vec::with_capacity(days as usize);
        for i in 1..=days {
            let m = add_days(from, i)
                .and_then(rome_day_start)
                .ok_or_else(|| AppError::bad_request("to", "is out of range"))?;
            midnights.push(m);
        }
        let end = *midnights
            .last()
            .ok_or_else(|| AppError::bad_request("to", "is out of range"))?;
        Ok(Period {
            from,
            to,
            start,
            end,
            midnights,
        })
    }

    fn contains(&self, at: NaiveDateTime) -> bool {
        self.start <= at && at < self.end
    }

    /// The nights of the period spent in `[arrived, left)`: the midnights closing them passed
    /// while the person was there.
    fn nights(&self, arrived: NaiveDateTime, left: NaiveDateTime) -> i64 {
        let after = self.midnights.partition_point(|m| *m <= arrived);
        let through = self.midnights.partition_point(|m| *m <= left);
        through.saturating_sub(after) as i64
    }
}

/// The occupancy history by place type, from the rows touching the period: a placement (placed,
/// checked in or out) starts at its check-in, or its creation when the person is still expected,
/// and lasts until its check-out or `now`; a hold counts only once checked in.
pub fn occupancy_of(rows: &[PlacementRow], period: &Period, now: NaiveDateTime) -> Vec<Occupancy> {
    use super::vocab::PlacementStatus as S;
    [PlaceType::Bed, PlaceType::FamilyRoom]
        .into_iter()
        .map(|t| {
            let mut o = Occupancy {
                place_type: t,
                placements: 0,
                nights: 0,
                turned_away: 0,
            };
            for r in rows.iter().filter(|r| r.place_type == t) {
                match r.status {
                    S::Placed | S::CheckedIn | S::CheckedOut => {
                        let arrived = r.checked_in_at.unwrap_or(r.created_at);
                        if period.contains(arrived) {
                            o.placements += 1;
                        }
                        let left = r.ended_at.unwrap_or(now);
                        o.nights += period.nights(arrived, left);
                    }
                    S::TurnedAway
                        if r.turn_away_reason == Some(TurnAwayReason::NoSpace)
                            && r.ended_at.is_some_and(|e| period.contains(e)) =>
                    {
                        o.turned_away += 1;
                    }
                    _ => {}
                }
            }
            o
        })
        .collect()
}

/// The occupancy history for the observatory (audited): the unit sees exact counts; analysts
/// see them with counts under the disclosure threshold withheld, returned as `Some(threshold)`.
pub async fn occupancy(app: &App, caller: &Caller, period: Period) -> Result<(Vec<Occupancy>, Option<i64>), AppError> {
    let threshold = match caller.role {
        Some(Role::Coordinator | Role::Operator) => None,
        Some(Role::Analyst) => Some(app.settings.disclosure_threshold),
        _ => return Err(AppError::Forbidden),
    };
    let now = caller.now;
    let lines = audit::read(app, caller, move |conn| {
        let rows = store::touching(conn, period.start, period.end)?;
        let event = Event::new("placement.occupancy").detail(format!("{}..{}", period.from, period.to));
        Ok((occupancy_of(&rows, &period, now), event))
    })
    .await?;
    Ok((lines, threshold))
}
