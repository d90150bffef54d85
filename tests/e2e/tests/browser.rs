//! The login portal driven in headless Chromium: a whole sign-in, a wrong password and a fraud
//! report, with screenshots under `target/e2e-screenshots/`; and the harness itself, against a
//! page of its own.

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::{Browser, E2eError};
use login_portal::{DemoMode, DemoOptions, DemoUser, PortalHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long a page or a call may take to reach the state waited for. Generous: the whole
/// workspace's tests run beside these on two cores in CI.
const WAIT: Duration = Duration::from_secs(30);

/// The portal's generic failure texts: neither says which factor failed or why.
const WRONG_CREDENTIALS: &str = "The username or password is incorrect.";
const SECOND_FACTOR_FAILED: &str = "The phone verification did not succeed.";

/// Fails the test with the error's message and its causes: a timeout names its screenshot
/// and the page's text, a missing browser says how to install it.
trait OrFail<T> {
    fn or_fail(self) -> T;
}

impl<T> OrFail<T> for Result<T, E2eError> {
    #[track_caller]
    fn or_fail(self) -> T {
        match self {
            Ok(value) => value,
            Err(e) => {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    message.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                panic!("{message}")
            }
        }
    }
}

/// Serves one fixed HTML page on a loopback port, for testing the harness without the portal.
async fn serve_page(html: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port is free");
    let addr = listener
        .local_addr()
        .expect("a bound socket has an address");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = tcp.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/")
}

/// Starts the browser; when that fails (Chromium not installed, say), the test fails with the
/// error's message, which tells how to install it.
async fn launch(name: &str) -> Browser {
    Browser::launch(name).await.or_fail()
}

const ECHO_PAGE: &str = "<!doctype html><html><body><h1>Harness</h1>\
    <input id=\"name\"> <button id=\"go\" onclick=\"document.getElementById('out').textContent=\
    'hello '+document.getElementById('name').value\">Go</button><p id=\"out\"></p></body></html>";

#[tokio::test]
async fn harness_types_clicks_and_leaves_no_process_after_close() {
    let url = serve_page(ECHO_PAGE).await;
    let browser = launch("harness").await;
    browser.goto(&url).await.or_fail();
    browser.fill("input#name", "alice").await.or_fail();
    browser.click("button#go").await.or_fail();
    assert_eq!(browser.text("p#out").await.or_fail(), "hello alice");
    let png = browser.screenshot("echo").await.or_fail();
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));

    let profile = browser.profile_dir();
    assert!(
        !browser.processes().is_empty(),
        "chromium runs with our profile"
    );
    browser.close().await.or_fail();
    assert_eq!(e2e::processes_naming(&profile), Vec::<u32>::new());
}

#[tokio::test]
async fn dropping_the_browser_mid_test_kills_chromium() {
    let url = serve_page(ECHO_PAGE).await;
    let browser = launch("harness-drop").await;
    browser.goto(&url).await.or_fail();
    let profile = browser.profile_dir();
    assert!(!browser.processes().is_empty());
    // What a failing test does: unwinds without calling close().
    drop(browser);
    assert_eq!(e2e::processes_naming(&profile), Vec::<u32>::new());
}

#[tokio::test]
async fn a_missing_element_fails_with_a_screenshot_and_the_page_text() {
    let url = serve_page(ECHO_PAGE).await;
    let browser = launch("harness-timeout").await;
    browser.goto(&url).await.or_fail();
    let err = browser
        .wait_for("#nowhere", Duration::from_millis(300))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("#nowhere did not appear"), "{message}");
    assert!(message.contains("Harness"), "{message}");
    let e2e::E2eError::Timeout { screenshot, .. } = err else {
        panic!("expected a timeout, got {err:?}");
    };
    assert!(screenshot.is_file());
    browser.close().await.or_fail();
}

// ---- the portal ---------------------------------------------------------------------------

