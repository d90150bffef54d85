//! Direct mode over mutual TLS: framing, the §6.1 checks in order, the §6.2 scenarios, fraud
//! blocks and one ringing call per user.

use std::time::Duration;

use phonefactor::wire::{AuthMode, PfdResponse, PfdResult, PinMode, PinValue};
use phonefactor_sim::{PinModeKind, Scenario, ServiceMode};
use secrecy::SecretString;

use crate::support::*;

/// Spec §2.11 (a), as printed (indentation is ignored by the reader).
const GOLDEN_A: &str = r#"<pfpMessage version="1.2">
  <header><source><component type="pfsdk" role="master"><host ip="255.255.255.255" hostname="pam.corp.example"/></component></source></header>
  <request request-id="1"><authenticationRequest mode="voice">
    <customer><licenseKey>QX7R2M9KD4LP</licenseKey><groupKey>5f0c3a9e1b7d4e2f8a6c0b9d3e1f7a24</groupKey></customer>
    <authenticationType>pfsdk</authenticationType><username><![CDATA[jsmith]]></username><countryCode>1</countryCode>
    <phonenumber userCanChangePhone="no" extension="292">9259249500</phonenumber>
    <allowInternationalCalls>no</allowInternationalCalls><lockFailures/><applicationName></applicationName>
    <pinInfo pinMode="standard"/>
  </authenticationRequest></request>
</pfpMessage>"#;

/// Spec §2.11 (b).
const GOLDEN_B: &str = r#"<pfpMessage version="1.2">
  <header><source><component type="pfsdk" role="master"><host ip="255.255.255.255" hostname="pam.corp.example"/></component></source></header>
  <request request-id="2"><authenticationRequest mode="voice">
    <customer><licenseKey>QX7R2M9KD4LP</licenseKey><groupKey>5f0c3a9e1b7d4e2f8a6c0b9d3e1f7a24</groupKey></customer>
    <authenticationType>pfsdk</authenticationType><username><![CDATA[akhan]]></username><countryCode>44</countryCode>
    <phonenumber userCanChangePhone="no">7700900123</phonenumber>
    <allowInternationalCalls>yes</allowInternationalCalls><lockFailures/><applicationName></applicationName>
    <pinInfo pinMode="pin"><pin pinFormat="plainText" pinChangeRequired="no">4821</pin><userCanChangePin>no</userCanChangePin></pinInfo>
  </authenticationRequest></request>
</pfpMessage>"#;

fn success(result: PfdResult) -> (bool, u16) {
    match result {
        PfdResult::Success(r) => (r.authenticated, r.call_status.code()),
        other => panic!("expected success, got {other:?}"),
    }
}

#[tokio::test]
async fn golden_standard_call_is_approved_with_the_exact_reply() {
    let sim = start().await;
    let reply = direct_exchange(&sim, Some(sim.license()), &java_head(GOLDEN_A.as_bytes()))
        .await
        .unwrap();
    let (head, body) = split(&reply);
    assert_eq!(
        head,
        format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
    );
    let expected = r#"<pfpMessage version="1.2"><header><source><component type="pfd"><host ip="127.0.0.1" hostname="pfd-sim"/></component></source></header><response request-id="1"><status disposition="success"/><authenticationResponse><authenticated>yes</authenticated><callStatus>2</callStatus></authenticationResponse></response></pfpMessage>"#;
    assert_eq!(String::from_utf8(body).unwrap(), expected);
    let calls = sim.calls();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(
        (c.mode, c.username.as_str(), c.phone.number.as_str()),
        (ServiceMode::Direct, "jsmith", "9259249500")
    );
    assert_eq!(c.phone.extension.as_deref(), Some("292"));
    assert_eq!(
        (c.pin_mode, c.action.clone(), c.status, c.authenticated),
        (PinModeKind::Standard, Some(Scenario::Pound), 2, true)
    );
}

#[tokio::test]
async fn golden_pin_call_approves_only_the_right_pin() {
    let sim = start().await;
    sim.script_user("akhan", Scenario::Pin("4821".into()));
    assert_eq!(
        success(pfd_body(&sim, GOLDEN_B.as_bytes(), "2").await),
        (true, 1)
    );
    sim.script_user("akhan", Scenario::Pin("1111".into()));
    assert_eq!(
        success(pfd_body(&sim, GOLDEN_B.as_bytes(), "2").await),
        (false, 1)
    );
    sim.script_user("akhan", Scenario::Pound);
    assert_eq!(
        success(pfd_body(&sim, GOLDEN_B.as_bytes(), "2").await),
        (false, 2)
    );
}

