//! Protocols as data: the regional Art. 18 projects, the indicator checklist and the referral
//! procedure of each source, read from the TOML files in `protocols/`.
//!
//! The files are compiled in as defaults; a file of the same name in `settings.protocols_dir`
//! replaces the built-in one. Everything is checked at start, and a mistake stops the start with
//! an error naming the file and the key (`protocols/procedures.toml: procedures[3].source: …`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod assessment;
pub mod helpline;

use crate::domain::territory::{Region, REGIONS};
use crate::domain::Province;
use crate::domain::SourceKind;

/// File of the regional Art. 18 projects.
pub const PROJECTS_FILE: &str = "regional_projects.toml";
/// File of the indicator checklist.
pub const INDICATORS_FILE: &str = "indicators.toml";
/// File of the referral procedures.
pub const PROCEDURES_FILE: &str = "procedures.toml";
/// File of the assessment instrument.
pub const ASSESSMENT_FILE: &str = "assessment.toml";

const BUILTIN_PROJECTS: &str = include_str!("../../protocols/regional_projects.toml");
const BUILTIN_INDICATORS: &str = include_str!("../../protocols/indicators.toml");
const BUILTIN_PROCEDURES: &str = include_str!("../../protocols/procedures.toml");
const BUILTIN_ASSESSMENT: &str = include_str!("../../protocols/assessment.toml");

/// Who may receive a procedure's written feedback (*restituzione*): the referring body, the
/// operators of the CAS hosting the person, the territorial commission.
pub const FEEDBACK_RECIPIENTS: &[&str] = &["referrer", "hosting_cas", "commission"];

/// All protocol data, validated.
#[derive(Debug, Clone, Serialize)]
pub struct Protocols {
    pub projects: Vec<Art18Project>,
    pub indicators: IndicatorSet,
    /// One per source kind, in the order of `SourceKind::ALL`.
    pub procedures: Vec<Procedure>,
    /// The psycho-social assessment's checklist.
    pub assessment: assessment::Instrument,
    /// The 1522 helpline's network protocols (`helpline/*.toml`).
    pub helpline: Vec<helpline::HelplineProtocol>,
}

/// A regional Art. 18 anti-trafficking project (*Progetto Articolo 18 regionale*), to which the
/// central station diverts calls from its regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Art18Project {
    pub id: String,
    pub name: String,
    /// ISTAT region codes (`"05"`).
    pub regions: Vec<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
}

/// The versioned checklist of what the referring operator observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndicatorSet {
    /// Stored with each referral's answers, so that old answers keep their meaning.
    pub version: String,
    pub items: Vec<Indicator>,
    /// A minor is an emergency whatever the referrer chose.
    pub minors_are_emergencies: bool,
}

impl IndicatorSet {
    /// The items among `ids` that make a referral an emergency.
    pub fn emergencies<'a>(&'a self, ids: &'a [String]) -> impl Iterator<Item = &'a Indicator> + 'a {
        self.items.iter().filter(move |i| i.emergency && ids.contains(&i.id))
    }
}

crate::vocabulary! {
    /// The three kinds of observation seed 004 names for CAS referrals.
    IndicatorCategory ("indicator_category") {
        TraffickingIndicator = "trafficking_indicator" => ("Indicatore di tratta", "Trafficking indicator"),
        DangerSignal = "danger_signal" => ("Segnale di pericolo", "Danger signal"),
        RequestForHelp = "request_for_help" => ("Richiesta di aiuto", "Request for help"),
    }
}

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Indicator {
    pub id: String,
    pub category: IndicatorCategory,
    pub label_it: String,
    pub label_en: String,
    /// Observed, it makes the referral an emergency (`emergency = true` in the file).
    pub emergency: bool,
}

