//! Closed vocabularies: each is an enum with a stable code (stored, sent in JSON) and labels in
//! `locales/*.toml` under `<vocabulary>.<code>`.

/// Declares a closed vocabulary: variants with their codes, `ALL`, `as_str`, `parse`, serde.
#[macro_export]
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident ($key:literal) { $($(#[$vm:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The i18n prefix of the labels.
            pub const KEY: &'static str = $key;

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s.trim() {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The label key, e.g. `urgency.emergency`.
            pub fn label_key(self) -> String {
                format!("{}.{}", $key, self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Codes of a list of vocabulary values, comma-separated (how multi-valued fields are stored).
pub fn join<T: Copy>(values: &[T], code: impl Fn(T) -> &'static str) -> String {
    values.iter().map(|v| code(*v)).collect::<Vec<_>>().join(",")
}

/// Parses a stored comma-separated list, skipping unknown codes (never fails on old data).
pub fn split<T>(stored: &str, parse: impl Fn(&str) -> Option<T>) -> Vec<T> {
    stored.split(',').filter(|s| !s.is_empty()).filter_map(parse).collect()
}
