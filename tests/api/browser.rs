//! The browser harness: headless Chromium (Debian's `chromium` and `chromium-driver`) driven over
//! WebDriver through the real pages. Later capabilities add their main flow here.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{spawn_with, Backend, ADMIN_PASSWORD};

const DRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process and a WebDriver session on it; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts headless Chromium, or says why not (a failure on CI, a printed skip elsewhere).
pub async fn start(test: &str) -> Option<Browser> {
    if !std::path::Path::new(DRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI must run the browser tests: install chromium and chromium-driver");
        }
        eprintln!("SKIPPED (browser test `{test}`): {DRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver)");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let driver = Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let caps = caps.as_object().cloned().expect("object");
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver,
                    _profile: profile,
                })
            }
            Err(e) => {
                last = Some(e);
                actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    panic!("chromedriver did not start a session: {last:?}");
}

impl Browser {
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self
            .client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.expect("url").path().to_owned()
    }

    /// Waits for a navigation to land on `path` (clicks do not wait for the next page).
    pub async fn wait_path(&self, path: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {path}; at {}", self.path().await);
    }

    /// Waits until the element's text contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) {
        for _ in 0..100 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if el.text().await.is_ok_and(|t| t.contains(needle)) {
                    return;
                }
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {needle:?}");
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    pub async fn value(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .expect("element")
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

#[actix_web::test]
async fn chromium_sets_up_the_first_administrator_and_logs_in() {
    // The defaults of a first run: Secure cookies over plain http://127.0.0.1 (browsers treat
    // loopback as a secure context).
    let app = spawn_with(Backend::Sqlite, |s| s.cookie_secure = true).await;
    let Some(browser) = start("setup and login").await else {
        return;
    };
    let token = app.setup_token();
    browser
        .client
        .goto(&app.url(&format!("/setup?token={token}")))
        .await
        .expect("open setup");
    assert_eq!(browser.value("#token").await, token, "the link fills in the code");
    browser.fill("#username", "coordinamento").await;
    browser.fill("#display_name", "Coordinamento N.A.Ve").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.fill("#password_confirm", "a different passphrase").await;
    browser.click("#setup-submit").await;
    // The mismatch is reported and the rest kept.
    browser.wait_text("#password_confirm-error", "non coincide").await;
    assert_eq!(browser.value("#display_name").await, "Coordinamento N.A.Ve");
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.fill("#password_confirm", ADMIN_PASSWORD).await;
    browser.click("#setup-submit").await;
    browser.wait_path("/admin/users").await;
    assert!(browser.text("#users").await.contains("coordinamento"));
    assert!(browser.text(".flash").await.contains("Amministratore creato"));

    browser.click("#logout").await;
    browser.wait_path("/login").await;
    browser.wait_text(".flash", "Sei uscita/o").await;
    browser.fill("#username", "coordinamento").await;
    browser.fill("#password", "not the password").await;
    browser.click("#login-submit").await;
    browser.wait_text(".error.general", "non corretti").await;
    assert_eq!(browser.value("#username").await, "coordinamento");
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.click("#login-submit").await;
    browser.wait_path("/").await;
    assert!(browser.text("main").await.contains("Coordinamento N.A.Ve"));

    // The language switch is remembered across pages.
    browser.click("a.lang").await;
    browser.wait_text("header", "Log out").await;
    browser
        .client
        .goto(&app.url("/admin/organisations"))
        .await
        .expect("open");
    assert!(browser.text("h1").await.contains("Organisations"));
    browser.close().await;
}

#[actix_web::test]
async fn chromium_files_a_referral_through_the_form_and_sees_it_in_the_queue() {
    let mut unit = crate::referrals::unit(Backend::Sqlite).await;
    let Some(browser) = start("referral intake").await else {
        return;
    };
    let cas = unit.cas.to_string();
    browser.client.goto(&unit.op.url("/login")).await.expect("open login");
    browser.fill("#username", "operatrice.notte").await;
    browser.fill("#password", crate::helpers::PASSWORD).await;
    browser.click("#login-submit").await;
    // The operator's home is the queue.
    browser.wait_path("/referrals").await;
    browser
        .client
        .goto(&unit.op.url("/referrals/new"))
        .await
        .expect("open intake");
    let select = |css: &'static str, value: String| {
        let client = browser.client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .select_by_value(&value)
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"));
        }
    };
    select("#source_kind", "cas_operator".into()).await;
    select("#referring_org_id", cas.clone()).await;
    select("#urgency", "emergency".into()).await;
    browser.fill("#alias", "Favour").await;
    select("#gender", "female".into()).await;
    // Languages are chosen by name from the list (a click toggles an option of a multiple select).
    browser.click("#languages option[value=en]").await;
    browser.click("#languages option[value=pcm]").await;
    browser.click("input[name=exploitation_types][value=sexual]").await;
    // Forgetting the hosting CAS: the form comes back with the error and what was typed.
    browser.click("#referral-submit").await;
    browser.wait_text("#hosted_org_id-error", "CAS").await;
    assert_eq!(browser.value("#alias").await, "Favour");
    select("#hosted_org_id", cas).await;
    browser.click("#referral-submit").await;
    browser.wait_text(".flash", "Segnalazione registrata").await;
    let reference = browser.text("h1").await;
    assert!(reference.starts_with("R-"), "{reference}");
    // An ordinary referral filed since: the emergency still comes first.
    let ordinary = crate::referrals::file(&mut unit.op, crate::referrals::cas_report(unit.cas)).await;
    let ordinary_ref = ordinary["reference"].as_str().expect("reference").to_owned();
    browser
        .client
        .goto(&unit.op.url("/referrals"))
        .await
        .expect("open queue");
    let source = browser.client.source().await.expect("page source");
    let emergency_at = source
        .find(reference.split_whitespace().next().unwrap_or(""))
        .expect("the emergency");
    let ordinary_at = source.find(&ordinary_ref).expect("the ordinary one");
    assert!(emergency_at < ordinary_at, "emergencies first");
    let emergencies = browser.text("#emergencies").await;
    assert!(
        emergencies.contains(reference.split_whitespace().next().unwrap_or("")),
        "{emergencies}"
    );
    assert!(
        emergencies.contains("Operatrice") || emergencies.contains("operatrice"),
        "assigned to the operator on duty: {emergencies}"
    );
    browser.close().await;
    let _ = &mut unit;
}

