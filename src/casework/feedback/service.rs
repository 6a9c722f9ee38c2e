//! Written feedback use cases: a caller and the application, no HTTP (the API, the pages and the
//! command line share them). Every read and write is audited.
//!
//! Who may do what: operators and coordinators draft, edit and send; only a coordinator approves,
//! and not a text they last edited themselves (four eyes); the recipient organisation's referrers
//! and commission officers read a sent letter's PDF and its SHA-256; nobody else sees a letter
//! (analysts and mediators: 403 at the route; other organisations: 404).

use askama::Template as _;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::pdf::{self, LetterView};
use super::store::{self as letters, Approval, Letter, NewDraft, Sending};
use super::{after_receipt, Delivery, LetterStatus, RecipientRole};
use crate::accounts::orgs;
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::casework::lifecycle::CaseAction;
use crate::casework::store as cases;
use crate::casework::vocab::{CaseEventKind, InterviewStatus, Setting};
use crate::crypto::DataKey;
use crate::db::schema::{interviews, users};
use crate::db::DbConn;
use crate::domain::{Caller, CaseId, Lang, LetterId, OrgId, OrgKind, ReferralId, Role, SourceKind, UserId, Version};
use crate::error::AppError;
use crate::notify::{self, Attachment, NewMessage, Template};
use crate::referrals::import::{self, PecReceipt};
use crate::referrals::service::{self as referral_service, actor_of};
use crate::referrals::store as referrals;

/// Longest letter body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
const BODY_FIELD: &str = "feedback.body";
const PDF_FIELD: &str = "feedback.pdf";

/// A letter as the unit reads it: the row, the body opened (none once the case's data key is
/// destroyed), and the names the pages show.
#[derive(Clone, Debug)]
pub struct LetterFile {
    pub letter: Letter,
    pub body: Option<String>,
    pub recipient_name: String,
    /// The recipient organisation's address now (where a send would go).
    pub recipient_address: Option<String>,
    pub drafted_by: Option<String>,
    pub edited_by: Option<String>,
    pub approved_by: Option<String>,
    pub sent_by: Option<String>,
    pub referral_reference: String,
}

/// A sent letter as its recipient sees it in the portal: no body, the PDF and its fingerprint.
#[derive(Clone, Debug)]
pub struct PortalLetter {
    pub id: LetterId,
    pub reference: String,
    pub referral_id: ReferralId,
    pub sent_at: NaiveDateTime,
    pub sha256: String,
    pub pages: i32,
}

