//! CSRF protection. Every state-changing browser request carries a token: the session's own
//! once logged in, or the value of a pre-session cookie on the login and setup forms (double
//! submit). Cookie-authenticated API calls send it as `X-CSRF-Token`; bearer calls need none.

use crate::auth::{same_secret, Principal};

/// The pre-session cookie (login and setup forms).
pub const PRE_COOKIE: &str = "varco_csrf";
/// The form field every HTML form carries.
pub const FIELD: &str = "csrf";
/// The header cookie-authenticated API calls carry.
pub const HEADER: &str = "x-csrf-token";

/// The token a request must present: the session's, or the pre-session cookie's.
pub fn expected(principal: Option<&Principal>, pre_cookie: Option<&str>) -> Option<String> {
    match principal.and_then(|p| p.session.as_ref()) {
        Some(s) => Some(s.csrf_token.clone()),
        None => pre_cookie.map(str::to_owned),
    }
}

/// True when `presented` matches `expected` (both present, same value).
pub fn matches(expected: Option<&str>, presented: Option<&str>) -> bool {
    match (expected, presented) {
        (Some(e), Some(p)) if !e.is_empty() => same_secret(e, p),
        _ => false,
    }
}

/// The `csrf` field of a URL-encoded body.
pub fn field_of(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_different_token_does_not_match() {
        assert!(!matches(None, Some("a")));
        assert!(!matches(Some("a"), None));
        assert!(!matches(Some(""), Some("")));
        assert!(!matches(Some("abc"), Some("abd")));
        assert!(matches(Some("abc"), Some("abc")));
        assert_eq!(field_of(b"x=1&csrf=tok%2B1"), Some("tok+1".into()));
    }
}
