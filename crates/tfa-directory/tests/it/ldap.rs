//! The LDAP backend against a real OpenLDAP server.

use secrecy::SecretString;
use tfa_directory::{
    AttributeMap, BindConfig, DirectoryError, FirstFactor, GroupConfig, LdapConfig, LdapDirectory,
    PhoneField, Username,
};
use tfa_phone::PhoneNumber;
use tfa_test_support::slapd::{self, Slapd};

fn name(s: &str) -> Username {
    Username::new(s).unwrap()
}

fn pw(s: &str) -> SecretString {
    SecretString::from(s)
}

fn service_account() -> BindConfig {
    BindConfig::service_account(slapd::SERVICE_DN, pw(slapd::SERVICE_PASSWORD))
}

/// The fixture's settings: inetOrgPerson users, `employeeType: disabled` marks disabled
/// accounts, the PhoneFactor username in `employeeNumber`.
fn config(url: String, bind: BindConfig) -> LdapConfig {
    let mut attributes = AttributeMap::default();
    attributes.phonefactor_username = Some("employeeNumber".into());
    LdapConfig::new(url, slapd::PEOPLE_DN, bind)
        .user_filter("(&(objectClass=inetOrgPerson)(uid={user}))")
        .attributes(attributes)
        .disabled_when("employeeType", "disabled")
}

fn plain() -> LdapDirectory {
    LdapDirectory::new(config(Slapd::shared().ldap_url(), service_account())).unwrap()
}

fn stored(phone: Option<&PhoneField>) -> Option<String> {
    phone.and_then(PhoneField::number).map(PhoneNumber::stored)
}

#[tokio::test]
async fn search_then_bind_gives_the_mapped_record() {
    let identity = plain()
        .verify(&name("alice"), &pw(slapd::ALICE.password))
        .await
        .unwrap();
    let record = identity.record();
    assert_eq!(identity.username().as_str(), "alice");
    assert_eq!(record.entry_dn(), Some(slapd::ALICE.dn().as_str()));
    assert_eq!(record.display_name(), Some("Alice Liddell"));
    assert_eq!(record.email(), Some("alice@example.org"));
    assert_eq!(stored(record.phone()), Some("1 9259249500 292".into()));
    assert_eq!(record.phonefactor_username(), "pf-alice");
    assert!(record.is_enabled());
}

#[tokio::test]
async fn ldaps_with_the_imported_root_works() {
    let server = Slapd::shared();
    let dir = LdapDirectory::new(
        config(server.ldaps_url(), service_account()).add_ca_file(server.ca_file()),
    )
    .unwrap();
    let identity = dir
        .verify(&name("bob"), &pw(slapd::BOB.password))
        .await
        .unwrap();
    assert_eq!(identity.record().display_name(), Some("Bob Builder"));
}

#[tokio::test]
async fn starttls_with_the_imported_root_works() {
    let server = Slapd::shared();
    let dir = LdapDirectory::new(
        config(server.ldap_url(), service_account())
            .starttls()
            .add_ca_file(server.ca_file()),
    )
    .unwrap();
    assert!(
        dir.verify(&name("bob"), &pw(slapd::BOB.password))
            .await
            .is_ok()
    );
    assert!(matches!(
        dir.verify(&name("bob"), &pw("wrong")).await,
        Err(DirectoryError::BadCredentials)
    ));
}

#[tokio::test]
async fn an_untrusted_server_certificate_is_unreachable_not_a_bad_password() {
    let server = Slapd::shared();
    for config in [
        config(server.ldaps_url(), service_account()),
        config(server.ldap_url(), service_account()).starttls(),
    ] {
        let dir = LdapDirectory::new(config).unwrap();
        let err = dir
            .verify(&name("bob"), &pw(slapd::BOB.password))
            .await
            .unwrap_err();
        assert!(matches!(err, DirectoryError::Unreachable { .. }), "{err:?}");
        assert!(err.is_system_failure());
    }
}

#[tokio::test]
async fn wrong_empty_and_unknown_are_credential_failures() {
    let dir = plain();
    assert!(matches!(
        dir.verify(&name("alice"), &pw("alice-Secret")).await,
        Err(DirectoryError::BadCredentials)
    ));
    assert!(matches!(
        dir.verify(&name("alice"), &pw("")).await,
        Err(DirectoryError::BadCredentials)
    ));
    assert!(matches!(
        dir.verify(&name("mallory"), &pw("alice-secret")).await,
        Err(DirectoryError::UnknownUser)
    ));
    assert!(dir.lookup(&name("mallory")).await.unwrap().is_none());
}