/// A letter's PDF as served.
#[derive(Clone, Debug)]
pub struct PdfFile {
    pub reference: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// What to draft: the referral answered (default: the case's first), and the commission to write
/// to when the source's procedure names one but the report did not come from it.
#[derive(Clone, Debug, Default)]
pub struct DraftInput {
    pub referral_id: Option<ReferralId>,
    pub commission_org_id: Option<OrgId>,
}

fn unit(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Some(Role::Coordinator | Role::Operator) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// A refusal (no such letter for the caller, or not allowed) is audited too.
async fn audited_refusal<T>(
    app: &App,
    caller: &Caller,
    action: &'static str,
    id: i64,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    let why = match &result {
        Err(AppError::NotFound) => "not visible to the caller, or no such record",
        Err(AppError::Forbidden) => "not allowed to the caller",
        _ => return result,
    };
    let event = Event::new(action)
        .entity("feedback_letter", id)
        .outcome(Outcome::Denied)
        .detail(why);
    if let Err(e) = audit::record_now(app, caller, event).await {
        tracing::error!(error = %e, "a refusal could not be audited");
    }
    result
}

fn case_key(conn: &mut DbConn, app_keys: &crate::crypto::Keyring, case: &cases::CaseRow) -> Result<DataKey, AppError> {
    cases::key(conn, app_keys, case)?
        .ok_or_else(|| AppError::Conflict("the case's personal data has been erased".into()))
}

fn name_of(conn: &mut DbConn, user: Option<UserId>) -> Result<Option<String>, AppError> {
    match user {
        None => Ok(None),
        Some(u) => Ok(users::table
            .find(u.get())
            .select(users::display_name)
            .first::<String>(conn)
            .optional()?),
    }
}

fn file_of(conn: &mut DbConn, key: Option<&DataKey>, letter: Letter) -> Result<LetterFile, AppError> {
    let body = match key {
        Some(k) => Some(k.open_str(BODY_FIELD, &letter.row.body)?),
        None => None,
    };
    let org = orgs::get(conn, letter.row.recipient_org_id)?;
    let referral = referrals::get(conn, letter.row.referral_id)?;
    Ok(LetterFile {
        body,
        recipient_name: org.name,
        recipient_address: org.email,
        drafted_by: name_of(conn, letter.row.drafted_by)?,
        edited_by: name_of(conn, letter.row.edited_by)?,
        approved_by: name_of(conn, letter.row.approved_by)?,
        sent_by: name_of(conn, letter.row.sent_by)?,
        referral_reference: referral.row.reference,
        letter,
    })
}

/// The draft's text: the referral, its source and the interviews held; never the person's name,
/// address or anything sealed (the operator adds what the recipient needs).
#[derive(askama::Template)]
#[template(path = "feedback/letter.txt")]
struct DraftText {
    referral_reference: String,
    received: String,
    source: &'static str,
    interviews: Vec<String>,
}

fn draft_text(conn: &mut DbConn, case: CaseId, referral: &referrals::Referral) -> Result<String, AppError> {
    let held: Vec<(NaiveDateTime, Setting, bool, Option<i64>)> = interviews::table
        .filter(interviews::case_id.eq(case.get()))
        .filter(interviews::status.eq(InterviewStatus::Held))
        .order(interviews::starts_at.asc())
        .select((
            interviews::starts_at,
            interviews::setting,
            interviews::joint,
            interviews::mediator_id,
        ))
        .load(conn)?;
    let interviews = held
        .into_iter()
        .map(|(at, setting, joint, mediator)| {
            let mut line = format!(
                "{}, {}",
                crate::clock::rome(at).format("%d/%m/%Y"),
                setting.label(Lang::It).to_lowercase()
            );
            if joint {
                line.push_str(", colloquio congiunto");
            }
            if mediator.is_some() {
                line.push_str(", con mediazione linguistico-culturale");
            }
            line
        })
        .collect();
    DraftText {
        referral_reference: referral.row.reference.clone(),
        received: crate::clock::rome(referral.row.received_at)
            .format("%d/%m/%Y")
            .to_string(),
        source: referral.row.source_kind.label(Lang::It),
        interviews,
    }
    .render()
    .map_err(|e| AppError::Internal(format!("draft template: {e}")))
}

/// The organisations a referral's written feedback goes to, by the source's procedure
/// (`feedback_to`): the referrer, the CAS hosting the person, the territorial commission (the
/// one that reported, or the one named by the operator). Roles that name nobody are left out.
fn recipients(
    conn: &mut DbConn,
    roles: &[String],
    referral: &referrals::Referral,
    commission: Option<OrgId>,
) -> Result<Vec<(RecipientRole, OrgId)>, AppError> {
    let mut out: Vec<(RecipientRole, OrgId)> = Vec::new();
    let from = referral.row.referring_org_id.or(referral.row.submitter_org_id);
    for role in roles.iter().filter_map(|r| RecipientRole::parse(r)) {
        let org = match role {
            RecipientRole::Referrer => from,
            RecipientRole::HostingCas => referral.row.hosted_org_id,
            RecipientRole::Commission if referral.row.source_kind == SourceKind::TerritorialCommission => from,
            RecipientRole::Commission => match commission {
                Some(c) => {
                    let org = orgs::get(conn, c).map_err(|e| match e {
                        AppError::NotFound => {
                            AppError::invalid("commission_org_id", "refers to a record that does not exist")
                        }
                        other => other,
                    })?;
                    if org.kind != OrgKind::TerritorialCommission {
                        return Err(AppError::invalid(
                            "commission_org_id",
                            "must be a territorial commission",
                        ));
                    }
                    Some(c)
                }
                None => None,
            },
        };
        // One letter per organisation: a CAS that reported and hosts the person gets one.
        if let Some(org) = org {
            if !out.iter().any(|(_, o)| *o == org) {
                out.push((role, org));
            }
        }
    }
    Ok(out)
}

/// Drafts a letter to each recipient of the referral's procedure that has none in progress.
pub async fn draft(
    app: &App,
    caller: &Caller,
    case_id: CaseId,
    input: DraftInput,
) -> Result<Vec<LetterFile>, AppError> {
    unit(caller)?;
    let who_case = caller.clone();
    let (keys, protocols, actor) = (app.keys(), app.protocols.clone(), actor_of(caller));
    let result = audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let conn = &mut *tx.conn;
        let case = crate::casework::service::visible_case(conn, &who_case, case_id)?;
        if !case.status.is_open() {
            return Err(AppError::Conflict("the case is closed".into()));
        }
        let answered = cases::referrals_of(conn, case_id)?;
        let referral_id = match input.referral_id {
            Some(r) if answered.contains(&r) => r,
            Some(_) => return Err(AppError::invalid("referral_id", "is not a referral of this case")),
            None => *answered
                .first()
                .ok_or_else(|| AppError::Conflict("the case answers no referral".into()))?,
        };
        let referral = referrals::get(conn, referral_id)?;
        let roles = protocols.procedure(referral.row.source_kind).feedback_to.clone();
        let to = recipients(conn, &roles, &referral, input.commission_org_id)?;
        if to.is_empty() {
            return Err(AppError::invalid(
                "recipients",
                "the procedure of this source names no recipient known for this referral",
            ));
        }
        let key = case_key(conn, &keys, &case)?;
        let text = draft_text(conn, case_id, &referral)?;
        let mut made = Vec::new();
        for (role, org) in to {
            if letters::unsent_exists(conn, referral_id, org, role)? {
                continue;
            }
            let row = letters::insert_draft(
                conn,
                &NewDraft {
                    case_id,
                    referral_id,
                    recipient_org_id: org,
                    recipient_role: role,
                    body: key.seal_str(BODY_FIELD, &text),
                    drafted_by: actor.user_id,
                },
                now,
            )?;
            cases::event(
                conn,
                case_id,
                &actor,
                CaseEventKind::FeedbackDrafted,
                None,
                Some(row.reference.clone()),
                now,
            )?;
            made.push(row.id);
        }
        if made.is_empty() {
            return Err(AppError::Conflict(
                "every recipient already has a letter being written or waiting to be sent".into(),
            ));
        }
        let mut files = Vec::new();
        for id in made {
            let letter = letters::get(conn, case_id, id)?;
            files.push(file_of(conn, Some(&key), letter)?);
        }
        let n = files.len();
        tx.audit(
            Event::new("feedback.draft")
                .entity("case", case_id)
                .detail(format!("{n} letters")),
        )?;
        Ok(files)
    })
    .await;
    audited_refusal(app, caller, "feedback.draft", case_id.get(), result).await
}

