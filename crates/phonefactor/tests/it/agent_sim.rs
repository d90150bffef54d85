//! `AgentClient` against the simulator's Web Service SDK over real HTTPS: outcomes, PINs,
//! credentials, trust (import, expiry, pinning), timeouts, proxy, keep-alive, and SOAP faults
//! and malformed SOAP from a tiny fake server.

use std::time::Duration;

use phonefactor::wire::{FaultCode, Malformed};
use phonefactor::{
    AgentClient, AgentClientBuilder, Approval, CallOutcome, CallStatus, DenyReason, Error,
    Fingerprint, PhoneFactorUsername, PhoneVerifier, Proxy, RejectReason, VerificationRequest,
};
use phonefactor_sim::{
    AgentAccount, AgentCertificate, AgentDirectory, AgentUser, Scenario, SimHandle, Simulator,
};
use secrecy::SecretString;
use tfa_test_support::proxy::ConnectProxy;

use crate::support::{Behaviour, FakePfd, Pki};

const ADMIN: &str = "CORP\\svc-pam360";
const ADMIN_PASSWORD: &str = "Ex4mple-only";
const VIEWER: &str = "CORP\\viewer";

async fn sim(cert: AgentCertificate) -> SimHandle {
    Simulator::builder()
        .default_ring_delay(Duration::from_millis(10))
        .without_control()
        .agent_certificate(cert)
        .agent_account(AgentAccount::admin(
            ADMIN,
            SecretString::from(ADMIN_PASSWORD),
        ))
        .agent_account(AgentAccount::non_admin(
            VIEWER,
            SecretString::from("viewer-pw"),
        ))
        .agent_directory(
            AgentDirectory::new()
                .user(AgentUser::standard("alice", "1", "9259249501"))
                .user(AgentUser::with_pin(
                    "pat",
                    "1",
                    "9259249502",
                    SecretString::from("4821"),
                ))
                .user(AgentUser::standard("dora", "1", "9259249503").disabled()),
        )
        .start()
        .await
        .unwrap()
}

fn builder(sim: &SimHandle, user: &str, password: &str) -> AgentClientBuilder {
    AgentClient::builder(
        sim.agent_url().unwrap(),
        user,
        SecretString::from(password.to_owned()),
    )
    .system_roots(false)
    .add_root_certificate_file(sim.agent_trust_path().unwrap())
}

fn client(sim: &SimHandle) -> AgentClient {
    builder(sim, ADMIN, ADMIN_PASSWORD).build().unwrap()
}

fn user(name: &str) -> VerificationRequest {
    VerificationRequest::new(PhoneFactorUsername::new(name).unwrap())
        .with_client_ip("203.0.113.7".parse().unwrap())
}

