//! Two nodes (two `Authenticator`s, each with its own Redis connection) on one Redis, with
//! the simulator as the phone service over mutual TLS.

use std::time::Duration;

use phonefactor_sim::Scenario;
use tfa_flow::{CallRule, DenyReason, Progress, Rate, SecondFactorStatus};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_begun_on_one_node_is_finished_on_the_other() {
    let cluster = Cluster::start().await;
    let (a, b) = (
        cluster.node(quick_policy()).await,
        cluster.node(quick_policy()).await,
    );
    let login = a.auth.begin("alice", ip(1)).await.unwrap();
    let progress = b
        .auth
        .submit_password(login, secret(PASSWORD))
        .await
        .unwrap();
    assert!(matches!(progress, Progress::Calling { .. }), "{progress:?}");
    // A waits for a call that rings on B, by reading the shared store.
    let Progress::Authenticated(session) = a.auth.second_factor(login).await.unwrap() else {
        panic!("the approved call on B authenticates the login on A")
    };
    assert_eq!(session.username().as_str(), "alice");
    assert!(matches!(
        session.second_factor(),
        SecondFactorStatus::Approved { .. }
    ));
    let calls = cluster.sim.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].phone.number.as_str(), calls[0].authenticated),
        ("9259249500", true)
    );
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_user_hammering_both_nodes_gets_exactly_one_call() {
    let cluster = Cluster::start().await;
    let (a, b) = (
        cluster.node(quick_policy()).await,
        cluster.node(quick_policy()).await,
    );
    cluster
        .sim
        // Long enough that every login below reaches the call step while the first rings.
        .script_user("alice", Scenario::Pound.after(Duration::from_secs(3)));
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let auth = if i % 2 == 0 {
            a.auth.clone()
        } else {
            b.auth.clone()
        };
        tasks.push(tokio::spawn(async move {
            let id = auth.begin("alice", ip(i + 1)).await.unwrap();
            (
                id,
                auth.submit_password(id, secret(PASSWORD)).await.unwrap(),
            )
        }));
    }
    let mut calling = Vec::new();
    for task in tasks {
        let (id, progress) = task.await.unwrap();
        if matches!(progress, Progress::Calling { .. }) {
            calling.push(id);
        }
    }
    assert_eq!(calling.len(), 1, "one login rings, the others are refused");
    let denials: Vec<DenyReason> = [&a, &b]
        .iter()
        .flat_map(|node| node.audit.events())
        .filter_map(|e| match e.kind {
            tfa_flow::AuditKind::Denied { reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(denials.len(), 15, "{denials:?}");
    assert!(denials.iter().all(|d| *d
        == DenyReason::CallRefused {
            rule: CallRule::OutstandingCall
        }));
    let winner = calling[0];
    assert!(matches!(
        a.auth.second_factor(winner).await.unwrap(),
        Progress::Authenticated(_)
    ));
    assert_eq!(cluster.sim.calls().len(), 1, "the phone rang once");
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockouts_and_call_limits_hold_across_nodes() {
    let cluster = Cluster::start().await;
    let mut policy = quick_policy();
    policy.lockout.password.per_user.threshold = 3;
    policy.calls.per_user = Rate::new(2, Duration::from_secs(600));
    let (a, b) = (
        cluster.node(policy.clone()).await,
        cluster.node(policy).await,
    );

    // Two calls for bob, one through each node; the third is over the shared limit.
    assert!(matches!(
        a.full_login("bob", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
    assert!(matches!(
        b.full_login("bob", PASSWORD, ip(2)).await,
        Progress::Authenticated(_)
    ));
    let (_, third) = a.login("bob", PASSWORD, ip(3)).await;
    assert!(matches!(third, Progress::Denied { .. }), "{third:?}");
    assert!(
        matches!(
            a.last_denial(),
            Some(DenyReason::CallRefused {
                rule: CallRule::UserRate { .. }
            })
        ),
        "{:?}",
        a.last_denial()
    );
    assert_eq!(cluster.sim.calls().len(), 2);

    // Three wrong passwords for alice, spread over both nodes, lock her on both.
    for node in [&a, &b, &a] {
        let (_, progress) = node.login("alice", "wrong", ip(4)).await;
        assert!(matches!(progress, Progress::Denied { .. }));
    }
    let (_, progress) = b.login("alice", PASSWORD, ip(5)).await;
    assert!(matches!(progress, Progress::Denied { .. }), "{progress:?}");
    assert!(
        matches!(b.last_denial(), Some(DenyReason::PasswordStepLocked { .. })),
        "{:?}",
        b.last_denial()
    );
    assert_eq!(cluster.sim.calls().len(), 2, "a locked user is not called");
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_its_call_rings_never_lets_the_login_in() {
    let cluster = std::sync::Arc::new(Cluster::start().await);
    let mut policy = quick_policy();
    policy.machine.ring_timeout = Duration::from_secs(2);
    // The phone approves, but only after node A is gone.
    cluster
        .sim
        .script_user("alice", Scenario::Pound.after(Duration::from_millis(1000)));
    let b = cluster.node(policy.clone()).await;

    // Node A runs on a runtime of its own, on a thread of its own; shutting the runtime down
    // kills every task of the node, its ringing call included.
    let (to_test, from_a) = tokio::sync::oneshot::channel();
    let (kill, killed) = std::sync::mpsc::channel::<()>();
    let for_a = cluster.clone();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let node = runtime.block_on(for_a.node(policy));
        let (login, progress) = runtime.block_on(node.login("alice", PASSWORD, ip(1)));
        to_test.send((login, progress)).unwrap();
        killed.recv().unwrap();
        runtime.shutdown_background();
    });
    let (login, progress) = from_a.await.unwrap();
    assert!(matches!(progress, Progress::Calling { .. }), "{progress:?}");
    for _ in 0..500 {
        if !cluster.sim.ringing().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(cluster.sim.ringing().len(), 1, "the call rings");
    kill.send(()).unwrap();
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();

    // B sees the login ringing until its deadline, then denied: never authenticated.
    let ended = b.auth.second_factor(login).await.unwrap();
    assert!(matches!(ended, Progress::Denied { .. }), "{ended:?}");
    assert_eq!(b.denials_of(login), vec![DenyReason::RingTimeout]);

    // The user can start again on B: the dead node's hold has lapsed, a new call is placed.
    cluster.sim.clear_scripts();
    assert!(matches!(
        b.full_login("alice", PASSWORD, ip(2)).await,
        Progress::Authenticated(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_racing_calls_to_one_number_place_exactly_its_limit() {
    let cluster = Cluster::start().await;
    // Eight users share one number; the number may be called once per ten minutes.
    let names: Vec<String> = (0..8).map(|i| format!("sharer{i}")).collect();
    for name in &names {
        cluster.add_user(name, "1 9259249577").await;
    }
    let mut policy = quick_policy();
    policy.calls.per_number = Rate::new(1, Duration::from_secs(600));
    let (a, b) = (
        cluster.node(policy.clone()).await,
        cluster.node(policy).await,
    );
    // Logins begin first, so that the password steps (and their call limits) race.
    let mut begun = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let auth = if i % 2 == 0 { &a.auth } else { &b.auth };
        let id = auth.begin(name, ip(10 + i as u8)).await.unwrap();
        begun.push((auth.clone(), id));
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(begun.len()));
    let mut tasks = Vec::new();
    for (auth, id) in begun {
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let progress = auth.submit_password(id, secret(PASSWORD)).await.unwrap();
            (auth, id, progress)
        }));
    }
    let mut calling = Vec::new();
    for task in tasks {
        let (auth, id, progress) = task.await.unwrap();
        if matches!(progress, Progress::Calling { .. }) {
            calling.push((auth, id));
        }
    }
    assert_eq!(
        calling.len(),
        1,
        "one call to the number, whichever node places it"
    );
    let refused: Vec<DenyReason> = [&a, &b]
        .iter()
        .flat_map(|node| node.audit.events())
        .filter_map(|e| match e.kind {
            tfa_flow::AuditKind::Denied { reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 7, "{refused:?}");
    assert!(
        refused.iter().all(|d| *d
            == DenyReason::CallRefused {
                rule: CallRule::NumberRate {
                    limit: 1,
                    window_secs: 600
                }
            }),
        "{refused:?}"
    );
    let (auth, id) = &calling[0];
    assert!(matches!(
        auth.second_factor(*id).await.unwrap(),
        Progress::Authenticated(_)
    ));
    assert_eq!(cluster.sim.calls().len(), 1, "the phone rang once");
    cluster.sim.shutdown().await;
}
