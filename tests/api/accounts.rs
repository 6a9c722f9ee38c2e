//! Organisations and users: rules, optimistic versions, and the administrator's pages.

use awc::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::helpers::{spawn, Backend, TestApp, PASSWORD};

async fn organisations_carry_kind_section_and_istat_territory(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(
                json!({"name": "Commissione Territoriale di Verona", "kind": "territorial_commission",
                        "section": "Sezione di Padova", "province": "PD"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let org = r.json();
    assert_eq!(
        (org["province"].as_str(), org["region"].as_str()),
        (Some("028"), Some("05")),
        "region taken from province"
    );
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/organisations/{}", org["id"]))
    );

    // A province outside the region, a section on a CAS, an unknown province: all named.
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "CAS X", "kind": "cas", "section": "A", "region": "Lazio", "province": "VE"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["section", "province"]);
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "CAS Y", "kind": "cas", "province": "ZZ"})),
        )
        .await;
    assert_eq!(r.problem_fields(), vec!["province"]);
    // Same name twice: 409.
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "Commissione Territoriale di Verona", "kind": "territorial_commission"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.count("organisations"), 1);

    // Crisis-unit staff read the directory; they cannot change it.
    app.user("op1").role("operator").create().await;
    let mut op = TestApp::sibling(&app);
    op.login("op1", PASSWORD).await;
    let list = op.get("/api/v1/organisations").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json().as_array().map(|a| a.len()), Some(1));
    let r = op
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "N", "kind": "ngo"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
both!(organisations_carry_kind_section_and_istat_territory);

