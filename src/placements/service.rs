//! Escape-point and placement use cases: a caller and the application, no HTTP. For the crisis
//! unit only (coordinators and operators); the registry is kept by coordinators. Every write is
//! audited, and every reveal of an address (and every refusal of one).

use chrono::NaiveDateTime;

use super::lifecycle::PlacementAction;
use super::store::{self, PlacementRow, Point, PointFields};
use super::vocab::{CheckOutReason, PlaceType, PlacementKind, PointStatus, TurnAwayReason};
use crate::app::App;
use crate::audit::{self, Event, Outcome};
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
        let p = store::place(tx.conn, case, point, kind, place_type, Some(user), minutes, now)?;
        tx.audit(Event::new("placement.create").entity("placement", p.id))?;
        Ok(p)
    })
    .await
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
        let n = store::expire_holds(tx.conn, now)?;
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
