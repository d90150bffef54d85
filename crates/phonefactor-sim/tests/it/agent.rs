//! Agent mode: Basic authentication, the WSDL, faults, the directory's error codes, PINs and
//! keep-alive.

use std::time::Duration;

use phonefactor::wire::{FaultCode, PfAuthUserArgs, PfAuthUserVersion, SoapRequest, SoapResponse};
use phonefactor_sim::{
    AgentAccount, AgentCertificate, AgentDirectory, AgentUser, Scenario, ServiceMode, SimHandle,
};
use secrecy::SecretString;

use crate::support::*;

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn directory() -> AgentDirectory {
    AgentDirectory::new()
        .user(AgentUser::standard("jsmith", "1", "9259249500").extension("292"))
        .user(AgentUser::with_pin(
            "akhan",
            "44",
            "7700900123",
            secret("4821"),
        ))
        .user(AgentUser::standard("gone", "1", "4155550100").disabled())
        .user(AgentUser::standard("held", "1", "4155550101").blocked())
        .user(AgentUser::standard("badnum", "1", "415555"))
        .permit("PAM360", &["userportal"])
}

async fn agent_sim() -> SimHandle {
    builder()
        .agent_account(AgentAccount::admin(
            "CORP\\svc-pam360",
            secret("Ex4mple-only"),
        ))
        .agent_account(AgentAccount::non_admin(
            "CORP\\someone",
            secret("n0t-admin"),
        ))
        .agent_directory(directory())
        .start()
        .await
        .unwrap()
}

fn auth_user(version: PfAuthUserVersion, username: &str) -> SoapRequest {
    SoapRequest::PfAuthUser {
        version,
        args: PfAuthUserArgs::new(username),
    }
}

