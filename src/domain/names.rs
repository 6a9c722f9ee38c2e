//! Names and nationalities as the matching of one person across referrals compares them (seed
//! 004: "la stessa persona può emergere attraverso i diversi canali"): the same alias written by a
//! CAS operator, a commission and a street unit, in Latin, Cyrillic or Arabic letters, spelt as
//! heard. Pure functions: what they return is hashed into blind indexes (`crypto::match_index`)
//! the same way when a referral is stored and when its candidates are searched.

use chrono::{Datelike, NaiveDateTime};
use rphonetic::DoubleMetaphone;

crate::vocabulary! {
    /// What a blind index of a referral is of (each purpose is hashed apart: the digests of one
    /// cannot be compared with another's).
    BlindPurpose ("blind_purpose") {
        /// A word of the alias, or the whole alias, normalised (`oksana`).
        Alias = "alias" => ("Nome o alias", "Alias"),
        /// A phonetic code of a word of the alias (Double Metaphone, primary and alternate).
        AliasPhonetic = "alias_phonetic" => ("Nome o alias (pronuncia)", "Alias (sound)"),
        /// The nationality, as a country key (`ng`) or normalised text.
        Nationality = "nationality" => ("Nazionalità", "Nationality"),
        /// The birth year worked out from the age at the referral.
        BirthYear = "birth_year" => ("Anno di nascita", "Birth year"),
    }
}

crate::vocabulary! {
    /// What a deployment-wide blind-index key is for.
    IndexKeyPurpose ("index_key_purpose") {
        /// Matching one person across referrals.
        PersonMatch = "person_match" => ("Corrispondenza delle persone", "Person matching"),
    }
}

