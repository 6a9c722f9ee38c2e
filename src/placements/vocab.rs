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

vocabulary! {
    /// Why a person left a place.
    CheckOutReason ("check_out_reason") {
        ProgrammeEntry = "programme_entry" => ("Ingresso in un programma di protezione", "Entry into a protection programme"),
        MovedOn = "moved_on" => ("Trasferita altrove", "Moved on"),
        LeftOwnWill = "left_own_will" => ("Allontanamento volontario", "Left of their own will"),
        ReturnedToExploiter = "returned_to_exploiter" => ("Ritorno presso lo sfruttatore", "Returned to the exploiter"),
        Unknown = "unknown" => ("Non noto", "Unknown"),
    }
}

vocabulary! {
    /// Why a person was not taken in.
    TurnAwayReason ("turn_away_reason") {
        NoSpace = "no_space" => ("Nessun posto libero", "No space"),
        DoesNotFit = "does_not_fit" => ("Struttura non adatta", "Does not fit"),
        RefusedByPerson = "refused_by_person" => ("Rifiutata dalla persona", "Refused by the person"),
    }
}
