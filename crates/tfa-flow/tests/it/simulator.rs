//! The whole stack over real sockets: the local store or slapd for the password, the
//! PhoneFactor clients over TLS to the simulator (direct and agent mode) for the call.

use std::sync::Arc;
use std::time::Duration;

use phonefactor::{AgentClient, DirectClient, DirectCredentials};
use phonefactor_sim::{AgentDirectory, AgentUser, Scenario, SimHandle, Simulator};
use tfa_flow::{
    AuditKind, CallRule, Denial, DenyReason, PhoneCall, Progress, SecondFactorStatus, UserMessage,
};

use crate::support::*;

async fn sim() -> SimHandle {
    Simulator::builder()
        .default_ring_delay(Duration::from_millis(20))
        .agent_directory(
            AgentDirectory::new()
                .user(AgentUser::standard("alice", "1", "9259249500"))
                .user(AgentUser::standard("bob", "1", "9259249503"))
                .user(AgentUser::standard("pf-alice", "1", "9259249500").extension("292")),
        )
        .start()
        .await
        .unwrap()
}

fn direct_client(sim: &SimHandle, url: &str) -> DirectClient {
    let credentials =
        DirectCredentials::from_license_dir(sim.license_dir(), sim.pkcs12_password()).unwrap();
    DirectClient::builder(credentials)
        .primary_url(url)
        .no_backup()
        .system_roots(false)
        .add_root_certificate_file(sim.ca_cert_path())
        .connect_timeout(Duration::from_secs(2))
        .handshake_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn direct(sim: &SimHandle) -> Arc<PhoneCall> {
    Arc::new(PhoneCall::direct(Arc::new(direct_client(
        sim,
        sim.direct_url(),
    ))))
}

fn agent(sim: &SimHandle) -> Arc<PhoneCall> {
    let account = sim.agent_account().unwrap();
    let client = AgentClient::builder(
        sim.agent_url().unwrap(),
        account.name(),
        account.password().clone(),
    )
    .system_roots(false)
    .add_root_certificate_file(sim.agent_trust_path().unwrap())
    .connect_timeout(Duration::from_secs(2))
    .build()
    .unwrap();
    Arc::new(PhoneCall::agent(Arc::new(client)))
}

#[tokio::test]
async fn direct_mode_login_is_approved_over_mutual_tls() {
    let sim = sim().await;
    let f = fixture_with(Mode::Direct, quick_policy(), direct(&sim)).await;
    let Progress::Authenticated(session) = f.full_login("alice", PASSWORD, ip(1)).await else {
        panic!()
    };
    assert!(matches!(
        session.second_factor(),
        SecondFactorStatus::Approved { .. }
    ));
    let calls = sim.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].username, "alice");
    assert_eq!(
        (
            calls[0].phone.country_code.as_str(),
            calls[0].phone.number.as_str()
        ),
        ("1", "9259249500")
    );
    assert!(calls[0].authenticated);
    sim.shutdown().await;
}