/// How the crisis unit handles a referral from one source, and the rules the service enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Procedure {
    pub source: SourceKind,
    pub label_it: String,
    pub label_en: String,
    pub steps_it: Vec<String>,
    pub steps_en: Vec<String>,
    /// The report must record the person's consent.
    pub consent_required: bool,
    /// The report must name the CAS hosting the person.
    pub hosted_org_required: bool,
    /// The unit contacts the operators of the hosting CAS.
    pub contact_hosting_cas: bool,
    /// The interview is scheduled at the SAI desk the person attends.
    pub interview_at_sai_desk: bool,
    /// Recipients of the written feedback, from `FEEDBACK_RECIPIENTS`; empty: none.
    pub feedback_to: Vec<String>,
}

/// A protocol file that cannot be read or breaks a rule. Messages name the file and the key,
/// never anything but the file's own content.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The file (or the protocols folder) cannot be read.
    #[error("{file}: cannot be read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the expected shape (unknown or missing key, wrong type).
    #[error("{file}: {key}: {message}")]
    Syntax { file: String, key: String, message: String },
    /// Well-formed, but breaks a rule.
    #[error("{file}: {key}: {message}")]
    Invalid { file: String, key: String, message: String },
}

impl ProtocolError {
    /// The file named by the error.
    pub fn file(&self) -> &str {
        match self {
            ProtocolError::Read { file, .. }
            | ProtocolError::Syntax { file, .. }
            | ProtocolError::Invalid { file, .. } => file,
        }
    }
}

impl Protocols {
    /// The built-in files, with each file present in `dir` replacing the one of the same name.
    /// A `dir` that cannot be read is an error (a configured folder must exist); other files in
    /// it are ignored, as later capabilities add their own.
    pub fn load(dir: Option<&Path>) -> Result<Protocols, ProtocolError> {
        if let Some(dir) = dir {
            std::fs::read_dir(dir).map_err(|source| ProtocolError::Read {
                file: dir.display().to_string(),
                source,
            })?;
        }
        let (file, text) = read(dir, PROJECTS_FILE, BUILTIN_PROJECTS)?;
        let projects = parse_projects(&file, &text)?;
        let (file, text) = read(dir, INDICATORS_FILE, BUILTIN_INDICATORS)?;
        let indicators = parse_indicators(&file, &text)?;
        let (file, text) = read(dir, PROCEDURES_FILE, BUILTIN_PROCEDURES)?;
        let procedures = parse_procedures(&file, &text)?;
        let (file, text) = read(dir, ASSESSMENT_FILE, BUILTIN_ASSESSMENT)?;
        let assessment = assessment::parse(&file, &text)?;
        let helpline = helpline::load(dir)?;
        Ok(Protocols {
            projects,
            indicators,
            procedures,
            assessment,
            helpline,
        })
    }

    /// The compiled-in files. Panics only if the shipped files are invalid, which a unit test
    /// rules out.
    pub fn builtin() -> Protocols {
        Protocols::load(None).unwrap_or_else(|e| panic!("the built-in protocols are invalid: {e}"))
    }

    /// The project covering a region, by ISTAT code (`"05"`, also `"5"` or the name).
    pub fn project_for_region(&self, region_code: &str) -> Option<&Art18Project> {
        let region = Region::parse(region_code)?;
        self.projects
            .iter()
            .find(|p| p.regions.iter().any(|r| r == region.code))
    }

    /// The project covering a province's region.
    pub fn project_for_province(&self, province: &Province) -> Option<&Art18Project> {
        self.project_for_region(province.region)
    }

    /// The procedure of a source. Every source has one (checked at load); panics only if
    /// `procedures` was emptied after loading.
    pub fn procedure(&self, source: SourceKind) -> &Procedure {
        self.procedures
            .iter()
            .find(|p| p.source == source)
            .unwrap_or_else(|| panic!("no procedure for source kind {source}: protocols not validated"))
    }

    /// A checklist item by id.
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.items.iter().find(|i| i.id == id)
    }
}

