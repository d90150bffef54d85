//! The Redis stores behave as the in-memory ones: each check runs against both. Then what
//! only a shared store must do: exact under concurrency across connections, namespaces kept
//! apart, failures naming the operation.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use tfa_flow::{
    BypassGrant, CounterKey, CounterStore, FlowError, Login, LoginId, MemoryCounterStore,
    MemorySessionStore, MemoryTfaStateStore, PhoneBook, SessionStore, Swap, TfaStateStore,
    Timestamp,
};
use tfa_phone::PhoneNumber;
use tfa_store_redis::{MAX_HITS, Namespace, RedisStores};

use crate::support::*;

/// `secs` after a fixed instant near the real clock, so that Redis's own expiry (absolute
/// times) agrees with the times the tests pass.
fn t(secs: u64) -> Timestamp {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    Timestamp::from_unix_millis(*BASE.get_or_init(now_millis)).plus(Duration::from_secs(secs))
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn login(n: u8) -> Login {
    Login::new(
        LoginId::from_bytes([n; 16]),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        t(0),
    )
}

async fn sessions_conform(store: Arc<dyn SessionStore>) {
    let at = t;
    let login = login(1);
    let r1 = store.create(&login, at(10)).await.unwrap();
    assert!(
        store.create(&login, at(10)).await.is_err(),
        "ids are unique"
    );
    let Swap::Done(r2) = store.compare_and_swap(&login, r1, at(10)).await.unwrap() else {
        panic!("the first swap at the current revision succeeds")
    };
    assert_ne!(r1, r2);
    assert_eq!(
        store.compare_and_swap(&login, r1, at(10)).await.unwrap(),
        Swap::Conflict,
        "a stale revision is refused"
    );
    assert_eq!(
        store.load(login.id(), at(5)).await.unwrap(),
        Some((login.clone(), r2))
    );
    assert_eq!(
        store.load(login.id(), at(10)).await.unwrap(),
        None,
        "expired"
    );
    let other = self::login(2);
    assert_eq!(store.load(other.id(), at(0)).await.unwrap(), None);
    assert_eq!(
        store.compare_and_swap(&other, r1, at(10)).await.unwrap(),
        Swap::Conflict,
        "an absent login cannot be swapped"
    );
    store.remove(login.id()).await.unwrap();
    assert_eq!(store.load(login.id(), at(1)).await.unwrap(), None);
}

async fn tfa_state_conform(store: Arc<dyn TfaStateStore>) {
    let alice = user("Alice");
    let lower = user("alice");
    assert_eq!(store.enforcement(&alice).await.unwrap(), None);
    store.set_enforcement(&alice, Some(false)).await.unwrap();
    assert_eq!(
        store.enforcement(&lower).await.unwrap(),
        Some(false),
        "case-blind"
    );
    store.set_enforcement(&lower, Some(true)).await.unwrap();
    assert_eq!(store.enforcement(&alice).await.unwrap(), Some(true));
    store.set_enforcement(&alice, None).await.unwrap();
    assert_eq!(store.enforcement(&alice).await.unwrap(), None);

    let grant = BypassGrant {
        until: t(60),
        reason: "lost phone".into(),
        granted_by: "admin".into(),
    };
    store.grant_bypass(&alice, grant.clone()).await.unwrap();
    assert_eq!(
        store.take_bypass(&lower, t(1)).await.unwrap(),
        Some(grant.clone())
    );
    assert_eq!(
        store.take_bypass(&alice, t(2)).await.unwrap(),
        None,
        "used once"
    );
    store.grant_bypass(&alice, grant).await.unwrap();
    assert_eq!(
        store.take_bypass(&alice, t(60)).await.unwrap(),
        None,
        "expired"
    );

    assert!(!store.is_blocked(&alice).await.unwrap());
    store.block(&alice, t(0)).await.unwrap();
    assert!(store.is_blocked(&lower).await.unwrap());
    assert!(store.unblock(&lower).await.unwrap());
    assert!(
        !store.unblock(&alice).await.unwrap(),
        "nothing left to lift"
    );
    assert!(!store.is_blocked(&alice).await.unwrap());
}

async fn counters_conform(store: Arc<dyn CounterStore>) {
    let key = CounterKey::CallsToCountry(44);
    for s in [0, 10, 20] {
        store
            .record(&key, t(s), Duration::from_secs(15))
            .await
            .unwrap();
    }
    // Hits at 0 s are forgotten once a hit at 20 s is recorded with a keep of 15 s.
    let history = store
        .history(&key, t(0).minus(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(store.history(&key, t(15)).await.unwrap().len(), 1);
    store.clear(&key).await.unwrap();
    assert!(store.history(&key, t(0)).await.unwrap().is_empty());

    let same_time = CounterKey::PasswordFailuresOfUser("bob".into());
    for _ in 0..3 {
        store
            .record(&same_time, t(1), Duration::from_secs(60))
            .await
            .unwrap();
    }
    assert_eq!(
        store.history(&same_time, t(0)).await.unwrap(),
        vec![t(1); 3],
        "hits at the same instant all count"
    );

    let hold = CounterKey::OutstandingCall("alice".into());
    let (a, b) = (LoginId::from_bytes([1; 16]), LoginId::from_bytes([2; 16]));
    assert!(store.try_hold(&hold, a, t(0), t(90)).await.unwrap());
    assert!(
        store.try_hold(&hold, a, t(1), t(90)).await.unwrap(),
        "the holder again"
    );
    assert!(!store.try_hold(&hold, b, t(1), t(91)).await.unwrap());
    store.release(&hold, b).await.unwrap();
    assert!(
        !store.try_hold(&hold, b, t(2), t(92)).await.unwrap(),
        "only the holder releases"
    );
    assert!(
        store.try_hold(&hold, b, t(90), t(180)).await.unwrap(),
        "lapsed hold"
    );
    store.release(&hold, b).await.unwrap();
    assert!(store.try_hold(&hold, a, t(91), t(181)).await.unwrap());
}

#[tokio::test]
async fn memory_and_redis_session_stores_agree() {
    sessions_conform(Arc::new(MemorySessionStore::new())).await;
    let server = redis().await;
    let stores = RedisStores::connect(&server.url(), ns()).await.unwrap();
    sessions_conform(stores.sessions()).await;
}

#[tokio::test]
async fn memory_and_redis_tfa_state_stores_agree() {
    tfa_state_conform(Arc::new(MemoryTfaStateStore::new())).await;
    let server = redis().await;
    let stores = RedisStores::connect(&server.url(), ns()).await.unwrap();
    tfa_state_conform(stores.tfa_state()).await;
}

#[tokio::test]
async fn memory_and_redis_counter_stores_agree() {
    counters_conform(Arc::new(MemoryCounterStore::new())).await;
    let server = redis().await;
    let stores = RedisStores::connect(&server.url(), ns()).await.unwrap();
    counters_conform(stores.counters()).await;
}

#[tokio::test]
async fn keys_expire_in_redis_and_counters_are_capped() {
    let server = redis().await;
    let stores = RedisStores::connect(&server.url(), ns()).await.unwrap();
    let mut raw = raw(&server).await;
    let login = login(7);
    stores.sessions().create(&login, t(30)).await.unwrap();
    let ttl: i64 = raw
        .pttl(format!("{NS}:login:{}", login.id()))
        .await
        .unwrap();
    assert!(
        (1..=35_000).contains(&ttl),
        "login ttl {ttl} ms: its expiry and 5 s of grace"
    );

    let key = CounterKey::PasswordFailuresFromSource(ip(9));
    let counters = stores.counters();
    counters
        .record(&key, t(0), Duration::from_secs(120))
        .await
        .unwrap();
    let ttl: i64 = raw.pttl(format!("{NS}:count:{key}")).await.unwrap();
    assert!((110_000..=120_000).contains(&ttl), "counter ttl {ttl} ms");

    let hammered = CounterKey::PasswordFailuresOfUser("mallory".into());
    let script = (0..MAX_HITS + 50)
        .map(|_| {
            format!(
                "redis.call('ZADD', KEYS[1], {}, tostring(math.random()))",
                t(0).unix_millis()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Fill past the cap directly, then one recorded hit trims back to it.
    let _: () = redis::Script::new(&script)
        .key(format!("{NS}:count:{hammered}"))
        .invoke_async(&mut raw)
        .await
        .unwrap();
    counters
        .record(&hammered, t(1), Duration::from_secs(60))
        .await
        .unwrap();
    let n: u64 = raw.zcard(format!("{NS}:count:{hammered}")).await.unwrap();
    assert_eq!(n, u64::from(MAX_HITS));
    let newest = counters.history(&hammered, t(1)).await.unwrap();
    assert_eq!(newest, vec![t(1)], "trimming drops the oldest hits");
}

#[tokio::test]
async fn the_redis_phone_book_keeps_stored_numbers_per_user() {
    let server = redis().await;
    let stores = RedisStores::connect(&server.url(), ns()).await.unwrap();
    let book = stores.phone_book();
    let number = PhoneNumber::parse_stored("1 9259249500 292").unwrap();
    assert_eq!(book.number(&user("alice")).await.unwrap(), None);
    book.set_number(&user("Alice"), Some(&number))
        .await
        .unwrap();
    assert_eq!(book.number(&user("alice")).await.unwrap(), Some(number));
    book.set_number(&user("alice"), None).await.unwrap();
    assert_eq!(book.number(&user("alice")).await.unwrap(), None);

    let mut raw = raw(&server).await;
    let _: () = raw
        .hset(format!("{NS}:phones:book"), "eve", "not a number")
        .await
        .unwrap();
    let error = book.number(&user("eve")).await.unwrap_err();
    assert!(
        matches!(
            error,
            FlowError::Store {
                store: "phone book",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_from_two_connections_on_one_login_lose_no_update() {
    let server = redis().await;
    let a = RedisStores::connect(&server.url(), ns()).await.unwrap();
    let b = RedisStores::connect(&server.url(), ns()).await.unwrap();
    let login = login(3);
    a.sessions().create(&login, t(60)).await.unwrap();
    let bump = |store: Arc<dyn SessionStore>| {
        let login = login.clone();
        tokio::spawn(async move {
            let mut done = 0;
            while done < 50 {
                let (current, revision) = store.load(login.id(), t(0)).await.unwrap().unwrap();
                if let Swap::Done(_) = store
                    .compare_and_swap(&current, revision, t(60))
                    .await
                    .unwrap()
                {
                    done += 1;
                }
            }
        })
    };
    let (x, y) = (bump(a.sessions()), bump(b.sessions()));
    x.await.unwrap();
    y.await.unwrap();
    let (_, revision) = a.sessions().load(login.id(), t(0)).await.unwrap().unwrap();
    assert_eq!(revision.get(), 101, "every successful swap counted once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_logins_racing_for_one_hold_exactly_one_wins() {
    let server = redis().await;
    let nodes = [
        RedisStores::connect(&server.url(), ns()).await.unwrap(),
        RedisStores::connect(&server.url(), ns()).await.unwrap(),
    ];
    let hold = CounterKey::OutstandingCall("alice".into());
    let tasks: Vec<_> = (0..40u8)
        .map(|i| {
            let counters = nodes[usize::from(i % 2)].counters();
            let hold = hold.clone();
            tokio::spawn(async move {
                counters
                    .try_hold(&hold, LoginId::from_bytes([i; 16]), t(0), t(60))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn namespaces_keep_deployments_apart() {
    let server = redis().await;
    let prod = RedisStores::connect(&server.url(), Namespace::new("prod").unwrap())
        .await
        .unwrap();
    let test = RedisStores::connect(&server.url(), Namespace::new("test").unwrap())
        .await
        .unwrap();
    let login = login(4);
    prod.sessions().create(&login, t(60)).await.unwrap();
    assert!(
        prod.sessions()
            .load(login.id(), t(0))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(test.sessions().load(login.id(), t(0)).await.unwrap(), None);
    test.tfa_state().block(&user("alice"), t(0)).await.unwrap();
    assert!(!prod.tfa_state().is_blocked(&user("alice")).await.unwrap());
}

#[tokio::test]
async fn a_failed_command_is_a_store_error_naming_the_operation() {
    let mut server = redis().await;
    let stores = RedisStores::connect(&server.url(), ns()).await.unwrap();
    server.stop();
    let error = stores
        .sessions()
        .load(LoginId::from_bytes([5; 16]), t(0))
        .await
        .unwrap_err();
    let FlowError::Store { store, source } = &error else {
        panic!("expected a store error, got {error}")
    };
    assert_eq!(*store, "session");
    assert_eq!(source.to_string(), "redis session load failed");
    let error = stores
        .counters()
        .try_hold(
            &CounterKey::OutstandingCall("a".into()),
            LoginId::from_bytes([5; 16]),
            t(0),
            t(1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, FlowError::Store { store: "counter", source } if source.to_string() == "redis counter try_hold failed"),
        "{error}: {:?}",
        std::error::Error::source(&error).map(ToString::to_string)
    );
}
