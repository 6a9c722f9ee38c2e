//! A referral's input and its rules: what every source must send, what its procedure demands
//! (seed 004), and what the caller's role fixes for them.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::vocab::{
    AgeBand, Channel, ContactRoute, EmergenceContext, ExploitationType, Gender, LabourSector, RecruiterRelation,
    Urgency,
};
use crate::domain::{parse_instant, parse_language, source_of, OrgId, OrgKind, Province, SourceKind};
use crate::error::{AppError, FieldError};
use crate::protocols::Protocols;

/// The person, pseudonymous: an alias or nickname, never a full identity.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    /// Alias or nickname (at most 60 characters).
    #[validate(length(max = 60))]
    pub alias: Option<String>,
    pub gender: Option<Gender>,
    /// Exact age, when known.
    #[validate(range(min = 0, max = 110))]
    pub age: Option<i32>,
    /// Age band, when the exact age is not known.
    pub age_band: Option<AgeBand>,
    #[validate(length(max = 60))]
    pub nationality: Option<String>,
    /// Minor (under 18); implied by an age under 18.
    pub minor: Option<bool>,
    /// Languages spoken, ISO 639 codes (`en`, `pcm`, `edo`).
    pub languages: Option<Vec<String>>,
    /// The CAS or SAI project hosting the person, if any; a CAS's or SAI's own report names
    /// itself (set when omitted, 422 if another).
    #[schema(value_type = Option<i64>)]
    pub hosted_org_id: Option<OrgId>,
}

/// The consent a territorial commission collected at the audition (mandatory for its reports).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Date of the audition (YYYY-MM-DD).
    pub audition_date: Option<NaiveDate>,
    /// Section of the commission (e.g. "Sezione di Padova").
    #[validate(length(max = 100))]
    pub section: Option<String>,
    /// Who collected the consent (work role or name of the commission officer).
    #[validate(length(max = 120))]
    pub collected_by: Option<String>,
    /// The person wants information on social-protection programmes: must be true.
    pub wants_information: Option<bool>,
    pub contact_route: Option<ContactRoute>,
    /// CAS operator reference or the person's own contact, by route.
    #[validate(length(max = 200))]
    pub contact_detail: Option<String>,
}

/// A referral as submitted (API body; the intake form builds the same).
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    /// How it arrived; fixed to `portal` for referrers and commissions.
    pub channel: Option<Channel>,
    /// Who activated the call; taken from the organisation's kind when omitted. A referrer's is
    /// its organisation's kind (an organisation of no source's kind sends `private_citizen` or
    /// `self`).
    pub source_kind: Option<SourceKind>,
    /// The referring organisation (a referrer's or commission's own, always).
    #[schema(value_type = Option<i64>)]
    pub referring_org_id: Option<OrgId>,
    /// The referring operator's work contact (name, phone or email at work).
    #[validate(length(max = 200))]
    pub referrer_contact: Option<String>,
    /// When the report was received (RFC 3339, or Europe/Rome local time); default now. The unit's
    /// only: an outside submission is received when the server receives it (422 if given).
    pub received_at: Option<String>,
    pub urgency: Option<Urgency>,
    #[validate(nested)]
    pub person: Option<PersonInput>,
    /// Province of emergence (ISTAT code, sigla or name).
    pub emergence_province: Option<String>,
    /// Province where the exploitation took place, when known (ISTAT code, sigla or name).
    pub exploitation_province: Option<String>,
    pub emergence_context: Option<EmergenceContext>,
    pub exploitation_types: Option<Vec<ExploitationType>>,
    /// The sectors of labour exploitation, where known (only with the `labour` type).
    pub labour_sectors: Option<Vec<LabourSector>>,
    /// Who recruited the person, as reported.
    pub recruiter_relations: Option<Vec<RecruiterRelation>>,
    /// Ids from the indicators checklist (`protocols/indicators.toml`).
    pub indicators: Option<Vec<String>>,
    /// Free text for the unit.
    #[validate(length(max = 4000))]
    pub notes: Option<String>,
    /// For SAI reports: whether the interview at the SAI desk is joint.
    pub interview_joint: Option<bool>,
    #[validate(nested)]
    pub consent: Option<ConsentInput>,
}

