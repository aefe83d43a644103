//! The moderator console in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`; `.ci/run` installs them). Each test starts chromedriver on a
//! free loopback port and the server on SQLite in a temporary directory, and makes its cases through
//! the real API (franked, stamped, reported). Without chromedriver the tests fail under `CI=true`
//! and print a line and pass locally.
//!
//! Every test takes screenshots of the pages it drives, into `target/tmp/console-screenshots/` (Cargo's `CARGO_TARGET_TMPDIR`); with
//! `FRANKING_UPDATE_SCREENSHOTS=1` they go to `docs/img/` instead (shown in README.md and
//! `docs/console.md`), so a plain test run leaves the checkout as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::*;
use console_support::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// Browser tests share two cores with the rest of the suite: one browser at a time.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A chromedriver process and a WebDriver session in headless Chromium (1280×800).
struct Browser {
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find_binary(env: &str, names: &[&str]) -> Option<String> {
    if let Ok(p) = std::env::var(env) {
        return Some(p);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p.to_string_lossy().into_owned());
            }
        }
    }
    None
}

impl Browser {
    /// Start chromedriver and a browser session; `None` (after printing why) when chromedriver is
    /// not installed and this is not CI.
    async fn start() -> Option<Self> {
        let Some(driver_bin) = find_binary("CHROMEDRIVER", &["chromedriver"]) else {
            assert!(
                std::env::var("CI").is_ok_and(|v| v != "true") || std::env::var("CI").is_err(),
                "CI=true but chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "skipping the console browser test: chromedriver not found \
                 (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut opts = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,800",
                "--force-device-scale-factor=1",
                "--lang=en-US",
            ]
        });
        if let Some(chromium) = find_binary("CHROMIUM", &["chromium", "chromium-browser"]) {
            opts["binary"] = json!(chromium);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), opts);
        // Leave any alert open so that the test can see it.
        caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
        let mut client = None;
        while client.is_none() {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => client = Some(c),
                Err(e) => {
                    assert!(Instant::now() < deadline, "no WebDriver session: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        let b = Self {
            client: client.unwrap(),
            driver,
        };
        b.set_viewport(1280, 800).await;
        Some(b)
    }

    /// Size the window so that the page's viewport is `width`×`height` CSS pixels.
    async fn set_viewport(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
        let inner = self
            .js("return [window.innerWidth, window.innerHeight];")
            .await;
        let dw = width - u32::try_from(inner[0].as_u64().unwrap()).unwrap();
        let dh = height - u32::try_from(inner[1].as_u64().unwrap()).unwrap();
        self.client
            .set_window_size(width + dw, height + dh)
            .await
            .unwrap();
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Poll a JS expression until it is truthy.
    async fn wait_true(&self, expr: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.js(&format!("return !!({expr});")).await;
            if v == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let text = self.js("return document.body.innerText;").await;
                panic!("timed out waiting for {what} ({expr}); page: {text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap();
    }

    async fn choose(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn no_alert(&self) {
        match self.client.get_alert_text().await {
            Err(e) if e.is_no_such_alert() => {}
            other => panic!("an alert is open: {other:?}"),
        }
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = if std::env::var_os("FRANKING_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/img")
        } else {
            concat!(env!("CARGO_TARGET_TMPDIR"), "/console-screenshots")
        };
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(format!("{dir}/{name}"), png).unwrap();
    }

    async fn close(mut self) {
        let client = self.client.clone();
        client.close().await.unwrap();
        let _ = self.driver.kill();
    }
}

/// A server on SQLite in a temp dir, reachable over real HTTP; networks net1 and net2.
struct Server {
    h: Harness,
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    async fn start() -> Self {
        let h = harness_with(TestDb::sqlite(), report_server::Limits::default()).await;
        let (addr, stop, _) = spawn_http(h.state.clone()).await;
        Self {
            h,
            addr,
            _stop: stop,
        }
    }

    fn url(&self, frag: &str) -> String {
        format!("http://{}/console/{frag}", self.addr)
    }

    async fn case(&self, id: &str) -> Value {
        let r = self
            .h
            .t()
            .get(&format!("/v1/cases/{id}"), Some(&self.h.admin))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }
}

/// Go to a case page and wait until that case (not the page before it) is shown.
async fn open_case(b: &Browser, s: &Server, id: &str) {
    b.goto(&s.url(&format!("#/cases/{id}"))).await;
    b.wait_true(
        &format!(
            "(() => {{ const c = document.querySelector('main h1 code'); \
               return !!c && c.textContent === '{id}' && !!document.getElementById('verified-h'); }})()"
        ),
        "the case page",
    )
    .await;
}

async fn sign_in_page(b: &Browser, s: &Server, token: &str) {
    b.goto(&s.url("#/signin")).await;
    b.type_into("#token", token).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_true(
        "document.getElementById('sign-out') && !document.getElementById('sign-out').hidden",
        "signed in",
    )
    .await;
}

#[tokio::test]
async fn moderator_triages_resolves_and_bulk_dismisses() {
    let _one = ONE_BROWSER.lock().await;
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = Server::start().await;
    let t = s.h.t();
    let n1 = &s.h.net1;

    // The queue: realistic cases through the real intake.
    let pills = room_case(
        &t,
        n1,
        "net1",
        RoomCase {
            sender: "mallory",
            reporters: &["bob", "carol", "dave"],
            earlier: &[
                ("bob", "Anyone up for climbing on Saturday?"),
                ("mallory", "Great deals at my shop, DM me"),
                ("carol", "Please stop posting ads here."),
            ],
            text: "Cheap meds, no prescription needed: visit pills.example and use code SAVE50",
            category: "spam",
        },
    )
    .await;
    let threat = room_case(
        &t,
        n1,
        "net1",
        RoomCase {
            sender: "trent",
            reporters: &["erin", "frank"],
            earlier: &[],
            text: "You'd better watch your back tomorrow.",
            category: "harassment",
        },
    )
    .await;
    let xss = case_with_text(
        &t,
        n1,
        "net1",
        "oscar",
        "spam",
        "<script>window.__xss=1;alert(1)</script><img src=x onerror=\"window.__xss=2\">",
    )
    .await;
    let dup1 = case_with_text(&t, n1, "net1", "peggy", "other", "Follow my channel!!!").await;
    let dup2 = case_with_text(&t, n1, "net1", "peggy", "other", "Follow my channel again").await;
    let _net2 = case_with_text(&t, &s.h.net2, "net2", "victor", "spam", "other network").await;

    // Signed out: sent to sign-in, then back to where they were going.
    b.goto(&s.url("#/queue")).await;
    b.wait_true(
        "location.hash.startsWith('#/signin')",
        "redirect to sign-in",
    )
    .await;
    sign_in_page(&b, &s, &n1.moderator).await;
    b.wait_true("location.hash.startsWith('#/queue')", "back to the queue")
        .await;
    b.wait_true(
        "document.querySelectorAll('a.case-link').length === 5",
        "5 cases of net1",
    )
    .await;
    assert_eq!(b.text("#who").await, "Moderator mod · net1");
    // Counts per state.
    assert!(
        b.text("#state-counts a[data-state=open]")
            .await
            .ends_with(" 5")
    );

    // Filter: category spam, most reported first.
    b.type_into("#queue-filters input[name=category]", "spam")
        .await;
    b.choose("#queue-filters select[name=sort]", "most_reported")
        .await;
    b.click("#queue-filters button[type=submit]").await;
    b.wait_true(
        "document.querySelectorAll('a.case-link').length === 2",
        "2 spam cases",
    )
    .await;
    let order = b
        .js("return [...document.querySelectorAll('a.case-link')].map(a => a.textContent);")
        .await;
    assert_eq!(order, json!([pills, xss]));
    assert!(
        b.text("#state-counts a[data-state=all]")
            .await
            .ends_with(" 2")
    );
    b.goto(&s.url("#/queue?sort=most_reported")).await;
    b.wait_true(
        "document.querySelectorAll('a.case-link').length === 5",
        "all cases",
    )
    .await;
    b.screenshot("console-queue.png").await;

    // The script-tag message renders as text and runs nothing.
    open_case(&b, &s, &xss).await;
    assert_eq!(
        b.text(".reported .message-text").await,
        "<script>window.__xss=1;alert(1)</script><img src=x onerror=\"window.__xss=2\">"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.no_alert().await;
    assert_eq!(
        b.js("return typeof window.__xss;").await,
        json!("undefined")
    );
    assert_eq!(
        b.js("return document.querySelectorAll('main script, main img').length;")
            .await,
        json!(0)
    );

    // A case with text and earlier messages: verified panel, reporter's own message marked.
    open_case(&b, &s, &pills).await;
    let verified = b.text(".verified").await;
    assert!(verified.contains("Stamp key id\n1"), "{verified}");
    let c = s.case(&pills).await;
    assert!(
        verified.contains(c["commitment"].as_str().unwrap()),
        "{verified}"
    );
    assert!(verified.contains("Sender\nmallory"), "{verified}");
    assert_eq!(
        b.text(".reported .message-text").await,
        "Cheap meds, no prescription needed: visit pills.example and use code SAVE50"
    );
    let earlier = b
        .js("return [...document.querySelectorAll('.conversation li')].map(li => [li.querySelector('.message-text').textContent, li.classList.contains('by-reporter')]);")
        .await;
    assert_eq!(
        earlier,
        json!([
            ["Anyone up for climbing on Saturday?", true],
            ["Great deals at my shop, DM me", false],
            ["Please stop posting ads here.", false],
        ])
    );
    let reporters = b.text("#reporters-h + .table-wrap").await;
    for r in ["bob", "carol", "dave"] {
        assert!(reporters.contains(r), "{reporters}");
    }
    b.screenshot("console-case.png").await;

    // Resolve with an action and a note; the audit trail shows it.
    b.wait_true(
        "document.querySelectorAll('#resolve-action option').length >= 5",
        "resolution actions",
    )
    .await;
    b.choose("#resolve-action", "remove_content").await;
    b.find("#resolve-note")
        .await
        .send_keys("Pharmacy spam; removed.")
        .await
        .unwrap();
    b.click("#resolve-form button[type=submit]").await;
    b.wait_true(
        "document.getElementById('audit-trail') && document.getElementById('audit-trail').textContent.includes('case.resolve')",
        "the resolve audit entry",
    )
    .await;
    let audit = b.text("#audit-trail").await;
    assert!(audit.contains("moderator:mod@net1"), "{audit}");
    assert!(audit.contains("action: remove_content"), "{audit}");
    assert!(
        b.text("#notes-h + .notes")
            .await
            .contains("Pharmacy spam; removed.")
    );
    assert_eq!(b.text("#flash").await, "Resolved: Remove content.");
    let c = s.case(&pills).await;
    assert_eq!(
        (c["state"].as_str(), c["resolution_action"].as_str()),
        (Some("resolved"), Some("remove_content"))
    );

    // A lost race is a clear message, not an error page.
    b.goto(&s.url(&format!("#/cases/{threat}"))).await;
    b.find("#dismiss-form").await;
    let r = t
        .post(
            &format!("/v1/cases/{threat}/dismiss"),
            Some(&n1.moderator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    b.click("#dismiss-form button[type=submit]").await;
    b.wait_true(
        "document.querySelector('.notice-conflict')",
        "the conflict notice",
    )
    .await;
    assert!(
        b.text(".notice-conflict")
            .await
            .starts_with("Someone else changed this case first")
    );
    b.find("#reopen-form").await; // the page shows the current (dismissed) state

    // Bulk dismiss of two cases.
    b.goto(&s.url("#/queue?state=open")).await;
    b.wait_true(
        "document.querySelectorAll('a.case-link').length === 3",
        "3 open cases",
    )
    .await;
    for id in [&dup1, &dup2] {
        b.click(&format!("input.select-case[value='{id}']")).await;
    }
    assert_eq!(
        b.text("#bulk-dismiss ~ span, .bulk > span").await,
        "2 selected"
    );
    b.click("#bulk-dismiss").await;
    b.wait_true(
        "document.getElementById('flash').textContent.startsWith('Dismissed 2 of 2')",
        "bulk result",
    )
    .await;
    b.wait_true(
        "document.querySelectorAll('a.case-link').length === 1",
        "1 open case left",
    )
    .await;
    for id in [&dup1, &dup2] {
        assert_eq!(s.case(id).await["state"], "dismissed");
    }

    // Narrow window: nothing overflows sideways.
    b.set_viewport(400, 800).await;
    open_case(&b, &s, &pills).await;
    b.wait_true(
        "document.documentElement.scrollWidth <= window.innerWidth",
        "no horizontal overflow at 400px",
    )
    .await;
    b.close().await;
}

#[tokio::test]
async fn csrf_is_enforced_and_sign_out_returns_to_sign_in() {
    let _one = ONE_BROWSER.lock().await;
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = Server::start().await;
    let case = case_with_text(&s.h.t(), &s.h.net1, "net1", "alice", "spam", "hi").await;
    sign_in_page(&b, &s, &s.h.net1.moderator).await;
    // The page's own cookie without the CSRF header: refused, nothing changed.
    let r = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                   body: JSON.stringify({ body: 'sneaky' }) })
               .then(r => r.json().then(j => done([r.status, j.error.code])));",
            vec![json!(format!("/v1/cases/{case}/notes"))],
        )
        .await
        .unwrap();
    assert_eq!(r, json!([403, "csrf_token_missing"]));
    let r = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'guess' },
                                   body: JSON.stringify({ body: 'sneaky' }) })
               .then(r => r.json().then(j => done([r.status, j.error.code])));",
            vec![json!(format!("/v1/cases/{case}/notes"))],
        )
        .await
        .unwrap();
    assert_eq!(r, json!([403, "csrf_token_invalid"]));
    assert_eq!(s.case(&case).await["note_count"], 0);
    // The HttpOnly cookie is invisible to script.
    assert_eq!(b.js("return document.cookie;").await, json!(""));

    // Sign out: back to sign-in; the queue now redirects there too.
    b.click("#sign-out").await;
    b.wait_true(
        "location.hash.startsWith('#/signin')",
        "sign-in after sign-out",
    )
    .await;
    b.goto(&s.url(&format!("#/cases/{case}"))).await;
    b.wait_true(
        "location.hash.startsWith('#/signin')",
        "redirect to sign-in",
    )
    .await;
    b.find("#signin-form").await;
    // A relay token cannot sign in; the page says why.
    b.type_into("#token", &s.h.net1.relay).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_true(
        "document.querySelector('#signin-status .notice-error')",
        "refusal",
    )
    .await;
    assert_eq!(
        b.text("#signin-status").await,
        "The console accepts admin and moderator tokens only."
    );
    // Signing in goes straight to the case that was asked for.
    let input = b.find("#token").await;
    input.clear().await.unwrap();
    input.send_keys(&s.h.net1.moderator).await.unwrap();
    b.click("#signin-form button[type=submit]").await;
    b.find("#verified-h").await;
    assert_eq!(
        b.js("return location.hash;").await,
        json!(format!("#/cases/{case}"))
    );
    b.close().await;
}

