//! What a report asks for (measure, indicators, period, territory) and what it answers.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::domain::time::date_in_range;
use crate::domain::{Country, Lang, Province, Region, SourceKind};
use crate::error::AppError;
use crate::vocabulary;

vocabulary! {
    /// What a table counts; the three are never mixed in one table.
    Measure ("measure") {
        /// Referrals (contacts), declined ones included; drafts not yet confirmed are not counted.
        Referrals = "referrals" => ("Segnalazioni (contatti, anche non prese in carico)", "Referrals (contacts, declined ones included)"),
        /// Cases opened from the referrals.
        Cases = "cases" => ("Casi", "Cases"),
        /// Persons, each counted once across channels through the person links (a referral not
        /// linked to a person counts as a person of its own).
        Persons = "persons" => ("Persone (contate una volta)", "Persons (counted once)"),
    }
}

vocabulary! {
    /// An indicator kept for every referral and case: the seed's seven (gender, age, territory
    /// of emergence and of exploitation, type of exploitation, activating subject, outcome) and
    /// the others a statistician asks for.
    Indicator ("indicator") as "ObservatoryIndicator" {
        Gender = "gender" => ("Genere", "Gender"),
        AgeBand = "age_band" => ("Fascia d'età", "Age band"),
        Minor = "minor" => ("Minore", "Minor"),
        EmergenceRegion = "emergence_region" => ("Regione di emersione", "Region of emergence"),
        EmergenceProvince = "emergence_province" => ("Provincia di emersione", "Province of emergence"),
        ExploitationRegion = "exploitation_region" => ("Regione di sfruttamento", "Region of exploitation"),
        ExploitationProvince = "exploitation_province" => ("Provincia di sfruttamento", "Province of exploitation"),
        ExploitationType = "exploitation_type" => ("Tipologia di sfruttamento", "Type of exploitation"),
        LabourSector = "labour_sector" => ("Settore dello sfruttamento lavorativo", "Sector of labour exploitation"),
        RecruiterRelation = "recruiter_relation" => ("Relazione con chi ha reclutato", "Relation to the recruiter"),
        SourceKind = "source_kind" => ("Soggetto attivatore", "Activating subject"),
        InternationalProtection = "international_protection" => ("Dal sistema di protezione internazionale", "From the international-protection system"),
        Channel = "channel" => ("Canale", "Channel"),
        Citizenship = "citizenship" => ("Cittadinanza", "Citizenship"),
        Outcome = "outcome" => ("Esito", "Outcome"),
        MeansOfControl = "means_of_control" => ("Mezzi di controllo", "Means of control"),
        Status = "status" => ("Stato della segnalazione", "Referral status"),
        Year = "year" => ("Anno di registrazione", "Year of registration"),
        Quarter = "quarter" => ("Trimestre di registrazione", "Quarter of registration"),
        Month = "month" => ("Mese di registrazione", "Month of registration"),
    }
}

vocabulary! {
    /// Which territory a region or province filter reads.
    TerritoryBasis ("territory") {
        Emergence = "emergence" => ("Territorio di emersione", "Territory of emergence"),
        Exploitation = "exploitation" => ("Territorio di sfruttamento", "Territory of exploitation"),
    }
}

vocabulary! {
    /// The means of control, in the categories of the CTDC global dataset, from the indicators
    /// observed at intake (`protocols/indicators.toml`).
    MeansOfControl ("means_of_control") {
        DebtBondage = "debt_bondage" => ("Servitù per debiti", "Debt bondage"),
        TakesEarnings = "takes_earnings" => ("Sottrazione dei guadagni", "Takes earnings"),
        Threats = "threats" => ("Minacce", "Threats"),
        PsychologicalAbuse = "psychological_abuse" => ("Abuso psicologico (anche rito)", "Psychological abuse (including oath rituals)"),
        PhysicalAbuse = "physical_abuse" => ("Violenza fisica", "Physical abuse"),
        FalsePromises = "false_promises" => ("False promesse", "False promises"),
        RestrictsMovement = "restricts_movement" => ("Limitazione di movimenti e comunicazioni", "Restricts movement and communication"),
        RestrictsMedicalCare = "restricts_medical_care" => ("Negazione delle cure", "Restricts medical care"),
        ExcessiveWorkingHours = "excessive_working_hours" => ("Orari eccessivi o lavoro non pagato", "Excessive or unpaid work"),
        WithholdsDocuments = "withholds_documents" => ("Trattenimento dei documenti", "Withholds documents"),
        NotSpecified = "not_specified" => ("Non rilevati", "Not specified"),
    }
}

