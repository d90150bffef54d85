//! Whole logins: answered, PIN, TFA off, wrong password, fraud, ring-out, cancel, sign-out.

use std::time::Duration;

use login_portal::DemoMode;
use reqwest::StatusCode;

use crate::support::{
    Events, answer, audit_events, audit_lines, browser, csrf, demo, demo_with_ring_time,
    follow_events, location, page, post, url, user, username_and_password,
};

#[tokio::test]
async fn answering_with_pound_signs_in_and_the_events_show_the_call_progress() {
    let portal = demo().await;
    let alice = user(&portal, "alice").clone();
    let browser = browser();

    let placed = username_and_password(&browser, &portal, "alice", &alice.password).await;
    assert_eq!(placed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&placed), "/call");
    let call_page = page(&browser, &portal, "/call").await;
    assert!(call_page.contains("id=\"call-progress\""), "{call_page}");
    assert!(
        call_page.contains("data-state=\"placing\"")
            || call_page.contains("data-state=\"ringing\""),
        "{call_page}"
    );

    // The demo's phones ring until answered: the page sees the call ringing first.
    let mut events = Events::open(&browser, portal.url()).await;
    let mut states = Vec::new();
    while let Some(state) = events.next_state().await {
        states.push(state.clone());
        if state == "ringing" {
            break;
        }
    }
    assert_eq!(
        states.last().map(String::as_str),
        Some("ringing"),
        "{states:?}"
    );
    answer(&portal, "alice", "pound").await;
    states.extend(events.rest().await);
    assert_eq!(
        states.last().map(String::as_str),
        Some("approved"),
        "{states:?}"
    );

    let finished = browser.get(url(&portal, "/call")).send().await.unwrap();
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&finished), "/signed-in");
    let signed_in = page(&browser, &portal, "/signed-in").await;
    assert!(signed_in.contains("id=\"signed-in\""), "{signed_in}");
    assert!(signed_in.contains("<strong>alice</strong>"), "{signed_in}");
    assert!(signed_in.contains("id=\"sign-out\""), "{signed_in}");

    let events = audit_events(&portal);
    for expected in [
        "login-started",
        "password-accepted",
        "call-placed",
        "authenticated",
    ] {
        assert!(
            events.contains(&expected.to_owned()),
            "{expected} in {events:?}"
        );
    }
    portal.shutdown().await;
}

#[tokio::test]
async fn a_pin_user_signs_in_by_keying_the_pin() {
    let portal = demo().await;
    let bob = user(&portal, "bob").clone();
    let DemoMode::Pin(pin) = &bob.mode else {
        panic!("bob keys a PIN: {bob:?}");
    };
    let browser = browser();
    let placed = username_and_password(&browser, &portal, "bob", &bob.password).await;
    assert_eq!(location(&placed), "/call");
    answer(&portal, "bob", &format!("pin:{pin}")).await;
    let states = follow_events(&browser, portal.url()).await;
    assert_eq!(
        states.last().map(String::as_str),
        Some("approved"),
        "{states:?}"
    );
    let finished = browser.get(url(&portal, "/call")).send().await.unwrap();
    assert_eq!(location(&finished), "/signed-in");
    portal.shutdown().await;
}

#[tokio::test]
async fn a_wrong_pin_ends_in_the_generic_failure() {
    let portal = demo().await;
    let bob = user(&portal, "bob").clone();
    let DemoMode::Pin(pin) = &bob.mode else {
        panic!("bob keys a PIN");
    };
    let wrong: String = pin
        .chars()
        .map(|c| if c == '9' { '0' } else { '9' })
        .collect();
    let browser = browser();
    username_and_password(&browser, &portal, "bob", &bob.password).await;
    answer(&portal, "bob", &format!("pin:{wrong}")).await;
    let states = follow_events(&browser, portal.url()).await;
    assert_eq!(
        states.last().map(String::as_str),
        Some("denied"),
        "{states:?}"
    );
    let finished = browser.get(url(&portal, "/call")).send().await.unwrap();
    assert_eq!(location(&finished), "/failed");
    let failed = page(&browser, &portal, "/failed").await;
    assert!(
        failed.contains("The phone verification did not succeed."),
        "{failed}"
    );
    portal.shutdown().await;
}

