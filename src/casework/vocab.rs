//! The vocabularies of casework (seed 004: interviews, settings, the observatory's outcomes).

use crate::vocabulary;

vocabulary! {
    /// Where a case stands (see `lifecycle`).
    CaseStatus ("case_status") {
        Received = "received" => ("Ricevuto", "Received"),
        TakenInCharge = "taken_in_charge" => ("Preso in carico", "Taken in charge"),
        InterviewPlanned = "interview_planned" => ("Colloquio fissato", "Interview planned"),
        Interviewed = "interviewed" => ("Colloquio svolto", "Interviewed"),
        Assessment = "assessment" => ("In valutazione", "Assessment"),
        OutcomeDecided = "outcome_decided" => ("Esito deciso", "Outcome decided"),
        FeedbackSent = "feedback_sent" => ("Riscontro scritto inviato", "Written feedback sent"),
        Closed = "closed" => ("Chiuso", "Closed"),
    }
}

impl CaseStatus {
    pub fn is_open(self) -> bool {
        self != CaseStatus::Closed
    }
}

vocabulary! {
    /// What happened on a case (its timeline).
    CaseEventKind ("case_event") {
        Opened = "opened" => ("Caso aperto", "Case opened"),
        ReferralJoined = "referral_joined" => ("Nuova segnalazione sulla stessa persona", "Another referral about the same person"),
        Transition = "transition" => ("Cambio di stato", "Status change"),
        Reassigned = "reassigned" => ("Caso riassegnato", "Case reassigned"),
        InterviewPlanned = "interview_planned" => ("Colloquio fissato", "Interview planned"),
        InterviewHeld = "interview_held" => ("Colloquio svolto", "Interview held"),
        InterviewCancelled = "interview_cancelled" => ("Colloquio annullato", "Interview cancelled"),
        MediatorAccepted = "mediator_accepted" => ("Mediazione accettata", "Mediator accepted"),
        MediatorDeclined = "mediator_declined" => ("Mediazione rifiutata", "Mediator declined"),
        NoteAdded = "note_added" => ("Nota di valutazione", "Assessment note"),
        AssessmentRecorded = "assessment_recorded" => ("Valutazione registrata", "Assessment recorded"),
        OutcomeRecorded = "outcome_recorded" => ("Esito registrato", "Outcome recorded"),
        TaskAdded = "task_added" => ("Attività aggiunta", "Task added"),
        TaskDone = "task_done" => ("Attività completata", "Task done"),
        FlagRaised = "flag_raised" => ("Avviso aggiunto", "Flag raised"),
        FlagCleared = "flag_cleared" => ("Avviso rimosso", "Flag cleared"),
        FeedbackDrafted = "feedback_drafted" => ("Riscontro scritto in bozza", "Written feedback drafted"),
        FeedbackApproved = "feedback_approved" => ("Riscontro scritto approvato", "Written feedback approved"),
        FeedbackWithdrawn = "feedback_withdrawn" => ("Approvazione del riscontro ritirata", "Approval of the feedback withdrawn"),
        FeedbackSent = "feedback_sent" => ("Riscontro scritto inviato", "Written feedback sent"),
        FeedbackReceipt = "feedback_receipt" => ("Ricevuta PEC del riscontro", "PEC receipt of the feedback"),
        PlacementHeld = "placement_held" => ("Posto trattenuto in un punto di fuga", "Place held at an escape point"),
        PlacementMade = "placement_made" => ("Inserimento in un punto di fuga", "Placed at an escape point"),
        PlacementCheckedIn = "placement_checked_in" => ("Arrivo nel punto di fuga", "Arrived at the escape point"),
        PlacementCheckedOut = "placement_checked_out" => ("Uscita dal punto di fuga", "Left the escape point"),
        PlacementReleased = "placement_released" => ("Posto rilasciato", "Place released"),
        PlacementExpired = "placement_expired" => ("Posto trattenuto scaduto", "Hold expired"),
        PlacementTurnedAway = "placement_turned_away" => ("Accoglienza non possibile", "Not taken in"),
    }
}

