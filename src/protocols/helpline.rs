//! The 1522 helpline's network protocols (`protocols/helpline/*.toml`): the parties and their
//! commitments, the network territory (ATR) covered, the local referent with its phone, opening
//! days and hours, and the validity. Checked at start; an expired protocol stays listed, flagged,
//! and is never used to route a call.

use chrono::{Datelike, Months, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::{from_toml, ProtocolError, Rules};
use crate::domain::Province;

/// The built-in protocol files, by name under `protocols/helpline/`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("bari.toml", include_str!("../../protocols/helpline/bari.toml")),
    ("milan.toml", include_str!("../../protocols/helpline/milan.toml")),
];

/// A protocol's kind: a network territory of the national network (direct transfer from the
/// 1522), or a local inter-institutional network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolKind {
    Atr,
    LocalNetwork,
}

/// Where a protocol stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolState {
    NotYetInForce,
    InForce,
    Expired,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    id: String,
    title: String,
    kind: ProtocolKind,
    source: String,
    signed_on: Option<NaiveDate>,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    valid_years: Option<u32>,
    validity_note: Option<String>,
    operational_meetings_per_year: Option<u32>,
    territory: Territory,
    referent: Option<ReferentFile>,
    parties: Vec<Party>,
}

/// The network territory a protocol covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Territory {
    pub name: String,
    /// Province *sigle* (checked against ISTAT's list).
    pub provinces: Vec<String>,
    #[serde(default)]
    pub municipalities: Vec<String>,
}

/// A signatory and what it commits to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub group: String,
    pub name: String,
    pub commitments: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferentFile {
    name: String,
    address: Option<String>,
    phone: String,
    #[serde(default)]
    closed_on: Vec<String>,
    hours: Vec<HoursFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursFile {
    days: Vec<String>,
    from: String,
    to: String,
}

/// Opening hours on some weekdays (`from` inclusive, `to` exclusive, Europe/Rome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hours {
    pub days: Vec<Weekday>,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

/// The local referent the 1522 transfers calls to while it is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Referent {
    pub name: String,
    pub address: Option<String>,
    pub phone: String,
    /// Local closures (`MM-DD`, e.g. the patron saint's day) besides the national holidays.
    pub closed_on: Vec<(u32, u32)>,
    pub hours: Vec<Hours>,
}

/// A validated protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HelplineProtocol {
    pub id: String,
    pub title: String,
    pub kind: ProtocolKind,
    pub source: String,
    pub signed_on: Option<NaiveDate>,
    /// First day in force; `None`: from a signature whose date the text does not state.
    pub valid_from: Option<NaiveDate>,
    /// Last day in force (from `valid_until`, or the signature plus `valid_years`, less a day).
    pub valid_until: NaiveDate,
    pub validity_note: Option<String>,
    pub operational_meetings_per_year: Option<u32>,
    pub territory: Territory,
    pub referent: Option<Referent>,
    pub parties: Vec<Party>,
}

impl HelplineProtocol {
    /// The protocol's state on a (Europe/Rome) day.
    pub fn state(&self, day: NaiveDate) -> ProtocolState {
        if self.valid_from.is_some_and(|f| day < f) {
            ProtocolState::NotYetInForce
        } else if day > self.valid_until {
            ProtocolState::Expired
        } else {
            ProtocolState::InForce
        }
    }

    /// Whether it covers a province.
    pub fn covers(&self, province: &Province) -> bool {
        self.territory.provinces.iter().any(|p| p == province.sigla)
    }
}