/// The letters of a case (the unit), with their bodies.
pub async fn list(app: &App, caller: &Caller, case_id: CaseId) -> Result<Vec<LetterFile>, AppError> {
    unit(caller)?;
    let who_case = caller.clone();
    let keys = app.keys();
    audit::read(app, caller, move |conn| {
        let case = crate::casework::service::visible_case(conn, &who_case, case_id)?;
        let key = cases::key(conn, &keys, &case)?;
        let mut out = Vec::new();
        for letter in letters::of_case(conn, case_id)? {
            out.push(file_of(conn, key.as_ref(), letter)?);
        }
        let n = out.len();
        Ok((
            out,
            Event::new("feedback.list")
                .entity("case", case_id)
                .detail(format!("{n} letters")),
        ))
    })
    .await
}

/// One letter of a case (the unit).
pub async fn get(app: &App, caller: &Caller, case_id: CaseId, id: LetterId) -> Result<LetterFile, AppError> {
    let keys = app.keys();
    let result = async {
        unit(caller)?;
        let who_case = caller.clone();
        audit::read(app, caller, move |conn| {
            let case = crate::casework::service::visible_case(conn, &who_case, case_id)?;
            let letter = letters::get(conn, case_id, id)?;
            let key = cases::key(conn, &keys, &case)?;
            let file = file_of(conn, key.as_ref(), letter)?;
            Ok((file, Event::new("feedback.read").entity("feedback_letter", id)))
        })
        .await
    }
    .await;
    audited_refusal(app, caller, "feedback.read", id.get(), result).await
}

