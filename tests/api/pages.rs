//! The pages as people use them: Italian words and no codes, all errors in one round, required
//! fields marked, empty tables that say so, the referrer's portal, the hotline form.

use awc::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::helpers::{TestApp, PASSWORD};
use crate::referrals::{cas_report, file, unit, Unit};

/// A referrer of the unit's CAS, logged in.
async fn cas_referrer(u: &mut Unit) -> TestApp {
    u.admin
        .user("cas.giorno")
        .role("referrer")
        .org(u.cas)
        .email("giorno@cas.example.org")
        .create()
        .await;
    let mut r = TestApp::sibling(&u.admin);
    assert_eq!(r.login("cas.giorno", PASSWORD).await.status, StatusCode::SEE_OTHER);
    r
}

/// An ISO instant (`2026-11-25T03:10`) shown as text is a code, not a date for people (the value
/// of a `datetime-local` input and a `<time datetime>` are ISO by HTML's rule, and do not count).
fn has_iso_instant(body: &str) -> bool {
    let b = body.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    (0..b.len().saturating_sub(16)).any(|i| {
        (0..4).all(|k| digit(i + k))
            && b[i + 4] == b'-'
            && b[i + 7] == b'-'
            && b[i + 10] == b'T'
            && b[i + 13] == b':'
            && !body[..i].ends_with("value=\"")
            && !body[..i].ends_with("datetime=\"")
    })
}

