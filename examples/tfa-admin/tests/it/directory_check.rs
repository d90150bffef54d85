//! `tfa-admin directory check` against a local store and a real slapd.

use std::process::Command;

use crate::{stdout_lines, tfa_admin};
use tfa_test_support::slapd::{self, Slapd};

fn check(config: &std::path::Path, user: &str, password: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tfa-admin"));
    command.args(["directory", "check", "--config"]).arg(config);
    command.args(["--user", user]);
    if let Some(password) = password {
        command.args(["--password-env", "TFA_TEST_PASSWORD"]);
        command.env("TFA_TEST_PASSWORD", password);
    }
    command.output().unwrap()
}

#[test]
fn checks_a_user_of_a_local_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        "username,password,phone\nalice,alice pw,1 9259249500 292\n",
    )
    .unwrap();
    let store = dir.path().join("users.json");
    let imported = tfa_admin(
        &[
            "users",
            "import",
            "--store",
            store.to_str().unwrap(),
            dir.path().join("users.csv").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(imported.status.code(), Some(0));
    let config = dir.path().join("first-factor.toml");
    std::fs::write(&config, "backend = \"local\"\npath = \"users.json\"\n").unwrap();

    let output = check(&config, "alice", Some("alice pw"));
    assert_eq!(output.status.code(), Some(0));
    let lines = stdout_lines(&output);
    assert!(
        lines.contains(&"phone: 1 9259249500 292 (+19259249500)".to_owned()),
        "{lines:?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("password: verified"));

    let wrong = check(&config, "alice", Some("wrong"));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stdout_lines(&wrong).contains(&"password: refused (wrong username or password)".to_owned())
    );

    let missing = check(&config, "mallory", None);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stdout_lines(&missing), ["user \"mallory\" not found"]);
}

#[test]
fn checks_a_user_over_ldaps() {
    let server = Slapd::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ldap.toml");
    std::fs::write(
        &config,
        format!(
            r#"backend = "ldap"
url = "{}"
ca_files = ["{}"]
base_dn = "{}"
user_filter = "(&(objectClass=inetOrgPerson)(uid={{user}}))"
bind = {{ mode = "service_account", dn = "{}", password = "{}" }}
groups = {{ source = "search", nested = true }}
"#,
            server.ldaps_url(),
            server.ca_file().display(),
            slapd::BASE_DN,
            slapd::SERVICE_DN,
            slapd::SERVICE_PASSWORD,
        ),
    )
    .unwrap();
    let output = check(&config, "alice", Some(slapd::ALICE.password));
    let lines = stdout_lines(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{lines:?} {:?}",
        output.stderr
    );
    assert!(
        lines.contains(&"display name: Alice Liddell".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("group: {}", slapd::group_dn("tfa-required"))),
        "{lines:?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("password: verified"));

    let dave = check(&config, "dave", None);
    assert!(
        stdout_lines(&dave)
            .iter()
            .any(|l| l.starts_with("phone: \"12345 call me\" does not parse"))
    );
}

#[test]
fn an_unreadable_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("first-factor.toml");
    std::fs::write(&config, "backend = \"ldap\"\nurl = 5\n").unwrap();
    let output = check(&config, "alice", None);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("first-factor.toml"), "{stderr}");
}