/// Replaces a draft's text.
pub async fn edit(
    app: &App,
    caller: &Caller,
    case_id: CaseId,
    id: LetterId,
    expected: Version,
    body: String,
) -> Result<LetterFile, AppError> {
    let result = async {
        unit(caller)?;
        let who_case = caller.clone();
        let body = crate::domain::text::clean(&body).trim().to_owned();
        if body.is_empty() {
            return Err(AppError::invalid("body", "is required"));
        }
        if body.chars().count() > MAX_BODY_CHARS {
            return Err(AppError::invalid("body", "must be at most 20000 characters"));
        }
        let (keys, actor) = (app.keys(), actor_of(caller));
        audit::write(app, caller, &[], move |tx| {
            let now = tx.caller().now;
            let conn = &mut *tx.conn;
            let case = crate::casework::service::visible_case(conn, &who_case, case_id)?;
            let current = letters::get(conn, case_id, id)?;
            let key = case_key(conn, &keys, &case)?;
            letters::edit(
                conn,
                &current.row,
                expected,
                &key.seal_str(BODY_FIELD, &body),
                actor.user_id,
                now,
            )?;
            let letter = letters::get(conn, case_id, id)?;
            let file = file_of(conn, Some(&key), letter)?;
            tx.audit(Event::new("feedback.edit").entity("feedback_letter", id))?;
            Ok(file)
        })
        .await
    }
    .await;
    audited_refusal(app, caller, "feedback.edit", id.get(), result).await
}

/// Approves a draft (a coordinator, not its last editor): renders the PDF once and stores it
/// with its SHA-256.
pub async fn approve(
    app: &App,
    caller: &Caller,
    case_id: CaseId,
    id: LetterId,
    expected: Version,
) -> Result<LetterFile, AppError> {
    let result = approve_checked(app, caller, case_id, id, expected).await;
    audited_refusal(app, caller, "feedback.approve", id.get(), result).await
}

async fn approve_checked(
    app: &App,
    caller: &Caller,
    case_id: CaseId,
    id: LetterId,
    expected: Version,
) -> Result<LetterFile, AppError> {
    if caller.role != Some(Role::Coordinator) {
        return Err(AppError::Forbidden);
    }
    // Read what is approved, render it off the async workers, then write it if nothing changed.
    let keys = app.keys();
    let who_case = caller.clone();
    let file = app
        .db
        .read({
            let keys = keys.clone();
            let who_case = who_case.clone();
            move |conn| {
                let case = crate::casework::service::visible_case(conn, &who_case, case_id)?;
                let letter = letters::get(conn, case_id, id)?;
                let key = case_key(conn, &keys, &case)?;
                file_of(conn, Some(&key), letter)
            }
        })
        .await?;
    if file.letter.row.version != expected {
        return Err(AppError::StaleVersion {
            current_version: file.letter.row.version.get(),
        });
    }
    super::transition(file.letter.row.status, super::LetterAction::Approve)?;
    if file.letter.row.edited_by.is_some() && file.letter.row.edited_by == caller.user_id() {
        return Err(AppError::invalid(
            "approved_by",
            "a letter is approved by someone other than who last edited it",
        ));
    }
    let now = caller.now;
    let unit_name = app.settings.unit_name.clone();
    let body = file.body.clone().unwrap_or_default();
    let (reference, referral_reference, recipient) = (
        file.letter.row.reference.clone(),
        file.referral_reference.clone(),
        file.recipient_name.clone(),
    );
    let rendered = actix_web::web::block(move || {
        pdf::render(&LetterView {
            unit_name: &unit_name,
            reference: &reference,
            referral_reference: &referral_reference,
            date: crate::clock::rome(now).date_naive(),
            recipient: &recipient,
            subject: "Riscontro scritto sui colloqui svolti",
            body: &body,
        })
    })
    .await
    .map_err(|_| AppError::Internal("the PDF renderer stopped".into()))??;
    let sha256 = pdf::sha256_hex(&rendered.bytes);
    let actor = actor_of(caller);
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let conn = &mut *tx.conn;
        let case = crate::casework::service::visible_case(conn, &who_case, case_id)?;
        let current = letters::get(conn, case_id, id)?;
        let key = case_key(conn, &keys, &case)?;
        let approval = Approval {
            pdf: key.seal(PDF_FIELD, &rendered.bytes),
            sha256: sha256.clone(),
            pages: rendered.pages as i32,
        };
        let row = letters::approve(conn, &current.row, expected, &approval, actor.user_id, now)?;
        cases::event(
            conn,
            case_id,
            &actor,
            CaseEventKind::FeedbackApproved,
            None,
            Some(row.reference.clone()),
            now,
        )?;
        tx.audit(
            Event::new("feedback.approve")
                .entity("feedback_letter", id)
                .detail(format!("sha256 {sha256}")),
        )?;
        let letter = letters::get(tx.conn, case_id, id)?;
        file_of(tx.conn, Some(&key), letter)
    })
    .await
}

