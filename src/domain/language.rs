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
    for part in input.split([',', ' ', ';']).filter(|p| !p.trim().is_empty()) {
        let code = parse_language(part).ok_or("must be language codes such as it, en, ro, edo, separated by commas")?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
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
}
