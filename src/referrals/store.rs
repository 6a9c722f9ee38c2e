//! Referral storage: intake with routing, decisions, feedback, consent withdrawal, escalation.
//! Every function runs inside the caller's write transaction, so a referral, its routing, its
//! history and its notifications land together or not at all.
//!
//! A referral is three rows: its facts and state (`referrals`), who it went to
//! (`referral_routing`) and, once decided, the decision (`referral_decisions`); the multi-valued
//! facts (types of exploitation, indicators, languages) are rows of their own tables. Its
//! personal fields (alias, age, nationality, contacts, notes, the decision note, the consent's
//! details, the feedback texts) are sealed under the referral's own data key (`crypto`), so that
//! destroying that key erases them.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;

use super::lifecycle::{self, Action};
use super::model::{Consent, NewReferral};
use super::routing::{self, Routing};
use super::vocab::{
    AgeBand, Channel, ConsentScope, ContactRoute, DeclineReason, EmergenceContext, EventKind, ExploitationType, Gender,
    LabourSector, MediatorAnswer, RecruiterRelation, Status, Urgency,
};
use crate::accounts::orgs;
use crate::accounts::users::{self, UserRow};
use crate::config::Settings;
use crate::crypto::{self, DataKey, Keyring, Sealed, WrappedKey};
use crate::db::schema::{
    idempotency_keys, organisations, pending_seal, referral_consents, referral_decisions, referral_events,
    referral_exploitation, referral_feedback, referral_indicators, referral_labour_sectors, referral_languages,
    referral_people, referral_recruiter_relations, referral_routing, referrals,
};
use crate::db::{DbBackend, DbConn};
use crate::domain::{DataKeyId, Lang, OrgId, Province, ReferralId, SourceKind, TokenId, UserId, Version};
use crate::error::AppError;
use crate::notify::{self, NewMessage, Template};
use crate::roster::store as roster;

/// A referral's facts and state.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: ReferralId,
    pub reference: String,
    pub status: Status,
    pub channel: Channel,
    pub source_kind: SourceKind,
    pub referring_org_id: Option<OrgId>,
    pub received_at: NaiveDateTime,
    pub urgency: Urgency,
    pub person_gender: Gender,
    pub person_age_band: Option<AgeBand>,
    pub person_minor: bool,
    pub hosted_org_id: Option<OrgId>,
    pub emergence_province: Option<Province>,
    pub emergence_context: Option<EmergenceContext>,
    pub indicators_version: Option<String>,
    pub interview_joint: Option<bool>,
    pub submitter_org_id: Option<OrgId>,
    pub created_by_user_id: Option<UserId>,
    pub created_by_token_id: Option<TokenId>,
    pub data_key_id: Option<DataKeyId>,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub exploitation_province: Option<Province>,
}

/// Who a referral went to, and when it was acknowledged or escalated.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referral_routing)]
pub struct RoutingRow {
    pub referral_id: ReferralId,
    pub assigned_operator_id: Option<UserId>,
    pub proposed_mediator_id: Option<UserId>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    /// The proposed mediator's answer (none yet: the proposal waits).
    pub mediator_answer: Option<MediatorAnswer>,
    pub mediator_answered_at: Option<NaiveDateTime>,
}

/// The unit's decision (its note, sealed, is read with the case file only).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referral_decisions)]
pub struct DecisionRow {
    pub referral_id: ReferralId,
    pub decided_at: NaiveDateTime,
    pub decided_by: Option<UserId>,
    pub decline_reason: Option<DeclineReason>,
    pub duplicate_of: Option<ReferralId>,
}

/// A referral: its row, its routing, its decision.
#[derive(Clone, Debug)]
pub struct Referral {
    pub row: ReferralRow,
    pub routing: RoutingRow,
    pub decision: Option<DecisionRow>,
}

impl Referral {
    pub fn id(&self) -> ReferralId {
        self.row.id
    }

    pub fn status(&self) -> Status {
        self.row.status
    }

    pub fn version(&self) -> Version {
        self.row.version
    }

    /// When the unit must act next: acknowledge an unacknowledged emergency, otherwise take the
    /// referral in charge.
    pub fn deadline(&self, settings: &Settings) -> NaiveDateTime {
        match (self.row.urgency, self.routing.acknowledged_at) {
            (Urgency::Emergency, None) => self.row.received_at + Duration::minutes(settings.emergency_ack_minutes),
            _ => self.row.received_at + Duration::hours(settings.take_charge_hours),
        }
    }

    /// Still waiting on the unit past its deadline.
    pub fn is_overdue(&self, now: NaiveDateTime, settings: &Settings) -> bool {
        self.row.status == Status::New && now >= self.deadline(settings)
    }

    /// The decline reason, when declined.
    pub fn decline_reason(&self) -> Option<DeclineReason> {
        self.decision.as_ref().and_then(|d| d.decline_reason)
    }

    pub fn decided_at(&self) -> Option<NaiveDateTime> {
        self.decision.as_ref().map(|d| d.decided_at)
    }
}

/// The multi-valued facts of a referral.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub exploitation: Vec<ExploitationType>,
    pub labour_sectors: Vec<LabourSector>,
    pub recruiter_relations: Vec<RecruiterRelation>,
    pub indicators: Vec<String>,
    pub languages: Vec<String>,
}

/// The personal fields of a referral, opened.
#[derive(Clone, Debug, Default)]
pub struct Person {
    pub alias: Option<String>,
    pub age: Option<i32>,
    pub nationality: Option<String>,
    pub referrer_contact: Option<String>,
    pub notes: Option<String>,
    pub source_file: Option<String>,
}

/// The consent a commission collected, opened.
#[derive(Clone, Debug)]
pub struct ConsentRecord {
    pub audition_date: NaiveDate,
    pub commission_org_id: OrgId,
    pub section: Option<String>,
    pub collected_by: Option<String>,
    pub scope: ConsentScope,
    pub contact_route: ContactRoute,
    pub contact_detail: Option<String>,
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// A history entry.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referral_events)]
pub struct EventRow {
    pub id: i64,
    pub referral_id: ReferralId,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<UserId>,
    pub actor_label: Option<String>,
    pub kind: EventKind,
    /// The person the entry is about (the operator assigned, the mediator proposed).
    pub subject_user_id: Option<UserId>,
    /// A code or a count, never a personal value.
    pub detail: Option<String>,
}

/// Written feedback, opened; `body` is `None` once erased.
#[derive(Clone, Debug)]
pub struct Feedback {
    pub at: NaiveDateTime,
    pub author_user_id: Option<UserId>,
    pub body: Option<String>,
}

/// What only the unit reads of a referral: its personal fields, opened with its data key.
#[derive(Clone, Debug, Default)]
pub struct Sensitive {
    pub person: Person,
    pub decision_note: Option<String>,
    pub consent: Option<ConsentRecord>,
    pub feedback: Vec<Feedback>,
    /// The data key was destroyed (consent withdrawn): the personal fields are gone.
    pub erased: bool,
}

/// Who acts on a referral (for its history; the audit log has the rest).
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub token_id: Option<TokenId>,
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
    pub referral: Referral,
    /// True when the same idempotency key had already created it: nothing new was stored.
    pub replayed: bool,
}

/// The field names sealed values are bound to (a value moved to another field fails to open).
mod field {
    pub const ALIAS: &str = "person.alias";
    pub const AGE: &str = "person.age";
    pub const NATIONALITY: &str = "person.nationality";
    pub const REFERRER_CONTACT: &str = "person.referrer_contact";
    pub const NOTES: &str = "person.notes";
    pub const SOURCE_FILE: &str = "person.source_file";
    pub const DECISION_NOTE: &str = "decision.note";
    pub const COLLECTED_BY: &str = "consent.collected_by";
    pub const CONTACT_DETAIL: &str = "consent.contact_detail";
    pub const FEEDBACK: &str = "feedback.body";
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

// ----- history -----

/// A history entry, collected while a change is worked out and written at its end.
#[derive(Insertable)]
#[diesel(table_name = referral_events, treat_none_as_default_value = false)]
struct NewEvent {
    referral_id: ReferralId,
    at: NaiveDateTime,
    actor_user_id: Option<UserId>,
    actor_label: String,
    kind: EventKind,
    subject_user_id: Option<UserId>,
    detail: Option<String>,
}

fn pending(referral_id: ReferralId, actor: &Actor, kind: EventKind, now: NaiveDateTime) -> NewEvent {
    NewEvent {
        referral_id,
        at: now,
        actor_user_id: actor.user_id,
        actor_label: actor.label.clone(),
        kind,
        subject_user_id: None,
        detail: None,
    }
}

impl NewEvent {
    fn about(mut self, user: UserId) -> NewEvent {
        self.subject_user_id = Some(user);
        self
    }

