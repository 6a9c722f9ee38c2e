//! Written feedback (*riscontro scritto*, seed 004): after the interviews the crisis unit writes
//! back to whoever the source's procedure names (`feedback_to` in `protocols/procedures.toml`):
//! the referrer (CAS operators, the prefecture, SAI operators…), the CAS hosting the person, and
//! the territorial commission, which gets it by certified email (PEC).
//!
//! A letter is drafted from a template (`templates/feedback/letter.txt`), edited by an operator or
//! a coordinator, approved by a coordinator other than its last editor (four eyes: the one who
//! checks is not the one who wrote), rendered once to PDF at approval and kept with its SHA-256,
//! never changed after, and sent by email with the PDF attached. Sending moves the case to
//! `feedback_sent`. PEC receipts coming back through the email import are matched to the letter
//! by its Message-ID and update its delivery state.
//!
//! ```text
//! draft ─edit─▶ draft ─approve (PDF, SHA-256)─▶ approved ─send─▶ sent
//! ```

pub mod api;
pub mod pages;
pub mod pdf;
pub mod service;
pub mod store;

use crate::referrals::import::ReceiptKind;
use crate::vocabulary;

vocabulary! {
    /// Where a letter stands.
    LetterStatus ("letter_status") {
        Draft = "draft" => ("Bozza", "Draft"),
        Approved = "approved" => ("Approvato", "Approved"),
        Sent = "sent" => ("Inviato", "Sent"),
    }
}

vocabulary! {
    /// Where a sent letter is in its delivery: the outbox's state until a PEC receipt says more.
    Delivery ("letter_delivery") as "LetterDelivery" {
        Queued = "queued" => ("In coda di invio", "Queued"),
        Sent = "sent" => ("Consegnato al server di posta", "Handed to the mail server"),
        Accepted = "accepted" => ("Accettato dal gestore PEC", "Accepted by the PEC provider"),
        Delivered = "delivered" => ("Consegnato al destinatario", "Delivered"),
        NotDelivered = "not_delivered" => ("Non consegnato", "Not delivered"),
        Failed = "failed" => ("Invio non riuscito", "Sending failed"),
    }
}

vocabulary! {
    /// Who a letter goes to, as the procedures name them (`feedback_to`).
    RecipientRole ("feedback_recipient") {
        Referrer = "referrer" => ("Soggetto segnalante", "Referrer"),
        HostingCas = "hosting_cas" => ("Struttura di accoglienza (CAS)", "Hosting CAS"),
        Commission = "commission" => ("Commissione Territoriale", "Territorial commission"),
    }
}

vocabulary! {
    /// What can be done to a letter.
    LetterAction ("letter_action") {
        Edit = "edit" => ("modificare il riscontro", "edit the letter"),
        Approve = "approve" => ("approvare il riscontro", "approve the letter"),
        Send = "send" => ("inviare il riscontro", "send the letter"),
        Withdraw = "withdraw" => ("ritirare l'approvazione", "withdraw the approval"),
    }
}

/// The state after `action`, or 409 naming the state and the action.
pub fn transition(state: LetterStatus, action: LetterAction) -> Result<LetterStatus, crate::error::AppError> {
    use LetterAction as A;
    use LetterStatus as S;
    match (state, action) {
        (S::Draft, A::Edit) => Ok(S::Draft),
        (S::Draft, A::Approve) => Ok(S::Approved),
        (S::Approved, A::Send) => Ok(S::Sent),
        // Before it is sent an approval can be taken back: the PDF goes, the draft returns.
        (S::Approved, A::Withdraw) => Ok(S::Draft),
        (state, action) => Err(crate::error::AppError::IllegalTransition {
            state: state.as_str(),
            action: action.as_str(),
        }),
    }
}

/// The delivery state of a sent letter: what the receipts said, else what the outbox says.
pub fn effective_delivery(stored: Delivery, outbox: Option<crate::notify::Status>) -> Delivery {
    use crate::notify::Status;
    match (stored, outbox) {
        (Delivery::Queued | Delivery::Sent, Some(Status::Sent)) => Delivery::Sent,
        (Delivery::Queued, Some(Status::Failed)) => Delivery::Failed,
        (stored, _) => stored,
    }
}

/// The delivery state after a PEC receipt. Receipts may arrive in any order: a later state is
/// never taken back by an earlier one (an acceptance after the delivery changes nothing).
pub fn after_receipt(current: Delivery, receipt: ReceiptKind) -> Delivery {
    use Delivery as D;
    match receipt {
        ReceiptKind::Acceptance => match current {
            D::Queued | D::Sent | D::Failed => D::Accepted,
            other => other,
        },
        ReceiptKind::Delivery => match current {
            D::NotDelivered => D::NotDelivered,
            _ => D::Delivered,
        },
        ReceiptKind::NonAcceptance | ReceiptKind::DeliveryError | ReceiptKind::Virus => match current {
            D::Delivered => D::Delivered,
            _ => D::NotDelivered,
        },
        // Intermediate notices: recorded on the timeline, the state waits for the final receipt.
        ReceiptKind::TakenInCharge | ReceiptKind::DeliveryWarning => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Status;

    #[test]
    fn a_letter_goes_draft_approved_sent_and_never_back() {
        assert_eq!(
            transition(LetterStatus::Draft, LetterAction::Edit).ok(),
            Some(LetterStatus::Draft)
        );
        assert_eq!(
            transition(LetterStatus::Draft, LetterAction::Approve).ok(),
            Some(LetterStatus::Approved)
        );
        assert_eq!(
            transition(LetterStatus::Approved, LetterAction::Send).ok(),
            Some(LetterStatus::Sent)
        );
        for s in LetterStatus::ALL {
            for a in LetterAction::ALL {
                let legal = matches!(
                    (s, a),
                    (LetterStatus::Draft, LetterAction::Edit | LetterAction::Approve)
                        | (LetterStatus::Approved, LetterAction::Send | LetterAction::Withdraw)
                );
                assert_eq!(transition(*s, *a).is_ok(), legal, "{s:?} {a:?}");
            }
        }
    }

    #[test]
    fn receipts_move_delivery_forward_only() {
        use Delivery as D;
        assert_eq!(effective_delivery(D::Queued, Some(Status::Pending)), D::Queued);
        assert_eq!(effective_delivery(D::Queued, Some(Status::Sent)), D::Sent);
        assert_eq!(effective_delivery(D::Queued, Some(Status::Failed)), D::Failed);
        assert_eq!(effective_delivery(D::Delivered, Some(Status::Sent)), D::Delivered);
        assert_eq!(after_receipt(D::Sent, ReceiptKind::Acceptance), D::Accepted);
        assert_eq!(after_receipt(D::Accepted, ReceiptKind::Delivery), D::Delivered);
        // Out of order: the acceptance after the delivery.
        assert_eq!(after_receipt(D::Delivered, ReceiptKind::Acceptance), D::Delivered);
        assert_eq!(after_receipt(D::Accepted, ReceiptKind::DeliveryError), D::NotDelivered);
        assert_eq!(after_receipt(D::Sent, ReceiptKind::NonAcceptance), D::NotDelivered);
        assert_eq!(after_receipt(D::Accepted, ReceiptKind::DeliveryWarning), D::Accepted);
        assert_eq!(after_receipt(D::NotDelivered, ReceiptKind::Delivery), D::NotDelivered);
    }
}