#[tokio::test]
async fn moderator_of_another_network_gets_not_found() {
    let _one = ONE_BROWSER.lock().await;
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = Server::start().await;
    let case = case_with_text(&s.h.t(), &s.h.net1, "net1", "alice", "spam", "secret").await;
    sign_in_page(&b, &s, &s.h.net2.moderator).await;
    b.goto(&s.url(&format!("#/cases/{case}"))).await;
    assert_eq!(b.text("#case-missing").await, "Case not found");
    let page = b.js("return document.body.innerText;").await;
    assert!(page.as_str().unwrap().contains("Not found"), "{page}");
    assert!(!page.as_str().unwrap().contains("secret"));
    // And the queue of net2 does not list it.
    b.goto(&s.url("#/queue")).await;
    b.find("#queue-empty").await;
    // The same case for net1's moderator is there (the case id was right).
    let cookie = sign_in(&s.h.app, &s.h.net1.moderator).await;
    let r = with_session(
        &s.h.app,
        &cookie,
        Method::GET,
        &format!("/v1/cases/{case}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    b.close().await;
}

#[tokio::test]
async fn admin_issues_a_token_shown_once_and_rotates_a_key() {
    let _one = ONE_BROWSER.lock().await;
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = Server::start().await;
    sign_in_page(&b, &s, &s.h.admin).await;
    assert_eq!(b.text("#who").await, "Admin test-admin");
    // Tokens: issue a moderator token; it is shown once and works.
    b.goto(&s.url("#/admin/tokens")).await;
    b.choose("#token-issue select[name=network]", "net1").await;
    b.type_into("#token-issue input[name=subject]", "grace")
        .await;
    b.click("#token-issue button[type=submit]").await;
    let secret = b
        .find("#issued-secret")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secret.len(), 43);
    let r = s.h.t().get("/v1/cases", Some(&secret)).await;
    assert_eq!(r.status, StatusCode::OK);
    b.click("#issued-token button").await;
    b.wait_true("!document.getElementById('issued-secret')", "secret gone")
        .await;
    b.wait_true(
        "document.querySelector('main').innerText.includes('grace')",
        "the token list",
    )
    .await;
    let page = b.js("return document.body.innerText;").await;
    assert!(!page.as_str().unwrap().contains(&secret));
    // Networks: rotate net1's key.
    b.goto(&s.url("#/admin/networks?network=net1")).await;
    b.click("#rotate-key").await;
    b.wait_true(
        "document.getElementById('flash').textContent.startsWith('New current key 2 for net1')",
        "rotation",
    )
    .await;
    let r =
        s.h.t()
            .get("/v1/admin/networks/net1/keys", Some(&s.h.admin))
            .await;
    assert_eq!(r.body["keys"].as_array().unwrap().len(), 2);
    // Stop key 1 at once: the table shows when, and offers no retire button for it any more.
    b.wait_true(
        "[...document.querySelectorAll('input[type=checkbox]')].some(c => c.getAttribute('aria-label') === 'Stop verifying key 1 now')",
        "key 1's retire controls",
    )
    .await;
    b.js("document.querySelector('input[aria-label=\"Stop verifying key 1 now\"]').click(); \
          document.querySelector('input[aria-label=\"Stop verifying key 1 now\"]').closest('td').querySelector('button').click(); \
          return null;")
        .await;
    b.wait_true(
        "document.getElementById('flash').textContent.startsWith('Key 1 retired (no longer verifies)')",
        "immediate retirement",
    )
    .await;
    b.wait_true(
        "[...document.querySelectorAll('td')].some(td => td.textContent === 'verifies nothing') && !document.querySelector('input[aria-label=\"Stop verifying key 1 now\"]')",
        "key 1 shown as stopped",
    )
    .await;
    let r =
        s.h.t()
            .get("/v1/admin/networks/net1/keys", Some(&s.h.admin))
            .await;
    let key1 = r.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == 1)
        .unwrap()
        .clone();
    assert!(key1["stopped_at"].is_i64(), "{key1}");
    let stopped_header = b
        .js("return [...document.querySelectorAll('th')].some(th => th.textContent === 'Stopped verifying');")
        .await;
    assert_eq!(stopped_header, serde_json::json!(true));
    b.js("document.getElementById('net-h').scrollIntoView(); return null;")
        .await;
    b.screenshot("console-admin-keys.png").await;
    // Audit log lists the console sign-in and the rotation.
    b.goto(&s.url("#/admin/audit")).await;
    b.wait_true(
        "document.querySelector('table.audit') && document.querySelector('table.audit').textContent.includes('console.sign_in')",
        "audit log",
    )
    .await;
    assert!(b.text("table.audit").await.contains("key.rotate"));
    b.close().await;
}