#[tokio::test]
async fn sha1_pin_with_salt_is_checked() {
    let sim = start().await;
    let doc = GOLDEN_B.replace(
        r#"<pin pinFormat="plainText" pinChangeRequired="no">4821</pin>"#,
        r#"<pin pinFormat="sha1" sha1Salt="x9Qa" pinChangeRequired="no">04b78637b3caabf1fd9ced582a7fa90e03ddcd30</pin>"#,
    );
    sim.script_user("akhan", Scenario::Pin("4821".into()));
    assert_eq!(
        success(pfd_body(&sim, doc.as_bytes(), "2").await),
        (true, 1)
    );
    sim.script_user("akhan", Scenario::Pin("1111".into()));
    assert_eq!(
        success(pfd_body(&sim, doc.as_bytes(), "2").await),
        (false, 1)
    );
}

#[tokio::test]
async fn bare_lf_head_http_1_1_bom_declaration_and_any_content_type_are_accepted() {
    let sim = start().await;
    let body = format!("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>{GOLDEN_A}");
    let raw = format!(
        "POST /pfd/pfd.pl HTTP/1.1\nHost: pfd.phonefactor.net\nContent-Type: application/x-www-form-urlencoded\nContent-Length: {}\n\n{body}",
        body.len()
    );
    let reply = direct_exchange(&sim, Some(sim.license()), raw.as_bytes())
        .await
        .unwrap();
    let (head, body) = split(&reply);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nConnection: close\r\n"));
    let decoded = PfdResponse::decode(&body, "1").unwrap();
    assert_eq!(success(decoded.result), (true, 2));
}

#[tokio::test]
async fn body_without_content_length_is_read_to_the_end() {
    let sim = start().await;
    let connector = client(&sim.ca_cert_pem(), Some(sim.license()));
    let tcp = tokio::net::TcpStream::connect(sim.direct_addr())
        .await
        .unwrap();
    let mut tls = connector
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tls.write_all(format!("POST /pfd/pfd.pl HTTP/1.0\r\n\r\n{GOLDEN_A}").as_bytes())
        .await
        .unwrap();
    tls.shutdown().await.unwrap();
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply).await.unwrap();
    let (_, body) = split(&reply);
    assert_eq!(
        success(PfdResponse::decode(&body, "1").unwrap().result),
        (true, 2)
    );
}

