//! The portal over HTTP on loopback against the demo: the start page (a new session each
//! time) and a whole sign-in of a user without TFA (four requests and a redirect, including
//! the password step's equal-time floor of 400 ms and one argon2id check).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use login_portal::{DemoOptions, PortalHandle};
use reqwest::Client;

fn client(cookies: bool) -> Client {
    Client::builder()
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

fn csrf(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_owned()
}

async fn sign_in(portal: &PortalHandle, username: &str, password: &str) {
    let browser = client(true);
    let base = portal.url();
    let start = browser.get(base).send().await.expect("start page");
    let token = csrf(&start.text().await.expect("a page"));
    browser
        .post(format!("{base}username"))
        .form(&[("csrf", token.as_str()), ("username", username)])
        .send()
        .await
        .expect("username step");
    let page = browser
        .get(format!("{base}password"))
        .send()
        .await
        .expect("password page");
    let token = csrf(&page.text().await.expect("a page"));
    let signed = browser
        .post(format!("{base}password"))
        .form(&[("csrf", token.as_str()), ("password", password)])
        .send()
        .await
        .expect("password step");
    assert_eq!(signed.headers()["location"], "/signed-in");
    let page = browser
        .get(format!("{base}signed-in"))
        .send()
        .await
        .expect("signed-in page");
    assert!(
        page.text()
            .await
            .expect("a page")
            .contains("id=\"signed-in\"")
    );
}

fn portal(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let portal = runtime
        .block_on(login_portal::start_demo(
            DemoOptions::default().answer_after(Duration::ZERO),
        ))
        .expect("the demo starts");
    let carol = portal
        .demo_users()
        .iter()
        .find(|u| u.username == "carol")
        .expect("carol")
        .clone();

    let mut group = c.benchmark_group("portal");
    let cookieless = client(false);
    group.bench_function("start_page_new_session", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = cookieless.get(portal.url()).send().await.expect("a page");
            assert!(response.headers().contains_key("set-cookie"));
            response.bytes().await.expect("a body");
        });
    });
    group.sample_size(10);
    group.bench_function("sign_in_without_call", |b| {
        b.to_async(&runtime)
            .iter(|| sign_in(&portal, &carol.username, &carol.password));
    });
    group.finish();
    runtime.block_on(portal.shutdown());
}

criterion_group!(benches, portal);
criterion_main!(benches);
