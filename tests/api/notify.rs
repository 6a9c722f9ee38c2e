//! The notification outbox: delivery by SMTP and to the mail folder, retries with backoff on the
//! manual clock, no message sent twice by concurrent dispatchers, the delivery state on the API
//! and the page.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use awc::http::{Method, StatusCode};
use chrono::{Duration, NaiveDateTime};
use varco::clock::db_now;
use varco::domain::MessageId;
use varco::error::AppError;
use varco::notify::{
    self, backoff, claim_due, dispatch_due, enqueue, record_attempt, Attempt, DispatchReport, NewMessage, OutboxRow,
    Status, Template, Transport, MAX_ATTEMPTS,
};

use crate::both;
use crate::helpers::{spawn, spawn_with, Backend, TestApp, PASSWORD};

// ----- a minimal SMTP server -----

/// One message as the sink received it.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) recipients: Vec<String>,
    pub(crate) data: String,
}

/// Speaks just enough SMTP (no TLS, no AUTH) and records what it is sent.
pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub(crate) fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let store = store.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &store);
                });
            }
        });
        SmtpSink { port, received }
    }

    pub(crate) fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("sink lock").clone()
    }
}

fn serve(stream: TcpStream, store: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    out.write_all(b"220 sink.varco.test ESMTP\r\n")?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            out.write_all(b"250 sink.varco.test\r\n")?;
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("RCPT TO") {
            let addr = line.trim_end()[8..]
                .trim()
                .trim_matches(|c| c == '<' || c == '>')
                .to_owned();
            recipients.push(addr);
            out.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            store.lock().expect("sink lock").push(Received {
                recipients: std::mem::take(&mut recipients),
                data,
            });
            out.write_all(b"250 OK queued\r\n")?;
        } else if command == "QUIT" {
            out.write_all(b"221 Bye\r\n")?;
            return Ok(());
        } else if command == "RSET" || command == "NOOP" {
            out.write_all(b"250 OK\r\n")?;
        } else {
            out.write_all(b"502 Command not implemented\r\n")?;
        }
    }
}

/// A message's text with quoted-printable soft line breaks undone.
fn unfold(raw: &str) -> String {
    raw.replace("=\r\n", "")
}

// ----- helpers -----

fn now(app: &TestApp) -> NaiveDateTime {
    db_now(&app.clock)
}

fn message(kind: Template, recipient: &str, reference: &str, link: &str) -> NewMessage {
    NewMessage::from_template(kind, recipient, reference, link)
}

async fn enqueue_one(app: &TestApp, msg: NewMessage) -> MessageId {
    let at = now(app);
    app.state
        .db
        .write(move |c| enqueue(c, &msg, at))
        .await
        .expect("enqueue")
}

async fn row(app: &TestApp, id: MessageId) -> OutboxRow {
    app.state
        .db
        .read(move |c| notify::get(c, id))
        .await
        .expect("outbox row")
}

async fn dispatch(app: &TestApp, transport: &Transport) -> DispatchReport {
    dispatch_due(&app.state.db, transport, &app.settings, &app.state.clock)
        .await
        .expect("dispatch")
}

fn report(sent: usize, retried: usize, failed: usize) -> DispatchReport {
    DispatchReport { sent, retried, failed }
}

/// The `.eml` files of the mail folder, read.
fn mail_files(app: &TestApp) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(&app.settings.mail_dir) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| unfold(&std::fs::read_to_string(e.path()).expect("read eml")))
        .collect()
}

// ----- scenarios -----