/// `(Result, callResult.Code, error.Code)`.
async fn pf_auth(sim: &SimHandle, request: SoapRequest) -> (bool, i64, i64) {
    match soap(sim, &request).await {
        SoapResponse::PfAuthUser { result, .. } => {
            assert_eq!(result.authentication_request_id.len(), 32);
            assert!(
                result
                    .authentication_request_id
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            );
            (result.result, result.call_result.code, result.error.code)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_with_the_realm_and_an_empty_body() {
    let sim = agent_sim().await;
    let body = SoapRequest::TestSecurity.encode("http://tempuri.org/");
    let mut conn = agent_connect(&sim).await.unwrap();
    for auth in [
        None,
        Some(basic("CORP\\svc-pam360", "wrong")),
        Some(basic("CORP\\nobody", "Ex4mple-only")),
        Some("Bearer x".to_owned()),
    ] {
        let reply = conn.send("POST", ASMX, auth.as_deref(), &body).await;
        assert_eq!(reply.status, 401, "{auth:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"localhost\"")
        );
        assert!(reply.body.is_empty());
    }
}

#[tokio::test]
async fn account_outside_the_admin_group_gets_403() {
    let sim = agent_sim().await;
    let mut conn = agent_connect(&sim).await.unwrap();
    let body = SoapRequest::TestSecurity.encode("http://tempuri.org/");
    let reply = conn
        .send(
            "POST",
            ASMX,
            Some(&basic("corp\\SOMEONE", "n0t-admin")),
            &body,
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn user_names_compare_case_insensitively_and_passwords_exactly() {
    let sim = agent_sim().await;
    let mut conn = agent_connect(&sim).await.unwrap();
    let body = SoapRequest::TestSecurity.encode("http://tempuri.org/");
    let ok = conn
        .send(
            "POST",
            ASMX,
            Some(&basic("corp\\SVC-PAM360", "Ex4mple-only")),
            &body,
        )
        .await;
    assert_eq!(ok.status, 200);
    let bad = conn
        .send(
            "POST",
            ASMX,
            Some(&basic("CORP\\svc-pam360", "ex4mple-only")),
            &body,
        )
        .await;
    assert_eq!(bad.status, 401);
}

#[tokio::test]
async fn test_security_answers_secure_on_every_path() {
    let sim = agent_sim().await;
    let auth = basic("CORP\\svc-pam360", "Ex4mple-only");
    let mut conn = agent_connect(&sim).await.unwrap();
    for path in [
        "/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx",
        "/PhoneFactorWebServiceSdk/PfWsSdk.asmx",
        "/PfWsSdk.asmx",
    ] {
        let reply = conn
            .send(
                "POST",
                path,
                Some(&auth),
                &SoapRequest::TestSecurity.encode("http://tempuri.org/"),
            )
            .await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/xml; charset=utf-8")
        );
        let decoded = SoapResponse::decode(&reply.body, &SoapRequest::TestSecurity).unwrap();
        assert_eq!(decoded, SoapResponse::TestSecurity("secure".into()));
    }
    let reply = conn
        .send("POST", "/Other/PfWsSdk.asmx", Some(&auth), b"")
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn wsdl_needs_authentication_and_names_the_operations() {
    let sim = agent_sim().await;
    let mut conn = agent_connect(&sim).await.unwrap();
    let target = format!("{ASMX}?WSDL");
    assert_eq!(conn.send("GET", &target, None, b"").await.status, 401);
    let reply = conn.send("GET", &target, Some(&admin(&sim)), b"").await;
    assert_eq!(reply.status, 200);
    let wsdl = String::from_utf8(reply.body).unwrap();
    let root = phonefactor::wire::xml::Element::parse(wsdl.as_bytes()).unwrap();
    assert_eq!(root.name, "definitions");
    for op in ["TestSecurity", "PfAuthUser", "PfAuthUser_4", "PfAuthUser_5"] {
        assert!(
            wsdl.contains(&format!("soapAction=\"http://tempuri.org/{op}\"")),
            "{op}"
        );
    }
    assert_eq!(
        conn.send("GET", ASMX, Some(&admin(&sim)), b"").await.status,
        405
    );
}

#[tokio::test]
async fn malformed_xml_and_unknown_operations_are_client_faults() {
    let sim = agent_sim().await;
    let mut conn = agent_connect(&sim).await.unwrap();
    let auth = admin(&sim);
    let unknown = br#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Disable xmlns="http://tempuri.org/"/></soap:Body></soap:Envelope>"#;
    let no_body = br#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>"#;
    for body in [&b"<soap:Envelope"[..], unknown, no_body] {
        let reply = conn.send("POST", ASMX, Some(&auth), body).await;
        assert_eq!(reply.status, 500);
        match SoapResponse::decode(&reply.body, &SoapRequest::TestSecurity).unwrap() {
            SoapResponse::Fault(f) => {
                assert_eq!(f.code, FaultCode::Client);
                assert!(!f.message.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn pound_approves_a_standard_user_with_error_0() {
    let sim = agent_sim().await;
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "jsmith")).await,
        (true, 2, 0)
    );
    let call = &sim.calls()[0];
    assert_eq!(call.mode, ServiceMode::Agent);
    assert_eq!(
        (call.phone.country_code.as_str(), call.phone.number.as_str()),
        ("1", "9259249500")
    );
    assert_eq!(call.phone.extension.as_deref(), Some("292"));
}

#[tokio::test]
async fn pin_users_need_their_pin_and_every_operation_name_works() {
    let sim = agent_sim().await;
    sim.script_user("akhan", Scenario::Pin("4821".into()));
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::V4, "akhan")).await,
        (true, 1, 0)
    );
    sim.script_user("akhan", Scenario::Pin("1111".into()));
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::V5, "AKHAN")).await,
        (false, 1, 12)
    );
    sim.script_user("akhan", Scenario::Pound);
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "akhan")).await,
        (false, 2, 12)
    );
}

#[tokio::test]
async fn wrong_pin_reply_carries_the_documented_texts() {
    let sim = agent_sim().await;
    sim.script_user("akhan", Scenario::Pin("1111".into()));
    match soap(&sim, &auth_user(PfAuthUserVersion::Plain, "akhan")).await {
        SoapResponse::PfAuthUser { result, .. } => {
            assert_eq!(result.call_result.description, "PIN Entered");
            assert_eq!(
                result.error.description,
                "Multi-Factor Authentication denied."
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn directory_errors_have_their_codes() {
    let sim = agent_sim().await;
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "nobody")).await,
        (false, 0, 1001)
    );
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "gone")).await,
        (false, 0, 1002)
    );
    let mut args = PfAuthUserArgs::new("jsmith");
    args.asynchronous = true;
    let req = SoapRequest::PfAuthUser {
        version: PfAuthUserVersion::Plain,
        args,
    };
    assert_eq!(pf_auth(&sim, req).await, (false, 0, 1003));
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "held")).await,
        (false, 14, 12)
    );
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "badnum")).await,
        (false, 107, 12)
    );
}

