//! How alike two referrals' persons are: a score out of 100 and the reason per field, worked out
//! from blind indexes and the referrals' non-identifying facts, never from a decrypted value.

use std::collections::{BTreeSet, HashSet};

use chrono::NaiveDateTime;

use crate::crypto::BlindIndex;
use crate::domain::{OrgId, PersonId, ReferralId};
use crate::referrals::vocab::Gender;

crate::vocabulary! {
    /// What an operator decided about a proposed match.
    Decision ("match_decision") {
        /// The referral is about this person: linked.
        Confirmed = "confirmed" => ("Confermata", "Confirmed"),
        /// Not the same person: the pair is never proposed again.
        Rejected = "rejected" => ("Non è la stessa persona", "Not the same person"),
        /// Linked by mistake: the referral has a person of its own again (not proposed again).
        Unlinked = "unlinked" => ("Collegamento annullato", "Link undone"),
    }
}

crate::vocabulary! {
    /// A field compared between two referrals.
    MatchField ("match_field") {
        Alias = "alias" => ("Nome o alias", "Alias"),
        Nationality = "nationality" => ("Nazionalità", "Nationality"),
        BirthYear = "birth_year" => ("Anno di nascita (dall'età)", "Birth year (from the age)"),
        Gender = "gender" => ("Genere", "Gender"),
        Hosting = "hosting" => ("Struttura di accoglienza", "Hosting place"),
        Languages = "languages" => ("Lingue", "Languages"),
        Province = "province" => ("Provincia di emersione", "Emergence province"),
        EmergenceDate = "emergence_date" => ("Data di emersione", "Emergence date"),
    }
}

crate::vocabulary! {
    /// How a field compares.
    Verdict ("match_verdict") {
        /// The same, letter for letter (after transliteration and normalisation).
        Exact = "exact" => ("Uguale", "Same"),
        /// Sounds the same (a phonetic code in common): a variant spelling or transliteration.
        Phonetic = "phonetic" => ("Si pronuncia allo stesso modo", "Sounds the same"),
        /// The same, or close enough (`distance` says how far).
        Match = "match" => ("Corrisponde", "Matches"),
        Differs = "differs" => ("Diverso", "Differs"),
        /// Missing on one side or both.
        Unknown = "unknown" => ("Non noto", "Unknown"),
    }
}

/// Why a field counts for or against: the verdict, and for years and dates how far apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub field: MatchField,
    pub verdict: Verdict,
    /// Years apart (birth year) or days apart (emergence date).
    pub distance: Option<i64>,
    /// What the field adds to the score (negative when it counts against).
    pub points: i32,
}

/// A proposal below this score is not shown.
pub const THRESHOLD: i32 = 35;
/// Birth years this far apart still match (ages are estimated).
pub const YEAR_TOLERANCE: i64 = 2;

/// One side of a comparison: a referral's blind indexes and facts.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub alias: HashSet<BlindIndex>,
    pub phonetic: HashSet<BlindIndex>,
    pub nationality: Option<BlindIndex>,
    pub birth_year: Option<BlindIndex>,
    pub gender: Option<Gender>,
    pub hosted: Option<OrgId>,
    pub languages: BTreeSet<String>,
    pub province: Option<&'static str>,
    pub received_at: Option<NaiveDateTime>,
}

/// The referral being reviewed: its side, and the indexes of birth years near its own
/// (`distance`, index), for the tolerance.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub side: Side,
    pub years_near: Vec<(i64, BlindIndex)>,
}

/// Words in an alias index set: the whole alias is indexed too when it has several words.
fn word_count(alias: &HashSet<BlindIndex>) -> usize {
    match alias.len() {
        0 | 1 => alias.len(),
        n => n - 1,
    }
}

