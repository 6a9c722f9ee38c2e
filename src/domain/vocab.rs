//! Closed vocabularies: each is an enum with a stable code (stored, sent in JSON), its Italian and
//! English labels, and its database mapping, declared once with [`vocabulary!`].
//!
//! A stored code the enum does not know is an error when read, never a default: a corrupt
//! status must not turn a restricted (consent-withdrawn) referral into a new one that can be
//! acted on again. Both migration sets back each stored vocabulary with a `CHECK` constraint; a
//! test compares those constraints with the codes declared here.

/// A value with a label for people: every vocabulary (see [`vocabulary!`]).
pub trait Labelled {
    fn label_in(&self, lang: crate::domain::Lang) -> &'static str;
}

impl<T: Labelled + ?Sized> Labelled for &T {
    fn label_in(&self, lang: crate::domain::Lang) -> &'static str {
        (**self).label_in(lang)
    }
}

/// Declares a closed vocabulary: variants with their codes and labels; `ALL`, `CODES`, `as_str`,
/// `parse`, `label`; serde, OpenAPI and diesel (`Text` on both backends).
///
/// The OpenAPI schema is built from the codes (see [`schema_of`]), not derived: the derive does
/// not see a `serde(rename)` made of a macro's literal and listed the Rust names. It is named
/// after the type, or after `as "Name"` when two vocabularies share a type name.
///
/// ```ignore
/// vocabulary! {
///     /// What a shift covers.
///     Duty ("duty") {
///         Operator = "operator" => ("Operatore", "Operator"),
///     }
/// }
/// ```
#[macro_export]
macro_rules! vocabulary {
    ($(#[doc = $doc:literal])* $name:ident ($key:literal) $(as $schema:literal)? {
        $($(#[$vm:meta])* $variant:ident = $code:literal => ($it:literal, $en:literal)),+ $(,)?
    }) => {
        $(#[doc = $doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The codes, as stored and sent.
            pub const CODES: &'static [&'static str] = &[$($code),+];
            /// The vocabulary's name (error messages, the constraint check).
            pub const KEY: &'static str = $key;

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The value of a code typed or sent (surrounding blanks ignored).
            pub fn parse(s: &str) -> Option<$name> {
                Self::from_code(s.trim())
            }

            /// The value of a stored code, exactly.
            pub fn from_code(s: &str) -> Option<$name> {
                match s {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The label shown to people.
            pub fn label(self, lang: $crate::domain::Lang) -> &'static str {
                match (self, lang) {
                    $(
                        ($name::$variant, $crate::domain::Lang::It) => $it,
                        ($name::$variant, $crate::domain::Lang::En) => $en,
                    )+
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::vocab::schema_of(&[$($doc),*], &[$(($code, $en)),+]).into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                const NAMES: &[&str] = &[stringify!($name) $(, $schema)?];
                std::borrow::Cow::Borrowed(NAMES[NAMES.len() - 1])
            }
        }

        impl $crate::domain::vocab::Labelled for $name {
            fn label_in(&self, lang: $crate::domain::Lang) -> &'static str {
                self.label(lang)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let code = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                // Codes are not personal data: naming the bad one helps whoever repairs the row.
                Self::from_code(&code).ok_or_else(|| {
                    format!("unknown {} code {:?} stored in the database", $key, code).into()
                })
            }
        }
    };
}

/// The OpenAPI schema of a vocabulary: a string with exactly its codes, described by the type's
/// doc comment and each code's English label.
pub fn schema_of(doc: &[&str], values: &[(&str, &str)]) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut description = doc.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n");
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(
        &values
            .iter()
            .map(|(code, en)| format!("- `{code}`: {en}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().map(|(code, _)| *code)))
        .description(Some(description))
        .into()
}

#[cfg(test)]
mod tests {
    use crate::domain::Lang;

    vocabulary! {
        /// A test vocabulary.
        Colour ("colour") {
            Red = "red" => ("Rosso", "Red"),
            DarkBlue = "dark_blue" => ("Blu scuro", "Dark blue"),
        }
    }

    #[test]
    fn codes_labels_and_serde_agree() {
        assert_eq!(Colour::CODES, &["red", "dark_blue"]);
        assert_eq!(Colour::parse(" dark_blue "), Some(Colour::DarkBlue));
        assert_eq!(Colour::from_code(" dark_blue "), None);
        assert_eq!(Colour::DarkBlue.label(Lang::It), "Blu scuro");
        assert_eq!(Colour::DarkBlue.label(Lang::En), "Dark blue");
        for c in Colour::ALL {
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{}\"", c.as_str()));
        }
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
    }

    #[test]
    fn the_openapi_schema_lists_the_codes_not_the_rust_names() {
        use utoipa::{PartialSchema, ToSchema};
        assert_eq!(Colour::name(), "Colour");
        let schema = serde_json::to_value(Colour::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        assert_eq!(schema["enum"], serde_json::json!(Colour::CODES));
        let description = schema["description"].as_str().unwrap();
        assert!(
            description.starts_with("A test vocabulary.\n\n- `red`: Red"),
            "{description}"
        );
    }

    #[test]
    fn an_unknown_stored_code_is_an_error_not_a_default() {
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        #[derive(QueryableByName, Debug)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: Colour,
        }
        let mut c = diesel::SqliteConnection::establish(":memory:").unwrap();
        c.batch_execute("CREATE TABLE t (v TEXT NOT NULL); INSERT INTO t VALUES ('red');")
            .unwrap();
        let ok: Vec<Row> = diesel::sql_query("SELECT v FROM t").load(&mut c).unwrap();
        assert_eq!(ok[0].v, Colour::Red);
        c.batch_execute("INSERT INTO t VALUES ('green');").unwrap();
        let err = diesel::sql_query("SELECT v FROM t")
            .load::<Row>(&mut c)
            .expect_err("green is not a colour");
        assert!(err.to_string().contains("unknown colour code \"green\""), "{err}");
    }
}