#[tokio::test]
async fn initiating_type_not_permitted_for_the_application_is_149() {
    let sim = agent_sim().await;
    let mut args = PfAuthUserArgs::new("jsmith");
    args.application_name = "PAM360".into();
    let req = SoapRequest::PfAuthUser {
        version: PfAuthUserVersion::Plain,
        args: args.clone(),
    };
    match soap(&sim, &req).await {
        SoapResponse::PfAuthUser { result, .. } => {
            assert!(!result.result);
            assert_eq!((result.call_result.code, result.error.code), (149, 12));
            assert_eq!(result.call_result.description, "Direct SDK Not Allowed");
        }
        other => panic!("{other:?}"),
    }
    args.initiating_type = "userportal".into();
    let req = SoapRequest::PfAuthUser {
        version: PfAuthUserVersion::Plain,
        args,
    };
    assert_eq!(pf_auth(&sim, req).await, (true, 2, 0));
}

#[tokio::test]
async fn fraud_on_the_agent_blocks_the_user() {
    let sim = agent_sim().await;
    sim.script_user("jsmith", Scenario::Fraud);
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "jsmith")).await,
        (false, 112, 12)
    );
    sim.clear_scripts();
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "jsmith")).await,
        (false, 14, 12)
    );
    assert_eq!(sim.lift_all_blocks(), 2);
    assert_eq!(
        pf_auth(&sim, auth_user(PfAuthUserVersion::Plain, "jsmith")).await,
        (true, 2, 0)
    );
}

#[tokio::test]
async fn keep_alive_serves_many_calls_with_one_handshake() {
    let sim = agent_sim().await;
    let mut conn = agent_connect(&sim).await.unwrap();
    let auth = admin(&sim);
    let req = auth_user(PfAuthUserVersion::Plain, "jsmith");
    for _ in 0..5 {
        let reply = conn
            .send("POST", ASMX, Some(&auth), &req.encode("urn:any"))
            .await;
        assert_eq!(reply.status, 200);
        assert!(matches!(
            SoapResponse::decode(&reply.body, &req).unwrap(),
            SoapResponse::PfAuthUser { ref result, .. } if result.result
        ));
    }
    assert_eq!(sim.agent_handshakes(), 1);
    assert_eq!(sim.calls().len(), 5);
}

#[tokio::test]
async fn agent_and_direct_share_the_ringing_phone() {
    let sim = agent_sim().await;
    sim.script_user("jsmith", Scenario::Manual);
    let handle = {
        let req = auth_user(PfAuthUserVersion::Plain, "jsmith");
        let mut conn = agent_connect(&sim).await.unwrap();
        let auth = admin(&sim);
        tokio::spawn(async move {
            conn.send("POST", ASMX, Some(&auth), &req.encode("urn:x"))
                .await
        })
    };
    let ringing = sim
        .wait_for_ringing("jsmith", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ringing.mode, ServiceMode::Agent);
    assert_eq!(call(&sim, &request("1", "jsmith")).await, (false, 101));
    sim.answer(ringing.id, Scenario::Pound).unwrap();
    assert_eq!(handle.await.unwrap().status, 200);
}

#[tokio::test]
async fn the_agent_certificate_is_trusted_only_after_import() {
    let sim = agent_sim().await;
    // Trusting the direct CA instead of the agent's file fails.
    let connector = client(&sim.ca_cert_pem(), None);
    let tcp = tokio::net::TcpStream::connect(sim.agent_addr().unwrap())
        .await
        .unwrap();
    let err = connector
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(agent_connect(&sim).await.is_ok());
    let written = std::fs::read_to_string(sim.agent_trust_path().unwrap()).unwrap();
    assert_eq!(written, sim.agent_trust_pem().unwrap());
}

#[tokio::test]
async fn an_expired_agent_certificate_fails_verification() {
    let sim = builder()
        .agent_certificate(AgentCertificate::Expired)
        .start()
        .await
        .unwrap();
    let err = agent_connect(&sim)
        .await
        .err()
        .expect("an expired certificate is refused");
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn self_signed_agent_certificates_are_what_openssl_makes() {
    for (kind, san) in [
        (AgentCertificate::SelfSignedCa, true),
        (AgentCertificate::SelfSignedNoSan, false),
    ] {
        let sim = builder().agent_certificate(kind).start().await.unwrap();
        let out = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(sim.agent_trust_path().unwrap())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("CA:TRUE"), "{text}");
        assert_eq!(text.contains("Subject Alternative Name"), san, "{text}");
        // webpki refuses both, which is why clients pin them by fingerprint.
        assert!(agent_connect(&sim).await.is_err());
    }
}