async fn a_message_is_delivered_to_the_smtp_server(b: Backend) {
    let sink = SmtpSink::start();
    let port = sink.port;
    let app = spawn_with(b, |s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let transport = Transport::from_settings(&app.settings).expect("transport");
    assert!(matches!(transport, Transport::Smtp(_)));

    let link = notify::referral_link(&app.settings, 42);
    let id = enqueue_one(
        &app,
        message(Template::Emergency, "operatore.turno@varco.test", "R-7K2M9QXH", &link),
    )
    .await;
    let queued = row(&app, id).await;
    assert_eq!(queued.status, Status::Pending);
    assert_eq!(queued.attempts, 0);
    assert_eq!(queued.next_attempt_at, now(&app));
    assert_eq!(queued.kind, Template::Emergency);

    assert_eq!(dispatch(&app, &transport).await, report(1, 0, 0));
    let got = sink.messages();
    assert_eq!(got.len(), 1, "one message at the server");
    assert_eq!(got[0].recipients, vec!["operatore.turno@varco.test".to_owned()]);
    let text = unfold(&got[0].data);
    assert!(text.contains("X-Varco-Reference: R-7K2M9QXH"), "{text}");
    assert!(text.contains("Subject: URGENTE: emergenza R-7K2M9QXH"), "{text}");
    assert!(text.contains("From: Varco <varco@localhost>"), "{text}");
    assert!(text.contains(&link), "{text}");
    assert!(link.ends_with("/referrals/42"));

    let sent = row(&app, id).await;
    assert_eq!(sent.status, Status::Sent);
    assert_eq!(sent.attempts, 1);
    assert_eq!(sent.sent_at, Some(now(&app)));
    assert_eq!(sent.locked_until, None);
    assert_eq!(sent.last_error, None);

    // Nothing is due any more: a second run sends nothing.
    assert_eq!(dispatch(&app, &transport).await, report(0, 0, 0));
    assert_eq!(sink.messages().len(), 1);
}
both!(a_message_is_delivered_to_the_smtp_server);

async fn without_smtp_messages_land_in_the_mail_folder(b: Backend) {
    let app = spawn(b).await;
    let transport = Transport::from_settings(&app.settings).expect("transport");
    assert!(
        matches!(&transport, Transport::Folder(d) if d.is_dir()),
        "the folder is created"
    );

    // A recipient that is not an email address is refused, naming the field.
    let bad = message(Template::Decision, "not an address", "R-7K2M9QXH", "/x");
    let at = now(&app);
    let err = app
        .state
        .db
        .write(move |c| enqueue(c, &bad, at))
        .await
        .expect_err("invalid recipient");
    assert!(
        matches!(&err, AppError::Invalid(f) if f[0].field == "recipient"),
        "{err:?}"
    );
    assert_eq!(app.count("outbox"), 0);

    let link = notify::portal_link(&app.settings, 7);
    let id = enqueue_one(
        &app,
        message(Template::Decision, "cas.cona@varco.test", "R-4TQ8WZ2N", &link),
    )
    .await;
    assert_eq!(dispatch(&app, &transport).await, report(1, 0, 0));
    let files = mail_files(&app);
    assert_eq!(files.len(), 1, "one .eml file");
    assert!(files[0].contains("X-Varco-Reference: R-4TQ8WZ2N"));
    assert!(files[0].contains("To: cas.cona@varco.test"));
    assert!(files[0].contains("Message-ID: <"));
    assert!(files[0].contains(&link) && link.ends_with("/portal/7"));
    // Italian first, then English.
    let (it, en) = (files[0].find("Apri il collegamento"), files[0].find("Open the link"));
    assert!(it.is_some() && en.is_some() && it < en, "{}", files[0]);

    let sent = row(&app, id).await;
    assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 1));
    assert!(sent.sent_at.is_some());
}
both!(without_smtp_messages_land_in_the_mail_folder);

async fn failed_attempts_are_retried_with_backoff_then_given_up(b: Backend) {
    // A port nobody listens on: every connection is refused.
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let app = spawn_with(b, |s| s.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"))).await;
    let transport = Transport::from_settings(&app.settings).expect("transport");
    let id = enqueue_one(
        &app,
        message(Template::NewReferral, "turno@varco.test", "R-9PX3K7MD", "/r/1"),
    )
    .await;

    assert_eq!(dispatch(&app, &transport).await, report(0, 1, 0));
    let r = row(&app, id).await;
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 1));
    assert_eq!(r.next_attempt_at, now(&app) + Duration::minutes(1));
    assert_eq!(r.locked_until, None);
    let error = r.last_error.expect("last error");
    assert!(error.starts_with("SMTP"), "{error}");
    assert!(
        error.len() <= 200 && !error.contains("R-9PX3K7MD") && !error.contains("turno@"),
        "{error}"
    );

    // Not before its time.
    assert_eq!(dispatch(&app, &transport).await, report(0, 0, 0));
    app.clock.advance(Duration::seconds(59));
    assert_eq!(dispatch(&app, &transport).await, report(0, 0, 0));
    assert_eq!(row(&app, id).await.attempts, 1);

    // Then once per wait, each twice the one before.
    app.clock.advance(Duration::seconds(1));
    let mut attempts = 1;
    loop {
        let expected = if attempts + 1 == MAX_ATTEMPTS {
            report(0, 0, 1)
        } else {
            report(0, 1, 0)
        };
        assert_eq!(dispatch(&app, &transport).await, expected, "attempt {}", attempts + 1);
        attempts += 1;
        let r = row(&app, id).await;
        assert_eq!(r.attempts, attempts);
        if attempts == MAX_ATTEMPTS {
            assert_eq!(r.status, Status::Failed);
            break;
        }
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.next_attempt_at, now(&app) + backoff(attempts));
        app.clock.advance(backoff(attempts) - Duration::seconds(1));
        assert_eq!(dispatch(&app, &transport).await, report(0, 0, 0), "early");
        app.clock.advance(Duration::seconds(1));
    }
    assert_eq!(
        (1..MAX_ATTEMPTS).map(|a| backoff(a).num_minutes()).collect::<Vec<_>>(),
        vec![1, 2, 4, 8, 16, 32, 60]
    );

    // Given up: never tried again.
    app.clock.advance(Duration::days(2));
    assert_eq!(dispatch(&app, &transport).await, report(0, 0, 0));
    assert_eq!(row(&app, id).await.attempts, MAX_ATTEMPTS);
}
both!(failed_attempts_are_retried_with_backoff_then_given_up);

