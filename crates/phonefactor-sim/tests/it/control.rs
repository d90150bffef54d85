//! The control API and the phones page over plain HTTP.

use std::time::Duration;

use phonefactor_sim::Scenario;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// A one-shot HTTP/1.1 request to the control listener; `(status, body)`.
async fn control(
    sim: &phonefactor_sim::SimHandle,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let url = sim.control_url().unwrap();
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

const JSON: &str = "application/json";

#[tokio::test]
async fn scripts_set_over_the_api_decide_the_call() {
    let sim = start().await;
    let (status, _) = control(
        &sim,
        "POST",
        "/control/script",
        JSON,
        r#"{"username":"jsmith","scenario":"hang-up","delay_ms":5}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(call(&sim, &request("1", "jsmith")).await, (false, 108));
    let (status, _) = control(
        &sim,
        "POST",
        "/control/script",
        JSON,
        r#"{"country_code":"1","number":"4155550100","scenario":"busy"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let mut req = request("2", "other");
    req.phone_number = "4155550100".into();
    assert_eq!(call(&sim, &req).await, (false, 102));
    let (status, body) = control(
        &sim,
        "POST",
        "/control/script",
        JSON,
        r#"{"username":"x","scenario":"ring"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("unknown scenario"), "{body}");

    let (status, body) = control(&sim, "GET", "/control/calls", JSON, "").await;
    assert_eq!(status, 200);
    let calls: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(calls.as_array().unwrap().len(), 2);
    assert_eq!(calls[0]["username"], "jsmith");
    assert_eq!(calls[0]["action"], "hang-up");
    assert_eq!(calls[0]["status"], 108);
    assert_eq!(calls[1]["phone"]["number"], "4155550100");
}

#[tokio::test]
async fn a_ringing_call_is_answered_from_the_page_form() {
    let sim = start().await;
    sim.script_user("jsmith", Scenario::Manual);
    let caller = {
        let req = request("1", "jsmith");
        let body = java_head(&req.encode().unwrap());
        let id = sim.license().clone();
        let ca = sim.ca_cert_pem();
        let addr = sim.direct_addr();
        tokio::spawn(async move {
            let connector = client(&ca, Some(&id));
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut tls = connector
                .connect(
                    rustls_pki_types::ServerName::try_from("localhost").unwrap(),
                    tcp,
                )
                .await
                .unwrap();
            tls.write_all(&body).await.unwrap();
            let mut out = Vec::new();
            tls.read_to_end(&mut out).await.unwrap();
            out
        })
    };
    let ringing = sim
        .wait_for_ringing("jsmith", Duration::from_secs(5))
        .await
        .unwrap();
    let (status, page) = control(&sim, "GET", "/", "text/plain", "").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("jsmith") && page.contains("+1 9259249500"),
        "{page}"
    );
    assert!(page.contains(&format!("/control/calls/{}/answer", ringing.id)));
    let (status, list) = control(&sim, "GET", "/control/ringing", JSON, "").await;
    assert_eq!(status, 200);
    assert!(list.contains("\"jsmith\""));

    let (status, _) = control(
        &sim,
        "POST",
        &format!("/control/calls/{}/answer", ringing.id),
        "application/x-www-form-urlencoded",
        "action=fraud",
    )
    .await;
    assert_eq!(status, 303);
    let reply = caller.await.unwrap();
    assert!(String::from_utf8_lossy(&reply).contains("<callStatus>112</callStatus>"));
    let (status, _) = control(
        &sim,
        "POST",
        &format!("/control/calls/{}/answer", ringing.id),
        JSON,
        r#"{"action":"pound"}"#,
    )
    .await;
    assert_eq!(status, 404);

    // The fraud report blocked the user; lift it over the API.
    assert_eq!(call(&sim, &request("2", "jsmith")).await, (false, 14));
    let (status, body) = control(&sim, "POST", "/control/blocks/lift", JSON, "{}").await;
    assert_eq!((status, body.as_str()), (200, r#"{"lifted":2}"#));
    sim.clear_scripts();
    assert_eq!(call(&sim, &request("3", "jsmith")).await, (true, 2));
}

#[tokio::test]
async fn usernames_on_the_page_are_escaped() {
    let sim = start().await;
    sim.script_user("<b>x</b>", Scenario::Manual);
    let req = request("1", "<b>x</b>");
    let body = java_head(&req.encode().unwrap());
    let id = sim.license().clone();
    let ca = sim.ca_cert_pem();
    let addr = sim.direct_addr();
    let task = tokio::spawn(async move {
        let connector = client(&ca, Some(&id));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = connector
            .connect(
                rustls_pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .unwrap();
        tls.write_all(&body).await.unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
    });
    let ringing = sim
        .wait_for_ringing("<b>x</b>", Duration::from_secs(5))
        .await
        .unwrap();
    let (_, page) = control(&sim, "GET", "/", "text/plain", "").await;
    assert!(page.contains("&lt;b&gt;x&lt;/b&gt;") && !page.contains("<b>x</b>"));
    sim.answer(ringing.id, Scenario::Pound).unwrap();
    task.await.unwrap();
}
