//! Language codes of people and mediators (ISO 639-1 or 639-3, lower-case).

/// A language code for people and mediators: ISO 639-1/639-3 (`en`, `edo`, `pcm`), lower-case.
pub fn parse_language(input: &str) -> Option<String> {
    let s = input.trim().to_ascii_lowercase();
    let ok = (2..=3).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase());
    ok.then_some(s)
}

/// Language codes from a list like `"en, edo,pcm"`: normalised and deduplicated, in order.
pub fn parse_languages(input: &str) -> Result<Vec<String>, &'static str> {
    let mut out: Vec<String> = Vec::new();
    for part in input.split([',', ' ', ';', '\u{1f}']).filter(|p| !p.trim().is_empty()) {
        let code = parse_language(part).ok_or("must be language codes such as it, en, ro, edo, separated by commas")?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// The languages people are asked about, by name: those of the people the referral system
/// meets most, and of its mediators. Other ISO codes are still accepted through the API.
pub const LANGUAGES: &[(&str, &str, &str)] = &[
    ("it", "Italiano", "Italian"),
    ("en", "Inglese", "English"),
    ("fr", "Francese", "French"),
    ("es", "Spagnolo", "Spanish"),
    ("pt", "Portoghese", "Portuguese"),
    ("de", "Tedesco", "German"),
    ("ro", "Rumeno", "Romanian"),
    ("bg", "Bulgaro", "Bulgarian"),
    ("sq", "Albanese", "Albanian"),
    ("uk", "Ucraino", "Ukrainian"),
    ("ru", "Russo", "Russian"),
    ("pl", "Polacco", "Polish"),
    ("sr", "Serbo", "Serbian"),
    ("hr", "Croato", "Croatian"),
    ("bs", "Bosniaco", "Bosnian"),
    ("mk", "Macedone", "Macedonian"),
    ("hu", "Ungherese", "Hungarian"),
    ("sk", "Slovacco", "Slovak"),
    ("cs", "Ceco", "Czech"),
    ("el", "Greco", "Greek"),
    ("tr", "Turco", "Turkish"),
    ("ka", "Georgiano", "Georgian"),
    ("rom", "Romanì", "Romani"),
    ("ar", "Arabo", "Arabic"),
    ("tzm", "Tamazight (berbero)", "Tamazight (Berber)"),
    ("fa", "Persiano (farsi)", "Persian (Farsi)"),
    ("prs", "Dari", "Dari"),
    ("ps", "Pashto", "Pashto"),
    ("ku", "Curdo", "Kurdish"),
    ("ur", "Urdu", "Urdu"),
    ("pa", "Punjabi", "Punjabi"),
    ("hi", "Hindi", "Hindi"),
    ("bn", "Bengalese", "Bengali"),
    ("ne", "Nepalese", "Nepali"),
    ("si", "Singalese", "Sinhala"),
    ("ta", "Tamil", "Tamil"),
    ("zh", "Cinese", "Chinese"),
    ("th", "Thailandese", "Thai"),
    ("vi", "Vietnamita", "Vietnamese"),
    ("tl", "Tagalog (filippino)", "Tagalog (Filipino)"),
    ("am", "Amarico", "Amharic"),
    ("ti", "Tigrino", "Tigrinya"),
    ("om", "Oromo", "Oromo"),
    ("so", "Somalo", "Somali"),
    ("sw", "Swahili", "Swahili"),
    ("ha", "Hausa", "Hausa"),
    ("yo", "Yoruba", "Yoruba"),
    ("ig", "Igbo", "Igbo"),
    ("edo", "Edo (bini)", "Edo (Bini)"),
    ("pcm", "Pidgin nigeriano", "Nigerian Pidgin"),
    ("tw", "Twi", "Twi"),
    ("ee", "Ewe", "Ewe"),
    ("wo", "Wolof", "Wolof"),
    ("ff", "Fula (pulaar)", "Fula (Pulaar)"),
    ("bm", "Bambara", "Bambara"),
    ("mnk", "Mandinka", "Mandinka"),
    ("kri", "Krio", "Krio"),
    ("ln", "Lingala", "Lingala"),
];

/// A language's name in the interface language; the code itself when not in the list.
pub fn language_name(code: &str, lang: crate::domain::Lang) -> &str {
    match LANGUAGES.iter().find(|(c, _, _)| *c == code) {
        Some((_, it, en)) => match lang {
            crate::domain::Lang::It => it,
            crate::domain::Lang::En => en,
        },
        None => code,
    }
}

/// The list as `(code, name)`, sorted by name in the interface language.
pub fn languages_by_name(lang: crate::domain::Lang) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<_> = LANGUAGES
        .iter()
        .map(|(c, it, en)| {
            (
                *c,
                match lang {
                    crate::domain::Lang::It => *it,
                    crate::domain::Lang::En => *en,
                },
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(b.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_are_normalised() {
        assert_eq!(parse_language(" EDO "), Some("edo".into()));
        assert_eq!(parse_language("english"), None);
        assert_eq!(
            parse_languages("en, EDO;pcm en"),
            Ok(vec!["en".into(), "edo".into(), "pcm".into()])
        );
        assert!(parse_languages("en, english").is_err());
    }

    #[test]
    fn every_listed_language_is_a_valid_code_once() {
        let mut seen = std::collections::HashSet::new();
        for (code, it, en) in LANGUAGES {
            assert_eq!(parse_language(code).as_deref(), Some(*code));
            assert!(seen.insert(code), "{code} twice");
            assert!(!it.is_empty() && !en.is_empty());
        }
        assert_eq!(language_name("pcm", crate::domain::Lang::It), "Pidgin nigeriano");
        assert_eq!(language_name("xyz", crate::domain::Lang::It), "xyz");
    }
}
