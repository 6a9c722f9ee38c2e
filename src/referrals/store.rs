//! Referral storage: intake with routing, decisions, feedback, consent withdrawal, escalation.
//! Every function runs inside the caller's write transaction, so a referral, its routing, its
//! history and its notifications land together or not at all.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;

use super::model::NewReferral;
use super::routing::{self, Routing};
use super::vocab::{self, DeclineReason, Status, Urgency};
use crate::accounts::orgs;
use crate::accounts::users::{self, UserRow};
use crate::config::Settings;
use crate::db::schema::{
    idempotency_keys, referral_consents, referral_events, referral_feedback, referral_people, referrals,
};
use crate::db::{DbBackend, DbConn};
use crate::domain::vocab::{join, split};
use crate::domain::{Lang, SourceKind};
use crate::error::AppError;
use crate::notify::{self, NewMessage, Template};
use crate::roster::store as roster;

/// A referral's workflow row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: i64,
    pub reference: String,
    pub status: String,
    pub channel: String,
    pub source_kind: String,
    pub referring_org_id: Option<i64>,
    pub received_at: NaiveDateTime,
    pub urgency: String,
    pub person_gender: String,
    pub person_age_band: Option<String>,
    pub person_minor: bool,
    pub hosted_org_id: Option<i64>,
    pub emergence_province: Option<String>,
    pub emergence_context: Option<String>,
    pub exploitation_types: String,
    pub indicators: String,
    pub indicators_version: Option<String>,
    pub interview_joint: Option<bool>,
    pub assigned_operator_id: Option<i64>,
    pub proposed_mediator_id: Option<i64>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decline_reason: Option<String>,
    pub duplicate_of: Option<i64>,
    pub submitter_org_id: Option<i64>,
    pub created_by_user_id: Option<i64>,
    pub created_by_token_id: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ReferralRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::New)
    }

    pub fn urgency(&self) -> Urgency {
        Urgency::parse(&self.urgency).unwrap_or(Urgency::Ordinary)
    }

    pub fn source(&self) -> SourceKind {
        SourceKind::parse(&self.source_kind).unwrap_or(SourceKind::PrivateCitizen)
    }

    pub fn exploitation(&self) -> Vec<vocab::ExploitationType> {
        split(&self.exploitation_types, vocab::ExploitationType::parse)
    }

    pub fn indicator_ids(&self) -> Vec<String> {
        self.indicators
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// When the unit must act next: acknowledge an unacknowledged emergency, otherwise take the
    /// referral in charge.
    pub fn deadline(&self, settings: &Settings) -> NaiveDateTime {
        match (self.urgency(), self.acknowledged_at) {
            (Urgency::Emergency, None) => self.received_at + Duration::minutes(settings.emergency_ack_minutes),
            _ => self.received_at + Duration::hours(settings.take_charge_hours),
        }
    }

    /// Still waiting on the unit past its deadline.
    pub fn is_overdue(&self, now: NaiveDateTime, settings: &Settings) -> bool {
        self.status() == Status::New && now >= self.deadline(settings)
    }
}

/// The personal fields (erased when consent is withdrawn).
#[derive(Clone, Debug, Default, Queryable, Selectable)]
#[diesel(table_name = referral_people)]
pub struct PersonRow {
    pub referral_id: i64,
    pub alias: Option<String>,
    pub age: Option<i32>,
    pub nationality: Option<String>,
    pub languages: String,
    pub referrer_contact: Option<String>,
    pub notes: Option<String>,
    pub decision_note: Option<String>,
    pub source_file: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referral_consents)]
pub struct ConsentRow {
    pub referral_id: i64,
    pub audition_date: NaiveDate,
    pub commission_org_id: i64,
    pub section: Option<String>,
    pub collected_by: Option<String>,
    pub scope: String,
    pub contact_route: String,
    pub contact_detail: Option<String>,
    pub withdrawn_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referral_events)]
pub struct EventRow {
    pub id: i64,
    pub referral_id: i64,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub actor_label: Option<String>,
    pub kind: String,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referral_feedback)]
pub struct FeedbackRow {
    pub id: i64,
    pub referral_id: i64,
    pub at: NaiveDateTime,
    pub author_user_id: Option<i64>,
    pub body: String,
}

/// Who acts on a referral (for its history; the audit log has the rest).
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub label: String,
}

