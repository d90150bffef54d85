//! The configuration files the simulator writes are read by `VerifierConfig` and give working
//! verifiers in both modes: the contract between the two crates.

use std::time::Duration;

use phonefactor::config::{Mode, VerifierConfig};
use phonefactor::{Error, PhoneFactorUsername, VerificationRequest};
use phonefactor_sim::Simulator;
use tfa_phone::PhoneNumber;

#[tokio::test]
async fn simulator_written_direct_and_agent_files_place_approved_calls() {
    let sim = Simulator::builder()
        .default_ring_delay(Duration::from_millis(10))
        .without_control()
        .start()
        .await
        .unwrap();
    let request = VerificationRequest::new(PhoneFactorUsername::new("jsmith").unwrap())
        .with_phone(PhoneNumber::parse_stored("1 9259249500").unwrap());

    let direct_path = sim.direct_config_path();
    let direct = VerifierConfig::from_file(direct_path).unwrap();
    assert_eq!(direct.mode, Mode::Direct);
    let verifier = direct
        .verifier(direct_path.parent().unwrap(), None)
        .unwrap();
    assert!(verifier.verify(&request).await.unwrap().is_approved());

    let agent_path = sim.agent_config_path().unwrap();
    let agent = VerifierConfig::from_file(agent_path).unwrap();
    assert_eq!(agent.mode, Mode::Agent);
    let client = agent
        .agent_client(agent_path.parent().unwrap(), None)
        .unwrap();
    client.test_security().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_missing_password_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("direct.toml");
    std::fs::write(
        &path,
        "mode = \"direct\"\n[direct]\nlicense_dir = \"license\"\npassword_file = \"nope.password\"\n",
    )
    .unwrap();
    let config = VerifierConfig::from_file(&path).unwrap();
    let err = config.verifier(tmp.path(), None).err().unwrap();
    assert!(
        matches!(&err, Error::MissingFile { path } if path.ends_with("nope.password")),
        "{err:?}"
    );
}
