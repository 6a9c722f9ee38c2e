//! The 1522 helpline: protocols with their state, each routing mode on an injected clock, the
//! Asterisk and chat imports (rules, bad lines, out-of-order lines, a re-import), and the report
//! against the published September–November 2025 figures of seed 000.

use awc::http::{Method, StatusCode};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};
use varco::helpline::{chats, sample, service, switchboard};

/// An administrator's app, a coordinator (shift lead) and an analyst, signed in.
async fn desk(b: Backend) -> (TestApp, TestApp, TestApp) {
    let mut admin = crate::helpers::spawn(b).await;
    admin.setup_admin().await;
    admin.user("caposala").role("coordinator").create().await;
    admin.user("analista").role("analyst").create().await;
    let mut coord = TestApp::sibling(&admin);
    assert_eq!(coord.login("caposala", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let mut analyst = TestApp::sibling(&admin);
    assert_eq!(analyst.login("analista", PASSWORD).await.status, StatusCode::SEE_OTHER);
    (admin, coord, analyst)
}

async fn protocols_are_listed_with_their_state(b: Backend) {
    let (_admin, mut coord, mut analyst) = desk(b).await;
    // The clock stands at 25 November 2026: Bari (to 2012) and Milan (to 21 November 2026) expired.
    let r = analyst.get("/api/v1/1522/protocols").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.json();
    let by = |id: &str| {
        list.as_array()
            .expect("test value")
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .expect("test value")
    };
    assert_eq!(by("bari")["state"], "expired");
    assert_eq!(by("bari")["referent"]["phone"], "0805741461");
    assert_eq!(by("milan")["valid_until"], "2026-11-21");
    assert_eq!(by("milan")["state"], "expired");
    coord
        .clock
        .set(Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).single().expect("test value"));
    let list = coord.get("/api/v1/1522/protocols").await.json();
    let milan = list
        .as_array()
        .expect("test value")
        .iter()
        .find(|p| p["id"] == "milan")
        .cloned()
        .expect("test value");
    assert_eq!(milan["state"], "in_force");
    let page = coord.get("/1522/protocols").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("GIRAFFA") && page.body.contains("Scaduto") && page.body.contains("In vigore"));
    assert!(!page.body.contains("in_force"), "no raw codes on an Italian page");
}
both!(protocols_are_listed_with_their_state);

async fn decide(app: &mut TestApp, q: &str) -> Value {
    let r = app.get(&format!("/api/v1/1522/routing?{q}")).await;
    assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
    r.json()
}

/// Sets the clock to a Rome wall-clock instant.
fn at(app: &TestApp, y: i32, m: u32, d: u32, h: u32, min: u32) {
    let local = chrono_tz::Europe::Rome
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("test value");
    app.clock.set(local.with_timezone(&Utc));
}