/// The portal demo (simulator embedded, phones that ring until answered by hand).
async fn start_portal() -> PortalHandle {
    login_portal::start_demo(DemoOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot start the portal demo: {e}"))
}

fn demo_user(portal: &PortalHandle, name: &str) -> DemoUser {
    portal
        .demo_users()
        .iter()
        .find(|u| u.username == name)
        .unwrap_or_else(|| panic!("the demo has a user {name}"))
        .clone()
}

/// `path` on the simulator's control API (its phone page is at the root).
async fn control(portal: &PortalHandle, path: &str) -> Value {
    let url = format!("{}/{path}", portal.phones_url().trim_end_matches('/'));
    let text = e2e::get_text(&url)
        .await
        .unwrap_or_else(|e| panic!("simulator control API: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url} is not JSON ({e}): {text}"))
}

/// The id of the call ringing for `username`, waiting for it to ring.
async fn ringing_call(portal: &PortalHandle, user: &DemoUser) -> u64 {
    let start = Instant::now();
    loop {
        let ringing = control(portal, "control/ringing").await;
        let calls = ringing.as_array().expect("control/ringing is a list");
        if let Some(call) = calls
            .iter()
            .find(|c| c["username"] == user.username.as_str())
        {
            let digits: String = user.phone.chars().filter(char::is_ascii_digit).collect();
            let dialled = format!(
                "{}{}",
                call["phone"]["country_code"].as_str().unwrap_or_default(),
                call["phone"]["number"].as_str().unwrap_or_default()
            );
            assert_eq!(dialled, digits, "the call rings {}'s phone", user.username);
            return call["id"].as_u64().expect("a ringing call has an id");
        }
        assert!(
            start.elapsed() < WAIT,
            "no call rang for {} within {WAIT:?}: {ringing}",
            user.username
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every line of the portal's audit file, parsed, once `done` holds for them (the file is
/// written as the login goes; this waits for the last event of interest).
async fn audit_events(path: &Path, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let events: Vec<Value> = text
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {line}"))
            })
            .collect();
        if done(&events) || start.elapsed() > WAIT {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn event_names(events: &[Value], user: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["user"] == user)
        .filter_map(|e| e["kind"]["event"].as_str().map(str::to_owned))
        .collect()
}

/// Username and password pages, up to the call page showing the phone ringing; a screenshot
/// of each.
async fn sign_in_until_ringing(browser: &Browser, portal: &PortalHandle, user: &DemoUser) {
    browser.goto(portal.url()).await.or_fail();
    browser.wait_for("form#username-form", WAIT).await.or_fail();
    browser
        .fill("input#username", &user.username)
        .await
        .or_fail();
    browser.screenshot("username").await.or_fail();
    browser.click("button#continue").await.or_fail();

    browser.wait_for("form#password-form", WAIT).await.or_fail();
    assert_eq!(
        browser.text("#signing-in-as").await.or_fail(),
        format!("Signing in as {}", user.username)
    );
    browser
        .fill("input#password", &user.password)
        .await
        .or_fail();
    browser.screenshot("password").await.or_fail();
    browser.click("button#sign-in").await.or_fail();

    browser
        .wait_for("#call-progress[data-state='ringing']", WAIT)
        .await
        .or_fail();
    browser.screenshot("call-ringing").await.or_fail();
}

/// What the person does on the simulator's phone page.
#[derive(Clone, Copy)]
enum Answer<'a> {
    /// Presses the button with this `value` (`pound`, `fraud`, `no-answer`).
    Button(&'a str),
    /// Types the PIN into the call's PIN field and presses "Key PIN + #".
    Pin(&'a str),
}

/// On the simulator's phone page in a second tab, answers the call ringing for `user`, then
/// goes back to the portal's tab.
async fn answer_on_phone_page(
    browser: &Browser,
    portal: &PortalHandle,
    user: &DemoUser,
    answer: Answer<'_>,
) {
    let call = ringing_call(portal, user).await;
    let portal_tab = browser.current_tab().await.or_fail();
    browser.open_tab(portal.phones_url()).await.or_fail();
    let form = format!("form[action='/control/calls/{call}/answer']");
    let selector = match answer {
        Answer::Button(value) => format!("{form} button[value='{value}']"),
        Answer::Pin(_) => format!("{form} button.pin"),
    };
    browser.wait_for(&selector, WAIT).await.or_fail();
    if let Answer::Pin(pin) = answer {
        // The page stops reloading itself while its PIN field has the focus.
        browser
            .fill(&format!("{form} input[name='pin']"), pin)
            .await
            .or_fail();
        assert_eq!(
            browser.attr(&selector, "value").await.or_fail().as_deref(),
            Some(format!("pin:{pin}").as_str()),
            "the page's script copies the PIN into the button"
        );
    }
    browser.screenshot("phone-ringing").await.or_fail();
    browser.click(&selector).await.or_fail();
    // The form posts, then the page comes back without the call.
    let start = Instant::now();
    while browser
        .client()
        .find(fantoccini::Locator::Css(&selector))
        .await
        .is_ok()
    {
        assert!(
            start.elapsed() < WAIT,
            "call {call} still ringing after the answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.screenshot("phone-answered").await.or_fail();
    browser.switch_to(&portal_tab).await.or_fail();
}

#[tokio::test]
async fn whole_sign_in_answered_with_pound_on_the_phone_page_lands_signed_in() {
    let portal = start_portal().await;
    let alice = demo_user(&portal, "alice");
    let browser = launch("sign-in").await;

    sign_in_until_ringing(&browser, &portal, &alice).await;
    answer_on_phone_page(&browser, &portal, &alice, Answer::Button("pound")).await;

    browser.wait_for("#signed-in", WAIT).await.or_fail();
    assert_eq!(
        browser.text("#signed-in").await.or_fail(),
        "You are signed in as alice."
    );
    browser.screenshot("signed-in").await.or_fail();

    let calls = control(&portal, "control/calls").await;
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 1, "one call placed: {calls:?}");
    assert_eq!(calls[0]["username"], "alice");
    assert_eq!(calls[0]["action"], "pound");
    assert_eq!(calls[0]["answered_by_hand"], true);
    assert_eq!(calls[0]["authenticated"], true);

    browser.click("button#sign-out").await.or_fail();
    browser.wait_for("form#username-form", WAIT).await.or_fail();
    browser.screenshot("signed-out").await.or_fail();
    let events = audit_events(portal.audit_log_path(), |e| {
        event_names(e, "alice")
            .iter()
            .any(|n| n == "portal-signed-out")
    })
    .await;
    assert_eq!(
        event_names(&events, "alice"),
        [
            "login-started",
            "password-accepted",
            "call-placed",
            "authenticated",
            "portal-signed-out"
        ]
    );

    browser.close().await.or_fail();
    portal.shutdown().await;
}

#[tokio::test]
async fn pin_keyed_on_the_phone_page_signs_a_pin_mode_user_in() {
    let portal = start_portal().await;
    let bob = demo_user(&portal, "bob");
    let DemoMode::Pin(pin) = &bob.mode else {
        panic!("bob answers with a PIN in the demo: {:?}", bob.mode);
    };
    let browser = launch("pin").await;

    sign_in_until_ringing(&browser, &portal, &bob).await;
    answer_on_phone_page(&browser, &portal, &bob, Answer::Pin(pin)).await;

    browser.wait_for("#signed-in", WAIT).await.or_fail();
    assert_eq!(
        browser.text("#signed-in").await.or_fail(),
        "You are signed in as bob."
    );
    browser.screenshot("signed-in").await.or_fail();
    let calls = control(&portal, "control/calls").await;
    assert_eq!(calls[0]["pin_mode"], "pin", "{calls}");
    assert_eq!(calls[0]["answered_by_hand"], true);
    assert_eq!(calls[0]["authenticated"], true);

    browser.close().await.or_fail();
    portal.shutdown().await;
}

#[tokio::test]
async fn wrong_password_shows_the_generic_failure_and_places_no_call() {
    let portal = start_portal().await;
    let alice = demo_user(&portal, "alice");
    let browser = launch("wrong-password").await;

    browser.goto(portal.url()).await.or_fail();
    browser.fill("input#username", "alice").await.or_fail();
    browser.click("button#continue").await.or_fail();
    browser
        .fill("input#password", "not-the-password")
        .await
        .or_fail();
    browser.screenshot("wrong-password").await.or_fail();
    browser.click("button#sign-in").await.or_fail();

    browser.wait_for("#login-failed", WAIT).await.or_fail();
    assert_eq!(
        browser.text("#login-failed").await.or_fail(),
        WRONG_CREDENTIALS
    );
    browser.screenshot("login-failed").await.or_fail();
    assert_ne!(alice.password, "not-the-password");

    let calls = control(&portal, "control/calls").await;
    assert_eq!(calls, Value::Array(Vec::new()), "no call placed");
    assert_eq!(
        control(&portal, "control/ringing").await,
        Value::Array(Vec::new())
    );
    let events = audit_events(portal.audit_log_path(), |e| {
        event_names(e, "alice").iter().any(|n| n == "denied")
    })
    .await;
    assert_eq!(event_names(&events, "alice"), ["login-started", "denied"]);

    browser.click("a#start-over").await.or_fail();
    browser.wait_for("form#username-form", WAIT).await.or_fail();
    browser.close().await.or_fail();
    portal.shutdown().await;
}

#[tokio::test]
async fn fraud_reported_on_the_phone_page_fails_the_login_and_is_audited() {
    let portal = start_portal().await;
    let alice = demo_user(&portal, "alice");
    let browser = launch("fraud").await;

    sign_in_until_ringing(&browser, &portal, &alice).await;
    answer_on_phone_page(&browser, &portal, &alice, Answer::Button("fraud")).await;

    browser.wait_for("#login-failed", WAIT).await.or_fail();
    assert_eq!(
        browser.text("#login-failed").await.or_fail(),
        SECOND_FACTOR_FAILED
    );
    browser.screenshot("login-failed").await.or_fail();
    assert!(
        browser
            .client()
            .find(fantoccini::Locator::Css("#signed-in"))
            .await
            .is_err()
    );

    let calls = control(&portal, "control/calls").await;
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 1, "one call placed: {calls:?}");
    assert_eq!(calls[0]["action"], "fraud");
    assert_eq!(calls[0]["answered_by_hand"], true);
    assert_eq!(calls[0]["authenticated"], false);

    let events = audit_events(portal.audit_log_path(), |e| {
        event_names(e, "alice").iter().any(|n| n == "fraud-alert")
    })
    .await;
    let fraud: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"]["event"] == "fraud-alert")
        .collect();
    assert_eq!(fraud.len(), 1, "one fraud event: {events:?}");
    assert_eq!(fraud[0]["user"], "alice");
    assert_eq!(fraud[0]["severity"], "alert");
    assert!(
        !event_names(&events, "alice")
            .iter()
            .any(|n| n == "authenticated"),
        "{events:?}"
    );

    browser.close().await.or_fail();
    portal.shutdown().await;
}
