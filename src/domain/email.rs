//! Work email addresses of users and organisations.

use validator::ValidateEmail;

/// A work email address (optional on users and organisations); `None` for blank input.
pub fn parse_email(input: Option<&str>) -> Result<Option<String>, &'static str> {
    match input.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.len() <= 254 && s.validate_email() => Ok(Some(s.to_owned())),
        Some(_) => Err("must be an email address"),
    }
}
