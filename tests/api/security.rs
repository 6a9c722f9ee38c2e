//! What an attacker tried (issue 7): each test fails on the code before its fix.

use awc::http::StatusCode;

use crate::both;
use crate::helpers::{spawn, spawn_with, Backend, ADMIN_PASSWORD, PASSWORD};

/// Ways to write "another site" that a naive check of a leading `/` lets through: browsers drop
/// tabs and newlines from a `Location`, and read a backslash as a slash.
const SNEAKY_NEXT: &[&str] = &[
    "/%09/other.host/",
    "/%0A/other.host/",
    "/%0D%0A/other.host/",
    "%2F%2Fother.host",
    "/%5Cother.host",
    "/%5C%5Cother.host",
    "/%20/other.host",
    "/%00",
    "https:other.host",
];

async fn next_goes_only_to_a_path_of_this_site(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    for next in SNEAKY_NEXT {
        let r = app.get(&format!("/lang/en?next={next}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}: {}", r.body);
        assert_eq!(r.header("location").as_deref(), Some("/"), "{next}");
    }
    app.logout_local();
    for next in SNEAKY_NEXT {
        let page = app.get(&format!("/login?next={next}")).await;
        assert_eq!(page.status, StatusCode::OK, "{next}");
        assert!(!page.body.contains("other.host"), "{next} kept in the login form");
    }
    // The login form's own field, as a browser would send it.
    for next in ["/\t/other.host/", "/\n/other.host/", "//other.host", "/\\other.host"] {
        app.logout_local();
        let r = app
            .submit(
                "/login",
                "/login",
                &[("username", "admin"), ("password", ADMIN_PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.header("location").as_deref(), Some("/"), "{next:?}");
    }
    // A path of this site is kept.
    let r = app.get("/lang/it?next=/admin/users?page=2").await;
    assert_eq!(r.header("location").as_deref(), Some("/admin/users?page=2"));
}
both!(next_goes_only_to_a_path_of_this_site);

/// Parallel guesses are counted before any is checked: of 16 at once against one account (lock
/// at 5), five are checked; of 40 at once for one name from one address (limit 20), twenty.
async fn parallel_guesses_are_counted_before_they_are_checked(b: Backend) {
    let mut app = spawn_with(b, |s| s.address_failure_cap = 1_000).await;
    app.setup_admin().await;
    app.user("lucia").role("operator").create().await;
    app.logout_local();
    let (_, before) = app.password_work();
    let statuses = app
        .form_burst(
            "/login",
            "/login",
            &[
                ("username", "lucia"),
                ("password", "a guess at her password"),
                ("next", "/"),
            ],
            16,
        )
        .await;
    let (_, after) = app.password_work();
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert_eq!(
        after - before,
        16,
        "each attempt costs the same work (real or dummy check)"
    );
    assert_eq!(
        app.count_where("audit_log", "action = 'auth.login' AND outcome = 'failure'"),
        5,
        "only five guesses were checked against her password"
    );
    // Locked: her own password is refused too, as a wrong one would be.
    assert_eq!(app.login("lucia", PASSWORD).await.status, StatusCode::UNAUTHORIZED);

    let statuses = app
        .form_burst(
            "/login",
            "/login",
            &[
                ("username", "nobody.at.all"),
                ("password", "another guess entirely"),
                ("next", "/"),
            ],
            40,
        )
        .await;
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(refused, 20, "{statuses:?}");
}
both!(parallel_guesses_are_counted_before_they_are_checked);

/// Once an administrator exists, an anonymous `POST /setup` is refused before its password is
/// hashed (a hash costs tens of milliseconds of CPU).
async fn setup_after_setup_costs_nothing(b: Backend) {
    let mut app = spawn(b).await;
    let token = app.setup_token();
    app.setup_admin().await;
    app.logout_local();
    let (hashes, _) = app.password_work();
    for t in [token.as_str(), "a made-up token"] {
        let r = app
            .submit(
                "/login",
                "/setup",
                &[
                    ("token", t),
                    ("username", "intruder"),
                    ("display_name", "Intruder"),
                    ("password", "a long enough password"),
                    ("password_confirm", "a long enough password"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.header("location").as_deref(), Some("/login"));
    }
    assert_eq!(app.password_work().0, hashes, "no password was hashed");
    assert_eq!(app.count_where("users", "username = 'intruder'"), 0);
}
both!(setup_after_setup_costs_nothing);

/// Deactivating an organisation stops its people as it stops its tokens: their sessions end at
/// once and their logins are refused (as a wrong password is).
async fn a_deactivated_organisation_s_people_are_out_at_once(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    let cas = admin.org("CAS Spinea").create().await;
    admin.user("cas.ref").role("referrer").org(cas).create().await;
    let mut referrer = crate::helpers::TestApp::sibling(&admin);
    assert_eq!(referrer.login("cas.ref", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(referrer.get("/api/v1/me").await.status, StatusCode::OK);

    let r = admin
        .api(
            awc::http::Method::PATCH,
            &format!("/api/v1/organisations/{cas}"),
            Some(serde_json::json!({"version": 1, "active": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(referrer.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        referrer.count_where(
            "sessions",
            "user_id IN (SELECT id FROM users WHERE username = 'cas.ref')"
        ),
        0
    );
    assert_eq!(
        referrer.login("cas.ref", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        admin.count_where(
            "audit_log",
            "action = 'auth.login' AND outcome = 'denied' AND detail = 'organisation inactive'"
        ),
        1
    );
    // Active again: they may log in again.
    let r = admin
        .api(
            awc::http::Method::PATCH,
            &format!("/api/v1/organisations/{cas}"),
            Some(serde_json::json!({"version": 2, "active": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(referrer.login("cas.ref", PASSWORD).await.status, StatusCode::SEE_OTHER);
}
both!(a_deactivated_organisation_s_people_are_out_at_once);

/// Wrong current passwords on the change-password form count toward the lockout: a stolen
/// session cannot be used to guess the password either.
async fn wrong_current_passwords_count_toward_the_lockout(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    admin.user("sara").role("operator").create().await;
    let mut sara = crate::helpers::TestApp::sibling(&admin);
    assert_eq!(sara.login("sara", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let (_, checks) = sara.password_work();
    for _ in 0..7 {
        let r = sara
            .submit(
                "/account",
                "/account/password",
                &[
                    ("current_password", "a guess at sara's password"),
                    ("password", "a brand new long password"),
                    ("password_confirm", "a brand new long password"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    assert_eq!(sara.password_work().1 - checks, 5, "two guesses were refused unchecked");
    sara.logout_local();
    assert_eq!(sara.login("sara", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
}
both!(wrong_current_passwords_count_toward_the_lockout);

/// `X-Forwarded-For` is the client's word up to the last proxy: the audit trail (and the login
/// throttle) take the rightmost address that is not a trusted proxy, and ignore the header when
/// the peer is not one.
async fn forwarded_addresses_cannot_be_spoofed(b: Backend) {
    for (trusted, expected) in [(true, "203.0.113.9"), (false, "127.0.0.1")] {
        let mut app = spawn_with(b, |s| {
            if trusted {
                s.trusted_proxies = vec!["127.0.0.0/8".parse().expect("cidr")];
            }
        })
        .await;
        let csrf = app.get("/login").await.csrf_field();
        let body = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("username", "nobody"),
            ("password", "a wrong password"),
            ("next", "/"),
        ])
        .expect("form");
        let r = app
            .send(
                awc::http::Method::POST,
                "/login",
                &[("x-forwarded-for", "6.6.6.6, 203.0.113.9".into())],
                Some(("application/x-www-form-urlencoded", body.into_bytes())),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.count_where("audit_log", &format!("action = 'auth.login' AND ip = '{expected}'")),
            1,
            "trusted proxy: {trusted}"
        );
        assert_eq!(app.count_where("audit_log", "ip = '6.6.6.6'"), 0);
    }
}
both!(forwarded_addresses_cannot_be_spoofed);

/// A request with a bearer token that is not (or no longer) valid is audited, never the token.
async fn unknown_and_revoked_tokens_are_audited_without_the_token(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    let forged = "vrc_this-token-was-never-issued-0123456789abcdef";
    let r = app
        .bearer(forged, awc::http::Method::GET, "/api/v1/referrals/42", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count_where(
            "audit_log",
            "action = 'auth.token' AND outcome = 'denied' AND entity_type = 'referral' AND entity_id = '42'"
        ),
        1
    );
    assert_eq!(
        app.count_where("audit_log", &format!("detail LIKE '%{}%'", &forged[4..20])),
        0,
        "the token is never written"
    );
}
both!(unknown_and_revoked_tokens_are_audited_without_the_token);

/// Text PostgreSQL would refuse (a NUL), other control characters, and dates PostgreSQL cannot
/// hold are refused on both backends with 422 naming the field, and nothing is stored.
async fn control_characters_and_impossible_dates_are_refused_naming_the_field(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let before = u.op.count("referrals");
    let cases = [
        (
            json!({"person": {"alias": "Ada\u{0}", "gender": "female"}}),
            "person.alias",
        ),
        (json!({"notes": "linea\u{1b}[31m rossa"}), "notes"),
        (
            json!({"person": {"gender": "female", "languages": ["en\u{85}"]}}),
            "person.languages[0]",
        ),
        (json!({"received_at": "-4800-01-01T00:00:00Z"}), "received_at"),
    ];
    for (extra, field) in cases {
        let mut body = crate::referrals::cas_report(u.cas);
        for (k, v) in extra.as_object().expect("object") {
            if k == "person" {
                for (pk, pv) in v.as_object().expect("person") {
                    body["person"][pk] = pv.clone();
                }
            } else {
                body[k] = v.clone();
            }
        }
        let r = u.op.api(awc::http::Method::POST, "/api/v1/referrals", Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", r.body);
        let fields: Vec<String> = r.json()["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str().map(str::to_owned))
            .collect();
        assert!(fields.contains(&field.to_owned()), "{field}: {}", r.body);
        assert!(!r.body.contains('\u{0}') && !r.body.contains("\\u0000"), "never echoed");
    }
    // A commission's consent record with an audition date PostgreSQL cannot hold.
    let org = u.ct_verona;
    let mut ct = crate::referrals::commission(&mut u, "ct.dates", org).await;
    let mut c = crate::referrals::consent();
    c["audition_date"] = json!("-262143-01-01");
    let r = ct
        .api(
            awc::http::Method::POST,
            "/api/v1/referrals",
            Some(json!({"urgency": "ordinary", "consent": c, "person": {"gender": "female"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("consent.audition_date"), "{}", r.body);
    // A browser form and a query string, the same.
    let r =
        u.op.submit(
            "/referrals/new",
            "/referrals",
            &[("notes", "a\u{0}b"), ("urgency", "ordinary")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = u.op.get("/api/v1/referrals?status=new%00").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(u.op.count("referrals"), before, "nothing stored");
}
both!(control_characters_and_impossible_dates_are_refused_naming_the_field);

/// What a referrer's system may not decide: when the unit received the report, that it came
/// from another kind of source, or that another CAS hosts the person.
async fn referrers_cannot_set_the_facts_the_unit_relies_on(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let (cas, other_cas) = (u.cas, u.admin.org("CAS Mirano").create().await);
    u.admin
        .user("cas.night")
        .role("referrer")
        .org(cas)
        .email("night@cas.example.org")
        .create()
        .await;
    let mut cas_ref = crate::helpers::TestApp::sibling(&u.admin);
    assert_eq!(cas_ref.login("cas.night", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let base = json!({"urgency": "ordinary", "person": {"gender": "female"}});
    for (extra, field) in [
        (json!({"received_at": "2001-01-01T00:00:00Z"}), "received_at"),
        (json!({"source_kind": "police"}), "source_kind"),
        (
            json!({"person": {"gender": "female", "hosted_org_id": other_cas}}),
            "person.hosted_org_id",
        ),
    ] {
        let mut body = base.clone();
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        let r = cas_ref
            .api(awc::http::Method::POST, "/api/v1/referrals", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", r.body);
        assert!(
            r.body.contains(&format!("\"field\":\"{field}\"")),
            "{field}: {}",
            r.body
        );
    }
    // Left out, they are the server's time, the CAS's own kind, and the CAS itself.
    let r = cas_ref
        .api(awc::http::Method::POST, "/api/v1/referrals", Some(base))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    let c = crate::referrals::case(&mut u.op, id).await;
    assert_eq!(c["source_kind"], "cas_operator");
    assert_eq!(c["person"]["hosted_by"]["id"].as_i64(), Some(cas), "{c}");
    assert_eq!(
        u.op.count_where("referrals", &format!("id = {id} AND received_at = created_at")),
        1
    );
}
both!(referrers_cannot_set_the_facts_the_unit_relies_on);

/// An operator given another role (or disabled) loses the shifts they can no longer hold, so
/// that routing never gives them a referral they cannot open.
async fn a_changed_role_ends_the_shifts_it_cannot_hold(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let (op_id, cas) = (u.op_id, u.cas);
    // Tomorrow night too.
    let r = u
        .coord
        .api(
            awc::http::Method::POST,
            "/api/v1/roster/shifts",
            Some(json!({"user_id": op_id, "duty": "operator", "mode": "on_duty",
                        "starts_at": "2026-11-26T00:00", "ends_at": "2026-11-26T08:00"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let version = u.admin.get(&format!("/api/v1/users/{op_id}")).await.json()["version"]
        .as_i64()
        .expect("version");
    let r = u
        .admin
        .api(
            awc::http::Method::PATCH,
            &format!("/api/v1/users/{op_id}"),
            Some(json!({"version": version, "role": "referrer", "org_id": cas})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        u.admin.count_where("shifts", &format!("user_id = {op_id}")),
        1,
        "the future one removed"
    );
    let now = varco::clock::db_now(u.admin.state.clock.as_ref());
    assert_eq!(
        u.admin.count_where(
            "shifts",
            &format!(
                "user_id = {op_id} AND ends_at > '{}'",
                now.format("%Y-%m-%d %H:%M:%S%.f")
            )
        ),
        0,
        "the one under way ended now"
    );
    // An emergency now finds no operator: the coordinators hear of it, nobody is given it.
    let mut body = crate::referrals::cas_report(cas);
    body["urgency"] = json!("emergency");
    let filed = crate::referrals::file(&mut u.coord, body).await;
    assert!(filed["assigned_operator"].is_null(), "{filed}");
    // The edit page says what a role change does.
    let page = u.admin.get(&format!("/admin/users/{op_id}")).await;
    assert!(page.body.contains("chiude i turni"), "{}", page.body);
}
both!(a_changed_role_ends_the_shifts_it_cannot_hold);

/// The login form's CSRF cookie is a `__Host-` cookie whose value the server made: a value
/// planted by someone else (a sibling site, an injected header) is neither taken over nor
/// accepted.
async fn a_planted_csrf_cookie_is_not_accepted(b: Backend) {
    // As deployed: `Secure` cookies (the tests' default is plain HTTP).
    let mut app = spawn_with(b, |s| s.cookie_secure = true).await;
    app.setup_admin().await;
    app.logout_local();
    app.jar.clear();
    let page = app.get("/login").await;
    let set = page
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-varco_csrf="))
        .expect("a __Host- cookie")
        .to_owned();
    assert!(
        set.contains("Secure") && set.contains("Path=/") && !set.contains("Domain"),
        "{set}"
    );
    // Planted: the page does not take it over, and a form carrying it is refused.
    app.jar
        .insert("__Host-varco_csrf".into(), "planted-by-the-attacker".into());
    let page = app.get("/login").await;
    assert!(!page.body.contains("planted-by-the-attacker"));
    app.jar
        .insert("__Host-varco_csrf".into(), "planted-by-the-attacker".into());
    let r = app
        .form(
            "/login",
            &[
                ("csrf", "planted-by-the-attacker"),
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The server's own token works.
    app.jar.clear();
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status, StatusCode::SEE_OTHER);
}
both!(a_planted_csrf_cookie_is_not_accepted);

/// A mediator sees a proposal (what they need to decide), accepts or declines it, and once they
/// accepted sees what the interview needs, while the referral is open: never the notes, the
/// referrer's contact, the consent record or the decision note.
async fn a_mediator_sees_what_the_interview_needs_and_only_while_it_is_theirs(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let org = u.ct_verona;
    let mut ct = crate::referrals::commission(&mut u, "ct.med", org).await;
    let body = json!({"urgency": "ordinary", "consent": crate::referrals::consent(),
                      "person": {"alias": "Joy", "gender": "female", "age": 22, "nationality": "Nigeria", "languages": ["en", "edo"]},
                      "notes": "dettagli riservati all'unità", "exploitation_types": ["sexual"]});
    let id = crate::referrals::file(&mut ct, body).await["id"].as_i64().expect("id");
    let c = crate::referrals::case(&mut u.op, id).await;
    assert_eq!(c["proposed_mediator"]["id"].as_i64(), Some(u.med_id), "{c}");
    let mut med = crate::helpers::TestApp::sibling(&u.admin);
    assert_eq!(
        med.login("mediatrice.edo", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // The proposal: enough to decide, nothing of the person.
    let r = med.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = r.json();
    assert!(p["answer"].is_null() && p["person"].is_null(), "{p}");
    assert_eq!(p["languages"], json!(["edo", "en"]));
    for secret in ["Joy", "riservati", "Sezione di Padova", "operatrice CAS", "Nigeria"] {
        assert!(!r.body.contains(secret), "{secret} in the proposal: {}", r.body);
    }
    let page = med.get(&format!("/referrals/{id}")).await;
    assert!(page.body.contains("id=\"accept\"") && !page.body.contains("Joy"));

    // Accepted: what the interview needs, and still none of the rest.
    let r = med
        .api(
            awc::http::Method::POST,
            &format!("/api/v1/referrals/{id}/mediation"),
            Some(json!({"version": p["version"], "answer": "accepted"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["person"]["alias"], "Joy");
    assert_eq!(v["person"]["nationality"], "Nigeria");
    for secret in ["riservati", "Sezione di Padova", "operatrice CAS", "funzionaria"] {
        assert!(!r.body.contains(secret), "{secret} shown to the mediator: {}", r.body);
    }
    // Answered once only.
    let again = med
        .api(
            awc::http::Method::POST,
            &format!("/api/v1/referrals/{id}/mediation"),
            Some(json!({"version": v["version"], "answer": "declined"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let history: Vec<String> = crate::referrals::case(&mut u.op, id).await["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(history.contains(&"mediator_accepted".to_owned()), "{history:?}");

    // Closed (declined by the unit): the mediator no longer sees it.
    let version = crate::referrals::case(&mut u.op, id).await["version"].clone();
    let r =
        u.op.api(
            awc::http::Method::POST,
            &format!("/api/v1/referrals/{id}/decline"),
            Some(json!({"version": version, "reason": "redirected_social_services"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        med.get(&format!("/api/v1/referrals/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        med.get("/api/v1/referrals").await.json().as_array().map(|a| a.len()),
        Some(0)
    );

    // Another proposal, declined: it leaves the mediator's list.
    let body = json!({"urgency": "ordinary", "consent": crate::referrals::consent(),
                      "person": {"gender": "male", "languages": ["pcm"]}});
    let id2 = crate::referrals::file(&mut ct, body).await["id"].as_i64().expect("id");
    let r = med
        .api(
            awc::http::Method::POST,
            &format!("/api/v1/referrals/{id2}/mediation"),
            Some(json!({"version": 1, "answer": "declined"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        med.get(&format!("/api/v1/referrals/{id2}")).await.status,
        StatusCode::NOT_FOUND
    );
    let c = crate::referrals::case(&mut u.op, id2).await;
    assert!(c["history"].to_string().contains("mediator_declined"), "{c}");
    // The unit's actions stay the unit's.
    let r = med
        .api(
            awc::http::Method::POST,
            &format!("/api/v1/referrals/{id2}/take-charge"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
both!(a_mediator_sees_what_the_interview_needs_and_only_while_it_is_theirs);

/// 405 says what the path takes; a draft too large is a problem document; errors speak of
/// types in words and do not echo keys the caller made up.
async fn errors_say_what_is_allowed_in_plain_words(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let r =
        u.op.send(awc::http::Method::DELETE, "/api/v1/referrals", &[], None)
            .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow").as_deref(), Some("POST, GET"));
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));

    let big = vec![b'x'; 33 * 1024 * 1024];
    let csrf = u.op.csrf.clone().unwrap_or_default();
    let r =
        u.op.send(
            awc::http::Method::POST,
            "/api/v1/referrals/drafts",
            &[("x-csrf-token", csrf)],
            Some(("message/rfc822", big)),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    assert!(r.json()["status"] == 413, "{}", r.body);

    let mut body = crate::referrals::cas_report(u.cas);
    body["person"]["age"] = json!("twenty");
    body["<script>alert(1)</script>"] = json!(1);
    let r = u.op.api(awc::http::Method::POST, "/api/v1/referrals", Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(!r.body.contains("<script>") && !r.body.contains("script"), "{}", r.body);
    let mut body = crate::referrals::cas_report(u.cas);
    body["person"]["age"] = json!("twenty");
    let r = u.op.api(awc::http::Method::POST, "/api/v1/referrals", Some(body)).await;
    for rust in ["i32", "i64", "u32", "u8", "usize"] {
        assert!(!r.body.contains(rust), "{rust}: {}", r.body);
    }
    assert!(r.body.contains("person.age"), "{}", r.body);
}
both!(errors_say_what_is_allowed_in_plain_words);

/// Danger raises urgency, by protocol data: a minor, or an observation flagged as an emergency
/// in `protocols/indicators.toml`, makes the referral an emergency whatever the referrer chose.
async fn danger_and_minors_make_a_referral_an_emergency(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let cases = [
        (json!({"age": 16}), json!([]), "emergency", Some("minor")),
        (
            json!({"age": 30}),
            json!(["immediate_danger"]),
            "emergency",
            Some("immediate_danger"),
        ),
        (json!({"age": 30}), json!(["debt_bondage"]), "ordinary", None),
    ];
    for (person, indicators, expected, why) in cases {
        let mut body = crate::referrals::cas_report(u.cas);
        body["urgency"] = json!("ordinary");
        body["person"]["age"] = person["age"].clone();
        body["indicators"] = indicators.clone();
        let filed = crate::referrals::file(&mut u.op, body).await;
        let id = filed["id"].as_i64().expect("id");
        let c = crate::referrals::case(&mut u.op, id).await;
        assert_eq!(c["urgency"], expected, "{indicators}: {c}");
        let created = c["history"][0]["detail"].as_str().unwrap_or("").to_owned();
        match why {
            Some(w) => assert!(created.contains(w), "{created}"),
            None => assert!(!created.contains("emergency because"), "{created}"),
        }
    }
    // The queue shows the minor.
    let queue = u.op.get("/referrals").await;
    assert!(queue.body.contains("tag warn minor"), "{}", queue.body);
}
both!(danger_and_minors_make_a_referral_an_emergency);

/// A duplicate is named by its reference, as people know it (a number still works for systems).
async fn a_duplicate_is_named_by_its_reference(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let first = crate::referrals::file(&mut u.op, crate::referrals::cas_report(u.cas)).await;
    let second = crate::referrals::file(&mut u.op, crate::referrals::cas_report(u.cas)).await;
    let (first_id, second_id) = (first["id"].as_i64().expect("id"), second["id"].as_i64().expect("id"));
    let reference = first["reference"].as_str().expect("reference").to_owned();
    // On the page: the reference as typed, lower case and spaces included.
    let r =
        u.op.submit(
            &format!("/referrals/{second_id}"),
            &format!("/referrals/{second_id}/decline"),
            &[
                ("version", "1"),
                ("reason", "duplicate"),
                ("duplicate_of", &format!("  {}  ", reference.to_lowercase())),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let c = crate::referrals::case(&mut u.op, second_id).await;
    assert_eq!(c["duplicate_of"].as_i64(), Some(first_id), "{c}");
    assert_eq!(c["duplicate_of_reference"].as_str(), Some(reference.as_str()));
    let page = u.op.get(&format!("/referrals/{second_id}")).await;
    assert!(
        page.body.contains(&format!(">{reference}</a>")),
        "the page names it by reference"
    );
    // A reference nobody has: said so, on the field.
    let third = crate::referrals::file(&mut u.op, crate::referrals::cas_report(u.cas)).await;
    let r =
        u.op.api(
            awc::http::Method::POST,
            &format!("/api/v1/referrals/{}/decline", third["id"]),
            Some(json!({"version": 1, "reason": "duplicate", "duplicate_of_reference": "R-NOSUCHONE"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("duplicate_of"), "{}", r.body);
}
both!(a_duplicate_is_named_by_its_reference);

/// Irreversible actions take two steps: a page that says what will be lost, then the
/// confirmation. Removing a shift and withdrawing consent (which erases) are such actions.
async fn irreversible_actions_are_confirmed_on_a_page_that_says_what_is_lost(b: Backend) {
    let mut u = crate::referrals::unit(b).await;
    let shifts = u.coord.count("shifts");
    let shift: i64 = {
        let page = u.coord.get("/roster").await.body;
        let start = page.find("/roster/shifts/").expect("a shift to remove") + "/roster/shifts/".len();
        page[start..].split('/').next().expect("id").parse().expect("number")
    };
    let r = u
        .coord
        .submit("/roster", &format!("/roster/shifts/{shift}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"confirm-yes\"") && r.body.contains("non si può annullare"));
    assert!(r.body.contains("href=\"/roster\""), "a way back");
    assert_eq!(u.coord.count("shifts"), shifts, "nothing removed yet");
    let r = u
        .coord
        .submit(
            "/roster",
            &format!("/roster/shifts/{shift}/delete"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(u.coord.count("shifts"), shifts - 1);

    // The unit's withdrawal of consent: the same two steps.
    let org = u.ct_verona;
    let mut ct = crate::referrals::commission(&mut u, "ct.confirm", org).await;
    let body = serde_json::json!({"urgency": "ordinary", "consent": crate::referrals::consent(),
                                  "person": {"alias": "Faith", "gender": "female"}});
    let id = crate::referrals::file(&mut ct, body).await["id"].as_i64().expect("id");
    let r =
        u.op.submit(
            &format!("/referrals/{id}"),
            &format!("/referrals/{id}/consent/withdraw"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("cancellati per sempre") && r.body.contains("name=\"version\" value=\"1\""));
    assert_eq!(crate::referrals::case(&mut u.op, id).await["person"]["alias"], "Faith");
}
both!(irreversible_actions_are_confirmed_on_a_page_that_says_what_is_lost);

/// The 3 a.m. queue: the operator's home; emergencies first, in red, with the time left or how
/// late; drafts below what waits; a search by reference; it refreshes itself with a small
/// script of its own, and works without it; closed referrals show no deadline.
async fn the_queue_puts_emergencies_first_and_says_how_late(b: Backend) {
    use serde_json::json;
    let mut u = crate::referrals::unit(b).await;
    let mut urgent = crate::referrals::cas_report(u.cas);
    urgent["urgency"] = json!("emergency");
    let e = crate::referrals::file(&mut u.op, urgent).await;
    let o = crate::referrals::file(&mut u.op, crate::referrals::cas_report(u.cas)).await;
    let closed = crate::referrals::file(&mut u.op, crate::referrals::cas_report(u.cas)).await;
    let r =
        u.op.api(
            awc::http::Method::POST,
            &format!("/api/v1/referrals/{}/decline", closed["id"]),
            Some(json!({"version": 1, "reason": "redirected_social_services"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let q = u.op.get("/referrals").await.body;
    let at = |needle: &str| q.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
    assert!(at("id=\"emergencies\"") < at("id=\"waiting\""), "emergencies first");
    let e_ref = e["reference"].as_str().expect("reference");
    assert!(q.contains("class=\"emergency\""), "the emergency row is marked");
    assert!(q.contains("tag alarm"));
    assert!(q.contains("tra 15 min") || q.contains("tra 14 min"), "time left: {q}");
    assert!(q.contains("id=\"counts\""));
    assert!(q.contains("<script src=\"/static/refresh.js\" defer></script>"));
    // Later: the emergency is overdue, and says by how much.
    u.op.clock.advance(chrono::Duration::minutes(17));
    let q = u.op.get("/referrals").await.body;
    assert!(q.contains("in ritardo di 2 min"), "{q}");
    // The recent list shows no deadline for the closed one.
    let closed_row = q
        .split("<tr")
        .find(|row| row.contains(closed["reference"].as_str().expect("reference")))
        .expect("closed row");
    assert!(!closed_row.contains("class=\"due"), "{closed_row}");
    // Search by reference.
    let r = u.op.get(&format!("/referrals?q={}", e_ref.to_lowercase())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some(format!("/referrals/{}", e["id"])));
    let r = u.op.get("/referrals?q=R-NOTHERE").await;
    assert!(r.body.contains("id=\"not-found\""));
    let _ = o;
    let js = u.op.get("/static/refresh.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header("content-type").is_some_and(|c| c.contains("javascript")));
}
both!(the_queue_puts_emergencies_first_and_says_how_late);

/// Back after filing shows the form again with a new key: sending it again is warned of, naming
/// the earlier reference, and files only when sent once more.
async fn a_probable_duplicate_is_named_before_it_is_filed(b: Backend) {
    let mut u = crate::referrals::unit(b).await;
    let cas = u.cas.to_string();
    let fields = [
        ("source_kind", "cas_operator"),
        ("referring_org_id", cas.as_str()),
        ("hosted_org_id", cas.as_str()),
        ("urgency", "ordinary"),
        ("alias", "Mercy"),
        ("gender", "female"),
        ("languages", "en"),
    ];
    let r = u.op.submit("/referrals/new", "/referrals", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let first = u.op.get(r.header("location").as_deref().expect("location")).await.body;
    let reference = first
        .split("<h1>")
        .nth(1)
        .and_then(|h| h.split_whitespace().next())
        .expect("reference")
        .to_owned();
    // The same person again, with a fresh form (as after Back): warned, not filed.
    let before = u.op.count("referrals");
    let mut again: Vec<(&str, &str)> = fields.to_vec();
    again[4] = ("alias", "  mercy ");
    let r = u.op.submit("/referrals/new", "/referrals", &again).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body.contains("Probabile duplicato") && r.body.contains(&reference),
        "{}",
        r.body
    );
    assert!(r.body.contains("name=\"file_anyway\" value=\"yes\""));
    assert!(r.body.contains("value=\"  mercy \""), "the form keeps what was typed");
    assert_eq!(u.op.count("referrals"), before);
    // Sent again from that page: filed.
    again.push(("file_anyway", "yes"));
    let r = u.op.submit("/referrals/new", "/referrals", &again).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(u.op.count("referrals"), before + 1);
    // Another person from the same organisation: no warning.
    let mut other: Vec<(&str, &str)> = fields.to_vec();
    other[4] = ("alias", "Esther");
    let r = u.op.submit("/referrals/new", "/referrals", &other).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}
both!(a_probable_duplicate_is_named_before_it_is_filed);

/// After an edit conflict the form keeps what the user typed and shows, beside it, what the
/// other person saved meanwhile: a second save is a choice, not a silent revert.
async fn an_edit_conflict_shows_the_other_persons_values(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    let org = admin.org("CAS Dolo").email("old@cas.example.org").create().await;
    let path = format!("/admin/organisations/{org}");
    let page = admin.get(&path).await;
    let csrf = page.csrf_field();
    // Someone else changes the email first.
    let r = admin
        .form(
            &path,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("name", "CAS Dolo"),
                ("kind", "cas"),
                ("email", "new@cas.example.org"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // This user, from the page opened before, renames it.
    let r = admin
        .form(
            &path,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("name", "CAS Dolo (Venezia)"),
                ("kind", "cas"),
                ("email", "old@cas.example.org"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body.contains("value=\"CAS Dolo (Venezia)\""),
        "the user's input is kept"
    );
    assert!(
        r.body.contains("id=\"current-values\"") && r.body.contains("new@cas.example.org"),
        "{}",
        r.body
    );
    assert!(r.body.contains("name=\"version\" value=\"2\""));
    let o = admin.get(&format!("/api/v1/organisations/{org}")).await.json();
    assert_eq!(
        (o["name"].as_str(), o["email"].as_str()),
        (Some("CAS Dolo"), Some("new@cas.example.org"))
    );
}
both!(an_edit_conflict_shows_the_other_persons_values);
