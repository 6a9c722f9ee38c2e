//! Account text rules: user names, display names, passwords.

/// A login name: 3–64 characters of `a-z 0-9 . _ -`, stored lower-case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Username, &'static str> {
        let s = input.trim().to_lowercase();
        if s.chars().count() < 3 || s.chars().count() > 64 {
            return Err("must be between 3 and 64 characters long");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err("may contain only letters a-z, digits and . _ -");
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name shown to colleagues: 1–100 printable characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<DisplayName, &'static str> {
        let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err("is required");
        }
        if s.chars().count() > 100 {
            return Err("must be at most 100 characters long");
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(DisplayName(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A new password: at least 12 characters (length beats composition rules), at most 1024,
/// and not the user name.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(input: &str, username: &str) -> Result<Password, &'static str> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err("must be at least 12 characters long");
        }
        if n > 1024 {
            return Err("must be at most 1024 characters long");
        }
        if input.trim().eq_ignore_ascii_case(username.trim()) {
            return Err("must not be the user name");
        }
        Ok(Password(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_restricted() {
        assert_eq!(Username::parse(" Anna.Rossi ").map(|u| u.0), Ok("anna.rossi".into()));
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("anna rossi").is_err());
        assert!(Username::parse("añna").is_err());
    }

    #[test]
    fn passwords_need_length_and_differ_from_the_username() {
        assert!(Password::parse("short", "x").is_err());
        assert!(Password::parse("coordinator1", "Coordinator1").is_err());
        assert!(Password::parse("correct horse battery", "anna").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery", "a").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn display_names_fold_whitespace() {
        assert_eq!(
            DisplayName::parse("  Anna   Rossi ").map(|d| d.0),
            Ok("Anna Rossi".into())
        );
        assert!(DisplayName::parse("   ").is_err());
    }
}
