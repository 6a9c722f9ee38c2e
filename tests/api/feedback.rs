//! Written feedback (riscontro scritto): drafted per recipient of the source's procedure, edited,
//! approved by a coordinator into a PDF kept with its SHA-256, sent by email to an SMTP sink with
//! the PDF attached, PEC receipts matched back to the letter (never a referral draft), and read
//! by its recipient only, in the portal and through the API.

use awc::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use varco::casework::lifecycle::CaseAction;
use varco::domain::{CaseId, ReferralId};
use varco::notify::{dispatch_due, Transport};
use varco::referrals::store::Actor;

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::notify::SmtpSink;
use crate::referrals::{cas_report, commission, consent, file, unit_with, Unit};

/// The unit, mailing through an SMTP sink started by the test.
async fn unit_mailing(b: Backend) -> (Unit, SmtpSink) {
    let sink = SmtpSink::start();
    let port = sink.port;
    let u = unit_with(b, |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.mail_from = "Unità di crisi <unita.crisi@pec.comune.example>".into();
        s.unit_name = "Progetto N.A.Ve – Comune di Venezia".into();
    })
    .await;
    (u, sink)
}

/// Takes a referral in charge; the case it opened.
async fn take_charge(app: &mut TestApp, id: i64) -> CaseId {
    let v = app.get(&format!("/api/v1/referrals/{id}")).await.json()["version"].clone();
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/take-charge"),
            Some(json!({"version": v})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.state
        .db
        .read(move |c| varco::casework::store::case_of_referral(c, ReferralId(id)))
        .await
        .expect("read")
        .expect("a case")
}

/// Moves the case to `outcome_decided` directly through the store (stand-in until the case API
/// of interviews and outcomes is there).
async fn decide_outcome(app: &TestApp, case: CaseId) {
    app.state
        .db
        .write(move |c| {
            let actor = Actor {
                user_id: None,
                token_id: None,
                label: "test".into(),
            };
            let now = chrono::Utc::now().naive_utc();
            for action in [
                CaseAction::PlanInterview,
                CaseAction::HoldInterview,
                CaseAction::DecideOutcome,
            ] {
                let current = varco::casework::store::get(c, case)?;
                varco::casework::store::apply(c, &current, current.version, action, &actor, now)?;
            }
            Ok(())
        })
        .await
        .expect("lifecycle");
}

async fn case_status(app: &TestApp, case: CaseId) -> String {
    app.state
        .db
        .read(move |c| varco::casework::store::get(c, case))
        .await
        .expect("case")
        .status
        .as_str()
        .to_owned()
}

/// A GET whose body is kept as bytes (a PDF).
pub async fn get_bytes(app: &TestApp, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = app.client.get(app.url(path));
    if !app.jar.is_empty() {
        let cookie = app
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        req = req.insert_header((header::COOKIE, cookie));
    }
    let mut res = req.send().await.expect("request");
    let body = res.body().limit(16 * 1024 * 1024).await.expect("body").to_vec();
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (res.status(), ct, body)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The text of a PDF, read back with lopdf.
pub fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("text")
}

/// The stored PDF column (sealed) and hash of a letter, straight from the database.
fn stored_pdf(app: &TestApp, letter: i64) -> (Vec<u8>, String) {
    use diesel::prelude::*;
    use varco::db::schema::feedback_letters as f;
    let mut conn = app.state.db.conn().expect("conn");
    let (pdf, sha): (Option<Vec<u8>>, Option<String>) = f::table
        .find(letter)
        .select((f::pdf, f::pdf_sha256))
        .first(&mut *conn)
        .expect("letter");
    (pdf.expect("a PDF"), sha.expect("a hash"))
}

pub(crate) fn message_id_of(app: &TestApp, letter: i64) -> String {
    use diesel::prelude::*;
    use varco::db::schema::feedback_letters as f;
    let mut conn = app.state.db.conn().expect("conn");
    f::table
        .find(letter)
        .select(f::message_id)
        .first::<Option<String>>(&mut *conn)
        .expect("letter")
        .expect("a message id")
}

/// A PEC receipt as providers send it (`X-Ricevuta`, `daticert.xml` quoting the original's
/// Message-ID); a delivery receipt carries the original as `postacert.eml`.
pub fn pec_receipt(kind: &str, original_message_id: &str) -> Vec<u8> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<postacert tipo=\"{kind}\" errore=\"nessuno\"><intestazione>\
         <mittente>unita.crisi@pec.comune.example</mittente><oggetto>Riscontro scritto</oggetto></intestazione>\
         <dati><gestore-emittente>GESTORE PEC</gestore-emittente><data zona=\"+0100\"><giorno>25/11/2026</giorno>\
         <ora>03:10:00</ora></data><identificativo>opec.{kind}@pec.gestore.example</identificativo>\
         <msgid>&lt;{original_message_id}&gt;</msgid></dati></postacert>"
    );
    let original = if kind == "avvenuta-consegna" {
        format!(
            "--b1\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\n\
             Content-Disposition: attachment; filename=\"postacert.eml\"\r\n\r\n\
             From: unita.crisi@pec.comune.example\r\nTo: ct.verona@example.org\r\n\
             Subject: Riscontro scritto\r\nMessage-ID: <{original_message_id}>\r\n\r\n\
             Con riferimento alla segnalazione, l'Unità comunica quanto segue.\r\n"
        )
    } else {
        String::new()
    };
    let subject = match kind {
        "accettazione" => "ACCETTAZIONE",
        "avvenuta-consegna" => "CONSEGNA",
        _ => "AVVISO DI MANCATA CONSEGNA",
    };
    format!(
        "Return-Path: <posta-certificata@pec.gestore.example>\r\nX-Ricevuta: {kind}\r\n\
         X-Riferimento-Message-ID: <{original_message_id}>\r\nDate: Wed, 25 Nov 2026 03:10:01 +0100\r\n\
         Subject: {subject}: Riscontro scritto\r\nFrom: posta-certificata@pec.gestore.example\r\n\
         To: unita.crisi@pec.comune.example\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nRicevuta del gestore\r\n\
         --b1\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\n\
         Content-Disposition: attachment; filename=\"daticert.xml\"\r\n\r\n{xml}\r\n{original}--b1--\r\n"
    )
    .into_bytes()
}

