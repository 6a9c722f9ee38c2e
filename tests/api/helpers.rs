//! The test harness: the real application on a random port with a fresh database per test.
//!
//! SQLite: a file in a temporary folder. PostgreSQL (when `VARCO_TEST_DATABASE_URL` is set): a
//! schema of its own in that database, dropped when the test ends.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use awc::http::{header, Method, StatusCode};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use varco::clock::ManualClock;
use varco::config::Settings;
use varco::startup::{first_run_link, Application};
use varco::web::AppState;

pub use crate::testdb::TestDb;

/// Every log line the application writes during the test run (at `debug`, one level below what
/// production writes), so privacy tests can search it for a marker.
static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || LogCapture(writer.clone()))
            .try_init();
        buf
    });
}

/// What the application has logged so far in this test run (all tests together).
pub fn captured_logs() -> String {
    let buf = LOGS
        .get()
        .map(|b| b.lock().map(|v| v.clone()).unwrap_or_default())
        .unwrap_or_default();
    String::from_utf8_lossy(&buf).into_owned()
}

/// Runs a scenario on SQLite and on PostgreSQL: `both!(name);` expects `async fn name(b: Backend)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }
            #[actix_web::test]
            async fn postgres() {
                if $crate::helpers::postgres_url().is_none() {
                    $crate::helpers::skip_postgres(stringify!($name));
                    return;
                }
                super::$name($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const PASSWORD: &str = "a long enough passphrase";

/// The PostgreSQL URL for tests; on CI its absence is an error, not a skip.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("VARCO_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI must run the PostgreSQL half: set VARCO_TEST_DATABASE_URL");
    }
    url
}

pub fn skip_postgres(name: &str) {
    eprintln!("SKIPPED (PostgreSQL half of `{name}`): VARCO_TEST_DATABASE_URL is not set");
}

/// A running application and a client that keeps its cookies.
pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub clock: ManualClock,
    pub state: actix_web::web::Data<AppState>,
    pub settings: Settings,
    pub client: awc::Client,
    pub jar: HashMap<String, String>,
    /// The CSRF token of the current session (after `login`).
    pub csrf: Option<String>,
    owned: Arc<Owned>,
}

/// What a test's database leaves behind, removed with the last client.
struct Owned {
    _db: TestDb,
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// The field names of a problem's `errors`.
    pub fn problem_fields(&self) -> Vec<String> {
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        self.json()["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }

    /// The value of the `csrf` hidden field of a page.
    pub fn csrf_field(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body))
            + marker.len();
        self.body[start..].split('"').next().unwrap_or("").to_owned()
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// Starts the application with settings adjusted by `tune`, on a fresh database.
pub async fn spawn_with(backend: Backend, tune: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_on(crate::testdb::fresh(backend), backend, tune).await
}

/// The settings a test runs with on `db`.
pub fn settings_for(db: &TestDb) -> Settings {
    let dir = db.dir.path();
    Settings {
        bind: "127.0.0.1:0".into(),
        cookie_secure: false,
        pool_size: 4,
        workers: 2,
        database_url: db.url.clone(),
        mail_dir: dir.join("mail").to_string_lossy().into_owned(),
        master_key_file: Some(dir.join("master.key").to_string_lossy().into_owned()),
        ..Settings::default()
    }
}

/// Starts the application on a database prepared by the caller.
pub async fn spawn_on(db: TestDb, backend: Backend, tune: impl FnOnce(&mut Settings)) -> TestApp {
    capture_logs();
    let mut settings = settings_for(&db);
    tune(&mut settings);
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    // Tests dispatch notifications themselves (`varco::notify::dispatch_due`).
    let app = Application::with_listener(settings.clone(), Arc::new(clock.clone()), listener)
        .expect("build app")
        .without_dispatcher();
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        base,
        backend,
        clock,
        state,
        settings,
        client: client(),
        jar: HashMap::new(),
        csrf: None,
        owned: Arc::new(Owned { _db: db }),
    }
}

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(std::time::Duration::from_secs(30))
        .finish()
}

impl TestApp {
    /// Another browser on the same server (its own cookies).
    pub fn sibling(other: &TestApp) -> TestApp {
        TestApp {
            base: other.base.clone(),
            backend: other.backend,
            clock: other.clock.clone(),
            state: other.state.clone(),
            settings: other.settings.clone(),
            client: client(),
            jar: HashMap::new(),
            csrf: None,
            owned: other.owned.clone(),
        }
    }

