//! The vocabularies of escape points and placements.

use crate::vocabulary;

vocabulary! {
    /// A kind of place at an escape point.
    PlaceType ("place_type") {
        Bed = "bed" => ("Posto letto", "Bed"),
        FamilyRoom = "family_room" => ("Stanza per madre con figli", "Room for a mother with children"),
    }
}

vocabulary! {
    /// Whether a point takes people now.
    PointStatus ("point_status") {
        Active = "active" => ("Attivo", "Active"),
        Suspended = "suspended" => ("Sospeso", "Suspended"),
    }
}

vocabulary! {
    /// Why a person goes to a place: a hold while transport is arranged, an emergency placement
    /// (any hour), a neutral temporary reception for observation, a transfer between places.
    PlacementKind ("placement_kind") {
        Hold = "hold" => ("Posto trattenuto", "Hold"),
        Emergency = "emergency" => ("Accoglienza in emergenza", "Emergency placement"),
        Observation = "observation" => ("Accoglienza temporanea di osservazione", "Temporary reception for observation"),
        Transfer = "transfer" => ("Trasferimento", "Transfer"),
    }
}

vocabulary! {
    /// Where a placement stands (see `lifecycle`).
    PlacementStatus ("placement_status") {
        Held = "held" => ("Trattenuto", "Held"),
        Placed = "placed" => ("In arrivo", "Expected"),
        CheckedIn = "checked_in" => ("Accolta", "Checked in"),
        CheckedOut = "checked_out" => ("Uscita", "Checked out"),
        Released = "released" => ("Posto rilasciato", "Released"),
        Expired = "expired" => ("Trattenimento scaduto", "Hold expired"),
        TurnedAway = "turned_away" => ("Non accolta", "Turned away"),
    }
}

impl PlacementStatus {
    /// The statuses that take a place (a hold only until it expires).
    pub const OCCUPYING: [PlacementStatus; 3] = [
        PlacementStatus::Held,
        PlacementStatus::Placed,
        PlacementStatus::CheckedIn,
    ];

    pub fn is_open(self) -> bool {
        Self::OCCUPYING.contains(&self)
    }
}

// The reasons are shared with the case timeline, which names them.
pub use crate::domain::placement::{CheckOutReason, TurnAwayReason};