#[tokio::test]
async fn a_user_without_tfa_signs_in_on_the_password_alone() {
    let portal = demo().await;
    let carol = user(&portal, "carol").clone();
    assert_eq!(carol.mode, DemoMode::NoTfa);
    let browser = browser();
    let signed = username_and_password(&browser, &portal, "carol", &carol.password).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed), "/signed-in");
    let page = page(&browser, &portal, "/signed-in").await;
    assert!(page.contains("<strong>carol</strong>"), "{page}");
    portal.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_ends_on_the_failure_page_with_a_generic_message() {
    let portal = demo().await;
    let browser = browser();
    let refused = username_and_password(&browser, &portal, "alice", "not the password").await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&refused), "/failed");
    let failed = page(&browser, &portal, "/failed").await;
    assert!(failed.contains("id=\"login-failed\""), "{failed}");
    assert!(
        failed.contains("The username or password is incorrect."),
        "{failed}"
    );
    assert!(failed.contains("id=\"start-over\" href=\"/\""), "{failed}");
    let lines = audit_lines(&portal);
    let denial = lines
        .iter()
        .find(|l| l["kind"]["event"] == "denied")
        .expect("a denial in the audit file");
    assert_eq!(denial["user"], "alice");
    assert_eq!(denial["source"], "127.0.0.1");
    // Starting over works from the same session.
    let start = page(&browser, &portal, "/").await;
    assert!(start.contains("id=\"username-form\""));
    portal.shutdown().await;
}

#[tokio::test]
async fn a_fraud_report_ends_in_the_generic_failure_and_is_audited_as_fraud() {
    let portal = demo().await;
    let alice = user(&portal, "alice").clone();
    let browser = browser();
    username_and_password(&browser, &portal, "alice", &alice.password).await;
    answer(&portal, "alice", "fraud").await;
    let states = follow_events(&browser, portal.url()).await;
    assert_eq!(
        states.last().map(String::as_str),
        Some("denied"),
        "{states:?}"
    );
    let finished = browser.get(url(&portal, "/call")).send().await.unwrap();
    assert_eq!(location(&finished), "/failed");
    let failed = page(&browser, &portal, "/failed").await;
    assert!(
        failed.contains("The phone verification did not succeed."),
        "{failed}"
    );
    assert!(
        !failed.to_lowercase().contains("fraud"),
        "the reason stays in the audit log"
    );

    let lines = audit_lines(&portal);
    let fraud = lines
        .iter()
        .find(|l| l["kind"]["event"] == "fraud-alert")
        .expect("a fraud alert in the audit file");
    assert_eq!(fraud["severity"], "alert");
    assert_eq!(fraud["user"], "alice");

    // Blocked now: the next login with the right password is refused without a call.
    let again = username_and_password(&browser, &portal, "alice", &alice.password).await;
    assert_eq!(location(&again), "/failed");
    portal.shutdown().await;
}

#[tokio::test]
async fn a_phone_nobody_answers_rings_out_to_the_generic_failure() {
    let portal = demo_with_ring_time(Duration::from_millis(600)).await;
    let alice = user(&portal, "alice").clone();
    let browser = browser();
    username_and_password(&browser, &portal, "alice", &alice.password).await;
    let states = follow_events(&browser, portal.url()).await;
    assert_eq!(
        states.last().map(String::as_str),
        Some("denied"),
        "{states:?}"
    );
    let finished = browser.get(url(&portal, "/call")).send().await.unwrap();
    assert_eq!(location(&finished), "/failed");
    portal.shutdown().await;
}

#[tokio::test]
async fn cancelling_the_call_stops_it_and_ends_the_login() {
    let portal = demo().await;
    let alice = user(&portal, "alice").clone();
    let browser = browser();
    username_and_password(&browser, &portal, "alice", &alice.password).await;
    let call_page = page(&browser, &portal, "/call").await;
    let cancelled = post(
        &browser,
        &portal,
        "/call/cancel",
        &[("csrf", &csrf(&call_page))],
    )
    .await;
    assert_eq!(location(&cancelled), "/failed");
    let failed = page(&browser, &portal, "/failed").await;
    assert!(failed.contains("The sign-in was cancelled."), "{failed}");
    portal.shutdown().await;
}

#[tokio::test]
async fn signing_out_ends_the_session_and_clears_the_cookie() {
    let portal = demo().await;
    let carol = user(&portal, "carol").clone();
    let browser = browser();
    username_and_password(&browser, &portal, "carol", &carol.password).await;
    let signed_in = page(&browser, &portal, "/signed-in").await;
    let out = post(
        &browser,
        &portal,
        "/sign-out",
        &[("csrf", &csrf(&signed_in))],
    )
    .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/");
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("login-portal=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = browser
        .get(url(&portal, "/signed-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&after), "/");
    assert!(audit_events(&portal).contains(&"portal-signed-out".to_owned()));
    portal.shutdown().await;
}
