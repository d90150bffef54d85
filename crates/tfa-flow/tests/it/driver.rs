//! The driver end to end over the real local store: flows, polling, cancellation, expiry,
//! concurrency and a login moving between nodes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tfa_flow::{
    AuditKind, Authenticator, DenyReason, FlowError, MemoryCounterStore, MemorySessionStore,
    MemoryTfaStateStore, Progress, SecondFactorStatus, UserMessage,
};

use crate::support::*;

#[tokio::test]
async fn approved_call_logs_the_user_in_and_is_audited_in_order() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    let (id, progress) = f.login("alice", PASSWORD, ip(1)).await;
    assert!(matches!(progress, Progress::Calling { .. }), "{progress:?}");
    let Progress::Authenticated(session) = f.auth.second_factor(id).await.unwrap() else {
        panic!()
    };
    assert_eq!(session.username().as_str(), "alice");
    assert!(matches!(
        session.second_factor(),
        SecondFactorStatus::Approved { .. }
    ));
    assert!(!session.second_factor_skipped());
    let kinds = f.audit_of(id);
    assert_eq!(kinds[0], AuditKind::LoginStarted);
    assert_eq!(kinds[1], AuditKind::PasswordAccepted);
    assert!(
        matches!(&kinds[2], AuditKind::CallPlaced { number: Some(n), .. } if n == "+1******9500"),
        "{kinds:?}"
    );
    assert!(matches!(kinds[3], AuditKind::Authenticated { .. }));
    let request = f.phone.requests.lock().unwrap()[0].clone();
    assert_eq!(request.login, id);
    assert_eq!(request.number.unwrap().e164(), "+19259249500");
    assert_eq!(
        f.directory
            .verifies
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one password check per attempt"
    );
}

#[tokio::test]
async fn polling_sees_the_call_ringing_then_its_outcome() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    *f.phone.answer_after.lock().unwrap() = Duration::from_millis(300);
    let (id, _) = f.login("alice", PASSWORD, ip(1)).await;
    assert!(matches!(
        f.auth.poll(id).await.unwrap(),
        Progress::Calling { .. }
    ));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(matches!(
        f.auth.poll(id).await.unwrap(),
        Progress::Authenticated(_)
    ));
}

#[tokio::test]
async fn submitting_a_password_never_waits_for_the_phone() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    *f.phone.answer_after.lock().unwrap() = Duration::from_secs(3);
    let started = Instant::now();
    let (_, progress) = f.login("alice", PASSWORD, ip(1)).await;
    assert!(matches!(progress, Progress::Calling { .. }));
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_password_submitted_twice_is_refused() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    let (id, _) = f.login("alice", PASSWORD, ip(1)).await;
    let again = f
        .auth
        .submit_password(id, secret(PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(again, FlowError::WrongStep { .. }), "{again}");
}

#[tokio::test]
async fn an_unknown_login_id_is_an_error() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    let id = tfa_flow::LoginId::random().unwrap();
    assert!(matches!(f.auth.poll(id).await, Err(FlowError::UnknownLogin { login }) if login == id));
}

#[tokio::test]
async fn cancel_stops_a_ringing_call() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    f.phone.script("alice", Script::NeverAnswer);
    let (id, _) = f.login("alice", PASSWORD, ip(1)).await;
    assert!(f.phone.wait_for_calls(1).await, "the call started");
    let waiter = tokio::spawn({
        let auth = f.auth.clone();
        async move { auth.second_factor(id).await }
    });
    let progress = f.auth.cancel(id).await.unwrap();
    assert_eq!(
        progress,
        Progress::Denied {
            message: UserMessage::Cancelled
        }
    );
    assert_eq!(
        waiter.await.unwrap().unwrap(),
        progress,
        "the waiter wakes up"
    );
    assert!(f.phone.wait_for_drops(1).await, "the call was dropped");
    assert_eq!(f.last_denial(), DenyReason::Cancelled);
}

