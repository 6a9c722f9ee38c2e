//! Italian first, English available: UI texts from `locales/*.toml`, compiled in.

use std::collections::HashMap;
use std::sync::OnceLock;

pub use crate::domain::Lang;

/// The cookie remembering the interface language.
pub const LANG_COOKIE: &str = "varco_lang";

type Catalogue = HashMap<String, String>;

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalogue) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn load(source: &str, name: &str) -> Catalogue {
    let table: toml::Table = match source.parse() {
        Ok(t) => t,
        Err(e) => panic!("locales/{name}.toml is not valid TOML: {e}"),
    };
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    out
}

/// Both catalogues, parsed once.
pub fn catalogues() -> &'static (Catalogue, Catalogue) {
    static CATALOGUES: OnceLock<(Catalogue, Catalogue)> = OnceLock::new();
    CATALOGUES.get_or_init(|| {
        (
            load(include_str!("../../locales/it.toml"), "it"),
            load(include_str!("../../locales/en.toml"), "en"),
        )
    })
}

/// The text for `key`, if the catalogue has it.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    let (it, en) = catalogues();
    let cat = match lang {
        Lang::It => it,
        Lang::En => en,
    };
    cat.get(key).map(String::as_str)
}

/// The text for `key`; the key itself when missing (a test keeps the catalogues complete).
pub fn t(lang: Lang, key: &str) -> &str {
    lookup(lang, key).unwrap_or(key)
}

/// A field message from the domain (English) in the page's language. Numbers in a message
/// (`must be at most 200 characters long`) are matched by a `{}` in the key and put back in
/// order; a test keeps every message the code can produce translated.
pub fn message(lang: Lang, english: &str) -> String {
    if lang == Lang::En {
        return english.to_owned();
    }
    if let Some(t) = lookup(lang, &format!("messages.{english}")) {
        return t.to_owned();
    }
    let (pattern, numbers) = numbers_out(english);
    match lookup(lang, &format!("messages.{pattern}")) {
        Some(t) if !numbers.is_empty() => numbers.iter().fold(t.to_owned(), |acc, n| acc.replacen("{}", n, 1)),
        _ => wildcard(lang, english).unwrap_or_else(|| english.to_owned()),
    }
}

/// A message with free text in it (a name, a reference): the first key whose `{}` parts match
/// any text, the parts put back in order.
fn wildcard(lang: Lang, english: &str) -> Option<String> {
    let (it, en) = catalogues();
    let cat = match lang {
        Lang::It => it,
        Lang::En => en,
    };
    for (key, text) in cat {
        let Some(pattern) = key.strip_prefix("messages.") else {
            continue;
        };
        if !pattern.contains("{}") {
            continue;
        }
        if let Some(parts) = match_parts(pattern, english) {
            return Some(parts.iter().fold(text.clone(), |acc, p| acc.replacen("{}", p, 1)));
        }
    }
    None
}

/// The texts standing for each `{}` of `pattern` in `s`, when `s` has its shape.
fn match_parts<'a>(pattern: &str, s: &'a str) -> Option<Vec<&'a str>> {
    let pieces: Vec<&str> = pattern.split("{}").collect();
    let mut rest = s.strip_prefix(pieces[0])?;
    let mut parts = Vec::new();
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        let last = i == pieces.len() - 1;
        if last && piece.is_empty() {
            parts.push(rest);
            rest = "";
            continue;
        }
        let at = if last { rest.rfind(piece)? } else { rest.find(piece)? };
        if at == 0 {
            return None;
        }
        parts.push(&rest[..at]);
        rest = &rest[at + piece.len()..];
    }
    rest.is_empty().then_some(parts)
}