/// The file's text and the name errors use: `protocols/<name>` for the built-in one, the path for
/// a replacement.
fn read(dir: Option<&Path>, name: &str, builtin: &'static str) -> Result<(String, Cow<'static, str>), ProtocolError> {
    let builtin = || Ok((format!("protocols/{name}"), Cow::Borrowed(builtin)));
    let Some(dir) = dir else { return builtin() };
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            tracing::info!(file = %path.display(), "protocol file replaces the built-in one");
            Ok((path.display().to_string(), Cow::Owned(text)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => builtin(),
        Err(source) => Err(ProtocolError::Read {
            file: path.display().to_string(),
            source,
        }),
    }
}

/// Deserialises a TOML document; shape errors carry the key path (`items[2].label_en`).
fn from_toml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ProtocolError> {
    let syntax = |key: String, e: &toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let key = match (key.as_str(), line) {
            ("" | ".", Some(line)) => format!("line {line}"),
            ("" | ".", None) => "(document)".to_owned(),
            _ => key,
        };
        ProtocolError::Syntax {
            file: file.to_owned(),
            key,
            message: e.message().trim().to_owned(),
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| syntax(String::new(), &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| syntax(e.path().to_string(), e.inner()))
}

/// Builds rule errors for one file.
struct Rules<'a> {
    file: &'a str,
}

impl Rules<'_> {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> ProtocolError {
        ProtocolError::Invalid {
            file: self.file.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn not_blank(&self, key: impl Into<String>, value: &str) -> Result<(), ProtocolError> {
        if value.trim().is_empty() {
            return Err(self.err(key, "must not be empty"));
        }
        Ok(())
    }

    /// Ids are stored in referrals and used in URLs: lower-case ASCII, digits and `_`.
    fn snake_case_id(&self, key: impl Into<String>, id: &str) -> Result<(), ProtocolError> {
        let ok = id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(self.err(key, format!("{id:?} is not a snake_case id (a-z, 0-9, _)")));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectsFile {
    projects: Vec<Art18Project>,
}

fn parse_projects(file: &str, text: &str) -> Result<Vec<Art18Project>, ProtocolError> {
    let rules = Rules { file };
    let ProjectsFile { projects } = from_toml(file, text)?;
    let mut ids = HashSet::new();
    // Region code -> index of the project covering it.
    let mut covered: HashMap<&str, usize> = HashMap::new();
    for (i, p) in projects.iter().enumerate() {
        let key = |field: &str| format!("projects[{i}].{field}");
        rules.snake_case_id(key("id"), &p.id)?;
        if !ids.insert(p.id.as_str()) {
            return Err(rules.err(key("id"), format!("{:?} is used by another project", p.id)));
        }
        rules.not_blank(key("name"), &p.name)?;
        if p.regions.is_empty() {
            return Err(rules.err(key("regions"), "must list at least one ISTAT region code"));
        }
        for (j, code) in p.regions.iter().enumerate() {
            let key = format!("projects[{i}].regions[{j}]");
            let Some(region) = Region::by_code(code) else {
                return Err(rules.err(key, format!("{code:?} is not an ISTAT region code (\"01\" … \"20\")")));
            };
            match covered.insert(region.code, i) {
                Some(other) if other == i => return Err(rules.err(key, format!("{code:?} is listed twice"))),
                Some(other) => {
                    return Err(rules.err(
                        key,
                        format!("{} ({code}) is already covered by projects[{other}]", region.name),
                    ))
                }
                None => {}
            }
        }
        if let Some(phone) = &p.phone {
            let ok = phone.chars().any(|c| c.is_ascii_digit())
                && phone.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c));
            if !ok {
                return Err(rules.err(key("phone"), "must be a phone number (digits, spaces, + - . / ( ))"));
            }
        }
        if let Some(email) = &p.email {
            rules.not_blank(key("email"), email)?;
            crate::domain::parse_email(Some(email)).map_err(|message| rules.err(key("email"), message))?;
        }
        if let Some(notes) = &p.notes {
            rules.not_blank(key("notes"), notes)?;
        }
    }
    if let Some(region) = REGIONS.iter().find(|r| !covered.contains_key(r.code)) {
        return Err(rules.err(
            "projects",
            format!("{} ({}) is covered by no project", region.name, region.code),
        ));
    }
    Ok(projects)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorsFile {
    version: String,
    #[serde(default)]
    minors_are_emergencies: bool,
    items: Vec<RawIndicator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    id: String,
    category: String,
    label_it: String,
    label_en: String,
    #[serde(default)]
    emergency: bool,
}

fn parse_indicators(file: &str, text: &str) -> Result<IndicatorSet, ProtocolError> {
    let rules = Rules { file };
    let raw: IndicatorsFile = from_toml(file, text)?;
    rules.not_blank("version", &raw.version)?;
    if raw.items.is_empty() {
        return Err(rules.err("items", "the checklist has no items"));
    }
    let mut ids = HashSet::new();
    let mut items = Vec::with_capacity(raw.items.len());
    for (i, item) in raw.items.into_iter().enumerate() {
        let key = |field: &str| format!("items[{i}].{field}");
        rules.snake_case_id(key("id"), &item.id)?;
        if !ids.insert(item.id.clone()) {
            return Err(rules.err(key("id"), format!("{:?} is used by another item", item.id)));
        }
        let Some(category) = IndicatorCategory::parse(&item.category) else {
            let known: Vec<_> = IndicatorCategory::ALL.iter().map(|c| c.as_str()).collect();
            return Err(rules.err(
                key("category"),
                format!("{:?} is not a known category ({})", item.category, known.join(", ")),
            ));
        };
        rules.not_blank(key("label_it"), &item.label_it)?;
        rules.not_blank(key("label_en"), &item.label_en)?;
        items.push(Indicator {
            id: item.id,
            category,
            label_it: item.label_it,
            label_en: item.label_en,
            emergency: item.emergency,
        });
    }
    Ok(IndicatorSet {
        version: raw.version,
        items,
        minors_are_emergencies: raw.minors_are_emergencies,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProceduresFile {
    procedures: Vec<RawProcedure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcedure {
    source: String,
    label_it: String,
    label_en: String,
    steps_it: Vec<String>,
    steps_en: Vec<String>,
    consent_required: bool,
    hosted_org_required: bool,
    contact_hosting_cas: bool,
    interview_at_sai_desk: bool,
    feedback_to: Vec<String>,
}

fn parse_procedures(file: &str, text: &str) -> Result<Vec<Procedure>, ProtocolError> {
    let rules = Rules { file };
    let raw: ProceduresFile = from_toml(file, text)?;
    let mut seen: HashMap<SourceKind, usize> = HashMap::new();
    let mut procedures = Vec::with_capacity(raw.procedures.len());
    for (i, p) in raw.procedures.into_iter().enumerate() {
        let key = |field: &str| format!("procedures[{i}].{field}");
        let Some(source) = SourceKind::parse(&p.source) else {
            return Err(rules.err(key("source"), format!("{:?} is not a known source kind", p.source)));
        };
        if let Some(other) = seen.insert(source, i) {
            return Err(rules.err(
                key("source"),
                format!("{:?} already has a procedure (procedures[{other}])", p.source),
            ));
        }
        rules.not_blank(key("label_it"), &p.label_it)?;
        rules.not_blank(key("label_en"), &p.label_en)?;
        for (field, steps) in [("steps_it", &p.steps_it), ("steps_en", &p.steps_en)] {
            if steps.is_empty() {
                return Err(rules.err(key(field), "must list at least one step"));
            }
            for (j, step) in steps.iter().enumerate() {
                rules.not_blank(format!("procedures[{i}].{field}[{j}]"), step)?;
            }
        }
        // The two lists are translations of each other, shown side by side.
        if p.steps_it.len() != p.steps_en.len() {
            return Err(rules.err(
                key("steps_en"),
                format!("has {} steps, steps_it has {}", p.steps_en.len(), p.steps_it.len()),
            ));
        }
        // A commission shares what it heard at audition: never without the person's consent.
        if source == SourceKind::TerritorialCommission && !p.consent_required {
            return Err(rules.err(key("consent_required"), "must be true for territorial_commission"));
        }
        // The unit cannot contact the hosting CAS if the report need not name it.
        if p.contact_hosting_cas && !p.hosted_org_required {
            return Err(rules.err(key("contact_hosting_cas"), "needs hosted_org_required = true"));
        }
        let mut recipients = HashSet::new();
        for (j, to) in p.feedback_to.iter().enumerate() {
            let key = format!("procedures[{i}].feedback_to[{j}]");
            if !FEEDBACK_RECIPIENTS.contains(&to.as_str()) {
                return Err(rules.err(
                    key,
                    format!("{to:?} is not a known recipient ({})", FEEDBACK_RECIPIENTS.join(", ")),
                ));
            }
            if !recipients.insert(to.as_str()) {
                return Err(rules.err(key, format!("{to:?} is listed twice")));
            }
        }
        procedures.push(Procedure {
            source,
            label_it: p.label_it,
            label_en: p.label_en,
            steps_it: p.steps_it,
            steps_en: p.steps_en,
            consent_required: p.consent_required,
            hosted_org_required: p.hosted_org_required,
            contact_hosting_cas: p.contact_hosting_cas,
            interview_at_sai_desk: p.interview_at_sai_desk,
            feedback_to: p.feedback_to,
        });
    }
    if let Some(missing) = SourceKind::ALL.iter().find(|s| !seen.contains_key(s)) {
        return Err(rules.err(
            "procedures",
            format!("no procedure for source kind {:?}", missing.as_str()),
        ));
    }
    // A stable order for pages and the API, whatever the file's order.
    procedures.sort_by_key(|p| SourceKind::ALL.iter().position(|s| *s == p.source));
    Ok(procedures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_text<T: std::fmt::Debug>(r: Result<T, ProtocolError>) -> String {
        r.expect_err("the file should be rejected").to_string()
    }

    #[test]
    fn the_builtin_files_load() {
        let p = Protocols::builtin();
        assert_eq!(p.projects.len(), 18);
        assert_eq!(p.procedures.len(), SourceKind::ALL.len());
        assert_eq!(p.indicators.version, "2026-11");
        assert!((15..=25).contains(&p.indicators.items.len()));
        for c in IndicatorCategory::ALL {
            assert!(p.indicators.items.iter().any(|i| i.category == *c), "{c:?}");
        }
        assert_eq!(
            p.indicator("debt_bondage").map(|i| i.category),
            Some(IndicatorCategory::TraffickingIndicator)
        );
        assert!(p.indicator("nope").is_none());
    }

    #[test]
    fn veneto_is_nave_and_every_region_has_exactly_one_project() {
        let p = Protocols::builtin();
        assert_eq!(p.project_for_region("05").map(|p| p.id.as_str()), Some("nave"));
        assert!(p.project_for_region("05").is_some_and(|p| p.name.contains("N.A.Ve")));
        for r in REGIONS {
            let n = p
                .projects
                .iter()
                .filter(|p| p.regions.iter().any(|c| c == r.code))
                .count();
            assert_eq!(n, 1, "{}", r.name);
            assert!(p.project_for_region(r.code).is_some());
        }
        assert!(p.project_for_region("21").is_none());
        let verona = Province::parse("VR").expect("Verona");
        assert_eq!(p.project_for_province(&verona).map(|p| p.id.as_str()), Some("nave"));
        let aosta = Province::parse("AO").expect("Aosta");
        assert_eq!(
            p.project_for_province(&aosta).map(|p| p.id.as_str()),
            Some("piemonte_valle_aosta")
        );
    }

    #[test]
    fn builtin_procedures_carry_the_seed_flags() {
        let p = Protocols::builtin();
        for s in SourceKind::ALL {
            assert_eq!(p.procedure(*s).source, *s);
            assert_eq!(
                p.procedure(*s).consent_required,
                *s == SourceKind::TerritorialCommission
            );
        }
        let prefecture = p.procedure(SourceKind::Prefecture);
        assert!(prefecture.hosted_org_required && prefecture.contact_hosting_cas);
        let cas = p.procedure(SourceKind::CasOperator);
        assert!(cas.hosted_org_required && !cas.contact_hosting_cas);
        assert_eq!(cas.feedback_to, ["referrer", "commission"]);
        assert!(p.procedure(SourceKind::SaiOperator).interview_at_sai_desk);
        assert_eq!(
            p.procedure(SourceKind::TerritorialCommission).feedback_to,
            ["commission"]
        );
        assert_eq!(
            p.procedures.iter().map(|p| p.source).collect::<Vec<_>>(),
            SourceKind::ALL.to_vec()
        );
    }

    // --- regional projects ---

    const VENETO_ONLY: &str = r#"
[[projects]]
id = "nave"
name = "N.A.Ve"
regions = ["05"]
"#;

    /// The built-in file with `from` replaced by `to` (the rest stays valid).
    fn projects_with(from: &str, to: &str) -> String {
        assert!(BUILTIN_PROJECTS.contains(from), "{from}");
        BUILTIN_PROJECTS.replacen(from, to, 1)
    }

    #[test]
    fn a_region_left_uncovered_is_named() {
        let e = err_text(parse_projects("protocols/regional_projects.toml", VENETO_ONLY));
        assert_eq!(
            e,
            "protocols/regional_projects.toml: projects: Piemonte (01) is covered by no project"
        );
    }

    #[test]
    fn a_region_covered_twice_or_unknown_is_named() {
        // The later occurrence is named, with the project that covers the region first.
        let text = projects_with(r#"regions = ["03"]"#, r#"regions = ["03", "05"]"#);
        let e = err_text(parse_projects("f.toml", &text));
        assert_eq!(
            e,
            "f.toml: projects[3].regions[0]: Veneto (05) is already covered by projects[1]"
        );
        let text = projects_with(r#"regions = ["05"]"#, r#"regions = ["05", "03"]"#);
        let e = err_text(parse_projects("f.toml", &text));
        assert_eq!(
            e,
            "f.toml: projects[3].regions[1]: Lombardia (03) is already covered by projects[1]"
        );
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"regions = ["03"]"#, r#"regions = ["Lombardia"]"#),
        ));
        assert!(
            e.starts_with("f.toml: projects[1].regions[0]: \"Lombardia\" is not an ISTAT region code"),
            "{e}"
        );
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"regions = ["03"]"#, r#"regions = ["03", "03"]"#),
        ));
        assert_eq!(e, "f.toml: projects[1].regions[1]: \"03\" is listed twice");
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"regions = ["03"]"#, "regions = []"),
        ));
        assert!(e.starts_with("f.toml: projects[1].regions: "), "{e}");
    }

    #[test]
    fn project_ids_names_and_contacts_are_checked() {
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"id = "lombardia""#, r#"id = "nave""#),
        ));
        assert_eq!(e, "f.toml: projects[3].id: \"nave\" is used by another project");
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"id = "lombardia""#, r#"id = "Lombardia""#),
        ));
        assert!(e.starts_with("f.toml: projects[1].id: "), "{e}");
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"name = "Progetto Art. 18 – Lombardia""#, r#"name = " ""#),
        ));
        assert_eq!(e, "f.toml: projects[1].name: must not be empty");
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"regions = ["03"]"#, "regions = [\"03\"]\nemail = \"not an address\""),
        ));
        assert_eq!(e, "f.toml: projects[1].email: must be an email address");
        let e = err_text(parse_projects(
            "f.toml",
            &projects_with(r#"regions = ["03"]"#, "regions = [\"03\"]\nphone = \"call us\""),
        ));
        assert!(e.starts_with("f.toml: projects[1].phone: "), "{e}");
        let ok = parse_projects(
            "f.toml",
            &projects_with(r#"regions = ["03"]"#, "regions = [\"03\"]\nphone = \"+39 02 1234\""),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn a_misspelt_or_missing_key_is_named() {
        let text = projects_with(r#"regions = ["03"]"#, "regions = [\"03\"]\nemial = \"a@b.it\"");
        let e = err_text(parse_projects("f.toml", &text));
        assert!(e.starts_with("f.toml: projects[1].emial: unknown field `emial`"), "{e}");
        let e = err_text(parse_projects(
            "f.toml",
            "[[projects]]\nid = \"x\"\nregions = [\"01\"]\n",
        ));
        assert!(e.starts_with("f.toml: projects[0]: missing field `name`"), "{e}");
        let e = err_text(parse_projects("f.toml", "[[projects]]\nid = \"x\"\nname = 3\n"));
        assert!(e.starts_with("f.toml: projects[0].name: invalid type"), "{e}");
    }

    #[test]
    fn toml_that_does_not_parse_names_the_line() {
        let e = err_text(parse_projects("f.toml", "[[projects]]\nid = \"x\"\nname = \n"));
        assert!(e.starts_with("f.toml: line 3: "), "{e}");
    }

    // --- indicators ---

    const INDICATORS: &str = r#"
version = "2026-11"
[[items]]
id = "debt_bondage"
category = "trafficking_indicator"
label_it = "Debito"
label_en = "Debt"
[[items]]
id = "explicit_request_for_help"
category = "request_for_help"
label_it = "Chiede aiuto"
label_en = "Asks for help"
"#;

    #[test]
    fn indicators_are_checked() {
        let f = "protocols/indicators.toml";
        assert_eq!(parse_indicators(f, INDICATORS).map(|s| s.items.len()).ok(), Some(2));
        let dup = INDICATORS.replace("explicit_request_for_help", "debt_bondage");
        assert_eq!(
            err_text(parse_indicators(f, &dup)),
            "protocols/indicators.toml: items[1].id: \"debt_bondage\" is used by another item"
        );
        let bad = INDICATORS.replace("\"request_for_help\"", "\"cry_for_help\"");
        assert_eq!(
            err_text(parse_indicators(f, &bad)),
            "protocols/indicators.toml: items[1].category: \"cry_for_help\" is not a known category \
             (trafficking_indicator, danger_signal, request_for_help)"
        );
        let bad = INDICATORS.replace("label_en = \"Debt\"", "label_en = \"\"");
        assert_eq!(
            err_text(parse_indicators(f, &bad)),
            format!("{f}: items[0].label_en: must not be empty")
        );
        let bad = INDICATORS.replace("id = \"debt_bondage\"", "id = \"debt-bondage\"");
        assert!(err_text(parse_indicators(f, &bad)).starts_with(&format!("{f}: items[0].id: ")));
        let bad = INDICATORS.replace("version = \"2026-11\"", "version = \"\"");
        assert_eq!(
            err_text(parse_indicators(f, &bad)),
            format!("{f}: version: must not be empty")
        );
        let bad = INDICATORS.replace("version = \"2026-11\"", "");
        assert!(err_text(parse_indicators(f, &bad)).contains("missing field `version`"));
        let bad = INDICATORS.replace("label_it = \"Debito\"", "label_it = \"Debito\"\nlabel_fr = \"Dette\"");
        assert!(err_text(parse_indicators(f, &bad)).starts_with(&format!("{f}: items[0].label_fr: unknown field")));
        assert_eq!(
            err_text(parse_indicators(f, "version = \"1\"\nitems = []")),
            format!("{f}: items: the checklist has no items")
        );
    }

    // --- procedures ---

    /// The built-in file with `from` replaced by `to`.
    fn procedures_with(from: &str, to: &str) -> String {
        assert!(BUILTIN_PROCEDURES.contains(from), "{from}");
        BUILTIN_PROCEDURES.replacen(from, to, 1)
    }

    #[test]
    fn an_unknown_or_repeated_source_is_named() {
        let f = "protocols/procedures.toml";
        let e = err_text(parse_procedures(
            f,
            &procedures_with(r#"source = "police""#, r#"source = "prefettura""#),
        ));
        assert_eq!(
            e,
            "protocols/procedures.toml: procedures[4].source: \"prefettura\" is not a known source kind"
        );
        let e = err_text(parse_procedures(
            f,
            &procedures_with(r#"source = "police""#, r#"source = "prefecture""#),
        ));
        assert_eq!(
            e,
            "protocols/procedures.toml: procedures[4].source: \"prefecture\" already has a procedure (procedures[1])"
        );
    }

    #[test]
    fn a_source_without_procedure_is_named() {
        let f = "protocols/procedures.toml";
        // Drop the last procedure ("self").
        let cut = BUILTIN_PROCEDURES.rfind("[[procedures]]").expect("a procedure");
        let e = err_text(parse_procedures(f, &BUILTIN_PROCEDURES[..cut]));
        assert_eq!(
            e,
            "protocols/procedures.toml: procedures: no procedure for source kind \"self\""
        );
    }

    #[test]
    fn procedure_rules_are_checked() {
        let f = "p.toml";
        // The commission's consent cannot be switched off.
        let text = procedures_with("consent_required = true", "consent_required = false");
        assert_eq!(
            err_text(parse_procedures(f, &text)),
            "p.toml: procedures[2].consent_required: must be true for territorial_commission"
        );
        // The prefecture's procedure contacts the hosting CAS, so it must name it.
        let text = procedures_with(
            "hosted_org_required = true\ncontact_hosting_cas = true",
            "hosted_org_required = false\ncontact_hosting_cas = true",
        );
        assert_eq!(
            err_text(parse_procedures(f, &text)),
            "p.toml: procedures[1].contact_hosting_cas: needs hosted_org_required = true"
        );
        let text = procedures_with(r#"feedback_to = ["commission"]"#, r#"feedback_to = ["questura"]"#);
        assert!(err_text(parse_procedures(f, &text))
            .starts_with("p.toml: procedures[2].feedback_to[0]: \"questura\" is not a known recipient"));
        let text = procedures_with(
            r#"feedback_to = ["commission"]"#,
            r#"feedback_to = ["commission", "commission"]"#,
        );
        assert_eq!(
            err_text(parse_procedures(f, &text)),
            "p.toml: procedures[2].feedback_to[1]: \"commission\" is listed twice"
        );
        let text = procedures_with(
            "    \"Si valutano eventuali interventi successivi.\",\n",
            "    \"Si valutano eventuali interventi successivi.\",\n    \"In più.\",\n",
        );
        assert_eq!(
            err_text(parse_procedures(f, &text)),
            "p.toml: procedures[0].steps_en: has 6 steps, steps_it has 7"
        );
        let text = procedures_with(
            "    \"Si valutano eventuali interventi successivi.\",\n",
            "    \" \",\n",
        );
        assert_eq!(
            err_text(parse_procedures(f, &text)),
            "p.toml: procedures[0].steps_it[3]: must not be empty"
        );
        let text = procedures_with("interview_at_sai_desk = true", "interview_at_sai_desk = \"yes\"");
        assert!(err_text(parse_procedures(f, &text))
            .starts_with("p.toml: procedures[3].interview_at_sai_desk: invalid type"));
        let text = procedures_with(
            "interview_at_sai_desk = true",
            "interview_at_sai_desk = true\nsai_desk = true",
        );
        assert!(err_text(parse_procedures(f, &text)).starts_with("p.toml: procedures[3].sai_desk: unknown field"));
    }

    // --- loading from a folder ---

    #[test]
    fn a_folder_replaces_only_the_files_it_holds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let builtin = Protocols::builtin();
        // Nothing in the folder: the built-in data.
        let p = Protocols::load(Some(dir.path())).expect("loads");
        assert_eq!(p.projects, builtin.projects);
        let indicators = INDICATORS.replace("2026-11", "2027-01");
        std::fs::write(dir.path().join(INDICATORS_FILE), indicators).expect("write");
        std::fs::write(dir.path().join("helpline_1522.toml"), "not ours = [").expect("write");
        let p = Protocols::load(Some(dir.path())).expect("loads");
        assert_eq!(p.indicators.version, "2027-01");
        assert_eq!(p.indicators.items.len(), 2);
        assert_eq!(p.projects, builtin.projects);
        assert_eq!(p.procedures, builtin.procedures);
    }

    #[test]
    fn a_bad_file_in_the_folder_is_named_by_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(PROJECTS_FILE);
        std::fs::write(&path, VENETO_ONLY).expect("write");
        let e = err_text(Protocols::load(Some(dir.path())));
        assert_eq!(
            e,
            format!("{}: projects: Piemonte (01) is covered by no project", path.display())
        );
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nope");
        let e = Protocols::load(Some(&missing)).expect_err("missing folder");
        assert_eq!(e.file(), missing.display().to_string());
        assert!(matches!(e, ProtocolError::Read { .. }));
    }
}