/// The scope and key of an idempotent submission, and a digest of its body.
pub struct Idempotency {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

/// The outcome of an intake.
pub struct Created {
    pub referral: ReferralRow,
    /// True when the same idempotency key had already created it: nothing new was stored.
    pub replayed: bool,
}

const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A short random reference for people and emails (`R-7K2M9QXH`): it reveals no count or date.
fn new_reference() -> String {
    let mut rng = rand::thread_rng();
    let code: String = (0..8)
        .map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char)
        .collect();
    format!("R-{code}")
}

/// A history entry, collected while a change is worked out and written at its end.
#[derive(Insertable)]
#[diesel(table_name = referral_events)]
struct NewEvent {
    referral_id: i64,
    at: NaiveDateTime,
    actor_user_id: Option<i64>,
    actor_label: String,
    kind: &'static str,
    detail: Option<String>,
}

fn pending(
    referral_id: i64,
    actor: &Actor,
    kind: &'static str,
    detail: Option<String>,
    now: NaiveDateTime,
) -> NewEvent {
    NewEvent {
        referral_id,
        at: now,
        actor_user_id: actor.user_id,
        actor_label: actor.label.clone(),
        kind,
        detail,
    }
}

fn write_events(conn: &mut DbConn, events: &[NewEvent]) -> Result<(), AppError> {
    // One statement each: diesel's multi-row insert does not go through the two-backend
    // connection, and a referral has only a handful of entries.
    for e in events {
        diesel::insert_into(referral_events::table).values(e).execute(conn)?;
    }
    Ok(())
}

pub fn event(
    conn: &mut DbConn,
    referral_id: i64,
    actor: &Actor,
    kind: &str,
    detail: Option<String>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(referral_events::table)
        .values((
            referral_events::referral_id.eq(referral_id),
            referral_events::at.eq(now),
            referral_events::actor_user_id.eq(actor.user_id),
            referral_events::actor_label.eq(&actor.label),
            referral_events::kind.eq(kind),
            referral_events::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// Enqueues a notification to a person, when they have a work email.
fn notify_user(
    conn: &mut DbConn,
    user: &UserRow,
    template: Template,
    reference: &str,
    link: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let Some(email) = user.email.clone() else {
        return Ok(false);
    };
    notify_address(conn, email, template, reference, link, now)?;
    Ok(true)
}

fn notify_address(
    conn: &mut DbConn,
    recipient: String,
    template: Template,
    reference: &str,
    link: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let (subject, body_text) = notify::render(template, reference, link, Lang::It);
    notify::enqueue(
        conn,
        &NewMessage {
            recipient,
            subject,
            body_text,
            kind: template.code(),
            reference: Some(reference.to_owned()),
        },
        now,
    )?;
    Ok(())
}

/// Coordinators to alert: those on duty or on call, or every enabled coordinator when the roster
/// has nobody (an alert must always reach someone).
fn coordinators_to_alert(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<UserRow>, AppError> {
    let on_shift = roster::coordinators(conn, now)?;
    if !on_shift.is_empty() {
        return Ok(on_shift);
    }
    Ok(users::list(conn)?
        .into_iter()
        .map(|(u, _)| u)
        .filter(|u| !u.disabled && u.role() == crate::domain::Role::Coordinator)
        .collect())
}

/// The facts of a referral as the unit records them: the same columns whether it is filed or
/// confirmed from an imported draft.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = referrals, treat_none_as_null = true)]
struct Facts<'a> {
    channel: &'static str,
    source_kind: &'static str,
    referring_org_id: Option<i64>,
    received_at: NaiveDateTime,
    urgency: &'static str,
    person_gender: &'static str,
    person_age_band: Option<&'static str>,
    person_minor: bool,
    hosted_org_id: Option<i64>,
    emergence_province: Option<&'a str>,
    emergence_context: Option<&'static str>,
    exploitation_types: String,
    indicators: String,
    indicators_version: &'a str,
    interview_joint: Option<bool>,
    assigned_operator_id: Option<i64>,
    proposed_mediator_id: Option<i64>,
}

fn facts<'a>(new: &'a NewReferral, routing: &Routing, received_at: NaiveDateTime) -> Facts<'a> {
    Facts {
        channel: new.channel.as_str(),
        source_kind: new.source_kind.as_str(),
        referring_org_id: new.referring_org_id,
        received_at,
        urgency: new.urgency.as_str(),
        person_gender: new.gender.as_str(),
        person_age_band: new.age_band.map(|b| b.as_str()),
        person_minor: new.minor,
        hosted_org_id: new.hosted_org_id,
        emergence_province: new.emergence_province.as_deref(),
        emergence_context: new.emergence_context.map(|c| c.as_str()),
        exploitation_types: join(&new.exploitation_types, |e| e.as_str()),
        indicators: new.indicators.join(","),
        indicators_version: &new.indicators_version,
        interview_joint: new.interview_joint,
        assigned_operator_id: routing.operator.as_ref().map(|u| u.id),
        proposed_mediator_id: routing.mediator.as_ref().map(|u| u.id),
    }
}

/// The personal fields of a referral, as filed or confirmed.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = referral_people, treat_none_as_null = true)]
struct PersonFacts<'a> {
    alias: Option<&'a str>,
    age: Option<i32>,
    nationality: Option<&'a str>,
    languages: String,
    referrer_contact: Option<&'a str>,
    notes: Option<&'a str>,
}