/// The indicator ids of the intake checklist that show a means of control.
pub const MEANS_OF_CONTROL: &[(&str, MeansOfControl)] = &[
    ("debt_bondage", MeansOfControl::DebtBondage),
    ("hands_over_earnings", MeansOfControl::TakesEarnings),
    ("threats_or_intimidation", MeansOfControl::Threats),
    ("fear_of_retaliation_on_family", MeansOfControl::Threats),
    ("ritual_oath", MeansOfControl::PsychologicalAbuse),
    ("signs_of_violence", MeansOfControl::PhysicalAbuse),
    ("recruited_with_false_promises", MeansOfControl::FalsePromises),
    ("controlled_movements", MeansOfControl::RestrictsMovement),
    ("controlled_communication", MeansOfControl::RestrictsMovement),
    ("untreated_health_problems", MeansOfControl::RestrictsMedicalCare),
    ("unpaid_or_excessive_work", MeansOfControl::ExcessiveWorkingHours),
    ("documents_withheld", MeansOfControl::WithholdsDocuments),
];

/// Sources of the international-protection system (seed 004: CAS operators, prefectures,
/// territorial commissions, SPRAR/SAI operators).
pub const PROTECTION_SOURCES: &[SourceKind] = &[
    SourceKind::CasOperator,
    SourceKind::Prefecture,
    SourceKind::TerritorialCommission,
    SourceKind::SaiOperator,
];

/// The code of a value not recorded.
pub const UNKNOWN: &str = "unknown";
/// The key of the only row or column of a table with fewer dimensions.
pub const ALL: &str = "all";
/// The longest period a report covers, in years.
pub const MAX_YEARS: i32 = 60;
/// The most periods a trend (a year, quarter or month breakdown) has.
pub const MAX_BUCKETS: usize = 400;

impl Indicator {
    /// True when a referral may fall under more than one value (its rows are joined).
    pub fn multi_valued(self) -> bool {
        matches!(
            self,
            Indicator::ExploitationType
                | Indicator::LabourSector
                | Indicator::RecruiterRelation
                | Indicator::Outcome
                | Indicator::MeansOfControl
        )
    }

    pub fn is_period(self) -> bool {
        matches!(self, Indicator::Year | Indicator::Quarter | Indicator::Month)
    }