/// Lower-case ASCII letters and single spaces: other scripts transliterated (`Оксана` →
/// `oksana`, `فاطمة` → `ftm`), accents dropped, digits and punctuation turned into spaces.
pub fn normalise(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut out = String::with_capacity(ascii.len());
    let mut space = true;
    for c in ascii.chars() {
        if c.is_ascii_alphabetic() {
            out.push(c.to_ascii_lowercase());
            space = false;
        } else if !space && c != '\'' {
            // An apostrophe joins (`N'Dour` → `ndour`); anything else separates.
            out.push(' ');
            space = true;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The words of an alias worth comparing (two letters or more), normalised.
pub fn words(alias: &str) -> Vec<String> {
    let mut out: Vec<String> = normalise(alias)
        .split(' ')
        .filter(|w| w.len() >= 2)
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The exact-match keys of an alias: each word, and the whole alias when it has several (so
/// `Oksana Petrenko` matches `Petrenko Oksana` word by word and itself whole).
pub fn alias_keys(alias: &str) -> Vec<String> {
    let w = words(alias);
    let mut out = w.clone();
    if w.len() > 1 {
        out.push(w.join(" "));
    }
    out
}

/// The phonetic codes of each word (Double Metaphone, four letters, primary and alternate), so
/// that `Oksana`, `Oxana` and `Оксана` share `AKSN`, `Blessing` and `Blessin` share `PLSN`.
pub fn phonetic_keys(alias: &str) -> Vec<String> {
    let dm = DoubleMetaphone::default();
    let mut out = Vec::new();
    for w in words(alias) {
        let r = dm.double_metaphone(&w);
        for code in [r.primary(), r.alternate()] {
            if !code.is_empty() {
                out.push(code);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Country keys and the ways people write them (Italian and English names and adjectives, ISO
/// codes), for the nationalities the unit meets most (seed 004: Nigeria first). Others are
/// compared as normalised text.
const COUNTRIES: &[(&str, &[&str])] = &[
    (
        "ng",
        &[
            "nigeria",
            "nigerian",
            "nigeriana",
            "nigeriano",
            "nigeriane",
            "nigeriani",
            "nga",
        ],
    ),
    (
        "ua",
        &[
            "ukraine",
            "ukrainian",
            "ucraina",
            "ucraino",
            "ucraine",
            "ucraini",
            "ukr",
        ],
    ),
    (
        "ro",
        &["romania", "romanian", "rumena", "rumeno", "romena", "romeno", "rou"],
    ),
    ("md", &["moldova", "moldovan", "moldava", "moldavo", "moldavia", "mda"]),
    ("al", &["albania", "albanian", "albanese", "albanesi", "alb"]),
    (
        "ru",
        &[
            "russia",
            "russian",
            "russa",
            "russo",
            "russian federation",
            "federazione russa",
            "rus",
        ],
    ),
    ("cn", &["china", "chinese", "cina", "cinese", "cinesi", "chn"]),
    (
        "ma",
        &["morocco", "moroccan", "marocco", "marocchina", "marocchino", "mar"],
    ),
    ("pk", &["pakistan", "pakistani", "pakistana", "pakistano", "pak"]),
    ("bd", &["bangladesh", "bangladeshi", "bengalese", "bangladese", "bgd"]),
    ("tn", &["tunisia", "tunisian", "tunisina", "tunisino", "tun"]),
    ("eg", &["egypt", "egyptian", "egitto", "egiziana", "egiziano", "egy"]),
    ("sn", &["senegal", "senegalese", "sen"]),
    ("gh", &["ghana", "ghanaian", "ghanese", "gha"]),
    (
        "ci",
        &[
            "cote divoire",
            "cote d ivoire",
            "ivory coast",
            "costa davorio",
            "costa d avorio",
            "ivoriana",
            "ivoriano",
            "civ",
        ],
    ),
    (
        "gm",
        &["gambia", "the gambia", "gambian", "gambiana", "gambiano", "gmb"],
    ),
    ("ml", &["mali", "malian", "maliana", "maliano", "mli"]),
    ("gn", &["guinea", "guinean", "guineana", "guineano", "gin"]),
    ("er", &["eritrea", "eritrean", "eritrei", "eritreo", "eri"]),
    ("so", &["somalia", "somali", "somala", "somalo", "som"]),
    ("sd", &["sudan", "sudanese", "sdn"]),
    ("et", &["ethiopia", "ethiopian", "etiopia", "etiope", "eth"]),
    ("cm", &["cameroon", "cameroonian", "camerun", "camerunense", "cmr"]),
    ("bg", &["bulgaria", "bulgarian", "bulgara", "bulgaro", "bgr"]),
    (
        "br",
        &["brazil", "brazilian", "brasile", "brasiliana", "brasiliano", "bra"],
    ),
    ("co", &["colombia", "colombian", "colombiana", "colombiano", "col"]),
    ("pe", &["peru", "peruvian", "peruviana", "peruviano", "per"]),
    (
        "do",
        &[
            "dominican republic",
            "repubblica dominicana",
            "dominicana",
            "dominicano",
            "dom",
        ],
    ),
    (
        "ph",
        &["philippines", "filipino", "filippine", "filippina", "filippino", "phl"],
    ),
    ("in", &["india", "indian", "indiana", "indiano", "ind"]),
    ("lk", &["sri lanka", "sri lankan", "srilankese", "cingalese", "lka"]),
    ("af", &["afghanistan", "afghan", "afgana", "afgano", "afg"]),
    ("iq", &["iraq", "iraqi", "irachena", "iracheno", "irq"]),
    ("sy", &["syria", "syrian", "siria", "siriana", "siriano", "syr"]),
    ("ge", &["georgia", "georgian", "georgiana", "georgiano", "geo"]),
    ("xk", &["kosovo", "kosovar", "kosovara", "kosovaro", "xkx"]),
    ("rs", &["serbia", "serbian", "serba", "serbo", "srb"]),
    ("it", &["italy", "italian", "italia", "italiana", "italiano", "ita"]),
];

/// The key of a nationality: a country code when the text names one of [`COUNTRIES`] (in Italian
/// or English, by name, adjective or ISO code), else the normalised text; `None` when empty.
pub fn nationality_key(text: &str) -> Option<String> {
    let n = normalise(text);
    if n.is_empty() {
        return None;
    }
    for (code, forms) in COUNTRIES {
        if n == *code || forms.contains(&n.as_str()) {
            return Some((*code).to_owned());
        }
    }
    Some(n)
}

/// The birth year of someone `age` years old at `at` (give or take one: ages are rounded down and
/// often guessed, so comparisons allow a tolerance).
pub fn birth_year(age: i32, at: NaiveDateTime) -> i32 {
    at.year() - age
}

/// What a referral's blind indexes are taken of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchTerms {
    pub alias: Vec<String>,
    pub phonetic: Vec<String>,
    pub nationality: Option<String>,
    pub birth_year: Option<i32>,
}

impl MatchTerms {
    /// The terms of a referral's person: alias, age at `received_at`, nationality.
    pub fn of(alias: Option<&str>, age: Option<i32>, nationality: Option<&str>, received_at: NaiveDateTime) -> Self {
        MatchTerms {
            alias: alias.map(alias_keys).unwrap_or_default(),
            phonetic: alias.map(phonetic_keys).unwrap_or_default(),
            nationality: nationality.and_then(nationality_key),
            birth_year: age.map(|a| birth_year(a, received_at)),
        }
    }

    /// Every (purpose, normalised value) to hash.
    pub fn values(&self) -> Vec<(BlindPurpose, String)> {
        let mut out = Vec::new();
        out.extend(self.alias.iter().map(|a| (BlindPurpose::Alias, a.clone())));
        out.extend(self.phonetic.iter().map(|p| (BlindPurpose::AliasPhonetic, p.clone())));
        if let Some(n) = &self.nationality {
            out.push((BlindPurpose::Nationality, n.clone()));
        }
        if let Some(y) = self.birth_year {
            out.push((BlindPurpose::BirthYear, y.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_scripts_are_transliterated_and_punctuation_dropped() {
        assert_eq!(normalise("Оксана"), "oksana");
        assert_eq!(normalise("  Joy-Blessing  O'Neil!! "), "joy blessing oneil");
        assert_eq!(normalise("Chloé"), "chloe");
        assert_eq!(normalise("فاطمة"), "ftm");
        assert_eq!(normalise("123"), "");
    }

    #[test]
    fn transliterated_and_misspelt_aliases_share_a_phonetic_code() {
        let shared = |a: &str, b: &str| phonetic_keys(a).iter().any(|k| phonetic_keys(b).contains(k));
        assert!(shared("Оксана", "Oksana"));
        assert!(shared("Oksana", "Oxana"));
        assert!(shared("Оксана", "Oxana"));
        assert!(shared("Blessing", "Blessin"));
        assert!(shared("Алёна", "Alyona"));
        assert!(shared("فاطمة", "Fatima"));
        assert!(!shared("Blessing", "Oksana"));
        assert!(!shared("Precious", "Joy"));
    }

    #[test]
    fn alias_keys_are_the_words_and_the_whole() {
        assert_eq!(
            alias_keys("Oksana Petrenko"),
            vec!["oksana", "petrenko", "oksana petrenko"]
        );
        assert_eq!(
            alias_keys("Petrenko  OKSANA"),
            vec!["oksana", "petrenko", "oksana petrenko"]
        );
        assert_eq!(alias_keys("Joy"), vec!["joy"]);
        assert!(alias_keys("J.").is_empty());
    }

    #[test]
    fn nationalities_in_italian_english_or_code_share_a_key() {
        for n in ["Nigeria", "nigeriana", "Nigerian", "NGA", "ng", " NIGERIA "] {
            assert_eq!(nationality_key(n).as_deref(), Some("ng"), "{n}");
        }
        assert_eq!(nationality_key("Ucraina"), nationality_key("Ukraine"));
        assert_eq!(nationality_key("Costa d'Avorio"), nationality_key("Côte d'Ivoire"));
        assert_eq!(nationality_key("Vanuatu").as_deref(), Some("vanuatu"));
        assert_eq!(nationality_key(" - "), None);
    }

    #[test]
    fn terms_carry_every_purpose() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .and_then(|d| d.and_hms_opt(3, 0, 0))
            .expect("date");
        let t = MatchTerms::of(Some("Blessing"), Some(19), Some("Nigeria"), at);
        assert_eq!(t.birth_year, Some(2007));
        let purposes: Vec<BlindPurpose> = t.values().iter().map(|(p, _)| *p).collect();
        assert!(purposes.contains(&BlindPurpose::Alias));
        assert!(purposes.contains(&BlindPurpose::AliasPhonetic));
        assert!(purposes.contains(&BlindPurpose::Nationality));
        assert!(purposes.contains(&BlindPurpose::BirthYear));
        assert_eq!(MatchTerms::of(None, None, None, at), MatchTerms::default());
    }
}