async fn concurrent_dispatchers_never_send_a_message_twice(b: Backend) {
    let app = spawn(b).await;
    let transport = Transport::from_settings(&app.settings).expect("transport");
    let at = now(&app);
    let ids = app
        .state
        .db
        .write(move |c| {
            (0..50)
                .map(|i| {
                    let msg = message(
                        Template::Feedback,
                        &format!("referente{i}@varco.test"),
                        &format!("R-TEST{i:04}"),
                        &format!("/portal/{i}"),
                    );
                    enqueue(c, &msg, at)
                })
                .collect::<Result<Vec<MessageId>, _>>()
        })
        .await
        .expect("enqueue 50");
    assert_eq!(ids.len(), 50);

    let (one, two) = futures_util::future::join(
        dispatch_due(&app.state.db, &transport, &app.settings, &app.state.clock),
        dispatch_due(&app.state.db, &transport, &app.settings, &app.state.clock),
    )
    .await;
    let (one, two) = (one.expect("first dispatcher"), two.expect("second dispatcher"));
    assert_eq!(one.sent + two.sent, 50, "{one:?} {two:?}");
    assert_eq!(one.retried + two.retried + one.failed + two.failed, 0);

    let files = mail_files(&app);
    assert_eq!(files.len(), 50, "one file per message");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for f in &files {
        let reference = f
            .lines()
            .find_map(|l| l.strip_prefix("X-Varco-Reference: "))
            .expect("reference header")
            .trim()
            .to_owned();
        *seen.entry(reference).or_default() += 1;
    }
    assert_eq!(seen.len(), 50);
    assert!(seen.values().all(|n| *n == 1), "each message delivered once");
    for id in ids {
        let r = row(&app, id).await;
        assert_eq!((r.status.as_str(), r.attempts), ("sent", 1), "message {id}");
    }
    // The claim leaves nothing leased behind.
    assert_eq!(dispatch(&app, &transport).await, report(0, 0, 0));
}
both!(concurrent_dispatchers_never_send_a_message_twice);