async fn each_routing_mode_on_the_clock(b: Backend) {
    let (_admin, mut coord, _) = desk(b).await;
    // Monday 5 March 2012, 10:30 Rome: Bari's protocol in force, GIRAFFA open.
    at(&coord, 2012, 3, 5, 10, 30);
    let d = decide(&mut coord, "province=BA&language=it").await;
    assert_eq!(d["mode"], "direct_transfer", "{d}");
    assert_eq!(d["referent"]["phone"], "0805741461");
    assert_eq!(d["protocol"]["id"], "bari");
    // Same day at 13:00: closed (to is exclusive); next opening Wednesday 9:00.
    at(&coord, 2012, 3, 5, 13, 0);
    let d = decide(&mut coord, "province=Bari").await;
    assert_eq!(d["mode"], "referent_closed", "{d}");
    assert_eq!(d["referent"]["next_opening"], "2012-03-07T09:00:00+01:00");
    // Tuesday: not an opening day.
    at(&coord, 2012, 3, 6, 10, 0);
    assert_eq!(decide(&mut coord, "province=BA").await["mode"], "referent_closed");
    // Easter Monday 9 April 2012 at 10:00: a holiday, closed; next opening Wednesday 11.
    at(&coord, 2012, 4, 9, 10, 0);
    let d = decide(&mut coord, "province=BA").await;
    assert_eq!(d["mode"], "referent_closed", "{d}");
    assert_eq!(d["holiday"], "Lunedì dell'Angelo");
    assert_eq!(d["referent"]["next_opening"], "2012-04-11T09:00:00+02:00");
    // Emergency, whatever the referent.
    at(&coord, 2012, 3, 5, 10, 30);
    let d = decide(&mut coord, "province=BA&emergency=true").await;
    assert_eq!(d["mode"], "emergency");
    assert!(d["steps"][0]
        .as_str()
        .expect("test value")
        .contains("Forze dell'Ordine"));
    // The protocol expired on 31 December 2012: a Monday morning in 2013 is national orientation,
    // the expired protocol flagged, never used.
    at(&coord, 2013, 1, 7, 10, 0);
    let d = decide(&mut coord, "province=BA").await;
    assert_eq!(d["mode"], "national_orientation", "{d}");
    assert_eq!(d["protocol"], Value::Null);
    assert_eq!(d["not_in_force"][0]["id"], "bari");
    assert_eq!(d["not_in_force"][0]["state"], "expired");
    // A province without a protocol.
    assert_eq!(decide(&mut coord, "province=PA").await["mode"], "national_orientation");
    // Languages: English Monday 8–20, German not on Tuesdays, Chinese by appointment.
    at(&coord, 2025, 9, 1, 19, 59);
    assert_eq!(
        decide(&mut coord, "province=PA&language=en").await["language"]["service"],
        "available"
    );
    at(&coord, 2025, 9, 2, 11, 0);
    let d = decide(&mut coord, "province=PA&language=de").await;
    assert_eq!(d["language"]["service"], "not_now");
    assert_eq!(d["language"]["hours"], "lunedì, mercoledì, venerdì 10:00–12:00");
    assert_eq!(
        decide(&mut coord, "province=PA&language=zh").await["language"]["service"],
        "by_appointment"
    );
    // Bad input names its field.
    let r = coord.get("/api/v1/1522/routing?province=Atlantide").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["province"]);
}
both!(each_routing_mode_on_the_clock);

fn read_logs(cdr: &str, queue: &str) -> (Vec<switchboard::Call>, usize, Vec<switchboard::BadLine>) {
    let mut r = switchboard::Reader::default();
    r.read_cdr(cdr.as_bytes(), &switchboard::Options::default(), &mut |_| {});
    r.read_queue_log(queue.as_bytes(), &mut |_| {});
    r.finish()
}