async fn the_portal_tells_reports_apart_repeats_what_was_sent_and_says_what_happens_next(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    let mut cas = cas_referrer(&mut u).await;
    let body = json!({"urgency": "emergency",
                      "person": {"alias": "Joy", "gender": "female", "age_band": "14-17", "hosted_org_id": u.cas,
                                 "languages": ["en"]},
                      "emergence_province": "VE", "exploitation_types": ["sexual"], "indicators": ["debt_bondage"]});
    let sent = file(&mut cas, body).await;
    let (id, reference) = (
        sent["id"].as_i64().expect("id"),
        sent["reference"].as_str().expect("ref").to_owned(),
    );
    let list = cas.get("/portal").await;
    assert_eq!(list.status, StatusCode::OK);
    for expected in [
        reference.as_str(),
        "25/11/2026 03:00",
        "Operatore CAS",
        "Donna",
        "14–17",
        "Emergenza",
        "Nuova",
    ] {
        assert!(
            list.body.contains(expected),
            "the list shows {expected:?}: {}",
            list.body
        );
    }
    let page = cas.get(&format!("/portal/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    // What happens next, and the number to call.
    assert!(page.body.contains("id=\"next-steps\""), "{}", page.body);
    assert!(page.body.contains("800 290 290"));
    assert!(page.body.contains("25/11/2026 03:"), "the deadline, in Rome time");
    // What was sent, without the sealed fields.
    for expected in ["Che cosa hai inviato", "Venezia", "Sessuale", "Minore"] {
        assert!(page.body.contains(expected), "{expected:?}: {}", page.body);
    }
    assert!(!page.body.contains("Joy"), "the alias is not shown again");
    assert!(!has_iso_instant(&page.body));
    // Once the unit acknowledges, the emergency notice goes.
    let v = crate::referrals::case(&mut u.op, id).await["version"]
        .as_i64()
        .expect("version");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/acknowledge"),
            Some(json!({"version": v})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!cas
        .get(&format!("/portal/{id}"))
        .await
        .body
        .contains("id=\"next-steps\""));
    // An ordinary report gets no emergency notice.
    let ordinary = file(
        &mut cas,
        json!({"urgency": "ordinary", "person": {"gender": "male", "hosted_org_id": u.cas}}),
    )
    .await;
    let page = cas.get(&format!("/portal/{}", ordinary["id"])).await;
    assert!(!page.body.contains("id=\"next-steps\""));
}
both!(the_portal_tells_reports_apart_repeats_what_was_sent_and_says_what_happens_next);

async fn the_agreed_words_are_used(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    let case = file(&mut u.op, cas_report(u.cas)).await;
    let id = case["id"].as_i64().expect("id");
    let detail = u.op.get(&format!("/referrals/{id}")).await.body;
    for word in ["Cronologia", "Ricevuta il", "Riscontro scritto", "Duplicato di"] {
        assert!(detail.contains(word), "case file: {word:?}");
    }
    assert!(!detail.contains("CAS CAS"), "no doubled CAS");
    assert!(!detail.contains("Restituzione") && !detail.contains("Storia"));
    let form = u.op.get("/referrals/new").await.body;
    assert!(form.contains("Struttura di accoglienza (CAS/SAI)"));
    let roster = u.coord.get("/roster").await.body;
    assert!(roster.contains("Turni scoperti"), "{roster}");
    assert!(!roster.contains("Buchi"));
    let audit = u.admin.get("/admin/audit").await.body;
    assert!(audit.contains("Registro delle attività"));
    let orgs = u.admin.get("/admin/organisations").await.body;
    assert!(orgs.contains(">Attiva<"), "organisations are «Attiva»: {orgs}");
    // A draft in the queue: «Email importate da verificare».
    let eml = std::fs::read(format!(
        "{}/tests/fixtures/eml/html_only.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let r =
        u.op.send(
            Method::POST,
            "/api/v1/referrals/drafts",
            &[("x-csrf-token", u.op.csrf.clone().unwrap_or_default())],
            Some(("message/rfc822", eml)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let queue = u.op.get("/referrals").await.body;
    assert!(queue.contains("Email importate da verificare"), "{queue}");
}
both!(the_agreed_words_are_used);

async fn pages_speak_italian_with_labels_and_dates_not_codes(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    let case = file(&mut u.op, cas_report(u.cas)).await;
    let id = case["id"].as_i64().expect("id");
    let detail = u.op.get(&format!("/referrals/{id}")).await.body;
    // Languages by name, province by name, dates dd/mm/yyyy.
    assert!(detail.contains("Inglese, Pidgin nigeriano"), "{detail}");
    assert!(
        detail.contains("operatrice.notte (Inglese, Italiano)"),
        "the operator's languages in words: {detail}"
    );
    assert!(detail.contains("Venezia"));
    assert!(detail.contains("25/11/2026 03:00"));
    assert!(!has_iso_instant(&detail), "no ISO instant on the case file");
    // The activity log: actions, entities and details in Italian.
    let audit = u.admin.get("/admin/audit").await.body;
    assert!(audit.contains("Lettura di una segnalazione"), "{audit}");
    assert!(audit.contains("Segnalazione #"));
    assert!(
        !audit.contains("referral.read") && !audit.contains("<code>"),
        "no action codes"
    );
    assert!(!has_iso_instant(&audit));
    // Tokens: the last use as a date.
    let r = u
        .admin
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"org_id": u.cas, "role": "referrer", "label": "gestionale CAS"})),
        )
        .await;
    let secret = r.json()["secret"].as_str().expect("secret").to_owned();
    u.admin.bearer(&secret, Method::GET, "/api/v1/me", None).await;
    let tokens = u.admin.get("/admin/tokens").await.body;
    assert!(!has_iso_instant(&tokens), "{tokens}");
    assert!(tokens.contains("25/11/2026"));
    // The hotline log: province and project by name.
    let r = u
        .op
        .api(
            Method::POST,
            "/api/v1/hotline/calls",
            Some(json!({"duration_secs": 330, "language": "ro", "caller_kind": "private_citizen", "province": "PD", "outcome": "diverted"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let hotline = u.op.get("/hotline").await.body;
    assert!(hotline.contains("Padova (PD)"), "{hotline}");
    assert!(hotline.contains("5′ 30″"));
    assert!(!hotline.contains(">028<") && !hotline.contains("· nave"), "no codes");
    // The intake form offers languages by name.
    let form = u.op.get("/referrals/new").await.body;
    assert!(
        form.contains("<option value=\"pcm\">Pidgin nigeriano</option>"),
        "{form}"
    );
    assert!(!form.contains("ISO 639"));
    // A validation message in Italian, with its number.
    let r = u
        .admin
        .submit(
            "/admin/users/new",
            "/admin/users",
            &[
                ("username", "x"),
                ("display_name", ""),
                ("role", "operator"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("deve avere"), "{}", r.body);
    assert!(!r.body.contains("must be"), "{}", r.body);
}
both!(pages_speak_italian_with_labels_and_dates_not_codes);

async fn a_form_shows_all_its_errors_in_one_round(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    let cas = u.cas.to_string();
    // A format error (age) and a rule error (the CAS source needs the hosting CAS) together.
    let r =
        u.op.submit(
            "/referrals/new",
            "/referrals",
            &[
                ("channel", "hotline"),
                ("source_kind", "cas_operator"),
                ("referring_org_id", &cas),
                ("urgency", "ordinary"),
                ("gender", "female"),
                ("age", "diciannove"),
                ("alias", "Blessing"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"age-error\""), "format error: {}", r.body);
    assert!(
        r.body.contains("id=\"hosted_org_id-error\""),
        "rule error in the same round: {}",
        r.body
    );
    assert!(r.body.contains("value=\"Blessing\""), "input kept");
    // The hotline form: a bad number and a future start, both at once.
    let r =
        u.op.submit(
            "/hotline",
            "/hotline",
            &[
                ("started_at", "2026-11-25T09:00"),
                ("duration_min", "tre"),
                ("outcome", "information"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"duration_min-error\""), "{}", r.body);
    assert!(r.body.contains("id=\"started_at-error\""), "{}", r.body);
    assert!(r.body.contains("non può essere nel futuro"));
}
both!(a_form_shows_all_its_errors_in_one_round);

async fn the_hotline_form_starts_now_and_takes_minutes_and_seconds(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    let page = u.op.get("/hotline").await.body;
    // 03:00 in Rome: the form starts at now.
    assert!(
        page.contains("name=\"started_at\" type=\"datetime-local\" value=\"2026-11-25T03:00\""),
        "{page}"
    );
    assert!(page.contains("id=\"duration_min\"") && page.contains("id=\"duration_sec\""));
    assert!(page.contains("id=\"calls-empty\""), "an empty log says so");
    for (fields, field) in [
        (vec![("duration_min", "-2")], "duration_min"),
        (vec![("duration_sec", "75")], "duration_sec"),
        (vec![("started_at", "2026-11-26T03:00")], "started_at"),
    ] {
        let mut all = vec![("outcome", "information")];
        all.extend(fields);
        let r = u.op.submit("/hotline", "/hotline", &all).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(r.body.contains(&format!("id=\"{field}-error\"")), "{field}: {}", r.body);
    }
    assert_eq!(u.op.count("hotline_calls"), 0, "nothing half-written");
    let r =
        u.op.submit(
            "/hotline",
            "/hotline",
            &[
                ("started_at", "2026-11-25T02:50"),
                ("duration_min", "4"),
                ("duration_sec", "5"),
                ("outcome", "information"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let calls = u.op.get("/api/v1/hotline/calls").await.json();
    assert_eq!(calls[0]["duration_secs"], 245, "{calls}");
    // The API refuses the same mistakes.
    let r =
        u.op.api(
            Method::POST,
            "/api/v1/hotline/calls",
            Some(json!({"duration_secs": -1, "outcome": "information"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.problem_fields().contains(&"duration_secs".to_owned()));
}
both!(the_hotline_form_starts_now_and_takes_minutes_and_seconds);

async fn forms_mark_required_fields_group_checkboxes_and_offer_a_skip_link(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    for page in ["/referrals/new", "/hotline"] {
        let body = u.op.get(page).await.body;
        assert!(body.contains("class=\"skip\" href=\"#main\""), "{page}: skip link");
        assert!(body.contains("required-note"), "{page}: the mark is explained");
        // Every required control says so to assistive technology, and is marked.
        let required = body.matches(" required>").count() + body.matches(" required ").count();
        assert!(required > 0, "{page}");
        assert_eq!(
            body.matches("aria-required=\"true\"").count(),
            required,
            "{page}: {body}"
        );
        assert!(
            body.matches("class=\"req\"").count() > required,
            "{page}: marks beside labels"
        );
    }
    let form = u.op.get("/referrals/new").await.body;
    assert!(
        form.contains("<fieldset class=\"field group\"><legend>Tipologia di sfruttamento"),
        "{form}"
    );
    assert!(!form.contains("<span class=\"label\">"));
}
both!(forms_mark_required_fields_group_checkboxes_and_offer_a_skip_link);

async fn empty_tables_empty_imports_and_missing_pages_say_so(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    // A week with no shifts.
    let roster = u.coord.get("/roster?from=2027-03-01").await.body;
    assert!(roster.contains("id=\"shifts-empty\""), "{roster}");
    let audit = u.admin.get("/admin/audit?action=nothing.like.this").await.body;
    assert!(audit.contains("id=\"audit-empty\""));
    // An import sent without a file.
    let csrf = u.op.get("/referrals/import").await.csrf_field();
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
    );
    let r =
        u.op.send(
            Method::POST,
            "/referrals/import",
            &[],
            Some((&format!("multipart/form-data; boundary={boundary}"), body.into_bytes())),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Nessun file scelto"), "{}", r.body);
    // A file that is not an email: why it was skipped, in Italian.
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"vuoto.eml\"\r\nContent-Type: message/rfc822\r\n\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"lista.eml\"\r\nContent-Type: message/rfc822\r\n\r\nsolo testo, nessuna intestazione\r\n--{boundary}--\r\n"
    );
    let r =
        u.op.send(
            Method::POST,
            "/referrals/import",
            &[],
            Some((&format!("multipart/form-data; boundary={boundary}"), body.into_bytes())),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("vuoto.eml: <span class=\"error\">saltato: il file è vuoto"),
        "{}",
        r.body
    );
    assert!(r.body.contains("il file non è un messaggio email"), "{}", r.body);
    assert!(!r.body.contains("the file"), "{}", r.body);
    // A page that does not exist keeps the navigation.
    let r = u.op.get("/referrals/nowhere/at/all").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("<nav"), "{}", r.body);
    assert!(r.body.contains("href=\"/referrals\""));
}
both!(empty_tables_empty_imports_and_missing_pages_say_so);

async fn a_draft_under_review_shows_the_email_beside_the_fields(b: super::helpers::Backend) {
    let mut u = unit(b).await;
    let eml = std::fs::read(format!(
        "{}/tests/fixtures/eml/html_only.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let r =
        u.op.send(
            Method::POST,
            "/api/v1/referrals/drafts",
            &[("x-csrf-token", u.op.csrf.clone().unwrap_or_default())],
            Some(("message/rfc822", eml)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    let page = u.op.get(&format!("/referrals/{id}")).await.body;
    assert!(page.contains("id=\"original-email\""), "{page}");
    let aside = &page[page.find("id=\"original-email\"").expect("aside")..];
    assert!(aside.contains("Mittente"));
    // The email stays beside the form when a confirmation comes back with errors.
    let v = crate::referrals::case(&mut u.op, id).await["version"]
        .as_i64()
        .expect("version");
    let r =
        u.op.submit(
            &format!("/referrals/{id}"),
            &format!("/referrals/{id}/confirm"),
            &[("version", &v.to_string()), ("source_kind", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"original-email\""));
}
both!(a_draft_under_review_shows_the_email_beside_the_fields);
