//! The assessment instrument (`protocols/assessment.toml`): elements of indicators with their
//! strength, the rule that makes an element present, and the verdict over the elements.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{from_toml, ProtocolError, Rules};

crate::vocabulary! {
    /// How much an indicator weighs (ILO/EC 2009).
    Strength ("indicator_strength") {
        Strong = "strong" => ("Forte", "Strong"),
        Medium = "medium" => ("Medio", "Medium"),
        Weak = "weak" => ("Debole", "Weak"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    pub version: String,
    pub positive_when: Vec<Minimum>,
    pub verdict: Verdict,
    pub elements: Vec<Element>,
}

/// One way an element can be present: at least this many indicators of each strength.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Minimum {
    #[serde(default)]
    pub strong: u32,
    #[serde(default)]
    pub medium: u32,
    #[serde(default)]
    pub weak: u32,
    #[serde(default)]
    pub medium_or_weak: u32,
}

/// Every group needs one of its elements present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub all_of: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Element {
    pub id: String,
    pub label_it: String,
    pub label_en: String,
    /// Whether the element counts toward the verdict (means of control are recorded only).
    pub scored: bool,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub label_it: String,
    pub label_en: String,
    /// Required for the items of a scored element.
    pub strength: Option<Strength>,
}

/// What a checklist shows: each scored element present or not, and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    pub elements: Vec<(String, bool)>,
    /// Indications of trafficking by the instrument's rule.
    pub indications: bool,
}

impl Instrument {
    pub fn item(&self, id: &str) -> Option<(&Element, &Item)> {
        self.elements
            .iter()
            .find_map(|e| e.items.iter().find(|i| i.id == id).map(|i| (e, i)))
    }

    /// Scores the items answered "present".
    pub fn score(&self, present: &HashSet<&str>) -> Score {
        let elements: Vec<(String, bool)> = self
            .elements
            .iter()
            .filter(|e| e.scored)
            .map(|e| {
                let count = |s: Strength| {
                    e.items
                        .iter()
                        .filter(|i| i.strength == Some(s) && present.contains(i.id.as_str()))
                        .count() as u32
                };
                let (strong, medium, weak) = (count(Strength::Strong), count(Strength::Medium), count(Strength::Weak));
                let met = self.positive_when.iter().any(|m| {
                    strong >= m.strong
                        && medium >= m.medium
                        && weak >= m.weak
                        && medium + weak >= m.medium_or_weak + m.medium + m.weak
                });
                (e.id.clone(), met)
            })
            .collect();
        let is = |id: &str| elements.iter().any(|(e, met)| e == id && *met);
        let indications = self.verdict.all_of.iter().all(|group| group.iter().any(|id| is(id)));
        Score { elements, indications }
    }
}

pub(super) fn parse(file: &str, text: &str) -> Result<Instrument, ProtocolError> {
    let inst: Instrument = from_toml(file, text)?;
    let rules = Rules { file };
    rules.not_blank("version", &inst.version)?;
    if inst.positive_when.is_empty() {
        return Err(rules.err("positive_when", "must list at least one minimum"));
    }
    if inst.elements.is_empty() {
        return Err(rules.err("elements", "must list at least one element"));
    }
    let mut ids = HashSet::new();
    for (n, e) in inst.elements.iter().enumerate() {
        let key = format!("elements[{n}]");
        rules.not_blank(format!("{key}.id"), &e.id)?;
        rules.not_blank(format!("{key}.label_it"), &e.label_it)?;
        rules.not_blank(format!("{key}.label_en"), &e.label_en)?;
        if !ids.insert(e.id.clone()) {
            return Err(rules.err(format!("{key}.id"), format!("{:?} is listed twice", e.id)));
        }
        if e.items.is_empty() {
            return Err(rules.err(format!("{key}.items"), "must list at least one item"));
        }
        for (k, i) in e.items.iter().enumerate() {
            let key = format!("{key}.items[{k}]");
            rules.not_blank(format!("{key}.id"), &i.id)?;
            rules.not_blank(format!("{key}.label_it"), &i.label_it)?;
            rules.not_blank(format!("{key}.label_en"), &i.label_en)?;
            if !ids.insert(i.id.clone()) {
                return Err(rules.err(format!("{key}.id"), format!("{:?} is listed twice", i.id)));
            }
            if e.scored && i.strength.is_none() {
                return Err(rules.err(format!("{key}.strength"), "is required in a scored element"));
            }
        }
    }
    for (n, group) in inst.verdict.all_of.iter().enumerate() {
        for id in group {
            if !inst.elements.iter().any(|e| &e.id == id && e.scored) {
                return Err(rules.err(
                    format!("verdict.all_of[{n}]"),
                    format!("{id:?} is not a scored element"),
                ));
            }
        }
    }
    Ok(inst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument() -> Instrument {
        super::super::Protocols::builtin().assessment
    }

    #[test]
    fn the_builtin_instrument_cites_its_sources_and_has_the_six_elements() {
        let text = include_str!("../../protocols/assessment.toml");
        assert!(text.contains("Operational indicators of trafficking in human beings"));
        assert!(text.contains("HTCDS"));
        let i = instrument();
        assert_eq!(i.elements.iter().filter(|e| e.scored).count(), 6);
        assert!(i.elements.iter().any(|e| e.id == "means_of_control" && !e.scored));
    }

    #[test]
    fn an_element_is_present_by_the_ilo_minimums_and_the_verdict_needs_all_three_groups() {
        let i = instrument();
        let score = |ids: &[&str]| i.score(&ids.iter().copied().collect());
        // One strong and one medium in deceptive recruitment: present.
        let s = score(&["dr_nature_job", "dr_wages"]);
        assert!(s.elements.contains(&("deceptive_recruitment".into(), true)));
        // A single strong alone: not.
        let s = score(&["dr_nature_job"]);
        assert!(s.elements.contains(&("deceptive_recruitment".into(), false)));
        assert!(!s.indications);
        // Recruitment, exploitation and coercion at destination: indications.
        let s = score(&[
            "dr_nature_job",
            "dr_wages",
            "ec_hours",
            "ec_wages",
            "cd_debt",
            "cd_documents",
        ]);
        assert!(s.indications, "{s:?}");
        // Without the destination group: none.
        let s = score(&["dr_nature_job", "dr_wages", "ec_hours", "ec_wages"]);
        assert!(!s.indications);
    }

    #[test]
    fn mistakes_are_refused_naming_the_key() {
        let bad =
            include_str!("../../protocols/assessment.toml").replace("strength = \"strong\"", "strength = \"huge\"");
        assert!(parse("assessment.toml", &bad).is_err());
        let twice =
            include_str!("../../protocols/assessment.toml").replace("id = \"dr_wages\"", "id = \"dr_conditions\"");
        let e = parse("assessment.toml", &twice).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
    }
}
