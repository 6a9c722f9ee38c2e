//! The vocabularies of referrals (seed 004 and the glossary).

use crate::vocabulary;

vocabulary! {
    /// How a referral reached the unit.
    Channel ("channel") {
        Hotline = "hotline" => ("Numero Verde 800 290 290", "Toll-free 800 290 290"),
        Email = "email" => ("Email", "Email"),
        /// Certified email (PEC).
        Pec = "pec" => ("PEC", "Certified email (PEC)"),
        /// A commission's or referrer's report through the portal or the API.
        Portal = "portal" => ("Portale / API", "Portal / API"),
        InPerson = "in_person" => ("Di persona", "In person"),
    }
}

vocabulary! {
    Gender ("gender") {
        Female = "female" => ("Donna", "Woman"),
        Male = "male" => ("Uomo", "Man"),
        Trans = "trans" => ("Persona trans", "Trans person"),
        Unknown = "unknown" => ("Non rilevato", "Not recorded"),
    }
}

vocabulary! {
    AgeBand ("age_band") {
        Under14 = "0-13" => ("0–13", "0–13"),
        From14To17 = "14-17" => ("14–17", "14–17"),
        From18To24 = "18-24" => ("18–24", "18–24"),
        From25To34 = "25-34" => ("25–34", "25–34"),
        From35To44 = "35-44" => ("35–44", "35–44"),
        From45To54 = "45-54" => ("45–54", "45–54"),
        From55 = "55+" => ("55 e oltre", "55 and over"),
        Unknown = "unknown" => ("Non rilevata", "Not recorded"),
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
        Arrival = "arrival" => ("All'ingresso in Italia (sbarco o frontiera terrestre)", "On arrival in Italy (landing or land border)"),
        CasArrival = "cas_arrival" => ("All'arrivo presso il CAS", "On arrival at the CAS"),
        Street = "street" => ("In strada", "In the street"),
        /// Night venues, indoor prostitution.
        IndoorVenues = "indoor_venues" => ("Locali notturni (prostituzione indoor)", "Night venues (indoor prostitution)"),
        /// Arrest or drug offence, juvenile prison (IPM).
        ArrestOrDrugs = "arrest_or_drugs" => ("Arresto o reati legati a sostanze / IPM", "Arrest or drug offence / juvenile prison"),
        QuesturaImmigration = "questura_immigration" => ("Ufficio Immigrazione della Questura", "Questura immigration office"),
        SaiDesk = "sai_desk" => ("Sportello SPRAR/SAI", "SPRAR/SAI desk"),
        /// Health or social service, emergency room.
        HealthSocial = "health_social" => ("Presidio sanitario o sociale, pronto soccorso", "Health or social service, emergency room"),
        LabourInspection = "labour_inspection" => ("Ispezione del lavoro", "Labour inspection"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    ExploitationType ("exploitation") {
        Sexual = "sexual" => ("Sessuale", "Sexual"),
        Labour = "labour" => ("Lavorativo", "Labour"),
        Begging = "begging" => ("Accattonaggio", "Begging"),
        ForcedIllegalActivities = "forced_illegal_activities" => ("Economie illegali forzate", "Forced illegal activities"),
        ForcedMarriage = "forced_marriage" => ("Matrimonio forzato", "Forced marriage"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    /// The sector of labour exploitation, where known (the CTDC's `typeOfLabour*`).
    LabourSector ("labour_sector") {
        Agriculture = "agriculture" => ("Agricoltura", "Agriculture"),
        Construction = "construction" => ("Edilizia", "Construction"),
        DomesticWork = "domestic_work" => ("Lavoro domestico e di cura", "Domestic work"),
        Hospitality = "hospitality" => ("Ristorazione e accoglienza turistica", "Hospitality"),
        Manufacturing = "manufacturing" => ("Manifattura", "Manufacturing"),
        Other = "other" => ("Altro settore", "Other sector"),
    }
}

vocabulary! {
    /// Who recruited the person, as reported (the CTDC's `recruiterRelation*`).
    RecruiterRelation ("recruiter_relation") {
        IntimatePartner = "intimate_partner" => ("Partner o ex partner", "Intimate partner"),
        Friend = "friend" => ("Amico o conoscente", "Friend or acquaintance"),
        Family = "family" => ("Familiare", "Family member"),
        Other = "other" => ("Altra persona (datore di lavoro, intermediario…)", "Someone else (employer, broker…)"),
        NotKnown = "not_known" => ("Non la conosce", "Not known to the person"),
    }
}

vocabulary! {
    Urgency ("urgency") {
        Emergency = "emergency" => ("Emergenza", "Emergency"),
        Ordinary = "ordinary" => ("Ordinaria", "Ordinary"),
    }
}

vocabulary! {
    /// A referral's state. `Draft` (imported email, not yet confirmed) does not count anywhere.
    Status ("status") {
        Draft = "draft" => ("Bozza da confermare", "Draft to confirm"),
        New = "new" => ("Nuova", "New"),
        InCharge = "in_charge" => ("Presa in carico", "Taken in charge"),
        Declined = "declined" => ("Non presa in carico", "Declined"),
        /// Consent withdrawn: no further processing, personal fields erased.
        Restricted = "restricted" => ("Consenso revocato", "Consent withdrawn"),
    }
}

vocabulary! {
    /// Why the unit declined a referral (the referrer sees it).
    DeclineReason ("decline_reason") {
        RedirectedTo1522 = "redirected_1522" => ("Non è tratta o grave sfruttamento: indirizzata al 1522", "Not trafficking or grave exploitation: redirected to the 1522 helpline"),
        RedirectedToSocialServices = "redirected_social_services" => ("Non è tratta o grave sfruttamento: indirizzata ai servizi sociali", "Not trafficking or grave exploitation: redirected to social services"),
        RedirectedToAsylumSystem = "redirected_asylum_system" => ("Non è tratta o grave sfruttamento: indirizzata al sistema asilo", "Not trafficking or grave exploitation: redirected to the asylum system"),
        Duplicate = "duplicate" => ("Duplicato di un'altra segnalazione", "Duplicate of another referral"),
        WithdrawnByReferrer = "withdrawn_by_referrer" => ("Ritirata dal segnalante", "Withdrawn by the referrer"),
    }
}

vocabulary! {
    /// How the unit reaches the person after a commission's report (seed 004).
    ContactRoute ("contact_route") {
        /// Through the operators of the CAS hosting the person.
        CasOperator = "cas_operator" => ("Tramite gli operatori del CAS", "Through the CAS operators"),
        /// The person's own contact.
        OwnContact = "own_contact" => ("Contatto della persona", "The person's own contact"),
        /// The person is reconvened at the prefecture; the interview is held on commission premises.
        PrefectureReconvene = "prefecture_reconvene" => ("Riconvocazione in Prefettura, colloquio nei locali della CT", "Reconvened at the prefecture, interview on commission premises"),
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

vocabulary! {
    /// An entry of a referral's history.
    EventKind ("event") {
        Created = "created" => ("Segnalazione registrata", "Referral recorded"),
        ConsentRecorded = "consent_recorded" => ("Consenso registrato", "Consent recorded"),
        /// The procedure's first step for CAS referrals (seed 004).
        TaskContactCas = "task_contact_cas" => ("Da fare: contattare gli operatori della struttura di accoglienza", "To do: contact the CAS operators"),
        /// The procedure's first step for SAI referrals (seed 004).
        TaskInterviewSaiDesk = "task_interview_sai_desk" => ("Da fare: colloquio allo sportello SAI", "To do: interview at the SAI desk"),
        Assigned = "assigned" => ("Assegnata all'operatore in turno", "Assigned to the operator on duty"),
        Unassigned = "unassigned" => ("Nessun operatore in turno: avvisato il coordinamento", "No operator on duty: coordinators alerted"),
        MediatorProposed = "mediator_proposed" => ("Mediatore proposto", "Mediator proposed"),
        MediatorMissing = "mediator_missing" => ("Nessun mediatore in turno per la lingua", "No mediator on shift for the language"),
        Acknowledged = "acknowledged" => ("Presa visione dell'emergenza", "Emergency acknowledged"),
        Escalated = "escalated" => ("Emergenza non presa in visione: avvisato il coordinamento", "Emergency not acknowledged: coordinators alerted"),
        Overdue = "overdue" => ("Non presa in carico nei tempi: avvisato il coordinamento", "Not taken in charge in time: coordinators alerted"),
        TakenInCharge = "taken_in_charge" => ("Presa in carico", "Taken in charge"),
        Declined = "declined" => ("Non presa in carico", "Declined"),
        FeedbackSent = "feedback_sent" => ("Riscontro scritto inviato", "Written feedback sent"),
        ConsentWithdrawn = "consent_withdrawn" => ("Consenso revocato: dati personali cancellati", "Consent withdrawn: personal data erased"),
        Confirmed = "confirmed" => ("Bozza confermata", "Draft confirmed"),
        Imported = "imported" => ("Importata da email", "Imported from email"),
        MediatorAccepted = "mediator_accepted" => ("Il mediatore ha accettato", "The mediator accepted"),
        MediatorDeclined = "mediator_declined" => ("Il mediatore non è disponibile", "The mediator declined"),
    }
}

vocabulary! {
    /// A proposed mediator's answer.
    MediatorAnswer ("mediator_answer") {
        Accepted = "accepted" => ("Accettata", "Accepted"),
        Declined = "declined" => ("Rifiutata", "Declined"),
    }
}

vocabulary! {
    /// What the person consented to (seed 004: information on social-protection programmes).
    ConsentScope ("consent_scope") {
        SocialProtectionInformation = "social_protection_information" => ("Informazioni sui programmi di protezione sociale", "Information on social-protection programmes"),
    }
}
