//! The vocabularies of referrals (seed 004 and the glossary).

use crate::vocabulary;

vocabulary! {
    /// How a referral reached the unit.
    Channel ("channel") {
        Hotline = "hotline",
        Email = "email",
        /// Certified email (PEC).
        Pec = "pec",
        /// A commission's or referrer's report through the portal or the API.
        Portal = "portal",
        InPerson = "in_person",
    }
}

vocabulary! {
    Gender ("gender") {
        Female = "female",
        Male = "male",
        Trans = "trans",
        Unknown = "unknown",
    }
}

vocabulary! {
    AgeBand ("age_band") {
        Under14 = "0-13",
        From14To17 = "14-17",
        From18To24 = "18-24",
        From25To34 = "25-34",
        From35To44 = "35-44",
        From45To54 = "45-54",
        From55 = "55+",
        Unknown = "unknown",
    }
}

impl AgeBand {
    /// The band of an exact age.
    pub fn of(age: i32) -> AgeBand {
        match age {
            i32::MIN..=13 => AgeBand::Under14,
            14..=17 => AgeBand::From14To17,
            18..=24 => AgeBand::From18To24,
            25..=34 => AgeBand::From25To34,
            35..=44 => AgeBand::From35To44,
            45..=54 => AgeBand::From45To54,
            _ => AgeBand::From55,
        }
    }

    /// True when every age in the band is under 18.
    pub fn is_minor(self) -> bool {
        matches!(self, AgeBand::Under14 | AgeBand::From14To17)
    }
}

vocabulary! {
    /// Where the person surfaced (seed 004, "Emersione e/o possibile contatto").
    EmergenceContext ("emergence_context") {
        /// On arrival: landing or land border.
        Arrival = "arrival",
        CasArrival = "cas_arrival",
        Street = "street",
        /// Night venues, indoor prostitution.
        IndoorVenues = "indoor_venues",
        /// Arrest or drug offence, juvenile prison (IPM).
        ArrestOrDrugs = "arrest_or_drugs",
        QuesturaImmigration = "questura_immigration",
        SaiDesk = "sai_desk",
        /// Health or social service, emergency room.
        HealthSocial = "health_social",
        LabourInspection = "labour_inspection",
        Other = "other",
    }
}

vocabulary! {
    ExploitationType ("exploitation") {
        Sexual = "sexual",
        Labour = "labour",
        Begging = "begging",
        ForcedIllegalActivities = "forced_illegal_activities",
        ForcedMarriage = "forced_marriage",
        Other = "other",
    }
}

vocabulary! {
    Urgency ("urgency") {
        Emergency = "emergency",
        Ordinary = "ordinary",
    }
}

vocabulary! {
    /// A referral's state. `Draft` (imported email, not yet confirmed) does not count anywhere.
    Status ("status") {
        Draft = "draft",
        New = "new",
        InCharge = "in_charge",
        Declined = "declined",
        /// Consent withdrawn: no further processing, personal fields erased.
        Restricted = "restricted",
    }
}

vocabulary! {
    /// Why the unit declined a referral (the referrer sees it).
    DeclineReason ("decline_reason") {
        RedirectedTo1522 = "redirected_1522",
        RedirectedToSocialServices = "redirected_social_services",
        RedirectedToAsylumSystem = "redirected_asylum_system",
        Duplicate = "duplicate",
        WithdrawnByReferrer = "withdrawn_by_referrer",
    }
}

vocabulary! {
    /// How the unit reaches the person after a commission's report (seed 004).
    ContactRoute ("contact_route") {
        /// Through the operators of the CAS hosting the person.
        CasOperator = "cas_operator",
        /// The person's own contact.
        OwnContact = "own_contact",
        /// The person is reconvened at the prefecture; the interview is held on commission premises.
        PrefectureReconvene = "prefecture_reconvene",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        assert_eq!(AgeBand::parse("14-17"), Some(AgeBand::From14To17));
    }

    #[test]
    fn age_bands() {
        assert_eq!(AgeBand::of(16), AgeBand::From14To17);
        assert!(AgeBand::of(16).is_minor() && !AgeBand::of(18).is_minor());
        assert_eq!(AgeBand::of(60), AgeBand::From55);
    }
}