async fn a_stale_version_is_refused_and_never_overwrites(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let id = app.org("SAI Venezia").kind("sai").create().await;
    let path = format!("/api/v1/organisations/{id}");

    // Two operators read version 1; the first saves, the second is refused with the current version.
    let first = app
        .api(
            Method::PATCH,
            &path,
            Some(json!({"version": 1, "email": "sai@example.org"})),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json()["version"], 2);
    let second = app
        .api(Method::PATCH, &path, Some(json!({"version": 1, "name": "SAI Mestre"})))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.json()["current_version"], 2);
    assert_eq!(second.header("etag").as_deref(), Some("\"2\""));
    let now = app.get(&path).await.json();
    assert_eq!(
        (now["name"].as_str(), now["email"].as_str()),
        (Some("SAI Venezia"), Some("sai@example.org"))
    );

    // No version at all: 428, naming what to send. If-Match works as well as the field.
    let r = app.api(Method::PATCH, &path, Some(json!({"name": "SAI Mestre"}))).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    assert!(r.json()["detail"].as_str().unwrap_or("").contains("If-Match"));
    let csrf = app.csrf.clone().unwrap_or_default();
    let r = app
        .send(
            Method::PATCH,
            &path,
            &[("x-csrf-token", csrf.clone()), ("if-match", "\"1\"".into())],
            Some(("application/json", br#"{"name": "SAI Mestre"}"#.to_vec())),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .send(
            Method::PATCH,
            &path,
            &[("x-csrf-token", csrf), ("if-match", "W/\"2\"".into())],
            Some(("application/json", br#"{"name": "SAI Mestre"}"#.to_vec())),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("etag").as_deref(), Some("\"3\""));

    // Users too.
    let uid = app.user("marta").role("operator").create().await;
    let upath = format!("/api/v1/users/{uid}");
    assert_eq!(
        app.api(
            Method::PATCH,
            &upath,
            Some(json!({"version": 1, "display_name": "Marta B."}))
        )
        .await
        .status,
        StatusCode::OK
    );
    let r = app
        .api(
            Method::PATCH,
            &upath,
            Some(json!({"version": 1, "role": "coordinator"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.get(&upath).await.json()["role"], "operator");
}
both!(a_stale_version_is_refused_and_never_overwrites);

async fn role_and_organisation_must_fit_and_the_last_admin_stays(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let cas = app.org("CAS Bagnoli").kind("cas").create().await;
    let ct = app.org("CT Verona").kind("territorial_commission").create().await;
    let new_user = |role: &str, org: Option<i64>| json!({"username": format!("x-{role}"), "role": role, "org_id": org, "password": PASSWORD});
    let r = app
        .api(Method::POST, "/api/v1/users", Some(new_user("referrer", None)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["org_id"]);
    let r = app
        .api(Method::POST, "/api/v1/users", Some(new_user("commission", Some(cas))))
        .await;
    assert_eq!(r.problem_fields(), vec!["org_id"]);
    let r = app
        .api(Method::POST, "/api/v1/users", Some(new_user("commission", Some(ct))))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .api(Method::POST, "/api/v1/users", Some(new_user("referrer", Some(999))))
        .await;
    assert_eq!(r.problem_fields(), vec!["org_id"]);
    // Several problems at once, each named; the password never echoed.
    let r = app
        .api(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "a b", "role": "operator", "password": "short", "email": "nope"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["username", "email", "password"]);
    assert!(!r.body.contains("short\""));
    let r = app
        .api(Method::POST, "/api/v1/users", Some(new_user("commission", Some(ct))))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "user name taken");

    // The last active administrator can be neither disabled nor demoted.
    let admin_id = app.get("/api/v1/me").await.json()["user_id"].as_i64().expect("id");
    let r = app
        .api(
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            Some(json!({"version": 1, "disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = app
        .api(
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            Some(json!({"version": 1, "role": "operator"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.get("/api/v1/me").await.json()["role"], "admin");
}
both!(role_and_organisation_must_fit_and_the_last_admin_stays);

async fn admin_pages_create_and_edit_keeping_input_on_error(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    // Organisation through the form.
    let r = app
        .submit(
            "/admin/organisations/new",
            "/admin/organisations",
            &[
                ("name", "Questura di Padova"),
                ("kind", "questura"),
                ("province", "028"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = app.get("/admin/organisations").await;
    assert!(list.body.contains("Questura di Padova") && list.body.contains("Padova") && list.body.contains("Veneto"));
    assert!(list.body.contains("Organizzazione creata"), "flash shown once");
    assert!(!app
        .get("/admin/organisations")
        .await
        .body
        .contains("Organizzazione creata"));

    // A user form with errors comes back with what was typed, minus the passwords.
    let r = app
        .submit(
            "/admin/users/new",
            "/admin/users",
            &[
                ("username", "referente.cas"),
                ("display_name", "Referente CAS"),
                ("email", "not-an-email"),
                ("role", "referrer"),
                ("org_id", ""),
                ("password", "short"),
                ("password_confirm", "different"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for kept in [
        "value=\"referente.cas\"",
        "value=\"Referente CAS\"",
        "value=\"not-an-email\"",
        "value=\"referrer\" selected",
    ] {
        assert!(r.body.contains(kept), "missing {kept}");
    }
    assert!(r.body.contains("deve essere un indirizzo email") && r.body.contains("non coincide"));
    assert!(!r.body.contains("value=\"short\""));
    assert_eq!(app.count("users"), 1);

    // Fixed, it goes through; then edited with its version.
    let org_id = app.get("/api/v1/organisations").await.json()[0]["id"]
        .as_i64()
        .expect("org");
    let org = org_id.to_string();
    let r = app
        .submit(
            "/admin/users/new",
            "/admin/users",
            &[
                ("username", "referente.cas"),
                ("display_name", "Referente CAS"),
                ("role", "referrer"),
                ("org_id", &org),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let users = app.get("/api/v1/users").await.json();
    let uid = users
        .as_array()
        .and_then(|a| a.iter().find(|u| u["username"] == "referente.cas"))
        .expect("created")["id"]
        .as_i64()
        .expect("id");
    let edit = format!("/admin/users/{uid}");
    let page = app.get(&edit).await;
    assert!(page.body.contains("name=\"version\" value=\"1\""));
    let csrf = page.csrf_field();
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("display_name", "Referente CAS Cona"),
        ("role", "referrer"),
        ("org_id", org.as_str()),
        ("email", ""),
    ];
    assert_eq!(app.form(&edit, &fields).await.status, StatusCode::SEE_OTHER);
    // The same stale form again: 409, input kept, nothing overwritten.
    let mut stale = fields.to_vec();
    stale[2] = ("display_name", "Vecchio nome");
    let r = app.form(&edit, &stale).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("value=\"Vecchio nome\"") && r.body.contains("Qualcun altro"));
    assert_eq!(
        app.get(&format!("/api/v1/users/{uid}")).await.json()["display_name"],
        "Referente CAS Cona"
    );

    // Tokens through the pages: shown once.
    let r = app
        .submit(
            "/admin/tokens/new",
            "/admin/tokens",
            &[("org_id", &org), ("role", "referrer"), ("label", "gestionale CAS")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body.contains("id=\"token-secret\">vrc_"));
    let listed = app.get("/admin/tokens").await;
    assert!(listed.body.contains("gestionale CAS") && !listed.body.contains("id=\"token-secret\""));
}
both!(admin_pages_create_and_edit_keeping_input_on_error);

async fn people_change_their_own_password(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    app.user("sara").role("mediator").create().await;
    let mut sara = TestApp::sibling(&app);
    sara.login("sara", PASSWORD).await;
    let page = sara.get("/account").await;
    assert!(page.body.contains("Mediatore linguistico-culturale"));
    let r = sara
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", "wrong one, sorry"),
                ("password", "a new long passphrase"),
                ("password_confirm", "a new long passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("non è la tua password attuale"));
    let r = sara
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a new long passphrase"),
                ("password_confirm", "a new long passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        sara.get("/api/v1/me").await.status,
        StatusCode::OK,
        "this browser stays signed in"
    );
    assert_eq!(sara.login("sara", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sara.login("sara", "a new long passphrase").await.status,
        StatusCode::SEE_OTHER
    );
}
both!(people_change_their_own_password);