#[tokio::test]
async fn wrong_path_is_404_and_other_methods_405_with_empty_bodies() {
    let sim = start().await;
    let reply = direct_exchange(
        &sim,
        Some(sim.license()),
        b"POST /pfd/other.pl HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
    )
    .await
    .unwrap();
    let (head, body) = split(&reply);
    assert!(head.starts_with("HTTP/1.0 404 Not Found\r\n"), "{head}");
    assert!(body.is_empty());
    let reply = direct_exchange(
        &sim,
        Some(sim.license()),
        b"GET /pfd/pfd.pl HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .unwrap();
    let (head, body) = split(&reply);
    assert!(
        head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{head}"
    );
    assert!(body.is_empty());
    assert!(sim.calls().is_empty());
}

#[tokio::test]
async fn handshake_without_a_client_certificate_is_refused() {
    let sim = start().await;
    let result = direct_exchange(&sim, None, &java_head(GOLDEN_A.as_bytes())).await;
    assert!(result.is_err(), "{result:?}");
    assert!(sim.calls().is_empty());
}

#[tokio::test]
async fn certificate_from_another_ca_is_refused() {
    let sim = start().await;
    let dir = tempfile::tempdir().unwrap();
    let foreign = sim.issue_foreign_license(dir.path()).unwrap();
    assert_eq!(foreign.license_key(), SAMPLE_LICENSE);
    let result = direct_exchange(&sim, Some(&foreign), &java_head(GOLDEN_A.as_bytes())).await;
    assert!(result.is_err(), "{result:?}");
    assert!(sim.calls().is_empty());
}

#[tokio::test]
async fn unknown_keys_are_error_2_and_a_certificate_of_another_license_error_3() {
    let sim = start().await;
    let wrong_group = GOLDEN_A.replace(SAMPLE_GROUP, "00000000000000000000000000000000");
    assert_eq!(error_id(&sim, wrong_group.as_bytes(), "1").await, 2);
    let no_license = GOLDEN_A.replace("<licenseKey>QX7R2M9KD4LP</licenseKey>", "");
    assert_eq!(error_id(&sim, no_license.as_bytes(), "1").await, 2);

    let dir = tempfile::tempdir().unwrap();
    let other = sim.issue_license(dir.path()).unwrap();
    assert_ne!(other.license_key(), SAMPLE_LICENSE);
    match pfd_body_as(&sim, &other, GOLDEN_A.as_bytes(), "1").await {
        PfdResult::Fail { error_id, message } => {
            assert_eq!(error_id, 3);
            assert!(!message.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // The other license's own keys work with its own certificate.
    let own = GOLDEN_A
        .replace(SAMPLE_LICENSE, other.license_key())
        .replace(SAMPLE_GROUP, other.group_key());
    assert_eq!(
        success(pfd_body_as(&sim, &other, own.as_bytes(), "1").await),
        (true, 2)
    );
    // A second certificate bound to the main license is accepted too.
    let dir2 = tempfile::tempdir().unwrap();
    let copy = sim.issue_license_copy(dir2.path()).unwrap();
    assert_eq!(
        success(pfd_body_as(&sim, &copy, GOLDEN_A.as_bytes(), "1").await),
        (true, 2)
    );
}

#[tokio::test]
async fn malformed_documents_are_error_1() {
    let sim = start().await;
    assert_eq!(error_id(&sim, b"<pfpMessage><request", "").await, 1);
    assert_eq!(
        error_id(&sim, b"<other><request request-id=\"5\"/></other>", "").await,
        1
    );
    assert_eq!(
        error_id(
            &sim,
            b"<pfpMessage><request request-id=\"5\"></request></pfpMessage>",
            "5"
        )
        .await,
        1
    );
    assert!(sim.calls().is_empty());
}

#[tokio::test]
async fn unsupported_requests_are_error_4() {
    let sim = start().await;
    let reset =
        r#"<pfpMessage><request request-id="6"><setPinResetRequest/></request></pfpMessage>"#;
    assert_eq!(error_id(&sim, reset.as_bytes(), "6").await, 4);
    let async_req = GOLDEN_A.replace(
        r#"<request request-id="1">"#,
        r#"<request request-id="1" async="1">"#,
    );
    assert_eq!(error_id(&sim, async_req.as_bytes(), "1").await, 4);
    let pos1 = GOLDEN_B.replace("plainText", "pos1");
    assert_eq!(error_id(&sim, pos1.as_bytes(), "2").await, 4);
}

#[tokio::test]
async fn unsupported_request_is_checked_before_the_license() {
    let sim = start().await;
    let doc = GOLDEN_B
        .replace("plainText", "pos1")
        .replace(SAMPLE_LICENSE, "NOSUCHLICENS");
    assert_eq!(error_id(&sim, doc.as_bytes(), "2").await, 4);
}

#[tokio::test]
async fn missing_fields_are_106_after_the_license_check() {
    let sim = start().await;
    for field in [
        "<username><![CDATA[jsmith]]></username>",
        "<countryCode>1</countryCode>",
    ] {
        let doc = GOLDEN_A.replace(field, "");
        assert_eq!(
            success(pfd_body(&sim, doc.as_bytes(), "1").await),
            (false, 106),
            "{field}"
        );
    }
    let doc = GOLDEN_A.replace(
        r#"<phonenumber userCanChangePhone="no" extension="292">9259249500</phonenumber>"#,
        "",
    );
    assert_eq!(
        success(pfd_body(&sim, doc.as_bytes(), "1").await),
        (false, 106)
    );
    let doc = GOLDEN_A
        .replace("<username><![CDATA[jsmith]]></username>", "")
        .replace(SAMPLE_GROUP, "bad");
    assert_eq!(error_id(&sim, doc.as_bytes(), "1").await, 2);
}

#[tokio::test]
async fn modes_the_service_does_not_offer_get_their_statuses() {
    let sim = start().await;
    let sms = GOLDEN_A.replace(r#"mode="voice""#, r#"mode="sms""#);
    assert_eq!(
        success(pfd_body(&sim, sms.as_bytes(), "1").await),
        (false, 124)
    );
    let app = GOLDEN_A.replace(r#"mode="voice""#, r#"mode="phoneApp""#);
    assert_eq!(
        success(pfd_body(&sim, app.as_bytes(), "1").await),
        (false, 134)
    );
    let ret = GOLDEN_A.replace(r#"pinMode="standard""#, r#"pinMode="returnPin""#);
    assert_eq!(
        success(pfd_body(&sim, ret.as_bytes(), "1").await),
        (false, 114)
    );
    let voice = GOLDEN_A.replace(r#"pinMode="standard""#, r#"pinMode="voiceprint""#);
    assert_eq!(
        success(pfd_body(&sim, voice.as_bytes(), "1").await),
        (false, 119)
    );
}

#[tokio::test]
async fn pin_mode_refused_by_the_license_is_104() {
    let sim = builder().license_refuses_pin_mode().start().await.unwrap();
    assert_eq!(
        success(pfd_body(&sim, GOLDEN_B.as_bytes(), "2").await),
        (false, 104)
    );
}

#[tokio::test]
async fn number_rules_give_107_103_and_111_without_a_call() {
    let sim = start().await;
    let cases: [(&str, &str, bool, Option<&str>, u16); 7] = [
        ("1", "925924950", false, None, 107),
        ("1", "92592495001", false, None, 107),
        ("1", "92592x9500", false, None, 107),
        ("44", "770", true, None, 107),
        ("44", "77009001234567", true, None, 107),
        ("44", "7700900123", false, None, 103),
        ("1", "9259249500", false, Some("29a"), 111),
    ];
    for (i, (cc, number, intl, ext, status)) in cases.into_iter().enumerate() {
        let mut req = request(&i.to_string(), &format!("user{i}"));
        req.country_code = cc.into();
        req.allow_international_calls = intl;
        let mut body = String::from_utf8(req.encode().unwrap()).unwrap();
        // The client's encoder filters numbers and extensions; write the raw values.
        body = body.replace(">9259249500<", &format!(">{number}<"));
        if let Some(ext) = ext {
            body = body.replace(
                r#"userCanChangePhone="no""#,
                &format!(r#"userCanChangePhone="no" extension="{ext}""#),
            );
        }
        let got = success(pfd_body(&sim, body.as_bytes(), &i.to_string()).await);
        assert_eq!(got, (false, status), "case {i}: {cc} {number} {ext:?}");
    }
    assert!(sim.calls().iter().all(|c| c.action.is_none()));
    assert_eq!(sim.calls().len(), 7);
}

#[tokio::test]
async fn extensions_refused_by_the_license_are_110() {
    let sim = builder()
        .license_refuses_extensions()
        .start()
        .await
        .unwrap();
    assert_eq!(
        success(pfd_body(&sim, GOLDEN_A.as_bytes(), "1").await),
        (false, 110)
    );
}

#[tokio::test]
async fn international_call_is_placed_when_allowed_and_home_country_is_configurable() {
    let sim = builder().license_home_country("44").start().await.unwrap();
    let mut req = request("1", "akhan");
    req.country_code = "44".into();
    req.phone_number = "7700900123".into();
    assert_eq!(call(&sim, &req).await, (true, 2));
    assert_eq!(call(&sim, &request("2", "jsmith")).await, (false, 103));
}

#[tokio::test]
async fn every_scenario_ends_with_its_status() {
    let sim = start().await;
    let table: [(Scenario, u16, bool); 11] = [
        (Scenario::Pound, 2, true),
        (Scenario::Pin("4821".into()), 1, false),
        (Scenario::DigitsNoPound("12".into()), 3, false),
        (Scenario::Silence, 4, false),
        (Scenario::HangUp, 108, false),
        (Scenario::InvalidInput, 12, false),
        (Scenario::Busy, 102, false),
        (Scenario::NoAnswer, 102, false),
        (Scenario::NotInService, 102, false),
        (Scenario::CarrierFailure, 117, false),
        (Scenario::Fraud, 112, false),
    ];
    for (i, (scenario, status, approved)) in table.into_iter().enumerate() {
        let user = format!("user{i}");
        let mut req = request(&i.to_string(), &user);
        req.phone_number = format!("92592495{i:02}");
        sim.script_user(&user, scenario.clone().after(Duration::from_millis(5)));
        assert_eq!(call(&sim, &req).await, (approved, status), "{scenario:?}");
        let last = sim.calls().pop().unwrap();
        assert_eq!(last.action, Some(scenario));
    }
}

#[tokio::test]
async fn user_script_wins_over_number_script_and_delay_holds_the_reply() {
    let sim = start().await;
    sim.script_number(
        "1",
        "9259249500",
        Scenario::Busy.after(Duration::from_millis(5)),
    );
    assert_eq!(call(&sim, &request("1", "jsmith")).await, (false, 102));
    sim.script_user("jsmith", Scenario::Pound.after(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    assert_eq!(call(&sim, &request("2", "jsmith")).await, (true, 2));
    assert!(started.elapsed() >= Duration::from_millis(300));
    let last = sim.calls().pop().unwrap();
    assert!(last.rang_ms >= 300, "{}", last.rang_ms);
}

#[tokio::test]
async fn fraud_blocks_user_and_number_until_lifted() {
    let sim = start().await;
    sim.script_user("jsmith", Scenario::Fraud);
    assert_eq!(call(&sim, &request("1", "jsmith")).await, (false, 112));
    sim.clear_scripts();
    // The user is blocked on any number, and the number for any user.
    let mut other_number = request("2", "jsmith");
    other_number.phone_number = "4155550100".into();
    assert_eq!(call(&sim, &other_number).await, (false, 14));
    assert_eq!(call(&sim, &request("3", "someone-else")).await, (false, 14));
    assert!(sim.lift_user_block("JSMITH"));
    assert_eq!(call(&sim, &other_number).await, (true, 2));
    assert_eq!(call(&sim, &request("4", "jsmith")).await, (false, 14));
    assert!(sim.lift_number_block("1", "9259249500"));
    assert_eq!(call(&sim, &request("5", "jsmith")).await, (true, 2));
    let refused: Vec<_> = sim.calls().into_iter().filter(|c| c.status == 14).collect();
    assert_eq!(refused.len(), 3);
    assert!(refused.iter().all(|c| c.action.is_none()));
}

#[tokio::test]
async fn pin_zero_is_the_fraud_code() {
    let sim = start().await;
    sim.script_user("akhan", Scenario::Pin("0".into()));
    assert_eq!(
        success(pfd_body(&sim, GOLDEN_B.as_bytes(), "2").await),
        (false, 112)
    );
    sim.clear_scripts();
    assert_eq!(
        success(pfd_body(&sim, GOLDEN_B.as_bytes(), "2").await),
        (false, 14)
    );
}

#[tokio::test]
async fn with_fraud_alerts_off_the_fraud_code_is_a_denied_pin_entry() {
    let sim = builder().without_fraud_alerts().start().await.unwrap();
    sim.script_user("jsmith", Scenario::Fraud);
    assert_eq!(call(&sim, &request("1", "jsmith")).await, (false, 1));
    sim.clear_scripts();
    assert_eq!(call(&sim, &request("2", "jsmith")).await, (true, 2));
}

#[tokio::test]
async fn fraud_block_can_expire_by_itself() {
    let sim = builder()
        .fraud_block_for(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    sim.script_user("jsmith", Scenario::Fraud);
    assert_eq!(call(&sim, &request("1", "jsmith")).await, (false, 112));
    sim.clear_scripts();
    assert_eq!(call(&sim, &request("2", "jsmith")).await, (false, 14));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(call(&sim, &request("3", "jsmith")).await, (true, 2));
}

#[tokio::test]
async fn second_request_while_ringing_gets_101() {
    let sim = start().await;
    sim.script_user("jsmith", Scenario::Manual);
    let first = {
        let sim_req = request("1", "jsmith");
        let body = sim_req.encode().unwrap();
        let id = sim.license().clone();
        let connector = client(&sim.ca_cert_pem(), Some(&id));
        let addr = sim.direct_addr();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut tls = connector
                .connect(
                    rustls_pki_types::ServerName::try_from("localhost").unwrap(),
                    tcp,
                )
                .await
                .unwrap();
            tls.write_all(&java_head(&body)).await.unwrap();
            let mut out = Vec::new();
            tls.read_to_end(&mut out).await.unwrap();
            out
        })
    };
    let ringing = sim
        .wait_for_ringing("jsmith", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ringing.mode, ServiceMode::Direct);
    assert_eq!(call(&sim, &request("2", "JSmith")).await, (false, 101));
    // Another user rings at the same time.
    assert_eq!(call(&sim, &request("3", "akhan")).await, (true, 2));
    sim.answer(ringing.id, Scenario::Pound).unwrap();
    let reply = first.await.unwrap();
    let (_, body) = split(&reply);
    assert_eq!(
        success(PfdResponse::decode(&body, "1").unwrap().result),
        (true, 2)
    );
    let answered = sim
        .calls()
        .into_iter()
        .find(|c| c.id == ringing.id)
        .unwrap();
    assert!(answered.answered_by_hand);
    assert!(sim.ringing().is_empty());
    assert!(sim.answer(ringing.id, Scenario::Pound).is_err());
}

#[tokio::test]
async fn manual_phone_rings_out_as_no_answer() {
    let sim = builder()
        .manual_ring_time(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    sim.script_user("jsmith", Scenario::Manual);
    assert_eq!(call(&sim, &request("1", "jsmith")).await, (false, 102));
}

#[tokio::test]
async fn a_call_keeps_ringing_after_the_client_hangs_up_until_it_ends() {
    let sim = start().await;
    sim.script_user("jsmith", Scenario::Manual);
    let body = request("1", "jsmith").encode().unwrap();
    let connector = client(&sim.ca_cert_pem(), Some(sim.license()));
    let tcp = tokio::net::TcpStream::connect(sim.direct_addr())
        .await
        .unwrap();
    let mut tls = connector
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    use tokio::io::AsyncWriteExt;
    tls.write_all(&java_head(&body)).await.unwrap();
    let ringing = sim
        .wait_for_ringing("jsmith", Duration::from_secs(5))
        .await
        .unwrap();
    drop(tls);
    // The phone is already ringing: the user cannot be called twice.
    assert_eq!(call(&sim, &request("2", "jsmith")).await, (false, 101));
    sim.answer(ringing.id, Scenario::HangUp).unwrap();
    sim.clear_scripts();
    sim.wait_for_calls(2, Duration::from_secs(5)).await.unwrap();
    assert_eq!(call(&sim, &request("3", "jsmith")).await, (true, 2));
}

#[tokio::test]
async fn the_client_encoder_and_the_simulator_agree_on_pin_requests() {
    let sim = start().await;
    let mut req = request("9", "akhan");
    req.pin_mode = PinMode::Pin {
        pin: PinValue::sha1(&SecretString::from("4821".to_owned()), "salt"),
        user_can_change_pin: false,
    };
    assert_eq!(req.mode, AuthMode::Voice);
    sim.script_user("akhan", Scenario::Pin("4821".into()));
    assert_eq!(call(&sim, &req).await, (true, 1));
    assert_eq!(sim.calls()[0].pin_mode, PinModeKind::Pin);
}

#[tokio::test]
async fn thousands_of_concurrent_ringing_calls_complete() {
    let sim = builder()
        .default_ring_delay(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let n = 300;
    let mut tasks = Vec::new();
    for i in 0..n {
        let req = {
            let mut r = request(&i.to_string(), &format!("load{i}"));
            r.phone_number = format!("92592{i:05}");
            r
        };
        let body = java_head(&req.encode().unwrap());
        let connector = client(&sim.ca_cert_pem(), Some(sim.license()));
        let addr = sim.direct_addr();
        tasks.push(tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
        }));
    }
    for t in tasks {
        let reply = t.await.unwrap();
        let (head, _) = split(&reply);
        assert!(head.starts_with("HTTP/1.0 200 OK"));
    }
    let calls = sim.calls();
    assert_eq!(calls.len(), n);
    assert!(calls.iter().all(|c| c.status == 2 && c.authenticated));
    assert_eq!(sim.direct_handshakes(), n as u64);
}
