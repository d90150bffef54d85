//! `tfa-admin call` through the configurations the simulator writes.

use phonefactor_sim::{AgentDirectory, AgentUser, Scenario, Simulator};

use crate::{Sim, stderr, stdout_lines, tfa_admin};

fn sim() -> Sim {
    Sim::start(
        Simulator::builder()
            .without_control()
            .default_ring_delay(std::time::Duration::from_millis(10))
            .agent_directory(
                AgentDirectory::new()
                    .user(AgentUser::standard("alice", "1", "9259249500"))
                    .user(AgentUser::standard("bob", "1", "9259249503")),
            ),
    )
}

fn json(output: &std::process::Output) -> serde_json::Value {
    let lines = stdout_lines(output);
    assert_eq!(lines.len(), 1, "{lines:?} / {}", stderr(output));
    serde_json::from_str(&lines[0]).unwrap()
}

#[test]
fn a_direct_call_answered_with_pound_is_approved() {
    let sim = sim();
    let config = sim.handle.direct_config_path().to_str().unwrap().to_owned();
    let output = tfa_admin(
        &[
            "call",
            "--config",
            &config,
            "--user",
            "alice",
            "--phone",
            "1 9259249500",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let answer = json(&output);
    assert_eq!(answer["approved"], true);
    assert_eq!(answer["status"], 2);
    let calls = sim.handle.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (
            calls[0].phone.country_code.as_str(),
            calls[0].phone.number.as_str()
        ),
        ("1", "9259249500")
    );
}

#[test]
fn a_direct_call_with_the_fraud_code_is_denied() {
    let sim = sim();
    sim.handle.script_user("alice", Scenario::Fraud);
    let config = sim.handle.direct_config_path().to_str().unwrap().to_owned();
    let output = tfa_admin(
        &[
            "call",
            "--config",
            &config,
            "--user",
            "alice",
            "--phone",
            "+1 925 924 9500",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(1));
    let answer = json(&output);
    assert_eq!(answer["approved"], false);
    assert_eq!(answer["status"], 112);
    assert!(
        answer["outcome"].as_str().unwrap().starts_with("denied"),
        "{answer}"
    );
}

#[test]
fn an_agent_call_for_a_user_the_agent_knows_is_approved() {
    let sim = sim();
    let config = sim
        .handle
        .agent_config_path()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let output = tfa_admin(&["call", "--config", &config, "--user", "bob"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(json(&output)["approved"], true);
    assert_eq!(sim.handle.calls()[0].username, "bob");
}

#[test]
fn an_agent_call_whose_phone_is_not_answered_is_not_approved() {
    let sim = sim();
    sim.handle.script_user("bob", Scenario::NoAnswer);
    let config = sim
        .handle
        .agent_config_path()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let output = tfa_admin(&["call", "--config", &config, "--user", "bob"], "");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["approved"], false);
}

#[test]
fn a_bad_phone_number_is_a_usage_error() {
    let sim = sim();
    let config = sim.handle.direct_config_path().to_str().unwrap().to_owned();
    let output = tfa_admin(
        &[
            "call", "--config", &config, "--user", "alice", "--phone", "12",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--phone"), "{}", stderr(&output));
    assert!(sim.handle.calls().is_empty());
}
