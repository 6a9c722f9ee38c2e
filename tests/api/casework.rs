//! Casework: the case opened when a referral is taken in charge, its lifecycle, interviews with
//! mediators (double bookings refused), the assessment, outcomes, tasks and flags, and who sees
//! what of it.

use awc::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::referrals::{cas_report, file, unit, Unit};

/// Files a CAS report and takes it in charge; the case id.
pub async fn open_case(u: &mut Unit) -> i64 {
    let r = file(&mut u.op, cas_report(u.cas)).await;
    take_charge(&mut u.op, r["id"].as_i64().expect("id")).await
}

/// Takes a referral in charge; the id of the case that answers it.
pub async fn take_charge(app: &mut TestApp, referral: i64) -> i64 {
    let v = crate::referrals::case(app, referral).await["version"]
        .as_i64()
        .expect("version");
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{referral}/take-charge"),
            Some(json!({"version": v})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("/api/v1/cases?referral_id={referral}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()[0]["id"].as_i64().expect("a case answers the referral")
}

pub async fn case(app: &mut TestApp, id: i64) -> Value {
    let r = app.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn post(app: &mut TestApp, path: &str, body: Value) -> crate::helpers::Reply {
    app.api(Method::POST, path, Some(body)).await
}

fn timeline(c: &Value) -> Vec<String> {
    c["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn a_case_runs_from_the_referral_to_its_close_and_reopens(b: Backend) {
    let mut u = unit(b).await;
    let id = open_case(&mut u).await;
    let c = case(&mut u.op, id).await;
    assert_eq!(c["status"], "taken_in_charge");
    assert!(c["reference"].as_str().is_some_and(|r| r.starts_with("C-")));
    assert_eq!(
        c["operator"]["id"], u.op_id,
        "the operator the referral was routed to runs it"
    );
    assert_eq!(c["referrals"][0]["alias"], "Blessing");
    assert_eq!(timeline(&c), ["opened"]);
    // An interview at the CAS tomorrow at 10:00 Rome, with the mediator who speaks English.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/interviews"),
        json!({"starts_at": "2026-11-26T10:00", "minutes": 90, "setting": "cas", "joint": true, "language": "en",
               "mediator_id": u.med_id, "staff": [u.op_id], "others": "operatrice del CAS"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let booked = r.json();
    assert_eq!(booked["language_uncovered"], false);
    assert_eq!(booked["interview"]["starts_at"], "2026-11-26T10:00:00+01:00");
    assert_eq!(booked["interview"]["others"], "operatrice del CAS");
    let interview = booked["interview"]["id"].as_i64().expect("id");
    // The mediator is asked by email, with the case's reference only.
    let mails = u.admin.outbox();
    assert!(
        mails.iter().any(|(to, kind, _, body)| to == "med@unit.example.org"
            && kind == "interview_booked"
            && body.contains("Colloquio da confermare")
            && !body.contains("Blessing")),
        "{mails:?}"
    );
    assert_eq!(case(&mut u.op, id).await["status"], "interview_planned");
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/interviews/{interview}/held"),
        json!({"version": 1, "notes": "Racconta il viaggio dalla Libia; debito di 30.000 euro."}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "held");
    // The checklist: deception, exploitation and coercion at destination.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/assessments"),
        json!({"answers": {"dr_nature_job": "present", "dr_wages": "present", "ec_hours": "present", "ec_wages": "present",
                           "cd_debt": "present", "cd_documents": "present", "mc_debt_bondage": "present", "vr_beliefs": "unknown"},
               "agencies": ["police", "social_services"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let checklist = r.json();
    assert_eq!(checklist["indications"], true, "{checklist}");
    assert_eq!(checklist["instrument_version"], "ilo-ec-2009/1");
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/notes"),
        json!({"body": "Secondo colloquio da fissare con la mediatrice."}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/outcomes"),
        json!({"kind": "interview"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = case(&mut u.op, id).await;
    assert_eq!(c["status"], "outcome_decided");
    assert_eq!(
        c["interviews"][0]["notes"],
        "Racconta il viaggio dalla Libia; debito di 30.000 euro."
    );
    assert_eq!(c["notes"][0]["body"], "Secondo colloquio da fissare con la mediatrice.");
    let v = c["version"].as_i64().expect("version");
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "close", "version": v}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = r.json();
    assert_eq!(c["status"], "closed");
    assert!(c["closed_at"].is_string());
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "reopen", "version": c["version"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = r.json();
    assert_eq!(c["status"], "taken_in_charge");
    let kinds = timeline(&c);
    for k in [
        "opened",
        "interview_planned",
        "interview_held",
        "assessment_recorded",
        "note_added",
        "outcome_recorded",
        "transition",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // Who did what, and when.
    assert!(c["timeline"][1]["actor"].as_str().is_some_and(|a| !a.is_empty()));
    // The page says it in words, in Rome time.
    let page = u.op.get(&format!("/cases/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Preso in carico → Colloquio fissato"),
        "{}",
        page.body
    );
    assert!(page.body.contains("26/11/2026 10:00"));
    assert!(
        !page.body.contains("taken_in_charge")
            || page.body.matches("taken_in_charge").count() == page.body.matches("value=\"taken_in_charge\"").count()
    );
    // Sealed at rest: the notes are not in the database in clear.
    assert_eq!(u.admin.count_where("interviews", "notes IS NOT NULL"), 1);
    let raw = u.admin.count_where("assessment_notes", "body IS NOT NULL");
    assert_eq!(raw, 1);
    // Every read and write is in the log.
    assert!(!u.admin.audit("action=case.read").await.is_empty());
    assert!(!u.admin.audit("action=case.interview_plan").await.is_empty());
}
both!(a_case_runs_from_the_referral_to_its_close_and_reopens);

async fn illegal_moves_are_refused_naming_the_state_and_the_action(b: Backend) {
    let mut u = unit(b).await;
    let id = open_case(&mut u).await;
    let v = case(&mut u.op, id).await["version"].clone();
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "send_feedback", "version": v}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let p = r.json();
    assert_eq!(p["state"], "taken_in_charge", "{p}");
    assert_eq!(p["action"], "send_feedback");
    // An outcome needs an interview first.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/outcomes"),
        json!({"kind": "art18_programme"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // A stale version is refused, nothing changes.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "close", "version": 99}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(case(&mut u.op, id).await["status"], "taken_in_charge");
    // A transfer names the project and needs consent.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/outcomes"),
        json!({"kind": "transfer", "project_id": "nowhere"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = r.problem_fields();
    assert!(
        fields.contains(&"project_id".to_owned()) && fields.contains(&"consent".to_owned()),
        "{fields:?}"
    );
    // An unknown checklist item is named.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/assessments"),
        json!({"answers": {"made_up": "present"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.problem_fields().contains(&"answers.made_up".to_owned()));
}
both!(illegal_moves_are_refused_naming_the_state_and_the_action);

async fn a_double_booking_is_refused_naming_the_clash(b: Backend) {
    let mut u = unit(b).await;
    let first = open_case(&mut u).await;
    let second = open_case(&mut u).await;
    assert_ne!(first, second, "two people, two cases");
    let book = |_case: i64, at: &str, staff: Vec<i64>, mediator: Option<i64>| json!({"starts_at": at, "minutes": 60, "setting": "unit_office", "mediator_id": mediator, "staff": staff, "language": "en"});
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{first}/interviews"),
        book(first, "2026-11-26T10:00", vec![], Some(u.med_id)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let reference = case(&mut u.op, first).await["reference"]
        .as_str()
        .expect("ref")
        .to_owned();
    // The same mediator half an hour later: refused, naming who, when and which case.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{second}/interviews"),
        book(second, "2026-11-26T10:30", vec![], Some(u.med_id)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let detail = r.json()["detail"].as_str().unwrap_or("").to_owned();
    assert!(
        detail.contains(&reference) && detail.contains("26/11/2026 10:00") && detail.contains("11:00"),
        "{detail}"
    );
    assert_eq!(u.admin.count("interviews"), 1, "nothing half-written");
    // Back to back is fine.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{second}/interviews"),
        book(second, "2026-11-26T11:00", vec![u.op_id], Some(u.med_id)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // A staff member booked twice is refused too.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{first}/interviews"),
        book(first, "2026-11-26T11:15", vec![u.op_id], None),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // Cancelling frees the slot.
    let c = case(&mut u.op, first).await;
    let interview = c["interviews"][0]["id"].as_i64().expect("id");
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{first}/interviews/{interview}/cancel"),
        json!({"version": 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{second}/interviews"),
        book(second, "2026-11-26T10:00", vec![], Some(u.med_id)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // A language no mediator speaks is flagged.
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{first}/interviews"),
        json!({"starts_at": "2026-11-27T09:00", "setting": "remote", "language": "ti"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["language_uncovered"], true);
}
both!(a_double_booking_is_refused_naming_the_clash);

async fn the_mediator_answers_their_own_bookings_and_sees_nothing_else(b: Backend) {
    let mut u = unit(b).await;
    let id = open_case(&mut u).await;
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/interviews"),
        json!({"starts_at": "2026-11-26T15:00", "setting": "sai_desk", "mediator_id": u.med_id, "language": "edo"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let interview = r.json()["interview"]["id"].as_i64().expect("id");
    let mut med = TestApp::sibling(&u.admin);
    assert_eq!(
        med.login("mediatrice.edo", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // The case itself is not theirs to read.
    assert_eq!(
        med.get(&format!("/api/v1/cases/{id}")).await.status,
        StatusCode::FORBIDDEN
    );
    let cal = med.get("/api/v1/calendar?from=2026-11-26&days=2").await;
    assert_eq!(cal.status, StatusCode::OK, "{}", cal.body);
    let cal = cal.json();
    assert_eq!(cal.as_array().map(|a| a.len()), Some(1), "{cal}");
    assert_eq!(cal[0]["setting"], "sai_desk");
    assert!(!cal.to_string().contains("Blessing"));
    let r = med
        .api(
            Method::POST,
            &format!("/api/v1/cases/{id}/interviews/{interview}/answer"),
            Some(json!({"version": 1, "answer": "accepted"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["mediator_answer"], "accepted");
    // Another mediator cannot answer it, nor see it.
    u.admin
        .user("mediatore.ar")
        .role("mediator")
        .languages(&["ar"])
        .create()
        .await;
    let mut other = TestApp::sibling(&u.admin);
    other.login("mediatore.ar", PASSWORD).await;
    let r = other
        .api(
            Method::POST,
            &format!("/api/v1/cases/{id}/interviews/{interview}/answer"),
            Some(json!({"version": 2, "answer": "declined"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(other.get("/api/v1/calendar?from=2026-11-26").await.json(), json!([]));
    let c = case(&mut u.op, id).await;
    assert!(timeline(&c).contains(&"mediator_accepted".to_owned()));
}
both!(the_mediator_answers_their_own_bookings_and_sees_nothing_else);

async fn case_contents_are_for_the_unit_on_a_need_to_know_basis(b: Backend) {
    let mut u = unit(b).await;
    let id = open_case(&mut u).await;
    for (name, role, org) in [("analista", "analyst", None), ("cas.ref", "referrer", Some(u.cas))] {
        let mut user = u.admin.user(name).role(role);
        if let Some(o) = org {
            user = user.org(o);
        }
        user.create().await;
        let mut c = TestApp::sibling(&u.admin);
        c.login(name, PASSWORD).await;
        assert_eq!(c.get("/api/v1/cases").await.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(
            c.get(&format!("/api/v1/cases/{id}")).await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
        assert_eq!(
            c.get(&format!("/cases/{id}")).await.status,
            StatusCode::FORBIDDEN,
            "{role} page"
        );
    }
    let ct_org = u.ct_verona;
    let mut ct = crate::referrals::commission(&mut u, "ct.case", ct_org).await;
    assert_eq!(
        ct.get(&format!("/api/v1/cases/{id}")).await.status,
        StatusCode::FORBIDDEN
    );
    // Another operator: the case is not theirs (404, and the refusal is in the log).
    let other_id = u
        .admin
        .user("operatore.giorno")
        .email("giorno@unit.example.org")
        .create()
        .await;
    let mut other = TestApp::sibling(&u.admin);
    other.login("operatore.giorno", PASSWORD).await;
    assert_eq!(
        other.get(&format!("/api/v1/cases/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get(&format!("/api/v1/cases/{id}/feedback")).await.status,
        StatusCode::NOT_FOUND,
        "nor its written feedback"
    );
    assert_eq!(other.get("/api/v1/cases").await.json(), json!([]));
    let denied = u.admin.audit("action=case.read&outcome=denied").await;
    assert!(
        denied
            .iter()
            .any(|e| e["entity_id"] == json!(id.to_string()) || e["entity_id"] == id),
        "{denied:?}"
    );
    // A task given to them opens the case to them, and lists it.
    let r = post(
        &mut u.coord,
        &format!("/api/v1/cases/{id}/tasks"),
        json!({"kind": "contact_cas", "due_at": "2026-11-25T09:00", "assignee_id": other_id}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(other.get(&format!("/api/v1/cases/{id}")).await.status, StatusCode::OK);
    assert_eq!(other.get("/api/v1/cases").await.json()[0]["id"], id);
    // The coordinator sees every case, and can give it to the other operator, who is told.
    let c = case(&mut u.coord, id).await;
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/reassign"),
        json!({"operator_id": other_id, "version": c["version"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only coordinators reassign");
    let r = post(
        &mut u.coord,
        &format!("/api/v1/cases/{id}/reassign"),
        json!({"operator_id": other_id, "version": c["version"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        other.get(&format!("/api/v1/cases/{id}")).await.status,
        StatusCode::OK,
        "now theirs"
    );
    assert!(timeline(&r.json()).contains(&"reassigned".to_owned()));
    assert!(
        u.admin
            .outbox()
            .iter()
            .any(|(to, kind, _, _)| to == "giorno@unit.example.org" && kind == "case_assigned"),
        "the new operator is told"
    );
}
both!(case_contents_are_for_the_unit_on_a_need_to_know_basis);

async fn tasks_and_flags_show_on_the_dashboard_and_every_view(b: Backend) {
    let mut u = unit(b).await;
    let id = open_case(&mut u).await;
    // 03:00 Rome now: one task overdue since 02:30, one due at 18:00 today, one tomorrow.
    for (kind, due) in [
        ("call_back_referrer", "2026-11-25T02:30"),
        ("book_mediator", "2026-11-25T18:00"),
        ("send_feedback", "2026-11-26T18:00"),
    ] {
        let r = post(
            &mut u.op,
            &format!("/api/v1/cases/{id}/tasks"),
            json!({"kind": kind, "due_at": due, "note": "richiamare l'operatrice"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let c = case(&mut u.op, id).await;
    let overdue: Vec<_> = c["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["overdue"] == true)
        .collect();
    assert_eq!(overdue.len(), 1);
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/flags"),
        json!({"kind": "risk_to_staff", "reason": "lo sfruttatore ha seguito l'operatrice"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let list = u.op.get("/api/v1/cases").await.json();
    assert_eq!(list[0]["flags"], json!(["risk_to_staff"]), "{list}");
    let dash = u.op.get("/cases").await;
    assert_eq!(dash.status, StatusCode::OK);
    let overdue_at = dash.body.find("id=\"overdue\"").expect("overdue section");
    let today_at = dash.body.find("id=\"due-today\"").expect("due today section");
    assert!(overdue_at < today_at);
    assert!(dash.body.contains("Richiamare il segnalante") && dash.body.contains("Prenotare la mediazione"));
    assert!(
        !dash.body.contains("Inviare il riscontro scritto"),
        "tomorrow's task is not due today"
    );
    let page = u.op.get(&format!("/cases/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Rischio per gli operatori") && page.body.contains("lo sfruttatore ha seguito"));
    // The referral's own page repeats the flag beside the link to its case (the kind, not the reason).
    let rid = case(&mut u.op, id).await["referrals"][0]["id"]
        .as_i64()
        .expect("referral");
    let referral_page = u.op.get(&format!("/referrals/{rid}")).await.body;
    let link = &referral_page[referral_page.find("id=\"case-link\"").expect("case link")..];
    assert!(link[..link.find("</p>").unwrap_or(link.len())].contains("Rischio per gli operatori"));
    assert!(!referral_page.contains("lo sfruttatore ha seguito"));
    let task = c["tasks"][0]["id"].as_i64().expect("id");
    let r = post(&mut u.op, &format!("/api/v1/cases/{id}/tasks/{task}/done"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post(&mut u.op, &format!("/api/v1/cases/{id}/tasks/{task}/done"), json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "already done");
}
both!(tasks_and_flags_show_on_the_dashboard_and_every_view);

async fn a_later_referral_about_a_known_person_joins_their_open_case(b: Backend) {
    let mut u = unit(b).await;
    let first = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let id = take_charge(&mut u.op, first).await;
    let person = case(&mut u.op, id).await["person_id"].as_i64().expect("person");
    // The commission reports the same woman; the operator linked the two (see persons).
    let second = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let mut conn = u.admin.state.db.conn().expect("conn");
    use diesel::RunQueryDsl;
    diesel::sql_query(format!(
        "INSERT INTO referral_persons (referral_id, person_id, linked_at) VALUES ({second}, {person}, '2026-11-25 02:00:00')"
    ))
    .execute(&mut *conn)
    .expect("link");
    drop(conn);
    let joined = take_charge(&mut u.op, second).await;
    assert_eq!(joined, id, "the same case");
    let c = case(&mut u.op, id).await;
    assert_eq!(c["referrals"].as_array().map(|a| a.len()), Some(2));
    assert!(timeline(&c).contains(&"referral_joined".to_owned()));
    assert_eq!(u.admin.count("persons"), 1, "the person counted once");
}
both!(a_later_referral_about_a_known_person_joins_their_open_case);

async fn withdrawn_consent_erases_the_cases_own_notes_when_nothing_else_holds_it(b: Backend) {
    let mut u = unit(b).await;
    let ct_org = u.ct_verona;
    let mut ct = crate::referrals::commission(&mut u, "ct.erase", ct_org).await;
    let body = json!({"urgency": "ordinary", "consent": crate::referrals::consent(),
                      "person": {"alias": "Precious", "gender": "female"}});
    let rid = file(&mut ct, body).await["id"].as_i64().expect("id");
    let id = take_charge(&mut u.op, rid).await;
    let r = post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/interviews"),
        json!({"starts_at": "2026-11-26T10:00", "setting": "commission"}),
    )
    .await;
    let interview = r.json()["interview"]["id"].as_i64().expect("id");
    post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/interviews/{interview}/held"),
        json!({"version": 1, "notes": "racconto del viaggio"}),
    )
    .await;
    post(
        &mut u.op,
        &format!("/api/v1/cases/{id}/notes"),
        json!({"body": "nota riservata"}),
    )
    .await;
    let keys_before = u.admin.count_where("data_keys", "destroyed_at IS NULL");
    let v = crate::referrals::case(&mut ct, rid).await["version"].clone();
    let r = ct
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{rid}/consent/withdraw"),
            Some(json!({"version": v})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The referral's key and the case's key are both gone; the case is closed.
    assert_eq!(
        u.admin.count_where("data_keys", "destroyed_at IS NULL"),
        keys_before - 2
    );
    let c = case(&mut u.coord, id).await;
    assert_eq!(c["status"], "closed");
    assert!(c["interviews"][0]["notes"].is_null(), "{c}");
    assert!(c["notes"][0]["body"].is_null());
    assert!(c["referrals"][0]["alias"].is_null());
    // A case that still answers a consented referral keeps its notes.
    let first = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let kept = take_charge(&mut u.op, first).await;
    post(
        &mut u.op,
        &format!("/api/v1/cases/{kept}/notes"),
        json!({"body": "resta"}),
    )
    .await;
    assert_eq!(case(&mut u.op, kept).await["notes"][0]["body"], "resta");
}
both!(withdrawn_consent_erases_the_cases_own_notes_when_nothing_else_holds_it);

/// A referrer of `org` (logged in).
async fn referrer_of(u: &mut Unit, username: &str, org: i64) -> TestApp {
    u.admin
        .user(username)
        .role("referrer")
        .org(org)
        .email(&format!("{username}@example.org"))
        .create()
        .await;
    let mut r = TestApp::sibling(&u.admin);
    assert_eq!(r.login(username, PASSWORD).await.status, StatusCode::SEE_OTHER);
    r
}

/// From the referral to the written feedback read in the portal, for each of seed 004's four
/// sources: the CAS operators, the prefecture, the SAI operators, a territorial commission.
async fn each_source_runs_from_referral_to_feedback_read_in_the_portal(b: Backend) {
    let mut u = unit(b).await;
    let (cas, prefecture, sai, ct) = (u.cas, u.prefecture, u.sai, u.ct_verona);
    {
        // Letters go to each organisation's address (certified, for a prefecture).
        use diesel::RunQueryDsl;
        let mut conn = u.admin.state.db.conn().expect("conn");
        for (org, email) in [
            (prefecture, "protocollo.prefve@pec.example.org"),
            (sai, "sai.venezia@example.org"),
        ] {
            diesel::sql_query(format!("UPDATE organisations SET email = '{email}' WHERE id = {org}"))
                .execute(&mut *conn)
                .expect("email");
        }
    }
    let mut readers = [
        ("cas", referrer_of(&mut u, "cas.lettore", cas).await),
        (
            "prefecture",
            referrer_of(&mut u, "prefettura.lettore", prefecture).await,
        ),
        ("sai", referrer_of(&mut u, "sai.lettore", sai).await),
        (
            "commission",
            crate::referrals::commission(&mut u, "ct.lettore", ct).await,
        ),
    ];
    let person = |alias: &str, hosted: Option<i64>| json!({"alias": alias, "gender": "female", "age": 23, "languages": ["en"], "hosted_org_id": hosted});
    for (source, reader) in readers.iter_mut() {
        // The report, as each source makes it.
        let rid = match *source {
            "cas" => {
                file(
                    reader,
                    json!({"urgency": "ordinary", "person": person("Joy", Some(cas))}),
                )
                .await
            }
            "prefecture" => {
                file(
                    reader,
                    json!({"urgency": "ordinary", "person": person("Mercy", Some(cas))}),
                )
                .await
            }
            "sai" => {
                file(
                    reader,
                    json!({"urgency": "ordinary", "person": person("Esther", Some(sai))}),
                )
                .await
            }
            _ => file(
                reader,
                json!({"urgency": "ordinary", "consent": crate::referrals::consent(), "person": person("Grace", None)}),
            )
            .await,
        }["id"]
            .as_i64()
            .expect("id");
        let id = take_charge(&mut u.coord, rid).await;
        // Interview at the place the procedure says, held; assessed; outcome decided.
        let setting = match *source {
            "sai" => "sai_desk",
            "commission" => "commission",
            _ => "cas",
        };
        let r = post(
            &mut u.coord,
            &format!("/api/v1/cases/{id}/interviews"),
            json!({"starts_at": "2026-11-26T10:00", "setting": setting, "language": "en", "mediator_id": u.med_id, "joint": *source == "sai"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{source}: {}", r.body);
        let interview = r.json()["interview"]["id"].as_i64().expect("id");
        let r = post(
            &mut u.coord,
            &format!("/api/v1/cases/{id}/interviews/{interview}/held"),
            json!({"version": 1, "notes": "svolto"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{source}: {}", r.body);
        // The same mediator is free again for the next source's interview.
        let r = post(
            &mut u.coord,
            &format!("/api/v1/cases/{id}/assessments"),
            json!({"answers": {"dr_nature_job": "present"}}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{source}: {}", r.body);
        let r = post(
            &mut u.coord,
            &format!("/api/v1/cases/{id}/outcomes"),
            json!({"kind": "interview"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{source}: {}", r.body);
        // The written feedback to whom the procedure names.
        let base = format!("/api/v1/cases/{id}/feedback");
        let r = post(&mut u.coord, &base, json!({})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{source}: {}", r.body);
        let letters = r.json();
        let letters = letters.as_array().expect("letters").clone();
        assert!(!letters.is_empty(), "{source}");
        let mut hashes = Vec::new();
        for l in &letters {
            let lid = l["id"].as_i64().expect("id");
            let r = post(
                &mut u.coord,
                &format!("{base}/{lid}/approve"),
                json!({"version": l["version"]}),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{source}: {}", r.body);
            hashes.push(r.json()["pdf_sha256"].as_str().expect("hash").to_owned());
            let v = r.json()["version"].clone();
            let r = post(&mut u.coord, &format!("{base}/{lid}/send"), json!({"version": v})).await;
            assert_eq!(r.status, StatusCode::OK, "{source}: {}", r.body);
        }
        assert_eq!(case(&mut u.coord, id).await["status"], "feedback_sent", "{source}");
        // The reader finds the letter, and its hash, in the portal.
        let page = reader.get(&format!("/portal/{rid}")).await;
        assert_eq!(page.status, StatusCode::OK, "{source}");
        assert!(
            hashes.iter().any(|h| page.body.contains(h.as_str())),
            "{source}: the letter and its hash: {}",
            page.body
        );
        let case_page = u.coord.get(&format!("/cases/{id}")).await.body;
        assert!(
            case_page.contains("id=\"feedback-letters\""),
            "{source}: the letters on the case page"
        );
    }
}
both!(each_source_runs_from_referral_to_feedback_read_in_the_portal);

async fn a_case_follows_its_referral_when_the_operator_links_it_to_a_known_person(b: Backend) {
    let mut u = unit(b).await;
    let first = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let known = take_charge(&mut u.op, first).await;
    let person = case(&mut u.op, known).await["person_id"].as_i64().expect("person");
    let second = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let later = take_charge(&mut u.op, second).await;
    assert_ne!(
        case(&mut u.op, later).await["person_id"],
        person,
        "a new person until linked"
    );
    let r = post(
        &mut u.op,
        &format!("/api/v1/persons/{person}/link"),
        json!({"referral_id": second}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        case(&mut u.op, later).await["person_id"],
        person,
        "the case follows its only referral"
    );
    assert!(!u.admin.audit("action=case.person").await.is_empty());
}
both!(a_case_follows_its_referral_when_the_operator_links_it_to_a_known_person);