#[tokio::test]
async fn agent_mode_calls_users_whose_number_only_the_agent_knows() {
    let sim = sim().await;
    let f = fixture_with(Mode::Agent, quick_policy(), agent(&sim)).await;
    assert!(matches!(
        f.full_login("bob", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
    let calls = sim.calls();
    assert_eq!((calls.len(), calls[0].username.as_str()), (1, "bob"));
    // frank is unknown to the agent: the service refuses, and nobody gets in.
    assert_eq!(
        f.full_login("frank", PASSWORD, ip(1)).await,
        Progress::Denied {
            message: UserMessage::ContactAdministrator
        }
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn fraud_code_blocks_tfa_and_no_further_call_is_placed() {
    let sim = sim().await;
    let f = fixture_with(Mode::Direct, quick_policy(), direct(&sim)).await;
    sim.script_user("alice", Scenario::Fraud);
    assert_eq!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Denied {
            message: UserMessage::SecondFactorFailed
        }
    );
    assert_eq!(
        f.last_denial(),
        DenyReason::CallDenied {
            denial: Denial::FraudReported
        }
    );
    assert!(
        f.audit
            .events()
            .iter()
            .any(|e| matches!(e.kind, AuditKind::FraudAlert { .. }))
    );
    assert_eq!(
        f.login("alice", PASSWORD, ip(1)).await.1,
        Progress::Denied {
            message: UserMessage::ContactAdministrator
        }
    );
    assert_eq!(f.last_denial(), DenyReason::TfaBlocked);
    assert_eq!(sim.calls().len(), 1, "a blocked user is not called");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_busy_line_is_a_failed_call_and_delays_the_next_one() {
    let sim = sim().await;
    let mut policy = quick_policy();
    policy.calls.fatigue.base_delay = Duration::from_secs(60);
    policy.calls.fatigue.max_delay = Duration::from_secs(60);
    let f = fixture_with(Mode::Direct, policy, direct(&sim)).await;
    sim.script_number("1", "9259249500", Scenario::Busy);
    assert_eq!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Denied {
            message: UserMessage::SecondFactorFailed
        }
    );
    assert_eq!(
        f.last_denial(),
        DenyReason::CallDenied {
            denial: Denial::Busy
        }
    );
    f.login("alice", PASSWORD, ip(1)).await;
    assert!(matches!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: CallRule::FatigueDelay { .. }
        }
    ));
    assert_eq!(sim.calls().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_service_fails_closed_unless_the_group_fails_open() {
    let sim = sim().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/pfd/pfd.pl", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = Arc::new(PhoneCall::direct(Arc::new(direct_client(&sim, &url))));
    let mut policy = quick_policy();
    policy.fail_open.groups = vec!["helpdesk".into()];
    let f = fixture_with(Mode::Direct, policy, unreachable).await;
    assert_eq!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Denied {
            message: UserMessage::TemporarilyUnavailable
        }
    );
    assert_eq!(f.last_denial(), DenyReason::SecondFactorUnavailable);
    let Progress::Authenticated(session) = f.full_login("dave", PASSWORD, ip(1)).await else {
        panic!()
    };
    assert!(session.second_factor_skipped());
    assert!(f.audit.events().iter().any(
        |e| matches!(&e.kind, AuditKind::SecondFactorSkipped { group } if group == "helpdesk")
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_same_user_logging_in_twice_at_once_is_called_once() {
    let sim = sim().await;
    let f = fixture_with(Mode::Direct, quick_policy(), direct(&sim)).await;
    sim.script_user("alice", Scenario::Pound.after(Duration::from_secs(1)));
    let a = f.auth.begin("alice", ip(1)).await.unwrap();
    let b = f.auth.begin("alice", ip(2)).await.unwrap();
    let (pa, pb) = tokio::join!(
        f.auth.submit_password(a, secret(PASSWORD)),
        f.auth.submit_password(b, secret(PASSWORD))
    );
    let (pa, pb) = (pa.unwrap(), pb.unwrap());
    assert_eq!(
        [&pa, &pb]
            .iter()
            .filter(|p| matches!(p, Progress::Calling { .. }))
            .count(),
        1,
        "{pa:?} {pb:?}"
    );
    let (ra, rb) = tokio::join!(f.auth.second_factor(a), f.auth.second_factor(b));
    let done = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        done.iter()
            .filter(|p| matches!(p, Progress::Authenticated(_)))
            .count(),
        1
    );
    assert_eq!(sim.calls().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_phone_nobody_answers_times_out_cleanly() {
    let sim = sim().await;
    let mut policy = quick_policy();
    policy.machine.ring_timeout = Duration::from_millis(500);
    let f = fixture_with(Mode::Direct, policy, direct(&sim)).await;
    sim.script_user("alice", Scenario::Manual);
    let (id, progress) = f.login("alice", PASSWORD, ip(1)).await;
    assert!(matches!(progress, Progress::Calling { .. }));
    sim.wait_for_ringing("alice", Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        f.auth.second_factor(id).await.unwrap(),
        Progress::Denied {
            message: UserMessage::TimedOut
        }
    );
    assert_eq!(f.last_denial(), DenyReason::RingTimeout);
    sim.shutdown().await;
}

#[tokio::test]
async fn ldap_user_is_called_by_the_agent_under_the_mapped_phonefactor_name() {
    use secrecy::SecretString;
    use tfa_directory::{AttributeMap, BindConfig, LdapConfig, LdapDirectory};
    use tfa_test_support::slapd::{self, Slapd};

    let sim = sim().await;
    let mut attributes = AttributeMap::default();
    attributes.phonefactor_username = Some("employeeNumber".into());
    let bind = BindConfig::service_account(
        slapd::SERVICE_DN,
        SecretString::from(slapd::SERVICE_PASSWORD),
    );
    let config = LdapConfig::new(Slapd::shared().ldap_url(), slapd::PEOPLE_DN, bind)
        .user_filter("(&(objectClass=inetOrgPerson)(uid={user}))")
        .attributes(attributes);
    let directory = Arc::new(LdapDirectory::new(config).unwrap());
    let auth = tfa_flow::Authenticator::builder(directory, agent(&sim))
        .policy(quick_policy())
        .build()
        .unwrap();
    let id = auth.begin("alice", ip(1)).await.unwrap();
    assert!(matches!(
        auth.submit_password(id, secret(slapd::ALICE.password))
            .await
            .unwrap(),
        Progress::Calling { .. }
    ));
    assert!(matches!(
        auth.second_factor(id).await.unwrap(),
        Progress::Authenticated(_)
    ));
    let calls = sim.calls();
    assert_eq!(calls[0].username, "pf-alice");
    assert_eq!(calls[0].phone.extension.as_deref(), Some("292"));
    sim.shutdown().await;
}
