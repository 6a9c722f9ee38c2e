//! Who activates a referral, and the languages of the central station: shared by intake, the
//! protocols, the hotline log and (later) the observatory.

use super::OrgKind;
use crate::vocabulary;

vocabulary! {
    /// Who activated the call (*soggetto attivatore*).
    SourceKind ("source_kind") {
        CasOperator = "cas_operator" => ("Operatore CAS", "CAS operator"),
        Prefecture = "prefecture" => ("Prefettura", "Prefecture"),
        TerritorialCommission = "territorial_commission" => ("Commissione Territoriale", "Territorial commission"),
        SaiOperator = "sai_operator" => ("Operatore SPRAR/SAI", "SPRAR/SAI operator"),
        Police = "police" => ("Forze dell'ordine", "Police"),
        /// Labour inspectorate, Spisal, unions.
        Labour = "labour" => ("Ispettorato del lavoro / Spisal / sindacati", "Labour inspectorate / Spisal / unions"),
        SocialHealthService = "social_health_service" => ("Servizio sociale o sanitario", "Social or health service"),
        StreetUnit = "street_unit" => ("Unità di strada", "Street unit"),
        PrivateCitizen = "private_citizen" => ("Privato cittadino", "Private citizen"),
        /// The person herself or himself.
        SelfReferral = "self" => ("La persona stessa", "The person herself or himself"),
    }
}

vocabulary! {
    /// The languages of the central station (seed 004), plus Italian.
    StationLanguage ("language") {
        Italian = "it" => ("Italiano", "Italian"),
        English = "en" => ("Inglese", "English"),
        Chinese = "zh" => ("Cinese", "Chinese"),
        Russian = "ru" => ("Russo", "Russian"),
        Romanian = "ro" => ("Romeno", "Romanian"),
        Ukrainian = "uk" => ("Ucraino", "Ukrainian"),
        Spanish = "es" => ("Spagnolo", "Spanish"),
        Albanian = "sq" => ("Albanese", "Albanian"),
        Moldovan = "mo" => ("Moldavo", "Moldovan"),
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
