//! `DirectClient` against the simulator over real mutual TLS: every outcome of the scenario
//! table, PIN mode, blocks, one call at a time, international calls, extensions, mutual-TLS
//! refusal, wrong CA and failover.

use std::time::Duration;

use phonefactor::{
    Approval, CallOutcome, CallStatus, DenyReason, DirectClient, DirectClientBuilder, Error,
    PhoneVerifier, RejectReason, UnreachableReason,
};
use phonefactor_sim::{Scenario, SimHandle, Simulator, SimulatorBuilder};
use secrecy::SecretString;

use crate::support::request;

async fn sim_with(builder: SimulatorBuilder) -> SimHandle {
    builder
        .default_ring_delay(Duration::from_millis(10))
        .without_control()
        .without_agent()
        .start()
        .await
        .unwrap()
}

async fn sim() -> SimHandle {
    sim_with(Simulator::builder()).await
}

/// A client configured exactly from what the simulator wrote: its license directory, the
/// PKCS#12 password and its CA as an extra root.
fn builder(sim: &SimHandle) -> DirectClientBuilder {
    DirectClient::from_license_dir(sim.license_dir(), sim.pkcs12_password())
        .unwrap()
        .primary_url(sim.direct_url())
        .no_backup()
        .system_roots(false)
        .add_root_certificate_file(sim.ca_cert_path())
}

fn client(sim: &SimHandle) -> DirectClient {
    builder(sim).build().unwrap()
}

#[tokio::test]
async fn every_scenario_gives_its_typed_outcome() {
    let sim = sim().await;
    let client = client(&sim);
    let cases: Vec<(Scenario, CallOutcome)> = vec![
        (
            Scenario::Pound,
            CallOutcome::Approved {
                how: Approval::PoundPressed,
                status: CallStatus(2),
            },
        ),
        (
            Scenario::Pin("1234".into()),
            CallOutcome::Denied {
                reason: DenyReason::WrongPin,
                status: CallStatus(1),
            },
        ),
        (
            Scenario::DigitsNoPound("12".into()),
            CallOutcome::Denied {
                reason: DenyReason::PoundNotPressed,
                status: CallStatus(3),
            },
        ),
        (
            Scenario::Silence,
            CallOutcome::Denied {
                reason: DenyReason::NoInput,
                status: CallStatus(4),
            },
        ),
        (
            Scenario::HangUp,
            CallOutcome::Denied {
                reason: DenyReason::HungUp,
                status: CallStatus(108),
            },
        ),
        (
            Scenario::Fraud,
            CallOutcome::Denied {
                reason: DenyReason::FraudReported,
                status: CallStatus(112),
            },
        ),
        (
            Scenario::InvalidInput,
            CallOutcome::Denied {
                reason: DenyReason::InvalidInput,
                status: CallStatus(12),
            },
        ),
        (
            Scenario::Busy,
            CallOutcome::Unreachable {
                reason: UnreachableReason::NoAnswerOrBusy,
                status: CallStatus(102),
            },
        ),
        (
            Scenario::NoAnswer,
            CallOutcome::Unreachable {
                reason: UnreachableReason::NoAnswerOrBusy,
                status: CallStatus(102),
            },
        ),
        (
            Scenario::NotInService,
            CallOutcome::Unreachable {
                reason: UnreachableReason::NoAnswerOrBusy,
                status: CallStatus(102),
            },
        ),
        (
            Scenario::CarrierFailure,
            CallOutcome::Unreachable {
                reason: UnreachableReason::CarrierFailure,
                status: CallStatus(117),
            },
        ),
    ];
    for (i, (scenario, expected)) in cases.into_iter().enumerate() {
        let user = format!("user{i}");
        let number = format!("1 92592495{i:02}");
        sim.script_user(&user, scenario.clone());
        let outcome = client.verify(&request(&user, &number)).await.unwrap();
        assert_eq!(outcome, expected, "scenario {scenario:?}");
    }
    // One request, one call: nothing was retried.
    assert_eq!(sim.calls().len(), 11);
    sim.shutdown().await;
}