#[tokio::test]
async fn filter_injection_finds_nobody() {
    let dir = plain();
    for attack in ["*)(uid=*))(|(uid=*", "*", "alice)(|(uid=*", "a*", "\\2a"] {
        assert!(
            dir.lookup(&name(attack)).await.unwrap().is_none(),
            "{attack}"
        );
        assert!(
            matches!(
                dir.verify(&name(attack), &pw("alice-secret")).await,
                Err(DirectoryError::UnknownUser)
            ),
            "{attack}"
        );
    }
}

#[tokio::test]
async fn disabled_account_is_refused_only_with_the_right_password() {
    let dir = plain();
    assert!(matches!(
        dir.verify(&name("carol"), &pw(slapd::CAROL.password)).await,
        Err(DirectoryError::AccountDisabled)
    ));
    assert!(matches!(
        dir.verify(&name("carol"), &pw("wrong")).await,
        Err(DirectoryError::BadCredentials)
    ));
    assert!(
        !dir.lookup(&name("carol"))
            .await
            .unwrap()
            .unwrap()
            .is_enabled()
    );
}

#[tokio::test]
async fn phone_comes_from_mobile_when_there_is_no_telephone_number() {
    let bob = plain().lookup(&name("bob")).await.unwrap().unwrap();
    assert_eq!(stored(bob.phone()), Some("91 9876543210".into()));
}

#[tokio::test]
async fn a_malformed_phone_is_kept_raw_with_its_error() {
    let dave = plain().lookup(&name("dave")).await.unwrap().unwrap();
    match dave.phone() {
        Some(PhoneField::Unparsed { raw, .. }) => assert_eq!(raw, "12345 call me"),
        other => panic!("expected an unparsed phone, got {other:?}"),
    }
}

#[tokio::test]
async fn national_numbers_need_the_default_region() {
    let without = plain().lookup(&name("erin")).await.unwrap().unwrap();
    assert!(matches!(without.phone(), Some(PhoneField::Unparsed { .. })));
    let dir = LdapDirectory::new(
        config(Slapd::shared().ldap_url(), service_account()).default_region("US"),
    )
    .unwrap();
    let with = dir.lookup(&name("erin")).await.unwrap().unwrap();
    assert_eq!(stored(with.phone()), Some("1 9259249500".into()));
}

#[tokio::test]
async fn unicode_usernames_and_passwords_work() {
    let dir = plain();
    let identity = dir
        .verify(&name("zoë"), &pw(slapd::ZOE.password))
        .await
        .unwrap();
    assert_eq!(identity.username().as_str(), "zoë");
    assert_eq!(identity.record().display_name(), Some("Zoë Ünal"));
    assert!(matches!(
        dir.verify(&name("zoë"), &pw("passwörd-密码-🔑")).await,
        Err(DirectoryError::BadCredentials)
    ));
    assert!(matches!(
        dir.verify(&name("zoe"), &pw(slapd::ZOE.password)).await,
        Err(DirectoryError::UnknownUser)
    ));
}

#[tokio::test]
async fn member_of_lists_the_direct_groups() {
    let dir = LdapDirectory::new(
        config(Slapd::shared().ldap_url(), service_account()).groups(GroupConfig::member_of()),
    )
    .unwrap();
    let alice = dir.lookup(&name("alice")).await.unwrap().unwrap();
    assert_eq!(alice.groups(), [slapd::group_dn("engineers")]);
    assert!(!alice.is_member_of("tfa-required"));
}

#[tokio::test]
async fn nested_groups_are_walked() {
    let server = Slapd::shared();
    for groups in [GroupConfig::search(), GroupConfig::member_of()] {
        let dir = LdapDirectory::new(
            config(server.ldap_url(), service_account())
                .groups(groups.nested().search_base(slapd::GROUPS_DN)),
        )
        .unwrap();
        let alice = dir.lookup(&name("alice")).await.unwrap().unwrap();
        let mut groups = alice.groups().to_vec();
        groups.sort();
        assert_eq!(
            groups,
            [
                slapd::group_dn("engineers"),
                slapd::group_dn("staff"),
                slapd::group_dn("tfa-required")
            ]
        );
        assert!(alice.is_member_of("tfa-required"));
        let bob = dir.lookup(&name("bob")).await.unwrap().unwrap();
        assert!(bob.is_member_of("tfa-required") && !bob.is_member_of("engineers"));
        let dave = dir.lookup(&name("dave")).await.unwrap().unwrap();
        assert!(dave.groups().is_empty());
    }
}

