//! Every AD bind sub-code through the whole backend, against a fake AD server that also
//! sends search references before every entry.

use secrecy::SecretString;
use tfa_directory::{
    ActiveDirectory, ActiveDirectoryConfig, DirectoryError, FirstFactor, Username,
};
use tfa_test_support::fake_ad::{self, FakeAd};

fn fake() -> ActiveDirectory {
    // The fake speaks plain LDAP: fine for testing the answers, never for a real DC.
    let server = FakeAd::start().unwrap();
    ActiveDirectory::new(
        ActiveDirectoryConfig::new(server.url(), fake_ad::DOMAIN).service_account(
            fake_ad::SERVICE_DN,
            SecretString::from(fake_ad::SERVICE_PASSWORD),
        ),
    )
    .unwrap()
}

/// Whether an error is the one expected.
type Expected = fn(&DirectoryError) -> bool;

async fn verify(dir: &ActiveDirectory, user: &str) -> Result<String, DirectoryError> {
    dir.verify(
        &Username::new(user).unwrap(),
        &SecretString::from(fake_ad::RIGHT_PASSWORD),
    )
    .await
    .map(|identity| identity.username().to_string())
}

#[tokio::test]
async fn every_sub_code_maps_to_its_error() {
    let dir = fake();
    let cases: [(&str, Expected); 9] = [
        ("sub52e", |e| matches!(e, DirectoryError::BadCredentials)),
        ("sub525", |e| matches!(e, DirectoryError::UnknownUser)),
        ("sub530", |e| matches!(e, DirectoryError::NotPermittedNow)),
        ("sub531", |e| matches!(e, DirectoryError::NotPermittedHere)),
        ("sub532", |e| matches!(e, DirectoryError::PasswordExpired)),
        ("sub533", |e| matches!(e, DirectoryError::AccountDisabled)),
        ("sub701", |e| matches!(e, DirectoryError::AccountExpired)),
        ("sub773", |e| {
            matches!(e, DirectoryError::PasswordMustChange)
        }),
        ("sub775", |e| matches!(e, DirectoryError::AccountLocked)),
    ];
    for (user, expected) in cases {
        let err = verify(&dir, user).await.unwrap_err();
        assert!(expected(&err), "{user}: {err:?}");
    }
}

#[tokio::test]
async fn an_unknown_sub_code_is_still_a_refusal() {
    let err = verify(&fake(), "sub999").await.unwrap_err();
    assert!(matches!(err, DirectoryError::BadCredentials), "{err:?}");
}

#[tokio::test]
async fn search_references_are_skipped() {
    assert_eq!(verify(&fake(), "plain").await.unwrap(), "plain");
}