/// A coordinator takes an approval back before the letter is sent (a mistake seen after
/// approving): the PDF is dropped and the letter is a draft again. Audited, on the timeline.
pub async fn withdraw(
    app: &App,
    caller: &Caller,
    case_id: CaseId,
    id: LetterId,
    expected: Version,
) -> Result<LetterFile, AppError> {
    let result = withdraw_checked(app, caller, case_id, id, expected).await;
    audited_refusal(app, caller, "feedback.withdraw", id.get(), result).await
}

async fn withdraw_checked(
    app: &App,
    caller: &Caller,
    case_id: CaseId,
    id: LetterId,
    expected: Version,
) -> Result<LetterFile, AppError> {
    if caller.role != Some(Role::Coordinator) {
        return Err(AppError::Forbidden);
    }
    let keys = app.keys();
    let who = caller.clone();
    let actor = actor_of(caller);
    audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let conn = &mut *tx.conn;
        let case = crate::casework::service::visible_case(conn, &who, case_id)?;
        let current = letters::get(conn, case_id, id)?;
        let row = letters::withdraw(conn, &current.row, expected, now)?;
        cases::event(
            conn,
            case_id,
            &actor,
            CaseEventKind::FeedbackWithdrawn,
            None,
            Some(row.reference.clone()),
            now,
        )?;
        tx.audit(Event::new("feedback.withdraw").entity("feedback_letter", id))?;
        let key = case_key(tx.conn, &keys, &case)?;
        let letter = letters::get(tx.conn, case_id, id)?;
        file_of(tx.conn, Some(&key), letter)
    })
    .await
}

