//! The texts of notifications: plain functions, one per kind.
//!
//! An email leaves the service and may be read on any device or forwarded: it carries only the
//! referral's reference and a link to Varco, where the reader signs in and sees what their role
//! allows. Never a name, never a detail of the case.

use crate::domain::Lang;

crate::vocabulary! {
    /// What a notification is about.
    Template ("template") {
        /// A new referral: to the operator on duty.
        NewReferral = "new_referral" => ("Nuova segnalazione", "New referral"),
        /// An emergency referral: to the operator on duty, to acknowledge at once.
        Emergency = "emergency" => ("Emergenza", "Emergency"),
        /// An emergency not acknowledged in time: to the coordinator.
        Escalation = "escalation" => ("Emergenza non presa in visione", "Emergency not acknowledged"),
        /// An ordinary referral not taken in charge in time: to the coordinator.
        Overdue = "overdue" => ("Segnalazione non presa in carico nei tempi", "Referral overdue"),
        /// The crisis unit decided on a referral (taken in charge or declined): to the referrer.
        Decision = "decision" => ("Decisione sulla segnalazione", "Decision on a referral"),
        /// Written feedback on a referral is available: to the referrer.
        Feedback = "feedback" => ("Riscontro scritto", "Written feedback"),
        /// The person withdrew their consent: to the territorial commission.
        ConsentWithdrawn = "consent_withdrawn" => ("Consenso revocato", "Consent withdrawn"),
        /// A case given to an operator (by a coordinator): to that operator.
        CaseAssigned = "case_assigned" => ("Caso assegnato", "Case assigned"),
        /// An interview booked with a mediator: to the mediator, to accept or decline.
        InterviewBooked = "interview_booked" => ("Colloquio da confermare", "Interview to confirm"),
        /// A written feedback letter, its PDF attached: to the organisation it is addressed to.
        FeedbackLetter = "feedback_letter" => ("Riscontro scritto (PDF)", "Written feedback letter (PDF)"),
    }
}

/// Subject line and the paragraph that tells what happened, in one language.
fn texts(kind: Template, r: &str, lang: Lang) -> (String, String) {
    match (kind, lang) {
        (Template::NewReferral, Lang::It) => (
            format!("Nuova segnalazione {r}"),
            format!("È arrivata una nuova segnalazione ({r}). Apri il collegamento per prenderla in carico."),
        ),
        (Template::NewReferral, Lang::En) => (
            format!("New referral {r}"),
            format!("A new referral has arrived ({r}). Open the link to take it in charge."),
        ),
        (Template::Emergency, Lang::It) => (
            format!("URGENTE: emergenza {r}"),
            format!("È arrivata una segnalazione di emergenza ({r}). Apri subito il collegamento e conferma la presa visione."),
        ),
        (Template::Emergency, Lang::En) => (
            format!("URGENT: emergency {r}"),
            format!("An emergency referral has arrived ({r}). Open the link now and acknowledge it."),
        ),
        (Template::Escalation, Lang::It) => (
            format!("URGENTE: emergenza {r} non confermata"),
            format!("L'emergenza {r} non è stata confermata dall'operatore di turno entro il tempo previsto. Apri il collegamento e intervieni."),
        ),
        (Template::Escalation, Lang::En) => (
            format!("URGENT: emergency {r} not acknowledged"),
            format!("The emergency {r} was not acknowledged by the operator on duty in time. Open the link and step in."),
        ),
        (Template::Overdue, Lang::It) => (
            format!("Segnalazione {r} non ancora presa in carico"),
            format!("La segnalazione {r} non è stata presa in carico entro il tempo previsto. Apri il collegamento per assegnarla."),
        ),
        (Template::Overdue, Lang::En) => (
            format!("Referral {r} not yet taken in charge"),
            format!("The referral {r} was not taken in charge in time. Open the link to assign it."),
        ),
        (Template::Decision, Lang::It) => (
            format!("Decisione sulla segnalazione {r}"),
            format!("L'unità di crisi ha preso una decisione sulla segnalazione {r}. Apri il collegamento per leggerla."),
        ),
        (Template::Decision, Lang::En) => (
            format!("Decision on referral {r}"),
            format!("The crisis unit has decided on the referral {r}. Open the link to read the decision."),
        ),
        (Template::Feedback, Lang::It) => (
            format!("Riscontro disponibile per la segnalazione {r}"),
            format!("È disponibile un riscontro scritto sulla segnalazione {r}. Apri il collegamento per leggerlo."),
        ),
        (Template::Feedback, Lang::En) => (
            format!("Feedback available on referral {r}"),
            format!("Written feedback on the referral {r} is available. Open the link to read it."),
        ),
        (Template::ConsentWithdrawn, Lang::It) => (
            format!("Consenso revocato: segnalazione {r}"),
            format!("Il consenso relativo alla segnalazione {r} è stato revocato. Apri il collegamento per i dettagli."),
        ),
        (Template::ConsentWithdrawn, Lang::En) => (
            format!("Consent withdrawn: referral {r}"),
            format!("The consent for the referral {r} has been withdrawn. Open the link for the details."),
        ),
        (Template::CaseAssigned, Lang::It) => (
            format!("Caso {r} assegnato a te"),
            format!("Il coordinamento ti ha assegnato il caso {r}. Apri il collegamento per vederlo."),
        ),
        (Template::CaseAssigned, Lang::En) => (
            format!("Case {r} assigned to you"),
            format!("The coordination has assigned the case {r} to you. Open the link to see it."),
        ),
        (Template::InterviewBooked, Lang::It) => (
            format!("Colloquio da confermare ({r})"),
            format!("Sei stata/o prenotata/o per un colloquio del caso {r}. Apri il collegamento per accettare o rifiutare."),
        ),
        (Template::InterviewBooked, Lang::En) => (
            format!("Interview to confirm ({r})"),
            format!("You have been booked for an interview of the case {r}. Open the link to accept or decline."),
        ),
        (Template::FeedbackLetter, Lang::It) => (
            format!("Riscontro scritto {r}"),
            format!("In allegato il riscontro scritto {r} dell'Unità di crisi e di valutazione (PDF). Lo si legge anche nel portale, con la sua impronta SHA-256, dal collegamento."),
        ),
        (Template::FeedbackLetter, Lang::En) => (
            format!("Written feedback {r} from the crisis and evaluation unit"),
            format!("Attached is the written feedback {r} from the crisis and evaluation unit (PDF). It can also be read in the portal, with its SHA-256 fingerprint, from the link."),
        ),
    }
}

