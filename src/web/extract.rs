//! API input extractors whose errors name the field: JSON bodies, query strings, path ids and the
//! version an update was based on.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::AppState;
use crate::domain::Version;
use crate::error::{AppError, FieldError};

/// A JSON body, deserialised with the path of any bad field and then validated (422).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.body_limit)
            .unwrap_or(256 * 1024);
        let is_json = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|m| m.subtype() == mime_json() || m.suffix().is_some_and(|s| s == mime_json()));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(AppError::UnsupportedMediaType);
            }
            if declared.is_some_and(|n| n > limit) {
                return Err(AppError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| AppError::bad_request("body", "could not be read"))?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            let value = parse_json::<T>(&body)?;
            value.validate()?;
            Ok(ApiJson(value))
        })
    }
}

/// Reads a request body of at most `limit` bytes: a larger one is a 413 problem document
/// (refused at once when its `Content-Length` says so), never actix's plain-text error.
pub async fn read_limited(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<web::Bytes, AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_request("body", "could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn mime_json() -> &'static str {
    "json"
}

/// Deserialises JSON, turning serde's message into a field error.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request("body", "is empty: send a JSON object"));
    }
    if crate::domain::text::json_may_hold_forbidden(body) {
        if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) {
            let mut bad = Vec::new();
            forbidden_text(&doc, "", &mut bad);
            if !bad.is_empty() {
                return Err(AppError::Invalid(
                    bad.into_iter()
                        .map(|f| FieldError::new(f, crate::domain::text::CONTROL_CHARACTERS))
                        .collect(),
                ));
            }
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        AppError::BadRequest(vec![describe_serde(
            &path,
            &inner.to_string(),
            inner.is_syntax() || inner.is_eof(),
        )])
    })
}

/// The paths of the strings (values or keys) in `doc` that hold characters text may not hold.
fn forbidden_text(doc: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match doc {
        Value::String(s) if crate::domain::text::has_forbidden(s) => out.push(if path.is_empty() {
            "body".into()
        } else {
            path.to_owned()
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                forbidden_text(
                    item,
                    &format!("{}[{i}]", if path.is_empty() { "body" } else { path }),
                    out,
                );
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if crate::domain::text::has_forbidden(k) {
                    // A key is not echoed: it is the attacker's text.
                    out.push(if path.is_empty() {
                        "body".into()
                    } else {
                        path.to_owned()
                    });
                    continue;
                }
                forbidden_text(v, &join(k), out);
            }
        }
        _ => {}
    }
}

/// Names the field in a serde message: a missing field is reported at its parent's path.
fn describe_serde(path: &str, message: &str, syntax: bool) -> FieldError {
    let message = strip_position(message);
    if syntax {
        return FieldError::new("body", format!("is not valid JSON ({message})"));
    }
    let join = |parent: &str, child: &str| {
        if parent.is_empty() || parent == "." {
            child.to_owned()
        } else {
            format!("{parent}.{child}")
        }
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return FieldError::new(join(path, name), "is required");
    }
    if message.starts_with("unknown field `") {
        // The path ends at the unknown key itself: a key like ours (a typo) is named, anything
        // else (the caller's arbitrary text) is not echoed, only where it was.
        let plausible = |k: &str| {
            !k.is_empty()
                && k.len() <= 40
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        let (parent, key) = match path.rsplit_once('.') {
            Some((parent, key)) => (parent, key),
            None => ("", path),
        };
        let field = if plausible(key) {
            path.to_owned()
        } else if parent.is_empty() || parent == "." {
            "body".to_owned()
        } else {
            parent.to_owned()
        };
        let message = if plausible(key) {
            "is not a known field"
        } else {
            "holds a field that is not known"
        };
        return FieldError::new(field, message);
    }
    let field = if path.is_empty() || path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    // serde's "invalid type: string \"…\"" quotes the input back; keep only what was expected.
    let message = match message.find(", expected ") {
        Some(i)
            if message.starts_with("invalid type")
                || message.starts_with("invalid value")
                || message.starts_with("unknown variant") =>
        {
            format!("must be {}", plain_expectation(&message[i + ", expected ".len()..]))
        }
        _ => plain_expectation(message),
    };
    FieldError::new(field, message)
}

/// serde's expectation in words a person reads, not Rust's (`i32`, `a sequence`, `struct X`).
fn plain_expectation(expected: &str) -> String {
    let e = expected.trim();
    let integer = |e: &str| matches!(e, "i8" | "i16" | "i32" | "i64" | "i128" | "isize");
    let natural = |e: &str| matches!(e, "u8" | "u16" | "u32" | "u64" | "u128" | "usize");
    if integer(e) {
        return "an integer".into();
    }
    if natural(e) {
        return "a whole number, 0 or more".into();
    }
    match e {
        "f32" | "f64" => return "a number".into(),
        "a boolean" | "bool" => return "true or false".into(),
        "a sequence" => return "a list".into(),
        "a map" => return "an object".into(),
        "unit" => return "null".into(),
        _ => {}
    }
    if e.starts_with("struct ") || e.starts_with("a struct") {
        return "an object".into();
    }
    if let Some(rest) = e.strip_prefix("a string") {
        return format!("text{rest}");
    }
    e.to_owned()
}

fn strip_position(message: &str) -> &str {
    match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// A query string, deserialised with the name of any bad parameter (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiQuery<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

/// Deserialises a query string, naming the bad parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let bad: Vec<FieldError> = form_urlencoded_parse(query)
        .filter(|(k, v)| crate::domain::text::has_forbidden(k) || crate::domain::text::has_forbidden(v))
        .map(|(k, _)| {
            let name = if crate::domain::text::has_forbidden(&k) {
                "query".into()
            } else {
                k.into_owned()
            };
            FieldError::new(name, crate::domain::text::CONTROL_CHARACTERS)
        })
        .collect();
    if !bad.is_empty() {
        return Err(AppError::BadRequest(bad));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        AppError::BadRequest(vec![describe_serde(&path, &message, false)])
    })
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// The numeric `{id}` of a path, typed (400 naming `id` when it is not a positive number).
pub struct PathId<T = i64>(pub T);

impl<T: From<i64>> FromRequest for PathId<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map(|n| PathId(T::from(n)))
            .ok_or_else(|| AppError::bad_request("id", "must be a positive integer"));
        std::future::ready(id)
    }
}

