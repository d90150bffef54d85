//! Logins against a real OpenLDAP server: group enforcement through nested groups, numbers
//! from the directory, account problems and an outage.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tfa_directory::{AttributeMap, BindConfig, GroupConfig, LdapConfig, LdapDirectory};
use tfa_flow::{
    Authenticator, DenyReason, Enforcement, NoPhone, Progress, SecondFactorStatus, UserMessage,
};
use tfa_test_support::slapd::{self, Slapd};

use crate::support::*;

fn directory(url: String) -> Arc<LdapDirectory> {
    let mut attributes = AttributeMap::default();
    attributes.phonefactor_username = Some("employeeNumber".into());
    let bind = BindConfig::service_account(
        slapd::SERVICE_DN,
        SecretString::from(slapd::SERVICE_PASSWORD),
    );
    let config = LdapConfig::new(url, slapd::PEOPLE_DN, bind)
        .user_filter("(&(objectClass=inetOrgPerson)(uid={user}))")
        .attributes(attributes)
        .groups(
            GroupConfig::member_of()
                .nested()
                .search_base(slapd::GROUPS_DN),
        )
        .disabled_when("employeeType", "disabled")
        .connect_timeout(Duration::from_secs(2));
    Arc::new(LdapDirectory::new(config).unwrap())
}

/// TFA only for the `tfa-required` group (alice and bob are in it through nested groups).
fn group_policy() -> tfa_flow::Policy {
    let mut policy = quick_policy();
    policy.enforcement.default = Enforcement::NotEnforced;
    policy.enforcement.enforced_groups = vec!["tfa-required".into()];
    policy
}

async fn login(auth: &Authenticator, name: &str, password: &str) -> Progress {
    let id = auth.begin(name, ip(1)).await.unwrap();
    match auth.submit_password(id, secret(password)).await.unwrap() {
        Progress::Calling { .. } => auth.second_factor(id).await.unwrap(),
        other => other,
    }
}

#[tokio::test]
async fn a_nested_group_member_is_called_on_the_directory_number() {
    let (auth, phone, _) = over(directory(Slapd::shared().ldap_url()), group_policy());
    let Progress::Authenticated(session) = login(&auth, "alice", slapd::ALICE.password).await
    else {
        panic!()
    };
    assert!(matches!(
        session.second_factor(),
        SecondFactorStatus::Approved { .. }
    ));
    let request = phone.requests.lock().unwrap()[0].clone();
    assert_eq!(request.factor_username, "pf-alice");
    assert_eq!(request.number.unwrap().stored(), "1 9259249500 292");
}

#[tokio::test]
async fn users_outside_the_enforced_groups_log_in_on_the_password() {
    let (auth, phone, _) = over(directory(Slapd::shared().ldap_url()), group_policy());
    let Progress::Authenticated(session) = login(&auth, "dave", slapd::DAVE.password).await else {
        panic!()
    };
    assert_eq!(session.second_factor(), &SecondFactorStatus::NotEnforced);
    assert_eq!(phone.calls(), 0);
}

#[tokio::test]
async fn an_unparseable_directory_number_denies_an_enforced_user() {
    let (auth, phone, audit) = over(directory(Slapd::shared().ldap_url()), group_policy());
    auth.set_enforcement(&[user("dave")], Some(true), "root")
        .await
        .unwrap();
    assert_eq!(
        login(&auth, "dave", slapd::DAVE.password).await,
        Progress::Denied {
            message: UserMessage::ContactAdministrator
        }
    );
    assert!(matches!(
        last_denial(&audit),
        DenyReason::NoUsablePhone {
            problem: NoPhone::Unparseable { .. }
        }
    ));
    assert_eq!(phone.calls(), 0);
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_disabled_accounts() {
    let (auth, _, audit) = over(directory(Slapd::shared().ldap_url()), group_policy());
    let failed = Progress::Denied {
        message: UserMessage::LoginFailed,
    };
    assert_eq!(login(&auth, "bob", "not-bobs").await, failed);
    assert_eq!(login(&auth, "nobody", "whatever").await, failed);
    assert_eq!(
        login(&auth, "*)(uid=*", "x").await,
        failed,
        "an injection is just an unknown name"
    );
    assert_eq!(
        login(&auth, "carol", "wrong").await,
        failed,
        "disabled is not told before the password"
    );
    assert_eq!(
        login(&auth, "carol", slapd::CAROL.password).await,
        Progress::Denied {
            message: UserMessage::ContactAdministrator
        }
    );
    assert_eq!(
        last_denial(&audit),
        DenyReason::Account {
            problem: tfa_flow::AccountProblem::Disabled
        }
    );
}

#[tokio::test]
async fn an_unreachable_directory_fails_closed_without_locking_anyone_out() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut policy = group_policy();
    policy.lockout.password.per_user.threshold = 2;
    let (auth, _, audit) = over(directory(url), policy);
    for _ in 0..3 {
        assert_eq!(
            login(&auth, "alice", slapd::ALICE.password).await,
            Progress::Denied {
                message: UserMessage::TemporarilyUnavailable
            }
        );
    }
    assert_eq!(last_denial(&audit), DenyReason::DirectoryUnavailable);
    let events = audit.events();
    assert!(!events.iter().any(|e| matches!(
        &e.kind,
        tfa_flow::AuditKind::Denied {
            reason: DenyReason::PasswordStepLocked { .. }
        }
    )));
}
