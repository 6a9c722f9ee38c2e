//! One person across channels (seed 004): candidates with their reasons, across scripts and
//! spellings; confirm, reject, unlink; the journey; who may see any of it; erasure.

use awc::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::referrals::{cas_report, case, commission, consent, file, unit, Unit};

/// A CAS report about a person with these details.
fn about(cas: i64, alias: &str, nationality: &str, age: i64, gender: &str, languages: &[&str]) -> Value {
    let mut body = cas_report(cas);
    body["person"]["alias"] = json!(alias);
    body["person"]["nationality"] = json!(nationality);
    body["person"]["age"] = json!(age);
    body["person"]["gender"] = json!(gender);
    body["person"]["languages"] = json!(languages);
    body
}

async fn filed(app: &mut TestApp, body: Value) -> i64 {
    file(app, body).await["id"].as_i64().expect("id")
}

async fn candidates(app: &mut TestApp, referral: i64) -> Value {
    let r = app
        .get(&format!("/api/v1/persons/candidates?referral_id={referral}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

/// The candidate whose best referral is `referral`.
fn proposed(list: &Value, referral: i64) -> Option<Value> {
    list["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .find(|c| c["referral"]["id"] == referral)
        .cloned()
}

fn verdict(candidate: &Value, field: &str) -> (String, Option<i64>) {
    let r = candidate["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .find(|r| r["field"] == field)
        .unwrap_or_else(|| panic!("no reason for {field}: {candidate}"));
    (r["verdict"].as_str().unwrap_or("").to_owned(), r["distance"].as_i64())
}

async fn decide(app: &mut TestApp, person: i64, what: &str, referral: i64) -> (StatusCode, Value) {
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/persons/{person}/{what}"),
            Some(json!({"referral_id": referral})),
        )
        .await;
    let body = if r.body.is_empty() { Value::Null } else { r.json() };
    (r.status, body)
}

async fn candidates_come_with_reasons_across_scripts_and_spellings(b: Backend) {
    let mut u: Unit = unit(b).await;
    let cas = u.cas;
    let cyrillic = filed(&mut u.op, about(cas, "Оксана", "Ucraina", 24, "female", &["uk", "ru"])).await;
    let latin = filed(&mut u.op, about(cas, "Oksana", "Ukraine", 25, "female", &["uk"])).await;
    let blessing = filed(
        &mut u.op,
        about(cas, "Blessing", "Nigeria", 19, "female", &["en", "pcm"]),
    )
    .await;
    let other_blessing = filed(&mut u.op, about(cas, "Blessing", "Ucraina", 52, "male", &["uk"])).await;
    let maria = filed(&mut u.op, about(cas, "Maria", "Romania", 40, "female", &["ro"])).await;
    let oxana = filed(&mut u.op, about(cas, "Oxana", "ucraina", 24, "female", &["uk"])).await;

    let list = candidates(&mut u.op, oxana).await;
    assert_eq!(list["referral"]["alias"], "Oxana");
    let c = proposed(&list, cyrillic).expect("Оксана is proposed for Oxana");
    assert_eq!(verdict(&c, "alias").0, "phonetic");
    assert_eq!(verdict(&c, "nationality").0, "match");
    assert_eq!(verdict(&c, "birth_year"), ("match".to_owned(), Some(0)));
    assert_eq!(verdict(&c, "gender").0, "match");
    assert_eq!(verdict(&c, "hosting").0, "match");
    assert_eq!(verdict(&c, "languages").0, "match");
    assert_eq!(verdict(&c, "province").0, "match");
    assert_eq!(verdict(&c, "emergence_date"), ("match".to_owned(), Some(0)));
    assert_eq!(c["referral"]["alias"], "Оксана");
    assert!(c["score"].as_i64().expect("score") >= 80, "{c}");
    assert!(
        c["person_id"].as_i64().is_some(),
        "a referral not linked yet is a person of its own"
    );
    let l = proposed(&list, latin).expect("Oksana is proposed for Oxana");
    assert_eq!(verdict(&l, "birth_year"), ("match".to_owned(), Some(1)));
    for other in [blessing, other_blessing, maria] {
        assert!(proposed(&list, other).is_none(), "{other} is someone else: {list}");
    }

    // A misspelt alias, a nationality written as an adjective, a year apart.
    let blessin = filed(&mut u.op, about(cas, "Blessin", "nigeriana", 20, "female", &["en"])).await;
    let list = candidates(&mut u.op, blessin).await;
    let c = proposed(&list, blessing).expect("Blessing is proposed for Blessin");
    assert_eq!(verdict(&c, "alias").0, "phonetic");
    assert_eq!(verdict(&c, "nationality").0, "match");
    assert_eq!(verdict(&c, "birth_year"), ("match".to_owned(), Some(1)));
    // The same alias, another gender, nationality and age: not the same person.
    assert!(proposed(&list, other_blessing).is_none(), "{list}");
    assert_eq!(list["candidates"].as_array().map(Vec::len), Some(1), "{list}");

    // The exact alias is said so.
    let again = filed(&mut u.op, about(cas, "BLESSING", "NGA", 19, "female", &["en"])).await;
    let list = candidates(&mut u.op, again).await;
    let c = proposed(&list, blessing).expect("proposed");
    assert_eq!(verdict(&c, "alias").0, "exact");

    // The search is audited, and nothing personal is in the log.
    let entries = u.admin.audit("action=person.candidates").await;
    assert!(entries.len() >= 3);
    let log = serde_json::to_string(&entries).expect("json");
    assert!(!log.contains("Oxana") && !log.contains("Blessin"));
}
both!(candidates_come_with_reasons_across_scripts_and_spellings);

async fn a_confirmed_link_joins_the_journey_and_the_persons_case(b: Backend) {
    let mut u = unit(b).await;
    let cas = u.cas;
    let first = filed(
        &mut u.op,
        about(cas, "Blessing", "Nigeria", 19, "female", &["en", "pcm"]),
    )
    .await;
    let mut ct = {
        let org = u.ct_verona;
        commission(&mut u, "ct.verona.persone", org)
    }
    .await;
    let body = json!({"urgency": "ordinary", "consent": consent(),
                      "person": {"alias": "Blessin", "gender": "female", "age": 20, "nationality": "nigeriana", "languages": ["en"]}});
    let second = filed(&mut ct, body).await;

    let list = candidates(&mut u.op, second).await;
    let c = proposed(&list, first).expect("proposed");
    let person = c["person_id"].as_i64().expect("person");
    let (status, outcome) = decide(&mut u.op, person, "link", second).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["decision"], "confirmed");
    assert_eq!(outcome["person_id"], person);
    assert!(outcome["score"].as_i64().is_some_and(|s| s >= 35), "{outcome}");
    let (status, _) = decide(&mut u.op, person, "link", second).await;
    assert_eq!(status, StatusCode::CONFLICT, "linked twice");

    // Linked: the person is no longer a candidate for their own referral.
    let list = candidates(&mut u.op, second).await;
    assert_eq!(list["person_id"], person);
    assert!(proposed(&list, first).is_none(), "{list}");

    // Taken in charge after the link: the second referral joins the first's case.
    for id in [first, second] {
        let v = case(&mut u.op, id).await["version"].as_i64().expect("v");
        let r =
            u.op.api(
                Method::POST,
                &format!("/api/v1/referrals/{id}/take-charge"),
                Some(json!({"version": v})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = u.coord.get(&format!("/api/v1/persons/{person}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    let steps = j["referrals"].as_array().expect("referrals");
    assert_eq!(steps.len(), 2, "{j}");
    assert_eq!(steps[0]["referral"]["source_kind"], "cas_operator");
    assert_eq!(steps[1]["referral"]["source_kind"], "territorial_commission");
    assert_eq!(steps[1]["referral"]["alias"], "Blessin");
    let cases = j["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 1, "one person, one case: {j}");
    assert_eq!(cases[0]["referral_ids"].as_array().map(Vec::len), Some(2), "{j}");
    let decisions = j["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["decision"], "confirmed");
    assert_eq!(decisions[0]["referral_id"], second);
    assert_eq!(decisions[0]["decided_by"]["id"], u.op_id);
    assert!(decisions[0]["reasons"]
        .as_str()
        .is_some_and(|r| r.contains("alias=phonetic")));

    // Stored and audited, with who and when.
    assert_eq!(
        u.admin.count_where(
            "match_decisions",
            &format!("referral_id = {second} AND decision = 'confirmed'")
        ),
        1
    );
    let entries = u.admin.audit("action=person.link").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor_label"], "operatrice.notte");
    assert_eq!(entries[0]["entity_id"], person.to_string());
    assert_eq!(u.admin.audit("action=person.read").await.len(), 1);
}
both!(a_confirmed_link_joins_the_journey_and_the_persons_case);

async fn a_rejected_pair_is_never_proposed_again(b: Backend) {
    let mut u = unit(b).await;
    let cas = u.cas;
    let first = filed(&mut u.op, about(cas, "Precious", "Nigeria", 23, "female", &["en"])).await;
    let second = filed(&mut u.op, about(cas, "Preshus", "Nigeria", 23, "female", &["en"])).await;
    let list = candidates(&mut u.op, second).await;
    let c = proposed(&list, first).expect("proposed");
    let person = c["person_id"].as_i64().expect("person");
    let (status, outcome) = decide(&mut u.coord, person, "reject", second).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["decision"], "rejected");
    assert_ne!(outcome["person_id"], person, "the referral is a person of its own");
    let list = candidates(&mut u.op, second).await;
    assert!(
        proposed(&list, first).is_none(),
        "rejected, so not proposed again: {list}"
    );
    let (status, _) = decide(&mut u.coord, person, "reject", second).await;
    assert_eq!(status, StatusCode::CONFLICT, "rejected twice");
    // Nor the other way round.
    let list = candidates(&mut u.op, first).await;
    assert!(proposed(&list, second).is_none(), "{list}");
}
both!(a_rejected_pair_is_never_proposed_again);

async fn an_undone_link_leaves_the_referral_a_person_of_its_own(b: Backend) {
    let mut u = unit(b).await;
    let cas = u.cas;
    let first = filed(&mut u.op, about(cas, "Оксана", "Ucraina", 30, "female", &["uk"])).await;
    let second = filed(&mut u.op, about(cas, "Oxana", "Ukraine", 31, "female", &["uk"])).await;
    let list = candidates(&mut u.op, second).await;
    let person = proposed(&list, first).expect("proposed")["person_id"]
        .as_i64()
        .expect("person");
    let (status, _) = decide(&mut u.op, person, "link", second).await;
    assert_eq!(status, StatusCode::OK);
    let (status, outcome) = decide(&mut u.op, person, "unlink", second).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["decision"], "unlinked");
    let own = outcome["person_id"].as_i64().expect("own person");
    assert_ne!(own, person);
    let (status, _) = decide(&mut u.op, person, "unlink", second).await;
    assert_eq!(status, StatusCode::CONFLICT, "no longer linked");
    let (status, _) = decide(&mut u.op, person, "unlink", first).await;
    assert_eq!(status, StatusCode::CONFLICT, "the person's only referral");

    let j = u.op.get(&format!("/api/v1/persons/{person}")).await.json();
    assert_eq!(j["referrals"].as_array().map(Vec::len), Some(1), "{j}");
    let kinds: Vec<&str> = j["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter_map(|d| d["decision"].as_str())
        .collect();
    assert_eq!(kinds, ["confirmed", "unlinked"]);
    let list = candidates(&mut u.op, second).await;
    assert_eq!(list["person_id"], own);
    assert!(
        proposed(&list, first).is_none(),
        "an undone link is not proposed again: {list}"
    );
    // Unknown persons and referrals.
    let r = u.op.get("/api/v1/persons/987654321").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (status, _) = decide(&mut u.op, person, "link", 987_654_321).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = u.op.get("/api/v1/persons/candidates?referral_id=987654321").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
both!(an_undone_link_leaves_the_referral_a_person_of_its_own);

async fn only_the_crisis_unit_sees_or_decides_matches(b: Backend) {
    let mut u = unit(b).await;
    let cas = u.cas;
    let first = filed(&mut u.op, about(cas, "Joy", "Nigeria", 22, "female", &["en"])).await;
    let second = filed(&mut u.op, about(cas, "Joy", "Nigeria", 22, "female", &["en"])).await;
    let list = candidates(&mut u.op, second).await;
    let person = proposed(&list, first).expect("proposed")["person_id"]
        .as_i64()
        .expect("person");
    let (ct, cas_org) = (u.ct_verona, u.cas);
    u.admin.user("persone.analista").role("analyst").create().await;
    u.admin.user("persone.cas").role("referrer").org(cas_org).create().await;
    u.admin.user("persone.ct").role("commission").org(ct).create().await;
    let mut outsiders = Vec::new();
    for name in ["persone.analista", "persone.cas", "persone.ct", "mediatrice.edo"] {
        let mut c = TestApp::sibling(&u.admin);
        assert_eq!(c.login(name, PASSWORD).await.status, StatusCode::SEE_OTHER, "{name}");
        outsiders.push((name, c));
    }
    for (name, c) in &mut outsiders {
        let r = c.get(&format!("/api/v1/persons/candidates?referral_id={second}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        let r = c.get(&format!("/api/v1/persons/{person}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        for what in ["link", "reject", "unlink"] {
            let (status, _) = decide(c, person, what, second).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} {what}");
        }
        let r = c.get(&format!("/referrals/{second}/matches")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        let r = c.get(&format!("/persons/{person}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
    }
    let mut anonymous = TestApp::sibling(&u.admin);
    let r = anonymous.get(&format!("/api/v1/persons/{person}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(u.admin.count("match_decisions"), 0, "nothing was decided");
}
both!(only_the_crisis_unit_sees_or_decides_matches);

async fn withdrawing_consent_leaves_nothing_to_search(b: Backend) {
    let mut u = unit(b).await;
    let mut ct = {
        let org = u.ct_verona;
        commission(&mut u, "ct.verona.revoca", org)
    }
    .await;
    let body = json!({"urgency": "ordinary", "consent": consent(),
                      "person": {"alias": "Ngozi", "gender": "female", "age": 27, "nationality": "Nigeria", "languages": ["en"]}});
    let id = filed(&mut ct, body).await;
    assert!(u.admin.count_where("referral_blind", &format!("referral_id = {id}")) >= 4);
    let other = filed(&mut u.op, about(u.cas, "Ngozi", "Nigeria", 27, "female", &["en"])).await;
    assert!(proposed(&candidates(&mut u.op, other).await, id).is_some());

    let v = case(&mut u.op, id).await["version"].as_i64().expect("v");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/consent/withdraw"),
            Some(json!({"version": v})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(u.admin.count_where("referral_blind", &format!("referral_id = {id}")), 0);
    let list = candidates(&mut u.op, other).await;
    assert!(proposed(&list, id).is_none(), "erased: not found any more: {list}");
}
both!(withdrawing_consent_leaves_nothing_to_search);

async fn the_match_review_page_and_the_persons_journey_in_italian(b: Backend) {
    let mut u = unit(b).await;
    let cas = u.cas;
    let first = filed(&mut u.op, about(cas, "Оксана", "Ucraina", 24, "female", &["uk"])).await;
    let second = filed(&mut u.op, about(cas, "Oxana", "Ucraina", 24, "female", &["uk"])).await;
    let detail = u.op.get(&format!("/referrals/{second}")).await;
    assert!(detail.body.contains(&format!("href=\"/referrals/{second}/matches\"")));
    let page = u.op.get(&format!("/referrals/{second}/matches")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "Possibili corrispondenze",
        "Оксана",
        "Si pronuncia allo stesso modo",
        "Nazionalità",
        "Corrisponde",
        "Conferma",
        "Non è la stessa persona",
        "data-label=\"Campo\"",
    ] {
        assert!(page.body.contains(text), "{text} missing from the page");
    }
    assert!(!page.body.contains(">phonetic"), "no raw codes on the page");
    let person = proposed(&candidates(&mut u.op, second).await, first).expect("proposed")["person_id"]
        .as_i64()
        .expect("person")
        .to_string();
    let r =
        u.op.submit(
            &format!("/referrals/{second}/matches"),
            &format!("/referrals/{second}/matches"),
            &[("person_id", &person), ("decision", "confirmed")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("/persons/{person}").as_str())
    );
    let page = u.op.get(&format!("/persons/{person}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (a, b2) = (case(&mut u.op, first).await, case(&mut u.op, second).await);
    for text in [
        a["reference"].as_str().expect("ref"),
        b2["reference"].as_str().expect("ref"),
        "Percorso tra canali e segnalazioni",
        "Confermata",
        "Oxana",
    ] {
        assert!(page.body.contains(text), "{text} missing from the journey");
    }
    // Without the CSRF field the form is refused.
    let r =
        u.op.form(
            &format!("/referrals/{second}/matches"),
            &[("person_id", &person), ("decision", "rejected")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
both!(the_match_review_page_and_the_persons_journey_in_italian);
