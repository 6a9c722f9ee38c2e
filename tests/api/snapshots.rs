//! What outsiders receive, frozen in reviewed snapshots (`tests/api/snapshots/`): a referring
//! organisation's and a commission's view of a referral and of their list, and the problem
//! documents. Volatile values (ids, references, instants) are masked. A personal field added to
//! an outsider's view changes a snapshot, and shows up in review.

use awc::http::{Method, StatusCode};
use insta::assert_json_snapshot;
use serde_json::json;

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::referrals::{commission, consent, file, unit};

async fn what_a_referrer_and_a_commission_see_of_their_reports(b: Backend) {
    let mut u = unit(b).await;
    u.admin
        .user("ref.snapshot")
        .role("referrer")
        .org(u.cas)
        .email("ref@cas.example.org")
        .create()
        .await;
    let mut referrer = TestApp::sibling(&u.admin);
    assert_eq!(
        referrer.login("ref.snapshot", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let body = json!({"urgency": "ordinary", "referrer_contact": "operatrice di turno",
                      "person": {"alias": "Blessing", "gender": "female", "age": 19, "nationality": "Nigeria",
                                 "languages": ["en", "pcm"], "hosted_org_id": u.cas},
                      "emergence_province": "VE", "exploitation_types": ["sexual"], "notes": "racconto"});
    let created = file(&mut referrer, body).await;
    let id = created["id"].as_i64().expect("id");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/feedback"),
            Some(json!({"version": 1, "body": "Colloquio fissato."})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/decline"),
            Some(json!({"version": 2, "reason": "redirected_social_services", "note": "solo per l'unità"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Volatile values are masked where present; an absent one stays `null`.
    let mut settings = insta::Settings::clone_current();
    for path in [
        ".id",
        ".reference",
        ".received_at",
        ".decided_at",
        ".feedback[].at",
        "[].id",
        "[].reference",
        "[].received_at",
        "[].decided_at",
    ] {
        settings.add_dynamic_redaction(path, |value, _| {
            if value.is_nil() {
                value
            } else {
                insta::internals::Content::from("[masked]")
            }
        });
    }
    let _guard = settings.bind_to_scope();

    assert_json_snapshot!("referrer_created", created);
    let view = referrer.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_json_snapshot!("referrer_view", view.json());
    let list = referrer.get("/api/v1/referrals").await;
    assert_json_snapshot!("referrer_list", list.json());

    let org = u.ct_verona;
    let mut ct = commission(&mut u, "ct.snapshot", org).await;
    let body = json!({"urgency": "ordinary", "consent": consent(),
                      "person": {"alias": "Joy", "gender": "female", "age": 22, "languages": ["en"]},
                      "exploitation_types": ["sexual"], "emergence_province": "VR"});
    let id2 = file(&mut ct, body).await["id"].as_i64().expect("id");
    let r = ct
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{id2}/consent/withdraw"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let view = ct.get(&format!("/api/v1/referrals/{id2}")).await;
    assert_json_snapshot!("commission_view_after_withdrawal", view.json());
    let list = ct.get("/api/v1/referrals").await;
    assert_json_snapshot!("commission_list", list.json());

    // Another organisation's report: not found, and the problem says nothing of it.
    let other = ct.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_json_snapshot!("problem_not_found", other.json());
}
both!(what_a_referrer_and_a_commission_see_of_their_reports);

async fn problem_documents_name_the_field_the_state_and_the_action(b: Backend) {
    let mut u = unit(b).await;
    let bad =
        u.op.api(
            Method::POST,
            "/api/v1/referrals",
            Some(
                json!({"source_kind": "cas_operator", "person": {"age": 300, "languages": ["english"]},
                        "emergence_province": "XX"}),
            ),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_json_snapshot!("problem_validation", bad.json());
    let malformed =
        u.op.api(Method::POST, "/api/v1/referrals", Some(json!({"urgency": "whenever"})))
            .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_json_snapshot!("problem_bad_request", malformed.json());
    let id = file(&mut u.op, crate::referrals::cas_report(u.cas)).await["id"]
        .as_i64()
        .expect("id");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/decline"),
            Some(json!({"version": 1, "reason": "withdrawn_by_referrer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let illegal =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/take-charge"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_json_snapshot!("problem_illegal_transition", illegal.json());
    let stale =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/feedback"),
            Some(json!({"version": 1, "body": "x"})),
        )
        .await;
    assert_json_snapshot!("problem_stale_version", stale.json());
}
both!(problem_documents_name_the_field_the_state_and_the_action);
