//! Kinds of referring and partner organisations (seed 004, "Attori delle segnalazioni").

use crate::vocabulary;

vocabulary! {
    /// The kind of an organisation.
    OrgKind ("org_kind") {
        /// CAS, *Centro di Accoglienza Straordinaria*.
        Cas = "cas" => ("CAS – Centro di Accoglienza Straordinaria", "CAS reception centre"),
        /// SPRAR/SAI reception project.
        Sai = "sai" => ("Progetto SPRAR/SAI", "SPRAR/SAI project"),
        /// *Prefettura*.
        Prefecture = "prefecture" => ("Prefettura", "Prefecture"),
        /// *Commissione Territoriale* for international protection (with its section).
        TerritorialCommission = "territorial_commission" => ("Commissione Territoriale", "Territorial commission"),
        /// *Questura* (police headquarters, immigration office).
        Questura = "questura" => ("Questura", "Questura (police)"),
        Carabinieri = "carabinieri" => ("Carabinieri", "Carabinieri"),
        /// DTL / *Ispettorato del Lavoro*, Spisal.
        LabourInspectorate = "labour_inspectorate" => ("Ispettorato del Lavoro / Spisal", "Labour inspectorate / Spisal"),
        /// Social or health service.
        SocialHealthService = "social_health_service" => ("Servizio sociale o sanitario", "Social or health service"),
        /// *Unità di strada*.
        StreetUnit = "street_unit" => ("Unità di strada", "Street unit"),
        Ngo = "ngo" => ("Organizzazione non governativa", "NGO"),
        /// Regional Art. 18 anti-trafficking project.
        Art18Project = "art18_project" => ("Progetto regionale Art. 18", "Regional Art. 18 project"),
        /// *Centro antiviolenza* (CAV).
        AntiViolenceCentre = "anti_violence_centre" => ("Centro antiviolenza", "Anti-violence centre"),
        Other = "other" => ("Altro", "Other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_matches_serde() {
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(*k));
            let json = serde_json::to_string(k).expect("serialise");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }
}
