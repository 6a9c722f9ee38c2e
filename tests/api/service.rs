//! Service-wide behaviour: health, the OpenAPI document, headers, language, migrations.

use std::collections::BTreeSet;

use awc::http::{Method, StatusCode};
use varco::web::routes::declarations;

use crate::both;
use crate::helpers::{spawn, spawn_with, Backend};

async fn health_names_the_backend(b: Backend) {
    let mut app = spawn(b).await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    let expected = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(r.json()["backend"], expected);
    assert_eq!(r.json()["status"], "ok");
}
both!(health_names_the_backend);

async fn the_openapi_document_lists_every_api_route(b: Backend) {
    let mut app = spawn(b).await;
    let doc = app.get("/api/openapi.json").await.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .into_iter()
                .flatten()
                .map(move |(m, _)| (m.to_uppercase(), p.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = declarations()
        .into_iter()
        .filter(|(_, p, _)| p.starts_with("/api/v1/") || *p == "/healthz")
        .map(|(m, p, _)| (m.to_string(), p.to_owned()))
        .collect();
    assert_eq!(documented, routed, "documented vs routed");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
both!(the_openapi_document_lists_every_api_route);

async fn every_response_carries_the_security_headers(b: Backend) {
    let mut app = spawn(b).await;
    for path in ["/login", "/healthz", "/api/v1/me", "/static/varco.css", "/nowhere"] {
        let r = app.get(path).await;
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(r.header("referrer-policy").as_deref(), Some("no-referrer"), "{path}");
        assert!(r.header("x-request-id").is_some_and(|id| id.len() == 32), "{path}");
        assert!(
            r.header("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
    assert_eq!(
        app.get("/login").await.header("cache-control").as_deref(),
        Some("no-store")
    );
    // No inline script or style anywhere in the pages.
    let page = app.get("/login").await.body;
    assert!(!page.contains("<script") && !page.contains("style="));

    // Behind a TLS proxy that is trusted: HSTS.
    let mut proxied = spawn_with(b, |s| s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")]).await;
    let r = proxied
        .send(Method::GET, "/login", &[("x-forwarded-proto", "https".into())], None)
        .await;
    assert!(r
        .header("strict-transport-security")
        .is_some_and(|v| v.contains("max-age=")));
}
both!(every_response_carries_the_security_headers);

async fn italian_by_default_english_on_request_and_remembered(b: Backend) {
    let mut app = spawn(b).await;
    let it = app.get("/login").await;
    assert!(it.body.contains("<html lang=\"it\">") && it.body.contains("Accesso"));
    let r = app.get("/lang/en?next=/login").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location").as_deref(), Some("/login"));
    let en = app.get("/login").await;
    assert!(
        en.body.contains("<html lang=\"en\">") && en.body.contains("Log in"),
        "remembered by cookie"
    );
    let r = app.get("/lang/en?next=https://evil.example/").await;
    assert_eq!(r.header("location").as_deref(), Some("/"), "never redirects off site");
    assert_eq!(app.get("/lang/xx").await.status, StatusCode::BAD_REQUEST);
}
both!(italian_by_default_english_on_request_and_remembered);

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |dir: &str| -> BTreeSet<String> {
        std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .expect("migrations dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

#[test]
fn the_readme_documents_every_environment_variable() {
    let readme = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).expect("README");
    for var in varco::config::ENV_VARS {
        assert!(readme.contains(var), "README does not document {var}");
    }
}

async fn a_failed_write_undoes_only_itself_among_concurrent_writes(b: Backend) {
    use diesel::prelude::*;
    use varco::db::schema::organisations;
    let app = spawn(b).await;
    let now = chrono::Utc::now().naive_utc();
    // Forty writes at once (on SQLite they share group commits): every third inserts and then
    // fails; only the others may remain.
    let writes = (0..40).map(|i| {
        let db = app.state.db.clone();
        async move {
            db.write(move |conn| {
                diesel::insert_into(organisations::table)
                    .values((
                        organisations::name.eq(format!("Org {i}")),
                        organisations::kind.eq("ngo"),
                        organisations::active.eq(true),
                        organisations::version.eq(1i64),
                        organisations::created_at.eq(now),
                        organisations::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                if i % 3 == 0 {
                    return Err(varco::error::AppError::invalid("test", "fails after writing"));
                }
                Ok(i)
            })
            .await
        }
    });
    let results = futures_util::future::join_all(writes).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 26);
    assert_eq!(
        app.count("organisations"),
        26,
        "the failed writes left nothing, the others all landed"
    );
    // A unique clash inside a batch is that write's conflict alone.
    let dup = (0..2).map(|_| {
        let db = app.state.db.clone();
        async move {
            db.write(move |conn| {
                diesel::insert_into(organisations::table)
                    .values((
                        organisations::name.eq("Org 1"),
                        organisations::kind.eq("ngo"),
                        organisations::active.eq(true),
                        organisations::version.eq(1i64),
                        organisations::created_at.eq(now),
                        organisations::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .map_err(varco::error::AppError::from)
            })
            .await
        }
    });
    let results = futures_util::future::join_all(dup).await;
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(varco::error::AppError::Conflict(_)))));
    assert_eq!(app.count("organisations"), 26);
}
both!(a_failed_write_undoes_only_itself_among_concurrent_writes);
