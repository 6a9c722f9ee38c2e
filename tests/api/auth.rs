//! First-run setup, login and logout, lockout, throttling, session expiry, CSRF, bearer tokens.

use awc::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;

use crate::both;
use crate::helpers::{spawn, spawn_with, Backend, TestApp, ADMIN_PASSWORD, PASSWORD};

async fn first_run_setup_creates_the_administrator_once(b: Backend) {
    let mut app = spawn(b).await;
    // Before setup every page leads to the login page, which points to the setup link.
    let r = app.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location").as_deref(), Some("/login?next=%2F"));
    let login = app.get("/login").await;
    assert!(login.body.contains("non è ancora configurato"), "{}", login.body);

    // A wrong code is refused and the form keeps what was typed (never the password).
    let token = app.setup_token();
    let r = app
        .submit(
            "/setup",
            "/setup",
            &[
                ("token", "not-the-code"),
                ("username", "admin"),
                ("display_name", "Anna Admin"),
                ("password", ADMIN_PASSWORD),
                ("password_confirm", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"Anna Admin\""), "{}", r.body);
    assert!(!r.body.contains(ADMIN_PASSWORD));
    assert!(r.body.contains("codice di configurazione non è valido"), "{}", r.body);
    assert_eq!(app.count("users"), 0, "nothing half-written");

    // A short password is refused by name.
    let r = app
        .submit(
            "/setup",
            "/setup",
            &[
                ("token", &token),
                ("username", "admin"),
                ("display_name", "A"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("almeno 12 caratteri"), "{}", r.body);

    app.setup_admin().await;
    let me = app.get("/api/v1/me").await.json();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["username"], "admin");
    assert_eq!(app.count("users"), 1);

    // Setup is over: the page sends to login, and an old code is worthless.
    app.logout_local();
    let r = app.get(&format!("/setup?token={token}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location").as_deref(), Some("/login"));
    let r = app
        .submit(
            "/login",
            "/setup",
            &[
                ("token", &token),
                ("username", "intruder"),
                ("display_name", "X"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("users"), 1, "no second administrator");
    assert!(varco::startup::first_run_link(&app.state).expect("link").is_none());
}
both!(first_run_setup_creates_the_administrator_once);

async fn login_and_logout_open_and_close_a_session(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    app.user("mario.rossi").role("operator").create().await;
    app.logout_local();

    let r = app.login("Mario.Rossi", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = r.header("set-cookie").expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let me = app.get("/api/v1/me").await.json();
    assert_eq!(
        (me["role"].as_str(), me["via"].as_str()),
        (Some("operator"), Some("session"))
    );

    // An operator's home is the queue.
    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.header("location").as_deref(), Some("/referrals"));
    let queue = app.get("/referrals").await;
    assert_eq!(queue.status, StatusCode::OK);
    let csrf = queue.csrf_field();
    let r = app.form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("sessions"), 1, "only the admin's setup session is left");

    // A wrong password: 401 page, the user name kept, the password not.
    let r = app.login("mario.rossi", "wrong password!!").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body.contains("value=\"mario.rossi\"") && r.body.contains("non corretti"),
        "{}",
        r.body
    );
    // An unknown user gets the very same answer.
    let r = app.login("nobody", "wrong password!!").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
both!(login_and_logout_open_and_close_a_session);

async fn repeated_failures_lock_the_account_until_the_lockout_ends(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let id = app.user("lucia").role("operator").create().await;
    app.logout_local();
    for _ in 0..5 {
        assert_eq!(
            app.login("lucia", "not her password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password is refused while the lock lasts, with the answer a wrong
    // password gets (a lock must not tell which accounts exist).
    let r = app.login("lucia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let unknown = app.login("nobody.here", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let general = |body: &str| {
        body.split("class=\"error general\" role=\"alert\">")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .map(str::to_owned)
    };
    assert!(r.body.contains("Nome utente o password non corretti"), "{}", r.body);
    assert_eq!(general(&r.body), general(&unknown.body));
    assert!(!r.body.contains("bloccato fino"));
    app.clock.advance(Duration::minutes(14));
    assert_eq!(app.login("lucia", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(app.login("lucia", PASSWORD).await.status, StatusCode::SEE_OTHER);

    app.login("admin", ADMIN_PASSWORD).await;
    let entries = app
        .audit(&format!("action=auth.login&entity_type=user&entity_id={id}"))
        .await;
    let outcomes: Vec<_> = entries.iter().map(|e| e["outcome"].as_str().unwrap_or("")).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "failure").count(), 5);
    assert_eq!(outcomes.iter().filter(|o| **o == "denied").count(), 2);
    assert_eq!(outcomes.first(), Some(&"success"));
}
both!(repeated_failures_lock_the_account_until_the_lockout_ends);

async fn an_address_with_too_many_failures_is_throttled(b: Backend) {
    let mut app = spawn_with(b, |s| {
        s.ip_failure_limit = 3;
        s.address_failure_cap = 5;
    })
    .await;
    app.setup_admin().await;
    app.logout_local();
    for _ in 0..3 {
        assert_eq!(
            app.login("a1", "whatever whatever").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // That account name from this address is throttled…
    assert_eq!(
        app.login("a1", "whatever whatever").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // …but not the others behind the same address (a proxy): a correct password gets in.
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status, StatusCode::SEE_OTHER);
    app.logout_local();
    // Past the much higher cap for the address, everyone from it waits.
    assert_eq!(
        app.login("a2", "whatever whatever").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("a3", "whatever whatever").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        app.login("admin", ADMIN_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::minutes(16));
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status, StatusCode::SEE_OTHER);
}
both!(an_address_with_too_many_failures_is_throttled);

async fn sessions_expire_when_idle_and_after_their_absolute_lifetime(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    // Idle: 60 minutes without a request.
    app.clock.advance(Duration::minutes(59));
    assert_eq!(app.get("/api/v1/me").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(59));
    assert_eq!(
        app.get("/api/v1/me").await.status,
        StatusCode::OK,
        "activity extends the idle limit"
    );
    app.clock.advance(Duration::minutes(61));
    assert_eq!(app.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    let r = app.get("/admin/users").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "a browser is sent to log in again");

    // Absolute: 12 hours after login, however active.
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status, StatusCode::SEE_OTHER);
    for _ in 0..23 {
        app.clock.advance(Duration::minutes(30));
        assert_eq!(app.get("/api/v1/me").await.status, StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(31));
    assert_eq!(app.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("sessions"), 0, "expired sessions are deleted");
}
both!(sessions_expire_when_idle_and_after_their_absolute_lifetime);

async fn state_changes_without_the_csrf_token_are_refused(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;

    // A form without its token, or with another one, changes nothing.
    let r = app.form("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("modulo è scaduto"), "{}", r.body);
    let r = app.form("/logout", &[("csrf", "forged-token")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/me").await.status, StatusCode::OK, "still logged in");
    let r = app
        .form(
            "/admin/organisations",
            &[("name", "CAS Forged"), ("kind", "cas"), ("active", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("organisations"), 0);

    // The API with a session cookie needs the X-CSRF-Token header; with it, it works.
    let token = app.csrf.take();
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "CAS A", "kind": "cas"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["type"], "urn:varco:problem:csrf");
    app.csrf = token;
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "CAS A", "kind": "cas"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    // The login form too: without the pre-session cookie's token it is refused.
    app.logout_local();
    app.jar.clear();
    let r = app
        .form("/login", &[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.login("admin", ADMIN_PASSWORD).await;
    let entries = app.audit("action=csrf.rejected").await;
    assert_eq!(entries.len(), 5, "{entries:?}");
}
both!(state_changes_without_the_csrf_token_are_refused);

async fn bearer_tokens_act_for_their_organisation_until_revoked(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let org = app.org("Prefettura di Venezia").kind("prefecture").create().await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"org_id": org, "role": "referrer", "label": "protocollo"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.json()["secret"].as_str().expect("secret").to_owned();
    let token_id = r.json()["token"]["id"].as_i64().expect("id");
    assert!(secret.starts_with("vrc_"));

    let me = app.bearer(&secret, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK);
    let me = me.json();
    assert_eq!(
        (me["via"].as_str(), me["role"].as_str()),
        (Some("token"), Some("referrer"))
    );
    assert_eq!(me["org"]["id"], org);
    assert!(me["csrf_token"].is_null(), "tokens need no CSRF");
    // Its role does not reach administration.
    let r = app.bearer(&secret, Method::GET, "/api/v1/users", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A token is for the API only: pages ignore it.
    let r = app.bearer(&secret, Method::GET, "/", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Only its hash is stored.
    let listed = app.get("/api/v1/tokens").await.body;
    assert!(!listed.contains(&secret));
    assert!(listed.contains(&secret[..10]));

    // Admin and crisis-unit roles cannot be put on a token.
    let r = app
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"org_id": org, "role": "admin", "label": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["role"]);

    let r = app
        .api(Method::POST, &format!("/api/v1/tokens/{token_id}/revoke"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.bearer(&secret, Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .bearer("vrc_not-a-real-token", Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .api(Method::POST, &format!("/api/v1/tokens/{token_id}/revoke"), None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "revoking twice");
}
both!(bearer_tokens_act_for_their_organisation_until_revoked);

async fn disabling_a_user_ends_their_sessions_at_once(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    let id = admin.user("giulia").role("coordinator").create().await;
    let mut other = TestApp::sibling(&admin);
    assert_eq!(other.login("giulia", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(other.get("/api/v1/me").await.status, StatusCode::OK);
    let r = admin
        .api(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"version": 1, "disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(other.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(other.login("giulia", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
}
both!(disabling_a_user_ends_their_sessions_at_once);
