//! TEMPORARY stub, replaced by the protocols branch at merge.

use crate::referrals::vocab::SourceKind;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Protocols {
    pub projects: Vec<Art18Project>,
    pub indicators: IndicatorSet,
    pub procedures: Vec<Procedure>,
}
#[derive(Debug, Clone, serde::Serialize)]
pub struct Art18Project {
    pub id: String,
    pub name: String,
    pub regions: Vec<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
}
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndicatorSet {
    pub version: String,
    pub items: Vec<Indicator>,
}
#[derive(Debug, Clone, serde::Serialize)]
pub struct Indicator {
    pub id: String,
    pub label_it: String,
    pub label_en: String,
}
#[derive(Debug, Clone, serde::Serialize)]
pub struct Procedure {
    pub source: SourceKind,
    pub label_it: String,
    pub label_en: String,
    pub steps_it: Vec<String>,
    pub steps_en: Vec<String>,
    pub consent_required: bool,
    pub hosted_org_required: bool,
    pub contact_hosting_cas: bool,
    pub interview_at_sai_desk: bool,
    pub feedback_to: Vec<String>,
}
impl Protocols {
    pub fn load(_dir: Option<&std::path::Path>) -> Result<Protocols, String> {
        Ok(Self::builtin())
    }
    pub fn builtin() -> Protocols {
        Protocols {
            projects: vec![Art18Project {
                id: "nave".into(),
                name: "N.A.Ve".into(),
                regions: vec!["05".into()],
                phone: None,
                email: None,
                notes: None,
            }],
            indicators: IndicatorSet {
                version: "stub".into(),
                items: ["debt_bondage", "documents_withheld", "request_for_help"]
                    .iter()
                    .map(|i| Indicator {
                        id: i.to_string(),
                        label_it: i.to_string(),
                        label_en: i.to_string(),
                    })
                    .collect(),
            },
            procedures: SourceKind::ALL
                .iter()
                .map(|s| Procedure {
                    source: *s,
                    label_it: String::new(),
                    label_en: String::new(),
                    steps_it: vec![],
                    steps_en: vec![],
                    consent_required: *s == SourceKind::TerritorialCommission,
                    hosted_org_required: matches!(s, SourceKind::CasOperator | SourceKind::Prefecture),
                    contact_hosting_cas: *s == SourceKind::Prefecture,
                    interview_at_sai_desk: *s == SourceKind::SaiOperator,
                    feedback_to: vec![],
                })
                .collect(),
        }
    }
    pub fn project_for_region(&self, region: &str) -> Option<&Art18Project> {
        self.projects.iter().find(|p| p.regions.iter().any(|r| r == region))
    }
    pub fn procedure(&self, source: SourceKind) -> &Procedure {
        self.procedures
            .iter()
            .find(|p| p.source == source)
            .unwrap_or(&self.procedures[0])
    }
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.items.iter().find(|i| i.id == id)
    }
}