#[tokio::test]
async fn an_unanswered_call_times_out_cleanly() {
    let mut policy = quick_policy();
    policy.machine.ring_timeout = Duration::from_millis(300);
    let f = fixture(Mode::Direct, policy).await;
    f.phone.script("alice", Script::NeverAnswer);
    let started = Instant::now();
    let progress = f.full_login("alice", PASSWORD, ip(1)).await;
    assert_eq!(
        progress,
        Progress::Denied {
            message: UserMessage::TimedOut
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the timeout ended the wait"
    );
    assert_eq!(f.last_denial(), DenyReason::RingTimeout);
    assert!(f.phone.wait_for_drops(1).await, "the call was dropped");
}

#[tokio::test]
async fn idle_and_whole_login_timeouts_expire_on_poll() {
    let mut policy = quick_policy();
    policy.machine.idle_timeout = Duration::from_millis(200);
    let f = fixture(Mode::Direct, policy).await;
    let id = f.auth.begin("alice", ip(1)).await.unwrap();
    assert_eq!(f.auth.poll(id).await.unwrap(), Progress::AwaitingPassword);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        f.auth.poll(id).await.unwrap(),
        Progress::Denied {
            message: UserMessage::TimedOut
        }
    );
    assert_eq!(f.last_denial(), DenyReason::IdleTimeout);
    let late = f.auth.submit_password(id, secret(PASSWORD)).await.unwrap();
    assert_eq!(
        late,
        Progress::Denied {
            message: UserMessage::TimedOut
        },
        "an expired login stays denied"
    );

    let mut policy = quick_policy();
    policy.machine.login_timeout = Duration::from_millis(1000);
    policy.machine.ring_timeout = Duration::from_millis(1000);
    let f = fixture(Mode::Direct, policy).await;
    f.phone.script("alice", Script::NeverAnswer);
    let id = f.auth.begin("alice", ip(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(
        f.auth.submit_password(id, secret(PASSWORD)).await.unwrap(),
        Progress::Calling { .. }
    ));
    assert_eq!(
        f.auth.second_factor(id).await.unwrap(),
        Progress::Denied {
            message: UserMessage::TimedOut
        }
    );
    assert_eq!(f.last_denial(), DenyReason::LoginTimeout);
}

#[tokio::test]
async fn the_same_user_logging_in_twice_at_once_gets_one_call() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    *f.phone.answer_after.lock().unwrap() = Duration::from_secs(1);
    let a = f.auth.begin("alice", ip(1)).await.unwrap();
    let b = f.auth.begin("alice", ip(2)).await.unwrap();
    let (pa, pb) = tokio::join!(
        f.auth.submit_password(a, secret(PASSWORD)),
        f.auth.submit_password(b, secret(PASSWORD))
    );
    let outcomes = [pa.unwrap(), pb.unwrap()];
    let calling = outcomes
        .iter()
        .filter(|p| matches!(p, Progress::Calling { .. }))
        .count();
    assert_eq!(calling, 1, "{outcomes:?}");
    assert!(outcomes.contains(&Progress::Denied {
        message: UserMessage::ContactAdministrator
    }));
    assert_eq!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: tfa_flow::CallRule::OutstandingCall
        }
    );
    let (ra, rb) = tokio::join!(f.auth.second_factor(a), f.auth.second_factor(b));
    let authenticated = [ra.unwrap(), rb.unwrap()]
        .iter()
        .filter(|p| matches!(p, Progress::Authenticated(_)))
        .count();
    assert_eq!(authenticated, 1);
    assert_eq!(f.phone.calls(), 1);
    // The hold is released when the call ends: the next login calls again.
    assert!(matches!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
}

#[tokio::test]
async fn thousands_of_logins_ring_at_once() {
    let mut policy = quick_policy();
    policy.lockout.password.per_source.threshold = 100_000;
    let phone = Arc::new(ScriptedPhone::new(tfa_flow::NumberNeed::Optional));
    *phone.answer_after.lock().unwrap() = Duration::from_millis(500);
    let auth = Authenticator::builder(Arc::new(ManyUsers), phone.clone())
        .policy(policy)
        .build()
        .unwrap();
    let mut waits = tokio::task::JoinSet::new();
    for i in 0..2000u32 {
        let auth = auth.clone();
        waits.spawn(async move {
            let id = auth.begin(&format!("user{i}"), ip(1)).await.unwrap();
            let progress = auth.submit_password(id, secret("pw")).await.unwrap();
            assert!(matches!(progress, Progress::Calling { .. }), "{progress:?}");
            auth.second_factor(id).await.unwrap()
        });
    }
    let mut authenticated = 0;
    while let Some(done) = waits.join_next().await {
        authenticated += usize::from(matches!(done.unwrap(), Progress::Authenticated(_)));
    }
    assert_eq!(authenticated, 2000);
    assert_eq!(phone.calls(), 2000);
}

/// A directory where every `userN` exists with password `pw` and no phone: the cheapest real
/// first factor for load, so that the test measures the flow.
#[derive(Debug)]
struct ManyUsers;

#[async_trait::async_trait]
impl tfa_directory::FirstFactor for ManyUsers {
    async fn verify(
        &self,
        username: &tfa_directory::Username,
        password: &secrecy::SecretString,
    ) -> Result<tfa_directory::Identity, tfa_directory::DirectoryError> {
        use secrecy::ExposeSecret;
        if password.expose_secret() == "pw" && username.as_str().starts_with("user") {
            Ok(tfa_directory::Identity::new(
                tfa_directory::UserRecord::new(username.clone()),
            ))
        } else {
            Err(tfa_directory::DirectoryError::BadCredentials)
        }
    }

    async fn lookup(
        &self,
        username: &tfa_directory::Username,
    ) -> Result<Option<tfa_directory::UserRecord>, tfa_directory::DirectoryError> {
        Ok(Some(tfa_directory::UserRecord::new(username.clone())))
    }
}

#[tokio::test]
async fn a_login_begun_on_one_node_finishes_on_another() {
    let sessions = Arc::new(MemorySessionStore::new());
    let counters = Arc::new(MemoryCounterStore::new());
    let tfa = Arc::new(MemoryTfaStateStore::new());
    let f = fixture(Mode::Direct, quick_policy()).await;
    *f.phone.answer_after.lock().unwrap() = Duration::from_millis(300);
    let node = |phone: Arc<ScriptedPhone>| {
        Authenticator::builder(f.directory.clone(), phone)
            .policy(quick_policy())
            .session_store(sessions.clone())
            .counter_store(counters.clone())
            .tfa_state_store(tfa.clone())
            .phone_book(f.book.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (node(f.phone.clone()), node(f.phone.clone()));
    let id = a.begin("alice", ip(1)).await.unwrap();
    assert!(matches!(
        b.submit_password(id, secret(PASSWORD)).await.unwrap(),
        Progress::Calling { .. }
    ));
    // Node A has no call of its own for this login: it waits by reading the shared store.
    assert!(matches!(
        a.second_factor(id).await.unwrap(),
        Progress::Authenticated(_)
    ));
}