/// The message with each run of digits replaced by `{}`, and the runs.
pub fn numbers_out(english: &str) -> (String, Vec<String>) {
    let mut pattern = String::with_capacity(english.len());
    let mut numbers = Vec::new();
    let mut run = String::new();
    for c in english.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            numbers.push(std::mem::take(&mut run));
            pattern.push_str("{}");
        }
        pattern.push(c);
    }
    if !run.is_empty() {
        numbers.push(run);
        pattern.push_str("{}");
    }
    (pattern, numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let (it, en) = catalogues();
        let mut missing: Vec<_> = it
            .keys()
            .filter(|k| !k.starts_with("messages.") && !en.contains_key(*k))
            .collect();
        missing.extend(
            en.keys()
                .filter(|k| !it.contains_key(*k) && !k.starts_with("messages.")),
        );
        missing.sort();
        assert!(missing.is_empty(), "keys in one catalogue only: {missing:?}");
    }

    #[test]
    fn italian_is_the_default_and_messages_translate() {
        assert_eq!(Lang::default(), Lang::It);
        assert_eq!(t(Lang::It, "login.title"), "Accesso");
        assert_eq!(message(Lang::It, "is required"), "è obbligatorio");
        assert_eq!(message(Lang::En, "is required"), "is required");
        assert_eq!(
            message(Lang::It, "must be at most 321 characters long"),
            "deve avere al massimo 321 caratteri"
        );
        assert_eq!(
            message(Lang::It, "must be between 2 and 9 characters long"),
            "deve avere da 2 a 9 caratteri"
        );
        assert_eq!(
            message(
                Lang::It,
                "Anna Rossi is already booked from 26/11/2026 10:00 to 11:00 (case C-2345ABCD)"
            ),
            "Anna Rossi è già impegnata/o dalle 26/11/2026 10:00 alle 11:00 (caso C-2345ABCD)"
        );
    }

    fn sources() -> Vec<std::path::PathBuf> {
        let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        let mut out = Vec::new();
        while let Some(p) = dirs.pop() {
            for e in std::fs::read_dir(&p).expect("src") {
                let path = e.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    out.push(path);
                }
            }
        }
        out
    }

    /// The activity log names every action, in both languages, never by its code.
    #[test]
    fn every_audited_action_has_a_label_in_both_languages() {
        let (it, en) = catalogues();
        let mut actions = std::collections::BTreeSet::new();
        for path in sources() {
            let text = std::fs::read_to_string(&path).expect("read");
            for opener in ["Event::new(\"", "audit_refusal(app, caller, \"", "=> \"referral."] {
                for (at, _) in text.match_indices(opener) {
                    let rest = &text[at + opener.len()..];
                    let end = rest.find('"').expect("closing quote");
                    let code = if opener.ends_with("referral.") {
                        format!("referral.{}", &rest[..end])
                    } else {
                        rest[..end].to_owned()
                    };
                    actions.insert(code);
                }
            }
        }
        assert!(actions.len() > 30, "{actions:?}");
        let missing: Vec<_> = actions
            .iter()
            .filter(|a| {
                !it.contains_key(&format!("audit_actions.{a}")) || !en.contains_key(&format!("audit_actions.{a}"))
            })
            .collect();
        assert!(missing.is_empty(), "actions without a label: {missing:?}");
    }

    /// Where the call opened just before `tail` closes: parentheses and brackets balanced, string
    /// literals skipped.
    fn call_end(tail: &str) -> usize {
        let (mut depth, mut in_str, mut escaped) = (1i32, false, false);
        for (i, c) in tail.char_indices() {
            if in_str {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '(' | '[' => depth += 1,
                ')' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            }
        }
        tail.len()
    }

    /// Every message the code gives people — field errors, rule refusals, conflicts — has its
    /// Italian text. The messages are found where the code makes them: the second argument of
    /// `FieldError::new`, `AppError::invalid`, `AppError::bad_request`, an `err(field, …)`
    /// helper, `AppError::Conflict(…)`, and validator `message = …` attributes.
    #[test]
    fn every_message_people_can_meet_is_translated() {
        let (it, _) = catalogues();
        let mut found = std::collections::BTreeSet::new();
        let mut files = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        let mut sources = Vec::new();
        while let Some(p) = files.pop() {
            for e in std::fs::read_dir(&p).expect("src") {
                let path = e.expect("entry").path();
                if path.is_dir() {
                    files.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    sources.push(path);
                }
            }
        }
        // Import errors are shown on the import page.
        let import_errors = "#[error(";
        let openers = [
            "FieldError::new(",
            "AppError::invalid(",
            "AppError::bad_request(",
            "err(",
            "AppError::Conflict(",
            "message = ",
        ];
        for path in &sources {
            // The JSON API's parse errors are for programs and stay English by design.
            if path.ends_with("web/extract.rs") || path.ends_with("web/i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(path).expect("read");
            let extra = path.ends_with("referrals/import.rs").then_some(import_errors);
            for opener in openers.iter().copied().chain(extra) {
                let mut from = 0;
                while let Some(at) = text[from..].find(opener) {
                    let start = from + at + opener.len();
                    from = start;
                    let before = text[..from - opener.len()].chars().next_back().unwrap_or(' ');
                    if opener == "err(" && (before.is_alphanumeric() || before == '_' || before == '.') {
                        continue;
                    }
                    let tail = &text[start..text.len().min(start + 400)];
                    // The message is the last string literal before the call closes.
                    let args = &tail[..call_end(tail)];
                    let Some(q_end) = args.rfind('"') else { continue };
                    let Some(q_start) = args[..q_end].rfind('"') else {
                        continue;
                    };
                    let lit = &args[q_start + 1..q_end];
                    let first = lit.chars().next().unwrap_or(' ');
                    if !first.is_alphabetic() || !lit.contains(' ') || lit.contains('\\') || lit.contains('\n') {
                        continue;
                    }
                    found.insert(lit.replace("{MAX_FILES}", "50"));
                }
            }
        }
        assert!(found.len() > 60, "the scan finds the messages: {found:?}");
        let missing: Vec<_> = found
            .iter()
            .filter(|m| {
                let generic = m.contains('{');
                let sample = m.replace("{}", "7");
                let sample = if generic {
                    let mut out = String::new();
                    let mut depth = false;
                    for c in sample.chars() {
                        match c {
                            '{' => {
                                depth = true;
                                out.push('7');
                            }
                            '}' => depth = false,
                            c if !depth => out.push(c),
                            _ => {}
                        }
                    }
                    out
                } else {
                    sample
                };
                message(Lang::It, &sample) == sample && !it.contains_key(&format!("messages.{m}"))
            })
            .collect();
        assert!(missing.is_empty(), "messages without Italian: {missing:#?}");
    }
}