async fn imports_are_idempotent_and_name_bad_lines(b: Backend) {
    let (admin, _, _) = desk(b).await;
    let caller = varco::domain::Caller::cli(admin.state.now());
    let line = |uid: &str, ctx: &str, t: &str| {
        format!("\"\",\"333\",\"1522\",\"{ctx}\",\"\",\"SIP/x\",\"\",\"Queue\",\"\",\"{t}\",\"\",\"{t}\",10,0,\"NO ANSWER\",\"DOCUMENTATION\",\"{uid}\",\"\"\n")
    };
    let cdr =
        line("u.1", "ivr", "2025-10-25 23:30:00") + &line("u.2", "blacklist", "2025-10-26 00:30:00") + "not,a,cdr\n";
    // Lines out of order: the completion first.
    let queue = "1761435500|u.1|q|op|COMPLETEAGENT|30|200|1\n1761435000|u.1|q|NONE|ENTERQUEUE||x|1\n1761435030|u.1|q|op|CONNECT|30|y|2\n";
    let (calls, _, bad) = read_logs(&cdr, queue);
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].file, bad[0].line), ("cdr", 3));
    let added = service::import_calls(&admin.state, &caller, calls.clone(), 1)
        .await
        .expect("import");
    assert_eq!(added.added, 2);
    // The same file again adds nothing; an overlapping one only the new call.
    let again = service::import_calls(&admin.state, &caller, calls, 0)
        .await
        .expect("import");
    assert_eq!(again.added, 0);
    let (more, _, _) = read_logs(
        &(line("u.2", "blacklist", "2025-10-26 00:30:00") + &line("u.3", "ivr", "2025-10-26 01:10:00")),
        "",
    );
    assert_eq!(
        service::import_calls(&admin.state, &caller, more, 0)
            .await
            .expect("import")
            .added,
        1
    );
    assert_eq!(admin.count("helpline_calls"), 3);
    // The DST night: 25 October 23:30 UTC is 01:30 Rome on the 26th (CEST); 01:10 UTC is 02:10 CET.
    let r = service::report(
        &admin.state,
        &caller,
        chrono::NaiveDate::from_ymd_opt(2025, 10, 26).expect("test value"),
        chrono::NaiveDate::from_ymd_opt(2025, 10, 26).expect("test value"),
        "json",
    )
    .await
    .expect("report");
    assert_eq!(r.calls.total, 3);
    assert_eq!(r.calls_by_hour.cells[1][6], 1, "01:30 Rome on Sunday");
    assert_eq!(r.calls_by_hour.cells[2][6], 2, "02:30 CEST and 02:10 CET");
    assert_eq!(
        (r.calls.answered, r.times.talk_total_secs, r.times.wait_average_secs),
        (1, 200, 30)
    );
    // Chats: a re-import adds nothing.
    let csv = "started_at,channel,first_response_seconds\n2025-10-26T02:30:00+01:00,app,10\nbad,app,1\n";
    let (list, bad) = chats::read(csv.as_bytes(), &mut |_| {}).expect("header");
    assert_eq!(bad.len(), 1);
    assert_eq!(
        service::import_chats(&admin.state, &caller, list.clone(), 1)
            .await
            .expect("test value")
            .added,
        1
    );
    assert_eq!(
        service::import_chats(&admin.state, &caller, list, 0)
            .await
            .expect("test value")
            .added,
        0
    );
    assert_eq!(admin.count("helpline_chats"), 1);
    // The same through the API (shift leads): a bad line named, a re-import adds nothing.
    let mut coord = TestApp::sibling(&admin);
    assert_eq!(coord.login("caposala", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let body = json!({"cdr": cdr, "queue_log": queue, "cdr_timezone": "Europe/Rome"});
    let r = coord
        .api(Method::POST, "/api/v1/1522/imports/switchboard", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!((v["read"].as_i64(), v["added"].as_i64()), (Some(2), Some(0)));
    assert_eq!(v["bad_lines"][0]["line"], 3);
    let r = coord
        .api(
            Method::POST,
            "/api/v1/1522/imports/switchboard",
            Some(json!({"cdr": "", "queue_log": "", "cdr_timezone": "Mars/Olympus"})),
        )
        .await;
    assert_eq!(r.problem_fields(), vec!["cdr_timezone"]);
}
both!(imports_are_idempotent_and_name_bad_lines);

async fn the_report_gives_back_the_published_quarter(b: Backend) {
    let (mut admin, mut coord, mut analyst) = desk(b).await;
    let caller = varco::domain::Caller::cli(admin.state.now());
    let logs = sample::quarter(true);
    let (calls, orphans, bad) = read_logs(&logs.master_csv, &logs.queue_log);
    assert!(bad.is_empty() && orphans == 0, "{bad:?}");
    service::import_calls(&admin.state, &caller, calls, 0)
        .await
        .expect("calls");
    let (chat_list, bad) = chats::read(logs.chats_csv.as_bytes(), &mut |_| {}).expect("chats");
    assert!(bad.is_empty(), "{bad:?}");
    service::import_chats(&admin.state, &caller, chat_list, 0)
        .await
        .expect("chats");
    let r = analyst.get("/api/v1/1522/report?from=2025-09-01&to=2025-11-30").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = r.json();
    let c = &r["calls"];
    assert_eq!(
        [
            &c["total"],
            &c["queued"],
            &c["answered"],
            &c["unanswered"],
            &c["voicemail"],
            &c["abandoned"],
            &c["blacklisted"],
            &c["welcome_closed"]
        ],
        [
            &json!(36470),
            &json!(18947),
            &json!(16020),
            &json!(1027),
            &json!(73),
            &json!(1827),
            &json!(7303),
            &json!(10220)
        ]
    );
    let pcts = |v: &Value| {
        v.as_array()
            .expect("test value")
            .iter()
            .map(|s| s["percent"].as_f64().expect("test value"))
            .collect::<Vec<_>>()
    };
    assert_eq!(pcts(&c["categories"]), vec![52.0, 28.0, 20.0]);
    assert_eq!(pcts(&c["queued_split"]), vec![84.6, 9.6, 5.4, 0.4]);
    assert_eq!(c["previous_total"], 34620);
    assert_eq!(c["change_percent"], 5.3);
    assert_eq!(r["times"]["talk_total"], "1.654h 54m 56s");
    assert_eq!(r["times"]["talk_average"], "06m 21s");
    assert_eq!(r["times"]["wait_average_secs"], 50);
    // Section 4, table 1, cell by cell, and its percentages (16,5 by largest remainder).
    let band = &r["calls_by_band"];
    for (row, cells) in sample::CALL_BANDS.iter().enumerate() {
        assert_eq!(band["cells"][row], json!(cells), "band {row}");
    }
    assert_eq!(band["row_percent"], json!([7.6, 4.8, 21.9, 25.2, 24.0, 16.5]));
    assert_eq!(
        band["weekday_totals"],
        json!([5580, 5158, 5143, 5455, 5444, 5073, 4617])
    );
    let hours = &r["calls_by_hour"];
    assert_eq!(hours["rows"].as_array().expect("test value").len(), 24);
    assert_eq!(
        hours["cells"][8][0], 342,
        "Monday 8:00–12:00: 1.365 over four hours, the rest first"
    );
    assert_eq!(hours["cells"][10][0], 341);
    assert_eq!(r["days"]["peak_day"], "2025-11-25");
    let peak = r["days"]["peak_calls"].as_i64().expect("test value");
    assert!((720..800).contains(&peak), "quasi 800: {peak}");
    assert_eq!(r["days"]["daily_average"], 320.5);
    // Chats: sections 5–7.
    assert_eq!(
        [&r["chats"]["app"], &r["chats"]["site"], &r["chats"]["total"]],
        [&json!(889), &json!(6357), &json!(7246)]
    );
    let buckets = r["chats"]["first_response"].as_array().expect("test value");
    assert_eq!(
        buckets
            .iter()
            .map(|b| b["count"].as_i64().expect("test value"))
            .collect::<Vec<_>>(),
        vec![5869, 1015, 362]
    );
    assert_eq!(pcts(&r["chats"]["first_response"]), vec![81.0, 14.0, 5.0]);
    assert_eq!(
        r["chats_by_band"]["row_percent"],
        json!([12.9, 6.0, 14.8, 20.2, 21.0, 25.1])
    );
    assert_eq!(
        r["chats_by_band"]["weekday_totals"],
        json!([1082, 1141, 979, 1005, 977, 1013, 1049])
    );
    assert_eq!(r["outgoing_calls"], 163);
    // The page draws it, in Italian, with its charts.
    let page = coord.get("/1522/report?from=2025-09-01&to=2025-11-30").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("36.470") && page.body.contains("<svg") && page.body.contains("06m 21s"));
    assert!(page.body.contains("16,5"));
    // CSV and ISTAT exports of the same report.
    let report = service::report(&admin.state, &caller, r_date("2025-09-01"), r_date("2025-11-30"), "csv")
        .await
        .expect("test value");
    use varco::helpline::export::{render, Format};
    let csv = String::from_utf8(render(&report, Format::Csv).expect("csv")).expect("utf-8");
    assert!(csv.contains("1_calls,total,count,36470\n"), "{}", &csv[..300]);
    assert!(csv.contains("4_calls_by_band,20:00 - 24:00,percent,16.5\n"));
    let istat = String::from_utf8(render(&report, Format::Istat).expect("istat")).expect("utf-8");
    assert!(istat.starts_with("table,key,value\n") && istat.contains("daily_chats,2025-11-30,"));
    // XLSX: a workbook (a zip: its file names are plain) with its sheets and chart.
    let xlsx = render(&report, Format::Xlsx).expect("xlsx");
    assert!(xlsx.starts_with(b"PK"));
    let has = |name: &[u8]| xlsx.windows(name.len()).any(|w| w == name);
    assert!(
        has(b"xl/worksheets/sheet7.xml") && has(b"xl/charts/chart1.xml"),
        "seven sheets and a chart"
    );
    // The PDF: its text read back.
    let pdf = render(&report, Format::Pdf).expect("pdf");
    let doc = lopdf::Document::load_mem(&pdf).expect("a PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text");
    for needle in [
        "36.470",
        "16.020",
        "1.654h 54m 56s",
        "06m 21s",
        "50 secondi",
        "7.246",
        "16,5",
        "5.869 (81,0%)",
    ] {
        assert!(text.contains(needle), "{needle} not in the PDF: {text}");
    }
    // Analysts only read aggregates: no contact record for them.
    let r = analyst
        .api(Method::POST, "/api/v1/1522/contacts", Some(json!({"channel": "phone"})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Every read of the report is audited with its period.
    let audit = admin.audit("action=helpline.report").await;
    assert!(
        audit
            .iter()
            .any(|e| e["detail"].as_str().unwrap_or("").contains("from=2025-09-01")),
        "{audit:?}"
    );
}
both!(the_report_gives_back_the_published_quarter);

fn r_date(s: &str) -> chrono::NaiveDate {
    s.parse().expect("test value")
}

async fn contact_records_feed_sections_9_to_13(b: Backend) {
    let (_admin, mut coord, mut analyst) = desk(b).await;
    at(&coord, 2025, 10, 1, 10, 0);
    for body in [
        json!({"channel": "phone", "who": "victim", "region": "Lombardia", "reason": "violence_help", "learned_from": "internet", "first_contact": true, "atr": "milan", "referrals": ["anti_violence_centre", "police"]}),
        json!({"channel": "chat_site", "who": "family", "region": "12", "reason": "service_info", "learned_from": "friends"}),
        json!({"channel": "phone", "reason": "hoax"}),
    ] {
        let r = coord.api(Method::POST, "/api/v1/1522/contacts", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = coord
        .api(
            Method::POST,
            "/api/v1/1522/contacts",
            Some(json!({"channel": "phone", "reason": "gossip"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["reason"]);
    let r = coord
        .api(
            Method::POST,
            "/api/v1/1522/contacts",
            Some(json!({"channel": "phone", "region": "Atlantide"})),
        )
        .await;
    assert_eq!(r.problem_fields(), vec!["region"]);
    let r = analyst
        .get("/api/v1/1522/report?from=2025-10-01&to=2025-10-31")
        .await
        .json();
    let k = &r["contacts"];
    assert_eq!(k["records"], 3);
    assert_eq!(k["victims"], 1);
    assert_eq!(k["phone_reasons"]["valid"], 1);
    assert_eq!(k["phone_reasons"]["invalid"], 1);
    assert_eq!(k["phone_reasons"]["valid_percent"], 50.0);
    assert_eq!(k["chat_reasons"]["valid"], 1);
    assert_eq!(k["referrals_total"], 2);
    assert_eq!(k["regions"][0]["label"], "Lombardia");
    assert_eq!(r["atr"][0]["atr"], "milan");
    assert_eq!(r["atr"][0]["referrals_total"], 2);
    let page = analyst.get("/1522/report?from=2025-10-01&to=2025-10-31").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Rete antiviolenza del Comune di Milano") && page.body.contains("Scherzo"));
    assert!(!page.body.contains(">milan<"), "the territory by name, never its id");
    let r = analyst.get("/api/v1/1522/report?from=2025-10-31&to=2025-10-01").await;
    assert_eq!(r.problem_fields(), vec!["to"]);
}
both!(contact_records_feed_sections_9_to_13);

async fn the_directory_seals_shelter_addresses_and_routing_lists_it(b: Backend) {
    let (mut admin, mut coord, _) = desk(b).await;
    let csv = "kind,name,region,province,municipality,phone,email,address\n\
               anti_violence_centre,Centro antiviolenza GIRAFFA,Puglia,BA,Bari,0805741461,,Via Napoli 308\n\
               shelter,Casa rifugio Bari,,BA,Bari,080000000,,VIA-SEGRETA-1522\n\
               shelter,Casa rifugio fuori regione,Lazio,BA,Bari,,,x\n\
               clinic,Ambulatorio,,BA,Bari,,,\n\
               police,Questura di Bari,,Bari,Bari,0805291111,,Via Murat 4\n";
    let (services, bad) = varco::helpline::directory::read_csv(csv.as_bytes()).expect("header");
    assert_eq!(bad.iter().map(|l| l.line).collect::<Vec<_>>(), vec![4, 5], "{bad:?}");
    let caller = varco::domain::Caller::cli(admin.state.now());
    let dir = varco::helpline::directory::add(&admin.state, &caller, services.clone()).await;
    assert_eq!(dir.expect("added"), 3);
    // Again: nothing new.
    assert_eq!(
        varco::helpline::directory::add(&admin.state, &caller, services)
            .await
            .expect("again"),
        0
    );
    let r = coord.get("/api/v1/1522/directory?place=Puglia").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("VIA-SEGRETA"), "no shelter address in a list");
    let list = r.json();
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    assert_eq!(coord.get("/api/v1/1522/directory?place=bari").await.json(), list);
    assert_eq!(
        coord.get("/api/v1/1522/directory?place=16").await.json(),
        list,
        "Puglia's ISTAT code"
    );
    assert_eq!(
        coord.get("/api/v1/1522/directory?place=072").await.json(),
        list,
        "Bari's ISTAT code"
    );
    let shelter = list
        .as_array()
        .and_then(|l| l.iter().find(|s| s["kind"] == "shelter"))
        .and_then(|s| s["id"].as_i64())
        .expect("shelter");
    // Sealed at rest.
    assert_eq!(admin.count_where("helpline_services", "address LIKE '%SEGRETA%'"), 0);
    // Routing lists the province's services (no shelter address there either).
    at(&coord, 2013, 1, 7, 10, 0);
    let d = decide(&mut coord, "province=BA").await;
    assert_eq!(d["mode"], "national_orientation");
    assert_eq!(d["centres"][0]["name"], "Centro antiviolenza GIRAFFA");
    assert!(!d.to_string().contains("SEGRETA"));
    // Lecce has none listed: the region's (Puglia) are given.
    let d = decide(&mut coord, "province=LE").await;
    assert_eq!(d["centres"].as_array().map(Vec::len), Some(3));
    // The reveal: a shift lead sees it, audited; an operator is refused, audited too.
    let r = coord
        .api(Method::POST, &format!("/api/v1/1522/directory/{shelter}/address"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["address"], "VIA-SEGRETA-1522");
    admin.user("operatrice").role("operator").create().await;
    let mut op = TestApp::sibling(&admin);
    assert_eq!(op.login("operatrice", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let r = op
        .api(Method::POST, &format!("/api/v1/1522/directory/{shelter}/address"), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let audit = admin.audit("action=helpline.directory_address").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    let denied = admin.audit("action=access.denied").await;
    assert!(
        denied.iter().any(|e| e["detail"]
            .as_str()
            .unwrap_or("")
            .contains("/api/v1/1522/directory/{id}/address")),
        "{denied:?}"
    );
}
both!(the_directory_seals_shelter_addresses_and_routing_lists_it);

async fn the_contact_form_records_a_scheda_with_its_referrals(b: Backend) {
    let (_admin, mut coord, mut analyst) = desk(b).await;
    let page = coord.get("/1522/contacts/new").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Richiesta di aiuto vittima di violenza") && page.body.contains("Lombardia"));
    assert!(!page.body.contains(">violence_help<"), "no raw codes shown");
    let r = coord
        .submit(
            "/1522/contacts/new",
            "/1522/contacts",
            &[
                ("channel", "phone"),
                ("who", "victim"),
                ("region", "03"),
                ("reason", "violence_help"),
                ("first_contact", "yes"),
                ("referrals", "anti_violence_centre"),
                ("referrals", "police"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = coord
        .submit(
            "/1522/contacts/new",
            "/1522/contacts",
            &[("channel", "fax"), ("who", "nobody")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("channel-error") && r.body.contains("who-error"),
        "both named at once"
    );
    let today = chrono_tz::Europe::Rome
        .from_utc_datetime(&varco::clock::Clock::now(&coord.clock).naive_utc())
        .date_naive();
    let report = analyst
        .get(&format!("/api/v1/1522/report?from={today}&to={today}"))
        .await
        .json();
    assert_eq!(report["contacts"]["records"], 1);
    assert_eq!(report["contacts"]["first_contacts"], 1);
    assert_eq!(report["contacts"]["referrals_total"], 2);
    assert_eq!(report["contacts"]["regions"][0]["label"], "Lombardia");
    // Analysts do not fill records.
    assert_eq!(analyst.get("/1522/contacts/new").await.status, StatusCode::FORBIDDEN);
}
both!(the_contact_form_records_a_scheda_with_its_referrals);

/// The report page in Chromium: the period chosen in the form, the published totals and the
/// charts drawn.
#[actix_web::test]
async fn chromium_shows_the_quarterly_report_with_its_charts() {
    let (admin, coord, _) = desk(Backend::Sqlite).await;
    let caller = varco::domain::Caller::cli(admin.state.now());
    let logs = sample::quarter(false);
    let (calls, _, _) = read_logs(&logs.master_csv, &logs.queue_log);
    service::import_calls(&admin.state, &caller, calls, 0)
        .await
        .expect("calls");
    let (chat_list, _) = chats::read(logs.chats_csv.as_bytes(), &mut |_| {}).expect("chats");
    service::import_chats(&admin.state, &caller, chat_list, 0)
        .await
        .expect("chats");
    let Some(browser) = crate::browser::start("the 1522 report").await else {
        return;
    };
    browser.login(&coord, "caposala").await;
    browser
        .client
        .goto(&coord.url("/1522/report"))
        .await
        .expect("report page");
    browser.wait_text("h1", "Relazione del 1522").await;
    browser
        .client
        .execute(
            "document.getElementById('from').value = '2025-09-01'; document.getElementById('to').value = '2025-11-30'; return 0;",
            vec![],
        )
        .await
        .expect("set the period");
    browser.click("#period button[type=submit]").await;
    browser.wait_text("#calls-total", "36.470").await;
    assert_eq!(browser.text("#talk-average").await, "06m 21s");
    assert_eq!(browser.text("#chats-total").await, "7.246");
    let charts = browser
        .number("return document.querySelectorAll('svg.chart').length;")
        .await;
    assert!(charts >= 8.0, "charts drawn: {charts}");
    let cells = browser
        .number("return document.querySelectorAll('svg.heat rect').length;")
        .await;
    assert_eq!(cells, 2.0 * 24.0 * 7.0, "two weekday × hour heat maps");
    browser.assert_fits("the report").await;
    browser.screenshot("helpline-report").await;
    browser.close().await;
}

/// The commands: the switchboard and chat imports from files (bad lines by number, a re-import
/// adding nothing), the directory, and the report written in every format.
async fn the_1522_commands_import_and_write_the_report(b: Backend) {
    use crate::cli::varco;
    let (admin, _, _) = desk(b).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let line = |uid: &str, ctx: &str, t: &str| {
        format!("\"\",\"333\",\"1522\",\"{ctx}\",\"\",\"SIP/x\",\"\",\"Queue\",\"\",\"{t}\",\"\",\"{t}\",10,0,\"NO ANSWER\",\"DOCUMENTATION\",\"{uid}\",\"\"\n")
    };
    let cdr = line("c.1", "ivr", "2025-10-01 10:00:00") + "broken\n" + &line("c.2", "blacklist", "2025-10-01 11:00:00");
    std::fs::write(path("Master.csv"), cdr).expect("write");
    std::fs::write(
        path("queue_log"),
        "1759312900|c.1|q|op|CONNECT|40|x|1\n1759312800|c.1|q|NONE|ENTERQUEUE||x|1\n1759313300|c.1|q|op|COMPLETECALLER|40|400|1\n",
    )
    .expect("write");
    let args = [
        "import",
        "switchboard",
        "--cdr",
        &path("Master.csv"),
        "--queue-log",
        &path("queue_log"),
    ];
    let o = varco(&admin, &args, None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("2 calls read, 2 added"), "{}", o.stdout);
    assert!(o.stderr.contains("cdr line 2:"), "{}", o.stderr);
    let o = varco(&admin, &args, None);
    assert!(
        o.stdout.contains("2 calls read, 0 added (2 already stored)"),
        "{}",
        o.stdout
    );
    std::fs::write(
        path("chats.csv"),
        "started_at,channel,first_response_seconds\n2025-10-01T12:00:00+02:00,site,30\n",
    )
    .expect("write");
    let o = varco(&admin, &["import", "chats", &path("chats.csv")], None);
    assert!(o.stdout.contains("1 chats read, 1 added"), "{} {}", o.stdout, o.stderr);
    // LiveHelperChat's XLSX export: the start a date cell, the wait a time cell.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["ID", "Department", "Time", "Wait time"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    sheet.write_number(1, 0, 7.0).expect("id");
    sheet.write_string(1, 1, "1522 App").expect("department");
    let at = rust_xlsxwriter::ExcelDateTime::parse_from_str("2025-10-02T10:00:00").expect("time");
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    sheet.write_datetime_with_format(1, 2, &at, &date).expect("time");
    sheet.write_number(1, 3, 12.0).expect("wait");
    book.save(path("chats.xlsx")).expect("xlsx");
    let o = varco(&admin, &["import", "chats", &path("chats.xlsx")], None);
    assert!(o.stdout.contains("1 chats read, 1 added"), "{} {}", o.stdout, o.stderr);
    std::fs::write(
        path("dir.csv"),
        "kind,name,region,province,municipality,phone,email,address\nshelter,Casa,,BA,Bari,,,SEGRETO\n",
    )
    .expect("write");
    let o = varco(&admin, &["import", "directory", &path("dir.csv")], None);
    assert!(
        o.stdout.contains("1 services read, 1 added"),
        "{} {}",
        o.stdout,
        o.stderr
    );
    for format in ["json", "csv", "xlsx", "pdf", "istat"] {
        let out = path(&format!("report.{format}"));
        let o = varco(
            &admin,
            &[
                "report",
                "1522",
                "--from",
                "2025-10-01",
                "--to",
                "2025-10-31",
                "--format",
                format,
                "--out",
                &out,
            ],
            None,
        );
        assert_eq!(o.code, 0, "{format}: {}", o.stderr);
        assert!(std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) > 100, "{format}");
    }
    let json: Value = serde_json::from_slice(&std::fs::read(path("report.json")).expect("read")).expect("json");
    assert_eq!(json["calls"]["total"], 2);
    assert_eq!(json["times"]["talk_total_secs"], 400);
    assert_eq!(json["chats"]["total"], 2, "the CSV's and the workbook's");
    let o = varco(
        &admin,
        &[
            "report",
            "1522",
            "--from",
            "2025-10-01",
            "--to",
            "2025-10-31",
            "--format",
            "doc",
            "--out",
            &path("x"),
        ],
        None,
    );
    assert_eq!(o.code, 2);
    // Each import and report is audited as the command line.
    // (Read from the database: the blocking commands above can outlast the client's idle
    // connection under load.)
    assert_eq!(
        admin.count_where(
            "audit_log",
            "action = 'helpline.import_switchboard' AND actor_kind = 'system'"
        ),
        2
    );
    assert_eq!(admin.count_where("audit_log", "action = 'helpline.report'"), 5);
}
both!(the_1522_commands_import_and_write_the_report);