fn person_facts(new: &NewReferral) -> PersonFacts<'_> {
    PersonFacts {
        alias: new.alias.as_deref(),
        age: new.age,
        nationality: new.nationality.as_deref(),
        languages: new.languages.join(","),
        referrer_contact: new.referrer_contact.as_deref(),
        notes: new.notes.as_deref(),
    }
}

fn insert_consent(conn: &mut DbConn, id: i64, c: &super::model::Consent) -> Result<(), AppError> {
    diesel::insert_into(referral_consents::table)
        .values((
            referral_consents::referral_id.eq(id),
            referral_consents::audition_date.eq(c.audition_date),
            referral_consents::commission_org_id.eq(c.commission_org_id),
            referral_consents::section.eq(&c.section),
            referral_consents::collected_by.eq(&c.collected_by),
            referral_consents::scope.eq("social_protection_information"),
            referral_consents::contact_route.eq(c.contact_route.as_str()),
            referral_consents::contact_detail.eq(&c.contact_detail),
        ))
        .execute(conn)?;
    Ok(())
}

#[expect(
    clippy::too_many_arguments,
    reason = "a transaction step needs its inputs, context and clock"
)]
/// Stores a new referral, assigns it to the operator on duty, proposes a mediator for the
/// person's language, records the procedure's first steps and notifies. With an idempotency key
/// already used for the same request, returns the referral it created instead.
pub fn create(
    conn: &mut DbConn,
    new: &NewReferral,
    actor: &Actor,
    idempotency: Option<&Idempotency>,
    routing: &Routing,
    protocols: &crate::protocols::Protocols,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Created, AppError> {
    if let Some(k) = idempotency {
        let seen: Option<(i64, String)> = idempotency_keys::table
            .filter(idempotency_keys::scope.eq(&k.scope))
            .filter(idempotency_keys::key.eq(&k.key))
            .select((idempotency_keys::referral_id, idempotency_keys::request_hash))
            .first(conn)
            .optional()?;
        if let Some((id, hash)) = seen {
            if hash != k.request_hash {
                return Err(AppError::invalid(
                    "Idempotency-Key",
                    "was already used for a different referral",
                ));
            }
            return Ok(Created {
                referral: get(conn, id)?,
                replayed: true,
            });
        }
    }
    let reference = new_reference();
    let id: i64 = diesel::insert_into(referrals::table)
        .values((
            facts(new, routing, new.received_at),
            referrals::reference.eq(&reference),
            referrals::status.eq(Status::New.as_str()),
            referrals::submitter_org_id.eq(new.submitter_org_id),
            referrals::created_by_user_id.eq(actor.user_id),
            referrals::created_by_token_id.eq(actor.token_id),
            referrals::version.eq(1i64),
            referrals::created_at.eq(now),
            referrals::updated_at.eq(now),
        ))
        .returning(referrals::id)
        .get_result(conn)?;
    diesel::insert_into(referral_people::table)
        .values((referral_people::referral_id.eq(id), person_facts(new)))
        .execute(conn)?;
    if let Some(c) = &new.consent {
        insert_consent(conn, id, c)?;
    }
    if let Some(k) = idempotency {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::scope.eq(&k.scope),
                idempotency_keys::key.eq(&k.key),
                idempotency_keys::referral_id.eq(id),
                idempotency_keys::request_hash.eq(&k.request_hash),
                idempotency_keys::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    let mut events = vec![pending(
        id,
        actor,
        "created",
        Some(format!("{} via {}", new.source_kind.as_str(), new.channel.as_str())),
        now,
    )];
    if new.consent.is_some() {
        events.push(pending(id, actor, "consent_recorded", None, now));
    }
    after_routing(
        conn,
        id,
        &reference,
        new,
        routing,
        actor,
        protocols,
        settings,
        now,
        &mut events,
    )?;
    // The row as just written, without reading it back.
    let f = facts(new, routing, new.received_at);
    let row = ReferralRow {
        id,
        reference,
        status: Status::New.as_str().into(),
        channel: f.channel.into(),
        source_kind: f.source_kind.into(),
        referring_org_id: f.referring_org_id,
        received_at: f.received_at,
        urgency: f.urgency.into(),
        person_gender: f.person_gender.into(),
        person_age_band: f.person_age_band.map(Into::into),
        person_minor: f.person_minor,
        hosted_org_id: f.hosted_org_id,
        emergence_province: f.emergence_province.map(Into::into),
        emergence_context: f.emergence_context.map(Into::into),
        exploitation_types: f.exploitation_types,
        indicators: f.indicators,
        indicators_version: Some(f.indicators_version.into()),
        interview_joint: f.interview_joint,
        assigned_operator_id: f.assigned_operator_id,
        proposed_mediator_id: f.proposed_mediator_id,
        acknowledged_at: None,
        escalated_at: None,
        decided_at: None,
        decided_by: None,
        decline_reason: None,
        duplicate_of: None,
        submitter_org_id: new.submitter_org_id,
        created_by_user_id: actor.user_id,
        created_by_token_id: actor.token_id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    Ok(Created {
        referral: row,
        replayed: false,
    })
}

/// What follows a referral becoming `new` (intake, or an imported draft confirmed): the
/// procedure's first steps and the routing in its history, and the notifications.
#[expect(
    clippy::too_many_arguments,
    reason = "a transaction step needs its inputs, context and clock"
)]
fn after_routing(
    conn: &mut DbConn,
    id: i64,
    reference: &str,
    new: &NewReferral,
    routing: &Routing,
    actor: &Actor,
    protocols: &crate::protocols::Protocols,
    settings: &Settings,
    now: NaiveDateTime,
    events: &mut Vec<NewEvent>,
) -> Result<(), AppError> {
    // The procedure's first steps become the history's to-do entries (seed 004).
    let procedure = protocols.procedure(new.source_kind);
    if procedure.contact_hosting_cas {
        let name = routing.hosted_name.clone().unwrap_or_default();
        events.push(pending(id, actor, "task_contact_cas", Some(name), now));
    }
    if procedure.interview_at_sai_desk {
        let joint = match new.interview_joint {
            Some(true) => "joint",
            Some(false) => "not joint",
            None => "joint or not: to decide",
        };
        events.push(pending(id, actor, "task_interview_sai_desk", Some(joint.into()), now));
    }
    let system = Actor {
        user_id: None,
        token_id: None,
        label: "routing".into(),
    };
    let link = notify::referral_link(settings, id);
    match &routing.operator {
        Some(op) => {
            events.push(pending(id, &system, "assigned", Some(format!("user {}", op.id)), now));
            let template = match new.urgency {
                Urgency::Emergency => Template::Emergency,
                Urgency::Ordinary => Template::NewReferral,
            };
            notify_user(conn, op, template, reference, &link, now)?;
        }
        None => {
            // Nobody on duty: the coordinators hear of it at once, whatever the urgency.
            events.push(pending(
                id,
                &system,
                "unassigned",
                Some("no operator on duty".into()),
                now,
            ));
            for c in coordinators_to_alert(conn, now)? {
                notify_user(conn, &c, Template::Escalation, reference, &link, now)?;
            }
        }
    }
    if let Some(m) = &routing.mediator {
        events.push(pending(
            id,
            &system,
            "mediator_proposed",
            Some(format!("user {}", m.id)),
            now,
        ));
    } else if new.languages.iter().any(|l| l != "it") {
        events.push(pending(
            id,
            &system,
            "mediator_missing",
            Some(new.languages.join(",")),
            now,
        ));
    }
    write_events(conn, events)
}

/// Stores a message saved from the unit's mailbox as a draft: it counts nowhere and reaches nobody
/// until an operator has reviewed and confirmed it. When the sender's address is an
/// organisation's, the draft is filled in as coming from it.
pub fn create_draft(
    conn: &mut DbConn,
    msg: &super::import::ImportedMessage,
    file_name: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    use super::import::MessageKind;
    use super::vocab::Gender;
    use crate::db::schema::organisations;
    let sender = msg
        .pec
        .as_ref()
        .and_then(|p| p.sender.clone())
        .or_else(|| msg.from.clone())
        .map(|s| s.trim().to_lowercase());
    let org: Option<orgs::OrgRow> = match &sender {
        Some(address) => organisations::table
            .filter(organisations::email.is_not_null())
            .select(orgs::OrgRow::as_select())
            .load(conn)?
            .into_iter()
            .find(|o| o.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(address))),
        None => None,
    };
    let source = org
        .as_ref()
        .and_then(|o| crate::domain::source_of(o.kind()))
        .unwrap_or(SourceKind::PrivateCitizen);
    let channel = match msg.kind {
        MessageKind::Pec => vocab::Channel::Pec,
        MessageKind::Plain => vocab::Channel::Email,
    };
    let received_at = msg
        .pec
        .as_ref()
        .and_then(|p| p.sent_at)
        .or(msg.date)
        .filter(|d| *d <= now)
        .unwrap_or(now);
    let id: i64 = diesel::insert_into(referrals::table)
        .values((
            referrals::reference.eq(new_reference()),
            referrals::status.eq(Status::Draft.as_str()),
            referrals::channel.eq(channel.as_str()),
            referrals::source_kind.eq(source.as_str()),
            referrals::referring_org_id.eq(org.as_ref().map(|o| o.id)),
            referrals::received_at.eq(received_at),
            referrals::urgency.eq(Urgency::Ordinary.as_str()),
            referrals::person_gender.eq(Gender::Unknown.as_str()),
            referrals::person_minor.eq(false),
            referrals::created_by_user_id.eq(actor.user_id),
            referrals::version.eq(1i64),
            referrals::created_at.eq(now),
            referrals::updated_at.eq(now),
        ))
        .returning(referrals::id)
        .get_result(conn)?;
    let mut notes = String::new();
    if let Some(subject) = &msg.subject {
        notes.push_str(subject.trim());
        notes.push_str("\n\n");
    }
    notes.push_str(msg.text.trim());
    let notes: String = notes.chars().take(20_000).collect();
    diesel::insert_into(referral_people::table)
        .values((
            referral_people::referral_id.eq(id),
            referral_people::referrer_contact.eq(&sender),
            referral_people::notes.eq(Some(notes)),
            referral_people::source_file.eq(Some(file_name.chars().take(200).collect::<String>())),
        ))
        .execute(conn)?;
    event(conn, id, actor, "imported", Some(channel.as_str().into()), now)?;
    get(conn, id)
}