/// A real PNG of `width`×`height` pixels (a gradient, so it is visibly an image in screenshots).
fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 160])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn images_render_inline_and_svg_runs_nothing() {
    let _one = ONE_BROWSER.lock().await;
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = Server::start().await;
    let photo = png(173, 61);
    // An SVG that would run script if the console ever rendered it (inline, as <img>, <object>,
    // <iframe> or by navigating to it).
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="window.__xss=3;alert(3)"><script>window.__xss=4;alert(4)</script><rect width="40" height="40"/></svg>"#;
    // A PNG mislabelled as HTML is not shown inline either.
    let case = case_with_attachments(
        &s.h.t(),
        &s.h.net1,
        "net1",
        "mallory",
        "Look at these <b>files</b>",
        &[
            ("image/png", &photo),
            ("image/svg+xml", svg),
            ("text/html", &photo),
        ],
    )
    .await;
    sign_in_page(&b, &s, &s.h.net1.moderator).await;
    open_case(&b, &s, &case).await;
    assert_eq!(
        b.text(".reported .message-text").await,
        "Look at these <b>files</b>"
    );

    // The PNG is rendered from the download endpoint: the browser decoded it to its real size.
    b.wait_true(
        "(() => { const i = document.querySelector('img.attachment-image'); \
           return i && i.complete && i.naturalWidth > 0; })()",
        "the image decoded",
    )
    .await;
    let imgs = b
        .js("return [...document.querySelectorAll('main img')].map(i => [i.naturalWidth, i.naturalHeight, new URL(i.src).pathname]);")
        .await;
    let c = s.case(&case).await;
    let atts = c["evidence"][0]["content"]["message"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no attachments in the case view: {c}"));
    assert_eq!(atts.len(), 3, "{c}");
    let id_of = |i: usize| atts[i]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        imgs,
        json!([[
            173,
            61,
            format!("/v1/cases/{case}/attachments/{}", id_of(0))
        ]])
    );

    // The SVG and the mislabelled file are only downloads: links with `download`, never rendered.
    let links = b
        .js("return [...document.querySelectorAll('main a[data-attachment]')].map(a => [a.dataset.attachment, a.hasAttribute('download')]);")
        .await;
    assert_eq!(links, json!([[id_of(1), true], [id_of(2), true]]));
    assert_eq!(
        b.js("return document.querySelectorAll('main object, main embed, main iframe, main svg image, main script').length;")
            .await,
        json!(0)
    );
    // The download of the SVG is an attachment, never a document to render.
    let cookie = sign_in(&s.h.app, &s.h.net1.moderator).await;
    let dl = with_session(
        &s.h.app,
        &cookie,
        Method::GET,
        &format!("/v1/cases/{case}/attachments/{}", id_of(1)),
        None,
        None,
    )
    .await;
    assert_eq!(dl.status, StatusCode::OK);
    let disposition = dl.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    // Should a browser render it anyway, the sandbox CSP leaves it no script and no sniffing.
    assert_eq!(
        dl.headers["content-security-policy"].to_str().unwrap(),
        "sandbox; default-src 'none'"
    );
    assert_eq!(
        dl.headers["x-content-type-options"].to_str().unwrap(),
        "nosniff"
    );
    open_case(&b, &s, &case).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.no_alert().await;
    assert_eq!(
        b.js("return typeof window.__xss;").await,
        json!("undefined")
    );
    b.screenshot("console-case-attachments.png").await;
    b.close().await;
}
