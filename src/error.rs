//! One application error, answered as `application/problem+json` (RFC 9457).
//!
//! HTML routes get the same error rendered as a page by `web::html_errors`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// A problem with one field of the input.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field (`org_id`, `person.languages[1]`, `body` for the whole body).
    pub field: String,
    /// What is wrong, in English (pages translate the common ones).
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every failure a request can meet.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that cannot be read at all (malformed JSON, wrong type, unknown field): 400.
    #[error("bad request")]
    BadRequest(Vec<FieldError>),
    /// Input that is well-formed but breaks a rule: 422.
    #[error("validation failed")]
    Invalid(Vec<FieldError>),
    #[error("authentication required")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    /// A state-changing browser request without its CSRF token: 403.
    #[error("csrf token missing or invalid")]
    CsrfRejected,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    /// The methods the path takes (the `Allow` header).
    MethodNotAllowed { allow: String },
    /// A uniqueness clash or a state that forbids the change: 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The record's state does not allow the action (a declined referral taken in charge): 409
    /// naming both, as codes.
    #[error("illegal transition: {action} in state {state}")]
    IllegalTransition { state: &'static str, action: &'static str },
    /// The caller edited an old version: 409 with the current one.
    #[error("stale version")]
    StaleVersion { current_version: i64 },
    /// An update sent without the version it read: 428.
    #[error("version required")]
    VersionRequired,
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database or pool does not answer: 503.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything else: 500, logged with its cause chain, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The problem document (RFC 9457) as sent, as `application/problem+json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:varco:problem:` and what went wrong: `bad-request`, `validation`, `unauthenticated`,
    /// `forbidden`, `csrf`, `not-found`, `method-not-allowed`, `conflict`, `illegal-transition`,
    /// `stale-version`, `version-required`, `payload-too-large`, `unsupported-media-type`,
    /// `too-many-requests`, `unavailable` or `internal`.
    #[serde(rename = "type")]
    #[schema(example = "urn:varco:problem:stale-version")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What to do about it, in English; never a cause of a server error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field-level problems, for 400 and 422.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a stale update: the version now stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// For an illegal transition: the state the record is in (a code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// For an illegal transition: the action refused (a code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
}

impl AppError {
    /// A 422 about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }

    /// A 400 about one field.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadRequest(vec![FieldError::new(field, message)])
    }

    /// A 500 from any error, keeping its cause chain for the log.
    pub fn internal(e: impl std::error::Error) -> Self {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        AppError::Internal(text)
    }

    /// Field errors carried, if any.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AppError::BadRequest(e) | AppError::Invalid(e) => e,
            _ => &[],
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Invalid(_) => "validation",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::CsrfRejected => "csrf",
            AppError::NotFound => "not-found",
            AppError::MethodNotAllowed { .. } => "method-not-allowed",
            AppError::Conflict(_) => "conflict",
            AppError::IllegalTransition { .. } => "illegal-transition",
            AppError::StaleVersion { .. } => "stale-version",
            AppError::VersionRequired => "version-required",
            AppError::PayloadTooLarge { .. } => "payload-too-large",
            AppError::UnsupportedMediaType => "unsupported-media-type",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The problem document for this error. Never carries a cause of a 5xx.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            AppError::BadRequest(e) | AppError::Invalid(e) => Some(
                e.iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::Conflict(d) => Some(d.clone()),
            AppError::IllegalTransition { state, action } => {
                Some(format!("the action `{action}` is not allowed in the state `{state}`"))
            }
            AppError::StaleVersion { current_version } => Some(format!(
                "the record changed since it was read: current version is {current_version}; reload it and apply the change again"
            )),
            AppError::VersionRequired => Some(
                "send the version you read, as an If-Match header or a `version` field".into(),
            ),
            AppError::PayloadTooLarge { limit } => {
                Some(format!("body: larger than the limit of {limit} bytes"))
            }
            AppError::UnsupportedMediaType => {
                Some("body: send application/json with a Content-Type header".into())
            }
            AppError::TooManyRequests { retry_after_secs } => {
                Some(format!("too many attempts; retry in {retry_after_secs} s"))
            }
            AppError::Unauthenticated => Some("log in or send a bearer token".into()),
            AppError::Forbidden => Some("your role does not allow this".into()),
            AppError::CsrfRejected => Some(
                "the CSRF token is missing or invalid: reload the form (browsers) or send X-CSRF-Token (API with a session)".into(),
            ),
            _ => None,
        };
        Problem {
            kind: format!("urn:varco:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: self.field_errors().to_vec(),
            current_version: match self {
                AppError::StaleVersion { current_version } => Some(*current_version),
                _ => None,
            },
            state: match self {
                AppError::IllegalTransition { state, .. } => Some(state),
                _ => None,
            },
            action: match self {
                AppError::IllegalTransition { action, .. } => Some(action),
                _ => None,
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) | AppError::StaleVersion { .. } | AppError::IllegalTransition { .. } => {
                StatusCode::CONFLICT
            }
            AppError::VersionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            AppError::Unavailable(cause) => tracing::error!(cause = %cause, "service unavailable"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let AppError::TooManyRequests { retry_after_secs } = self {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if let AppError::StaleVersion { current_version } = self {
            res.insert_header((header::ETAG, format!("\"{current_version}\"")));
        }
        if let AppError::MethodNotAllowed { allow } = self {
            res.insert_header((header::ALLOW, allow.clone()));
        }
        if matches!(self, AppError::Unauthenticated) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"varco\""));
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            // Constraint names, never values: the message is safe to show.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AppError::Conflict("a record with the same unique value already exists".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                AppError::invalid("reference", "refers to a record that does not exist")
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                AppError::Unavailable(info.message().to_owned())
            }
            other => AppError::internal(other),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(e)
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal(e)
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        collect_validation(&errors, "", &mut out);
        out.sort_by(|a, b| a.field.cmp(&b.field));
        AppError::Invalid(out)
    }
}

fn collect_validation(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind as K;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            K::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| describe_code(&e.code, e));
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            K::Struct(inner) => collect_validation(inner, &path, out),
            K::List(items) => {
                for (i, inner) in items {
                    collect_validation(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

fn describe_code(code: &str, e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(|v| v.to_string());
    match code {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".into(),
        },
        "email" => "must be an email address".into(),
        "required" => "is required".into(),
        other => format!("is invalid ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violation_is_a_conflict_and_internal_errors_hide_their_cause() {
        let e = AppError::from(diesel::result::Error::NotFound);
        assert_eq!(e.status_code(), StatusCode::NOT_FOUND);
        let internal = AppError::Internal("secret detail".into());
        let p = internal.problem();
        assert_eq!(p.status, 500);
        assert!(p.detail.is_none());
    }

    #[test]
    fn stale_version_reports_the_current_version() {
        let p = AppError::StaleVersion { current_version: 7 }.problem();
        assert_eq!(p.status, 409);
        assert_eq!(p.current_version, Some(7));
    }
}
