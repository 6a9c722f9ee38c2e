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
    start_as(test, None).await
}

/// Headless Chromium emulating a phone of `width` CSS pixels (an iPhone 14 is 390 × 844).
pub async fn start_phone(test: &str, width: u32) -> Option<Browser> {
    start_as(test, Some(width)).await
}

async fn start_as(test: &str, phone: Option<u32>) -> Option<Browser> {
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
    let mut caps = caps;
    if let Some(width) = phone {
        caps["goog:chromeOptions"]["mobileEmulation"] = json!({
            "deviceMetrics": {"width": width, "height": 844, "pixelRatio": 2.0, "touch": true},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
        });
    }
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

impl Browser {
    /// A number the page computes (`return …;`).
    pub async fn number(&self, script: &str) -> f64 {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
            .as_f64()
            .unwrap_or_else(|| panic!("{script}: not a number"))
    }

    /// Fails when the page is wider than the screen (something pushes off the side).
    pub async fn assert_fits(&self, what: &str) {
        let inner = self.number("return window.innerWidth;").await;
        let scroll = self.number("return document.documentElement.scrollWidth;").await;
        assert!(
            scroll <= inner + 0.5,
            "{what}: the page is {scroll} px wide on a {inner} px screen"
        );
    }

    /// Saves a screenshot as `docs/screens/{name}.png` when `VARCO_SCREENSHOTS` is set (how the
    /// README's pictures are made: `VARCO_SCREENSHOTS=1 cargo test --test api chromium_`).
    pub async fn screenshot(&self, name: &str) {
        if std::env::var_os("VARCO_SCREENSHOTS").is_none() {
            return;
        }
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screens");
        std::fs::create_dir_all(dir).expect("docs/screens");
        std::fs::write(format!("{dir}/{name}.png"), png).expect("write screenshot");
    }

    pub async fn login(&self, app: &crate::helpers::TestApp, username: &str) {
        self.client.goto(&app.url("/login")).await.expect("open login");
        self.fill("#username", username).await;
        self.fill("#password", crate::helpers::PASSWORD).await;
        self.click("#login-submit").await;
        for _ in 0..100 {
            if self.path().await != "/login" {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{username} could not log in");
    }
}

/// The unit's pages at 390 px: nothing pushed off the side, the case file's decision at the
/// top, every table readable; and the portal. Also takes the README's screenshots on request.
#[actix_web::test]
async fn chromium_on_a_phone_the_case_file_queue_roster_and_hotline_fit() {
    let mut unit = crate::referrals::unit(Backend::Sqlite).await;
    let emergency = {
        let mut body = crate::referrals::cas_report(unit.cas);
        body["urgency"] = json!("emergency");
        body["notes"] = json!("Ha chiesto aiuto all'operatrice del turno di notte: dice di dover restituire un debito di trentamila euro e di essere controllata al telefono. Parla inglese e pidgin. Chiede di non essere richiamata sul suo numero.");
        crate::referrals::file(&mut unit.op, body).await
    };
    crate::referrals::file(&mut unit.op, crate::referrals::cas_report(unit.cas)).await;
    let r = unit
        .op
        .api(
            awc::http::Method::POST,
            "/api/v1/hotline/calls",
            Some(json!({"duration_secs": 340, "language": "ro", "caller_kind": "private_citizen", "province": "PD", "outcome": "diverted"})),
        )
        .await;
    assert_eq!(r.status, awc::http::StatusCode::CREATED, "{}", r.body);
    let id = emergency["id"].as_i64().expect("id");
    unit.admin
        .user("cas.telefono")
        .role("referrer")
        .org(unit.cas)
        .email("tel@cas.example.org")
        .create()
        .await;
    let mut referrer = crate::helpers::TestApp::sibling(&unit.admin);
    let sent = {
        referrer.login("cas.telefono", crate::helpers::PASSWORD).await;
        let body = json!({"urgency": "emergency",
                          "person": {"gender": "female", "age_band": "14-17", "hosted_org_id": unit.cas},
                          "emergence_province": "VE", "exploitation_types": ["sexual"]});
        crate::referrals::file(&mut referrer, body).await
    };

    // Desktop first, for the README.
    if std::env::var_os("VARCO_SCREENSHOTS").is_some() {
        let Some(browser) = start("desktop screenshots").await else {
            return;
        };
        browser.login(&unit.op, "operatrice.notte").await;
        browser.client.goto(&unit.op.url("/referrals")).await.expect("queue");
        browser.screenshot("queue-desktop").await;
        browser
            .client
            .goto(&unit.op.url(&format!("/referrals/{id}")))
            .await
            .expect("case");
        browser.screenshot("case-file-desktop").await;
        browser.close().await;
        let Some(browser) = start("desktop screenshots").await else {
            return;
        };
        browser.login(&referrer, "cas.telefono").await;
        browser
            .client
            .goto(&referrer.url(&format!("/portal/{}", sent["id"])))
            .await
            .expect("portal");
        browser.screenshot("portal-desktop").await;
        browser.close().await;
    }

    let Some(browser) = start_phone("phone layout", 390).await else {
        return;
    };
    browser.login(&unit.op, "operatrice.notte").await;
    browser.wait_path("/referrals").await;
    assert_eq!(
        browser.number("return window.innerWidth;").await,
        390.0,
        "a 390 px screen"
    );
    browser.assert_fits("the queue").await;
    browser.screenshot("queue-phone").await;
    browser
        .client
        .goto(&unit.op.url(&format!("/referrals/{id}")))
        .await
        .expect("case");
    browser.wait_text("h1", "R-").await;
    browser.assert_fits("the case file").await;
    // The decision is at hand: acknowledging and taking in charge within the first screen.
    for button in ["#acknowledge", "#take-charge"] {
        let top = browser
            .number(&format!(
                "return document.querySelector('{button}').getBoundingClientRect().top + window.scrollY;"
            ))
            .await;
        assert!(top < 844.0, "{button} is {top} px down on a phone");
    }
    // The person's facts are still on the page, below the decision.
    assert!(browser.text("#person").await.contains("Blessing"));
    browser.screenshot("case-file-phone").await;
    for (path, what) in [("/roster", "the roster"), ("/hotline", "the hotline log")] {
        browser.client.goto(&unit.coord.url(path)).await.expect("open");
        browser.wait_text("h1", "").await;
        browser.assert_fits(what).await;
    }
    // A table row reads as labelled lines: the label is drawn beside each value.
    browser.client.goto(&unit.op.url("/referrals")).await.expect("queue");
    let label = browser
        .client
        .execute(
            "return getComputedStyle(document.querySelector('table.list td[data-label]'), '::before').content;",
            vec![],
        )
        .await
        .expect("style");
    assert_eq!(label.as_str(), Some("\"Riferimento\""), "{label}");
    browser.close().await;

    let Some(browser) = start_phone("portal on a phone", 390).await else {
        return;
    };
    browser.login(&referrer, "cas.telefono").await;
    browser.client.goto(&referrer.url("/portal")).await.expect("portal");
    browser.assert_fits("the portal").await;
    browser
        .client
        .goto(&referrer.url(&format!("/portal/{}", sent["id"])))
        .await
        .expect("report");
    browser.wait_text("#next-steps", "800 290 290").await;
    browser.assert_fits("a report").await;
    browser.screenshot("portal-phone").await;
    browser.close().await;
}

/// The case page: an interview planned from its form (the mediator chosen by name), a double
/// booking refused on the page naming the clash, and the page fitting a phone.
#[actix_web::test]
async fn chromium_plans_an_interview_from_the_case_page() {
    let mut unit = crate::referrals::unit(Backend::Sqlite).await;
    let id = crate::casework::open_case(&mut unit).await;
    let Some(browser) = start("case page").await else {
        return;
    };
    browser.login(&unit.op, "operatrice.notte").await;
    browser
        .client
        .goto(&unit.op.url(&format!("/cases/{id}")))
        .await
        .expect("case");
    browser.wait_text("h1", "C-").await;
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
    // The form starts an hour from now; the setting, the language and the mediator are chosen.
    assert_eq!(browser.value("#interview_starts_at").await, "2026-11-25T04:00");
    select("#interview_setting", "cas".into()).await;
    select("#interview_language", "en".into()).await;
    select("#interview_mediator_id", unit.med_id.to_string()).await;
    browser.click("#plan-interview").await;
    browser.wait_text(".flash", "Colloquio fissato").await;
    let interviews = browser.text("#interview-form").await;
    assert!(!interviews.is_empty());
    let page = browser.client.source().await.expect("source");
    assert!(
        page.contains("Presso il CAS") && page.contains("in attesa di risposta"),
        "the booking is shown"
    );
    // The same mediator at the same time for the same case: refused, saying who and when.
    select("#interview_setting", "remote".into()).await;
    select("#interview_mediator_id", unit.med_id.to_string()).await;
    browser.click("#plan-interview").await;
    browser.wait_text(".error.general", "già impegnata/o").await;
    assert!(browser.text(".error.general").await.contains("25/11/2026 04:00"));
    browser.close().await;

    let Some(phone) = start_phone("case page on a phone", 390).await else {
        return;
    };
    phone.login(&unit.op, "operatrice.notte").await;
    phone
        .client
        .goto(&unit.op.url(&format!("/cases/{id}")))
        .await
        .expect("case");
    phone.wait_text("h1", "C-").await;
    phone.assert_fits("the case page").await;
    phone.client.goto(&unit.op.url("/cases")).await.expect("dashboard");
    phone.assert_fits("the dashboard").await;
    phone.client.goto(&unit.op.url("/calendar")).await.expect("calendar");
    phone.assert_fits("the calendar").await;
    phone.close().await;
}