    /// The label of one of this indicator's values.
    pub fn value_label(self, code: &str, lang: Lang) -> String {
        use crate::casework::vocab::OutcomeKind;
        use crate::referrals::vocab::{
            AgeBand, Channel, ExploitationType, Gender, LabourSector, RecruiterRelation, Status,
        };
        let it = lang == Lang::It;
        if code == ALL {
            return if it { "Totale" } else { "Total" }.to_owned();
        }
        if code == UNKNOWN {
            return if it { "Non rilevato" } else { "Not recorded" }.to_owned();
        }
        if code == "none" {
            return if it {
                "Nessun esito registrato"
            } else {
                "No outcome recorded"
            }
            .to_owned();
        }
        let known = match self {
            Indicator::Gender => Gender::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::AgeBand => AgeBand::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::Minor | Indicator::InternationalProtection => Some(
                match (code, it) {
                    ("yes", true) => "Sì",
                    ("yes", false) => "Yes",
                    (_, true) => "No",
                    (_, false) => "No",
                }
                .to_owned(),
            ),
            Indicator::EmergenceRegion | Indicator::ExploitationRegion => {
                Region::by_code(code).map(|r| r.name.to_owned())
            }
            Indicator::EmergenceProvince | Indicator::ExploitationProvince => {
                Province::by_code(code).map(|p| p.name.to_owned())
            }
            Indicator::ExploitationType => ExploitationType::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::LabourSector => LabourSector::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::RecruiterRelation => RecruiterRelation::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::SourceKind => SourceKind::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::Channel => Channel::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::Citizenship => Country::by_code(code).map(|c| c.name(lang).to_owned()),
            Indicator::Outcome => OutcomeKind::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::MeansOfControl => MeansOfControl::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::Status => Status::parse(code).map(|v| v.label(lang).to_owned()),
            Indicator::Year | Indicator::Quarter | Indicator::Month => {
                Some(code.replace("-Q", if it { " T" } else { " Q" }))
            }
        };
        known.unwrap_or_else(|| code.to_owned())
    }
}

/// The UTC instant a Europe/Rome day begins; on the days of the 1940s–1970s when the clocks went
/// forward at midnight, the first hour that exists.
fn rome_day_start(d: NaiveDate) -> Option<NaiveDateTime> {
    crate::domain::time::rome_day_start(d).or_else(|| {
        use chrono::TimeZone;
        let one = d.and_hms_opt(1, 0, 0)?;
        crate::clock::ROME
            .from_local_datetime(&one)
            .earliest()
            .map(|t| t.naive_utc())
    })
}

/// A territory filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Territory {
    National,
    Region(Region),
    Province(Province),
}

impl Territory {
    /// The territory from the `region` and `province` inputs (at most one).
    pub fn parse(region: Option<&str>, province: Option<&str>) -> Result<Territory, AppError> {
        match (
            region.map(str::trim).filter(|s| !s.is_empty()),
            province.map(str::trim).filter(|s| !s.is_empty()),
        ) {
            (None, None) => Ok(Territory::National),
            (Some(_), Some(_)) => Err(AppError::bad_request(
                "province",
                "give a region or a province, not both",
            )),
            (Some(r), None) => Region::parse(r)
                .map(Territory::Region)
                .ok_or_else(|| AppError::bad_request("region", "is not an Italian region (ISTAT code or name)")),
            (None, Some(p)) => Province::parse(p)
                .map(Territory::Province)
                .ok_or_else(|| AppError::bad_request("province", "is not an Italian province (ISTAT code or sigla)")),
        }
    }

    pub fn code(self) -> String {
        match self {
            Territory::National => "IT".to_owned(),
            Territory::Region(r) => format!("region:{}", r.code),
            Territory::Province(p) => format!("province:{}", p.code),
        }
    }

    pub fn label(self, lang: Lang) -> String {
        match self {
            Territory::National => if lang == Lang::It { "Italia" } else { "Italy" }.to_owned(),
            Territory::Region(r) => r.name.to_owned(),
            Territory::Province(p) => p.name.to_owned(),
        }
    }
}

