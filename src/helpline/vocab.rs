//! The 1522's stored vocabularies (seed 000's categories).

use crate::vocabulary;

vocabulary! {
    /// Which way a switchboard call went.
    CallDirection ("helpline_call_direction") {
        Incoming = "incoming" => ("In entrata", "Incoming"),
        Outgoing = "outgoing" => ("Verso la rete", "Outgoing to the network"),
    }
}

vocabulary! {
    /// A switchboard call's one outcome (seed 000, section 1).
    CallOutcome ("helpline_call_outcome") {
        Answered = "answered" => ("Risposta", "Answered"),
        Unanswered = "unanswered" => ("Non risposta", "Unanswered"),
        Voicemail = "voicemail" => ("In segreteria", "Voicemail"),
        Abandoned = "abandoned" => ("Chiusa durante l'attesa in coda", "Abandoned while waiting"),
        Blacklisted = "blacklisted" => ("In blacklist", "Blacklisted"),
        WelcomeClosed = "welcome_closed" => ("Chiusa nel messaggio di benvenuto", "Closed during the welcome message"),
        Outgoing = "outgoing" => ("Chiamata verso la rete", "Call to the network"),
    }
}

impl CallOutcome {
    /// The outcomes of a call that entered the queue.
    pub const QUEUED: [CallOutcome; 4] = [
        CallOutcome::Answered,
        CallOutcome::Unanswered,
        CallOutcome::Voicemail,
        CallOutcome::Abandoned,
    ];
}

vocabulary! {
    /// Where a chat came from.
    ChatChannel ("helpline_chat_channel") {
        App = "app" => ("App", "App"),
        Site = "site" => ("Sito 1522.eu", "1522.eu site"),
    }
}

vocabulary! {
    /// The channel of a contact record.
    ContactChannel ("helpline_contact_channel") {
        Phone = "phone" => ("Telefono", "Phone"),
        ChatApp = "chat_app" => ("Chat da app", "Chat from the app"),
        ChatSite = "chat_site" => ("Chat dal sito", "Chat from the site"),
    }
}

vocabulary! {
    /// Who contacted the 1522 (seed 000, section 9).
    Contacter ("helpline_contacter") {
        Victim = "victim" => ("Vittima", "The victim herself"),
        Family = "family" => ("Rete familiare", "Family"),
        Friends = "friends" => ("Rete sociale (amici)", "Friends"),
        Neighbour = "neighbour" => ("Vicini di casa", "Neighbours"),
        Police = "police" => ("Forze dell'ordine", "Police"),
        HealthWorker = "health_worker" => ("Operatori/trici sanitari/e", "Health workers"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    /// Why they contacted (seed 000, section 11): fifteen valid reasons, three invalid.
    ContactReason ("helpline_contact_reason") {
        ViolenceHelp = "violence_help" => ("Richiesta di aiuto vittima di violenza", "Help request: victim of violence"),
        StalkingHelp = "stalking_help" => ("Richiesta di aiuto vittima di stalking", "Help request: victim of stalking"),
        ViolenceReport = "violence_report" => ("Segnalazione di un caso di violenza", "Report of a case of violence"),
        DiscriminationHelp = "discrimination_help" => ("Richiesta di aiuto per discriminazione", "Help request: discrimination"),
        Emergency = "emergency" => ("Emergenza", "Emergency"),
        LegalInfo = "legal_info" => ("Informazioni giuridiche", "Legal information"),
        ServiceInfo = "service_info" => ("Informazioni sul servizio 1522", "Information about the 1522"),
        ProfessionalProcedures = "professional_procedures" => ("Informazioni per professionisti sulle procedure", "Procedures for professionals"),
        Counselling = "counselling" => ("Consulenza", "Counselling"),
        CentreInfo = "centre_info" => ("Informazioni sui Centri antiviolenza", "Information about anti-violence centres"),
        OffTarget = "off_target" => ("Chiamate fuori target", "Off-target contact"),
        PublicServantLiability = "public_servant_liability" => ("Responsabilità giuridica degli operatori dei servizi pubblici", "Legal liability of public-service staff"),
        ServiceMalfunction = "service_malfunction" => ("Segnalazione disfunzione servizi pubblici/privati", "Report of a service malfunction"),
        MediaReport = "media_report" => ("Segnalazione su media", "Report about the media"),
        PsychologicalDistress = "psychological_distress" => ("Disagio psichico", "Psychological distress"),
        Hoax = "hoax" => ("Scherzo", "Hoax"),
        Harassment = "harassment" => ("Molestia", "Harassment"),
        WrongNumber = "wrong_number" => ("Chiamata errata", "Wrong number"),
    }
}

impl ContactReason {
    /// Hoaxes, harassment and wrong numbers are the invalid reasons.
    pub fn is_valid(self) -> bool {
        !matches!(
            self,
            ContactReason::Hoax | ContactReason::Harassment | ContactReason::WrongNumber
        )
    }
}

vocabulary! {
    /// How they learned of the 1522 (seed 000, section 12).
    LearnedFrom ("helpline_learned_from") {
        Internet = "internet" => ("Internet", "Internet"),
        Friends = "friends" => ("Rete amicale", "Friends"),
        Campaign = "campaign" => ("Campagne di comunicazione", "Communication campaigns"),
        Relatives = "relatives" => ("Parenti", "Relatives"),
        SocialMedia = "social_media" => ("Social media", "Social media"),
        PublicService = "public_service" => ("Servizio pubblico", "Public service"),
        School = "school" => ("Scuola", "School"),
        Press = "press" => ("Stampa", "Press"),
        PlaceOfWorship = "place_of_worship" => ("Luogo di culto", "Place of worship"),
        CounsellingCentre = "counselling_centre" => ("Consultori", "Family counselling centres"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    /// Where an operator sent the contact (seed 000, section 13).
    ReferralTarget ("helpline_referral_target") {
        AntiViolenceCentre = "anti_violence_centre" => ("Centri e servizi antiviolenza", "Anti-violence centres and services"),
        Police = "police" => ("Forze dell'ordine", "Police"),
        CounsellingCentre = "counselling_centre" => ("Consultori familiari", "Family counselling centres"),
        SocialServices = "social_services" => ("Servizi sociali", "Social services"),
        HealthServices = "health_services" => ("Servizi sanitari", "Health services"),
        Legal = "legal" => ("Servizi legali", "Legal services"),
        Shelter = "shelter" => ("Case rifugio", "Shelters"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    /// A service of the network directory (Mappatura).
    ServiceKind ("helpline_service_kind") {
        AntiViolenceCentre = "anti_violence_centre" => ("Centro antiviolenza", "Anti-violence centre"),
        Shelter = "shelter" => ("Casa rifugio", "Shelter"),
        SocialHealth = "social_health" => ("Servizio socio-sanitario", "Social and health service"),
        Police = "police" => ("Forze dell'ordine", "Police"),
    }
}
