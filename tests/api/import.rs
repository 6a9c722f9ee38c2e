//! Email intake: saved `.eml` files and PEC envelopes become drafts that an operator reviews and
//! confirms; a malformed file is reported by name and skipped, the rest still imports.

use std::process::Command;

use awc::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::helpers::{Backend, TestApp};
use crate::referrals::{consent, unit};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/eml/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn the_command_line_imports_eml_and_pec_and_skips_a_broken_file(b: Backend) {
    let mut u = unit(b).await;
    // The prefecture's PEC address is known: its draft comes filled in as the prefecture's.
    let pref = u.prefecture;
    let r = u
        .admin
        .api(
            Method::PATCH,
            &format!("/api/v1/organisations/{pref}"),
            Some(json!({"version": 1, "email": "prefettura.verona@pec.interno.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The ordinary email claims to come from the commission: anyone can write a `From:`.
    let ct = u.ct_verona;
    let r = u
        .admin
        .api(
            Method::PATCH,
            &format!("/api/v1/organisations/{ct}"),
            Some(json!({"version": 1, "email": "ct.verona@interno.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let out = Command::new(env!("CARGO_BIN_EXE_varco"))
        .args([
            "import",
            "eml",
            &fixture("plain.eml"),
            &fixture("broken.eml"),
            &fixture("pec.eml"),
            &fixture("pec_without_original.eml"),
        ])
        .env("DATABASE_URL", &u.admin.settings.database_url)
        .env(
            "VARCO_MASTER_KEY_FILE",
            u.admin.settings.master_key_file.as_deref().unwrap_or_default(),
        )
        .env("RUST_LOG", "warn")
        .output()
        .expect("run varco");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a skipped file makes the exit status 2: {stdout} {stderr}"
    );
    assert!(
        stdout.contains("plain.eml: draft R-") && stdout.contains("pec.eml: draft R-"),
        "{stdout}"
    );
    assert!(
        stderr.contains("broken.eml: skipped") && stderr.contains("pec_without_original.eml: skipped"),
        "{stderr}"
    );
    assert!(stdout.contains("2 imported, 2 skipped"));
    assert!(!stderr.contains("Aurora"), "errors never quote the message");

    // Drafts count nowhere: not in the list, not assigned, nobody notified.
    let outbox_before = u.admin.outbox().len();
    assert_eq!(
        u.op.get("/api/v1/referrals").await.json().as_array().map(|a| a.len()),
        Some(0)
    );
    let drafts = u.op.get("/api/v1/referrals?status=draft").await.json();
    let drafts = drafts.as_array().expect("drafts").clone();
    assert_eq!(drafts.len(), 2);
    let pec = drafts
        .iter()
        .find(|d| d["source_kind"] == "prefecture")
        .expect("the PEC from the prefecture");
    let pec_id = pec["id"].as_i64().expect("id");
    let c = u.op.get(&format!("/api/v1/referrals/{pec_id}")).await.json();
    assert_eq!(
        (c["channel"].as_str(), c["status"].as_str()),
        (Some("pec"), Some("draft"))
    );
    assert_eq!(c["referring_org"]["id"], pref);
    assert!(c["assigned_operator"].is_null());
    assert!(
        c["notes"].as_str().is_some_and(|n| n.contains("colloquio")),
        "the message text is kept for the review"
    );
    let plain = drafts.iter().find(|d| d["id"].as_i64() != Some(pec_id)).expect("plain");
    let plain_id = plain["id"].as_i64().expect("id");
    let c = u.op.get(&format!("/api/v1/referrals/{plain_id}")).await.json();
    assert!(
        c["referring_org"].is_null(),
        "an unverified From: attributes nothing: {c}"
    );
    assert_eq!(c["source_kind"], "private_citizen");
    let review = u.op.get(&format!("/referrals/{plain_id}")).await.body;
    assert!(review.contains("id=\"sender-unverified\"") && review.contains("Mittente non verificato"));
    let review = u.op.get(&format!("/referrals/{pec_id}")).await.body;
    assert!(review.contains("id=\"sender-certified\""));
    assert!(
        c["notes"]
            .as_str()
            .is_some_and(|n| n.contains("Aurora") && n.contains("protezione sociale")),
        "{c}"
    );
    assert!(
        c["received_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-11-24T10:15:00")),
        "{c}"
    );

    // Confirming the commission's email needs what any commission report needs: consent.
    let ct = u.ct_verona;
    let r =
        u.op.send(
            Method::POST,
            &format!("/api/v1/referrals/{plain_id}/confirm"),
            &[
                ("x-csrf-token", u.op.csrf.clone().unwrap_or_default()),
                ("if-match", "\"1\"".into()),
            ],
            Some((
                "application/json",
                json!({"channel": "email", "source_kind": "territorial_commission", "referring_org_id": ct})
                    .to_string()
                    .into_bytes(),
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["consent"]);
    let body = json!({"channel": "email", "source_kind": "territorial_commission", "referring_org_id": ct, "consent": consent(),
                      "person": {"alias": "Aurora", "gender": "female"}, "urgency": "ordinary"});
    let r =
        u.op.send(
            Method::POST,
            &format!("/api/v1/referrals/{plain_id}/confirm"),
            &[
                ("x-csrf-token", u.op.csrf.clone().unwrap_or_default()),
                ("if-match", "\"1\"".into()),
            ],
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = u.op.get(&format!("/api/v1/referrals/{plain_id}")).await.json();
    assert_eq!(c["status"], "new");
    assert_eq!(c["assigned_operator"]["id"], u.op_id, "routed once confirmed");
    assert!(c["history"]
        .as_array()
        .is_some_and(|h| h.iter().any(|e| e["kind"] == "imported") && h.iter().any(|e| e["kind"] == "confirmed")));
    assert_eq!(
        u.admin.outbox().len(),
        outbox_before + 1,
        "the operator is notified on confirmation only"
    );
    // A confirmed draft cannot be confirmed again.
    let r =
        u.op.send(
            Method::POST,
            &format!("/api/v1/referrals/{plain_id}/confirm"),
            &[
                ("x-csrf-token", u.op.csrf.clone().unwrap_or_default()),
                ("if-match", format!("\"{}\"", c["version"])),
            ],
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}
both!(the_command_line_imports_eml_and_pec_and_skips_a_broken_file);

async fn the_upload_page_and_the_api_import_messages(b: Backend) {
    let mut u = unit(b).await;
    let page = u.op.get("/referrals/import").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("?csrf="), "the token stays out of the URL");
    let csrf = page.csrf_field();
    // Two files in one multipart upload: one good, one broken; the token is the first part.
    let boundary = "varco-test-boundary";
    let token_part =
        |t: &str| format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{t}\r\n").into_bytes();
    let mut files = Vec::new();
    for name in ["html_only.eml", "broken.eml"] {
        files.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes());
        files.extend_from_slice(&std::fs::read(fixture(name)).expect("fixture"));
        files.extend_from_slice(b"\r\n");
    }
    files.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let body = [token_part(&csrf), files.clone()].concat();
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let r =
        u.op.send(
            Method::POST,
            "/referrals/import",
            &[],
            Some((&content_type, body.clone())),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("html_only.eml: <a href=\"/referrals/"), "{}", r.body);
    assert!(r.body.contains("broken.eml: <span class=\"error\">"), "{}", r.body);
    // Without the CSRF token, with a wrong one, or with it in the URL, the upload is refused.
    for (path, body) in [
        ("/referrals/import", files.clone()),
        (
            "/referrals/import",
            [token_part("not-the-token"), files.clone()].concat(),
        ),
        (&*format!("/referrals/import?csrf={csrf}"), files.clone()),
    ] {
        let r = u.op.send(Method::POST, path, &[], Some((&content_type, body))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    // The request as a whole is bounded (32 MB), not only each file (15 MB): three files of
    // 11 MB are refused.
    let big = vec![b'x'; 11 * 1024 * 1024];
    let mut body = token_part(&csrf);
    for i in 0..3 {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big{i}.eml\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(&big);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r =
        u.op.send(Method::POST, "/referrals/import", &[], Some((&content_type, body)))
            .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // The draft is in the queue, and its page is the form to review.
    let queue = u.op.get("/referrals").await;
    assert!(queue.body.contains("id=\"drafts\""));
    let drafts = u.op.get("/api/v1/referrals?status=draft").await.json();
    let id = drafts[0]["id"].as_i64().expect("draft");
    let review = u.op.get(&format!("/referrals/{id}")).await;
    assert!(
        review.body.contains(&format!("action=\"/referrals/{id}/confirm\"")) && review.body.contains("Conferma bozza")
    );

    // The API takes one message at a time; garbage is a 422 naming the body.
    let headers = [
        ("x-csrf-token", u.op.csrf.clone().unwrap_or_default()),
        ("x-file-name", "pec.eml".into()),
    ];
    let r =
        u.op.send(
            Method::POST,
            "/api/v1/referrals/drafts",
            &headers,
            Some(("message/rfc822", std::fs::read(fixture("pec.eml")).expect("fixture"))),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["status"], "draft");
    let r =
        u.op.send(
            Method::POST,
            "/api/v1/referrals/drafts",
            &headers,
            Some(("message/rfc822", b"\x00\x01 not a message".to_vec())),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.problem_fields(), vec!["body"]);
    let r =
        u.op.send(
            Method::POST,
            "/api/v1/referrals/drafts",
            &headers,
            Some(("application/json", b"{}".to_vec())),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Referrers cannot import into the unit's mailbox.
    let mut outsider = TestApp::sibling(&u.admin);
    outsider.csrf = None;
    assert_eq!(outsider.get("/referrals/import").await.status, StatusCode::SEE_OTHER);
}
both!(the_upload_page_and_the_api_import_messages);