/// Who submits: fixes channel, organisation and source for external callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitter {
    /// Crisis-unit staff logging what came by phone, email or in person.
    Unit,
    /// A referring organisation (its staff or its system).
    Referrer { org_id: OrgId, org_kind: OrgKind },
    /// A territorial commission.
    Commission { org_id: OrgId },
}

impl Submitter {
    /// The organisation submitting, for referrers and commissions.
    pub fn org_id(self) -> Option<OrgId> {
        match self {
            Submitter::Unit => None,
            Submitter::Referrer { org_id, .. } | Submitter::Commission { org_id } => Some(org_id),
        }
    }
}

/// A checked referral, ready to store.
#[derive(Clone, Debug)]
pub struct NewReferral {
    pub channel: Channel,
    pub source_kind: SourceKind,
    pub referring_org_id: Option<OrgId>,
    pub referrer_contact: Option<String>,
    pub received_at: NaiveDateTime,
    pub urgency: Urgency,
    pub alias: Option<String>,
    pub gender: Gender,
    pub age: Option<i32>,
    pub age_band: Option<AgeBand>,
    pub nationality: Option<String>,
    pub minor: bool,
    pub languages: Vec<String>,
    pub hosted_org_id: Option<OrgId>,
    pub emergence_province: Option<Province>,
    pub exploitation_province: Option<Province>,
    /// The nationality as an ISO country, when the typed one is recognised (for the observatory).
    pub citizenship: Option<crate::domain::Country>,
    pub emergence_context: Option<EmergenceContext>,
    pub exploitation_types: Vec<ExploitationType>,
    pub labour_sectors: Vec<LabourSector>,
    pub recruiter_relations: Vec<RecruiterRelation>,
    pub indicators: Vec<String>,
    pub indicators_version: String,
    pub notes: Option<String>,
    pub interview_joint: Option<bool>,
    pub consent: Option<Consent>,
    pub submitter_org_id: Option<OrgId>,
    /// Why the urgency was raised to an emergency whatever the referrer chose (`minor`, or the
    /// ids of the observed indicators that make it one; `protocols/indicators.toml`).
    pub urgency_raised_by: Vec<String>,
}

