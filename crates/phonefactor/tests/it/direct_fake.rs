//! `DirectClient` against tiny TLS servers that answer exactly what a test wants: the request
//! framing, malformed replies, failover, timeouts, trust failures and the proxy tunnel.

use std::time::Duration;

use phonefactor::wire::Malformed;
use phonefactor::{Approval, CallOutcome, CallStatus, DirectClient, Error, PhoneVerifier, Proxy};
use tfa_test_support::proxy::ConnectProxy;

use crate::support::{
    Behaviour, FakePfd, Pki, approval, credentials, direct_builder, http_ok, request,
};

async fn fake(pki: &Pki, behaviour: Behaviour) -> FakePfd {
    FakePfd::start(&pki.server("pfd.phonefactor.net"), behaviour).await
}

fn client(pki: &Pki, url: &str) -> (DirectClient, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let c = direct_builder(pki, credentials(pki, tmp.path()), url)
        .build()
        .unwrap();
    (c, tmp)
}

#[tokio::test]
async fn sends_the_java_head_with_crlf_and_is_approved() {
    let pki = Pki::new("framing CA");
    let server = fake(&pki, Behaviour::Reply(http_ok(&approval("1")))).await;
    let (client, _tmp) = client(&pki, &server.url());
    let outcome = client
        .verify(&request("jsmith", "1 9259249500 292"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CallOutcome::Approved {
            how: Approval::PoundPressed,
            status: CallStatus(2)
        }
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let text = String::from_utf8(requests[0].clone()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(
        head,
        format!(
            "POST /pfd/pfd.pl HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: text/xml\r\nUser-Agent: PFA\r\nContent-Length: {}\r\nConnection: Close",
            server.addr.port(),
            body.len()
        )
    );
    assert!(body.starts_with("<pfpMessage version=\"1.2\">"));
    assert!(body.contains("<username><![CDATA[jsmith]]></username>"));
    assert!(body.contains(
        r#"<phonenumber userCanChangePhone="no" extension="292">9259249500</phonenumber>"#
    ));
}

async fn malformed_reason(reply: Vec<u8>) -> Error {
    let pki = Pki::new("malformed CA");
    let server = fake(&pki, Behaviour::Reply(reply)).await;
    let (client, _tmp) = client(&pki, &server.url());
    client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn truncated_reply_is_malformed_not_xml() {
    let body = approval("1");
    let err = malformed_reason(http_ok(&body[..body.len() / 2])).await;
    assert!(
        matches!(
            err,
            Error::Malformed {
                reason: Malformed::NotXml(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_root_is_malformed() {
    let err = malformed_reason(http_ok("<html><body>proxy error</body></html>")).await;
    assert!(
        matches!(&err, Error::Malformed { reason: Malformed::WrongRoot { found }, .. } if found == "html"),
        "{err:?}"
    );
}

#[tokio::test]
async fn reply_without_status_is_malformed() {
    let body = approval("1").replace(r#"<status disposition="success"/>"#, "");
    let err = malformed_reason(http_ok(&body)).await;
    assert!(
        matches!(
            err,
            Error::Malformed {
                reason: Malformed::Missing("response/status"),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn non_numeric_call_status_is_malformed() {
    let body = approval("1").replace("<callStatus>2</callStatus>", "<callStatus>2a</callStatus>");
    let err = malformed_reason(http_ok(&body)).await;
    assert!(
        matches!(
            err,
            Error::Malformed {
                reason: Malformed::BadValue {
                    field: "authenticationResponse/callStatus",
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn reply_for_another_request_id_is_malformed() {
    let err = malformed_reason(http_ok(&approval("77"))).await;
    assert!(
        matches!(
            err,
            Error::Malformed {
                reason: Malformed::RequestIdMismatch { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn service_failure_is_a_typed_service_error() {
    let body = r#"<pfpMessage version="1.2"><header/><response request-id="1"><status disposition="fail"><error-id>2</error-id><message>Unknown license key or group key.</message></status></response></pfpMessage>"#;
    let err = malformed_reason(http_ok(body)).await;
    assert!(
        matches!(err, Error::ServiceError { error_id: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn oversized_reply_is_refused() {
    let body = format!("<pfpMessage>{}</pfpMessage>", "x".repeat(2 * 1024 * 1024));
    let err = malformed_reason(http_ok(&body)).await;
    assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn non_200_status_is_an_error_and_never_fails_over() {
    let pki = Pki::new("status CA");
    let primary = fake(
        &pki,
        Behaviour::Reply(b"HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n".to_vec()),
    )
    .await;
    let backup = fake(&pki, Behaviour::Reply(http_ok(&approval("1")))).await;
    let tmp = tempfile::tempdir().unwrap();
    let client = direct_builder(&pki, credentials(&pki, tmp.path()), &primary.url())
        .backup_url(backup.url())
        .build()
        .unwrap();
    let err = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 500, .. }),
        "{err:?}"
    );
    assert!(
        backup.requests().is_empty(),
        "a call that may have been placed was retried"
    );
}

#[tokio::test]
async fn fails_over_to_the_backup_when_the_primary_refuses_connections_and_sticks_to_it() {
    let pki = Pki::new("failover CA");
    let backup = fake(&pki, Behaviour::Reply(http_ok(&approval("1")))).await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!(
        "https://127.0.0.1:{}/pfd/pfd.pl",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let tmp = tempfile::tempdir().unwrap();
    let client = direct_builder(&pki, credentials(&pki, tmp.path()), &dead)
        .backup_url(backup.url())
        .build()
        .unwrap();
    let outcome = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap();
    assert!(outcome.is_approved());
    assert_eq!(backup.requests().len(), 1);
    assert!(
        client
            .current_url()
            .contains(&backup.addr.port().to_string())
    );
}

#[tokio::test]
async fn connection_lost_after_sending_is_outcome_unknown_and_not_retried() {
    let pki = Pki::new("lost CA");
    let primary = fake(&pki, Behaviour::Close).await;
    let backup = fake(&pki, Behaviour::Reply(http_ok(&approval("1")))).await;
    let tmp = tempfile::tempdir().unwrap();
    let client = direct_builder(&pki, credentials(&pki, tmp.path()), &primary.url())
        .backup_url(backup.url())
        .build()
        .unwrap();
    let err = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.call_may_have_been_placed());
    assert_eq!(primary.requests().len(), 1);
    assert!(backup.requests().is_empty());
}

#[tokio::test]
async fn silent_service_times_out_with_a_typed_error() {
    let pki = Pki::new("timeout CA");
    let server = fake(&pki, Behaviour::Hang).await;
    let tmp = tempfile::tempdir().unwrap();
    let client = direct_builder(&pki, credentials(&pki, tmp.path()), &server.url())
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ResponseTimeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn server_from_another_ca_is_not_trusted_and_gets_no_request() {
    let pki = Pki::new("client CA");
    let other = Pki::new("stranger CA");
    let server = FakePfd::start(
        &other.server("pfd.phonefactor.net"),
        Behaviour::Reply(http_ok(&approval("1"))),
    )
    .await;
    let (client, _tmp) = client(&pki, &server.url());
    let err = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::CertificateNotTrusted { hint, .. } if hint.contains("stranger CA")),
        "{err:?}"
    );
    assert!(server.requests().is_empty() || server.requests()[0].is_empty());
}

#[tokio::test]
async fn subject_outside_phonefactor_net_is_refused_unless_self_hosted() {
    let pki = Pki::new("cn CA");
    let server = FakePfd::start(
        &pki.server("pfd.example"),
        Behaviour::Reply(http_ok(&approval("1"))),
    )
    .await;
    let (strict, tmp) = client(&pki, &server.url());
    let err = strict
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotPhoneFactorHost { .. }), "{err:?}");

    let relaxed = direct_builder(
        &pki,
        credentials(&pki, &tmp.path().join("2")),
        &server.url(),
    )
    .self_hosted_service()
    .build()
    .unwrap();
    assert!(
        relaxed
            .verify(&request("jsmith", "1 9259249500"))
            .await
            .unwrap()
            .is_approved()
    );
}

#[tokio::test]
async fn tunnels_through_a_connect_proxy_with_basic_credentials() {
    let pki = Pki::new("proxy CA");
    let server = fake(&pki, Behaviour::Reply(http_ok(&approval("1")))).await;
    let proxy = ConnectProxy::start(Some(("bob", "s3cret"))).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let client = direct_builder(&pki, credentials(&pki, tmp.path()), &server.url())
        .proxy(Proxy::parse(&proxy.url(Some(("bob", "s3cret")))).unwrap())
        .build()
        .unwrap();
    assert!(
        client
            .verify(&request("jsmith", "1 9259249500"))
            .await
            .unwrap()
            .is_approved()
    );
    assert_eq!(
        proxy.tunnels(),
        vec![format!("127.0.0.1:{}", server.addr.port())]
    );
}

#[tokio::test]
async fn proxy_refusing_credentials_is_a_proxy_auth_error() {
    let pki = Pki::new("proxy407 CA");
    let server = fake(&pki, Behaviour::Reply(http_ok(&approval("1")))).await;
    let proxy = ConnectProxy::start(Some(("bob", "s3cret"))).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let client = direct_builder(&pki, credentials(&pki, tmp.path()), &server.url())
        .proxy(Proxy::parse(&proxy.url(Some(("bob", "wrong")))).unwrap())
        .build()
        .unwrap();
    let err = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ProxyAuth { .. }), "{err:?}");
    assert!(server.requests().is_empty());
}
