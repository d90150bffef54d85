//! `FileTfaStateStore`: TFA settings in a real file, reopened, corrupted, written while
//! another handle reads, and behind a real `Authenticator`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tfa_flow::{
    Authenticator, BypassGrant, FileTfaStateStore, FlowError, MemoryAuditSink, NumberNeed,
    PhoneBook, Progress, TfaStateFileError, TfaStateStore, Timestamp,
};

use crate::support::*;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_millis(2_000_000_000_000).plus(Duration::from_secs(secs))
}

/// The typed file error behind a store failure.
fn file_error(error: &FlowError) -> &TfaStateFileError {
    let FlowError::Store { store, source } = error else {
        panic!("expected a store error, got {error:?}")
    };
    assert_eq!(*store, "tfa settings");
    source.downcast_ref().unwrap()
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.contains(".tmp-"))
        .collect()
}

#[tokio::test]
async fn settings_bypasses_and_blocks_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    let store = FileTfaStateStore::open_or_create(&path).await.unwrap();
    store
        .set_enforcement_many(&[user("alice"), user("Bob")], Some(false))
        .await
        .unwrap();
    store
        .set_enforcement(&user("carol"), Some(true))
        .await
        .unwrap();
    let grant = BypassGrant {
        until: at(600),
        reason: "phone lost".into(),
        granted_by: "admin".into(),
    };
    store
        .grant_bypass(&user("dave"), grant.clone())
        .await
        .unwrap();
    store.block(&user("erin"), at(5)).await.unwrap();
    drop(store);

    let store = FileTfaStateStore::open(&path).await.unwrap();
    assert_eq!(
        store.enforcement(&user("ALICE")).await.unwrap(),
        Some(false)
    );
    assert_eq!(store.enforcement(&user("bob")).await.unwrap(), Some(false));
    assert_eq!(store.enforcement(&user("carol")).await.unwrap(), Some(true));
    assert_eq!(store.enforcement(&user("dave")).await.unwrap(), None);
    assert!(store.is_blocked(&user("erin")).await.unwrap());
    assert_eq!(
        store.take_bypass(&user("dave"), at(1)).await.unwrap(),
        Some(grant)
    );
    let users = store.users().await.unwrap();
    assert_eq!(
        users.keys().map(String::as_str).collect::<Vec<_>>(),
        ["alice", "bob", "carol", "erin"],
        "the used bypass is gone, and names are kept in lower case"
    );
    assert_eq!(users["erin"].blocked_at, Some(at(5)));
    assert!(store.unblock(&user("erin")).await.unwrap());
    assert!(
        !FileTfaStateStore::open(&path)
            .await
            .unwrap()
            .is_blocked(&user("erin"))
            .await
            .unwrap()
    );
    assert!(temp_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_missing_file_is_refused_by_open_and_a_vanished_one_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    let err = FileTfaStateStore::open(&path).await.unwrap_err();
    assert!(
        matches!(file_error(&err), TfaStateFileError::Missing { path: p } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        file_error(&err).to_string(),
        format!("tfa settings file {} does not exist", path.display())
    );

    let store = FileTfaStateStore::open_or_create(&path).await.unwrap();
    store.block(&user("erin"), at(0)).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = store.is_blocked(&user("erin")).await.unwrap_err();
    assert!(
        matches!(file_error(&err), TfaStateFileError::Disappeared { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_corrupt_file_is_refused_naming_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    std::fs::write(
        &path,
        "{\n  \"version\": 1,\n  \"users\": {\"alice\": {\"enforced\": 3}}\n}\n",
    )
    .unwrap();
    let err = FileTfaStateStore::open(&path).await.unwrap_err();
    assert_eq!(err.to_string(), "tfa settings store failed");
    let message = file_error(&err).to_string();
    assert!(
        message.starts_with(&format!(
            "tfa settings file {} is corrupt: ",
            path.display()
        )),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");

    // Corrupted while open (a bad hand edit): every call fails, nobody's setting is guessed.
    std::fs::write(&path, r#"{"version": 1, "users": {}}"#).unwrap();
    let store = FileTfaStateStore::open(&path).await.unwrap();
    std::fs::write(&path, "{ half a fi").unwrap();
    let err = store.enforcement(&user("alice")).await.unwrap_err();
    assert!(
        matches!(file_error(&err), TfaStateFileError::Corrupt { .. }),
        "{err:?}"
    );
    let err = store.block(&user("alice"), at(0)).await.unwrap_err();
    assert!(
        matches!(file_error(&err), TfaStateFileError::Corrupt { .. }),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ half a fi");
}

#[tokio::test]
async fn a_failed_write_leaves_the_old_file_and_the_old_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    let store = FileTfaStateStore::open_or_create(&path).await.unwrap();
    store
        .set_enforcement(&user("alice"), Some(true))
        .await
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    // The temporary file's name taken by a directory: the write fails before the rename,
    // as a crash or a full disk would.
    let blocker = dir
        .path()
        .join(format!("tfa.json.tmp-{}", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    let err = store
        .set_enforcement(&user("alice"), Some(false))
        .await
        .unwrap_err();
    assert!(
        matches!(file_error(&err), TfaStateFileError::Write { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "nothing half-written"
    );
    assert_eq!(
        store.enforcement(&user("alice")).await.unwrap(),
        Some(true),
        "memory follows the file"
    );
    std::fs::remove_dir(&blocker).unwrap();
    store
        .set_enforcement(&user("alice"), Some(false))
        .await
        .unwrap();
    assert_eq!(
        FileTfaStateStore::open(&path)
            .await
            .unwrap()
            .enforcement(&user("alice"))
            .await
            .unwrap(),
        Some(false)
    );
}

#[tokio::test]
async fn a_half_written_temporary_file_from_a_crash_is_ignored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    let store = FileTfaStateStore::open_or_create(&path).await.unwrap();
    store.block(&user("erin"), at(0)).await.unwrap();
    drop(store);
    let stale = dir
        .path()
        .join(format!("tfa.json.tmp-{}", std::process::id()));
    std::fs::write(&stale, "{\"version\": 1, \"us").unwrap();

    let store = FileTfaStateStore::open(&path).await.unwrap();
    assert!(store.is_blocked(&user("erin")).await.unwrap());
    store
        .set_enforcement(&user("alice"), Some(false))
        .await
        .unwrap();
    assert!(!stale.exists(), "renamed into place");
    assert!(store.is_blocked(&user("erin")).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_in_one_process_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    let store = FileTfaStateStore::open_or_create(&path).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let name = user(&format!("user{i}"));
                if i % 2 == 0 {
                    store.set_enforcement(&name, Some(i % 4 == 0)).await
                } else {
                    store.block(&name, at(i)).await
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let users = FileTfaStateStore::open(&path)
        .await
        .unwrap()
        .users()
        .await
        .unwrap();
    assert_eq!(users.len(), 40);
    for i in 0..40u64 {
        let settings = &users[&format!("user{i}")];
        if i % 2 == 0 {
            assert_eq!(settings.enforced, Some(i % 4 == 0));
        } else {
            assert_eq!(settings.blocked_at, Some(at(i)));
        }
    }
}

#[tokio::test]
async fn a_change_through_another_handle_is_seen_at_the_next_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    // As a server and the operator's tool would hold the same file.
    let server = FileTfaStateStore::open_or_create(&path).await.unwrap();
    let admin = FileTfaStateStore::open_or_create(&path).await.unwrap();
    server.block(&user("erin"), at(0)).await.unwrap();
    assert!(admin.unblock(&user("erin")).await.unwrap());
    assert!(!server.is_blocked(&user("erin")).await.unwrap());
    admin
        .set_enforcement(&user("alice"), Some(false))
        .await
        .unwrap();
    assert_eq!(
        server.enforcement(&user("alice")).await.unwrap(),
        Some(false)
    );
    // And the server's next change keeps the admin's.
    server.block(&user("bob"), at(1)).await.unwrap();
    assert_eq!(
        admin.enforcement(&user("alice")).await.unwrap(),
        Some(false)
    );
    assert!(admin.is_blocked(&user("bob")).await.unwrap());
}

#[tokio::test]
async fn the_authenticator_reads_enforcement_from_the_file_and_writes_fraud_blocks_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfa.json");
    let settings = FileTfaStateStore::open_or_create(&path).await.unwrap();
    settings
        .set_enforcement(&user("alice"), Some(false))
        .await
        .unwrap();
    let (directory, book, _users_dir) = local_users().await;
    let phone = Arc::new(ScriptedPhone::new(NumberNeed::Required));
    phone.script("dave", Script::Deny(tfa_flow::Denial::FraudReported));
    let auth = Authenticator::builder(directory, phone.clone())
        .policy(quick_policy())
        .phone_book(book as Arc<dyn PhoneBook>)
        .tfa_state_store(Arc::new(settings.clone()))
        .audit_sink(Arc::new(MemoryAuditSink::new()))
        .build()
        .unwrap();

    let id = auth.begin("alice", ip(1)).await.unwrap();
    let progress = auth.submit_password(id, secret(PASSWORD)).await.unwrap();
    assert!(
        matches!(progress, Progress::Authenticated(_)),
        "{progress:?}"
    );
    assert_eq!(phone.calls(), 0, "TFA is off for alice in the file");

    let id = auth.begin("dave", ip(1)).await.unwrap();
    auth.submit_password(id, secret(PASSWORD)).await.unwrap();
    assert!(matches!(
        auth.second_factor(id).await.unwrap(),
        Progress::Denied { .. }
    ));
    let reopened = FileTfaStateStore::open(&path).await.unwrap();
    assert!(reopened.is_blocked(&user("dave")).await.unwrap());
}
