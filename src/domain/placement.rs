//! Why a placement at an escape point ended or never began: stored on the placement and named
//! on the case's timeline.

use crate::vocabulary;

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
