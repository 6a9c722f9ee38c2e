//! A call and its rules (no personal data: the call log is statistics and routing).

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::store::CallRow;
use crate::clock::rome;
use crate::domain::{parse_instant, Province, ReferralId, Region, StationLanguage};
use crate::error::{AppError, FieldError};
use crate::protocols::Protocols;
use crate::vocabulary;

vocabulary! {
    /// Who called the hotline.
    CallerKind ("caller_kind") {
        PotentialVictim = "potential_victim" => ("Potenziale vittima", "Potential victim"),
        RelativeOrFriend = "relative_or_friend" => ("Familiare o amico", "Relative or friend"),
        PrivateCitizen = "private_citizen" => ("Privato cittadino", "Private citizen"),
        /// Operator of a service (CAS, SAI, social or health).
        ServiceOperator = "service_operator" => ("Operatore di un servizio", "Service operator"),
        Police = "police" => ("Forze dell'ordine", "Police"),
        Other = "other" => ("Altro", "Other"),
    }
}

vocabulary! {
    /// How a hotline call ended.
    CallOutcome ("call_outcome") {
        Information = "information" => ("Informazioni fornite", "Information given"),
        /// Diverted to the caller's regional Art. 18 project.
        Diverted = "diverted" => ("Deviata al progetto Art. 18 regionale", "Diverted to the regional Art. 18 project"),
        ReferralOpened = "referral_opened" => ("Segnalazione aperta", "Referral opened"),
        EmergencyActivation = "emergency_activation" => ("Attivazione in emergenza", "Emergency activation"),
    }
}

/// A call as logged (no personal data: the call log is statistics and routing).
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    /// When the call started (RFC 3339, or Europe/Rome local time); default now.
    pub started_at: Option<String>,
    /// Duration in seconds.
    #[validate(range(min = 0, max = 86400))]
    pub duration_secs: Option<i32>,
    pub language: Option<StationLanguage>,
    pub caller_kind: Option<CallerKind>,
    /// The caller's region (ISTAT code or name); taken from the province when omitted.
    pub region: Option<String>,
    /// The caller's province (ISTAT code, sigla or name).
    pub province: Option<String>,
    pub outcome: Option<CallOutcome>,
    /// With outcome `diverted`: the project diverted to; defaults to the caller's region's project.
    pub diverted_project: Option<String>,
    /// With outcome `referral_opened` or `emergency_activation`: the referral filed.
    #[schema(value_type = Option<i64>)]
    pub referral_id: Option<ReferralId>,
}

/// A call as shown.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CallView {
    pub id: i64,
    pub started_at: DateTime<FixedOffset>,
    pub duration_secs: i32,
    pub language: StationLanguage,
    pub caller_kind: CallerKind,
    /// ISTAT region code.
    pub region: Option<String>,
    /// ISTAT province code.
    pub province: Option<String>,
    pub outcome: CallOutcome,
    /// Id of the regional Art. 18 project the call was diverted to.
    pub diverted_project: Option<String>,
    pub referral_id: Option<i64>,
    pub operator_id: Option<i64>,
}

impl From<&CallRow> for CallView {
    fn from(r: &CallRow) -> Self {
        CallView {
            id: r.id.get(),
            started_at: rome(r.started_at),
            duration_secs: r.duration_secs,
            language: r.language,
            caller_kind: r.caller_kind,
            region: r.region.map(|r| r.code.to_owned()),
            province: r.province.map(|p| p.code.to_owned()),
            outcome: r.outcome,
            diverted_project: r.diverted_project.clone(),
            referral_id: r.referral_id.map(ReferralId::get),
            operator_id: r.operator_id.map(|u| u.get()),
        }
    }
}

/// The longest call the log takes (12 hours).
pub const MAX_CALL_SECS: i32 = 12 * 3600;

/// A checked call.
pub struct NewCall {
    pub started_at: NaiveDateTime,
    pub duration_secs: i32,
    pub language: StationLanguage,
    pub caller_kind: CallerKind,
    pub region: Option<Region>,
    pub province: Option<Province>,
    pub outcome: CallOutcome,
    pub diverted_project: Option<String>,
    pub referral_id: Option<ReferralId>,
}

impl CallInput {
    pub fn check(&self, protocols: &Protocols, now: NaiveDateTime) -> Result<NewCall, AppError> {
        let mut errors = Vec::new();
        let started_at = match &self.started_at {
            None => now,
            Some(s) => parse_instant(s).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "started_at",
                    "must be a date and time, e.g. 2026-11-25T03:10",
                ));
                now
            }),
        };
        let blank = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let province = blank(&self.province).and_then(|p| {
            Province::parse(&p).or_else(|| {
                errors.push(FieldError::new(
                    "province",
                    "is not an Italian province (ISTAT code or sigla)",
                ));
                None
            })
        });
        let mut region = blank(&self.region).and_then(|r| {
            Region::parse(&r).or_else(|| {
                errors.push(FieldError::new(
                    "region",
                    "is not an Italian region (ISTAT code or name)",
                ));
                None
            })
        });
        if let Some(p) = province {
            match region {
                Some(r) if r.code != p.region => errors.push(FieldError::new("province", "is not in the region given")),
                None => region = Some(p.region()),
                _ => {}
            }
        }
        // A call is logged after it ends: one that starts later than now (a minute of clock
        // drift allowed) is a typing mistake.
        if started_at > now + chrono::Duration::minutes(1) {
            errors.push(FieldError::new("started_at", "must not be in the future"));
        }
        match self.duration_secs {
            Some(d) if d < 0 => errors.push(FieldError::new("duration_secs", "must not be negative")),
            Some(d) if d > MAX_CALL_SECS => errors.push(FieldError::new("duration_secs", "must be at most 12 hours")),
            _ => {}
        }
        let outcome = self.outcome;
        if outcome.is_none() {
            errors.push(FieldError::new("outcome", "is required"));
        }
        let language = self.language.unwrap_or(StationLanguage::Italian);
        let caller_kind = self.caller_kind.unwrap_or(CallerKind::Other);
        let mut diverted_project = blank(&self.diverted_project);
        match outcome {
            Some(CallOutcome::Diverted) => match &diverted_project {
                Some(id) if !protocols.projects.iter().any(|p| &p.id == id) => {
                    errors.push(FieldError::new("diverted_project", "is not a regional Art. 18 project"));
                }
                Some(_) => {}
                None => match region.and_then(|r| protocols.project_for_region(r.code)) {
                    Some(p) => diverted_project = Some(p.id.clone()),
                    None => errors.push(FieldError::new(
                        "region",
                        "is needed to divert the call to the regional project",
                    )),
                },
            },
            Some(_) if diverted_project.is_some() => {
                errors.push(FieldError::new("diverted_project", "applies only to diverted calls"));
            }
            _ => {}
        }
        if self.referral_id.is_some()
            && !matches!(
                outcome,
                Some(CallOutcome::ReferralOpened | CallOutcome::EmergencyActivation)
            )
        {
            errors.push(FieldError::new(
                "referral_id",
                "applies only to calls that opened a referral",
            ));
        }
        match outcome {
            Some(outcome) if errors.is_empty() => Ok(NewCall {
                started_at,
                duration_secs: self.duration_secs.unwrap_or(0),
                language,
                caller_kind,
                region,
                province,
                outcome,
                diverted_project,
                referral_id: self.referral_id,
            }),
            _ => Err(AppError::Invalid(errors)),
        }
    }
}

/// Filters of the call log.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallFilter {
    pub outcome: Option<CallOutcome>,
    pub language: Option<StationLanguage>,
    /// Only calls older than this id (paging).
    pub before: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}
