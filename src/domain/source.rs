//! Who activates a referral, and the languages of the central station: shared by intake, the
//! protocols, the hotline log and (later) the observatory.

use super::OrgKind;
use crate::vocabulary;

vocabulary! {
    /// Who activated the call (*soggetto attivatore*).
    SourceKind ("source_kind") {
        CasOperator = "cas_operator",
        Prefecture = "prefecture",
        TerritorialCommission = "territorial_commission",
        SaiOperator = "sai_operator",
        Police = "police",
        /// Labour inspectorate, Spisal, unions.
        Labour = "labour",
        SocialHealthService = "social_health_service",
        StreetUnit = "street_unit",
        PrivateCitizen = "private_citizen",
        /// The person herself or himself.
        SelfReferral = "self",
    }
}

vocabulary! {
    /// The languages of the central station (seed 004), plus Italian.
    StationLanguage ("language") {
        Italian = "it",
        English = "en",
        Chinese = "zh",
        Russian = "ru",
        Romanian = "ro",
        Ukrainian = "uk",
        Spanish = "es",
        Albanian = "sq",
        Moldovan = "mo",
    }
}

/// The source an organisation's kind implies, when it implies one.
pub fn source_of(kind: OrgKind) -> Option<SourceKind> {
    Some(match kind {
        OrgKind::Cas => SourceKind::CasOperator,
        OrgKind::Sai => SourceKind::SaiOperator,
        OrgKind::Prefecture => SourceKind::Prefecture,
        OrgKind::TerritorialCommission => SourceKind::TerritorialCommission,
        OrgKind::Questura | OrgKind::Carabinieri => SourceKind::Police,
        OrgKind::LabourInspectorate => SourceKind::Labour,
        OrgKind::SocialHealthService => SourceKind::SocialHealthService,
        OrgKind::StreetUnit => SourceKind::StreetUnit,
        OrgKind::Ngo | OrgKind::Art18Project | OrgKind::AntiViolenceCentre | OrgKind::Other => return None,
    })
}
