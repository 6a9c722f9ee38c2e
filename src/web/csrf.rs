//! CSRF protection. Every state-changing browser request carries a token: the session's own
//! once logged in, or the value of a pre-session cookie on the login and setup forms (double
//! submit). Cookie-authenticated API calls send it as `X-CSRF-Token`; bearer calls need none.

use crate::auth::{same_secret, Principal};

/// The pre-session cookie (login and setup forms). With `Secure` cookies it carries the
/// `__Host-` prefix: browsers then refuse it from a subdomain, without `Secure`, or with a
/// `Domain`, so that nobody else can plant one.
pub fn pre_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-varco_csrf"
    } else {
        "varco_csrf"
    }
}

/// A pre-session token the server made: a random nonce and its MAC under a key derived from the
/// master key (`nonce.mac`, hex).
pub fn issue(key: &[u8; 32]) -> String {
    let nonce = crate::auth::random_secret();
    format!("{nonce}.{}", mac(key, &nonce))
}

/// Whether `token` is one the server made (a value planted in the cookie is not).
pub fn is_ours(key: &[u8; 32], token: &str) -> bool {
    match token.split_once('.') {
        Some((nonce, tag)) if !nonce.is_empty() && nonce.len() <= 100 => same_secret(&mac(key, nonce), tag),
        _ => false,
    }
}

fn mac(key: &[u8; 32], nonce: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(nonce.as_bytes());
    hex::encode(&m.finalize().into_bytes()[..16])
}

/// Routes that take an upload (`multipart/form-data`) from a logged-in user: their handler checks
/// the token on the form's first part ([`first_part`]) before reading any file.
pub const UPLOAD_ROUTES: &[&str] = &["/referrals/import"];

/// Reads the first part of an upload, which must be the `csrf` field holding `expected`
/// (templates put it first), before any file is read.
pub async fn first_part(
    payload: &mut actix_multipart::Multipart,
    expected: &str,
) -> Result<(), crate::error::AppError> {
    use futures_util::StreamExt;
    let refused = || crate::error::AppError::CsrfRejected;
    let mut field = match payload.next().await {
        Some(Ok(f)) if f.name() == Some(FIELD) => f,
        _ => return Err(refused()),
    };
    let mut token = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|_| refused())?;
        if token.len() + chunk.len() > 200 {
            return Err(refused());
        }
        token.extend_from_slice(&chunk);
    }
    let token = String::from_utf8(token).map_err(|_| refused())?;
    if matches(Some(expected), Some(&token)) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// The label of the key pre-session tokens are signed with.
pub const KEY_LABEL: &str = "csrf pre-session";
/// The form field every HTML form carries.
pub const FIELD: &str = "csrf";
/// The header cookie-authenticated API calls carry.
pub const HEADER: &str = "x-csrf-token";

/// The token a request must present: the session's, or the pre-session cookie's when the server
/// made it.
pub fn expected(principal: Option<&Principal>, pre_cookie: Option<&str>, key: &[u8; 32]) -> Option<String> {
    match principal.and_then(|p| p.session.as_ref()) {
        Some(s) => Some(s.csrf_token.clone()),
        None => pre_cookie.filter(|t| is_ours(key, t)).map(str::to_owned),
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

    #[test]
    fn only_tokens_the_server_made_are_its_own() {
        let key = [7u8; 32];
        let t = issue(&key);
        assert!(is_ours(&key, &t));
        assert!(!is_ours(&[8u8; 32], &t));
        assert!(!is_ours(&key, "planted-by-someone-else"));
        assert!(!is_ours(&key, &format!("{}x", t)));
        assert!(!is_ours(&key, ".abc"));
    }
}