/// Subject and plain-text body of a notification. The subject is in `lang`; the body has a
/// paragraph in `lang` first and one in the other language after (Italian first by default).
pub fn render(kind: Template, reference: &str, link: &str, lang: Lang) -> (String, String) {
    let (subject, first) = texts(kind, reference, lang);
    let (_, second) = texts(kind, reference, lang.other());
    let footer = match lang {
        Lang::It => "Messaggio automatico di Varco: non rispondere.\nAutomatic message from Varco: do not reply.",
        Lang::En => "Automatic message from Varco: do not reply.\nMessaggio automatico di Varco: non rispondere.",
    };
    let body = format!("{first}\n\n{link}\n\n{second}\n\n{link}\n\n-- \n{footer}\n");
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_carries_the_reference_and_the_link_in_both_languages() {
        for kind in Template::ALL {
            let (subject, body) = render(*kind, "R-7K2M9QXH", "https://varco.example/referrals/7", Lang::It);
            assert!(subject.contains("R-7K2M9QXH"), "{kind:?}");
            assert!(body.contains("https://varco.example/referrals/7"), "{kind:?}");
            let (it, en) = (
                texts(*kind, "R-7K2M9QXH", Lang::It).1,
                texts(*kind, "R-7K2M9QXH", Lang::En).1,
            );
            let (pos_it, pos_en) = (body.find(&it), body.find(&en));
            assert!(
                pos_it.is_some() && pos_en.is_some() && pos_it < pos_en,
                "{kind:?}: Italian first"
            );
            assert_eq!(Template::parse(kind.as_str()), Some(*kind));
        }
        let (subject, body) = render(Template::Emergency, "R-7K2M9QXH", "/x", Lang::En);
        assert!(subject.starts_with("URGENT"));
        assert!(body.starts_with("An emergency"));
    }

    #[test]
    fn subjects_stay_ascii_so_that_mail_clients_show_them_unencoded() {
        for kind in Template::ALL {
            for lang in [Lang::It, Lang::En] {
                let (subject, _) = render(*kind, "R-7K2M9QXH", "/x", lang);
                assert!(subject.is_ascii(), "{subject}");
            }
        }
    }
}
