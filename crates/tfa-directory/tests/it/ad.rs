//! The Active Directory backend against a real Samba AD domain controller.

use secrecy::SecretString;
use tfa_directory::{
    ActiveDirectory, ActiveDirectoryConfig, AdGroups, DirectoryError, FirstFactor, PhoneField,
    Username,
};
use tfa_phone::PhoneNumber;
use tfa_test_support::samba::{self, SambaDc};

fn name(s: &str) -> Username {
    Username::new(s).unwrap()
}

fn pw(s: &str) -> SecretString {
    SecretString::from(s)
}

fn base(url: String) -> ActiveDirectoryConfig {
    let dc = SambaDc::shared();
    ActiveDirectoryConfig::new(url, samba::DOMAIN)
        .netbios_domain(samba::NETBIOS)
        .add_ca_file(dc.ca_file())
}

fn with_service_account(config: ActiveDirectoryConfig) -> ActiveDirectoryConfig {
    config.service_account(samba::SERVICE.upn(), pw(samba::SERVICE.password))
}

/// Search-then-bind over LDAPS with the service account.
fn ad() -> ActiveDirectory {
    ActiveDirectory::new(with_service_account(base(SambaDc::shared().ldaps_url()))).unwrap()
}

/// Users bind as themselves and read their own entry.
fn ad_without_service_account() -> ActiveDirectory {
    ActiveDirectory::new(base(SambaDc::shared().ldaps_url())).unwrap()
}

fn stored(phone: Option<&PhoneField>) -> Option<String> {
    phone.and_then(PhoneField::number).map(PhoneNumber::stored)
}

#[tokio::test]
async fn all_three_login_forms_verify_the_same_account() {
    for dir in [ad(), ad_without_service_account()] {
        for typed in [
            samba::ALICE.sam.to_owned(),
            samba::ALICE.upn(),
            samba::ALICE.down_level(),
            "ALICE@TFA.TEST".to_owned(),
            "tfa.test\\alice".to_owned(),
        ] {
            let identity = dir
                .verify(&name(&typed), &pw(samba::ALICE.password))
                .await
                .unwrap_or_else(|e| panic!("{typed}: {e:?}"));
            assert_eq!(identity.username().as_str(), "alice", "{typed}");
            assert_eq!(
                stored(identity.record().phone()),
                Some("1 9259249500".into())
            );
        }
    }
}

#[tokio::test]
async fn the_record_carries_ad_attributes() {
    let alice = ad().lookup(&name("alice")).await.unwrap().unwrap();
    assert_eq!(alice.display_name(), Some("Alice Liddell"));
    assert_eq!(alice.email(), Some("alice@tfa.test"));
    assert!(
        alice
            .entry_dn()
            .unwrap()
            .ends_with(",CN=Users,DC=tfa,DC=test")
    );
    assert!(alice.is_enabled());
}

#[tokio::test]
async fn wrong_password_unknown_user_and_foreign_domain_are_credential_failures() {
    for dir in [ad(), ad_without_service_account()] {
        let wrong = dir
            .verify(&name("bob"), &pw("B0b!Wrong-1"))
            .await
            .unwrap_err();
        assert!(matches!(wrong, DirectoryError::BadCredentials), "{wrong:?}");
        let empty = dir.verify(&name("bob"), &pw("")).await.unwrap_err();
        assert!(matches!(empty, DirectoryError::BadCredentials), "{empty:?}");
        let foreign = dir
            .verify(&name("OTHER\\bob"), &pw(samba::BOB.password))
            .await
            .unwrap_err();
        assert!(
            matches!(foreign, DirectoryError::UnknownUser),
            "{foreign:?}"
        );
    }
    let unknown = ad()
        .verify(&name("mallory"), &pw("M4llory!x"))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, DirectoryError::UnknownUser),
        "{unknown:?}"
    );
    // Binding as a user who does not exist: AD answers like a wrong password.
    let unknown = ad_without_service_account()
        .verify(&name("mallory"), &pw("M4llory!x"))
        .await
        .unwrap_err();
    assert!(unknown.is_credential_failure(), "{unknown:?}");
}

#[tokio::test]
async fn disabled_account_answers_533() {
    for dir in [ad(), ad_without_service_account()] {
        let err = dir
            .verify(&name("dan"), &pw(samba::DAN.password))
            .await
            .unwrap_err();
        assert!(matches!(err, DirectoryError::AccountDisabled), "{err:?}");
    }
    let dan = ad().lookup(&name("dan")).await.unwrap().unwrap();
    assert!(
        !dan.is_enabled(),
        "userAccountControl's disabled flag is read"
    );
}

