//! The login portal driven in headless Chromium: a whole sign-in, a wrong password and a fraud
//! report, with screenshots under `target/e2e-screenshots/`; and the harness itself, against a
//! page of its own.

use std::time::Duration;

use e2e::Browser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(20);

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
    Browser::launch(name)
        .await
        .unwrap_or_else(|e| panic!("cannot start the browser: {e}"))
}

const ECHO_PAGE: &str = "<!doctype html><html><body><h1>Harness</h1>\
    <input id=\"name\"> <button id=\"go\" onclick=\"document.getElementById('out').textContent=\
    'hello '+document.getElementById('name').value\">Go</button><p id=\"out\"></p></body></html>";

#[tokio::test]
async fn harness_types_clicks_and_leaves_no_process_after_close() {
    let url = serve_page(ECHO_PAGE).await;
    let browser = launch("harness").await;
    browser.goto(&url).await.unwrap();
    browser.fill("input#name", "alice").await.unwrap();
    browser.click("button#go").await.unwrap();
    assert_eq!(browser.text("p#out").await.unwrap(), "hello alice");
    let png = browser.screenshot("echo").await.unwrap();
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));

    let profile = browser.profile_dir();
    assert!(
        !browser.processes().is_empty(),
        "chromium runs with our profile"
    );
    browser.close().await.unwrap();
    assert_eq!(e2e::processes_naming(&profile), Vec::<u32>::new());
}

#[tokio::test]
async fn dropping_the_browser_mid_test_kills_chromium() {
    let url = serve_page(ECHO_PAGE).await;
    let browser = launch("harness-drop").await;
    browser.goto(&url).await.unwrap();
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
    browser.goto(&url).await.unwrap();
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
    browser.close().await.unwrap();
    let _ = WAIT;
}
