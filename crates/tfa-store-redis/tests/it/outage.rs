//! Redis away: at start a clear error; mid-login a clean, audited failure with nothing
//! half-written.

use std::time::Duration;

use phonefactor_sim::Scenario;
use tfa_flow::{CounterKey, FlowError, LoginId, Progress, Timestamp};
use tfa_store_redis::{RedisStoreError, RedisStores};

use crate::support::*;

#[tokio::test]
async fn redis_unavailable_at_start_is_a_clear_error_without_the_password() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("redis://:hunter2@127.0.0.1:{port}/");
    let error = RedisStores::connect(&url, ns()).await.unwrap_err();
    assert!(
        matches!(error, RedisStoreError::Unavailable { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("cannot connect to redis at redis://:***@127.0.0.1:{port}/")
    );
    assert!(!format!("{error:?}").contains("hunter2"));

    let error = RedisStores::connect("http://127.0.0.1:1/", ns())
        .await
        .unwrap_err();
    assert!(
        matches!(error, RedisStoreError::InvalidUrl { .. }),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_login_fails_closed_audited_and_consistent() {
    let mut cluster = Cluster::start().await;
    let mut policy = quick_policy();
    policy.machine.ring_timeout = Duration::from_secs(4);
    let a = cluster.node(policy.clone()).await;
    let b = cluster.node(policy).await;
    cluster
        .sim
        .script_user("alice", Scenario::Pound.after(Duration::from_millis(1500)));
    let (login, progress) = a.login("alice", PASSWORD, ip(1)).await;
    let Progress::Calling { until } = progress else {
        panic!("{progress:?}")
    };

    // Redis goes away while the phone rings, and the call is approved meanwhile.
    tokio::task::block_in_place(|| cluster.redis.stop());
    let error = b.auth.begin("bob", ip(2)).await.unwrap_err();
    assert!(
        matches!(
            error,
            FlowError::Store {
                store: "session",
                ..
            }
        ),
        "{error}"
    );
    for _ in 0..500 {
        if !cluster.sim.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cluster.sim.calls()[0].authenticated, "the phone approved");
    // Give node A's call task time to try (and fail) to record the outcome.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::block_in_place(|| cluster.redis.restart()).unwrap();

    // The approval could not be written: the login is not let in, it times out, audited.
    let ended = settle(&a, login, Duration::from_secs(10)).await;
    assert!(matches!(ended, Progress::Denied { .. }), "{ended:?}");
    assert_eq!(a.denials_of(login), vec![tfa_flow::DenyReason::RingTimeout]);
    assert!(
        Timestamp::from_unix_millis(now_millis()) >= until,
        "not before its deadline"
    );
    // The stored login is whole and final; node B reads the same.
    assert_eq!(b.auth.poll(login).await.unwrap(), ended);
    // The hold of the call that could not be released has lapsed: alice can call again.
    let stores = cluster.stores().await;
    assert!(
        stores
            .counters()
            .try_hold(
                &CounterKey::OutstandingCall("alice".into()),
                LoginId::from_bytes([9; 16]),
                Timestamp::from_unix_millis(now_millis()),
                Timestamp::from_unix_millis(now_millis() + 1000),
            )
            .await
            .unwrap()
    );
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