#[tokio::test]
async fn must_change_password_answers_773() {
    let err = ad()
        .verify(&name("mia"), &pw(samba::MIA.password))
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::PasswordMustChange), "{err:?}");
}

#[tokio::test]
async fn expired_account_answers_701() {
    let err = ad()
        .verify(&name("eve"), &pw(samba::EVE.password))
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::AccountExpired), "{err:?}");
}

#[tokio::test]
async fn locked_account_answers_775_even_with_the_right_password() {
    let dir = ad();
    for _ in 0..samba::LOCKOUT_THRESHOLD {
        let err = dir
            .verify(&name("lou"), &pw("L0u!Wrong-1"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                DirectoryError::BadCredentials | DirectoryError::AccountLocked
            ),
            "{err:?}"
        );
    }
    let err = dir
        .verify(&name("lou"), &pw(samba::LOU.password))
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::AccountLocked), "{err:?}");
}

#[tokio::test]
async fn nested_groups_come_from_the_in_chain_rule() {
    let dir = ad();
    let alice = dir.lookup(&name("alice")).await.unwrap().unwrap();
    for group in ["Inner", "Outer", "TfaRequired"] {
        assert!(
            alice.is_member_of(group),
            "alice in {group}: {:?}",
            alice.groups()
        );
    }
    assert!(alice.is_member_of(&samba::group_dn("TfaRequired")));
    let bob = dir.lookup(&name("bob")).await.unwrap().unwrap();
    assert!(bob.is_member_of("TfaRequired") && bob.is_member_of("Outer"));
    assert!(!bob.is_member_of("Inner"));
    let mia = dir.lookup(&name("mia")).await.unwrap().unwrap();
    assert!(!mia.is_member_of("TfaRequired"));
}

#[tokio::test]
async fn direct_groups_come_from_member_of() {
    let dir = ActiveDirectory::new(
        with_service_account(base(SambaDc::shared().ldaps_url())).groups(AdGroups::Direct),
    )
    .unwrap();
    let alice = dir.lookup(&name("alice")).await.unwrap().unwrap();
    assert!(alice.is_member_of("Inner"));
    assert!(!alice.is_member_of("TfaRequired"));
}

#[tokio::test]
async fn phone_comes_from_mobile_when_there_is_no_telephone_number() {
    let bob = ad().lookup(&name("bob")).await.unwrap().unwrap();
    assert_eq!(stored(bob.phone()), Some("91 9876543210".into()));
}

#[tokio::test]
async fn unicode_account_names_and_passwords_work() {
    let dir = ad();
    let identity = dir
        .verify(&name("zoë"), &pw(samba::ZOE.password))
        .await
        .unwrap();
    assert_eq!(identity.username().as_str(), "zoë");
    assert!(identity.record().is_member_of("TfaRequired"));
    let upn = ad_without_service_account()
        .verify(&name("zoë@tfa.test"), &pw(samba::ZOE.password))
        .await
        .unwrap();
    assert_eq!(upn.username().as_str(), "zoë");
    assert!(matches!(
        dir.verify(&name("zoë"), &pw("Passwörd-密码-1")).await,
        Err(DirectoryError::BadCredentials)
    ));
}

#[tokio::test]
async fn filter_injection_finds_nobody() {
    let dir = ad();
    for attack in ["*)(sAMAccountName=*", "*", "a*", "*@tfa.test", "TFA\\*"] {
        assert!(
            dir.lookup(&name(attack)).await.unwrap().is_none(),
            "{attack}"
        );
        let err = dir
            .verify(&name(attack), &pw(samba::ALICE.password))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DirectoryError::UnknownUser),
            "{attack}: {err:?}"
        );
    }
}

#[tokio::test]
async fn starttls_works_on_the_plain_port() {
    let dc = SambaDc::shared();
    let dir = ActiveDirectory::new(with_service_account(base(dc.ldap_url())).starttls()).unwrap();
    assert!(
        dir.verify(&name("bob"), &pw(samba::BOB.password))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn binds_in_the_clear_are_refused_as_a_misconfiguration() {
    let dc = SambaDc::shared();
    for config in [
        with_service_account(base(dc.ldap_url())),
        base(dc.ldap_url()),
    ] {
        let dir = ActiveDirectory::new(config).unwrap();
        let err = dir
            .verify(&name("bob"), &pw(samba::BOB.password))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DirectoryError::Misconfiguration { .. }),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn lookup_without_a_service_account_is_a_misconfiguration() {
    let err = ad_without_service_account()
        .lookup(&name("alice"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DirectoryError::Misconfiguration { .. }),
        "{err:?}"
    );
}