fn alias_reason(a: &Side, b: &Side) -> Reason {
    if a.alias.is_empty() || b.alias.is_empty() {
        return Reason {
            field: MatchField::Alias,
            verdict: Verdict::Unknown,
            distance: None,
            points: 0,
        };
    }
    let exact = a.alias.intersection(&b.alias).count();
    let words = word_count(&a.alias).max(word_count(&b.alias)).max(1);
    let sounds = a.phonetic.intersection(&b.phonetic).count();
    let codes = a.phonetic.len().max(b.phonetic.len()).max(1);
    let exact_points = (40 * exact.min(words) / words) as i32;
    let sound_points = (30 * sounds.min(codes) / codes) as i32;
    let (verdict, points) = if exact > 0 && exact_points >= sound_points {
        (Verdict::Exact, exact_points.max(25))
    } else if sounds > 0 {
        (Verdict::Phonetic, sound_points.max(20))
    } else {
        (Verdict::Differs, 0)
    };
    Reason {
        field: MatchField::Alias,
        verdict,
        distance: None,
        points,
    }
}

fn simple(field: MatchField, verdict: Verdict, points: i32) -> Reason {
    Reason {
        field,
        verdict,
        distance: None,
        points,
    }
}

/// Compares a candidate referral with the subject: the score (0–100) and a reason per field.
pub fn compare(subject: &Subject, c: &Side) -> (i32, Vec<Reason>) {
    let s = &subject.side;
    let mut reasons = vec![alias_reason(s, c)];
    reasons.push(match (&s.nationality, &c.nationality) {
        (Some(a), Some(b)) if a == b => simple(MatchField::Nationality, Verdict::Match, 15),
        (Some(_), Some(_)) => simple(MatchField::Nationality, Verdict::Differs, -15),
        _ => simple(MatchField::Nationality, Verdict::Unknown, 0),
    });
    reasons.push(match (&s.birth_year, &c.birth_year) {
        (Some(_), Some(theirs)) => match subject.years_near.iter().find(|(_, y)| y == theirs) {
            Some((d, _)) => Reason {
                field: MatchField::BirthYear,
                verdict: Verdict::Match,
                distance: Some(*d),
                points: match d {
                    0 => 15,
                    1 => 12,
                    _ => 8,
                },
            },
            None => simple(MatchField::BirthYear, Verdict::Differs, -15),
        },
        _ => simple(MatchField::BirthYear, Verdict::Unknown, 0),
    });
    let known = |g: Option<Gender>| g.filter(|g| *g != Gender::Unknown);
    reasons.push(match (known(s.gender), known(c.gender)) {
        (Some(a), Some(b)) if a == b => simple(MatchField::Gender, Verdict::Match, 5),
        (Some(_), Some(_)) => simple(MatchField::Gender, Verdict::Differs, -30),
        _ => simple(MatchField::Gender, Verdict::Unknown, 0),
    });
    // People move between places and are met by other services: a different place, language
    // list or province does not count against.
    reasons.push(match (s.hosted, c.hosted) {
        (Some(a), Some(b)) if a == b => simple(MatchField::Hosting, Verdict::Match, 10),
        (Some(_), Some(_)) => simple(MatchField::Hosting, Verdict::Differs, 0),
        _ => simple(MatchField::Hosting, Verdict::Unknown, 0),
    });
    // Italian says little: most people met here speak some.
    let foreign = |l: &BTreeSet<String>| {
        l.iter()
            .filter(|c| c.as_str() != "it")
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let (la, lb) = (foreign(&s.languages), foreign(&c.languages));
    reasons.push(if la.is_empty() || lb.is_empty() {
        simple(MatchField::Languages, Verdict::Unknown, 0)
    } else if la.intersection(&lb).next().is_some() {
        simple(MatchField::Languages, Verdict::Match, 5)
    } else {
        simple(MatchField::Languages, Verdict::Differs, -5)
    });
    reasons.push(match (s.province, c.province) {
        (Some(a), Some(b)) if a == b => simple(MatchField::Province, Verdict::Match, 5),
        (Some(_), Some(_)) => simple(MatchField::Province, Verdict::Differs, 0),
        _ => simple(MatchField::Province, Verdict::Unknown, 0),
    });
    reasons.push(match (s.received_at, c.received_at) {
        (Some(a), Some(b)) => {
            let days = (a - b).num_days().abs();
            Reason {
                field: MatchField::EmergenceDate,
                verdict: if days <= 90 { Verdict::Match } else { Verdict::Differs },
                distance: Some(days),
                points: if days <= 90 { 5 } else { 0 },
            }
        }
        _ => simple(MatchField::EmergenceDate, Verdict::Unknown, 0),
    });
    let score = reasons.iter().map(|r| r.points).sum::<i32>().clamp(0, 100);
    (score, reasons)
}

/// The reasons as stored with a decision: codes only (`alias=phonetic;birth_year=match:1;…`).
pub fn reasons_code(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| match r.distance {
            Some(d) => format!("{}={}:{d}", r.field.as_str(), r.verdict.as_str()),
            None => format!("{}={}", r.field.as_str(), r.verdict.as_str()),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// A proposed match for a referral: a person (or a referral not yet linked to one, which is its
/// own person), the referral of theirs most alike, the score and the reasons.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// `None` until made: a referral not linked yet counts as a person of its own.
    pub person_id: Option<PersonId>,
    pub referral_id: ReferralId,
    pub score: i32,
    pub reasons: Vec<Reason>,
    /// How many of the person's referrals the search found.
    pub referrals_found: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ix(n: u8) -> BlindIndex {
        BlindIndex([n; 16])
    }

    fn blessing() -> Subject {
        Subject {
            side: Side {
                alias: [ix(1)].into(),
                phonetic: [ix(2)].into(),
                nationality: Some(ix(3)),
                birth_year: Some(ix(10)),
                gender: Some(Gender::Female),
                hosted: Some(OrgId(1)),
                languages: ["en".to_owned(), "pcm".to_owned()].into(),
                province: Some("027"),
                received_at: chrono::DateTime::from_timestamp(1_790_000_000, 0).map(|d| d.naive_utc()),
            },
            years_near: vec![(0, ix(10)), (1, ix(11)), (1, ix(9)), (2, ix(12)), (2, ix(8))],
        }
    }

    #[test]
    fn a_misspelt_alias_of_the_same_age_and_nationality_scores_high_with_its_reasons() {
        let s = blessing();
        let mut c = s.side.clone();
        c.alias = [ix(21)].into();
        c.birth_year = Some(ix(11));
        let (score, reasons) = compare(&s, &c);
        assert!(score >= 60, "{score}");
        assert_eq!(reasons[0].verdict, Verdict::Phonetic);
        assert_eq!(reasons[2].verdict, Verdict::Match);
        assert_eq!(reasons[2].distance, Some(1));
        assert!(reasons_code(&reasons).starts_with("alias=phonetic;nationality=match;birth_year=match:1;"));
    }

    #[test]
    fn another_gender_nationality_and_age_sink_the_score() {
        let s = blessing();
        let mut c = s.side.clone();
        c.nationality = Some(ix(4));
        c.birth_year = Some(ix(40));
        c.gender = Some(Gender::Male);
        let (score, reasons) = compare(&s, &c);
        assert!(score < THRESHOLD, "{score}");
        assert_eq!(reasons[1].verdict, Verdict::Differs);
        assert_eq!(reasons[2].verdict, Verdict::Differs);
        assert_eq!(reasons[3].verdict, Verdict::Differs);
    }

    #[test]
    fn missing_fields_are_unknown_not_different() {
        let s = blessing();
        let c = Side {
            alias: [ix(1)].into(),
            phonetic: [ix(2)].into(),
            ..Side::default()
        };
        let (score, reasons) = compare(&s, &c);
        assert_eq!(reasons[0].verdict, Verdict::Exact);
        assert!(
            reasons[1..].iter().all(|r| r.verdict == Verdict::Unknown),
            "{reasons:?}"
        );
        assert_eq!(score, 40);
    }
}
