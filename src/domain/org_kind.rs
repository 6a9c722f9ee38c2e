//! Kinds of referring and partner organisations (seed 004, "Attori delle segnalazioni").

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// CAS, *Centro di Accoglienza Straordinaria*.
    Cas,
    /// SPRAR/SAI reception project.
    Sai,
    /// *Prefettura*.
    Prefecture,
    /// *Commissione Territoriale* for international protection (with its section).
    TerritorialCommission,
    /// *Questura* (police headquarters, immigration office).
    Questura,
    Carabinieri,
    /// DTL / *Ispettorato del Lavoro*, Spisal.
    LabourInspectorate,
    /// Social or health service.
    SocialHealthService,
    /// *Unità di strada*.
    StreetUnit,
    Ngo,
    /// Regional Art. 18 anti-trafficking project.
    Art18Project,
    /// *Centro antiviolenza* (CAV).
    AntiViolenceCentre,
    Other,
}

impl OrgKind {
    pub const ALL: &'static [OrgKind] = &[
        OrgKind::Cas,
        OrgKind::Sai,
        OrgKind::Prefecture,
        OrgKind::TerritorialCommission,
        OrgKind::Questura,
        OrgKind::Carabinieri,
        OrgKind::LabourInspectorate,
        OrgKind::SocialHealthService,
        OrgKind::StreetUnit,
        OrgKind::Ngo,
        OrgKind::Art18Project,
        OrgKind::AntiViolenceCentre,
        OrgKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Cas => "cas",
            OrgKind::Sai => "sai",
            OrgKind::Prefecture => "prefecture",
            OrgKind::TerritorialCommission => "territorial_commission",
            OrgKind::Questura => "questura",
            OrgKind::Carabinieri => "carabinieri",
            OrgKind::LabourInspectorate => "labour_inspectorate",
            OrgKind::SocialHealthService => "social_health_service",
            OrgKind::StreetUnit => "street_unit",
            OrgKind::Ngo => "ngo",
            OrgKind::Art18Project => "art18_project",
            OrgKind::AntiViolenceCentre => "anti_violence_centre",
            OrgKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.iter().copied().find(|k| k.as_str() == s.trim())
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