/// A checked consent record.
#[derive(Clone, Debug)]
pub struct Consent {
    pub audition_date: NaiveDate,
    pub commission_org_id: OrgId,
    pub section: Option<String>,
    pub collected_by: Option<String>,
    pub contact_route: ContactRoute,
    pub contact_detail: Option<String>,
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl ReferralInput {
    /// Applies every rule and reports all problems at once (422). The organisation-dependent
    /// checks (that ids exist and are of the right kind) happen in the store, in the transaction.
    pub fn check(&self, who: Submitter, protocols: &Protocols, now: NaiveDateTime) -> Result<NewReferral, AppError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut err = |f: &str, m: &str| errors.push(FieldError::new(f, m));

        let (channel, referring_org_id, submitter_org_id) = match who {
            Submitter::Unit => (self.channel.unwrap_or(Channel::Hotline), self.referring_org_id, None),
            Submitter::Referrer { org_id, .. } | Submitter::Commission { org_id } => {
                if self.referring_org_id.is_some_and(|o| o != org_id) {
                    err("referring_org_id", "must be your own organisation");
                }
                (Channel::Portal, Some(org_id), Some(org_id))
            }
        };
        let source_kind = match who {
            Submitter::Commission { .. } => {
                if self.source_kind.is_some_and(|s| s != SourceKind::TerritorialCommission) {
                    err("source_kind", "a commission's report is a territorial commission's");
                }
                Some(SourceKind::TerritorialCommission)
            }
            Submitter::Referrer { org_kind, .. } => {
                // The source is the organisation's own kind: a CAS cannot report as the police.
                // An organisation of no source's kind (an NGO) passes on a citizen's or the
                // person's own report.
                let implied = source_of(org_kind);
                match (self.source_kind, implied) {
                    (Some(SourceKind::TerritorialCommission), _) => {
                        err("source_kind", "only a territorial commission sends commission reports");
                        None
                    }
                    (Some(s), Some(own)) if s != own => {
                        err("source_kind", "must be your organisation's kind");
                        None
                    }
                    (Some(s), None) if !matches!(s, SourceKind::PrivateCitizen | SourceKind::SelfReferral) => {
                        err(
                            "source_kind",
                            "an organisation of this kind passes on a private citizen's or the person's own report",
                        );
                        None
                    }
                    (Some(s), _) => Some(s),
                    (None, Some(s)) => Some(s),
                    (None, None) => {
                        err("source_kind", "is required for this kind of organisation");
                        None
                    }
                }
            }
            Submitter::Unit => {
                if self.source_kind.is_none() {
                    err("source_kind", "is required");
                }
                self.source_kind
            }
        };
        // An outside submission is received when the unit receives it: its time is the server's
        // (a backdated one would be overdue at once and alert the coordinators).
        let outside = !matches!(who, Submitter::Unit);
        if outside && self.received_at.is_some() {
            err(
                "received_at",
                "is set by the unit's server for outside submissions: leave it out",
            );
        }
        let received_at = match &self.received_at {
            _ if outside => now,
            None => now,
            Some(s) => match parse_instant(s) {
                Some(t) if t <= now + chrono::Duration::minutes(5) => t,
                Some(_) => {
                    err("received_at", "must not be in the future");
                    now
                }
                None => {
                    err("received_at", "must be a date and time, e.g. 2026-11-25T03:10");
                    now
                }
            },
        };
        let urgency = self.urgency.unwrap_or(Urgency::Ordinary);

        let person = self.person.clone().unwrap_or_default();
        let gender = person.gender.unwrap_or(Gender::Unknown);
        let age_band = match (person.age, person.age_band) {
            (Some(a), Some(b)) if AgeBand::of(a) != b => {
                err("person.age_band", "does not match the age");
                Some(b)
            }
            (Some(a), _) => Some(AgeBand::of(a)),
            (None, b) => b,
        };
        let implied_minor = age_band.is_some_and(AgeBand::is_minor);
        if person.minor == Some(false) && implied_minor {
            err("person.minor", "contradicts the age");
        }
        let minor = person.minor.unwrap_or(false) || implied_minor;
        let mut languages = Vec::new();
        for (i, l) in person.languages.clone().unwrap_or_default().iter().enumerate() {
            match parse_language(l) {
                Some(code) if !languages.contains(&code) => languages.push(code),
                Some(_) => {}
                None => err(
                    &format!("person.languages[{i}]"),
                    "must be an ISO 639 language code such as en, ro, edo",
                ),
            }
        }
        let emergence_province = match text(&self.emergence_province) {
            None => None,
            Some(p) => match Province::parse(&p) {
                Some(p) => Some(p),
                None => {
                    err("emergence_province", "is not an Italian province (ISTAT code or sigla)");
                    None
                }
            },
        };
        let exploitation_province = match text(&self.exploitation_province) {
            None => None,
            Some(p) => match Province::parse(&p) {
                Some(p) => Some(p),
                None => {
                    err(
                        "exploitation_province",
                        "is not an Italian province (ISTAT code or sigla)",
                    );
                    None
                }
            },
        };
        let mut exploitation_types = self.exploitation_types.clone().unwrap_or_default();
        exploitation_types.sort_by_key(|e| e.as_str());
        exploitation_types.dedup();
        let mut labour_sectors = self.labour_sectors.clone().unwrap_or_default();
        labour_sectors.sort_by_key(|s| s.as_str());
        labour_sectors.dedup();
        let mut recruiter_relations = self.recruiter_relations.clone().unwrap_or_default();
        recruiter_relations.sort_by_key(|r| r.as_str());
        recruiter_relations.dedup();
        if !labour_sectors.is_empty() && !exploitation_types.contains(&ExploitationType::Labour) {
            err(
                "labour_sectors",
                "a sector of labour exploitation needs the labour exploitation type",
            );
        }
        let mut indicators = Vec::new();
        for (i, id) in self.indicators.clone().unwrap_or_default().iter().enumerate() {
            if protocols.indicator(id.trim()).is_none() {
                err(&format!("indicators[{i}]"), "is not in the indicators checklist");
            } else if !indicators.contains(&id.trim().to_owned()) {
                indicators.push(id.trim().to_owned());
            }
        }

        // The procedure of the source decides what else is mandatory (protocols/procedures.toml).
        let mut consent = None;
        let mut hosted_org_id = person.hosted_org_id;
        // A CAS or SAI reports about the people it hosts: itself.
        if let Submitter::Referrer { org_id, org_kind } = who {
            if matches!(org_kind, crate::domain::OrgKind::Cas | crate::domain::OrgKind::Sai) {
                if hosted_org_id.is_some_and(|h| h != org_id) {
                    err("person.hosted_org_id", "must be your own organisation");
                }
                hosted_org_id = Some(org_id);
            }
        }
        if let Some(source) = source_kind {
            let procedure = protocols.procedure(source);
            if procedure.hosted_org_required && hosted_org_id.is_none() {
                err(
                    "person.hosted_org_id",
                    "this source's procedure needs the CAS or SAI hosting the person",
                );
            }
            if !procedure.interview_at_sai_desk && self.interview_joint.is_some() {
                err("interview_joint", "applies only to SAI reports");
            }
            if procedure.consent_required {
                match &self.consent {
                    None => err(
                        "consent",
                        "a territorial commission's report needs the person's consent",
                    ),
                    Some(c) => {
                        let org = match who {
                            Submitter::Commission { org_id } => Some(org_id),
                            _ => referring_org_id,
                        };
                        if c.audition_date.is_none() {
                            err("consent.audition_date", "is required");
                        }
                        if c.audition_date.is_some_and(|d| d > now.date()) {
                            err("consent.audition_date", "must not be in the future");
                        } else if c.audition_date.is_some_and(|d| !crate::domain::time::date_in_range(d)) {
                            err("consent.audition_date", crate::domain::time::OUT_OF_RANGE);
                        }
                        if c.wants_information != Some(true) {
                            err(
                                "consent.wants_information",
                                "the person must have asked for information on social-protection programmes",
                            );
                        }
                        if c.contact_route.is_none() {
                            err("consent.contact_route", "is required");
                        }
                        if text(&c.collected_by).is_none() {
                            err("consent.collected_by", "is required");
                        }
                        let detail = text(&c.contact_detail);
                        if matches!(
                            c.contact_route,
                            Some(ContactRoute::CasOperator | ContactRoute::OwnContact)
                        ) && detail.is_none()
                        {
                            err("consent.contact_detail", "is required for this contact route");
                        }
                        if org.is_none() {
                            err("referring_org_id", "the commission is required");
                        }
                        if let (Some(audition_date), Some(contact_route), Some(commission_org_id)) =
                            (c.audition_date, c.contact_route, org)
                        {
                            consent = Some(Consent {
                                audition_date,
                                commission_org_id,
                                section: text(&c.section),
                                collected_by: text(&c.collected_by),
                                contact_route,
                                contact_detail: detail,
                            });
                        }
                    }
                }
            } else if self.consent.is_some() {
                err(
                    "consent",
                    "only a territorial commission's report carries a consent record",
                );
            }
        }
        if hosted_org_id == Some(OrgId(0)) {
            hosted_org_id = None;
        }

        // Danger raises urgency (the rule is protocol data): a minor, or an observation flagged
        // as an emergency, makes the referral an emergency whatever the referrer chose.
        let mut urgency_raised_by = Vec::new();
        if minor && protocols.indicators.minors_are_emergencies {
            urgency_raised_by.push("minor".to_owned());
        }
        urgency_raised_by.extend(protocols.indicators.emergencies(&indicators).map(|i| i.id.clone()));
        let urgency = if urgency_raised_by.is_empty() {
            urgency
        } else {
            Urgency::Emergency
        };
        if urgency_raised_by.is_empty() || self.urgency == Some(Urgency::Emergency) {
            urgency_raised_by.clear();
        }

        match source_kind {
            Some(source_kind) if errors.is_empty() => Ok(NewReferral {
                channel,
                source_kind,
                referring_org_id,
                referrer_contact: text(&self.referrer_contact),
                received_at,
                urgency,
                alias: text(&person.alias),
                gender,
                age: person.age,
                age_band,
                nationality: text(&person.nationality),
                minor,
                languages,
                hosted_org_id,
                emergence_province,
                exploitation_province,
                citizenship: person.nationality.as_deref().and_then(crate::domain::Country::parse),
                emergence_context: self.emergence_context,
                exploitation_types,
                labour_sectors,
                recruiter_relations,
                indicators,
                indicators_version: protocols.indicators.version.clone(),
                notes: text(&self.notes),
                interview_joint: self.interview_joint,
                consent,
                submitter_org_id,
                urgency_raised_by,
            }),
            _ => Err(AppError::Invalid(errors)),
        }
    }
}