#[actix_web::test]
async fn chromium_withdraws_consent_only_after_the_confirmation_page() {
    let mut unit = crate::referrals::unit(Backend::Sqlite).await;
    let org = unit.ct_verona;
    let mut ct = crate::referrals::commission(&mut unit, "ct.browser", org).await;
    let body = serde_json::json!({"urgency": "ordinary", "consent": crate::referrals::consent(),
                                  "person": {"alias": "Precious", "gender": "female"}});
    let id = crate::referrals::file(&mut ct, body).await["id"].as_i64().expect("id");
    let Some(browser) = start("consent withdrawal").await else {
        return;
    };
    browser.client.goto(&ct.url("/login")).await.expect("open login");
    browser.fill("#username", "ct.browser").await;
    browser.fill("#password", crate::helpers::PASSWORD).await;
    browser.click("#login-submit").await;
    browser.wait_path("/").await;
    browser
        .client
        .goto(&ct.url(&format!("/portal/{id}")))
        .await
        .expect("open the report");
    browser.click("#withdraw").await;
    // The page says what will be lost; nothing is erased yet.
    browser.wait_text("#confirm", "cancellati per sempre").await;
    assert_eq!(
        crate::referrals::case(&mut unit.op, id).await["person"]["alias"],
        "Precious"
    );
    browser.click("#confirm-yes").await;
    browser.wait_text(".flash", "Revoca del consenso registrata").await;
    assert!(crate::referrals::case(&mut unit.op, id).await["person"]["alias"].is_null());
    browser.close().await;
}