    /// A code or a count: never a personal value.
    fn detail(mut self, detail: impl Into<String>) -> NewEvent {
        self.detail = Some(detail.into());
        self
    }
}

fn write_events(conn: &mut DbConn, events: &[NewEvent]) -> Result<(), AppError> {
    crate::insert_rows!(conn, referral_events::table, events)?;
    Ok(())
}

fn system(label: &str) -> Actor {
    Actor {
        user_id: None,
        token_id: None,
        label: label.into(),
    }
}

// ----- notifications -----

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
            kind: template,
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
    users::enabled_coordinators(conn)
}

/// Where a referrer hears of decisions and feedback: the submitting person, else their
/// organisation's address.
fn referrer_address(conn: &mut DbConn, row: &ReferralRow) -> Result<Option<String>, AppError> {
    if let Some(uid) = row.created_by_user_id {
        let u = users::get(conn, uid)?;
        if u.role.needs_org() {
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

fn tell_referrer(
    conn: &mut DbConn,
    row: &ReferralRow,
    template: Template,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if let Some(to) = referrer_address(conn, row)? {
        notify_address(
            conn,
            to,
            template,
            &row.reference,
            &notify::portal_link(settings, row.id.get()),
            now,
        )?;
    }
    Ok(())
}

// ----- writing the facts -----

/// The facts of a referral as the unit records them: the same columns whether it is filed or
/// confirmed from an imported draft.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = referrals, treat_none_as_null = true, treat_none_as_default_value = false)]
struct FactColumns<'a> {
    channel: Channel,
    source_kind: SourceKind,
    referring_org_id: Option<OrgId>,
    received_at: NaiveDateTime,
    urgency: Urgency,
    person_gender: Gender,
    person_age_band: Option<AgeBand>,
    person_minor: bool,
    hosted_org_id: Option<OrgId>,
    emergence_province: Option<Province>,
    emergence_context: Option<EmergenceContext>,
    indicators_version: &'a str,
    person_citizenship: Option<&'static str>,
    exploitation_province: Option<Province>,
    person_age_broad: Option<crate::domain::AgeBroad>,
    interview_joint: Option<bool>,
}

fn fact_columns(new: &NewReferral, received_at: NaiveDateTime) -> FactColumns<'_> {
    FactColumns {
        channel: new.channel,
        source_kind: new.source_kind,
        referring_org_id: new.referring_org_id,
        received_at,
        urgency: new.urgency,
        person_gender: new.gender,
        person_age_band: new.age_band,
        person_minor: new.minor,
        hosted_org_id: new.hosted_org_id,
        emergence_province: new.emergence_province,
        emergence_context: new.emergence_context,
        indicators_version: &new.indicators_version,
        interview_joint: new.interview_joint,
        person_citizenship: new.citizenship.map(|c| c.code),
        exploitation_province: new.exploitation_province,
        person_age_broad: new.age.map(crate::domain::AgeBroad::of),
    }
}

#[derive(Insertable)]
#[diesel(table_name = referral_exploitation, treat_none_as_default_value = false)]
struct ExploitationRow<'a> {
    referral_id: ReferralId,
    exploitation: &'a ExploitationType,
}

#[derive(Insertable)]
#[diesel(table_name = referral_labour_sectors, treat_none_as_default_value = false)]
struct SectorRow<'a> {
    referral_id: ReferralId,
    sector: &'a LabourSector,
}

#[derive(Insertable)]
#[diesel(table_name = referral_recruiter_relations, treat_none_as_default_value = false)]
struct RecruiterRow<'a> {
    referral_id: ReferralId,
    relation: &'a RecruiterRelation,
}

#[derive(Insertable)]
#[diesel(table_name = referral_indicators, treat_none_as_default_value = false)]
struct IndicatorRow<'a> {
    referral_id: ReferralId,
    indicator: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = referral_languages, treat_none_as_default_value = false)]
struct LanguageRow<'a> {
    referral_id: ReferralId,
    language: &'a str,
}

/// The multi-valued facts as rows (replacing any earlier ones).
fn write_fact_rows(conn: &mut DbConn, id: ReferralId, new: &NewReferral, replace: bool) -> Result<(), AppError> {
    if replace {
        diesel::delete(referral_exploitation::table.filter(referral_exploitation::referral_id.eq(id))).execute(conn)?;
        diesel::delete(referral_labour_sectors::table.filter(referral_labour_sectors::referral_id.eq(id)))
            .execute(conn)?;
        diesel::delete(referral_recruiter_relations::table.filter(referral_recruiter_relations::referral_id.eq(id)))
            .execute(conn)?;
        diesel::delete(referral_indicators::table.filter(referral_indicators::referral_id.eq(id))).execute(conn)?;
        diesel::delete(referral_languages::table.filter(referral_languages::referral_id.eq(id))).execute(conn)?;
    }
    let exploitation: Vec<ExploitationRow<'_>> = new
        .exploitation_types
        .iter()
        .map(|v| ExploitationRow {
            referral_id: id,
            exploitation: v,
        })
        .collect();
    crate::insert_rows!(conn, referral_exploitation::table, &exploitation)?;
    let sectors: Vec<SectorRow<'_>> = new
        .labour_sectors
        .iter()
        .map(|v| SectorRow {
            referral_id: id,
            sector: v,
        })
        .collect();
    crate::insert_rows!(conn, referral_labour_sectors::table, &sectors)?;
    let recruiters: Vec<RecruiterRow<'_>> = new
        .recruiter_relations
        .iter()
        .map(|v| RecruiterRow {
            referral_id: id,
            relation: v,
        })
        .collect();
    crate::insert_rows!(conn, referral_recruiter_relations::table, &recruiters)?;
    let indicators: Vec<IndicatorRow<'_>> = new
        .indicators
        .iter()
        .map(|v| IndicatorRow {
            referral_id: id,
            indicator: v,
        })
        .collect();
    crate::insert_rows!(conn, referral_indicators::table, &indicators)?;
    let languages: Vec<LanguageRow<'_>> = new
        .languages
        .iter()
        .map(|v| LanguageRow {
            referral_id: id,
            language: v,
        })
        .collect();
    crate::insert_rows!(conn, referral_languages::table, &languages)?;
    Ok(())
}

/// The personal fields of a referral, sealed.
#[derive(Insertable, AsChangeset, Queryable, Selectable, Default, Clone)]
#[diesel(table_name = referral_people, treat_none_as_null = true, treat_none_as_default_value = false)]
struct PersonSealed {
    alias: Option<Sealed>,
    age: Option<Sealed>,
    nationality: Option<Sealed>,
    referrer_contact: Option<Sealed>,
    notes: Option<Sealed>,
    source_file: Option<Sealed>,
}

fn seal(key: &DataKey, field: &str, value: Option<&str>) -> Option<Sealed> {
    value.map(|v| key.seal_str(field, v))
}

fn open(key: &DataKey, field: &str, value: Option<&Sealed>) -> Result<Option<String>, AppError> {
    Ok(match value {
        Some(s) => Some(key.open_str(field, s)?),
        None => None,
    })
}

fn seal_person(key: &DataKey, p: &Person) -> PersonSealed {
    PersonSealed {
        alias: seal(key, field::ALIAS, p.alias.as_deref()),
        age: p.age.map(|a| key.seal_str(field::AGE, &a.to_string())),
        nationality: seal(key, field::NATIONALITY, p.nationality.as_deref()),
        referrer_contact: seal(key, field::REFERRER_CONTACT, p.referrer_contact.as_deref()),
        notes: seal(key, field::NOTES, p.notes.as_deref()),
        source_file: seal(key, field::SOURCE_FILE, p.source_file.as_deref()),
    }
}

fn person_of(new: &NewReferral) -> Person {
    Person {
        alias: new.alias.clone(),
        age: new.age,
        nationality: new.nationality.clone(),
        referrer_contact: new.referrer_contact.clone(),
        notes: new.notes.clone(),
        source_file: None,
    }
}

