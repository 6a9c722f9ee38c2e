//! Bad input: every class answers 4xx problem+json naming the field, and nothing is written.

use awc::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::helpers::{spawn_with, Backend};

async fn each_class_of_bad_input_gets_a_problem_naming_the_field(b: Backend) {
    let mut app = spawn_with(b, |s| s.body_limit = 4096).await;
    app.setup_admin().await;
    let csrf = app.csrf.clone().unwrap_or_default();
    let cases: [(&str, &[u8], StatusCode, &str); 8] = [
        ("malformed JSON", b"{\"name\": ", StatusCode::BAD_REQUEST, "body"),
        ("empty body", b"", StatusCode::BAD_REQUEST, "body"),
        ("missing field", br#"{"name": "X"}"#, StatusCode::BAD_REQUEST, "kind"),
        (
            "wrong type",
            br#"{"name": 12, "kind": "cas"}"#,
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (
            "unknown enum value",
            br#"{"name": "X", "kind": "bank"}"#,
            StatusCode::BAD_REQUEST,
            "kind",
        ),
        (
            "unknown field",
            br#"{"name": "X", "kind": "cas", "colour": 1}"#,
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            "validation",
            br#"{"name": "", "kind": "cas"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            "domain rule",
            br#"{"name": "X", "kind": "cas", "province": "Atlantide"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "province",
        ),
    ];
    for (what, body, status, field) in cases {
        let r = app
            .send(
                Method::POST,
                "/api/v1/organisations",
                &[("x-csrf-token", csrf.clone())],
                Some(("application/json", body.to_vec())),
            )
            .await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert_eq!(r.problem_fields(), vec![field.to_owned()], "{what}");
        assert_eq!(r.json()["status"], status.as_u16());
    }
    // Input is never echoed back in the message.
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "X", "kind": "secret-kind-value"})),
        )
        .await;
    assert!(!r.body.contains("secret-kind-value"), "{}", r.body);

    // Wrong media type, oversized body.
    let r = app
        .send(
            Method::POST,
            "/api/v1/organisations",
            &[("x-csrf-token", csrf.clone())],
            Some(("text/plain", b"{}".to_vec())),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    let big = json!({"name": "x".repeat(10_000), "kind": "cas"});
    let r = app.api(Method::POST, "/api/v1/organisations", Some(big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json()["detail"].as_str().unwrap_or("").starts_with("body"));

    // Query and path parameters.
    let r = app.get("/api/v1/audit?from=yesterday").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.problem_fields(), vec!["from"]);
    let r = app.get("/api/v1/audit?limit=100000").await;
    assert_eq!(r.problem_fields(), vec!["limit"]);
    let r = app.get("/api/v1/audit?colour=red").await;
    assert_eq!(r.problem_fields(), vec!["colour"]);
    let r = app.get("/api/v1/organisations/abc").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.problem_fields(), vec!["id"]);
    let r = app.get("/api/v1/organisations/999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["type"], "urn:varco:problem:not-found");
    let r = app.api(Method::DELETE, "/api/v1/audit", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));

    // Nothing of the above was written.
    assert_eq!(app.count("organisations"), 0);
    // And none of it was a server error: the audit shows no failure of ours, the log no 500.
    let page = app.get("/pagina-che-non-esiste").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Pagina non trovata"), "pages answer errors as pages");
}
both!(each_class_of_bad_input_gets_a_problem_naming_the_field);