fn template() -> LdapDirectory {
    let template = format!("uid={{user}},{}", slapd::PEOPLE_DN);
    LdapDirectory::new(config(
        Slapd::shared().ldap_url(),
        BindConfig::template(template),
    ))
    .unwrap()
}

#[tokio::test]
async fn bind_dn_template_escapes_the_username() {
    let dir = template();
    let smith = dir
        .verify(&name("smith, j"), &pw(slapd::SMITH.password))
        .await
        .unwrap();
    assert_eq!(smith.username().as_str(), "smith, j");
    assert_eq!(smith.record().display_name(), Some("J Smith"));
    let alice = dir
        .verify(&name("alice"), &pw(slapd::ALICE.password))
        .await
        .unwrap();
    assert_eq!(
        stored(alice.record().phone()),
        Some("1 9259249500 292".into())
    );
    assert!(matches!(
        dir.verify(&name("alice"), &pw("wrong")).await,
        Err(DirectoryError::BadCredentials)
    ));
    // Without a search the directory cannot tell an unknown user from a wrong password.
    assert!(matches!(
        dir.verify(&name("alice,ou=people"), &pw(slapd::ALICE.password))
            .await,
        Err(DirectoryError::BadCredentials)
    ));
    assert!(matches!(
        dir.verify(&name("*"), &pw(slapd::ALICE.password)).await,
        Err(DirectoryError::BadCredentials)
    ));
}

#[tokio::test]
async fn bind_dn_template_looks_up_anonymously() {
    let dir = template();
    let bob = dir.lookup(&name("bob")).await.unwrap().unwrap();
    assert_eq!(stored(bob.phone()), Some("91 9876543210".into()));
    assert!(
        dir.lookup(&name("*)(uid=*))(|(uid=*"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_refused_service_account_is_a_misconfiguration() {
    let bind = BindConfig::service_account(slapd::SERVICE_DN, pw("not the password"));
    let dir = LdapDirectory::new(config(Slapd::shared().ldap_url(), bind)).unwrap();
    let err = dir
        .verify(&name("alice"), &pw(slapd::ALICE.password))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DirectoryError::Misconfiguration { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("cn=reader"), "{err}");
}

#[tokio::test]
async fn bad_settings_are_refused_up_front() {
    let url = Slapd::shared().ldaps_url();
    for config in [
        config(url.clone(), service_account()).starttls(),
        config("http://127.0.0.1".into(), service_account()),
        config(url.clone(), service_account()).user_filter("(uid=alice)"),
        config(url.clone(), BindConfig::template("cn=admin")),
        config(url.clone(), service_account()).default_region("Narnia"),
    ] {
        let err = LdapDirectory::new(config).unwrap_err();
        assert!(
            matches!(err, DirectoryError::Misconfiguration { .. }),
            "{err:?}"
        );
    }
    let err = LdapDirectory::new(config(url, service_account()).add_ca_file("/nonexistent/ca.pem"))
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = LdapDirectory::new(config(
        format!("ldap://127.0.0.1:{port}"),
        service_account(),
    ))
    .unwrap();
    let err = dir
        .verify(&name("alice"), &pw(slapd::ALICE.password))
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::Unreachable { .. }), "{err:?}");
    assert!(matches!(
        dir.lookup(&name("alice")).await,
        Err(DirectoryError::Unreachable { .. })
    ));
}

#[tokio::test]
async fn directory_going_down_mid_login_denies_without_crashing() {
    let mut server = Slapd::start().unwrap();
    let dir = LdapDirectory::new(config(server.ldap_url(), service_account())).unwrap();
    // Warm the pools: the next login would reuse these connections.
    assert!(
        dir.verify(&name("alice"), &pw(slapd::ALICE.password))
            .await
            .is_ok()
    );
    let record = dir.lookup(&name("alice")).await.unwrap();
    assert!(record.is_some());

    server.stop();
    for _ in 0..3 {
        let err = dir
            .verify(&name("alice"), &pw(slapd::ALICE.password))
            .await
            .unwrap_err();
        assert!(matches!(err, DirectoryError::Unreachable { .. }), "{err:?}");
        assert!(!err.is_credential_failure());
    }
    assert!(matches!(
        dir.lookup(&name("alice")).await,
        Err(DirectoryError::Unreachable { .. })
    ));
}