impl Referent {
    /// Whether the referent is closed all day (a local closure).
    pub fn closed_locally(&self, day: NaiveDate) -> bool {
        self.closed_on.contains(&(day.month(), day.day()))
    }
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// Parses and checks one protocol file.
pub fn parse(file: &str, text: &str) -> Result<HelplineProtocol, ProtocolError> {
    let rules = Rules { file };
    let f: File = from_toml(file, text)?;
    rules.snake_case_id("id", &f.id)?;
    rules.not_blank("title", &f.title)?;
    rules.not_blank("source", &f.source)?;
    let valid_from = f.valid_from.or(f.signed_on);
    let valid_until = match (f.valid_until, f.valid_years, f.signed_on) {
        (Some(u), None, _) => u,
        (None, Some(y), Some(s)) if (1..=20).contains(&y) => s
            .checked_add_months(Months::new(12 * y))
            .and_then(|d| d.pred_opt())
            .ok_or_else(|| rules.err("valid_years", "out of range"))?,
        (None, Some(_), Some(_)) => return Err(rules.err("valid_years", "must be between 1 and 20")),
        (None, Some(_), None) => return Err(rules.err("valid_years", "needs signed_on")),
        (Some(_), Some(_), _) => return Err(rules.err("valid_until", "give valid_until or valid_years, not both")),
        (None, None, _) => return Err(rules.err("valid_until", "a protocol needs an end of validity")),
    };
    if valid_from.is_some_and(|from| from > valid_until) {
        return Err(rules.err("valid_until", "is before the start of validity"));
    }
    rules.not_blank("territory.name", &f.territory.name)?;
    if f.territory.provinces.is_empty() {
        return Err(rules.err("territory.provinces", "must list at least one province"));
    }
    let mut provinces = Vec::new();
    for (i, p) in f.territory.provinces.iter().enumerate() {
        let province = Province::parse(p)
            .ok_or_else(|| rules.err(format!("territory.provinces[{i}]"), format!("{p:?} is not a province")))?;
        provinces.push(province.sigla.to_owned());
    }
    if f.parties.is_empty() {
        return Err(rules.err("parties", "must list the signatories"));
    }
    for (i, p) in f.parties.iter().enumerate() {
        rules.not_blank(format!("parties[{i}].group"), &p.group)?;
        rules.not_blank(format!("parties[{i}].name"), &p.name)?;
    }
    let referent = match f.referent {
        None => None,
        Some(r) => {
            rules.not_blank("referent.name", &r.name)?;
            let phone_ok = r.phone.chars().any(|c| c.is_ascii_digit())
                && r.phone.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c));
            if !phone_ok {
                return Err(rules.err("referent.phone", "must be a phone number (digits, spaces, + - . / ( ))"));
            }
            let mut closed_on = Vec::new();
            for (i, c) in r.closed_on.iter().enumerate() {
                let parsed = NaiveDate::parse_from_str(&format!("2024-{c}"), "%Y-%m-%d")
                    .map_err(|_| rules.err(format!("referent.closed_on[{i}]"), "must be MM-DD"))?;
                closed_on.push((parsed.month(), parsed.day()));
            }
            if r.hours.is_empty() {
                return Err(rules.err("referent.hours", "must list the opening hours"));
            }
            let mut hours = Vec::new();
            for (i, h) in r.hours.iter().enumerate() {
                let key = |k: &str| format!("referent.hours[{i}].{k}");
                if h.days.is_empty() {
                    return Err(rules.err(key("days"), "must list days (mon … sun)"));
                }
                let mut days = Vec::new();
                for d in &h.days {
                    days.push(weekday(d).ok_or_else(|| rules.err(key("days"), format!("{d:?} is not mon … sun")))?);
                }
                let time = |k: &str, v: &str| {
                    NaiveTime::parse_from_str(v, "%H:%M").map_err(|_| rules.err(key(k), "must be HH:MM"))
                };
                let (from, to) = (time("from", &h.from)?, time("to", &h.to)?);
                if from >= to {
                    return Err(rules.err(key("to"), "must be after from"));
                }
                hours.push(Hours { days, from, to });
            }
            Some(Referent {
                name: r.name,
                address: r.address,
                phone: r.phone,
                closed_on,
                hours,
            })
        }
    };
    if f.kind == ProtocolKind::Atr && referent.is_none() {
        return Err(rules.err("referent", "a network territory (atr) needs its local referent"));
    }
    Ok(HelplineProtocol {
        id: f.id,
        title: f.title,
        kind: f.kind,
        source: f.source,
        signed_on: f.signed_on,
        valid_from,
        valid_until,
        validity_note: f.validity_note,
        operational_meetings_per_year: f.operational_meetings_per_year,
        territory: Territory {
            name: f.territory.name,
            provinces,
            municipalities: f.territory.municipalities,
        },
        referent,
        parties: f.parties,
    })
}

/// Every protocol: the built-in files, each replaced by `helpline/<name>` in `dir` when present.
pub fn load(dir: Option<&std::path::Path>) -> Result<Vec<HelplineProtocol>, ProtocolError> {
    let mut out: Vec<HelplineProtocol> = Vec::new();
    for (name, builtin) in BUILTIN {
        let (file, text) = super::read(dir, &format!("helpline/{name}"), builtin)?;
        let p = parse(&file, &text)?;
        if out.iter().any(|o| o.id == p.id) {
            return Err(ProtocolError::Invalid {
                file,
                key: "id".into(),
                message: format!("{:?} is used by another protocol", p.id),
            });
        }
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_protocols_hold_the_seeds_terms() {
        let all = load(None).expect("valid");
        let bari = all.iter().find(|p| p.id == "bari").expect("bari");
        assert_eq!(
            bari.valid_until,
            NaiveDate::from_ymd_opt(2012, 12, 31).expect("test value")
        );
        let r = bari.referent.as_ref().expect("referent");
        assert_eq!(r.phone, "0805741461");
        assert_eq!(r.hours[0].days, vec![Weekday::Mon, Weekday::Wed, Weekday::Fri]);
        let milan = all.iter().find(|p| p.id == "milan").expect("milan");
        assert_eq!(
            milan.valid_until,
            NaiveDate::from_ymd_opt(2026, 11, 21).expect("test value")
        );
        assert_eq!(
            milan.state(NaiveDate::from_ymd_opt(2026, 11, 21).expect("test value")),
            ProtocolState::InForce
        );
        assert_eq!(
            milan.state(NaiveDate::from_ymd_opt(2026, 11, 22).expect("test value")),
            ProtocolState::Expired
        );
        assert_eq!(milan.operational_meetings_per_year, Some(2));
    }

    #[test]
    fn a_broken_protocol_is_named_by_file_and_key() {
        let text = include_str!("../../protocols/helpline/bari.toml").replace("\"09:00\"", "\"13:30\"");
        let e = parse("protocols/helpline/bari.toml", &text).expect_err("to before from");
        assert!(e.to_string().contains("referent.hours[0].to"), "{e}");
        let text = include_str!("../../protocols/helpline/bari.toml").replace("[\"BA\"]", "[\"XX\"]");
        let e = parse("f", &text).expect_err("unknown province");
        assert!(e.to_string().contains("territory.provinces[0]"), "{e}");
    }
}