/// The `Message-ID` of a letter's email: unique, on the sender's domain.
fn message_id(settings: &crate::config::Settings, reference: &str) -> String {
    let domain = notify::transport::sender(settings)
        .ok()
        .map(|m| m.email.domain().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "varco.invalid".into());
    format!(
        "{}.{}@{domain}",
        reference.to_ascii_lowercase(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Sends an approved letter: its email, the PDF attached, is queued in the outbox, and the case
/// moves to `feedback_sent` (it must have reached `outcome_decided`: otherwise 409 naming the
/// case's state and the action).
pub async fn send(
    app: &App,
    caller: &Caller,
    case_id: CaseId,
    id: LetterId,
    expected: Version,
) -> Result<LetterFile, AppError> {
    let result = async {
        unit(caller)?;
        let who_case = caller.clone();
        let (keys, actor, settings) = (app.keys(), actor_of(caller), app.settings.clone());
        audit::write(app, caller, &[], move |tx| {
            let now = tx.caller().now;
            let conn = &mut *tx.conn;
            let case = crate::casework::service::visible_case(conn, &who_case, case_id)?;
            let current = letters::get(conn, case_id, id)?;
            if current.row.version != expected {
                return Err(AppError::StaleVersion {
                    current_version: current.row.version.get(),
                });
            }
            super::transition(current.row.status, super::LetterAction::Send)?;
            // The case's own lifecycle decides whether feedback may go out now.
            cases::apply(conn, &case, case.version, CaseAction::SendFeedback, &actor, now)?;
            let org = orgs::get(conn, current.row.recipient_org_id)?;
            let Some(address) = org.email.clone() else {
                return Err(AppError::invalid(
                    "recipient",
                    "the recipient organisation has no email address",
                ));
            };
            let key = case_key(conn, &keys, &case)?;
            let sealed = letters::pdf_of(conn, id)?
                .ok_or_else(|| AppError::Internal("an approved letter without its PDF".into()))?;
            let bytes = key.open(PDF_FIELD, &sealed)?;
            if Some(pdf::sha256_hex(&bytes)) != current.row.pdf_sha256 {
                return Err(AppError::Internal("a letter's PDF does not match its SHA-256".into()));
            }
            let reference = current.row.reference.clone();
            let link = format!("{}/portal/feedback/{}", settings.base_url(), id.get());
            let msg = NewMessage::from_template(Template::FeedbackLetter, &address, &reference, &link);
            let mid = message_id(&settings, &reference);
            let attachment = Attachment {
                file_name: format!("riscontro-{reference}.pdf"),
                bytes,
            };
            let outbox_id = notify::enqueue_with(conn, &msg, Some(&mid), Some(&attachment), now)?;
            letters::mark_sent(
                conn,
                &current.row,
                expected,
                &Sending {
                    recipient_email: &address,
                    outbox_id,
                    message_id: &mid,
                },
                actor.user_id,
                now,
            )?;
            cases::event(
                conn,
                case_id,
                &actor,
                CaseEventKind::FeedbackSent,
                None,
                Some(reference),
                now,
            )?;
            tx.audit(Event::new("feedback.send").entity("feedback_letter", id))?;
            let letter = letters::get(tx.conn, case_id, id)?;
            file_of(tx.conn, Some(&key), letter)
        })
        .await
    }
    .await;
    audited_refusal(app, caller, "feedback.send", id.get(), result).await
}

/// Opens a letter's PDF and checks it against its SHA-256.
fn open_pdf(conn: &mut DbConn, keys: &crate::crypto::Keyring, letter: &Letter) -> Result<PdfFile, AppError> {
    let case = cases::get(conn, letter.row.case_id)?;
    let (Some(sha256), Some(sealed)) = (letter.row.pdf_sha256.clone(), letters::pdf_of(conn, letter.row.id)?) else {
        // A draft has no PDF yet.
        return Err(AppError::NotFound);
    };
    let Some(key) = cases::key(conn, keys, &case)? else {
        return Err(AppError::NotFound);
    };
    let bytes = key.open(PDF_FIELD, &sealed)?;
    if pdf::sha256_hex(&bytes) != sha256 {
        return Err(AppError::Internal("a letter's PDF does not match its SHA-256".into()));
    }
    Ok(PdfFile {
        reference: letter.row.reference.clone(),
        bytes,
        sha256,
    })
}

/// True when the caller is of the organisation a sent letter is addressed to.
fn is_recipient(caller: &Caller, letter: &Letter) -> bool {
    matches!(caller.role, Some(Role::Referrer | Role::Commission))
        && letter.row.status == LetterStatus::Sent
        && caller.org_id == Some(letter.row.recipient_org_id)
}

/// A letter's PDF: for the unit once approved; for the recipient organisation once sent.
pub async fn pdf_of(app: &App, caller: &Caller, case_id: Option<CaseId>, id: LetterId) -> Result<PdfFile, AppError> {
    let keys = app.keys();
    let who = caller.clone();
    let result = audit::read(app, caller, move |conn| {
        let letter = match case_id {
            Some(c) => letters::get(conn, c, id)?,
            None => letters::find(conn, id)?,
        };
        let allowed = match who.role {
            Some(Role::Coordinator | Role::Operator) => {
                crate::casework::service::visible_case(conn, &who, letter.row.case_id).is_ok()
            }
            Some(Role::Referrer | Role::Commission) => is_recipient(&who, &letter),
            _ => return Err(AppError::Forbidden),
        };
        if !allowed {
            return Err(AppError::NotFound);
        }
        let file = open_pdf(conn, &keys, &letter)?;
        Ok((file, Event::new("feedback.pdf").entity("feedback_letter", id)))
    })
    .await;
    audited_refusal(app, caller, "feedback.pdf", id.get(), result).await
}

/// The sent letters about a referral addressed to the caller's organisation (the portal).
pub async fn for_recipient(app: &App, caller: &Caller, referral: ReferralId) -> Result<Vec<PortalLetter>, AppError> {
    let Some(org) = caller
        .org_id
        .filter(|_| matches!(caller.role, Some(Role::Referrer | Role::Commission)))
    else {
        return Err(AppError::Forbidden);
    };
    audit::read(app, caller, move |conn| {
        let found = letters::sent_to(conn, org, Some(referral))?;
        let out: Vec<PortalLetter> = found
            .into_iter()
            .filter_map(|l| {
                Some(PortalLetter {
                    id: l.row.id,
                    reference: l.row.reference,
                    referral_id: l.row.referral_id,
                    sent_at: l.row.sent_at?,
                    sha256: l.row.pdf_sha256?,
                    pages: l.row.pdf_pages.unwrap_or(1),
                })
            })
            .collect();
        let n = out.len();
        Ok((
            out,
            Event::new("feedback.portal")
                .entity("referral", referral)
                .detail(format!("{n} letters")),
        ))
    })
    .await
}

// ----- PEC receipts and the email import -----

/// How one imported mailbox file ended.
#[derive(Clone, Debug)]
pub enum Imported {
    /// A referral draft to review.
    Draft { id: ReferralId, reference: String },
    /// A PEC receipt, recorded against the letter it acknowledges.
    Receipt {
        letter: String,
        kind: import::ReceiptKind,
        delivery: Delivery,
    },
}

/// One file of an import, and how it ended (or why it was skipped).
#[derive(Clone, Debug)]
pub struct MailImport {
    pub file: String,
    pub result: Result<Imported, String>,
}

/// Records a PEC receipt: the letter whose Message-ID it quotes gets the delivery state it
/// certifies and an entry on its case's timeline. `None` when it acknowledges no letter.
pub fn record_receipt(
    conn: &mut DbConn,
    receipt: &PecReceipt,
    actor: &referrals::Actor,
    now: NaiveDateTime,
) -> Result<Option<(Letter, Delivery)>, AppError> {
    let Some(mid) = receipt.original_message_id.as_deref() else {
        return Ok(None);
    };
    let Some(letter) = letters::by_message_id(conn, mid)? else {
        return Ok(None);
    };
    let current = letter.delivery().unwrap_or(Delivery::Queued);
    let next = after_receipt(current, receipt.kind);
    let at = receipt.at.filter(|t| *t <= now).unwrap_or(now);
    if next != current || letter.row.delivery != Some(next) {
        letters::set_delivery(conn, letter.row.id, next, at, now)?;
    }
    cases::event(
        conn,
        letter.row.case_id,
        actor,
        CaseEventKind::FeedbackReceipt,
        None,
        Some(format!("{}: {}", letter.row.reference, receipt.kind.code())),
        now,
    )?;
    Ok(Some((letter, next)))
}

/// Imports messages saved from the unit's mailbox: PEC receipts update the letters they
/// acknowledge (never a referral draft), everything else becomes a draft to review
/// (`referrals::service::import_files`). Results in the order of the files.
pub async fn import_mail(
    app: &App,
    caller: &Caller,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<MailImport>, AppError> {
    if caller.role.is_some() {
        unit(caller)?;
    }
    let mut out: Vec<Option<MailImport>> = Vec::with_capacity(files.len());
    let mut others = Vec::new();
    let mut slots = Vec::new();
    for (file, bytes) in files {
        match import::pec_receipt(&bytes) {
            Some(receipt) => {
                let actor = actor_of(caller);
                let recorded = audit::write(app, caller, &[], move |tx| {
                    let now = tx.caller().now;
                    let found = record_receipt(tx.conn, &receipt, &actor, now)?;
                    let event = match &found {
                        Some((letter, delivery)) => Event::new("feedback.receipt")
                            .entity("feedback_letter", letter.row.id)
                            .detail(format!("{}: {}", receipt.kind.code(), delivery.as_str())),
                        None => Event::new("feedback.receipt")
                            .detail(format!("{}: no matching letter", receipt.kind.code())),
                    };
                    tx.audit(event)?;
                    Ok(found.map(|(l, d)| (l.row.reference, receipt.kind, d)))
                })
                .await?;
                let result = match recorded {
                    Some((letter, kind, delivery)) => Ok(Imported::Receipt { letter, kind, delivery }),
                    None => {
                        Err("a certified email (PEC) receipt that matches no written feedback sent by Varco".to_owned())
                    }
                };
                out.push(Some(MailImport { file, result }));
            }
            None => {
                slots.push(out.len());
                out.push(None);
                others.push((file, bytes));
            }
        }
    }
    if !others.is_empty() {
        let drafts = referral_service::import_files(app, caller, others).await?;
        for (slot, d) in slots.into_iter().zip(drafts) {
            out[slot] = Some(MailImport {
                file: d.file,
                result: d.result.map(|(id, reference)| Imported::Draft { id, reference }),
            });
        }
    }
    Ok(out.into_iter().flatten().collect())
}
