//! `tfa-admin direct check` on a license directory the simulator wrote.

use phonefactor_sim::Simulator;
use secrecy::ExposeSecret;

use crate::{Sim, stderr, stdout_lines, tfa_admin_with_env};

fn check(license_dir: &str, password: &str) -> std::process::Output {
    tfa_admin_with_env(
        &[
            "direct",
            "check",
            "--license-dir",
            license_dir,
            "--password-env",
            "PFX_PASSWORD",
        ],
        "",
        &[("PFX_PASSWORD", password)],
    )
}

#[test]
fn the_right_password_shows_the_masked_license_and_the_certificate() {
    let sim = Sim::start(Simulator::builder().without_agent().without_control());
    let dir = sim.handle.license_dir().to_str().unwrap().to_owned();
    let output = check(&dir, sim.handle.pkcs12_password().expose_secret());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    let key = sim.handle.license().license_key();
    let license_line = lines
        .iter()
        .find(|l| l.starts_with("license key:"))
        .unwrap();
    assert!(
        !license_line.contains(key),
        "the key is masked: {license_line}"
    );
    assert!(
        license_line.ends_with(&key[key.len() - 4..]),
        "{license_line}"
    );
    for field in [
        "subject:",
        "issuer:",
        "valid from:",
        "valid until:",
        "sha-256:",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(field)),
            "{field} in {lines:?}"
        );
    }
}

#[test]
fn a_wrong_password_is_refused_and_printed_nowhere() {
    let sim = Sim::start(Simulator::builder().without_agent().without_control());
    let dir = sim.handle.license_dir().to_str().unwrap().to_owned();
    let output = check(&dir, "not the password");
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.to_lowercase().contains("password"), "{err}");
    assert!(!err.contains("not the password"), "{err}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_missing_license_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(dir.path().to_str().unwrap(), "whatever");
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("license.xml"), "{err}");
}

#[test]
fn an_unset_password_variable_is_a_usage_error() {
    let output = crate::tfa_admin(
        &[
            "direct",
            "check",
            "--license-dir",
            "/nonexistent",
            "--password-env",
            "TFA_ADMIN_TEST_UNSET_VARIABLE",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("TFA_ADMIN_TEST_UNSET_VARIABLE is not set"),
        "{}",
        stderr(&output)
    );
}