async fn post_eml(app: &mut TestApp, bytes: Vec<u8>) -> crate::helpers::Reply {
    let csrf = app.csrf.clone().unwrap_or_default();
    app.send(
        Method::POST,
        "/api/v1/referrals/drafts",
        &[("x-csrf-token", csrf), ("x-file-name", "ricevuta.eml".into())],
        Some(("message/rfc822", bytes)),
    )
    .await
}

async fn logged_in(u: &mut Unit, username: &str, role: &str, org: Option<i64>) -> TestApp {
    let mut b = u.admin.user(username).role(role);
    if let Some(o) = org {
        b = b.org(o);
    }
    b.create().await;
    let mut app = TestApp::sibling(&u.admin);
    assert_eq!(app.login(username, PASSWORD).await.status, StatusCode::SEE_OTHER);
    app
}

/// The PDF attached to a message received by the sink.
fn attached_pdf(raw: &str) -> Vec<u8> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message");
    let part = msg
        .attachments()
        .find(|p| {
            use mail_parser::MimeHeaders;
            p.content_type()
                .is_some_and(|c| c.ctype() == "application" && c.subtype() == Some("pdf"))
        })
        .expect("a PDF attached");
    part.contents().to_vec()
}

fn long_body() -> String {
    let mut body = String::from("Gentili colleghe e colleghi,\n\nPerché è già così: città, più, però — € ù ò é à.\n\n");
    for i in 1..=40 {
        body.push_str(&format!(
            "{i}. Si relaziona l'esito dei colloqui svolti con la persona, alla presenza della mediatrice, \
             e si resta a disposizione per ogni chiarimento.\n"
        ));
    }
    body
}

