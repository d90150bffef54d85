//! The local store, over real files.

use secrecy::SecretString;
use tfa_directory::{
    DirectoryError, FirstFactor, HashParams, ImportOptions, LocalDirectory, NewUser, PhoneField,
    Username,
};
use tfa_phone::PhoneNumber;

/// Cheap parameters: the tests check behaviour, not cost.
const FAST: HashParams = HashParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

fn name(s: &str) -> Username {
    Username::new(s).unwrap()
}

fn pw(s: &str) -> SecretString {
    SecretString::from(s)
}

async fn store_with_alice(dir: &tempfile::TempDir) -> LocalDirectory {
    let store = LocalDirectory::open_or_create(dir.path().join("users.json"), FAST)
        .await
        .unwrap();
    store
        .add_user(
            NewUser::new(name("alice"), pw("correct horse"))
                .display_name("Alice Liddell")
                .email("alice@example.org")
                .phone(PhoneNumber::parse_stored("1 9259249500 292").unwrap())
                .groups(vec!["sales".into()]),
        )
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn right_password_gives_the_users_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    let identity = store
        .verify(&name("alice"), &pw("correct horse"))
        .await
        .unwrap();
    let record = identity.record();
    assert_eq!(identity.username().as_str(), "alice");
    assert_eq!(record.display_name(), Some("Alice Liddell"));
    assert_eq!(record.email(), Some("alice@example.org"));
    assert_eq!(
        record
            .phone()
            .and_then(PhoneField::number)
            .map(PhoneNumber::stored),
        Some("1 9259249500 292".to_owned())
    );
    assert!(record.is_member_of("sales"));
    assert!(record.is_enabled());
}

#[tokio::test]
async fn wrong_empty_and_unknown_are_credential_failures() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    let wrong = store
        .verify(&name("alice"), &pw("Correct horse"))
        .await
        .unwrap_err();
    assert!(matches!(wrong, DirectoryError::BadCredentials));
    let empty = store.verify(&name("alice"), &pw("")).await.unwrap_err();
    assert!(matches!(empty, DirectoryError::BadCredentials));
    let unknown = store
        .verify(&name("mallory"), &pw("correct horse"))
        .await
        .unwrap_err();
    assert!(matches!(unknown, DirectoryError::UnknownUser));
    assert!(wrong.is_credential_failure() && unknown.is_credential_failure());
    assert_eq!(wrong.to_string(), "wrong username or password");
}

#[tokio::test]
async fn disabled_user_is_told_only_after_the_right_password() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    store.disable_user(&name("alice")).await.unwrap();
    assert!(matches!(
        store.verify(&name("alice"), &pw("wrong")).await,
        Err(DirectoryError::BadCredentials)
    ));
    assert!(matches!(
        store.verify(&name("alice"), &pw("correct horse")).await,
        Err(DirectoryError::AccountDisabled)
    ));
    assert!(
        !store
            .lookup(&name("alice"))
            .await
            .unwrap()
            .unwrap()
            .is_enabled()
    );
    store.enable_user(&name("alice")).await.unwrap();
    assert!(
        store
            .verify(&name("alice"), &pw("correct horse"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn changes_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    {
        let store = store_with_alice(&dir).await;
        store
            .set_password(&name("alice"), &pw("new secret"))
            .await
            .unwrap();
        store
            .set_phone(
                &name("alice"),
                Some(&PhoneNumber::parse_stored("91 9876543210").unwrap()),
            )
            .await
            .unwrap();
        store
            .add_user(NewUser::new(name("bob"), pw("bob's password")))
            .await
            .unwrap();
        store.remove_user(&name("bob")).await.unwrap();
    }
    let reopened = LocalDirectory::open(&path, FAST).await.unwrap();
    assert!(matches!(
        reopened.verify(&name("alice"), &pw("correct horse")).await,
        Err(DirectoryError::BadCredentials)
    ));
    let identity = reopened
        .verify(&name("alice"), &pw("new secret"))
        .await
        .unwrap();
    assert_eq!(
        identity
            .record()
            .phone()
            .and_then(PhoneField::number)
            .map(PhoneNumber::e164),
        Some("+919876543210".to_owned())
    );
    assert_eq!(reopened.usernames().await, vec![name("alice")]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("$argon2id$v=19$m=256,t=1,p=1$"), "{text}");
    assert!(!text.contains("new secret"));
}

#[tokio::test]
async fn admin_errors_name_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    let exists = store
        .add_user(NewUser::new(name("alice"), pw("x")))
        .await
        .unwrap_err();
    assert_eq!(exists.to_string(), "user \"alice\" already exists");
    let missing = store.remove_user(&name("carol")).await.unwrap_err();
    assert_eq!(missing.to_string(), "user \"carol\" is not in the store");
    assert!(matches!(
        store.set_password(&name("alice"), &pw("")).await,
        Err(DirectoryError::EmptyPassword { .. })
    ));
}

#[tokio::test]
async fn unicode_usernames_and_passwords_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    store
        .add_user(NewUser::new(name("zoë.ünal"), pw("pässwörd-密码-🔑")))
        .await
        .unwrap();
    assert!(
        store
            .verify(&name("zoë.ünal"), &pw("pässwörd-密码-🔑"))
            .await
            .is_ok()
    );
    assert!(matches!(
        store
            .verify(&name("zoë.ünal"), &pw("passwort-密码-🔑"))
            .await,
        Err(DirectoryError::BadCredentials)
    ));
    assert!(matches!(
        store
            .verify(&name("zoe.unal"), &pw("pässwörd-密码-🔑"))
            .await,
        Err(DirectoryError::UnknownUser)
    ));
}

