//! `tfa-admin users tfa ...` on a real settings file, read back through the library.

use std::path::Path;

use tfa_directory::Username;
use tfa_flow::{FileTfaStateStore, TfaStateStore, Timestamp};

use crate::{stderr, stdout_lines, tfa_admin};

fn user(name: &str) -> Username {
    Username::new(name).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn enforcement(path: &Path, name: &str) -> Option<bool> {
    runtime().block_on(async {
        FileTfaStateStore::open(path)
            .await
            .unwrap()
            .enforcement(&user(name))
            .await
            .unwrap()
    })
}

fn tfa(args: &[&str]) -> std::process::Output {
    let mut all = vec!["users", "tfa"];
    all.extend_from_slice(args);
    tfa_admin(&all, "")
}

#[test]
fn enable_and_disable_named_users_then_reset_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tfa.json");
    let s = store.to_str().unwrap();
    let output = tfa(&["disable", "--store", s, "alice", "Bob"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout_lines(&output),
        [format!("TFA disabled for 2 user(s) in {s}")]
    );
    let output = tfa(&["enable", "--settings", s, "carol"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(enforcement(&store, "alice"), Some(false));
    assert_eq!(enforcement(&store, "bob"), Some(false));
    assert_eq!(enforcement(&store, "carol"), Some(true));
    let output = tfa(&["reset", "--store", s, "bob"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(enforcement(&store, "bob"), None);
}

const CSV: &str = "\
username,display_name
alice,Alice
,Nobody
dave,Dave
\"ev\u{7}e\",Eve
";

#[test]
fn a_csv_with_bad_rows_writes_nothing_and_names_each_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, CSV).unwrap();
    let store = dir.path().join("tfa.json");
    let output = tfa(&[
        "enable",
        "--store",
        store.to_str().unwrap(),
        "--from-csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("users.csv: line 3: invalid username"), "{err}");
    assert!(err.contains("users.csv: line 5: invalid username"), "{err}");
    assert!(!err.contains("line 2") && !err.contains("line 4"), "{err}");
    assert_eq!(
        stdout_lines(&output),
        ["nothing written: 2 bad name(s); fix them or pass --skip-bad"]
    );
    assert!(!store.exists());
}

#[test]
fn skip_bad_writes_the_good_rows_and_still_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, CSV).unwrap();
    let store = dir.path().join("tfa.json");
    let output = tfa(&[
        "enable",
        "--store",
        store.to_str().unwrap(),
        "--from-csv",
        csv.to_str().unwrap(),
        "--skip-bad",
        "frank",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout_lines(&output),
        [format!("TFA enabled for 3 user(s) in {}", store.display())]
    );
    for name in ["alice", "dave", "frank"] {
        assert_eq!(enforcement(&store, name), Some(true), "{name}");
    }
}

#[test]
fn a_csv_without_a_username_column_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "name\nalice\n").unwrap();
    let store = dir.path().join("tfa.json");
    let output = tfa(&[
        "disable",
        "--store",
        store.to_str().unwrap(),
        "--from-csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("the header has no username column"),
        "{}",
        stderr(&output)
    );
    assert!(!store.exists());
}

#[test]
fn list_shows_settings_blocks_and_bypasses_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tfa.json");
    let s = store.to_str().unwrap();
    assert_eq!(
        tfa(&["disable", "--store", s, "alice"]).status.code(),
        Some(0)
    );
    let output = tfa(&[
        "bypass",
        "--store",
        s,
        "bob",
        "--minutes",
        "30",
        "--reason",
        "phone lost",
        "--by",
        "ops",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout_lines(&output)[0].starts_with("bob: one login without a call allowed until "),
        "{:?}",
        stdout_lines(&output)
    );
    // A fraud report, as a server would record it (2026-01-01T00:00:00Z).
    runtime().block_on(async {
        let settings = FileTfaStateStore::open(&store).await.unwrap();
        settings
            .block(
                &user("erin"),
                Timestamp::from_unix_millis(1_767_225_600_000),
            )
            .await
            .unwrap();
    });

    let output = tfa(&["list", "--store", s]);
    assert_eq!(output.status.code(), Some(0));
    let lines = stdout_lines(&output);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["USER", "TFA", "notes"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["alice", "off"]
    );
    assert!(lines[2].starts_with("bob "), "{lines:?}");
    assert!(lines[2].contains("bypass until ") && lines[2].ends_with("by ops: phone lost"));
    assert!(
        lines[3].ends_with("BLOCKED since 2026-01-01T00:00:00Z (fraud report)"),
        "{lines:?}"
    );

    let output = tfa(&["list", "--store", s, "--json"]);
    let rows: Vec<serde_json::Value> = stdout_lines(&output)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], serde_json::json!({"user": "alice", "tfa": "off"}));
    assert_eq!(rows[1]["bypass"]["reason"], "phone lost");
    assert_eq!(rows[1]["bypass"]["expired"], false);
    assert_eq!(rows[2]["tfa"], "default");
    assert_eq!(rows[2]["blocked_since"], "2026-01-01T00:00:00Z");

    let output = tfa(&["unblock", "--store", s, "erin", "alice"]);
    assert_eq!(output.status.code(), Some(1), "alice was not blocked");
    assert_eq!(
        stdout_lines(&output),
        ["erin: block lifted", "alice: was not blocked"]
    );
    let output = tfa(&["list", "--store", s, "--json"]);
    assert_eq!(stdout_lines(&output).len(), 2, "erin has nothing left");
}

#[test]
fn a_bypass_needs_a_reason_and_sensible_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tfa.json");
    let s = store.to_str().unwrap();
    let output = tfa(&[
        "bypass",
        "--store",
        s,
        "bob",
        "--minutes",
        "30",
        "--reason",
        "  ",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--reason"), "{}", stderr(&output));
    let output = tfa(&[
        "bypass",
        "--store",
        s,
        "bob",
        "--minutes",
        "0",
        "--reason",
        "r",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--minutes"), "{}", stderr(&output));
    assert!(!store.exists());
}

#[test]
fn list_of_a_missing_or_corrupt_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tfa.json");
    let s = store.to_str().unwrap();
    let output = tfa(&["list", "--store", s]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("tfa settings file {s} does not exist")),
        "{}",
        stderr(&output)
    );
    std::fs::write(&store, "{ not json").unwrap();
    for args in [
        &["list", "--store", s][..],
        &["enable", "--store", s, "alice"][..],
    ] {
        let output = tfa(args);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).contains(&format!("tfa settings file {s} is corrupt")),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(std::fs::read_to_string(&store).unwrap(), "{ not json");
}

fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_change_is_audited_with_who_made_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tfa.json");
    let audit = dir.path().join("audit.jsonl");
    let (s, a) = (store.to_str().unwrap(), audit.to_str().unwrap());
    let output = tfa(&[
        "disable", "--store", s, "--audit", a, "--by", "ops", "alice", "bob",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = tfa(&[
        "bypass",
        "--store",
        s,
        "carol",
        "--minutes",
        "10",
        "--reason",
        "phone lost",
        "--audit",
        a,
        "--by",
        "ops",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    runtime().block_on(async {
        let settings = FileTfaStateStore::open(&store).await.unwrap();
        settings
            .block(&user("erin"), Timestamp::from_unix_millis(1))
            .await
            .unwrap();
    });
    let output = tfa(&["unblock", "--store", s, "--audit", a, "--by", "ops", "erin"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["user"], "alice");
    assert_eq!(lines[1]["user"], "bob");
    assert_eq!(
        lines[1]["kind"],
        serde_json::json!({"event": "enforcement-changed", "enforced": false, "by": "ops"})
    );
    assert_eq!(lines[1]["message"], "tfa enforcement set to off by ops");
    assert_eq!(lines[1]["severity"], "warning");
    assert_eq!(lines[2]["kind"]["event"], "bypass-granted");
    assert_eq!(lines[2]["kind"]["reason"], "phone lost");
    assert_eq!(lines[2]["kind"]["by"], "ops");
    assert_eq!(lines[3]["user"], "erin");
    assert_eq!(lines[3]["kind"]["event"], "unblocked");
}

#[test]
fn nothing_changes_when_the_audit_file_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tfa.json");
    let audit = dir.path().join("no-such-dir").join("audit.jsonl");
    let output = tfa(&[
        "enable",
        "--store",
        store.to_str().unwrap(),
        "--audit",
        audit.to_str().unwrap(),
        "alice",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot open the audit file")
            && stderr(&output).contains("nothing changed"),
        "{}",
        stderr(&output)
    );
    assert!(!store.exists(), "the settings file was not created");
}

#[test]
fn settings_in_a_shared_redis_are_changed_listed_and_read_by_the_stores() {
    let server = tfa_test_support::redis::RedisServer::start().unwrap();
    let url = format!("{}#admin-tests", server.url());
    let open = || async {
        tfa_store_redis::RedisStores::connect(
            &server.url(),
            tfa_store_redis::Namespace::new("admin-tests").unwrap(),
        )
        .await
        .unwrap()
    };
    let output = tfa(&["disable", "--store", &url, "Alice", "bob"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = tfa(&[
        "bypass",
        "--store",
        &url,
        "carol",
        "--minutes",
        "5",
        "--reason",
        "phone lost",
        "--by",
        "ops",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    runtime().block_on(async {
        let stores = open().await;
        let state = stores.tfa_state();
        assert_eq!(
            state.enforcement(&user("alice")).await.unwrap(),
            Some(false)
        );
        assert_eq!(state.enforcement(&user("dave")).await.unwrap(), None);
        state
            .block(
                &user("erin"),
                Timestamp::from_unix_millis(1_767_225_600_000),
            )
            .await
            .unwrap();
    });

    let output = tfa(&["list", "--store", &url, "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let rows: Vec<serde_json::Value> = stdout_lines(&output)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0], serde_json::json!({"user": "alice", "tfa": "off"}));
    assert_eq!(rows[1]["user"], "bob");
    assert_eq!(rows[2]["bypass"]["granted_by"], "ops");
    assert_eq!(rows[3]["blocked_since"], "2026-01-01T00:00:00Z");

    let output = tfa(&["unblock", "--store", &url, "erin"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = tfa(&["reset", "--store", &url, "alice", "bob"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    runtime().block_on(async {
        let state = open().await.tfa_state();
        assert!(!state.is_blocked(&user("erin")).await.unwrap());
        assert_eq!(state.enforcement(&user("bob")).await.unwrap(), None);
    });
    let output = tfa(&["list", "--store", &url, "--json"]);
    assert_eq!(
        stdout_lines(&output).len(),
        1,
        "only carol's bypass is left"
    );
}

#[test]
fn an_unreachable_redis_changes_nothing_and_hides_its_password() {
    let output = tfa(&[
        "enable",
        "--store",
        "redis://:hunter2@127.0.0.1:1#x",
        "alice",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