async fn the_outbox_shows_delivery_state_to_admins_and_coordinators_only(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    admin.user("coordinatrice").role("coordinator").create().await;
    admin.user("operatore").role("operator").create().await;
    let transport = Transport::from_settings(&admin.settings).expect("transport");

    for (i, reference) in ["R-AAAA1111", "R-BBBB2222", "R-CCCC3333"].iter().enumerate() {
        enqueue_one(
            &admin,
            message(
                Template::NewReferral,
                "turno@varco.test",
                reference,
                &format!("/referrals/{i}"),
            ),
        )
        .await;
    }
    assert_eq!(dispatch(&admin, &transport).await, report(3, 0, 0));
    // A fourth one fails once (recorded as the dispatcher would).
    let failing = enqueue_one(
        &admin,
        message(
            Template::Escalation,
            "coordinamento@varco.test",
            "R-DDDD4444",
            "/referrals/9",
        ),
    )
    .await;
    let at = now(&admin);
    let attempt = admin
        .state
        .db
        .write(move |c| {
            let claimed = claim_due(c, at, 10, Duration::minutes(5))?;
            assert_eq!(claimed.len(), 1);
            assert_eq!(claimed[0].id, failing);
            assert_eq!(claimed[0].locked_until, Some(at + Duration::minutes(5)));
            record_attempt(c, &claimed[0], at, Err("SMTP: connection refused".into()))
        })
        .await
        .expect("claim and record");
    assert_eq!(attempt, Attempt::Retry);

    let r = admin.get("/api/v1/outbox").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.json();
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 4);
    let newest = &list[0];
    assert_eq!(newest["id"], failing.get());
    assert_eq!(newest["kind"], "escalation");
    assert_eq!(newest["reference"], "R-DDDD4444");
    assert_eq!(newest["recipient"], "coordinamento@varco.test");
    assert_eq!(newest["status"], "pending");
    assert_eq!(newest["attempts"], 1);
    assert_eq!(newest["last_error"], "SMTP: connection refused");
    assert!(newest["next_attempt_at"].as_str().is_some() && newest["created_at"].as_str().is_some());
    assert!(newest["sent_at"].is_null());
    for m in list {
        assert!(m.get("body_text").is_none() && m.get("subject").is_none() && m.get("body").is_none());
    }
    assert!(!r.body.contains("Apri il collegamento") && !r.body.contains("Open the link"));

    let sent = admin.get("/api/v1/outbox?status=sent").await.json();
    let sent = sent.as_array().expect("array");
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|m| m["status"] == "sent" && m["sent_at"].is_string()));
    let pending = admin.get("/api/v1/outbox?status=pending&limit=10").await.json();
    assert_eq!(pending.as_array().map(Vec::len), Some(1));
    let bad = admin.get("/api/v1/outbox?status=lost").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem_fields(), vec!["status"]);

    let page = admin.get("/admin/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "id=\"outbox\"",
        "R-AAAA1111",
        "R-DDDD4444",
        "Inviato",
        "In attesa",
        "SMTP: connection refused",
    ] {
        assert!(page.body.contains(text), "page lacks {text}");
    }
    assert!(
        page.body.contains("href=\"/admin/outbox\""),
        "the admin's navigation links the outbox"
    );
    let only_pending = admin.get("/admin/outbox?status=pending").await;
    assert!(only_pending.body.contains("R-DDDD4444") && !only_pending.body.contains("R-AAAA1111"));
    admin.get("/lang/en?next=/admin/outbox").await;
    let english = admin.get("/admin/outbox").await;
    assert!(english.body.contains("Outbox") && english.body.contains("Pending"));

    let mut coordinator = TestApp::sibling(&admin);
    assert_eq!(
        coordinator.login("coordinatrice", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(coordinator.get("/api/v1/outbox").await.status, StatusCode::OK);
    let page = coordinator.get("/admin/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("R-BBBB2222"));

    let mut operator = TestApp::sibling(&admin);
    assert_eq!(
        operator.login("operatore", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(operator.get("/api/v1/outbox").await.status, StatusCode::FORBIDDEN);
    assert_eq!(operator.get("/admin/outbox").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        operator.api(Method::GET, "/api/v1/outbox", None).await.status,
        StatusCode::FORBIDDEN
    );

    // Reading recipients' addresses is audited.
    let reads = admin.audit("action=outbox.read").await;
    assert!(reads.len() >= 5, "{reads:?}");
}
both!(the_outbox_shows_delivery_state_to_admins_and_coordinators_only);

async fn a_message_given_up_can_be_sent_again_by_a_coordinator(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    admin.user("coordinatrice").role("coordinator").create().await;
    admin.user("operatore").role("operator").create().await;
    let id = enqueue_one(
        &admin,
        message(Template::Emergency, "turno@varco.test", "R-EEEE5555", "/referrals/5"),
    )
    .await;
    // Given up after its attempts (recorded as the dispatcher would).
    let at = now(&admin);
    admin
        .state
        .db
        .write(move |c| {
            for _ in 0..MAX_ATTEMPTS {
                let row = notify::get(c, id)?;
                record_attempt(c, &row, at, Err("SMTP: connection refused".into()))?;
            }
            Ok(())
        })
        .await
        .expect("give up");
    assert_eq!(row(&admin, id).await.status, Status::Failed);

    let mut coordinator = TestApp::sibling(&admin);
    assert_eq!(
        coordinator.login("coordinatrice", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = coordinator.get("/admin/outbox").await;
    assert!(
        page.body.contains(&format!("id=\"retry-{}\"", id.get())),
        "{}",
        page.body
    );
    // Operators may not.
    let mut operator = TestApp::sibling(&admin);
    operator.login("operatore", PASSWORD).await;
    let path = format!("/api/v1/outbox/{}/retry", id.get());
    assert_eq!(
        operator.api(Method::POST, &path, None).await.status,
        StatusCode::FORBIDDEN
    );
    // The button: back in the queue, due at once, a new round of attempts.
    let r = coordinator
        .submit("/admin/outbox", &format!("/admin/outbox/{}/retry", id.get()), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let again = row(&admin, id).await;
    assert_eq!((again.status, again.attempts), (Status::Pending, 0));
    assert_eq!(again.next_attempt_at, now(&admin));
    // Without SMTP it lands in the mail folder.
    let transport = Transport::from_settings(&admin.settings).expect("transport");
    assert_eq!(dispatch(&admin, &transport).await, report(1, 0, 0));
    assert_eq!(row(&admin, id).await.status, Status::Sent);
    // Only a message given up: a sent one is a conflict, an unknown one is not found.
    let r = coordinator.api(Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = coordinator.api(Method::POST, "/api/v1/outbox/999999/retry", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let retries = admin.audit("action=outbox.retry").await;
    assert_eq!(retries.len(), 1, "{retries:?}");
}
both!(a_message_given_up_can_be_sent_again_by_a_coordinator);