/// Confirms a reviewed draft with the operator's complete input: from now on it is a referral
/// like any other (routed, notified, counted).
#[expect(
    clippy::too_many_arguments,
    reason = "a transaction step needs its inputs, context and clock"
)]
pub fn confirm_draft(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    new: &NewReferral,
    actor: &Actor,
    protocols: &crate::protocols::Protocols,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    let row = get(conn, id)?;
    if row.version != expected_version {
        return Err(AppError::StaleVersion {
            current_version: row.version,
        });
    }
    if row.status() != Status::Draft {
        return Err(AppError::Conflict("only a draft can be confirmed".into()));
    }
    let routing = routing::prepare(conn, new, now)?;
    bump(conn, id, expected_version, now)?;
    diesel::update(referrals::table.find(id))
        .set((
            facts(new, &routing, new.received_at.min(row.received_at)),
            referrals::status.eq(Status::New.as_str()),
        ))
        .execute(conn)?;
    diesel::update(referral_people::table.find(id))
        .set(person_facts(new))
        .execute(conn)?;
    if let Some(c) = &new.consent {
        insert_consent(conn, id, c)?;
    }
    let mut events = vec![pending(id, actor, "confirmed", None, now)];
    if new.consent.is_some() {
        events.push(pending(id, actor, "consent_recorded", None, now));
    }
    after_routing(
        conn,
        id,
        &row.reference,
        new,
        &routing,
        actor,
        protocols,
        settings,
        now,
        &mut events,
    )?;
    get(conn, id)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<ReferralRow, AppError> {
    Ok(referrals::table.find(id).select(ReferralRow::as_select()).first(conn)?)
}

pub fn person(conn: &mut DbConn, id: i64) -> Result<PersonRow, AppError> {
    Ok(referral_people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

pub fn consent(conn: &mut DbConn, id: i64) -> Result<Option<ConsentRow>, AppError> {
    Ok(referral_consents::table
        .find(id)
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn events(conn: &mut DbConn, id: i64) -> Result<Vec<EventRow>, AppError> {
    Ok(referral_events::table
        .filter(referral_events::referral_id.eq(id))
        .select(EventRow::as_select())
        .order(referral_events::id.asc())
        .load(conn)?)
}

pub fn feedback(conn: &mut DbConn, id: i64) -> Result<Vec<FeedbackRow>, AppError> {
    Ok(referral_feedback::table
        .filter(referral_feedback::referral_id.eq(id))
        .select(FeedbackRow::as_select())
        .order(referral_feedback::id.asc())
        .load(conn)?)
}

/// What a list shows and filters by.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub urgency: Option<Urgency>,
    /// Only a referring organisation's own reports.
    pub submitter_org_id: Option<i64>,
    /// Only those proposed to this mediator.
    pub mediator_id: Option<i64>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Referrals, newest first.
pub fn list(conn: &mut DbConn, f: &ListFilter) -> Result<Vec<ReferralRow>, AppError> {
    let mut q = referrals::table.into_boxed::<DbBackend>();
    if let Some(s) = f.status {
        q = q.filter(referrals::status.eq(s.as_str()));
    } else {
        q = q.filter(referrals::status.ne(Status::Draft.as_str()));
    }
    if let Some(u) = f.urgency {
        q = q.filter(referrals::urgency.eq(u.as_str()));
    }
    if let Some(o) = f.submitter_org_id {
        q = q.filter(referrals::submitter_org_id.eq(o));
    }
    if let Some(m) = f.mediator_id {
        q = q.filter(referrals::proposed_mediator_id.eq(m));
    }
    if let Some(b) = f.before {
        q = q.filter(referrals::id.lt(b));
    }
    Ok(q.select(ReferralRow::as_select())
        .order(referrals::id.desc())
        .limit(f.limit.clamp(1, 500))
        .load(conn)?)
}

/// Referrals still waiting on the unit (new), oldest first: the queue.
pub fn open_queue(conn: &mut DbConn) -> Result<Vec<ReferralRow>, AppError> {
    Ok(referrals::table
        .filter(referrals::status.eq(Status::New.as_str()))
        .select(ReferralRow::as_select())
        .order((referrals::received_at.asc(), referrals::id.asc()))
        .limit(500)
        .load(conn)?)
}

/// Loads a referral for a change: it must be at `expected_version` and not restricted.
fn for_change(conn: &mut DbConn, id: i64, expected_version: i64) -> Result<ReferralRow, AppError> {
    let row = get(conn, id)?;
    if row.version != expected_version {
        return Err(AppError::StaleVersion {
            current_version: row.version,
        });
    }
    if row.status() == Status::Restricted {
        return Err(AppError::Conflict(
            "consent was withdrawn: the referral is restricted and cannot be processed".into(),
        ));
    }
    Ok(row)
}

fn bump(conn: &mut DbConn, id: i64, expected_version: i64, now: NaiveDateTime) -> Result<(), AppError> {
    let n = diesel::update(
        referrals::table
            .filter(referrals::id.eq(id))
            .filter(referrals::version.eq(expected_version)),
    )
    .set((
        referrals::version.eq(expected_version + 1),
        referrals::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::StaleVersion {
            current_version: get(conn, id)?.version,
        });
    }
    Ok(())
}

/// The operator on duty confirms they have seen an emergency (stops the escalation clock).
pub fn acknowledge(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    let row = for_change(conn, id, expected_version)?;
    if row.acknowledged_at.is_some() {
        return Err(AppError::Conflict("already acknowledged".into()));
    }
    bump(conn, id, expected_version, now)?;
    diesel::update(referrals::table.find(id))
        .set(referrals::acknowledged_at.eq(now))
        .execute(conn)?;
    event(conn, id, actor, "acknowledged", None, now)?;
    get(conn, id)
}

/// Where a referrer hears of decisions and feedback: the submitting person, else their
/// organisation's address.
fn referrer_address(conn: &mut DbConn, row: &ReferralRow) -> Result<Option<String>, AppError> {
    if let Some(uid) = row.created_by_user_id {
        let u = users::get(conn, uid)?;
        if u.role().needs_org() {
            if let Some(e) = u.email {
                return Ok(Some(e));
            }
        }
    }
    match row.submitter_org_id {
        Some(org) => Ok(orgs::get(conn, org)?.email),
        None => Ok(None),
    }
}

/// The unit takes the referral in charge (*presa in carico*).
pub fn take_charge(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    let row = for_change(conn, id, expected_version)?;
    if row.status() != Status::New {
        return Err(AppError::Conflict("only a new referral can be taken in charge".into()));
    }
    bump(conn, id, expected_version, now)?;
    diesel::update(referrals::table.find(id))
        .set((
            referrals::status.eq(Status::InCharge.as_str()),
            referrals::decided_at.eq(now),
            referrals::decided_by.eq(actor.user_id),
            referrals::acknowledged_at.eq(row.acknowledged_at.unwrap_or(now)),
        ))
        .execute(conn)?;
    event(conn, id, actor, "taken_in_charge", None, now)?;
    let row = get(conn, id)?;
    if let Some(to) = referrer_address(conn, &row)? {
        notify_address(
            conn,
            to,
            Template::Decision,
            &row.reference,
            &notify::portal_link(settings, id),
            now,
        )?;
    }
    Ok(row)
}

/// The unit declines with a reason from the closed list; the note stays within the unit.
#[expect(
    clippy::too_many_arguments,
    reason = "a transaction step needs its inputs, context and clock"
)]
pub fn decline(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    reason: DeclineReason,
    note: Option<String>,
    duplicate_of: Option<i64>,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    let row = for_change(conn, id, expected_version)?;
    if row.status() != Status::New {
        return Err(AppError::Conflict("only a new referral can be declined".into()));
    }
    let duplicate_of = match (reason, duplicate_of) {
        (DeclineReason::Duplicate, None) => {
            return Err(AppError::invalid(
                "duplicate_of",
                "name the referral this one duplicates",
            ))
        }
        (DeclineReason::Duplicate, Some(d)) if d == id => {
            return Err(AppError::invalid("duplicate_of", "a referral cannot duplicate itself"))
        }
        (DeclineReason::Duplicate, Some(d)) => {
            get(conn, d).map_err(|_| AppError::invalid("duplicate_of", "no such referral"))?;
            Some(d)
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "duplicate_of",
                "applies only to the duplicate reason",
            ))
        }
        (_, None) => None,
    };
    bump(conn, id, expected_version, now)?;
    diesel::update(referrals::table.find(id))
        .set((
            referrals::status.eq(Status::Declined.as_str()),
            referrals::decided_at.eq(now),
            referrals::decided_by.eq(actor.user_id),
            referrals::decline_reason.eq(reason.as_str()),
            referrals::duplicate_of.eq(duplicate_of),
        ))
        .execute(conn)?;
    diesel::update(referral_people::table.find(id))
        .set(referral_people::decision_note.eq(note))
        .execute(conn)?;
    event(conn, id, actor, "declined", Some(reason.as_str().into()), now)?;
    let row = get(conn, id)?;
    if let Some(to) = referrer_address(conn, &row)? {
        notify_address(
            conn,
            to,
            Template::Decision,
            &row.reference,
            &notify::portal_link(settings, id),
            now,
        )?;
    }
    Ok(row)
}

/// Written feedback (*restituzione scritta*) addressed to the referrer or commission.
pub fn add_feedback(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    body: &str,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    let row = for_change(conn, id, expected_version)?;
    if row.status() == Status::Draft {
        return Err(AppError::Conflict("confirm the draft first".into()));
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 8000 {
        return Err(AppError::invalid("body", "must be between 1 and 8000 characters long"));
    }
    bump(conn, id, expected_version, now)?;
    diesel::insert_into(referral_feedback::table)
        .values((
            referral_feedback::referral_id.eq(id),
            referral_feedback::at.eq(now),
            referral_feedback::author_user_id.eq(actor.user_id),
            referral_feedback::body.eq(body),
        ))
        .execute(conn)?;
    event(conn, id, actor, "feedback_sent", None, now)?;
    let row = get(conn, id)?;
    if let Some(to) = referrer_address(conn, &row)? {
        notify_address(
            conn,
            to,
            Template::Feedback,
            &row.reference,
            &notify::portal_link(settings, id),
            now,
        )?;
    }
    Ok(row)
}

/// The person withdrew consent: the referral is restricted at once, its personal fields erased;
/// the history, the audit trail and the non-identifying facts stay; the commission is told.
pub fn withdraw_consent(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    let row = for_change(conn, id, expected_version)?;
    let Some(consent) = consent(conn, id)? else {
        return Err(AppError::Conflict("this referral has no consent record".into()));
    };
    bump(conn, id, expected_version, now)?;
    diesel::update(referrals::table.find(id))
        .set(referrals::status.eq(Status::Restricted.as_str()))
        .execute(conn)?;
    diesel::update(referral_people::table.find(id))
        .set((
            referral_people::alias.eq(None::<String>),
            referral_people::age.eq(None::<i32>),
            referral_people::nationality.eq(None::<String>),
            referral_people::languages.eq(""),
            referral_people::referrer_contact.eq(None::<String>),
            referral_people::notes.eq(None::<String>),
            referral_people::decision_note.eq(None::<String>),
            referral_people::source_file.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(referral_consents::table.find(id))
        .set((
            referral_consents::collected_by.eq(None::<String>),
            referral_consents::contact_detail.eq(None::<String>),
            referral_consents::withdrawn_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(referral_feedback::table.filter(referral_feedback::referral_id.eq(id)))
        .set(referral_feedback::body.eq("[erased: consent withdrawn]"))
        .execute(conn)?;
    event(
        conn,
        id,
        actor,
        "consent_withdrawn",
        Some(format!("was {}", row.status)),
        now,
    )?;
    let row = get(conn, id)?;
    if let Some(to) = orgs::get(conn, consent.commission_org_id)?.email {
        notify_address(
            conn,
            to,
            Template::ConsentWithdrawn,
            &row.reference,
            &notify::portal_link(settings, id),
            now,
        )?;
    }
    Ok(row)
}

/// Alerts coordinators about emergencies not acknowledged in time and referrals not taken in
/// charge in time; each referral is escalated once. Returns how many were escalated.
pub fn escalate_due(conn: &mut DbConn, settings: &Settings, now: NaiveDateTime) -> Result<usize, AppError> {
    let emergency_cutoff = now - Duration::minutes(settings.emergency_ack_minutes);
    let ordinary_cutoff = now - Duration::hours(settings.take_charge_hours);
    let due: Vec<ReferralRow> = referrals::table
        .filter(referrals::status.eq(Status::New.as_str()))
        .filter(referrals::escalated_at.is_null())
        .filter(
            referrals::urgency
                .eq(Urgency::Emergency.as_str())
                .and(referrals::acknowledged_at.is_null())
                .and(referrals::received_at.le(emergency_cutoff))
                .or(referrals::received_at.le(ordinary_cutoff)),
        )
        .select(ReferralRow::as_select())
        .limit(200)
        .load(conn)?;
    if due.is_empty() {
        return Ok(0);
    }
    let coordinators = coordinators_to_alert(conn, now)?;
    let system = Actor {
        user_id: None,
        token_id: None,
        label: "escalation".into(),
    };
    for row in &due {
        diesel::update(referrals::table.find(row.id))
            .set(referrals::escalated_at.eq(now))
            .execute(conn)?;
        let (kind, template) = match (row.urgency(), row.acknowledged_at) {
            (Urgency::Emergency, None) => ("escalated", Template::Escalation),
            _ => ("overdue", Template::Overdue),
        };
        event(
            conn,
            row.id,
            &system,
            kind,
            Some(format!("{} coordinator(s) alerted", coordinators.len())),
            now,
        )?;
        let link = notify::referral_link(settings, row.id);
        for c in &coordinators {
            notify_user(conn, c, template, &row.reference, &link, now)?;
        }
    }
    Ok(due.len())
}