#[tokio::test]
async fn pin_mode_approves_only_the_right_pin() {
    let sim = sim().await;
    let client = client(&sim);
    let pin = || SecretString::from("4821");
    sim.script_user("right", Scenario::Pin("4821".into()));
    sim.script_user("wrong", Scenario::Pin("1111".into()));
    sim.script_user("pound", Scenario::Pound);
    let call = |u: &str| request(u, "1 9259249500").with_pin(pin());
    assert_eq!(
        client.verify(&call("right")).await.unwrap(),
        CallOutcome::Approved {
            how: Approval::PinCorrect,
            status: CallStatus(1)
        }
    );
    assert_eq!(
        client.verify(&call("wrong")).await.unwrap(),
        CallOutcome::Denied {
            reason: DenyReason::WrongPin,
            status: CallStatus(1)
        }
    );
    assert_eq!(
        client.verify(&call("pound")).await.unwrap(),
        CallOutcome::Denied {
            reason: DenyReason::NoPinEntered,
            status: CallStatus(2)
        }
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sha1_pins_work_too() {
    let sim = sim().await;
    let client = builder(&sim)
        .pin_format(phonefactor::PinFormat::Sha1 {
            salt: "x9Qa".into(),
        })
        .build()
        .unwrap();
    sim.script_user("hashed", Scenario::Pin("4821".into()));
    let outcome = client
        .verify(&request("hashed", "1 9259249500").with_pin(SecretString::from("4821")))
        .await
        .unwrap();
    assert!(outcome.is_approved());
    sim.shutdown().await;
}

#[tokio::test]
async fn fraud_report_blocks_the_user_for_later_calls() {
    let sim = sim().await;
    let client = client(&sim);
    sim.script_user("mallory", Scenario::Fraud);
    let first = client
        .verify(&request("mallory", "1 9259249500"))
        .await
        .unwrap();
    assert!(matches!(
        first,
        CallOutcome::Denied {
            reason: DenyReason::FraudReported,
            ..
        }
    ));
    sim.script_user("mallory", Scenario::Pound);
    let second = client
        .verify(&request("mallory", "1 9259249500"))
        .await
        .unwrap();
    assert_eq!(
        second,
        CallOutcome::Denied {
            reason: DenyReason::UserBlocked,
            status: CallStatus(14)
        }
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn second_request_while_ringing_is_rejected_as_in_progress() {
    let sim = sim().await;
    let client = client(&sim);
    sim.script_user("busy-user", Scenario::Manual);
    let ringing = {
        let client = client.clone();
        tokio::spawn(async move { client.verify(&request("busy-user", "1 9259249500")).await })
    };
    let call = sim
        .wait_for_ringing("busy-user", Duration::from_secs(5))
        .await
        .unwrap();
    let second = client
        .verify(&request("busy-user", "1 9259249500"))
        .await
        .unwrap();
    assert_eq!(
        second,
        CallOutcome::Rejected {
            reason: RejectReason::CallInProgress,
            status: CallStatus(101)
        }
    );
    sim.answer(call.id, Scenario::Pound).unwrap();
    assert!(ringing.await.unwrap().unwrap().is_approved());
    sim.shutdown().await;
}

#[tokio::test]
async fn international_numbers_need_the_setting() {
    let sim = sim().await;
    let refused = client(&sim)
        .verify(&request("akhan", "44 7911123456"))
        .await
        .unwrap();
    assert_eq!(
        refused,
        CallOutcome::Rejected {
            reason: RejectReason::InternationalNotAllowed,
            status: CallStatus(103)
        }
    );
    let allowed = builder(&sim)
        .allow_international_calls(true)
        .build()
        .unwrap();
    assert!(
        allowed
            .verify(&request("akhan", "44 7911123456"))
            .await
            .unwrap()
            .is_approved()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn extension_is_sent_and_refused_when_the_license_refuses_extensions() {
    let open = sim().await;
    assert!(
        client(&open)
            .verify(&request("desk", "1 9259249500 292"))
            .await
            .unwrap()
            .is_approved()
    );
    let calls = open.calls();
    assert_eq!(calls[0].phone.extension.as_deref(), Some("292"));
    open.shutdown().await;

    let strict = sim_with(Simulator::builder().license_refuses_extensions()).await;
    let outcome = client(&strict)
        .verify(&request("desk", "1 9259249500 292"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CallOutcome::Rejected {
            reason: RejectReason::ExtensionsNotAllowed,
            status: CallStatus(110)
        }
    );
    strict.shutdown().await;
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused_by_the_handshake() {
    let sim = sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let foreign = sim.issue_foreign_license(tmp.path()).unwrap();
    let client = DirectClient::from_license_dir(tmp.path(), foreign.pkcs12_password())
        .unwrap()
        .primary_url(sim.direct_url())
        .no_backup()
        .system_roots(false)
        .add_root_certificate_file(sim.ca_cert_path())
        .build()
        .unwrap();
    let err = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(sim.calls().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn simulator_is_not_trusted_without_its_ca() {
    let sim = sim().await;
    let client = DirectClient::from_license_dir(sim.license_dir(), sim.pkcs12_password())
        .unwrap()
        .primary_url(sim.direct_url())
        .no_backup()
        .system_roots(false)
        .add_root_certificate(crate::support::Pki::new("wrong CA").ca_der())
        .build()
        .unwrap();
    let err = client
        .verify(&request("jsmith", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::CertificateNotTrusted { .. }),
        "{err:?}"
    );
    assert!(sim.calls().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn fails_over_to_the_simulator_when_the_primary_is_down() {
    let sim = sim().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!(
        "https://127.0.0.1:{}/pfd/pfd.pl",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let client = builder(&sim)
        .primary_url(dead)
        .backup_url(sim.direct_url())
        .build()
        .unwrap();
    assert!(
        client
            .verify(&request("jsmith", "1 9259249500"))
            .await
            .unwrap()
            .is_approved()
    );
    assert_eq!(client.current_url(), sim.direct_url());
    assert_eq!(sim.calls().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn ringing_call_past_the_response_timeout_is_a_timeout() {
    let sim = sim().await;
    sim.script_user("slow", Scenario::Pound.after(Duration::from_secs(5)));
    let client = builder(&sim)
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .verify(&request("slow", "1 9259249500"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ResponseTimeout { .. }), "{err:?}");
    assert!(err.call_may_have_been_placed());
    sim.shutdown().await;
}

#[tokio::test]
async fn direct_mode_needs_a_phone_number() {
    let sim = sim().await;
    let no_phone =
        phonefactor::VerificationRequest::new(phonefactor::PhoneFactorUsername::new("x").unwrap());
    let err = client(&sim).verify(&no_phone).await.unwrap_err();
    assert!(matches!(err, Error::MissingPhoneNumber { .. }));
    sim.shutdown().await;
}