    /// A second instance of the application (its own pool, server and background state) on
    /// the same database and clock: what several app servers behind one balancer are.
    pub fn instance(other: &TestApp) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let app = Application::with_listener(other.settings.clone(), Arc::new(other.clock.clone()), listener)
            .expect("build the second instance")
            .without_dispatcher();
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state.clone();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            base,
            backend: other.backend,
            clock: other.clock.clone(),
            state,
            settings: other.settings.clone(),
            client: client(),
            jar: HashMap::new(),
            csrf: None,
            owned: other.owned.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.jar.is_empty()).then(|| {
            self.jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep_cookies(&mut self, headers: &header::HeaderMap) {
        for v in headers.get_all(header::SET_COOKIE) {
            let Ok(text) = v.to_str() else { continue };
            let Ok(c) = awc::cookie::Cookie::parse(text.to_owned()) else {
                continue;
            };
            let expired = c.max_age().is_some_and(|a| a.is_zero() || a.is_negative())
                || c.expires_datetime().is_some_and(|t| t.unix_timestamp() < 1_000_000_000)
                || c.value().is_empty();
            if expired {
                self.jar.remove(c.name());
            } else {
                self.jar.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
    }

    /// Sends a request with the jar's cookies and keeps the cookies set.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(c) = self.cookie_header() {
            req = req.insert_header((header::COOKIE, c));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, v.clone()));
        }
        let mut res = match body {
            Some((ct, bytes)) => req.insert_header((header::CONTENT_TYPE, ct)).send_body(bytes).await,
            None => req.send().await,
        }
        .unwrap_or_else(|e| panic!("request to {path} failed: {e}"));
        let body = res.body().limit(16 * 1024 * 1024).await.expect("body");
        let headers = res.headers().clone();
        self.keep_cookies(&headers);
        Reply {
            status: res.status(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Posts the same browser form `n` times at once (the page's CSRF token fetched first), as
    /// an attacker's parallel requests would; the statuses, in no particular order.
    pub async fn form_burst(&mut self, page: &str, action: &str, fields: &[(&str, &str)], n: usize) -> Vec<StatusCode> {
        let csrf = self.get(page).await.csrf_field();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&all).expect("encode form");
        let cookie = self.cookie_header();
        let sends = (0..n).map(|_| {
            let mut req = self.client.post(self.url(action));
            if let Some(c) = &cookie {
                req = req.insert_header((header::COOKIE, c.clone()));
            }
            let body = body.clone();
            async move {
                req.insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                    .send_body(body)
                    .await
                    .expect("request")
                    .status()
            }
        });
        futures_util::future::join_all(sends).await
    }

    /// The instance's password work so far (hashes, checks).
    pub fn password_work(&self) -> (u64, u64) {
        let w = self.state.singleton::<varco::auth::password::PasswordWork>();
        (w.hashes(), w.checks())
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], None).await
    }

    /// A JSON API call with the session (and its CSRF header) if any.
    pub async fn api(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut headers = Vec::new();
        if let Some(t) = &self.csrf {
            headers.push(("x-csrf-token", t.clone()));
        }
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.send(method, path, &headers, body).await
    }

    /// A JSON API call with a bearer token and no cookies.
    pub async fn bearer(&mut self, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        let saved = std::mem::take(&mut self.jar);
        let headers = [("authorization", format!("Bearer {token}"))];
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let r = self.send(method, path, &headers, body).await;
        self.jar = saved;
        r
    }

    /// Posts a browser form (URL-encoded) with the given fields.
    pub async fn form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("encode form").into_bytes();
        self.send(
            Method::POST,
            path,
            &[],
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await
    }

    /// Gets a page, then posts its form with its CSRF token plus `fields`.
    pub async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.get(page).await.csrf_field();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.form(action, &all).await
    }

    /// A fresh setup link (as the server prints at start).
    pub fn setup_token(&self) -> String {
        let link = first_run_link(&self.state).expect("setup link").expect("no admin yet");
        link.split("token=").nth(1).expect("token in link").to_owned()
    }

    /// Creates the first administrator through the setup page and stays logged in as them.
    pub async fn setup_admin(&mut self) {
        let token = self.setup_token();
        let r = self
            .submit(
                &format!("/setup?token={token}"),
                "/setup",
                &[
                    ("token", token.as_str()),
                    ("username", "admin"),
                    ("display_name", "Amministratrice"),
                    ("password", ADMIN_PASSWORD),
                    ("password_confirm", ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "setup failed: {}", r.body);
        self.refresh_csrf().await;
    }

    /// Learns the session's CSRF token from `/api/v1/me`.
    pub async fn refresh_csrf(&mut self) {
        let me = self.get("/api/v1/me").await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        self.csrf = me.json()["csrf_token"].as_str().map(str::to_owned);
    }

    /// Logs in through the login form; returns the reply (303 on success).
    pub async fn login(&mut self, username: &str, password: &str) -> Reply {
        self.jar.remove("varco_session");
        self.csrf = None;
        let r = self
            .submit(
                "/login",
                "/login",
                &[("username", username), ("password", password), ("next", "/")],
            )
            .await;
        if r.status == StatusCode::SEE_OTHER {
            self.refresh_csrf().await;
        }
        r
    }

    pub fn logout_local(&mut self) {
        self.jar.remove("varco_session");
        self.csrf = None;
    }

    /// An organisation to create through the API (as the logged-in admin): a CAS in Venezia
    /// unless told otherwise.
    pub fn org(&mut self, name: &str) -> OrgBuilder<'_> {
        OrgBuilder {
            app: self,
            body: json!({"name": name, "kind": "cas", "province": "VE"}),
        }
    }

    /// A user to create through the API (as the logged-in admin): an operator with the test
    /// password unless told otherwise.
    pub fn user(&mut self, username: &str) -> UserBuilder<'_> {
        UserBuilder {
            app: self,
            body: json!({"username": username, "role": "operator", "password": PASSWORD}),
        }
    }

    /// Audit entries matching a query string, newest first (read as the logged-in admin).
    pub async fn audit(&mut self, query: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["entries"].as_array().cloned().unwrap_or_default()
    }

    /// The outbox as stored: (recipient, kind, reference, subject and body).
    pub fn outbox(&self) -> Vec<(String, String, String, String)> {
        use diesel::prelude::*;
        use varco::db::schema::outbox;
        let mut conn = self.state.db.conn().expect("conn");
        outbox::table
            .select((
                outbox::recipient,
                outbox::kind,
                outbox::reference,
                outbox::subject,
                outbox::body_text,
            ))
            .order(outbox::id.asc())
            .load::<(String, String, Option<String>, String, String)>(&mut *conn)
            .expect("outbox")
            .into_iter()
            .map(|(r, k, reference, subject, body)| (r, k, reference.unwrap_or_default(), format!("{subject}\n{body}")))
            .collect()
    }

    /// Rows of a table that meet a condition (SQL), counted directly in the database.
    pub fn count_where(&self, table: &str, condition: &str) -> i64 {
        self.count(&format!("{table} WHERE {condition}"))
    }

    /// Rows of a table, counted directly in the database.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.state.db.conn().expect("conn");
        diesel::sql_query(format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"))
            .get_result::<N>(&mut *conn)
            .expect("count")
            .n
    }
}