/// A period of Europe/Rome days, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The UTC instant the first day begins.
    pub start: NaiveDateTime,
    /// The UTC instant the day after the last begins.
    pub end: NaiveDateTime,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, AppError> {
        if !date_in_range(from) {
            return Err(AppError::bad_request("from", crate::domain::time::OUT_OF_RANGE));
        }
        if !date_in_range(to) {
            return Err(AppError::bad_request("to", crate::domain::time::OUT_OF_RANGE));
        }
        if to < from {
            return Err(AppError::bad_request("to", "must not be before from"));
        }
        if to.year() - from.year() > MAX_YEARS {
            return Err(AppError::bad_request("to", "a report covers at most 60 years"));
        }
        let start = rome_day_start(from).ok_or_else(|| AppError::bad_request("from", "is out of range"))?;
        let end = to
            .succ_opt()
            .and_then(rome_day_start)
            .ok_or_else(|| AppError::bad_request("to", "is out of range"))?;
        Ok(Period { from, to, start, end })
    }

    /// The buckets of a year, quarter or month breakdown: label and UTC start, in order.
    pub fn buckets(&self, by: Indicator) -> Result<Vec<(String, NaiveDateTime)>, AppError> {
        let mut out = Vec::new();
        let mut d = match by {
            Indicator::Year => NaiveDate::from_ymd_opt(self.from.year(), 1, 1),
            Indicator::Quarter => NaiveDate::from_ymd_opt(self.from.year(), (self.from.month0() / 3) * 3 + 1, 1),
            _ => NaiveDate::from_ymd_opt(self.from.year(), self.from.month(), 1),
        }
        .ok_or_else(|| AppError::bad_request("from", "is out of range"))?;
        while d <= self.to {
            if out.len() >= MAX_BUCKETS {
                return Err(AppError::bad_request(
                    "to",
                    "a breakdown by period has at most 400 periods",
                ));
            }
            let label = match by {
                Indicator::Year => format!("{}", d.year()),
                Indicator::Quarter => format!("{}-Q{}", d.year(), d.month0() / 3 + 1),
                _ => format!("{}-{:02}", d.year(), d.month()),
            };
            let start =
                rome_day_start(d.max(self.from)).ok_or_else(|| AppError::bad_request("from", "is out of range"))?;
            out.push((label, start));
            let months = match by {
                Indicator::Year => 12,
                Indicator::Quarter => 3,
                _ => 1,
            };
            d = d
                .checked_add_months(chrono::Months::new(months))
                .ok_or_else(|| AppError::bad_request("to", "is out of range"))?;
        }
        Ok(out)
    }
}

/// A report's question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub measure: Measure,
    pub rows: Option<Indicator>,
    pub cols: Option<Indicator>,
    pub period: Period,
    pub territory: Territory,
    pub basis: TerritoryBasis,
}

impl Spec {
    /// The parameters, as the audit log records them (no personal data: codes and dates).
    pub fn describe(&self) -> String {
        format!(
            "measure={} rows={} cols={} from={} to={} territory={} basis={}",
            self.measure,
            self.rows.map_or("-", Indicator::as_str),
            self.cols.map_or("-", Indicator::as_str),
            self.period.from,
            self.period.to,
            self.territory.code(),
            self.basis
        )
    }

    /// True when every referral falls in exactly one cell, so that margins are sums of cells.
    pub fn partitions(&self) -> bool {
        self.measure == Measure::Referrals
            && !self.rows.is_some_and(Indicator::multi_valued)
            && !self.cols.is_some_and(Indicator::multi_valued)
    }
}

/// A table with exact counts (inside the unit only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub spec: Spec,
    /// Row keys (codes), in order; `[ALL]` without a row indicator.
    pub rows: Vec<String>,
    /// Column keys (codes), in order; `[ALL]` without a column indicator.
    pub cols: Vec<String>,
    /// `cells[r][c]`.
    pub cells: Vec<Vec<i64>>,
    pub row_totals: Vec<i64>,
    pub col_totals: Vec<i64>,
    pub total: i64,
    /// Referrals of the selection linked to a person, and the distinct persons they are about.
    pub linked_referrals: i64,
    pub linked_persons: i64,
}

impl Table {
    pub fn cell(&self, row: &str, col: &str) -> Option<i64> {
        let r = self.rows.iter().position(|k| k == row)?;
        let c = self.cols.iter().position(|k| k == col)?;
        Some(self.cells[r][c])
    }

    pub fn row_total(&self, row: &str) -> Option<i64> {
        let r = self.rows.iter().position(|k| k == row)?;
        Some(self.row_totals[r])
    }

    pub fn col_total(&self, col: &str) -> Option<i64> {
        let c = self.cols.iter().position(|k| k == col)?;
        Some(self.col_totals[c])
    }
}