#[tokio::test]
async fn pound_pin_right_and_pin_wrong_give_their_outcomes() {
    let sim = sim(AgentCertificate::CaSigned).await;
    let client = client(&sim);
    client.test_security().await.unwrap();
    assert_eq!(
        client.verify(&user("alice")).await.unwrap(),
        CallOutcome::Approved {
            how: Approval::PoundPressed,
            status: CallStatus(2)
        }
    );
    sim.script_user("pat", Scenario::Pin("4821".into()));
    assert_eq!(
        client.verify(&user("pat")).await.unwrap(),
        CallOutcome::Approved {
            how: Approval::PinCorrect,
            status: CallStatus(1)
        }
    );
    sim.script_user("pat", Scenario::Pin("1111".into()));
    let answer = client.call(&user("pat")).await.unwrap();
    assert_eq!(
        answer.outcome,
        CallOutcome::Denied {
            reason: DenyReason::WrongPin,
            status: CallStatus(1)
        }
    );
    assert_eq!(answer.error.code, 12);
    assert_eq!(answer.authentication_request_id.len(), 32);
    sim.script_user("pat", Scenario::Pound);
    assert_eq!(
        client.verify(&user("pat")).await.unwrap(),
        CallOutcome::Denied {
            reason: DenyReason::NoPinEntered,
            status: CallStatus(2)
        }
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_and_disabled_users_are_rejected() {
    let sim = sim(AgentCertificate::CaSigned).await;
    let client = client(&sim);
    assert!(matches!(
        client.verify(&user("nobody")).await.unwrap(),
        CallOutcome::Rejected {
            reason: RejectReason::UnknownUser,
            ..
        }
    ));
    assert!(matches!(
        client.verify(&user("dora")).await.unwrap(),
        CallOutcome::Rejected {
            reason: RejectReason::UserDisabled,
            ..
        }
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_bad_credentials_and_non_admin_is_not_authorised() {
    let sim = sim(AgentCertificate::CaSigned).await;
    let wrong = builder(&sim, ADMIN, "nope").build().unwrap();
    let err = wrong.verify(&user("alice")).await.unwrap_err();
    assert!(matches!(err, Error::BadCredentials { .. }), "{err:?}");
    assert!(!err.to_string().contains("nope"));
    let viewer = builder(&sim, VIEWER, "viewer-pw").build().unwrap();
    let err = viewer.test_security().await.unwrap_err();
    assert!(matches!(err, Error::NotAuthorised { .. }), "{err:?}");
    assert!(sim.calls().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn untrusted_until_its_ca_is_imported() {
    let sim = sim(AgentCertificate::CaSigned).await;
    let bare = AgentClient::builder(
        sim.agent_url().unwrap(),
        ADMIN,
        SecretString::from(ADMIN_PASSWORD),
    )
    .system_roots(false)
    .build()
    .unwrap();
    let err = bare.test_security().await.unwrap_err();
    let Error::CertificateNotTrusted { hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(hint.contains("tfa-admin ca import"), "{hint}");
    client(&sim).test_security().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_agent_certificate_is_refused_even_with_its_ca() {
    let sim = sim(AgentCertificate::Expired).await;
    let err = client(&sim).test_security().await.unwrap_err();
    let Error::CertificateNotTrusted { hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(hint.contains("Expired"), "{hint}");
    sim.shutdown().await;
}

#[tokio::test]
async fn self_signed_ca_leaf_without_san_needs_its_pinned_fingerprint() {
    let sim = sim(AgentCertificate::SelfSignedNoSan).await;
    // Importing it is not enough: webpki refuses a CA certificate as a server certificate.
    let err = client(&sim).test_security().await.unwrap_err();
    assert!(
        matches!(err, Error::CertificateNotTrusted { .. }),
        "{err:?}"
    );
    let der = phonefactor::load_certificates(sim.agent_trust_path().unwrap()).unwrap();
    // The certificate names only `localhost` (in its CN): the client must use that name.
    let by_name = sim.agent_url().unwrap().replace("127.0.0.1", "localhost");
    let wrong_name = AgentClient::builder(
        sim.agent_url().unwrap(),
        ADMIN,
        SecretString::from(ADMIN_PASSWORD),
    )
    .system_roots(false)
    .pin_certificate(Fingerprint::of(der[0].as_ref()))
    .build()
    .unwrap();
    let err = wrong_name.test_security().await.unwrap_err();
    assert!(
        matches!(&err, Error::CertificateNotTrusted { hint, .. } if hint.contains("does not name")),
        "{err:?}"
    );
    let pinned = AgentClient::builder(by_name, ADMIN, SecretString::from(ADMIN_PASSWORD))
        .system_roots(false)
        .pin_certificate(Fingerprint::of(der[0].as_ref()))
        .build()
        .unwrap();
    pinned.test_security().await.unwrap();
    // A pin for some other certificate does not help.
    let other = AgentClient::builder(
        sim.agent_url().unwrap(),
        ADMIN,
        SecretString::from(ADMIN_PASSWORD),
    )
    .system_roots(false)
    .pin_certificate(Fingerprint::of(b"another certificate"))
    .build()
    .unwrap();
    assert!(matches!(
        other.test_security().await,
        Err(Error::CertificateNotTrusted { .. })
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn ringing_past_the_response_timeout_is_a_timeout() {
    let sim = sim(AgentCertificate::CaSigned).await;
    sim.script_user("alice", Scenario::Pound.after(Duration::from_secs(5)));
    let client = builder(&sim, ADMIN, ADMIN_PASSWORD)
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client.verify(&user("alice")).await.unwrap_err();
    assert!(matches!(err, Error::ResponseTimeout { .. }), "{err:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn one_handshake_serves_many_calls() {
    let sim = sim(AgentCertificate::CaSigned).await;
    let client = client(&sim);
    for _ in 0..5 {
        assert!(client.verify(&user("alice")).await.unwrap().is_approved());
    }
    assert_eq!(client.tls_handshakes(), 1);
    assert_eq!(sim.agent_handshakes(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn goes_through_the_proxy_unless_the_host_is_exempt() {
    let sim = sim(AgentCertificate::CaSigned).await;
    let proxy = ConnectProxy::start(Some(("bob", "pw"))).await.unwrap();
    let via = builder(&sim, ADMIN, ADMIN_PASSWORD)
        .proxy(Proxy::parse(&proxy.url(Some(("bob", "pw")))).unwrap())
        .build()
        .unwrap();
    assert!(via.verify(&user("alice")).await.unwrap().is_approved());
    assert_eq!(proxy.tunnels(), vec![sim.agent_addr().unwrap().to_string()]);

    let exempt = builder(&sim, ADMIN, ADMIN_PASSWORD)
        .proxy(
            Proxy::parse(&proxy.url(Some(("bob", "pw"))))
                .unwrap()
                .with_no_proxy(["127.0.0.1"]),
        )
        .build()
        .unwrap();
    assert!(exempt.verify(&user("alice")).await.unwrap().is_approved());
    assert_eq!(proxy.tunnels().len(), 1);
    sim.shutdown().await;
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn against_fake(reply: Vec<u8>) -> Error {
    let pki = Pki::new("fake agent CA");
    let server = FakePfd::start(&pki.server("localhost"), Behaviour::Reply(reply)).await;
    let client = AgentClient::builder(
        format!("https://localhost:{}/", server.addr.port()),
        ADMIN,
        SecretString::from(ADMIN_PASSWORD),
    )
    .system_roots(false)
    .add_root_certificate(pki.ca_der())
    .build()
    .unwrap();
    let err = client.verify(&user("alice")).await.unwrap_err();
    let request = String::from_utf8(server.requests()[0].clone()).unwrap();
    assert!(request.starts_with("POST /MultiFactorAuthWebServiceSdk/PfWsSdk.asmx HTTP/1.1\r\n"));
    assert!(
        request
            .to_lowercase()
            .contains("soapaction: \"http://tempuri.org/pfauthuser\"")
    );
    assert!(request.contains("Basic Q09SUFxzdmMtcGFtMzYwOkV4NG1wbGUtb25seQ=="));
    err
}

#[tokio::test]
async fn soap_fault_is_a_typed_error() {
    let fault = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>database unavailable</faultstring></soap:Fault></soap:Body></soap:Envelope>"#;
    let err = against_fake(http("500 Internal Server Error", fault)).await;
    assert!(
        matches!(&err, Error::SoapFault { code: FaultCode::Server, message } if message == "database unavailable"),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_soap_is_a_typed_error() {
    let err = against_fake(http(
        "200 OK",
        "<soap:Envelope xmlns:soap=\"x\"><soap:Body><PfAuthUserResponse>",
    ))
    .await;
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
    let err = against_fake(http(
        "200 OK",
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><PfAuthUserResponse xmlns="http://tempuri.org/"><PfAuthUserResult>true</PfAuthUserResult><callResult><Code>14</Code><Description>User is Blocked</Description></callResult><error><Code>0</Code><Description/></error></PfAuthUserResponse></soap:Body></soap:Envelope>"#,
    ))
    .await;
    assert!(
        matches!(
            err,
            Error::Malformed {
                reason: Malformed::ApprovedWithStatus(CallStatus(14)),
                ..
            }
        ),
        "{err:?}"
    );
}