/// An organisation being described for [`TestApp::org`].
pub struct OrgBuilder<'a> {
    app: &'a mut TestApp,
    body: Value,
}

impl OrgBuilder<'_> {
    pub fn kind(mut self, kind: &str) -> Self {
        self.body["kind"] = json!(kind);
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.body["email"] = json!(email);
        self
    }

    /// Creates it (201 expected); its id.
    pub async fn create(self) -> i64 {
        let r = self
            .app
            .api(Method::POST, "/api/v1/organisations", Some(self.body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["id"].as_i64().expect("id")
    }
}

/// A user being described for [`TestApp::user`].
pub struct UserBuilder<'a> {
    app: &'a mut TestApp,
    body: Value,
}

impl UserBuilder<'_> {
    pub fn role(mut self, role: &str) -> Self {
        self.body["role"] = json!(role);
        self
    }

    pub fn org(mut self, org: i64) -> Self {
        self.body["org_id"] = json!(org);
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.body["email"] = json!(email);
        self
    }

    pub fn languages(mut self, languages: &[&str]) -> Self {
        self.body["languages"] = json!(languages);
        self
    }

    /// Creates it (201 expected); its id.
    pub async fn create(self) -> i64 {
        let r = self.app.api(Method::POST, "/api/v1/users", Some(self.body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["id"].as_i64().expect("id")
    }
}
