//! Escape points and placements: the board offers only places that fit, holds expire by
//! themselves, capacity is never exceeded under concurrent requests (on PostgreSQL also from two
//! app instances), addresses never leak, and only the crisis unit uses any of it.

use awc::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::casework::open_case;
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::referrals::{unit, Unit};

const MARKER: &str = "VIA-SEGRETA-4711";

/// Adds a point (as a coordinator); its id.
async fn point(coord: &mut TestApp, body: Value) -> i64 {
    let mut body = body;
    let defaults = json!({"name": "Casa di prova", "province": "PA", "beds": 1, "contact_phone": "+39 091 000 0000"});
    for (k, v) in defaults.as_object().expect("object") {
        if body.get(k).is_none() {
            body[k] = v.clone();
        }
    }
    let r = coord.api(Method::POST, "/api/v1/escape-points", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_i64().expect("id")
}

async fn board(app: &mut TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/escape-points/board?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json().as_array().cloned().expect("lines")
}

/// The codes of the test's own points on the board (the twelve examples left out).
fn codes(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l["point"]["code"].as_str())
        .filter(|c| c.starts_with("T-"))
        .map(str::to_owned)
        .collect()
}

fn line<'a>(lines: &'a [Value], code: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["point"]["code"] == code)
        .unwrap_or_else(|| panic!("{code} not on the board"))
}

async fn place(app: &mut TestApp, case: i64, point: i64, kind: &str) -> crate::helpers::Reply {
    app.api(
        Method::POST,
        "/api/v1/placements",
        Some(json!({"case_id": case, "point_id": point, "kind": kind, "place_type": "bed"})),
    )
    .await
}

async fn login_as(u: &Unit, username: &str) -> TestApp {
    let mut app = TestApp::sibling(&u.admin);
    assert_eq!(app.login(username, PASSWORD).await.status, StatusCode::SEE_OTHER);
    app
}

