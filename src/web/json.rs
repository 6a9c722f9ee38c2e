//! JSON responses with the version headers the API promises.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::Version;

/// A JSON body with `ETag: "<version>"` (send it back as `If-Match` to update).
pub fn versioned(
    status: StatusCode,
    body: &impl Serialize,
    version: Version,
    location: Option<String>,
) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, format!("\"{version}\"")));
    if let Some(l) = location {
        res.insert_header((header::LOCATION, l));
    }
    res.json(body)
}

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
