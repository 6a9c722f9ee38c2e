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

/// A field message from the domain (English) in the page's language, when translated.
pub fn message(lang: Lang, english: &str) -> String {
    if lang == Lang::En {
        return english.to_owned();
    }
    lookup(lang, &format!("messages.{english}"))
        .unwrap_or(english)
        .to_owned()
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
    }
}