/// A consent's personal details, sealed.
#[derive(Clone)]
struct NewConsentSealed {
    collected_by: Option<Sealed>,
    contact_detail: Option<Sealed>,
}

fn seal_consent(key: &DataKey, c: &Consent) -> NewConsentSealed {
    NewConsentSealed {
        collected_by: seal(key, field::COLLECTED_BY, c.collected_by.as_deref()),
        contact_detail: seal(key, field::CONTACT_DETAIL, c.contact_detail.as_deref()),
    }
}

fn insert_consent(conn: &mut DbConn, id: ReferralId, c: &Consent, sealed: NewConsentSealed) -> Result<(), AppError> {
    diesel::insert_into(referral_consents::table)
        .values((
            referral_consents::referral_id.eq(id),
            referral_consents::audition_date.eq(c.audition_date),
            referral_consents::commission_org_id.eq(c.commission_org_id),
            referral_consents::section.eq(&c.section),
            referral_consents::collected_by.eq(sealed.collected_by),
            referral_consents::scope.eq(ConsentScope::SocialProtectionInformation),
            referral_consents::contact_route.eq(c.contact_route),
            referral_consents::contact_detail.eq(sealed.contact_detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// A new referral's data key and personal fields, sealed before its write: sealing is work for
/// the request's thread, not for SQLite's single writer.
#[derive(Clone)]
pub struct SealedIntake {
    key: WrappedKey,
    person: PersonSealed,
    consent: Option<NewConsentSealed>,
    /// The person's blind indexes, to find their other referrals (`crypto::match_index`).
    blind: crypto::match_index::Tokens,
}

/// Makes a new referral's data key and seals its personal fields with it; takes the blind
/// indexes of its person with the deployment's `indexer`.
pub fn seal_intake(keys: &Keyring, indexer: &crypto::BlindIndexer, new: &NewReferral) -> SealedIntake {
    let (key, wrapped) = keys.new_data_key();
    SealedIntake {
        key: wrapped,
        person: seal_person(&key, &person_of(new)),
        consent: new.consent.as_ref().map(|c| seal_consent(&key, c)),
        blind: crypto::match_index::tokens(indexer, &match_terms(new, new.received_at)),
    }
}

/// What a new referral's blind indexes are taken of.
fn match_terms(new: &NewReferral, received_at: NaiveDateTime) -> crate::domain::names::MatchTerms {
    crate::domain::names::MatchTerms::of(new.alias.as_deref(), new.age, new.nationality.as_deref(), received_at)
}

/// The data key of a referral; `None` once destroyed (or for a referral that never had one).
fn data_key(conn: &mut DbConn, keys: &Keyring, row: &ReferralRow) -> Result<Option<DataKey>, AppError> {
    match row.data_key_id {
        Some(id) => crypto::store::open(conn, keys, id),
        None => Ok(None),
    }
}

/// The data key of a referral that must have one (to seal a new value).
fn live_key(conn: &mut DbConn, keys: &Keyring, row: &ReferralRow) -> Result<DataKey, AppError> {
    data_key(conn, keys, row)?.ok_or_else(|| AppError::IllegalTransition {
        state: row.status.as_str(),
        action: "seal",
    })
}

// ----- intake -----

#[expect(
    clippy::too_many_arguments,
    reason = "a transaction step needs its inputs, context and clock"
)]
/// Stores a new referral, assigns it to the operator on duty, proposes a mediator for the
/// person's language, records the procedure's first steps and notifies. With an idempotency key
/// already used for the same request, returns the referral it created instead.
pub fn create(
    conn: &mut DbConn,
    sealed: SealedIntake,
    new: &NewReferral,
    actor: &Actor,
    idempotency: Option<&Idempotency>,
    routing: &Routing,
    protocols: &crate::protocols::Protocols,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Created, AppError> {
    if let Some(k) = idempotency {
        let seen: Option<(ReferralId, String)> = crate::on_backend!(conn, |c| idempotency_keys::table
            .filter(idempotency_keys::scope.eq(&k.scope))
            .filter(idempotency_keys::key.eq(&k.key))
            .select((idempotency_keys::referral_id, idempotency_keys::request_hash))
            .first(c)
            .optional())?;
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
    let key_id = crypto::store::insert_wrapped(conn, &sealed.key, now)?;
    let reference = new_reference();
    let values = (
        fact_columns(new, new.received_at),
        referrals::reference.eq(&reference),
        referrals::status.eq(Status::New),
        referrals::submitter_org_id.eq(new.submitter_org_id),
        referrals::created_by_user_id.eq(actor.user_id),
        referrals::created_by_token_id.eq(actor.token_id),
        referrals::data_key_id.eq(Some(key_id)),
        referrals::version.eq(Version::FIRST),
        referrals::created_at.eq(now),
        referrals::updated_at.eq(now),
    );
    let row: ReferralRow = crate::on_backend!(conn, |c| diesel::insert_into(referrals::table)
        .values(&values)
        .returning(crate::db::columns::<ReferralRow>())
        .get_result::<ReferralRow>(c))?;
    let id = row.id;
    let routing_row = RoutingRow {
        referral_id: id,
        assigned_operator_id: routing.operator.as_ref().map(|u| u.id),
        proposed_mediator_id: routing.mediator.as_ref().map(|u| u.id),
        acknowledged_at: None,
        escalated_at: None,
        mediator_answer: None,
        mediator_answered_at: None,
    };
    let routing_values = (
        referral_routing::referral_id.eq(id),
        referral_routing::assigned_operator_id.eq(routing_row.assigned_operator_id),
        referral_routing::proposed_mediator_id.eq(routing_row.proposed_mediator_id),
    );
    crate::on_backend!(conn, |c| diesel::insert_into(referral_routing::table)
        .values(&routing_values)
        .execute(c))?;
    let person = (referral_people::referral_id.eq(id), sealed.person);
    crate::on_backend!(conn, |c| diesel::insert_into(referral_people::table)
        .values(&person)
        .execute(c))?;
    if let (Some(c), Some(consent)) = (&new.consent, sealed.consent) {
        insert_consent(conn, id, c, consent)?;
    }
    write_fact_rows(conn, id, new, false)?;
    crypto::match_index::write(conn, id, &sealed.blind)?;
    if let Some(k) = idempotency {
        let values = (
            idempotency_keys::scope.eq(&k.scope),
            idempotency_keys::key.eq(&k.key),
            idempotency_keys::referral_id.eq(id),
            idempotency_keys::request_hash.eq(&k.request_hash),
            idempotency_keys::created_at.eq(now),
        );
        crate::on_backend!(conn, |c| diesel::insert_into(idempotency_keys::table)
            .values(&values)
            .execute(c))?;
    }
    let mut how = format!("{} via {}", new.source_kind.as_str(), new.channel.as_str());
    if !new.urgency_raised_by.is_empty() {
        // Codes of the rule and of the observations, not the person's data.
        how.push_str(&format!("; emergency because of: {}", new.urgency_raised_by.join(", ")));
    }
    let mut events = vec![pending(id, actor, EventKind::Created, now).detail(how)];
    if new.consent.is_some() {
        events.push(pending(id, actor, EventKind::ConsentRecorded, now));
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
    Ok(Created {
        referral: Referral {
            row,
            routing: routing_row,
            decision: None,
        },
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
    id: ReferralId,
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
        let mut e = pending(id, actor, EventKind::TaskContactCas, now);
        if let Some(name) = &routing.hosted_name {
            // An organisation's name, not a person's.
            e = e.detail(name.clone());
        }
        events.push(e);
    }
    if procedure.interview_at_sai_desk {
        let joint = match new.interview_joint {
            Some(true) => "joint",
            Some(false) => "not joint",
            None => "joint or not: to decide",
        };
        events.push(pending(id, actor, EventKind::TaskInterviewSaiDesk, now).detail(joint));
    }
    let system = system("routing");
    let link = notify::referral_link(settings, id.get());
    match &routing.operator {
        Some(op) => {
            events.push(pending(id, &system, EventKind::Assigned, now).about(op.id));
            let template = match new.urgency {
                Urgency::Emergency => Template::Emergency,
                Urgency::Ordinary => Template::NewReferral,
            };
            notify_user(conn, op, template, reference, &link, now)?;
        }
        None => {
            // Nobody on duty: the coordinators hear of it at once, whatever the urgency.
            events.push(pending(id, &system, EventKind::Unassigned, now));
            for c in coordinators_to_alert(conn, now)? {
                notify_user(conn, &c, Template::Escalation, reference, &link, now)?;
            }
        }
    }
    if let Some(m) = &routing.mediator {
        events.push(pending(id, &system, EventKind::MediatorProposed, now).about(m.id));
    } else if new.languages.iter().any(|l| l != "it") {
        // The languages themselves stay out of the history: they describe the person.
        events.push(pending(id, &system, EventKind::MediatorMissing, now));
    }
    write_events(conn, events)
}

/// Stores a message saved from the unit's mailbox as a draft: it counts nowhere and reaches nobody
/// until an operator has reviewed and confirmed it. When the PEC certificate names as sender an
/// organisation's address, the draft is filled in as coming from it; an ordinary email's `From:`
/// can be written by anyone, so it attributes nothing: the operator decides on review (the page
/// says the sender is not verified).
pub fn create_draft(
    conn: &mut DbConn,
    keys: &Keyring,
    msg: &super::import::ImportedMessage,
    file_name: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    use super::import::MessageKind;
    let certified = msg
        .pec
        .as_ref()
        .filter(|p| p.kind.as_deref() == Some("posta-certificata"))
        .and_then(|p| p.sender.clone())
        .map(|s| s.trim().to_lowercase());
    let sender = certified
        .clone()
        .or_else(|| msg.from.clone().map(|s| s.trim().to_lowercase()));
    let org: Option<orgs::OrgRow> = match &certified {
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
        .and_then(|o| crate::domain::source_of(o.kind))
        .unwrap_or(SourceKind::PrivateCitizen);
    let channel = match msg.kind {
        MessageKind::Pec => Channel::Pec,
        MessageKind::Plain => Channel::Email,
    };
    let received_at = msg
        .pec
        .as_ref()
        .and_then(|p| p.sent_at)
        .or(msg.date)
        .filter(|d| *d <= now && crate::domain::time::date_in_range(d.date()))
        .unwrap_or(now);
    let (key_id, key) = crypto::store::create(conn, keys, now)?;
    let row: ReferralRow = diesel::insert_into(referrals::table)
        .values((
            referrals::reference.eq(new_reference()),
            referrals::status.eq(Status::Draft),
            referrals::channel.eq(channel),
            referrals::source_kind.eq(source),
            referrals::referring_org_id.eq(org.as_ref().map(|o| o.id)),
            referrals::received_at.eq(received_at),
            referrals::urgency.eq(Urgency::Ordinary),
            referrals::person_gender.eq(Gender::Unknown),
            referrals::person_minor.eq(false),
            referrals::created_by_user_id.eq(actor.user_id),
            referrals::data_key_id.eq(Some(key_id)),
            referrals::version.eq(Version::FIRST),
            referrals::created_at.eq(now),
            referrals::updated_at.eq(now),
        ))
        .returning(crate::db::columns::<ReferralRow>())
        .get_result::<ReferralRow>(conn)?;
    let id = row.id;
    diesel::insert_into(referral_routing::table)
        .values(referral_routing::referral_id.eq(id))
        .execute(conn)?;
    let mut notes = String::new();
    if let Some(subject) = &msg.subject {
        notes.push_str(subject.trim());
        notes.push_str("\n\n");
    }
    notes.push_str(msg.text.trim());
    let person = Person {
        referrer_contact: sender,
        notes: Some(notes.chars().take(20_000).collect()),
        source_file: Some(file_name.chars().take(200).collect()),
        ..Person::default()
    };
    diesel::insert_into(referral_people::table)
        .values((referral_people::referral_id.eq(id), seal_person(&key, &person)))
        .execute(conn)?;
    let how = if certified.is_some() {
        format!("{}; sender certified by PEC", channel.as_str())
    } else {
        format!("{}; sender not verified", channel.as_str())
    };
    write_events(conn, &[pending(id, actor, EventKind::Imported, now).detail(how)])?;
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
    keys: &Keyring,
    current: &Referral,
    expected: Version,
    new: &NewReferral,
    actor: &Actor,
    protocols: &crate::protocols::Protocols,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    let routing = routing::prepare(conn, new, now)?;
    let row = apply(conn, current, expected, Action::Confirm, now)?;
    let id = row.id;
    let received_at = new.received_at.min(current.row.received_at);
    diesel::update(referrals::table.find(id))
        .set(fact_columns(new, received_at))
        .execute(conn)?;
    diesel::update(referral_routing::table.find(id))
        .set((
            referral_routing::assigned_operator_id.eq(routing.operator.as_ref().map(|u| u.id)),
            referral_routing::proposed_mediator_id.eq(routing.mediator.as_ref().map(|u| u.id)),
            referral_routing::mediator_answer.eq(None::<MediatorAnswer>),
            referral_routing::mediator_answered_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    let key = live_key(conn, keys, &row)?;
    // The original message's file name stays with the draft's notes.
    let kept = person_sealed(conn, id)?.and_then(|p| p.source_file);
    let mut sealed = seal_person(&key, &person_of(new));
    sealed.source_file = kept;
    write_person(conn, id, &sealed)?;
    if let Some(c) = &new.consent {
        insert_consent(conn, id, c, seal_consent(&key, c))?;
    }
    write_fact_rows(conn, id, new, true)?;
    let indexer = crypto::match_index::indexer(conn, keys, now)?;
    crypto::match_index::write(
        conn,
        id,
        &crypto::match_index::tokens(&indexer, &match_terms(new, received_at)),
    )?;
    let mut events = vec![pending(id, actor, EventKind::Confirmed, now)];
    if new.consent.is_some() {
        events.push(pending(id, actor, EventKind::ConsentRecorded, now));
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

// ----- reading -----

macro_rules! with_routing {
    () => {
        referrals::table
            .inner_join(referral_routing::table)
            .left_join(referral_decisions::table)
    };
}

type Joined = (ReferralRow, RoutingRow, Option<DecisionRow>);

fn joined((row, routing, decision): Joined) -> Referral {
    Referral { row, routing, decision }
}

pub fn get(conn: &mut DbConn, id: ReferralId) -> Result<Referral, AppError> {
    let r: Joined = with_routing!()
        .filter(referrals::id.eq(id))
        .select((
            ReferralRow::as_select(),
            RoutingRow::as_select(),
            Option::<DecisionRow>::as_select(),
        ))
        .first(conn)?;
    Ok(joined(r))
}

/// Several referrals by id, in one query (those that exist; any order).
pub fn get_many(conn: &mut DbConn, ids: &[ReferralId]) -> Result<Vec<Referral>, AppError> {
    let rows: Vec<Joined> = with_routing!()
        .filter(referrals::id.eq_any(ids))
        .select((
            ReferralRow::as_select(),
            RoutingRow::as_select(),
            Option::<DecisionRow>::as_select(),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(joined).collect())
}

/// The aliases of several referrals, each opened with its own data key: three queries whatever
/// their number (the keys, the sealed fields). An erased referral has none.
pub fn aliases(
    conn: &mut DbConn,
    keys: &Keyring,
    rows: &[&ReferralRow],
) -> Result<HashMap<ReferralId, String>, AppError> {
    use crate::db::schema::data_keys;
    let key_ids: Vec<i64> = rows.iter().filter_map(|r| r.data_key_id).map(|k| k.get()).collect();
    let wrapped: Vec<(i64, Option<Vec<u8>>, Option<String>)> = data_keys::table
        .filter(data_keys::id.eq_any(&key_ids))
        .select((data_keys::id, data_keys::wrapped, data_keys::master_key_id))
        .load(conn)?;
    let ids: Vec<ReferralId> = rows.iter().map(|r| r.id).collect();
    let sealed: Vec<(ReferralId, Option<Sealed>)> = referral_people::table
        .filter(referral_people::referral_id.eq_any(&ids))
        .select((referral_people::referral_id, referral_people::alias))
        .load(conn)?;
    let mut out = HashMap::new();
    for (id, alias) in sealed {
        let Some(alias) = alias else { continue };
        let Some(row) = rows.iter().find(|r| r.id == id) else {
            continue;
        };
        let Some(key_id) = row.data_key_id else { continue };
        let Some((_, Some(bytes), Some(master))) = wrapped.iter().find(|(k, _, _)| *k == key_id.get()) else {
            continue;
        };
        let key = keys.unwrap(master, bytes)?;
        if let Some(a) = open(&key, field::ALIAS, Some(&alias))? {
            out.insert(id, a);
        }
    }
    Ok(out)
}

/// True when a referral with this id exists.
pub fn exists(conn: &mut DbConn, id: ReferralId) -> Result<bool, AppError> {
    let n: i64 = referrals::table.filter(referrals::id.eq(id)).count().get_result(conn)?;
    Ok(n > 0)
}

/// The multi-valued facts of a referral.
pub fn facts(conn: &mut DbConn, id: ReferralId) -> Result<Facts, AppError> {
    Ok(Facts {
        exploitation: referral_exploitation::table
            .filter(referral_exploitation::referral_id.eq(id))
            .select(referral_exploitation::exploitation)
            .order(referral_exploitation::exploitation.asc())
            .load(conn)?,
        labour_sectors: referral_labour_sectors::table
            .filter(referral_labour_sectors::referral_id.eq(id))
            .select(referral_labour_sectors::sector)
            .order(referral_labour_sectors::sector.asc())
            .load(conn)?,
        recruiter_relations: referral_recruiter_relations::table
            .filter(referral_recruiter_relations::referral_id.eq(id))
            .select(referral_recruiter_relations::relation)
            .order(referral_recruiter_relations::relation.asc())
            .load(conn)?,
        indicators: referral_indicators::table
            .filter(referral_indicators::referral_id.eq(id))
            .select(referral_indicators::indicator)
            .order(referral_indicators::indicator.asc())
            .load(conn)?,
        languages: referral_languages::table
            .filter(referral_languages::referral_id.eq(id))
            .select(referral_languages::language)
            .order(referral_languages::language.asc())
            .load(conn)?,
    })
}

/// Writes the sealed person row of a referral, replacing the one there (an upsert would not go
/// through the two-backend connection).
fn write_person(conn: &mut DbConn, id: ReferralId, sealed: &PersonSealed) -> Result<(), AppError> {
    let updated = diesel::update(referral_people::table.find(id))
        .set(sealed)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(referral_people::table)
            .values((referral_people::referral_id.eq(id), sealed))
            .execute(conn)?;
    }
    Ok(())
}

fn person_sealed(conn: &mut DbConn, id: ReferralId) -> Result<Option<PersonSealed>, AppError> {
    Ok(referral_people::table
        .find(id)
        .select(PersonSealed::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = referral_consents)]
struct ConsentSealed {
    audition_date: NaiveDate,
    commission_org_id: OrgId,
    section: Option<String>,
    collected_by: Option<Sealed>,
    scope: ConsentScope,
    contact_route: ContactRoute,
    contact_detail: Option<Sealed>,
    withdrawn_at: Option<NaiveDateTime>,
}

/// The consent record, without its sealed details (what outsiders and the checks need).
pub fn consent_commission(conn: &mut DbConn, id: ReferralId) -> Result<Option<OrgId>, AppError> {
    Ok(referral_consents::table
        .find(id)
        .select(referral_consents::commission_org_id)
        .first(conn)
        .optional()?)
}

/// The feedback addressed to the referrer, oldest first, opened (for the referrer's view too).
pub fn feedback(conn: &mut DbConn, keys: &Keyring, referral: &Referral) -> Result<Vec<Feedback>, AppError> {
    let key = data_key(conn, keys, &referral.row)?;
    let rows: Vec<(NaiveDateTime, Option<UserId>, Option<Sealed>)> = referral_feedback::table
        .filter(referral_feedback::referral_id.eq(referral.id()))
        .select((
            referral_feedback::at,
            referral_feedback::author_user_id,
            referral_feedback::body,
        ))
        .order(referral_feedback::id.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|(at, author_user_id, body)| {
            let body = match &key {
                Some(k) => open(k, field::FEEDBACK, body.as_ref())?,
                None => None,
            };
            Ok(Feedback {
                at,
                author_user_id,
                body,
            })
        })
        .collect()
}

/// The person's fields of a referral, opened; `None` once erased (or never recorded). Lighter
/// than [`sensitive`]: for the matching of one person across referrals.
pub fn person_fields(conn: &mut DbConn, keys: &Keyring, row: &ReferralRow) -> Result<Option<Person>, AppError> {
    let (Some(key), Some(p)) = (data_key(conn, keys, row)?, person_sealed(conn, row.id)?) else {
        return Ok(None);
    };
    Ok(Some(Person {
        alias: open(&key, field::ALIAS, p.alias.as_ref())?,
        age: open(&key, field::AGE, p.age.as_ref())?.and_then(|a| a.parse().ok()),
        nationality: open(&key, field::NATIONALITY, p.nationality.as_ref())?,
        referrer_contact: None,
        notes: None,
        source_file: None,
    }))
}

/// Everything sealed of a referral, opened with its data key (the unit's case file).
pub fn sensitive(conn: &mut DbConn, keys: &Keyring, referral: &Referral) -> Result<Sensitive, AppError> {
    let id = referral.id();
    let feedback = feedback(conn, keys, referral)?;
    let consent_row: Option<ConsentSealed> = referral_consents::table
        .find(id)
        .select(ConsentSealed::as_select())
        .first(conn)
        .optional()?;
    let Some(key) = data_key(conn, keys, &referral.row)? else {
        return Ok(Sensitive {
            consent: consent_row.map(|c| ConsentRecord {
                audition_date: c.audition_date,
                commission_org_id: c.commission_org_id,
                section: c.section,
                collected_by: None,
                scope: c.scope,
                contact_route: c.contact_route,
                contact_detail: None,
                withdrawn_at: c.withdrawn_at,
            }),
            feedback,
            erased: referral.row.data_key_id.is_some(),
            ..Sensitive::default()
        });
    };
    let person = match person_sealed(conn, id)? {
        Some(p) => Person {
            alias: open(&key, field::ALIAS, p.alias.as_ref())?,
            age: open(&key, field::AGE, p.age.as_ref())?.and_then(|a| a.parse().ok()),
            nationality: open(&key, field::NATIONALITY, p.nationality.as_ref())?,
            referrer_contact: open(&key, field::REFERRER_CONTACT, p.referrer_contact.as_ref())?,
            notes: open(&key, field::NOTES, p.notes.as_ref())?,
            source_file: open(&key, field::SOURCE_FILE, p.source_file.as_ref())?,
        },
        None => Person::default(),
    };
    let note: Option<Option<Sealed>> = referral_decisions::table
        .find(id)
        .select(referral_decisions::note)
        .first(conn)
        .optional()?;
    let consent = match consent_row {
        Some(c) => Some(ConsentRecord {
            audition_date: c.audition_date,
            commission_org_id: c.commission_org_id,
            section: c.section,
            collected_by: open(&key, field::COLLECTED_BY, c.collected_by.as_ref())?,
            scope: c.scope,
            contact_route: c.contact_route,
            contact_detail: open(&key, field::CONTACT_DETAIL, c.contact_detail.as_ref())?,
            withdrawn_at: c.withdrawn_at,
        }),
        None => None,
    };
    Ok(Sensitive {
        person,
        decision_note: open(&key, field::DECISION_NOTE, note.flatten().as_ref())?,
        consent,
        feedback,
        erased: false,
    })
}

pub fn events(conn: &mut DbConn, id: ReferralId) -> Result<Vec<EventRow>, AppError> {
    Ok(referral_events::table
        .filter(referral_events::referral_id.eq(id))
        .select(EventRow::as_select())
        .order(referral_events::id.asc())
        .load(conn)?)
}

/// What a list shows and filters by.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub urgency: Option<Urgency>,
    /// Only a referring organisation's own reports.
    pub submitter_org_id: Option<OrgId>,
    /// Only those proposed to this mediator.
    pub mediator_id: Option<UserId>,
    pub before: Option<ReferralId>,
    pub limit: i64,
}

/// Referrals, newest first.
pub fn list(conn: &mut DbConn, f: &ListFilter) -> Result<Vec<Referral>, AppError> {
    let mut q = with_routing!().into_boxed::<DbBackend>();
    if let Some(s) = f.status {
        q = q.filter(referrals::status.eq(s));
    } else {
        q = q.filter(referrals::status.ne(Status::Draft));
    }
    if let Some(u) = f.urgency {
        q = q.filter(referrals::urgency.eq(u));
    }
    if let Some(o) = f.submitter_org_id {
        q = q.filter(referrals::submitter_org_id.eq(o));
    }
    if let Some(m) = f.mediator_id {
        // What the mediator may see (`policy::mediator_view`): open, and not declined.
        q = q
            .filter(referral_routing::proposed_mediator_id.eq(m))
            .filter(
                referral_routing::mediator_answer
                    .is_null()
                    .or(referral_routing::mediator_answer.eq(MediatorAnswer::Accepted)),
            )
            .filter(referrals::status.eq_any([Status::New, Status::InCharge]));
    }
    if let Some(b) = f.before {
        q = q.filter(referrals::id.lt(b));
    }
    let rows: Vec<Joined> = q
        .select((
            ReferralRow::as_select(),
            RoutingRow::as_select(),
            Option::<DecisionRow>::as_select(),
        ))
        .order(referrals::id.desc())
        .limit(f.limit.clamp(1, 500))
        .load(conn)?;
    Ok(rows.into_iter().map(joined).collect())
}

/// Referrals still waiting on the unit (new), oldest first: the queue.
pub fn open_queue(conn: &mut DbConn) -> Result<Vec<Referral>, AppError> {
    let rows: Vec<Joined> = with_routing!()
        .filter(referrals::status.eq(Status::New))
        .select((
            ReferralRow::as_select(),
            RoutingRow::as_select(),
            Option::<DecisionRow>::as_select(),
        ))
        .order((referrals::received_at.asc(), referrals::id.asc()))
        .limit(500)
        .load(conn)?;
    Ok(rows.into_iter().map(joined).collect())
}

/// How many referrals still waiting (new) are assigned to each of these operators (one query).
pub fn waiting_by_operator(conn: &mut DbConn, operators: &[UserId]) -> Result<HashMap<UserId, i64>, AppError> {
    let rows: Vec<(Option<UserId>, i64)> = referral_routing::table
        .inner_join(referrals::table)
        .filter(referral_routing::assigned_operator_id.eq_any(operators))
        .filter(referrals::status.eq(Status::New))
        .group_by(referral_routing::assigned_operator_id)
        .select((referral_routing::assigned_operator_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(u, n)| u.map(|u| (u, n))).collect())
}

// ----- changes -----

/// Moves a referral through its lifecycle: checks the version the caller read, asks the
/// transition function, and writes the new state and version in one
/// `UPDATE … WHERE id = ? AND version = ? RETURNING …`.
fn apply(
    conn: &mut DbConn,
    current: &Referral,
    expected: Version,
    action: Action,
    now: NaiveDateTime,
) -> Result<ReferralRow, AppError> {
    if current.row.version != expected {
        return Err(AppError::StaleVersion {
            current_version: current.row.version.get(),
        });
    }
    let next = lifecycle::transition(current.row.status, action)?;
    let id = current.id();
    let updated = diesel::update(
        referrals::table
            .filter(referrals::id.eq(id))
            .filter(referrals::version.eq(expected)),
    )
    .set((
        referrals::status.eq(next),
        referrals::version.eq(expected.next()),
        referrals::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<ReferralRow>())
    .get_result::<ReferralRow>(conn)
    .optional()?;
    match updated {
        Some(row) => Ok(row),
        // Changed between the caller's read and this write.
        None => Err(AppError::StaleVersion {
            current_version: get(conn, id)?.row.version.get(),
        }),
    }
}

/// The proposed mediator accepts or declines the proposal. The referral's version moves on (the
/// case file changed), its state does not. Refused (409) when the proposal is not waiting for
/// this mediator's answer.
pub fn answer_proposal(
    conn: &mut DbConn,
    current: &Referral,
    expected: Version,
    mediator: &Actor,
    answer: MediatorAnswer,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    let id = current.id();
    let waiting = current.routing.proposed_mediator_id.is_some()
        && current.routing.proposed_mediator_id == mediator.user_id
        && current.routing.mediator_answer.is_none()
        && matches!(current.row.status, Status::New | Status::InCharge);
    if !waiting {
        return Err(AppError::Conflict("no proposal is waiting for your answer".into()));
    }
    let bumped = diesel::update(
        referrals::table
            .filter(referrals::id.eq(id))
            .filter(referrals::version.eq(expected)),
    )
    .set((referrals::version.eq(expected.next()), referrals::updated_at.eq(now)))
    .execute(conn)?;
    if bumped == 0 {
        return Err(AppError::StaleVersion {
            current_version: current.row.version.get(),
        });
    }
    diesel::update(referral_routing::table.find(id))
        .set((
            referral_routing::mediator_answer.eq(Some(answer)),
            referral_routing::mediator_answered_at.eq(Some(now)),
        ))
        .execute(conn)?;
    let kind = match answer {
        MediatorAnswer::Accepted => EventKind::MediatorAccepted,
        MediatorAnswer::Declined => EventKind::MediatorDeclined,
    };
    let mut event = pending(id, mediator, kind, now);
    if let Some(user) = mediator.user_id {
        event = event.about(user);
    }
    write_events(conn, &[event])?;
    get(conn, id)
}

/// The operator on duty confirms they have seen an emergency (stops the escalation clock).
pub fn acknowledge(
    conn: &mut DbConn,
    current: &Referral,
    expected: Version,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    if current.routing.acknowledged_at.is_some() && current.row.version == expected {
        return Err(AppError::Conflict("already acknowledged".into()));
    }
    let row = apply(conn, current, expected, Action::Acknowledge, now)?;
    diesel::update(referral_routing::table.find(row.id))
        .set(referral_routing::acknowledged_at.eq(Some(now)))
        .execute(conn)?;
    write_events(conn, &[pending(row.id, actor, EventKind::Acknowledged, now)])?;
    get(conn, row.id)
}

/// The unit takes the referral in charge (*presa in carico*).
pub fn take_charge(
    conn: &mut DbConn,
    current: &Referral,
    expected: Version,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    let row = apply(conn, current, expected, Action::TakeCharge, now)?;
    diesel::insert_into(referral_decisions::table)
        .values((
            referral_decisions::referral_id.eq(row.id),
            referral_decisions::decided_at.eq(now),
            referral_decisions::decided_by.eq(actor.user_id),
        ))
        .execute(conn)?;
    if current.routing.acknowledged_at.is_none() {
        diesel::update(referral_routing::table.find(row.id))
            .set(referral_routing::acknowledged_at.eq(Some(now)))
            .execute(conn)?;
    }
    write_events(conn, &[pending(row.id, actor, EventKind::TakenInCharge, now)])?;
    tell_referrer(conn, &row, Template::Decision, settings, now)?;
    get(conn, row.id)
}

/// A decline: its reason from the closed list, the referral it duplicates, a note for the unit.
pub struct Decline {
    pub reason: DeclineReason,
    pub note: Option<String>,
    pub duplicate_of: Option<Duplicate>,
}

/// The referral a duplicate repeats: by its reference (`R-7K2M9QXH`, what people know) or by
/// its id (what systems hold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Duplicate {
    Id(ReferralId),
    Reference(String),
}

impl Duplicate {
    /// What a person typed: a reference, or a number.
    pub fn parse(typed: &str) -> Option<Duplicate> {
        let t = typed.trim();
        if t.is_empty() {
            return None;
        }
        Some(match t.parse::<i64>() {
            Ok(n) => Duplicate::Id(ReferralId(n)),
            Err(_) => Duplicate::Reference(t.to_uppercase()),
        })
    }
}

/// An earlier referral that probably concerns the same person as `new`: from the same referring
/// organisation, received since `since`, of the same gender, and with the same alias (case and
/// spaces aside) or, without aliases, the same age and nationality. Its reference, if any.
/// Aliases are sealed: the few candidates are opened here, never searched in SQL.
pub fn probable_duplicate(
    conn: &mut DbConn,
    keys: &Keyring,
    new: &NewReferral,
    since: NaiveDateTime,
) -> Result<Option<String>, AppError> {
    let Some(org) = new.referring_org_id else {
        return Ok(None);
    };
    let candidates: Vec<ReferralRow> = referrals::table
        .filter(referrals::referring_org_id.eq(org))
        .filter(referrals::person_gender.eq(new.gender))
        .filter(referrals::received_at.ge(since))
        .filter(referrals::status.ne(Status::Draft))
        .order(referrals::id.desc())
        .limit(20)
        .select(crate::db::columns::<ReferralRow>())
        .load(conn)?;
    let norm = |s: &Option<String>| {
        s.as_deref()
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
    };
    for row in candidates {
        let Some(key) = data_key(conn, keys, &row)? else {
            continue;
        };
        let Some(sealed) = person_sealed(conn, row.id)? else {
            continue;
        };
        let alias = open(&key, field::ALIAS, sealed.alias.as_ref())?;
        let same = match (norm(&alias), norm(&new.alias)) {
            (Some(a), Some(b)) => a == b,
            (None, None) => {
                let age = open(&key, field::AGE, sealed.age.as_ref())?;
                let nationality = open(&key, field::NATIONALITY, sealed.nationality.as_ref())?;
                age.as_deref() == new.age.map(|a| a.to_string()).as_deref()
                    && row.person_age_band == new.age_band
                    && norm(&nationality) == norm(&new.nationality)
            }
            _ => false,
        };
        if same {
            return Ok(Some(row.reference));
        }
    }
    Ok(None)
}

/// The referral with `reference`, if any.
pub fn id_by_reference(conn: &mut DbConn, reference: &str) -> Result<Option<ReferralId>, AppError> {
    Ok(referrals::table
        .filter(referrals::reference.eq(reference.trim().to_uppercase()))
        .select(referrals::id)
        .first(conn)
        .optional()?)
}

/// The unit declines with a reason from the closed list; the note stays within the unit.
#[expect(
    clippy::too_many_arguments,
    reason = "a transaction step needs its inputs, context and clock"
)]
pub fn decline(
    conn: &mut DbConn,
    keys: &Keyring,
    current: &Referral,
    expected: Version,
    d: &Decline,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    let id = current.id();
    let named = match &d.duplicate_of {
        None => None,
        // Only a missing referral is the caller's mistake; a failing database is not.
        Some(Duplicate::Id(other)) => Some(if exists(conn, *other)? {
            *other
        } else {
            return Err(AppError::invalid("duplicate_of", "no such referral"));
        }),
        Some(Duplicate::Reference(r)) => Some(
            id_by_reference(conn, r)?
                .ok_or_else(|| AppError::invalid("duplicate_of", "no referral has this reference"))?,
        ),
    };
    let duplicate_of = match (d.reason, named) {
        (DeclineReason::Duplicate, None) => {
            return Err(AppError::invalid(
                "duplicate_of",
                "name the referral this one duplicates",
            ))
        }
        (DeclineReason::Duplicate, Some(other)) if other == id => {
            return Err(AppError::invalid("duplicate_of", "a referral cannot duplicate itself"))
        }
        (DeclineReason::Duplicate, Some(other)) => Some(other),
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "duplicate_of",
                "applies only to the duplicate reason",
            ))
        }
        (_, None) => None,
    };
    let row = apply(conn, current, expected, Action::Decline, now)?;
    let note = match &d.note {
        Some(n) => Some(live_key(conn, keys, &row)?.seal_str(field::DECISION_NOTE, n)),
        None => None,
    };
    diesel::insert_into(referral_decisions::table)
        .values((
            referral_decisions::referral_id.eq(id),
            referral_decisions::decided_at.eq(now),
            referral_decisions::decided_by.eq(actor.user_id),
            referral_decisions::decline_reason.eq(Some(d.reason)),
            referral_decisions::duplicate_of.eq(duplicate_of),
            referral_decisions::note.eq(note),
        ))
        .execute(conn)?;
    write_events(
        conn,
        &[pending(id, actor, EventKind::Declined, now).detail(d.reason.as_str())],
    )?;
    tell_referrer(conn, &row, Template::Decision, settings, now)?;
    get(conn, id)
}

/// Written feedback (*restituzione scritta*) addressed to the referrer or commission.
#[expect(
    clippy::too_many_arguments,
    reason = "a transaction step needs its inputs, context and clock"
)]
pub fn add_feedback(
    conn: &mut DbConn,
    keys: &Keyring,
    current: &Referral,
    expected: Version,
    body: &str,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 8000 {
        return Err(AppError::invalid("body", "must be between 1 and 8000 characters long"));
    }
    let row = apply(conn, current, expected, Action::Feedback, now)?;
    let sealed = live_key(conn, keys, &row)?.seal_str(field::FEEDBACK, body);
    diesel::insert_into(referral_feedback::table)
        .values((
            referral_feedback::referral_id.eq(row.id),
            referral_feedback::at.eq(now),
            referral_feedback::author_user_id.eq(actor.user_id),
            referral_feedback::body.eq(Some(sealed)),
        ))
        .execute(conn)?;
    write_events(conn, &[pending(row.id, actor, EventKind::FeedbackSent, now)])?;
    tell_referrer(conn, &row, Template::Feedback, settings, now)?;
    get(conn, row.id)
}

/// Erases a referral's personal data: its data key is destroyed (every sealed value is
/// unreadable for good), the sealed columns are cleared, the languages deleted. The
/// non-identifying facts stay for the counts.
fn erase(conn: &mut DbConn, row: &ReferralRow, now: NaiveDateTime) -> Result<(), AppError> {
    let id = row.id;
    if let Some(key) = row.data_key_id {
        crypto::store::destroy(conn, key, now)?;
    }
    diesel::update(referral_people::table.find(id))
        .set(&PersonSealed::default())
        .execute(conn)?;
    diesel::update(referral_decisions::table.find(id))
        .set(referral_decisions::note.eq(None::<Sealed>))
        .execute(conn)?;
    diesel::update(referral_consents::table.find(id))
        .set((
            referral_consents::collected_by.eq(None::<Sealed>),
            referral_consents::contact_detail.eq(None::<Sealed>),
        ))
        .execute(conn)?;
    diesel::update(referral_feedback::table.filter(referral_feedback::referral_id.eq(id)))
        .set(referral_feedback::body.eq(None::<Sealed>))
        .execute(conn)?;
    diesel::delete(referral_languages::table.filter(referral_languages::referral_id.eq(id))).execute(conn)?;
    // Nothing searchable may outlive the key: the blind indexes go too.
    crypto::match_index::forget(conn, id)?;
    Ok(())
}

/// Erases again, in a database restored from a backup (or started from an older copy), each
/// referral whose data key the erasure ledger names and that is still live here: the erasure came
/// after the copy was taken. The referral is restricted as a withdrawal would leave it (when its
/// state allows), its personal data erased, and its history says why. A ledger key of no referral
/// is destroyed all the same. Returns the referrals erased again.
pub fn reapply_erasures(
    conn: &mut DbConn,
    keys: &Keyring,
    erasures: &[crypto::ledger::Erasure],
    now: NaiveDateTime,
) -> Result<Vec<ReferralId>, AppError> {
    let mut done = Vec::new();
    for e in erasures {
        if !crypto::store::still_live(conn, keys, e)? {
            continue;
        }
        let key = DataKeyId(e.data_key_id);
        let owner: Option<ReferralId> = referrals::table
            .filter(referrals::data_key_id.eq(Some(key)))
            .select(referrals::id)
            .first(conn)
            .optional()?;
        let Some(id) = owner else {
            crypto::store::destroy(conn, key, now)?;
            continue;
        };
        let current = get(conn, id)?;
        let row = match apply(conn, &current, current.row.version, Action::WithdrawConsent, now) {
            Ok(row) => row,
            Err(AppError::IllegalTransition { .. }) => current.row.clone(),
            Err(other) => return Err(other),
        };
        erase(conn, &row, now)?;
        diesel::update(
            referral_consents::table
                .find(id)
                .filter(referral_consents::withdrawn_at.is_null()),
        )
        .set(referral_consents::withdrawn_at.eq(Some(now)))
        .execute(conn)?;
        write_events(
            conn,
            &[pending(id, &system("erasure ledger"), EventKind::ConsentWithdrawn, now)
                .detail("erased again: the erasure came after this copy of the database was taken")],
        )?;
        done.push(id);
    }
    Ok(done)
}

/// The person withdrew consent: the referral is restricted at once, its personal data erased;
/// the history, the audit trail and the non-identifying facts stay; the commission is told.
pub fn withdraw_consent(
    conn: &mut DbConn,
    current: &Referral,
    expected: Version,
    actor: &Actor,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Referral, AppError> {
    let Some(commission) = consent_commission(conn, current.id())? else {
        return Err(AppError::Conflict("this referral has no consent record".into()));
    };
    let row = apply(conn, current, expected, Action::WithdrawConsent, now)?;
    erase(conn, &row, now)?;
    diesel::update(referral_consents::table.find(row.id))
        .set(referral_consents::withdrawn_at.eq(Some(now)))
        .execute(conn)?;
    write_events(
        conn,
        &[pending(row.id, actor, EventKind::ConsentWithdrawn, now).detail(format!("was {}", current.row.status))],
    )?;
    if let Some(to) = orgs::get(conn, commission)?.email {
        notify_address(
            conn,
            to,
            Template::ConsentWithdrawn,
            &row.reference,
            &notify::portal_link(settings, row.id.get()),
            now,
        )?;
    }
    get(conn, row.id)
}

/// Alerts coordinators about emergencies not acknowledged in time and referrals not taken in
/// charge in time; each referral is escalated once. Returns how many were escalated.
pub fn escalate_due(conn: &mut DbConn, settings: &Settings, now: NaiveDateTime) -> Result<usize, AppError> {
    let emergency_cutoff = now - Duration::minutes(settings.emergency_ack_minutes);
    let ordinary_cutoff = now - Duration::hours(settings.take_charge_hours);
    let due: Vec<(ReferralId, String, Urgency, Option<NaiveDateTime>)> = referrals::table
        .inner_join(referral_routing::table)
        .filter(referrals::status.eq(Status::New))
        .filter(referral_routing::escalated_at.is_null())
        .filter(
            referrals::urgency
                .eq(Urgency::Emergency)
                .and(referral_routing::acknowledged_at.is_null())
                .and(referrals::received_at.le(emergency_cutoff))
                .or(referrals::received_at.le(ordinary_cutoff)),
        )
        .select((
            referrals::id,
            referrals::reference,
            referrals::urgency,
            referral_routing::acknowledged_at,
        ))
        .limit(200)
        .load(conn)?;
    if due.is_empty() {
        return Ok(0);
    }
    let coordinators = coordinators_to_alert(conn, now)?;
    let system = system("escalation");
    for (id, reference, urgency, acknowledged_at) in &due {
        diesel::update(referral_routing::table.find(*id))
            .set(referral_routing::escalated_at.eq(Some(now)))
            .execute(conn)?;
        let (kind, template) = match (urgency, acknowledged_at) {
            (Urgency::Emergency, None) => (EventKind::Escalated, Template::Escalation),
            _ => (EventKind::Overdue, Template::Overdue),
        };
        write_events(
            conn,
            &[pending(*id, &system, kind, now).detail(format!("{} coordinator(s) alerted", coordinators.len()))],
        )?;
        let link = notify::referral_link(settings, id.get());
        for c in &coordinators {
            notify_user(conn, c, template, reference, &link, now)?;
        }
    }
    Ok(due.len())
}

// ----- blind indexes of referrals stored before they existed -----

/// Takes the blind indexes (`crypto::match_index`) of the referrals stored before the
/// person-matching key existed, a batch at a time from the lowest id, opening their persons'
/// fields with their own data keys (erased ones have nothing to index). Returns whether more
/// remain. Runs at start.
pub fn index_earlier(
    conn: &mut DbConn,
    keys: &Keyring,
    indexer: &crypto::BlindIndexer,
    batch: i64,
) -> Result<bool, AppError> {
    let Some((from, below)) = crypto::match_index::backfill_range(conn)? else {
        return Ok(false);
    };
    let rows: Vec<ReferralRow> = referrals::table
        .filter(referrals::id.ge(from))
        .filter(referrals::id.lt(below))
        .order(referrals::id.asc())
        .limit(batch)
        .select(crate::db::columns::<ReferralRow>())
        .load(conn)?;
    for row in &rows {
        if row.status == Status::Draft {
            continue;
        }
        let (Some(key), Some(p)) = (data_key(conn, keys, row)?, person_sealed(conn, row.id)?) else {
            continue;
        };
        let alias = open(&key, field::ALIAS, p.alias.as_ref())?;
        let age = open(&key, field::AGE, p.age.as_ref())?.and_then(|a| a.parse().ok());
        let nationality = open(&key, field::NATIONALITY, p.nationality.as_ref())?;
        let terms =
            crate::domain::names::MatchTerms::of(alias.as_deref(), age, nationality.as_deref(), row.received_at);
        crypto::match_index::write(conn, row.id, &crypto::match_index::tokens(indexer, &terms))?;
    }
    let done = (rows.len() as i64) < batch;
    let next = match rows.last() {
        Some(last) if !done => last.id.get() + 1,
        _ => below,
    };
    crypto::match_index::backfilled(conn, next)?;
    Ok(!done)
}

// ----- personal fields written before they were sealed -----

/// Seals the personal fields that an earlier version stored in plain text (moved to
/// `pending_seal` by the migration that introduced sealing), each referral under a data key of
/// its own, and deletes the plain copies. Runs at start, in batches; returns how many values were
/// sealed.
pub fn seal_pending(conn: &mut DbConn, keys: &Keyring, now: NaiveDateTime, batch: i64) -> Result<usize, AppError> {
    let rows: Vec<(i64, ReferralId, String, Option<i64>, String)> = pending_seal::table
        .select((
            pending_seal::id,
            pending_seal::referral_id,
            pending_seal::target,
            pending_seal::row_id,
            pending_seal::value,
        ))
        .order(pending_seal::id.asc())
        .limit(batch)
        .load(conn)?;
    let mut keys_by_referral: HashMap<ReferralId, DataKey> = HashMap::new();
    for (pending_id, referral_id, target, row_id, value) in &rows {
        let key = match keys_by_referral.get(referral_id) {
            Some(k) => k.clone(),
            None => {
                let row = get(conn, *referral_id)?.row;
                let key = match data_key(conn, keys, &row)? {
                    Some(k) => k,
                    None => {
                        let (key_id, key) = crypto::store::create(conn, keys, now)?;
                        diesel::update(referrals::table.find(*referral_id))
                            .set(referrals::data_key_id.eq(Some(key_id)))
                            .execute(conn)?;
                        key
                    }
                };
                keys_by_referral.insert(*referral_id, key.clone());
                key
            }
        };
        let sealed = Some(key.seal_str(target, value));
        let id = *referral_id;
        match target.as_str() {
            field::ALIAS
            | field::AGE
            | field::NATIONALITY
            | field::REFERRER_CONTACT
            | field::NOTES
            | field::SOURCE_FILE => {
                if person_sealed(conn, id)?.is_none() {
                    write_person(conn, id, &PersonSealed::default())?;
                }
                let t = referral_people::table.find(id);
                let n = match target.as_str() {
                    field::ALIAS => diesel::update(t).set(referral_people::alias.eq(sealed)).execute(conn)?,
                    field::AGE => diesel::update(t).set(referral_people::age.eq(sealed)).execute(conn)?,
                    field::NATIONALITY => diesel::update(t)
                        .set(referral_people::nationality.eq(sealed))
                        .execute(conn)?,
                    field::REFERRER_CONTACT => diesel::update(t)
                        .set(referral_people::referrer_contact.eq(sealed))
                        .execute(conn)?,
                    field::NOTES => diesel::update(t).set(referral_people::notes.eq(sealed)).execute(conn)?,
                    _ => diesel::update(t)
                        .set(referral_people::source_file.eq(sealed))
                        .execute(conn)?,
                };
                debug_assert_eq!(n, 1);
            }
            field::DECISION_NOTE => {
                diesel::update(referral_decisions::table.find(id))
                    .set(referral_decisions::note.eq(sealed))
                    .execute(conn)?;
            }
            field::COLLECTED_BY => {
                diesel::update(referral_consents::table.find(id))
                    .set(referral_consents::collected_by.eq(sealed))
                    .execute(conn)?;
            }
            field::CONTACT_DETAIL => {
                diesel::update(referral_consents::table.find(id))
                    .set(referral_consents::contact_detail.eq(sealed))
                    .execute(conn)?;
            }
            field::FEEDBACK => {
                diesel::update(referral_feedback::table.filter(referral_feedback::id.eq(row_id.unwrap_or(-1))))
                    .set(referral_feedback::body.eq(sealed))
                    .execute(conn)?;
            }
            other => {
                return Err(AppError::Internal(format!("pending_seal: unknown target {other:?}")));
            }
        }
        diesel::delete(pending_seal::table.find(*pending_id)).execute(conn)?;
    }
    Ok(rows.len())
}
