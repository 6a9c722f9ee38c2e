//! Referral intake and 24/7 routing: procedures per source, consent, idempotency, what each
//! side sees, assignment by roster and language, decisions, escalation, hotline calls.

use awc::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};

/// A crisis unit at 03:00 in Rome: organisations, staff with work emails, a roster.
pub struct Unit {
    pub admin: TestApp,
    pub coord: TestApp,
    pub op: TestApp,
    pub cas: i64,
    pub prefecture: i64,
    pub sai: i64,
    pub ct_verona: i64,
    pub ct_padova: i64,
    pub op_id: i64,
    pub coord_id: i64,
    pub med_id: i64,
}

pub async fn unit(b: Backend) -> Unit {
    unit_with(b, |_| {}).await
}

/// The unit, on settings adjusted by `tune`.
pub async fn unit_with(b: Backend, tune: impl FnOnce(&mut varco::config::Settings)) -> Unit {
    let mut admin = crate::helpers::spawn_with(b, tune).await;
    admin.setup_admin().await;
    let cas = admin.org("CAS Cona").email("cas.cona@example.org").create().await;
    let prefecture = admin.org("Prefettura di Venezia").kind("prefecture").create().await;
    let sai = admin.org("SAI Venezia").kind("sai").create().await;
    let ct_verona = admin
        .org("Commissione Territoriale di Verona")
        .kind("territorial_commission")
        .email("ct.verona@example.org")
        .create()
        .await;
    let ct_padova = admin
        .org("Commissione Territoriale di Verona – sezione di Padova")
        .kind("territorial_commission")
        .email("ct.padova@example.org")
        .create()
        .await;
    let op_id = admin
        .user("operatrice.notte")
        .email("op@unit.example.org")
        .languages(&["it", "en"])
        .create()
        .await;
    let coord_id = admin
        .user("coordinatrice")
        .role("coordinator")
        .email("coord@unit.example.org")
        .languages(&["it"])
        .create()
        .await;
    let med_id = admin
        .user("mediatrice.edo")
        .role("mediator")
        .email("med@unit.example.org")
        .languages(&["en", "pcm", "edo"])
        .create()
        .await;
    let mut coord = TestApp::sibling(&admin);
    assert_eq!(
        coord.login("coordinatrice", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // Tonight: 00:00–08:00 Rome (the clock stands at 03:00 Rome).
    for (uid, duty, mode) in [
        (op_id, "operator", "on_duty"),
        (coord_id, "coordinator", "on_call"),
        (med_id, "mediator", "on_call"),
    ] {
        let r = coord
            .api(
                Method::POST,
                "/api/v1/roster/shifts",
                Some(json!({"user_id": uid, "duty": duty, "mode": mode,
                            "starts_at": "2026-11-25T00:00", "ends_at": "2026-11-25T08:00"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let mut op = TestApp::sibling(&admin);
    assert_eq!(
        op.login("operatrice.notte", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    Unit {
        admin,
        coord,
        op,
        cas,
        prefecture,
        sai,
        ct_verona,
        ct_padova,
        op_id,
        coord_id,
        med_id,
    }
}

/// A logged-in commission officer of `org`.
pub async fn commission(u: &mut Unit, username: &str, org: i64) -> TestApp {
    u.admin
        .user(username)
        .role("commission")
        .org(org)
        .email(&format!("{username}@ct.example.org"))
        .create()
        .await;
    let mut c = TestApp::sibling(&u.admin);
    assert_eq!(c.login(username, PASSWORD).await.status, StatusCode::SEE_OTHER);
    c
}

pub fn consent() -> Value {
    json!({"audition_date": "2026-11-20", "section": "Sezione di Padova", "collected_by": "funzionaria istruttrice",
           "wants_information": true, "contact_route": "cas_operator", "contact_detail": "operatrice CAS, tel. di servizio"})
}

pub fn cas_report(cas: i64) -> Value {
    json!({"channel": "hotline", "source_kind": "cas_operator", "referring_org_id": cas,
           "referrer_contact": "operatrice del CAS, turno notte", "urgency": "ordinary",
           "person": {"alias": "Blessing", "gender": "female", "age": 19, "nationality": "Nigeria",
                      "languages": ["en", "pcm"], "hosted_org_id": cas},
           "emergence_province": "VE", "emergence_context": "cas_arrival",
           "exploitation_types": ["sexual"], "indicators": ["debt_bondage"], "notes": "ha chiesto aiuto all'operatrice"})
}

pub async fn file(app: &mut TestApp, body: Value) -> Value {
    let r = app.api(Method::POST, "/api/v1/referrals", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()
}

pub async fn case(app: &mut TestApp, id: i64) -> Value {
    let r = app.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

fn history(case: &Value) -> Vec<String> {
    case["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["kind"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn the_operator_on_duty_gets_each_referral_and_a_mediator_is_proposed_by_language(b: Backend) {
    let mut u = unit(b).await;
    let id = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let c = case(&mut u.op, id).await;
    assert_eq!(c["assigned_operator"]["id"], u.op_id);
    assert_eq!(
        c["proposed_mediator"]["id"], u.med_id,
        "pcm is spoken by the mediator on call"
    );
    assert_eq!(c["person"]["alias"], "Blessing");
    assert_eq!(c["person"]["age_band"], "18-24");
    assert!(history(&c).starts_with(&["created".into(), "assigned".into(), "mediator_proposed".into()]));
    // The operator is told by email: a reference and a link, never the person.
    let mail = u.admin.outbox();
    let (to, kind, reference, text) = mail.last().expect("a message");
    assert_eq!((to.as_str(), kind.as_str()), ("op@unit.example.org", "new_referral"));
    assert_eq!(reference, c["reference"].as_str().expect("reference"));
    assert!(text.contains(&format!("/referrals/{id}")) && !text.contains("Blessing") && !text.contains("Nigeria"));

    // A language no mediator on shift speaks: noted in the history, the unit sees it.
    let mut zh = cas_report(u.cas);
    zh["person"]["languages"] = json!(["zh"]);
    let id2 = file(&mut u.op, zh).await["id"].as_i64().expect("id");
    let c2 = case(&mut u.op, id2).await;
    assert!(c2["proposed_mediator"].is_null());
    assert!(history(&c2).contains(&"mediator_missing".to_owned()));

    // An emergency is mailed as one.
    let mut urgent = cas_report(u.cas);
    urgent["urgency"] = json!("emergency");
    file(&mut u.op, urgent).await;
    assert_eq!(
        u.admin.outbox().last().map(|m| m.1.clone()).as_deref(),
        Some("emergency")
    );

    // Routing reads a snapshot of the roster; a change made through the service applies at once:
    // with the operator disabled, the next referral has nobody to go to.
    let r = u
        .admin
        .api(
            Method::PATCH,
            &format!("/api/v1/users/{}", u.op_id),
            Some(json!({"version": 1, "disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut coord = TestApp::sibling(&u.admin);
    coord.login("coordinatrice", PASSWORD).await;
    let id3 = file(&mut coord, cas_report(u.cas)).await["id"].as_i64().expect("id");
    assert!(
        case(&mut coord, id3).await["assigned_operator"].is_null(),
        "not routed to a disabled operator"
    );
    let r = u
        .admin
        .api(
            Method::PATCH,
            &format!("/api/v1/users/{}", u.op_id),
            Some(json!({"version": 2, "disabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // After the shift nobody is on duty: the referral is unassigned and the coordinators are alerted.
    u.op.clock.advance(Duration::hours(6));
    u.op.login("operatrice.notte", PASSWORD).await;
    let id4 = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let c4 = case(&mut u.op, id4).await;
    assert!(c4["assigned_operator"].is_null());
    assert!(history(&c4).contains(&"unassigned".to_owned()));
    assert_eq!(
        u.admin.outbox().last().map(|m| m.0.clone()).as_deref(),
        Some("coord@unit.example.org")
    );
}
both!(the_operator_on_duty_gets_each_referral_and_a_mediator_is_proposed_by_language);

async fn each_source_follows_its_procedure(b: Backend) {
    let mut u = unit(b).await;
    // CAS operators: the report names the CAS hosting the person.
    let mut no_host = cas_report(u.cas);
    no_host["person"]["hosted_org_id"] = Value::Null;
    let r = u.op.api(Method::POST, "/api/v1/referrals", Some(no_host)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["person.hosted_org_id"]);
    let mut hosted_by_prefecture = cas_report(u.cas);
    hosted_by_prefecture["person"]["hosted_org_id"] = json!(u.prefecture);
    let r =
        u.op.api(Method::POST, "/api/v1/referrals", Some(hosted_by_prefecture))
            .await;
    assert_eq!(
        r.problem_fields(),
        vec!["person.hosted_org_id"],
        "a prefecture hosts nobody"
    );

    // Prefecture: the unit contacts the CAS operators where the person is hosted.
    let mut pref = cas_report(u.cas);
    pref["source_kind"] = json!("prefecture");
    pref["referring_org_id"] = json!(u.prefecture);
    let id = file(&mut u.op, pref).await["id"].as_i64().expect("id");
    let c = case(&mut u.op, id).await;
    let task = c["history"]
        .as_array()
        .and_then(|h| h.iter().find(|e| e["kind"] == "task_contact_cas"))
        .expect("task");
    assert_eq!(task["detail"], "CAS Cona");

    // SAI: interview at the SAI desk, joint or not.
    let sai = json!({"source_kind": "sai_operator", "referring_org_id": u.sai, "interview_joint": true,
                     "person": {"gender": "male", "age_band": "25-34", "hosted_org_id": u.sai},
                     "exploitation_types": ["labour"]});
    let id = file(&mut u.op, sai).await["id"].as_i64().expect("id");
    let c = case(&mut u.op, id).await;
    let task = c["history"]
        .as_array()
        .and_then(|h| h.iter().find(|e| e["kind"] == "task_interview_sai_desk"))
        .expect("task");
    assert_eq!(task["detail"], "joint");
    let mut joint_on_cas = cas_report(u.cas);
    joint_on_cas["interview_joint"] = json!(false);
    let r = u.op.api(Method::POST, "/api/v1/referrals", Some(joint_on_cas)).await;
    assert_eq!(r.problem_fields(), vec!["interview_joint"]);

    // Sources without extra requirements.
    for source in [
        "police",
        "labour",
        "social_health_service",
        "street_unit",
        "private_citizen",
        "self",
    ] {
        let body = json!({"source_kind": source, "urgency": "ordinary", "person": {"gender": "unknown"}, "emergence_context": "street"});
        let r = u.op.api(Method::POST, "/api/v1/referrals", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{source}: {}", r.body);
        assert_eq!(r.json()["source_kind"], source);
    }
    // A consent record on a report that is not a commission's is refused.
    let mut with_consent = cas_report(u.cas);
    with_consent["consent"] = consent();
    let r = u.op.api(Method::POST, "/api/v1/referrals", Some(with_consent)).await;
    assert_eq!(r.problem_fields(), vec!["consent"]);

    // A referrer's report: its own organisation, its kind's source, the portal channel.
    u.admin
        .user("ref.cas")
        .role("referrer")
        .org(u.cas)
        .email("ref@cas.example.org")
        .create()
        .await;
    let mut referrer = TestApp::sibling(&u.admin);
    referrer.login("ref.cas", PASSWORD).await;
    let mut own = cas_report(u.cas);
    own.as_object_mut().map(|o| {
        o.remove("channel");
        o.remove("source_kind");
        o.remove("referring_org_id")
    });
    let r = referrer.api(Method::POST, "/api/v1/referrals", Some(own.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rid = r.json()["id"].as_i64().expect("id");
    let c = case(&mut u.op, rid).await;
    assert_eq!(
        (c["source_kind"].as_str(), c["channel"].as_str()),
        (Some("cas_operator"), Some("portal"))
    );
    assert_eq!(c["referring_org"]["id"], u.cas);
    own["referring_org_id"] = json!(u.prefecture);
    let r = referrer.api(Method::POST, "/api/v1/referrals", Some(own)).await;
    assert_eq!(
        r.problem_fields(),
        vec!["referring_org_id"],
        "never on behalf of another organisation"
    );
    // Unknown indicators and provinces are named.
    let mut bad = cas_report(u.cas);
    bad["indicators"] = json!(["debt_bondage", "made_up"]);
    bad["emergence_province"] = json!("Gotham");
    let r = u.op.api(Method::POST, "/api/v1/referrals", Some(bad)).await;
    assert_eq!(r.problem_fields(), vec!["emergence_province", "indicators[1]"]);
}
both!(each_source_follows_its_procedure);

/// The sector of labour exploitation, where known: rows, given back in the referral; refused by
/// name without the labour type (nothing written); a type given twice is kept once. Who recruited
/// the person, as reported, likewise.
async fn the_sector_of_labour_exploitation_is_kept_where_known(b: Backend) {
    let mut u = unit(b).await;
    let mut bad = cas_report(u.cas);
    bad["labour_sectors"] = json!(["agriculture"]);
    let r = u.op.api(Method::POST, "/api/v1/referrals", Some(bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["labour_sectors"]);
    assert_eq!(u.admin.count("referrals"), 0);
    let mut unknown = cas_report(u.cas);
    unknown["labour_sectors"] = json!(["fishing"]);
    let r = u.op.api(Method::POST, "/api/v1/referrals", Some(unknown)).await;
    assert!(r.status.is_client_error(), "{}", r.body);
    let mut body = cas_report(u.cas);
    body["exploitation_types"] = json!(["labour", "sexual", "labour"]);
    body["labour_sectors"] = json!(["domestic_work", "agriculture", "agriculture"]);
    body["recruiter_relations"] = json!(["not_known", "family"]);
    let id = file(&mut u.op, body).await["id"].as_i64().expect("id");
    let c = case(&mut u.op, id).await;
    assert_eq!(c["exploitation_types"], json!(["labour", "sexual"]));
    assert_eq!(c["labour_sectors"], json!(["agriculture", "domestic_work"]));
    assert_eq!(c["recruiter_relations"], json!(["family", "not_known"]));
    assert_eq!(u.admin.count("referral_labour_sectors"), 2);
    assert_eq!(u.admin.count("referral_recruiter_relations"), 2);
    let page = u.op.get(&format!("/referrals/{id}")).await;
    assert!(
        page.body.contains("Agricoltura, Lavoro domestico e di cura"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Familiare, Non la conosce"), "{}", page.body);
}
both!(the_sector_of_labour_exploitation_is_kept_where_known);

async fn a_commission_report_without_consent_is_refused_and_nothing_is_stored(b: Backend) {
    let mut u = unit(b).await;
    let mut ct = {
        let org = u.ct_verona;
        commission(&mut u, "ct.verona.1", org)
    }
    .await;
    let before = (
        u.admin.count("referrals"),
        u.admin.count("referral_people"),
        u.admin.count("outbox"),
    );
    let body = json!({"urgency": "ordinary", "person": {"alias": "Joy", "gender": "female"}});
    let r = ct.api(Method::POST, "/api/v1/referrals", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["consent"]);
    assert!(r.json()["detail"].as_str().unwrap_or("").contains("consent"));
    // A consent record that does not say the person asked for information is no consent.
    let mut half = body.clone();
    half["consent"] = consent();
    half["consent"]["wants_information"] = json!(false);
    let r = ct.api(Method::POST, "/api/v1/referrals", Some(half)).await;
    assert_eq!(r.problem_fields(), vec!["consent.wants_information"]);
    let mut no_route = body.clone();
    no_route["consent"] = consent();
    no_route["consent"]["contact_route"] = Value::Null;
    no_route["consent"]["audition_date"] = Value::Null;
    let r = ct.api(Method::POST, "/api/v1/referrals", Some(no_route)).await;
    assert_eq!(
        r.problem_fields(),
        vec!["consent.audition_date", "consent.contact_route"]
    );
    // The unit cannot log a commission report without consent either.
    let r =
        u.op.api(
            Method::POST,
            "/api/v1/referrals",
            Some(json!({"source_kind": "territorial_commission", "referring_org_id": u.ct_verona})),
        )
        .await;
    assert_eq!(r.problem_fields(), vec!["consent"]);
    let after = (
        u.admin.count("referrals"),
        u.admin.count("referral_people"),
        u.admin.count("outbox"),
    );
    assert_eq!(before, after, "nothing stored");
    // With consent it goes through, with the consent record kept.
    let mut ok = body;
    ok["consent"] = consent();
    let r = ct.api(Method::POST, "/api/v1/referrals", Some(ok)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = case(&mut u.op, r.json()["id"].as_i64().expect("id")).await;
    assert_eq!(c["consent"]["commission"]["id"], u.ct_verona);
    assert_eq!(c["consent"]["contact_route"], "cas_operator");
    assert_eq!(c["source_kind"], "territorial_commission");
}
both!(a_commission_report_without_consent_is_refused_and_nothing_is_stored);

async fn withdrawing_consent_restricts_the_referral_and_erases_the_person(b: Backend) {
    let mut u = unit(b).await;
    let mut ct = {
        let org = u.ct_verona;
        commission(&mut u, "ct.verona.2", org)
    }
    .await;
    let body = json!({"urgency": "ordinary", "consent": consent(),
                      "person": {"alias": "Joy", "gender": "female", "age": 22, "nationality": "Nigeria", "languages": ["en"]},
                      "notes": "racconto dettagliato", "exploitation_types": ["sexual"], "emergence_province": "PD"});
    let id = file(&mut ct, body).await["id"].as_i64().expect("id");
    let v = case(&mut u.op, id).await["version"].as_i64().expect("v");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/take-charge"),
            Some(json!({"version": v})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/feedback"),
            Some(json!({"version": v + 1, "body": "Primo colloquio svolto con Joy."})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The commission withdraws on the person's behalf.
    let r = ct
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/consent/withdraw"),
            Some(json!({"version": v + 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "restricted");
    assert_eq!(r.json()["consent_withdrawn"], true);

    let c = case(&mut u.op, id).await;
    assert_eq!(c["status"], "restricted");
    for erased in [
        &c["person"]["alias"],
        &c["person"]["age"],
        &c["person"]["nationality"],
        &c["notes"],
        &c["consent"]["contact_detail"],
        &c["consent"]["collected_by"],
    ] {
        assert!(erased.is_null(), "{c}");
    }
    assert_eq!(c["person"]["languages"], json!([]));
    assert!(!c.to_string().contains("Joy") && !c.to_string().contains("racconto"));
    // Non-identifying facts and the history stay: the referral still counts.
    assert_eq!(
        (c["person"]["gender"].as_str(), c["emergence_province"].as_str()),
        (Some("female"), Some("028"))
    );
    assert_eq!(c["exploitation_types"], json!(["sexual"]));
    assert!(
        history(&c).contains(&"consent_withdrawn".to_owned()) && history(&c).contains(&"taken_in_charge".to_owned())
    );
    assert!(c["consent"]["withdrawn_at"].is_string());
    // No further processing.
    let v = c["version"].as_i64().expect("v");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/feedback"),
            Some(json!({"version": v, "body": "altro"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // The commission is notified (reference and link only).
    let mail = u.admin.outbox();
    let last = mail.last().expect("message");
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("ct.verona@example.org", "consent_withdrawn")
    );
    // The audit trail stays.
    let entries = u.admin.audit(&format!("entity_type=referral&entity_id={id}")).await;
    let actions: Vec<_> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    for a in [
        "referral.create",
        "referral.take_charge",
        "referral.feedback",
        "referral.consent_withdrawn",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}
both!(withdrawing_consent_restricts_the_referral_and_erases_the_person);

async fn retried_submissions_with_the_same_idempotency_key_create_one_referral(b: Backend) {
    let mut u = unit(b).await;
    let r = u
        .admin
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"org_id": u.ct_padova, "role": "commission", "label": "protocollo CT"})),
        )
        .await;
    let token = r.json()["secret"].as_str().expect("secret").to_owned();
    let body = json!({"consent": consent(), "person": {"alias": "A.", "gender": "female"}, "urgency": "ordinary"});
    let send = |key: &'static str, body: Value| {
        let token = token.clone();
        let mut app = TestApp::sibling(&u.admin);
        async move {
            let headers = [
                ("authorization", format!("Bearer {token}")),
                ("idempotency-key", key.to_owned()),
            ];
            app.send(
                Method::POST,
                "/api/v1/referrals",
                &headers,
                Some(("application/json", body.to_string().into_bytes())),
            )
            .await
        }
    };
    let first = send("ct-pd-2026-000117", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = send("ct-pd-2026-000117", body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "a retry is not an error");
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.json()["reference"], first.json()["reference"]);
    assert_eq!(
        again.json(),
        first.json(),
        "the answer built at intake is the row as stored"
    );
    assert_eq!(u.admin.count("referrals"), 1);
    // The same key for another report is refused; another key is another referral.
    let mut other = body.clone();
    other["person"]["alias"] = json!("B.");
    let clash = send("ct-pd-2026-000117", other.clone()).await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(clash.problem_fields(), vec!["Idempotency-Key"]);
    assert_eq!(send("ct-pd-2026-000118", other).await.status, StatusCode::CREATED);
    assert_eq!(u.admin.count("referrals"), 2);
    // Concurrent retries of one submission still make one referral.
    let (a, b2) =
        futures_util::future::join(send("ct-pd-2026-000119", body.clone()), send("ct-pd-2026-000119", body)).await;
    assert!(
        a.status.is_success() && b2.status.is_success(),
        "{} {}",
        a.body,
        b2.body
    );
    assert_eq!(a.json()["id"], b2.json()["id"]);
    assert_eq!(u.admin.count("referrals"), 3);
}
both!(retried_submissions_with_the_same_idempotency_key_create_one_referral);

async fn each_commission_sees_only_its_own_reports_and_what_is_addressed_to_it(b: Backend) {
    let mut u = unit(b).await;
    let mut verona = {
        let org = u.ct_verona;
        commission(&mut u, "ct.verona.3", org)
    }
    .await;
    let mut padova = {
        let org = u.ct_padova;
        commission(&mut u, "ct.padova.1", org)
    }
    .await;
    let body =
        json!({"consent": consent(), "person": {"alias": "Esther", "gender": "female"}, "notes": "solo per l'unità"});
    let vr = file(&mut verona, body.clone()).await;
    let pd = file(&mut padova, body).await;
    let (vr_id, pd_id) = (vr["id"].as_i64().expect("id"), pd["id"].as_i64().expect("id"));
    // What a commission gets back never holds the case file.
    for key in ["person", "notes", "history", "assigned_operator", "decision_note"] {
        assert!(vr.get(key).is_none(), "{key} leaked: {vr}");
    }
    let list = verona.get("/api/v1/referrals").await.json();
    let ids: Vec<_> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![Some(vr_id)]);
    assert_eq!(
        verona.get(&format!("/api/v1/referrals/{pd_id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = verona
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{pd_id}/consent/withdraw"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another commission's report does not exist for it"
    );
    let r = verona
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{vr_id}/take-charge"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "decisions are the unit's");
    // Each refusal is in the audit trail: the route's (a role the route does not allow), and the
    // service's, naming the referral asked for.
    assert_eq!(
        u.op.count_where(
            "audit_log",
            &format!(
                "action = 'access.denied' AND outcome = 'denied' AND detail LIKE '%take-charge' \
                 AND entity_type = 'referral' AND entity_id = '{vr_id}'"
            )
        ),
        1
    );
    for (action, id) in [("referral.read", pd_id), ("referral.consent_withdrawn", pd_id)] {
        assert_eq!(
            u.op.count_where(
                "audit_log",
                &format!("action = '{action}' AND outcome = 'denied' AND entity_id = '{id}'")
            ),
            1,
            "{action}"
        );
    }

    // The unit declines Padova's (a duplicate of Verona's) with a note for itself, takes Verona's
    // in charge and writes back.
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{pd_id}/decline"),
            Some(json!({"version": 1, "reason": "duplicate", "note": "stessa persona, nota interna"})),
        )
        .await;
    assert_eq!(r.problem_fields(), vec!["duplicate_of"]);
    let r = u
        .op
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{pd_id}/decline"),
            Some(json!({"version": 1, "reason": "duplicate", "duplicate_of": vr_id, "note": "stessa persona, nota interna"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{pd_id}/take-charge"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "already declined");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{vr_id}/take-charge"),
            Some(json!({"version": 7})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["current_version"], 1);
    u.op.api(
        Method::POST,
        &format!("/api/v1/referrals/{vr_id}/take-charge"),
        Some(json!({"version": 1})),
    )
    .await;
    u.op.api(
        Method::POST,
        &format!("/api/v1/referrals/{vr_id}/feedback"),
        Some(json!({"version": 2, "body": "Colloquio svolto il 26/11."})),
    )
    .await;

    let seen = padova.get(&format!("/api/v1/referrals/{pd_id}")).await.json();
    assert_eq!(
        (seen["status"].as_str(), seen["decline_reason"].as_str()),
        (Some("declined"), Some("duplicate"))
    );
    assert!(
        !seen.to_string().contains("nota interna"),
        "the unit's note stays in the unit"
    );
    let seen = verona.get(&format!("/api/v1/referrals/{vr_id}")).await.json();
    assert_eq!(seen["status"], "in_charge");
    assert_eq!(seen["feedback"][0]["body"], "Colloquio svolto il 26/11.");
    assert!(!seen.to_string().contains("solo per l'unità"));
    // Both were told by email, with no content.
    let kinds: Vec<_> = u
        .admin
        .outbox()
        .into_iter()
        .filter(|m| m.0.starts_with("ct."))
        .map(|m| (m.0, m.1))
        .collect();
    assert!(
        kinds.contains(&("ct.padova.1@ct.example.org".into(), "decision".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("ct.verona.3@ct.example.org".into(), "feedback".into())),
        "{kinds:?}"
    );
    // A declined referral is still in the list of contacts (for the observatory), as declined.
    let all = u.op.get("/api/v1/referrals?status=declined").await.json();
    assert_eq!(all.as_array().map(|a| a.len()), Some(1));
    // Mediators see only what is proposed to them; analysts and admins nothing.
    let mut med = TestApp::sibling(&u.admin);
    med.login("mediatrice.edo", PASSWORD).await;
    assert_eq!(
        med.get("/api/v1/referrals").await.json().as_array().map(|a| a.len()),
        Some(0)
    );
    assert_eq!(
        med.get(&format!("/api/v1/referrals/{vr_id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(u.admin.get("/api/v1/referrals").await.status, StatusCode::FORBIDDEN);
}
both!(each_commission_sees_only_its_own_reports_and_what_is_addressed_to_it);

async fn unacknowledged_emergencies_escalate_to_the_coordinator_on_time(b: Backend) {
    let mut u = unit(b).await;
    let mut urgent = cas_report(u.cas);
    urgent["urgency"] = json!("emergency");
    let id = file(&mut u.op, urgent.clone()).await["id"].as_i64().expect("id");
    let acked = file(&mut u.op, urgent).await["id"].as_i64().expect("id");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{acked}/acknowledge"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let escalate = || varco::startup::escalate(&u.admin.state);
    u.admin.clock.advance(Duration::minutes(14));
    assert_eq!(escalate().await.expect("run"), 0, "14 minutes: not yet");
    assert!(!case(&mut u.op, id).await["overdue"].as_bool().unwrap_or(true));
    u.admin.clock.advance(Duration::minutes(2));
    assert_eq!(
        escalate().await.expect("run"),
        1,
        "16 minutes: the unacknowledged one only"
    );
    assert_eq!(escalate().await.expect("run"), 0, "once");
    let c = case(&mut u.op, id).await;
    assert!(history(&c).contains(&"escalated".to_owned()) && c["overdue"] == true);
    let last = u.admin.outbox().last().cloned().expect("message");
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("coord@unit.example.org", "escalation")
    );
    // Ordinary referrals: overdue after 24 hours without being taken in charge.
    let ordinary = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    u.admin.clock.advance(Duration::hours(23));
    assert_eq!(escalate().await.expect("run"), 0);
    u.admin.clock.advance(Duration::hours(2));
    assert_eq!(
        escalate().await.expect("run"),
        2,
        "the ordinary one and the acknowledged emergency left unhandled"
    );
    u.op.login("operatrice.notte", PASSWORD).await;
    let c = case(&mut u.op, ordinary).await;
    assert!(history(&c).contains(&"overdue".to_owned()));
    assert_eq!(u.admin.outbox().last().map(|m| m.1.clone()).as_deref(), Some("overdue"));
}
both!(unacknowledged_emergencies_escalate_to_the_coordinator_on_time);

async fn hotline_calls_are_logged_and_diverted_to_the_regional_project(b: Backend) {
    let mut u = unit(b).await;
    let r = u
        .op
        .api(
            Method::POST,
            "/api/v1/hotline/calls",
            Some(json!({"duration_secs": 340, "language": "ro", "caller_kind": "private_citizen", "province": "PD", "outcome": "diverted"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let call = r.json();
    assert_eq!(
        (call["region"].as_str(), call["province"].as_str()),
        (Some("05"), Some("028"))
    );
    let project = call["diverted_project"].as_str().expect("project").to_owned();
    assert_eq!(
        Some(project.as_str()),
        u.admin.state.protocols.project_for_region("05").map(|p| p.id.as_str())
    );
    for outcome in ["information", "emergency_activation"] {
        let r =
            u.op.api(
                Method::POST,
                "/api/v1/hotline/calls",
                Some(json!({"language": "uk", "outcome": outcome})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r =
        u.op.api(
            Method::POST,
            "/api/v1/hotline/calls",
            Some(json!({"outcome": "diverted"})),
        )
        .await;
    assert_eq!(
        r.problem_fields(),
        vec!["region"],
        "diverting needs the caller's region"
    );
    let r =
        u.op.api(
            Method::POST,
            "/api/v1/hotline/calls",
            Some(json!({"language": "de", "outcome": "information"})),
        )
        .await;
    assert_eq!(r.problem_fields(), vec!["language"], "German is not a station language");
    let list = u.op.get("/api/v1/hotline/calls?outcome=diverted").await.json();
    assert_eq!(list.as_array().map(|a| a.len()), Some(1));
    assert_eq!(
        u.op.get("/api/v1/hotline/calls")
            .await
            .json()
            .as_array()
            .map(|a| a.len()),
        Some(3)
    );
}
both!(hotline_calls_are_logged_and_diverted_to_the_regional_project);

async fn the_roster_shows_who_is_on_and_the_gaps_ahead(b: Backend) {
    let mut u = unit(b).await;
    let roster = u.op.get("/api/v1/roster?days=1").await.json();
    let on_now: Vec<_> = roster["now"]
        .as_array()
        .expect("now")
        .iter()
        .map(|s| s["duty"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(on_now, vec!["operator", "coordinator", "mediator"]);
    let gaps = roster["gaps"].as_array().expect("gaps");
    // Tonight is covered until 08:00; the rest of the day is a gap for both duties.
    assert!(
        gaps.iter()
            .any(|g| g["duty"] == "operator" && g["from"].as_str().is_some_and(|f| f.starts_with("2026-11-25T08:00"))),
        "{gaps:?}"
    );
    assert!(gaps.iter().any(|g| g["duty"] == "coordinator"));
    // Filling the day removes the operator gap.
    let r = u
        .coord
        .api(
            Method::POST,
            "/api/v1/roster/shifts",
            Some(json!({"user_id": u.op_id, "duty": "operator", "mode": "on_duty", "starts_at": "2026-11-25T08:00", "ends_at": "2026-11-26T00:00"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let roster = u.op.get("/api/v1/roster?days=1").await.json();
    assert!(
        !roster["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .any(|g| g["duty"] == "operator"),
        "{roster}"
    );
    // Overlaps and a role that does not fit the duty are refused; operators cannot edit.
    let overlap = json!({"user_id": u.op_id, "duty": "operator", "mode": "on_call", "starts_at": "2026-11-25T20:00", "ends_at": "2026-11-25T22:00"});
    assert_eq!(
        u.coord
            .api(Method::POST, "/api/v1/roster/shifts", Some(overlap.clone()))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let wrong = json!({"user_id": u.med_id, "duty": "coordinator", "mode": "on_call", "starts_at": "2026-11-27T20:00", "ends_at": "2026-11-27T22:00"});
    assert_eq!(
        u.coord
            .api(Method::POST, "/api/v1/roster/shifts", Some(wrong))
            .await
            .problem_fields(),
        vec!["duty"]
    );
    assert_eq!(
        u.op.api(Method::POST, "/api/v1/roster/shifts", Some(overlap))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let _ = u.coord_id;
}
both!(the_roster_shows_who_is_on_and_the_gaps_ahead);

async fn the_intake_form_and_the_portal_work_without_javascript(b: Backend) {
    let mut u = unit(b).await;
    let cas = u.cas.to_string();
    // A CAS report without the hosting CAS: 422, the error by the field, the input kept.
    let r =
        u.op.submit(
            "/referrals/new",
            "/referrals",
            &[
                ("channel", "hotline"),
                ("source_kind", "cas_operator"),
                ("referring_org_id", &cas),
                ("urgency", "emergency"),
                ("alias", "Precious"),
                ("gender", "female"),
                ("age", "17"),
                ("languages", "en"),
                ("languages", "pcm"),
                ("exploitation_types", "sexual"),
                ("exploitation_types", "begging"),
                ("exploitation_province", "082"),
                ("notes", "chiede aiuto"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"hosted_org_id-error\""), "{}", r.body);
    for kept in [
        "value=\"Precious\"",
        "value=\"en\" selected",
        "value=\"pcm\" selected",
        "value=\"begging\" checked",
        "chiede aiuto</textarea>",
        "value=\"emergency\" selected",
        "value=\"082\" selected",
    ] {
        assert!(r.body.contains(kept), "missing {kept}");
    }
    assert_eq!(u.admin.count("referrals"), 0);
    let r =
        u.op.submit(
            "/referrals/new",
            "/referrals",
            &[
                ("channel", "hotline"),
                ("source_kind", "cas_operator"),
                ("referring_org_id", &cas),
                ("hosted_org_id", &cas),
                ("urgency", "emergency"),
                ("alias", "Precious"),
                ("gender", "female"),
                ("age", "17"),
                ("languages", "en"),
                ("languages", "pcm"),
                ("exploitation_types", "sexual"),
                ("exploitation_province", "082"),
                ("indicators", "debt_bondage"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The territory of exploitation, for the observatory.
    assert_eq!(u.admin.count_where("referrals", "exploitation_province = '082'"), 1);
    let location = r.header("location").expect("location");
    let page = u.op.get(&location).await;
    assert!(page.body.contains("Precious") && page.body.contains("Minore") && page.body.contains("id=\"acknowledge\""));
    assert!(
        page.body.contains("<dd>Palermo</dd>"),
        "the province of exploitation is shown"
    );
    let id = location.rsplit('/').next().expect("id");
    let api = u.op.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(api.json()["exploitation_province"], "082");
    let queue = u.op.get("/referrals").await;
    assert!(queue.body.contains("id=\"emergencies\"") && queue.body.contains(&location));
    // Acknowledge and take in charge from the page.
    let version = |body: &str| {
        body.split("name=\"version\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("")
            .to_owned()
    };
    let v = version(&page.body);
    let csrf = page.csrf_field();
    let r =
        u.op.form(&format!("{location}/acknowledge"), &[("csrf", &csrf), ("version", &v)])
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let stale =
        u.op.form(&format!("{location}/take-charge"), &[("csrf", &csrf), ("version", &v)])
            .await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "a stale page is refused and says so"
    );
    assert!(stale.body.contains("Qualcun altro"));
    let page = u.op.get(&location).await;
    let r =
        u.op.form(
            &format!("{location}/take-charge"),
            &[("csrf", &csrf), ("version", &version(&page.body))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(u.op.get(&location).await.body.contains("Presa in carico"));

    // The commission's portal: consent first, then its own list and the unit's feedback.
    let org = u.ct_verona;
    let mut ct = commission(&mut u, "ct.verona.9", org).await;
    let form = ct.get("/portal/new").await;
    assert!(form.body.contains("consent_wants_information") && !form.body.contains("name=\"source_kind\""));
    let r = ct
        .submit("/portal/new", "/portal", &[("alias", "Grace"), ("gender", "female")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"consent_wants_information-error\"") && r.body.contains("value=\"Grace\""));
    let r = ct
        .submit(
            "/portal/new",
            "/portal",
            &[
                ("consent_wants_information", "on"),
                ("consent_audition_date", "2026-11-20"),
                ("consent_collected_by", "funzionario"),
                ("consent_contact_route", "prefecture_reconvene"),
                ("alias", "Grace"),
                ("gender", "female"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mine = r.header("location").expect("location");
    let list = ct.get("/portal").await;
    assert!(
        list.body.contains(&mine) && !list.body.contains(&location),
        "only its own"
    );
    let detail = ct.get(&mine).await;
    assert!(
        !detail.body.contains("Grace"),
        "the portal shows status and feedback, not the case file"
    );
    let csrf = detail.csrf_field();
    let v = version(&detail.body);
    // Irreversible: first a page that says what will be lost; nothing happens until confirmed.
    let r = ct
        .form(&format!("{mine}/consent/withdraw"), &[("csrf", &csrf), ("version", &v)])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("id=\"confirm-yes\"") && r.body.contains("cancellati per sempre"),
        "{}",
        r.body
    );
    assert!(!ct.get(&mine).await.body.contains("Consenso revocato"));
    let r = ct
        .form(
            &format!("{mine}/consent/withdraw"),
            &[("csrf", &csrf), ("version", &v), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(ct.get(&mine).await.body.contains("Consenso revocato"));
    // A referrer whose kind of organisation implies no source chooses one; a CAS's does not.
    let ngo = u.admin.org("Associazione di strada").kind("ngo").create().await;
    u.admin
        .user("ref.ngo")
        .role("referrer")
        .org(ngo)
        .email("ref@ngo.example.org")
        .create()
        .await;
    let mut ngo_ref = TestApp::sibling(&u.admin);
    ngo_ref.login("ref.ngo", PASSWORD).await;
    let form = ngo_ref.get("/portal/new").await;
    assert!(form.body.contains("name=\"source_kind\"") && !form.body.contains("value=\"territorial_commission\""));
    assert!(
        !form.body.contains("value=\"police\""),
        "only what an NGO may send is offered"
    );
    let r = ngo_ref.submit("/portal/new", "/portal", &[("gender", "female")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"source_kind-error\""));
    let r = ngo_ref
        .submit(
            "/portal/new",
            "/portal",
            &[("source_kind", "private_citizen"), ("gender", "female")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Pages are refused to the wrong side.
    assert_eq!(ct.get("/referrals").await.status, StatusCode::FORBIDDEN);
    assert_eq!(u.op.get("/portal").await.status, StatusCode::FORBIDDEN);
}
both!(the_intake_form_and_the_portal_work_without_javascript);

async fn hotline_and_roster_pages(b: Backend) {
    let mut u = unit(b).await;
    let r =
        u.op.submit(
            "/hotline",
            "/hotline",
            &[
                ("language", "ro"),
                ("caller_kind", "private_citizen"),
                ("province", "028"),
                ("outcome", "diverted"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = u.op.get("/hotline").await;
    assert!(page.body.contains("Deviata al progetto") && page.body.contains("Romeno"));
    let r =
        u.op.submit("/hotline", "/hotline", &[("language", "it"), ("outcome", "diverted")])
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"region-error\""));
    let page = u.coord.get("/roster").await;
    assert!(page.body.contains("id=\"on-now\"") && page.body.contains("mediatrice") == page.body.contains("Mediatore"));
    assert!(page.body.contains("id=\"gaps\"") && page.body.contains("id=\"shift-form\""));
    let op_id = u.op_id.to_string();
    let r = u
        .coord
        .submit(
            "/roster",
            "/roster/shifts",
            &[
                ("user_id", &op_id),
                ("duty", "operator"),
                ("mode", "on_duty"),
                ("starts_at", "2026-11-25T07:00"),
                ("ends_at", "2026-11-25T09:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "overlapping");
    assert!(r.body.contains("ha già un turno"));
    assert!(
        !u.op.get("/roster").await.body.contains("id=\"shift-form\""),
        "only coordinators edit"
    );
}
both!(hotline_and_roster_pages);
