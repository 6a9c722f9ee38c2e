//! The audit log: who, when, from where, what, outcome; written for reads and writes; append-only.

use awc::http::{Method, StatusCode};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::both;
use crate::helpers::{spawn, Backend, TestApp, PASSWORD};

async fn reads_and_writes_of_personal_data_are_audited(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let admin_id = app.get("/api/v1/me").await.json()["user_id"].as_i64().expect("id");
    let org = app.org("CAS Cona").kind("cas").create().await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "op1", "role": "operator", "password": PASSWORD})),
        )
        .await;
    let request_id = r.header("x-request-id").expect("request id");
    let uid = r.json()["id"].as_i64().expect("id");
    app.get("/api/v1/users").await;
    app.get(&format!("/api/v1/users/{uid}")).await;
    app.get("/admin/users").await;
    app.api(
        Method::PATCH,
        &format!("/api/v1/organisations/{org}"),
        Some(json!({"version": 1, "active": false})),
    )
    .await;

    let created = app.audit(&format!("action=user.create&entity_id={uid}")).await;
    assert_eq!(created.len(), 1);
    let e = &created[0];
    assert_eq!(e["actor_kind"], "user");
    assert_eq!(e["actor_user_id"], admin_id);
    assert_eq!(e["actor_label"], "admin");
    assert_eq!(e["actor_role"], "admin");
    assert_eq!(e["ip"], "127.0.0.1");
    assert_eq!(
        e["request_id"].as_str(),
        Some(request_id.as_str()),
        "entries match the X-Request-Id header"
    );
    assert_eq!(e["outcome"], "success");
    assert_eq!(e["entity_type"], "user");
    assert!(
        e["at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-11-25T03:00:00") && t.ends_with("+01:00")),
        "Rome time: {e}"
    );

    assert_eq!(app.audit("action=user.list").await.len(), 2, "API list and page list");
    assert_eq!(app.audit(&format!("action=user.read&entity_id={uid}")).await.len(), 1);
    assert_eq!(app.audit("action=organisation.update").await.len(), 1);
    assert!(
        !app.audit("action=audit.read").await.is_empty(),
        "reading the log is itself logged"
    );
    // Prefix filter, outcome filter, paging.
    let auth = app.audit("action=auth.").await;
    assert!(auth
        .iter()
        .all(|e| e["action"].as_str().is_some_and(|a| a.starts_with("auth."))));
    let page1 = app.get("/api/v1/audit?limit=2").await.json();
    let before = page1["next_before"].as_i64().expect("more pages");
    let page2 = app.get(&format!("/api/v1/audit?limit=2&before={before}")).await.json();
    assert!(page2["entries"][0]["id"].as_i64().expect("id") < before);
    let days = app.get("/api/v1/audit?from=2026-11-26&to=2026-11-27").await.json();
    assert_eq!(days["entries"].as_array().map(|a| a.len()), Some(0));
    let today = app.get("/api/v1/audit?from=2026-11-25&to=2026-11-25").await.json();
    assert!(today["entries"].as_array().is_some_and(|a| !a.is_empty()));

    // No password or hash ever reaches the log.
    let all = app.get("/api/v1/audit?limit=500").await.body;
    assert!(!all.contains(PASSWORD) && !all.contains("argon2"));

    // The viewer page shows and filters it.
    let page = app.get("/admin/audit?action=user.create&outcome=").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(">Utente creato<") && !page.body.contains(">Elenco degli utenti<"));
    let bad = app.get("/admin/audit?from=ieri").await;
    assert_eq!(bad.status, StatusCode::OK, "a bad filter is shown, not fatal");
    assert!(bad.body.contains("class=\"error\""));

    // Only administrators read it.
    let mut op = TestApp::sibling(&app);
    op.login("op1", PASSWORD).await;
    assert_eq!(op.get("/api/v1/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(op.get("/admin/audit").await.status, StatusCode::FORBIDDEN);
}
both!(reads_and_writes_of_personal_data_are_audited);

async fn the_database_refuses_to_edit_or_delete_the_audit_log(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let before = app.count("audit_log");
    assert!(before > 0);
    let mut conn = app.state.db.conn().expect("conn");
    assert!(conn.batch_execute("UPDATE audit_log SET action = 'x'").is_err());
    assert!(conn.batch_execute("DELETE FROM audit_log").is_err());
    drop(conn);
    assert_eq!(app.count("audit_log"), before);
    // And no route edits it.
    let r = app.api(Method::PATCH, "/api/v1/audit", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}
both!(the_database_refuses_to_edit_or_delete_the_audit_log);