#[tokio::test]
async fn opening_a_missing_store_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalDirectory::open(dir.path().join("absent.json"), FAST)
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::StoreIo { .. }));
    assert!(err.to_string().contains("absent.json"), "{err}");
}

const CSV_WITH_BAD_ROWS: &str = "\
username,password,phone,display_name,groups,enabled
carol,carol pw,+1 (925) 924-9500 ext. 7,Carol,sales;eng,true
dave,,+44 20 7946 0958,Dave,,
erin,erin pw,not a number,Erin,,
alice,dup pw,,,,
frank,frank pw,44 2079460958,Frank,,no
";

#[tokio::test]
async fn import_with_a_bad_row_writes_nothing_and_names_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    let before = std::fs::read(store.path()).unwrap();
    let report = store
        .import_csv(CSV_WITH_BAD_ROWS.as_bytes(), &ImportOptions::new())
        .await
        .unwrap();
    assert!(!report.written);
    assert!(report.added.is_empty());
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(matches!(
        report.errors[0].error,
        DirectoryError::EmptyPassword { .. }
    ));
    assert!(matches!(
        report.errors[1].error,
        DirectoryError::InvalidPhone { .. }
    ));
    assert!(matches!(
        report.errors[2].error,
        DirectoryError::UserExists { .. }
    ));
    assert_eq!(report.errors[1].to_string(), "line 4 (user \"erin\")");
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
    assert!(store.lookup(&name("carol")).await.unwrap().is_none());
}

#[tokio::test]
async fn import_skipping_bad_rows_adds_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    let report = store
        .import_csv(
            CSV_WITH_BAD_ROWS.as_bytes(),
            &ImportOptions::new().skip_bad_rows(),
        )
        .await
        .unwrap();
    assert!(report.written);
    assert_eq!(report.added, vec![name("carol"), name("frank")]);
    assert_eq!(report.errors.len(), 3);

    let reopened = LocalDirectory::open(store.path(), FAST).await.unwrap();
    let carol = reopened
        .verify(&name("carol"), &pw("carol pw"))
        .await
        .unwrap();
    assert_eq!(
        carol
            .record()
            .phone()
            .and_then(PhoneField::number)
            .map(PhoneNumber::stored),
        Some("1 9259249500 7".to_owned())
    );
    assert!(carol.record().is_member_of("eng"));
    assert!(matches!(
        reopened.verify(&name("frank"), &pw("frank pw")).await,
        Err(DirectoryError::AccountDisabled)
    ));
}

#[tokio::test]
async fn import_refuses_unknown_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_alice(&dir).await;
    let err = store
        .import_csv(
            "username,password,pin\nx,y,1\n".as_bytes(),
            &ImportOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown column \"pin\""), "{err}");
}
