//! `tfa-admin agent test` against the simulator's agent.

use phonefactor_sim::Simulator;

use crate::{Sim, stderr, stdout_lines, tfa_admin};

#[test]
fn the_written_agent_configuration_tests_secure() {
    let sim = Sim::start(Simulator::builder().without_control());
    let config = sim
        .handle
        .agent_config_path()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let output = tfa_admin(&["agent", "test", "--config", &config], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout_lines(&output),
        [format!("secure ({})", sim.handle.agent_url().unwrap())]
    );
}

#[test]
fn a_wrong_agent_password_fails_with_the_reason() {
    let sim = Sim::start(Simulator::builder().without_control());
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.password");
    std::fs::write(&wrong, "not the password\n").unwrap();
    let original = std::fs::read_to_string(sim.handle.agent_config_path().unwrap()).unwrap();
    let real = sim.handle.pki_dir().join("agent.password");
    let text = original.replace(real.to_str().unwrap(), wrong.to_str().unwrap());
    assert_ne!(text, original, "the configuration names the password file");
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, text).unwrap();
    let output = tfa_admin(&["agent", "test", "--config", config.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(!stderr(&output).is_empty());
    assert!(!stderr(&output).contains("not the password"));
}

#[test]
fn a_direct_mode_configuration_is_refused_as_a_usage_error() {
    let sim = Sim::start(Simulator::builder().without_control());
    let config = sim.handle.direct_config_path().to_str().unwrap().to_owned();
    let output = tfa_admin(&["agent", "test", "--config", &config], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("agent test needs mode = \"agent\""),
        "{}",
        stderr(&output)
    );
}