async fn a_cas_referral_gets_written_feedback_by_pec_with_receipts(b: Backend) {
    let (mut u, sink) = unit_mailing(b).await;
    let rid = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let case = take_charge(&mut u.op, rid).await;
    let base = format!("/api/v1/cases/{}/feedback", case.get());

    // Drafts: the CAS (referrer and hosting CAS: one letter) and the commission named.
    let r =
        u.op.api(Method::POST, &base, Some(json!({"commission_org_id": u.ct_verona})))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let drafts = r.json();
    let drafts = drafts.as_array().expect("a list");
    assert_eq!(drafts.len(), 2, "{drafts:?}");
    let roles: Vec<&str> = drafts.iter().filter_map(|d| d["recipient_role"].as_str()).collect();
    assert_eq!(roles, ["referrer", "commission"]);
    let reference = case_reference(&mut u.op, rid).await;
    for d in drafts {
        let text = d["body"].as_str().expect("body");
        assert!(text.contains(&reference) && text.contains("colloqui"), "{text}");
        assert!(
            !text.contains("Blessing") && !text.contains("Nigeria"),
            "no personal data: {text}"
        );
        assert_eq!(d["status"], "draft");
    }
    // Again: every recipient has its letter in progress.
    let again = u.op.api(Method::POST, &base, Some(json!({}))).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    // A commission that is not one.
    let bad =
        u.op.api(Method::POST, &base, Some(json!({"commission_org_id": u.cas})))
            .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);

    let to_ct = drafts[1]["id"].as_i64().expect("id");
    let to_cas = drafts[0]["id"].as_i64().expect("id");
    let letter = format!("{base}/{to_ct}");

    // The operator edits (If-Match), and may not approve; the coordinator approves.
    let r =
        u.op.send(
            Method::PUT,
            &letter,
            &[
                ("x-csrf-token", u.op.csrf.clone().unwrap_or_default()),
                ("if-match", "\"1\"".into()),
            ],
            Some((
                "application/json",
                json!({"body": long_body()}).to_string().into_bytes(),
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    let stale =
        u.op.api(Method::PUT, &letter, Some(json!({"version": 1, "body": "vecchio"})))
            .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let refused =
        u.op.api(Method::POST, &format!("{letter}/approve"), Some(json!({"version": 2})))
            .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // No PDF of a draft.
    assert_eq!(
        get_bytes(&u.op, &format!("{letter}/pdf")).await.0,
        StatusCode::NOT_FOUND
    );
    let r = u
        .coord
        .api(Method::POST, &format!("{letter}/approve"), Some(json!({"version": 2})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let approved = r.json();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approved_by"], "coordinatrice");
    let hash = approved["pdf_sha256"].as_str().expect("a hash").to_owned();
    assert_eq!(hash.len(), 64);
    assert_eq!(approved["pdf_pages"], 3);

    // Approved: the text no longer changes (409 naming the state and the action).
    let r =
        u.op.api(Method::PUT, &letter, Some(json!({"version": 3, "body": "altro"})))
            .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(
        (r.json()["state"].clone(), r.json()["action"].clone()),
        (json!("approved"), json!("edit"))
    );

    // The PDF: its text (accents, letterhead, reference, date, pages) and its hash.
    let (status, ct, pdf) = get_bytes(&u.op, &format!("{letter}/pdf")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/pdf"));
    assert_eq!(sha256_hex(&pdf), hash);
    assert!(pdf.len() < 100_000, "the font is subset: {} bytes", pdf.len());
    let text = pdf_text(&pdf);
    for expected in [
        "Perché è già così: città, più, però — € ù ò é à.",
        "Progetto N.A.Ve – Comune di Venezia",
        "Unità di crisi e di valutazione",
        approved["reference"].as_str().expect("reference"),
        &reference,
        "Data: 25/11/2026",
        "Commissione Territoriale di Verona",
        "pagina 1 di 3",
        "pagina 3 di 3",
    ] {
        assert!(text.contains(expected), "{expected:?} not in the PDF text:\n{text}");
    }
    let (sealed_before, hash_before) = stored_pdf(&u.admin, to_ct);

    // Sending needs a decided outcome: 409 naming the case's state and the action.
    let r =
        u.op.api(Method::POST, &format!("{letter}/send"), Some(json!({"version": 3})))
            .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.json()["state"], "taken_in_charge");
    assert_eq!(r.json()["action"], "send_feedback");
    decide_outcome(&u.admin, case).await;
    let r =
        u.op.api(Method::POST, &format!("{letter}/send"), Some(json!({"version": 3})))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "sent");
    assert_eq!(r.json()["delivery"], "queued");
    assert_eq!(r.json()["sent_to"], "ct.verona@example.org");
    assert_eq!(case_status(&u.admin, case).await, "feedback_sent");

    // The SMTP sink receives it with the PDF attached, under the letter's Message-ID.
    let transport = Transport::from_settings(&u.admin.settings).expect("transport");
    dispatch_due(&u.admin.state.db, &transport, &u.admin.settings, &u.admin.state.clock)
        .await
        .expect("dispatch");
    let got = sink.messages();
    let mail = got
        .iter()
        .find(|m| m.recipients == ["ct.verona@example.org"])
        .expect("the letter at the SMTP server");
    assert_eq!(sha256_hex(&attached_pdf(&mail.data)), hash, "the very PDF approved");
    let mid = message_id_of(&u.admin, to_ct);
    assert!(mail.data.contains(&format!("Message-ID: <{mid}>")), "{}", mail.data);
    assert!(mid.ends_with("@pec.comune.example"), "{mid}");
    let r = u.op.get(&letter).await;
    assert_eq!(r.json()["delivery"], "sent");
    // The attachment does not stay in the outbox once sent.
    assert_eq!(u.admin.count_where("outbox", "attachment IS NOT NULL"), 0);

    // PEC receipts: matched by Message-ID, never a referral draft (the delivery receipt carries
    // the original message as postacert.eml).
    let referrals_before = u.admin.count("referrals");
    let r = post_eml(&mut u.op, pec_receipt("accettazione", &mid)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["delivery"], "accepted");
    let r = post_eml(&mut u.op, pec_receipt("avvenuta-consegna", &mid)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["delivery"], "delivered");
    assert_eq!(r.json()["receipt"], "avvenuta-consegna");
    // A receipt about no letter of Varco's is skipped, and is no draft either.
    let r = post_eml(&mut u.op, pec_receipt("avvenuta-consegna", "altro@pec.example")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(u.admin.count("referrals"), referrals_before, "no draft from a receipt");
    let r = u.op.get(&letter).await.json();
    assert_eq!(r["delivery"], "delivered");
    assert!(r["accepted_at"].is_string() && r["delivered_at"].is_string(), "{r}");
    assert_eq!(
        u.admin.count_where(
            "case_events",
            &format!("case_id = {} AND kind = 'feedback_receipt'", case.get())
        ),
        2
    );

    // Written once: the stored PDF and its hash never changed.
    assert_eq!(stored_pdf(&u.admin, to_ct), (sealed_before, hash_before));
    assert_eq!(sha256_hex(&get_bytes(&u.op, &format!("{letter}/pdf")).await.2), hash);

    // The CAS's letter too (the case is already in feedback_sent); then the portal.
    let cas_letter = format!("{base}/{to_cas}");
    let r = u
        .coord
        .api(
            Method::POST,
            &format!("{cas_letter}/approve"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cas_hash = r.json()["pdf_sha256"].as_str().expect("hash").to_owned();
    let r =
        u.op.api(Method::POST, &format!("{cas_letter}/send"), Some(json!({"version": 2})))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The commission reads its letter (the CAS's referral itself stays hidden from it).
    let org = u.ct_verona;
    let mut ct = commission(&mut u, "ct.riscontri", org).await;
    let (status, _, bytes) = get_bytes(&ct, &format!("/portal/feedback/{to_ct}/pdf")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha256_hex(&bytes), hash);
    assert_eq!(get_bytes(&ct, &format!("{letter}/pdf")).await.0, StatusCode::OK);
    assert_eq!(
        get_bytes(&ct, &format!("/portal/feedback/{to_cas}/pdf")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ct.get(&format!("/portal/{rid}")).await.status, StatusCode::NOT_FOUND);
    // The CAS's referrer sees its own letter and its hash in the portal, not the commission's.
    let cas = u.cas;
    let mut referrer = logged_in(&mut u, "ref.cona", "referrer", Some(cas)).await;
    let page = referrer.get(&format!("/portal/{rid}")).await;
    assert_eq!(
        page.status,
        StatusCode::NOT_FOUND,
        "the unit filed this one, not the CAS's user"
    );
    assert_eq!(
        get_bytes(&referrer, &format!("/portal/feedback/{to_cas}/pdf")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get_bytes(&referrer, &format!("/portal/feedback/{to_ct}/pdf")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, _, cas_pdf) = get_bytes(&referrer, &format!("/portal/feedback/{to_cas}/pdf")).await;
    assert_eq!(sha256_hex(&cas_pdf), cas_hash);
    // Another organisation: nothing.
    let org = u.ct_padova;
    let padova = commission(&mut u, "ct.padova.riscontri", org).await;
    assert_eq!(
        get_bytes(&padova, &format!("/portal/feedback/{to_ct}/pdf")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_bytes(&padova, &format!("{letter}/pdf")).await.0,
        StatusCode::NOT_FOUND
    );
    let _ = &mut ct;

    // Role boundaries: analysts and mediators get nothing; outsiders no list.
    let mut analyst = logged_in(&mut u, "analista", "analyst", None).await;
    assert_eq!(analyst.get(&base).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get_bytes(&analyst, &format!("{letter}/pdf")).await.0,
        StatusCode::FORBIDDEN
    );
    let mut mediator = TestApp::sibling(&u.admin);
    assert_eq!(
        mediator.login("mediatrice.edo", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(mediator.get(&base).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get_bytes(&mediator, &format!("{letter}/pdf")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ct.get(&base).await.status, StatusCode::FORBIDDEN);

    // Every read and write audited.
    for action in [
        "feedback.draft",
        "feedback.edit",
        "feedback.approve",
        "feedback.send",
        "feedback.pdf",
        "feedback.read",
        "feedback.receipt",
    ] {
        assert!(
            u.admin.count_where("audit_log", &format!("action = '{action}'")) > 0,
            "{action} audited"
        );
    }
}
both!(a_cas_referral_gets_written_feedback_by_pec_with_receipts);

async fn case_reference(app: &mut TestApp, rid: i64) -> String {
    app.get(&format!("/api/v1/referrals/{rid}")).await.json()["reference"]
        .as_str()
        .expect("reference")
        .to_owned()
}

async fn a_commission_report_is_answered_to_the_commission_alone(b: Backend) {
    let (mut u, sink) = unit_mailing(b).await;
    let org = u.ct_verona;
    let mut ct = commission(&mut u, "ct.audizioni", org).await;
    let body = json!({"urgency": "ordinary", "consent": consent(),
        "person": {"alias": "Joy", "gender": "female", "age": 22, "nationality": "Nigeria", "languages": ["en"]}});
    let rid = file(&mut ct, body).await["id"].as_i64().expect("id");
    let case = take_charge(&mut u.op, rid).await;

    // From the pages: the case's letters, then drafting (one letter: the commission).
    let section = u.op.get(&format!("/cases/{}/feedback", case.get())).await;
    assert_eq!(section.status, StatusCode::OK);
    assert!(section.body.contains("Riscontri scritti") && section.body.contains("Nessun riscontro scritto"));
    let csrf = section.csrf_field();
    let r =
        u.op.form(
            &format!("/cases/{}/feedback", case.get()),
            &[("csrf", &csrf), ("commission_org_id", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page_path = r.header("location").expect("the letter's page");
    let list = u.op.get(&format!("/api/v1/cases/{}/feedback", case.get())).await.json();
    let letters = list.as_array().expect("a list");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["recipient_role"], "commission");
    assert_eq!(letters[0]["recipient"]["id"], u.ct_verona);
    let id = letters[0]["id"].as_i64().expect("id");
    let page = u.op.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Bozza") && page.body.contains("Commissione Territoriale di Verona"));
    assert!(
        page.body.contains("da una coordinatrice o un coordinatore"),
        "the operator cannot approve"
    );

    // The coordinator approves from the page, then sends after the confirmation page.
    decide_outcome(&u.admin, case).await;
    let coord_page = u.coord.get(&page_path).await;
    let csrf = coord_page.csrf_field();
    let r = u
        .coord
        .form(&format!("{page_path}/approve"), &[("csrf", &csrf), ("version", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = u.op.get(&page_path).await;
    assert!(page.body.contains("Approvato") && page.body.contains("letter-sha256"));
    // A mistake seen after approving: the coordinator takes the approval back, asked first.
    assert!(!page.body.contains("letter-withdraw"), "operators cannot withdraw");
    let withdraw = format!("/api/v1/cases/{}/feedback/{id}/withdraw", case.get());
    let r = u.op.api(Method::POST, &withdraw, Some(json!({"version": 2}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let coord_page = u.coord.get(&page_path).await;
    assert!(coord_page.body.contains("id=\"letter-withdraw\""));
    let csrf = coord_page.csrf_field();
    let confirm = u
        .coord
        .form(&format!("{page_path}/withdraw"), &[("csrf", &csrf), ("version", "2")])
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("confirm-yes") && confirm.body.contains("SHA-256"));
    let r = u
        .coord
        .form(
            &format!("{page_path}/withdraw"),
            &[("csrf", &csrf), ("version", "2"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let letter =
        u.op.get(&format!("/api/v1/cases/{}/feedback/{id}", case.get()))
            .await
            .json();
    assert_eq!(letter["status"], "draft", "{letter}");
    assert!(
        letter["pdf_sha256"].is_null() && letter["approved_by"].is_null(),
        "{letter}"
    );
    assert_eq!(
        u.admin
            .count_where("feedback_letters", &format!("id = {id} AND pdf IS NULL")),
        1
    );
    let r = u.coord.api(Method::POST, &withdraw, Some(json!({"version": 3}))).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a draft has no approval to withdraw: {}",
        r.body
    );
    let timeline = u.coord.get(&format!("/cases/{}", case.get())).await;
    assert!(timeline.body.contains("Approvazione del riscontro ritirata"));
    assert_eq!(u.admin.audit("action=feedback.withdraw").await.len(), 1);
    // Approved again, then sent.
    let r = u
        .coord
        .form(&format!("{page_path}/approve"), &[("csrf", &csrf), ("version", "3")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = u.op.get(&page_path).await;
    let csrf = page.csrf_field();
    let confirm =
        u.op.form(&format!("{page_path}/send"), &[("csrf", &csrf), ("version", "4")])
            .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.body.contains("confirm-yes") && confirm.body.contains("non si può"),
        "{}",
        confirm.body
    );
    assert_eq!(
        case_status(&u.admin, case).await,
        "outcome_decided",
        "nothing sent before confirming"
    );
    let r =
        u.op.form(
            &format!("{page_path}/send"),
            &[("csrf", &csrf), ("version", "4"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(case_status(&u.admin, case).await, "feedback_sent");
    let letter =
        u.op.get(&format!("/api/v1/cases/{}/feedback/{id}", case.get()))
            .await
            .json();
    let hash = letter["pdf_sha256"].as_str().expect("hash").to_owned();

    let transport = Transport::from_settings(&u.admin.settings).expect("transport");
    dispatch_due(&u.admin.state.db, &transport, &u.admin.settings, &u.admin.state.clock)
        .await
        .expect("dispatch");
    let got: Vec<_> = sink
        .messages()
        .into_iter()
        .filter(|m| m.recipients == ["ct.verona@example.org"])
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(sha256_hex(&attached_pdf(&got[0].data)), hash);

    // The portal shows the letter and its hash to the commission that reported.
    let portal = ct.get(&format!("/portal/{rid}")).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(portal.body.contains(&hash), "the hash in the portal");
    assert!(portal.body.contains(&format!("/portal/feedback/{id}/pdf")));
    let (status, _, bytes) = get_bytes(&ct, &format!("/portal/feedback/{id}/pdf")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha256_hex(&bytes), hash);
    // Its bearer token reads the PDF through the API too; another commission cannot.
    let org = u.ct_padova;
    let padova = commission(&mut u, "ct.padova.altro", org).await;
    assert_eq!(
        get_bytes(&padova, &format!("/portal/feedback/{id}/pdf")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_bytes(&padova, &format!("/api/v1/cases/{}/feedback/{id}/pdf", case.get()))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // A non-delivery receipt through the import page updates the letter; no draft.
    let mid = message_id_of(&u.admin, id);
    let referrals_before = u.admin.count("referrals");
    let r = post_eml(&mut u.op, pec_receipt("errore-consegna", &mid)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["delivery"], "not_delivered");
    assert_eq!(u.admin.count("referrals"), referrals_before);
    let page = u.op.get(&page_path).await;
    assert!(page.body.contains("Non consegnato"), "the page says it in words");
    let _: Value = letter;
}
both!(a_commission_report_is_answered_to_the_commission_alone);
