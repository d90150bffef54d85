//! Starting a demo, a browser-like client, and the simulator's control API.

use std::sync::Once;
use std::time::Duration;

use futures::StreamExt;
use login_portal::{DemoOptions, DemoUser, PortalHandle};
use reqwest::{Client, Response, StatusCode, header};

/// A demo whose phones wait to be answered by hand, ringing out after `ring_time`.
pub(crate) async fn demo_with_ring_time(ring_time: Duration) -> PortalHandle {
    login_portal::start_demo(DemoOptions::default().ring_time(ring_time))
        .await
        .unwrap()
}

/// A demo whose phones wait to be answered by hand.
pub(crate) async fn demo() -> PortalHandle {
    demo_with_ring_time(Duration::from_secs(30)).await
}

/// The demo user called `name`.
pub(crate) fn user<'a>(portal: &'a PortalHandle, name: &str) -> &'a DemoUser {
    portal
        .demo_users()
        .iter()
        .find(|u| u.username == name)
        .unwrap()
}

/// A client that keeps cookies, like a browser, and does not follow redirects (so that
/// tests see them).
pub(crate) fn browser() -> Client {
    client(true)
}

/// A client without a cookie store, not following redirects.
pub(crate) fn cookieless() -> Client {
    client(false)
}

fn client(cookies: bool) -> Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    Client::builder()
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The `Location` of a redirect.
pub(crate) fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The anti-forgery token in a page's forms.
pub(crate) fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a csrf field")
        + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// GETs `path` and returns the page, asserting 200.
pub(crate) async fn page(browser: &Client, portal: &PortalHandle, path: &str) -> String {
    let response = browser.get(url(portal, path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.text().await.unwrap()
}

pub(crate) fn url(portal: &PortalHandle, path: &str) -> String {
    format!("{}{}", portal.url(), path.trim_start_matches('/'))
}

/// POSTs a form and returns the response (redirects not followed).
pub(crate) async fn post(
    browser: &Client,
    portal: &PortalHandle,
    path: &str,
    form: &[(&str, &str)],
) -> Response {
    browser
        .post(url(portal, path))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Username then password, from a fresh start page; returns the password step's response.
pub(crate) async fn username_and_password(
    browser: &Client,
    portal: &PortalHandle,
    username: &str,
    password: &str,
) -> Response {
    let start = page(browser, portal, "/").await;
    let token = csrf(&start);
    let step = post(
        browser,
        portal,
        "/username",
        &[("csrf", &token), ("username", username)],
    )
    .await;
    assert_eq!(step.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&step), "/password");
    let password_page = page(browser, portal, "/password").await;
    let token = csrf(&password_page);
    post(
        browser,
        portal,
        "/password",
        &[("csrf", &token), ("password", password)],
    )
    .await
}

/// Waits for `username`'s phone to ring in the simulator, then answers it with `action`
/// (`pound`, `pin:1234`, `fraud`, `no-answer`) through the control API.
pub(crate) async fn answer(portal: &PortalHandle, username: &str, action: &str) {
    let http = browser();
    let control = portal.phones_url();
    for _ in 0..600 {
        let ringing: serde_json::Value = http
            .get(format!("{control}control/ringing"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let call = ringing
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["username"] == username);
        if let Some(call) = call {
            let id = call["id"].as_u64().unwrap();
            let answered = http
                .post(format!("{control}control/calls/{id}/answer"))
                .json(&serde_json::json!({ "action": action }))
                .send()
                .await
                .unwrap();
            assert_eq!(answered.status(), StatusCode::OK);
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{username}'s phone never rang");
}

/// The call page's server-sent events, read one at a time.
pub(crate) struct Events {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: Vec<u8>,
}

impl Events {
    /// Opens the event stream of the portal at `base` (its URL).
    pub(crate) async fn open(browser: &Client, base: &str) -> Self {
        let response = browser
            .get(format!("{base}call/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        Self {
            stream: response.bytes_stream().boxed(),
            buffer: Vec::new(),
        }
    }

    /// The next `progress` state, or `None` at `done`.
    pub(crate) async fn next_state(&mut self) -> Option<String> {
        loop {
            while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let event = String::from_utf8(event).unwrap();
                let name = event
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))
                    .unwrap_or_default();
                let data = event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap_or_default();
                match name {
                    "progress" => {
                        let data: serde_json::Value = serde_json::from_str(data).unwrap();
                        assert!(!data["text"].as_str().unwrap().is_empty());
                        return Some(data["state"].as_str().unwrap().to_owned());
                    }
                    "done" => return None,
                    _ => {}
                }
            }
            let chunk = self
                .stream
                .next()
                .await
                .expect("the event stream ended without done")
                .unwrap();
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// Every remaining `progress` state up to `done`.
    pub(crate) async fn rest(mut self) -> Vec<String> {
        let mut states = Vec::new();
        while let Some(state) = self.next_state().await {
            states.push(state);
        }
        states
    }
}

/// Reads the call page's server-sent events from the portal at `base` (its URL) until
/// `done`; returns the `progress` states in order.
pub(crate) async fn follow_events(browser: &Client, base: &str) -> Vec<String> {
    Events::open(browser, base).await.rest().await
}

/// The audit file's lines, parsed.
pub(crate) fn audit_lines(portal: &PortalHandle) -> Vec<serde_json::Value> {
    std::fs::read_to_string(portal.audit_log_path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The `kind.event` names in the audit file, in order.
pub(crate) fn audit_events(portal: &PortalHandle) -> Vec<String> {
    audit_lines(portal)
        .iter()
        .map(|l| l["kind"]["event"].as_str().unwrap().to_owned())
        .collect()
}