vocabulary! {
    /// A task on a case.
    TaskKind ("task_kind") {
        CallBackReferrer = "call_back_referrer" => ("Richiamare il segnalante", "Call back the referrer"),
        ContactCas = "contact_cas" => ("Contattare gli operatori della struttura", "Contact the reception facility"),
        BookMediator = "book_mediator" => ("Prenotare la mediazione", "Book a mediator"),
        SendFeedback = "send_feedback" => ("Inviare il riscontro scritto", "Send the written feedback"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    /// Why a case carries a warning shown on every view of it.
    FlagKind ("flag_kind") {
        RiskToStaff = "risk_to_staff" => ("Rischio per gli operatori", "Risk to staff"),
        RiskToPerson = "risk_to_person" => ("Rischio per la persona", "Risk to the person"),
        Health = "health" => ("Salute", "Health"),
        Legal = "legal" => ("Questioni legali", "Legal"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    /// When an interview is held: at once, or planned.
    InterviewKind ("interview_kind") {
        Emergency = "emergency" => ("In emergenza", "Emergency"),
        Planned = "planned" => ("Programmato", "Planned"),
    }
}

vocabulary! {
    InterviewStatus ("interview_status") {
        Planned = "planned" => ("Fissato", "Planned"),
        Held = "held" => ("Svolto", "Held"),
        Cancelled = "cancelled" => ("Annullato", "Cancelled"),
    }
}

vocabulary! {
    /// Where an interview takes place (seed 004's settings).
    Setting ("interview_setting") {
        Cas = "cas" => ("Presso il CAS", "At the CAS"),
        SaiDesk = "sai_desk" => ("Sportello SAI", "SAI desk"),
        Commission = "commission" => ("Locali della Commissione Territoriale", "Territorial commission premises"),
        Prefecture = "prefecture" => ("Prefettura", "Prefecture"),
        UnitOffice = "unit_office" => ("Sede dell'unità di crisi", "Crisis-unit office"),
        ProtectedPlace = "protected_place" => ("Luogo protetto", "Protected place"),
        Remote = "remote" => ("Telefono / video", "Phone / video"),
    }
}

vocabulary! {
    /// An indicator of the assessment checklist, as observed.
    Answer ("assessment_answer") {
        Present = "present" => ("Presente", "Present"),
        Absent = "absent" => ("Assente", "Absent"),
        Unknown = "unknown" => ("Non noto", "Unknown"),
    }
}

vocabulary! {
    /// Agencies of a multi-agency evaluation.
    Agency ("agency") {
        Police = "police" => ("Forze dell'ordine", "Police"),
        LabourInspectorate = "labour_inspectorate" => ("Ispettorato del lavoro", "Labour inspectorate"),
        SocialServices = "social_services" => ("Servizi sociali", "Social services"),
        HealthServices = "health_services" => ("Servizi sanitari", "Health services"),
        JudicialAuthority = "judicial_authority" => ("Autorità giudiziaria", "Judicial authority"),
    }
}

vocabulary! {
    /// The outcome of a case: the observatory's four (seed 004) and what follows them.
    OutcomeKind ("outcome_kind") {
        Counselling = "counselling" => ("Counselling", "Counselling"),
        Interview = "interview" => ("Colloquio con la persona", "Interview with the person"),
        EmergencyReception = "emergency_reception" => ("Pronta accoglienza e prima assistenza", "Emergency reception and first assistance"),
        MultiAgencyAction = "multi_agency_action" => ("Azioni proattive multiagenzia", "Multi-agency proactive action"),
        Art18Programme = "art18_programme" => ("Ingresso in un programma di protezione sociale (Art. 18)", "Entry into an Art. 18 social-protection programme"),
        Transfer = "transfer" => ("Invio o trasferimento a un altro progetto Art. 18", "Referral or transfer to another Art. 18 project"),
        AwarenessWorkshop = "awareness_workshop" => ("Laboratorio di sensibilizzazione (CAS)", "Awareness workshop (CAS)"),
    }
}

vocabulary! {
    /// A transfer to another regional project, which accepts or declines it.
    TransferState ("transfer_state") {
        Pending = "pending" => ("In attesa di risposta", "Awaiting an answer"),
        Accepted = "accepted" => ("Accettato", "Accepted"),
        Declined = "declined" => ("Rifiutato", "Declined"),
    }
}