/// The numeric `{sub}` of a path (a part of the record named by `{id}`: an interview of a case),
/// typed (400 naming `sub` when it is not a positive number).
pub struct SubId<T = i64>(pub T);

impl<T: From<i64>> FromRequest for SubId<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get("sub")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map(|n| SubId(T::from(n)))
            .ok_or_else(|| AppError::bad_request("sub", "must be a positive integer"));
        std::future::ready(id)
    }
}

/// The version an update was based on: `If-Match` (`"3"`, `W/"3"` or `3`) or the body's
/// `version`. Neither is 428; both and different is 400.
pub fn expected_version(req: &HttpRequest, body_version: Option<i64>) -> Result<Version, AppError> {
    let header = match req.headers().get(header::IF_MATCH) {
        None => None,
        Some(v) => {
            let text = v.to_str().unwrap_or("").trim();
            let text = text.trim_start_matches("W/").trim_matches('"');
            Some(
                text.parse::<i64>()
                    .map_err(|_| AppError::bad_request("If-Match", "must be the record's version, e.g. \"3\""))?,
            )
        }
    };
    match (header, body_version) {
        (Some(h), Some(b)) if h != b => Err(AppError::bad_request("version", "differs from the If-Match header")),
        (Some(v), _) | (None, Some(v)) if v >= 1 => Ok(Version(v)),
        (Some(_), _) => Err(AppError::bad_request(
            "If-Match",
            "must be the record's version, e.g. \"3\"",
        )),
        (None, Some(_)) => Err(AppError::bad_request("version", "must be a positive integer")),
        (None, None) => Err(AppError::VersionRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields are read by serde only")]
    struct Sample {
        name: String,
        count: i64,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields are read by serde only")]
    struct Inner {
        flag: bool,
    }

    fn field_of(body: &str) -> (String, String) {
        match parse_json::<Sample>(body.as_bytes()) {
            Err(AppError::BadRequest(mut e)) => {
                let f = e.remove(0);
                (f.field, f.message)
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn serde_errors_name_the_field_and_never_echo_input() {
        assert_eq!(field_of(r#"{"count": 1}"#).0, "name");
        let (f, m) = field_of(r#"{"name": "x", "count": "secret-value"}"#);
        assert_eq!(f, "count");
        assert!(!m.contains("secret-value"), "{m}");
        assert_eq!(
            field_of(r#"{"name": "x", "count": 1, "inner": {"flag": 3}}"#).0,
            "inner.flag"
        );
        assert_eq!(field_of(r#"{"name": "x", "count": 1, "extra": 1}"#).0, "extra");
        // Not a key of ours: not echoed, only where it was.
        let (f, m) = field_of(r#"{"name": "x", "count": 1, "<img src=x>": 1}"#);
        assert_eq!((f.as_str(), m.as_str()), ("body", "holds a field that is not known"));
        let (f, _) = field_of(r#"{"name": "x", "count": 1, "inner": {"flag": true, "DROP TABLE": 1}}"#);
        assert_eq!(f, "inner");
        // Types in words, not Rust's.
        let (_, m) = field_of(r#"{"name": "x", "count": "many"}"#);
        assert!(!m.contains("i32") && !m.contains("i64") && !m.contains("u32"), "{m}");
        let (_, m) = field_of(r#"{"name": "x", "count": 1, "inner": {"flag": "yes"}}"#);
        assert_eq!(m, "must be true or false");
        assert_eq!(field_of(r#"{"name": "#).0, "body");
        assert_eq!(field_of("").0, "body");
    }
}