async fn the_board_offers_only_places_that_fit(b: Backend) {
    let mut u = unit(b).await;
    point(
        &mut u.coord,
        json!({"code": "T-W", "province": "PA", "beds": 2, "takes_women": true, "takes_trans": true, "languages": ["it", "en"]}),
    )
    .await;
    point(
        &mut u.coord,
        json!({"code": "T-M", "province": "PA", "beds": 2, "takes_men": true, "accessible": true, "languages": ["it", "ar"]}),
    )
    .await;
    let family = point(
        &mut u.coord,
        json!({"code": "T-F", "province": "CT", "beds": 1, "family_rooms": 1, "takes_women": true, "takes_children": true,
               "accessible": true, "languages": ["it", "en", "fr"]}),
    )
    .await;
    // The seed's twelve, marked as examples.
    let all = u.op.get("/api/v1/escape-points").await.json();
    let examples = all
        .as_array()
        .expect("points")
        .iter()
        .filter(|p| p["example"] == true)
        .count();
    assert_eq!(examples, 12);

    // A man is not offered a women-only place.
    assert_eq!(codes(&board(&mut u.op, "gender=male").await), ["T-M"]);
    // A mother with children gets family rooms.
    let lines = board(&mut u.op, "gender=female&children=true").await;
    assert_eq!(codes(&lines), ["T-F"]);
    assert_eq!(line(&lines, "T-F")["free_needed"], 1);
    // Language and accessibility filters.
    assert_eq!(codes(&board(&mut u.op, "gender=female&language=fr").await), ["T-F"]);
    assert_eq!(codes(&board(&mut u.op, "gender=female&accessible=true").await), ["T-F"]);
    assert_eq!(codes(&board(&mut u.op, "gender=trans").await), ["T-W"]);
    assert!(codes(&board(&mut u.op, "gender=female&minor=true").await).is_empty());
    // Nearest first: the emergence province, then its region, then the rest of Italy.
    let lines = board(&mut u.op, "gender=female&province=PA").await;
    let order: Vec<&str> = lines.iter().filter_map(|l| l["point"]["code"].as_str()).collect();
    assert_eq!(&order[..2], ["T-W", "T-F"], "{order:?}");
    assert_eq!(lines[0]["distance_km"], 0);
    // A suspended place is offered to nobody.
    let r = u
        .coord
        .api(
            Method::PATCH,
            &format!("/api/v1/escape-points/{family}"),
            Some(
                json!({"version": 1, "name": "Casa di prova", "province": "CT", "beds": 1, "family_rooms": 1,
                        "takes_women": true, "takes_children": true, "contact_phone": "+39 095 000 0000",
                        "status": "suspended", "suspended_reason": "lavori di ristrutturazione"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "suspended");
    assert!(codes(&board(&mut u.op, "gender=female&children=true").await).is_empty());
    // Filters that cannot be read are refused.
    let r = u.op.get("/api/v1/escape-points/board?province=Atlantide").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}
both!(the_board_offers_only_places_that_fit);

async fn a_hold_expires_by_itself_and_frees_the_place(b: Backend) {
    // VARCO_HOLD_MINUTES (default 90) shortened, so that the sessions outlive the hold.
    let mut u = crate::referrals::unit_with(b, |s| s.hold_minutes = 20).await;
    let case = open_case(&mut u).await;
    let p = point(&mut u.coord, json!({"code": "T-H", "beds": 1, "takes_women": true})).await;
    let r = place(&mut u.op, case, p, "hold").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let hold = r.json();
    assert_eq!(hold["status"], "held");
    assert!(hold["expires_at"].is_string());
    let lines = board(&mut u.op, "gender=female").await;
    assert_eq!(line(&lines, "T-H")["free_beds"], 0);
    assert_eq!(line(&lines, "T-H")["held_beds"], 1);
    // Holds count: no second place.
    let r = place(&mut u.op, case, p, "emergency").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("T-H"), "{}", r.body);
    // When its time is up the hold no longer counts, before any job ran.
    u.op.clock.advance(chrono::Duration::minutes(21));
    let lines = board(&mut u.op, "gender=female").await;
    assert_eq!(line(&lines, "T-H")["free_beds"], 1);
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/placements/{}/check-in", hold["id"]),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "an expired hold cannot be checked in: {}",
        r.body
    );
    // The background job marks it.
    let now = varco::clock::db_now(&u.op.clock);
    assert_eq!(
        varco::placements::service::expire_holds(&u.op.state, now)
            .await
            .expect("job"),
        1
    );
    assert_eq!(u.op.count_where("placements", "status = 'expired'"), 1);
    // An emergency placement now, its arrival and departure.
    let r = place(&mut u.op, case, p, "emergency").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let stay = r.json()["id"].as_i64().expect("id");
    let r =
        u.op.api(Method::POST, &format!("/api/v1/placements/{stay}/check-in"), None)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "checked_in");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/placements/{stay}/check-out"),
            Some(json!({"reason": "programme_entry"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["check_out_reason"], "programme_entry");
    let r =
        u.op.api(Method::POST, &format!("/api/v1/placements/{stay}/release"), None)
            .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // A hold let go, and a turn-away.
    let r = place(&mut u.op, case, p, "hold").await;
    let id = r.json()["id"].as_i64().expect("id");
    let r =
        u.op.api(Method::POST, &format!("/api/v1/placements/{id}/release"), None)
            .await;
    assert_eq!(r.json()["status"], "released");
    let r = place(&mut u.op, case, p, "observation").await;
    let id = r.json()["id"].as_i64().expect("id");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/placements/{id}/turn-away"),
            Some(json!({"reason": "refused_by_person"})),
        )
        .await;
    assert_eq!(r.json()["turn_away_reason"], "refused_by_person");
    // The person's journey on the case.
    let r = u.op.get(&format!("/api/v1/placements?case_id={case}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let statuses: Vec<String> = r
        .json()
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["status"].as_str().unwrap_or("").to_owned())
        .collect();
    // The place refused for lack of space is a turn-away too (the observatory counts them).
    assert_eq!(
        statuses,
        ["expired", "turned_away", "checked_out", "released", "turned_away"]
    );
    assert_eq!(r.json()[1]["turn_away_reason"], "no_space");
    // Each step on the case's timeline, in words, with the point's code.
    let r = u.op.get(&format!("/cases/{case}")).await;
    for text in [
        "Posto trattenuto in un punto di fuga",
        "Accoglienza non possibile",
        "T-H · Nessun posto libero",
        "Posto trattenuto scaduto",
        "Inserimento in un punto di fuga",
        "Arrivo nel punto di fuga",
        "T-H · Ingresso in un programma di protezione",
        "Posto rilasciato",
        "T-H · Rifiutata dalla persona",
    ] {
        assert!(r.body.contains(text), "{text}: {}", r.body);
    }
    assert_eq!(
        u.op.count_where("case_events", &format!("case_id = {case} AND kind LIKE 'placement_%'")),
        10
    );
}
both!(a_hold_expires_by_itself_and_frees_the_place);

/// Fires one placement from each of `apps` at once; the statuses and bodies.
async fn burst(apps: &mut [TestApp], case: i64, point: i64) -> Vec<(StatusCode, String)> {
    let futures = apps.iter_mut().map(|app| async move {
        let r = place(app, case, point, "emergency").await;
        (r.status, r.body)
    });
    futures_util::future::join_all(futures).await
}

async fn capacity_is_never_exceeded_under_concurrent_placements(b: Backend) {
    let mut u = unit(b).await;
    let case = open_case(&mut u).await;
    let p = point(
        &mut u.coord,
        json!({"code": "T-C", "name": "Casa Concorrenza", "beds": 3, "takes_women": true, "address": format!("Via {MARKER}, 1")}),
    )
    .await;
    // One hold taken first: it counts.
    assert_eq!(place(&mut u.op, case, p, "hold").await.status, StatusCode::CREATED);
    let mut apps = Vec::new();
    for i in 0..8 {
        // On PostgreSQL half the operators work on a second instance of the application.
        let mut app = if b == Backend::Postgres && i % 2 == 1 {
            TestApp::instance(&u.admin)
        } else {
            TestApp::sibling(&u.admin)
        };
        assert_eq!(
            app.login("operatrice.notte", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        apps.push(app);
    }
    let results = burst(&mut apps, case, p).await;
    let created = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let refused: Vec<&String> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created, 2, "{results:?}");
    assert_eq!(refused.len(), 6, "{results:?}");
    for body in refused {
        assert!(body.contains("T-C") && body.contains("Casa Concorrenza"), "{body}");
        assert!(!body.contains(MARKER), "{body}");
    }
    assert_eq!(
        u.op.count_where(
            "placements",
            &format!("point_id = {p} AND status IN ('held', 'placed')")
        ),
        3
    );
    // Every refusal kept as a turn-away for lack of space, and on the case's timeline.
    assert_eq!(
        u.op.count_where(
            "placements",
            &format!("point_id = {p} AND status = 'turned_away' AND turn_away_reason = 'no_space'")
        ),
        6
    );
    assert_eq!(
        u.op.count_where(
            "case_events",
            &format!("case_id = {case} AND kind = 'placement_turned_away'")
        ),
        6
    );
}
both!(capacity_is_never_exceeded_under_concurrent_placements);

async fn an_address_is_shown_only_on_request_to_whom_may_see_it(b: Backend) {
    let mut u = unit(b).await;
    let case = open_case(&mut u).await;
    let p = point(
        &mut u.coord,
        json!({"code": "T-A", "beds": 2, "takes_women": true, "address": format!("Via {MARKER}, 4, Palermo")}),
    )
    .await;
    let mut med = login_as(&u, "mediatrice.edo").await;
    let reads = [
        "/api/v1/escape-points".to_owned(),
        format!("/api/v1/escape-points/{p}"),
        "/api/v1/escape-points/board?gender=female".to_owned(),
        format!("/api/v1/placements?case_id={case}"),
        "/api/openapi.json".to_owned(),
    ];
    // Nobody outside the unit reads anything of it.
    for path in &reads[..4] {
        let r = med.get(path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        assert!(!r.body.contains(MARKER));
    }
    for path in [
        format!("/api/v1/escape-points/{p}/address"),
        "/api/v1/placements".to_owned(),
    ] {
        let r = med.api(Method::POST, &path, Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        assert!(!r.body.contains(MARKER));
    }
    // The unit's lists, the board and the placements never carry it.
    for path in &reads {
        let r = u.op.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert!(!r.body.contains(MARKER), "{path}: {}", r.body);
    }
    // An operator without a hold there is refused, and the refusal audited.
    let r =
        u.op.api(Method::POST, &format!("/api/v1/escape-points/{p}/address"), None)
            .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(!r.body.contains(MARKER));
    // With a hold there, on request.
    let r = place(&mut u.op, case, p, "hold").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(!r.body.contains(MARKER));
    let r =
        u.op.api(Method::POST, &format!("/api/v1/escape-points/{p}/address"), None)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["address"].as_str().is_some_and(|a| a.contains(MARKER)));
    // Coordinators may always ask.
    let r = u
        .coord
        .api(Method::POST, &format!("/api/v1/escape-points/{p}/address"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for path in &reads {
        let r = u.op.get(path).await;
        assert!(!r.body.contains(MARKER), "{path}: {}", r.body);
    }
    // Each reveal and each refusal audited; the log, the outbox and the stored row never hold it.
    let entries = u.admin.audit("action=escape_point.address").await;
    let outcomes: Vec<&str> = entries.iter().filter_map(|e| e["outcome"].as_str()).collect();
    assert_eq!(outcomes.len(), 3, "{entries:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "denied").count(), 1, "{entries:?}");
    let log = u.admin.get("/api/v1/audit?limit=500").await;
    assert!(!log.body.contains(MARKER));
    assert!(u.admin.outbox().iter().all(|m| !format!("{m:?}").contains(MARKER)));
    assert_eq!(u.admin.count_where("escape_points", "name LIKE '%4711%'"), 0);
    // The log lines of the whole run so far: the requests above were logged, the address never.
    let logs = crate::helpers::captured_logs();
    assert!(
        logs.contains("/api/v1/escape-points/{id}/address"),
        "requests are logged"
    );
    assert!(!logs.contains(MARKER));
}
both!(an_address_is_shown_only_on_request_to_whom_may_see_it);

async fn only_the_crisis_unit_uses_escape_points(b: Backend) {
    let mut u = unit(b).await;
    // Operators use the board but do not keep the registry.
    let r =
        u.op.api(
            Method::POST,
            "/api/v1/escape-points",
            Some(json!({"code": "T-X", "name": "x", "province": "PA", "beds": 1, "contact_phone": "1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let mut med = login_as(&u, "mediatrice.edo").await;
    for path in ["/api/v1/escape-points", "/api/v1/escape-points/board"] {
        assert_eq!(med.get(path).await.status, StatusCode::FORBIDDEN);
        assert_eq!(u.admin.get(path).await.status, StatusCode::FORBIDDEN);
    }
    // A duplicate code is a conflict; a case the operator may not open does not exist for them.
    point(&mut u.coord, json!({"code": "T-D"})).await;
    let r = u
        .coord
        .api(
            Method::POST,
            "/api/v1/escape-points",
            Some(json!({"code": "T-D", "name": "y", "province": "PA", "beds": 1, "contact_phone": "1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}
both!(only_the_crisis_unit_uses_escape_points);

async fn occupancy(app: &mut TestApp, from: &str, to: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/escape-points/occupancy?from={from}&to={to}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

/// The line of a place type: (placements, nights, turned away for lack of space, suppressed).
fn occ(view: &Value, place_type: &str) -> (Value, Value, Value, Value) {
    let l = view["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["place_type"] == place_type)
        .unwrap_or_else(|| panic!("no {place_type} line in {view}"));
    (
        l["placements"].clone(),
        l["nights"].clone(),
        l["turned_away_no_space"].clone(),
        l["suppressed"].clone(),
    )
}

async fn the_occupancy_history_counts_nights_placements_and_turn_aways(b: Backend) {
    // Sessions outlive the days the clock is moved on.
    let mut u = crate::referrals::unit_with(b, |s| {
        s.session_idle_minutes = 7 * 24 * 60;
        s.session_absolute_hours = 24 * 30;
    })
    .await;
    // The clock stands at 25/11/2026 03:00 in Rome.
    let first = open_case(&mut u).await;
    let second = open_case(&mut u).await;
    let p = point(&mut u.coord, json!({"code": "T-O", "beds": 3, "takes_women": true})).await;
    let check_in = |id: i64| format!("/api/v1/placements/{id}/check-in");
    // A stay from the 25th at 03:00 to the 27th at 03:00: two nights.
    let r = place(&mut u.op, first, p, "emergency").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = r.json()["id"].as_i64().expect("id");
    assert_eq!(u.op.api(Method::POST, &check_in(a), None).await.status, StatusCode::OK);
    u.op.clock.advance(chrono::Duration::days(2));
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/placements/{a}/check-out"),
            Some(json!({"reason": "moved_on"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A stay from the 27th at 03:00, still going on the 28th at 03:00: one night so far.
    let r = place(&mut u.op, first, p, "emergency").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let b2 = r.json()["id"].as_i64().expect("id");
    assert_eq!(u.op.api(Method::POST, &check_in(b2), None).await.status, StatusCode::OK);
    u.op.clock.advance(chrono::Duration::days(1));
    // A person turned away for lack of space on the 28th, and one for another reason.
    for reason in ["no_space", "does_not_fit"] {
        let r = place(&mut u.op, second, p, "observation").await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["id"].as_i64().expect("id");
        let r =
            u.op.api(
                Method::POST,
                &format!("/api/v1/placements/{id}/turn-away"),
                Some(json!({"reason": reason})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    let all = occupancy(&mut u.coord, "2026-11-25", "2026-11-28").await;
    assert_eq!(occ(&all, "bed"), (json!(2), json!(3), json!(1), json!(false)), "{all}");
    assert_eq!(occ(&all, "family_room"), (json!(0), json!(0), json!(0), json!(false)));
    assert_eq!(all["threshold"], Value::Null);
    // Aggregates only: no point named.
    assert!(!all.to_string().contains("T-O"), "{all}");
    // One day: the night of the 26th, nobody arriving, nobody turned away.
    let day = occupancy(&mut u.op, "2026-11-26", "2026-11-26").await;
    assert_eq!(occ(&day, "bed"), (json!(0), json!(1), json!(0), json!(false)), "{day}");
    // Today: the night has not passed yet.
    let today = occupancy(&mut u.op, "2026-11-28", "2026-11-28").await;
    assert_eq!(
        occ(&today, "bed"),
        (json!(0), json!(0), json!(1), json!(false)),
        "{today}"
    );
    assert_eq!(
        u.coord.count_where("audit_log", "action = 'placement.occupancy'"),
        3,
        "an audited read"
    );

    // The observatory: counts under the threshold (5) withheld, zeros shown.
    let mut analyst = {
        u.admin.user("occ.analista").role("analyst").create().await;
        login_as(&u, "occ.analista").await
    };
    let seen = occupancy(&mut analyst, "2026-11-25", "2026-11-28").await;
    assert_eq!(
        occ(&seen, "bed"),
        (Value::Null, Value::Null, Value::Null, json!(true)),
        "{seen}"
    );
    assert_eq!(occ(&seen, "family_room"), (json!(0), json!(0), json!(0), json!(false)));
    assert_eq!(seen["threshold"], 5);
    // The same on the page: withheld counts as "< 5", no point named; the unit's page exact.
    let page = "/escape-points/occupancy?from=2026-11-25&to=2026-11-28";
    let r = analyst.get(page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"withheld\"") && r.body.contains("&#60; 5"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("T-O"), "{}", r.body);
    assert!(r.body.contains("25/11/2026 – 28/11/2026"), "{}", r.body);
    let r = analyst.get("/").await;
    assert!(
        r.body.contains("href=\"/escape-points/occupancy\""),
        "the analyst's menu"
    );
    let r = u.coord.get(page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("&#60; 5") && !r.body.contains("id=\"withheld\""));
    assert!(r.body.contains("Non accolte per mancanza di posti"), "{}", r.body);
    let r = analyst
        .get("/escape-points/occupancy?from=2026-11-28&to=2026-11-25")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("to-error"), "{}", r.body);
    let r = analyst.get("/escape-points/occupancy?from=ieri&to=").await;
    assert!(
        r.body.contains("from-error") && r.body.contains("to-error"),
        "{}",
        r.body
    );
    // Referrers and mediators see nothing.
    u.admin.user("occ.ref").role("referrer").org(u.cas).create().await;
    let mut referrer = login_as(&u, "occ.ref").await;
    let mut med = login_as(&u, "mediatrice.edo").await;
    let path = "/api/v1/escape-points/occupancy?from=2026-11-25&to=2026-11-28";
    assert_eq!(referrer.get(path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(med.get(path).await.status, StatusCode::FORBIDDEN);
    // Periods that cannot be read, named by their field.
    for (query, field) in [
        ("from=2026-11-28&to=2026-11-25", "to"),
        ("from=2026-01-01&to=2027-01-02", "to"),
        ("from=2026-13-01&to=2026-12-01", "from"),
        ("from=2026-11-25", "to"),
    ] {
        let r = u.op.get(&format!("/api/v1/escape-points/occupancy?{query}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        assert!(r.body.contains(field), "{query}: {}", r.body);
    }
    // 366 days are fine.
    occupancy(&mut u.op, "2026-01-01", "2027-01-01").await;
}
both!(the_occupancy_history_counts_nights_placements_and_turn_aways);

async fn the_pages_show_the_board_and_a_place_but_its_address_only_on_request(b: Backend) {
    let mut u = unit(b).await;
    let p = point(
        &mut u.coord,
        json!({"code": "T-P", "name": "Casa sul mare", "beds": 2, "takes_women": true, "address": format!("Via {MARKER}, 9")}),
    )
    .await;
    let r = u.op.get("/escape-points?gender=female&province=PA").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Punti di fuga") && r.body.contains("Casa sul mare"));
    assert!(r.body.contains("Esempio"), "the seeded points are marked as examples");
    assert!(r.body.contains("data-label=\"Posti letto liberi\""));
    assert!(!r.body.contains(MARKER));
    assert!(
        r.body.contains("href=\"/escape-points\""),
        "the navigation leads to the board"
    );
    let r = u.op.get("/escape-points?province=Atlantide").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Provincia non riconosciuta"));
    let page = format!("/escape-points/{p}");
    let r = u.op.get(&page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains(MARKER));
    // The operator without a hold there is refused; the coordinator sees it once.
    let r = u.op.submit(&page, &format!("{page}/address"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(!r.body.contains(MARKER));
    let r = u.coord.submit(&page, &format!("{page}/address"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(MARKER));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let mut med = login_as(&u, "mediatrice.edo").await;
    assert_eq!(med.get("/escape-points").await.status, StatusCode::FORBIDDEN);
}
both!(the_pages_show_the_board_and_a_place_but_its_address_only_on_request);

async fn a_case_page_leads_to_the_persons_journey_and_its_actions(b: Backend) {
    let mut u = unit(b).await;
    let case = open_case(&mut u).await;
    let p = point(
        &mut u.coord,
        json!({"code": "T-J", "name": "Casa del viaggio", "beds": 1, "takes_women": true}),
    )
    .await;
    let r = u.op.get(&format!("/cases/{case}")).await;
    assert!(r.body.contains(&format!("/cases/{case}/placements")), "{}", r.body);
    let page = format!("/cases/{case}/placements");
    let r = u.op.get(&page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Nessun inserimento"));
    let pid = p.to_string();
    let fields = [("point_id", pid.as_str()), ("kind", "hold"), ("place_type", "bed")];
    let r = u.op.submit(&page, &page, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = u.op.get(&page).await;
    assert!(
        r.body.contains("Posto trattenuto") && r.body.contains("Trattenuto"),
        "{}",
        r.body
    );
    // The place is full: refused on the page, naming it.
    let r = u.op.submit(&page, &page, &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body
            .contains("nessun posto letto libero al punto di fuga T-J (Casa del viaggio)"),
        "{}",
        r.body
    );
    let id = u.op.get(&format!("/api/v1/placements?case_id={case}")).await.json()[0]["id"]
        .as_i64()
        .expect("id");
    let r =
        u.op.submit(&page, &format!("{page}/{id}"), &[("action", "check_in")])
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r =
        u.op.submit(
            &page,
            &format!("{page}/{id}"),
            &[("action", "check_out"), ("reason", "left_own_will")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = u.op.get(&page).await;
    assert!(r.body.contains("Allontanamento volontario"), "{}", r.body);
}
both!(a_case_page_leads_to_the_persons_journey_and_its_actions);

/// The board and a place at 390 px: nothing pushed off the side (each table line becomes a card).
#[actix_web::test]
async fn chromium_the_board_and_a_place_fit_a_phone() {
    let mut u = unit(Backend::Sqlite).await;
    let p = point(
        &mut u.coord,
        json!({"code": "T-PHONE", "name": "Casa con un nome piuttosto lungo da leggere al telefono", "beds": 3,
               "takes_women": true, "languages": ["it", "en", "fr", "ro"]}),
    )
    .await;
    let Some(browser) = crate::browser::start_phone("the board on a phone", 390).await else {
        return;
    };
    browser.login(&u.op, "operatrice.notte").await;
    browser
        .client
        .goto(&u.op.url("/escape-points?gender=female&province=PA"))
        .await
        .expect("board");
    browser.wait_text("h1", "Punti di fuga").await;
    assert_eq!(browser.number("return window.innerWidth;").await, 390.0);
    browser.assert_fits("the availability board").await;
    browser.screenshot("escape-points-phone").await;
    browser
        .client
        .goto(&u.op.url(&format!("/escape-points/{p}")))
        .await
        .expect("place");
    browser.wait_text("h1", "T-PHONE").await;
    browser.assert_fits("a place").await;
    browser.close().await;
}

async fn a_coordinator_keeps_the_registry_on_its_pages(b: Backend) {
    let mut u = unit(b).await;
    // The form is offered to coordinators only.
    assert!(u
        .coord
        .get("/escape-points")
        .await
        .body
        .contains("href=\"/escape-points/new\""));
    assert!(!u.op.get("/escape-points").await.body.contains("/escape-points/new"));
    assert_eq!(u.op.get("/escape-points/new").await.status, StatusCode::FORBIDDEN);
    // Every error at once, in Italian, with what was typed kept.
    let r = u
        .coord
        .submit(
            "/escape-points/new",
            "/escape-points",
            &[
                ("code", ""),
                ("name", "Casa Prova Modulo"),
                ("province", "XX"),
                ("beds", "tre"),
                ("status", "suspended"),
                ("contact_phone", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    for f in ["code", "province", "beds", "suspended_reason", "contact_phone"] {
        assert!(r.body.contains(&format!("id=\"{f}-error\"")), "{f}: {}", r.body);
    }
    assert!(r.body.contains("Casa Prova Modulo"));
    assert!(
        !r.body.contains("is required") && !r.body.contains("must be"),
        "{}",
        r.body
    );
    // Added.
    let address = format!("Via {MARKER}, 7");
    let fields = [
        ("code", "T-F"),
        ("name", "Casa del modulo"),
        ("province", "082"),
        ("address", address.as_str()),
        ("beds", "2"),
        ("family_rooms", "1"),
        ("takes_women", "on"),
        ("takes_children", "on"),
        ("languages", "en"),
        ("languages", "ro"),
        ("contact_phone", "+39 091 111 2222"),
        ("status", "active"),
    ];
    let r = u.coord.submit("/escape-points/new", "/escape-points", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = u.coord.get("/api/v1/escape-points").await.json();
    let p = list
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["code"] == "T-F")
        .cloned()
        .expect("added");
    let id = p["id"].as_i64().expect("id");
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("/escape-points/{id}").as_str())
    );
    assert_eq!(
        (p["beds"].clone(), p["family_rooms"].clone()),
        (json!(2), json!(1)),
        "{p}"
    );
    assert_eq!(p["languages"], json!(["en", "ro"]), "{p}");
    assert_eq!(
        (p["takes_children"].clone(), p["takes_men"].clone()),
        (json!(true), json!(false))
    );
    // A second point with the code: the form says so on the code.
    let r = u.coord.submit("/escape-points/new", "/escape-points", &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("id=\"code-error\""), "{}", r.body);
    // The edit form never carries the address; left blank, the address stays.
    let edit = format!("/escape-points/{id}/edit");
    let r = u.coord.get(&edit).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains(MARKER), "{}", r.body);
    assert!(r.body.contains("Casa del modulo") && r.body.contains("value=\"ro\" selected"));
    let version = p["version"].as_i64().expect("version").to_string();
    let change = |name: &'static str, version: String| {
        vec![
            ("version", version),
            ("name", name.to_owned()),
            ("province", "082".to_owned()),
            ("address", String::new()),
            ("beds", "3".to_owned()),
            ("family_rooms", "1".to_owned()),
            ("takes_women", "on".to_owned()),
            ("contact_phone", "+39 091 111 2222".to_owned()),
            ("status", "suspended".to_owned()),
            ("suspended_reason", "Lavori".to_owned()),
        ]
    };
    let owned = change("Casa rinnovata", version.clone());
    let form: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = u.coord.submit(&edit, &format!("/escape-points/{id}"), &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = u.coord.get(&format!("/api/v1/escape-points/{id}")).await.json();
    assert_eq!(
        (p["name"].clone(), p["beds"].clone()),
        (json!("Casa rinnovata"), json!(3)),
        "{p}"
    );
    assert_eq!(
        (p["status"].clone(), p["takes_children"].clone()),
        (json!("suspended"), json!(false))
    );
    let r = u
        .coord
        .api(Method::POST, &format!("/api/v1/escape-points/{id}/address"), None)
        .await;
    assert_eq!(r.json()["address"], json!(address), "unchanged");
    // Saving over someone else's change: refused, what was typed kept.
    let owned = change("Casa vecchia", version);
    let form: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = u.coord.submit(&edit, &format!("/escape-points/{id}"), &form).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body.contains("Qualcun altro") && r.body.contains("Casa vecchia"),
        "{}",
        r.body
    );
    assert_eq!(
        u.coord.get(&format!("/api/v1/escape-points/{id}")).await.json()["name"],
        "Casa rinnovata"
    );
    // Operators may not post the form.
    let r =
        u.op.submit("/escape-points", "/escape-points", &[("code", "T-G")])
            .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(u.coord.count_where("escape_points", "code = 'T-G'"), 0);
    assert!(!crate::helpers::captured_logs().contains(MARKER));
}
both!(a_coordinator_keeps_the_registry_on_its_pages);
