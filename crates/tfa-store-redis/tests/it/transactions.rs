//! The login steps as one script each: as many round trips as steps, and the same
//! decisions as the steps composed of the per-datum stores (the call limits are evaluated in
//! Lua on Redis, in Rust in memory).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use tfa_flow::{
    BypassGrant, CallLimits, CallReservation, ComposedTransactions, CounterKey, CounterStore,
    Effects, Event, EventKind, FirstFactorResult, Login, LoginId, LoginTransactions, Machine,
    MemoryCounterStore, MemorySessionStore, MemoryTfaStateStore, PhoneFacts, Progress, Rate,
    TfaStateStore, Timestamp, Update, UserFacts, Verified,
};

use crate::support::*;

fn now() -> Timestamp {
    Timestamp::from_unix_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_happy_login_takes_four_round_trips() {
    let cluster = Cluster::start().await;
    let node = cluster.node(quick_policy()).await;
    // Warm: the scripts are loaded once per server.
    assert!(matches!(
        node.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
    let before = node.stores.round_trips();
    assert!(matches!(
        node.full_login("bob", PASSWORD, ip(2)).await,
        Progress::Authenticated(_)
    ));
    assert_eq!(
        node.stores.round_trips() - before,
        4,
        "begin, password, first factor, call ended; the waiter hears the outcome in memory"
    );
    cluster.sim.shutdown().await;
}

/// One side of the comparison: the steps and the stores they keep their counters in.
struct Side {
    steps: Arc<dyn LoginTransactions>,
    counters: Arc<dyn CounterStore>,
    tfa: Arc<dyn TfaStateStore>,
}

/// A login verifying its password, and the same login with its call placed.
fn logins(n: u8, user: &str, at: Timestamp) -> (Login, Login) {
    let machine = Machine::default();
    let id = LoginId::from_bytes([n; 16]);
    let step =
        |login: Login, kind: EventKind| machine.step(login, Event::new(id, kind), at).unwrap();
    let login = Login::new(id, IpAddr::V4(Ipv4Addr::LOCALHOST), at);
    let (login, _) = step(
        login,
        EventKind::UsernameEntered {
            username: crate::support::user(user),
        },
    );
    let (verifying, _) = step(login, EventKind::PasswordEntered);
    let facts = UserFacts::new(crate::support::user(user), PhoneFacts::HeldByService);
    let (ringing, actions) = step(
        verifying.clone(),
        EventKind::FirstFactorChecked(FirstFactorResult::Verified(Box::new(facts))),
    );
    let attempt = actions
        .iter()
        .find_map(|a| match a {
            tfa_flow::Action::PlaceCall { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .unwrap();
    let (placed, _) = step(ringing, EventKind::CallPlaced { attempt });
    (verifying, placed)
}

/// Begins login `n` for `user` and tries to place its call under `limits` (and take
/// `bypass`): the outcome, revisions left out.
async fn attempt(
    side: &Side,
    n: u8,
    user: &str,
    number: Option<(&str, u16)>,
    limits: &CallLimits,
    bypass: Option<&BypassGrant>,
) -> String {
    let at = now();
    let (verifying, placed) = logins(n, user, at);
    let expires_at = at.plus(Duration::from_secs(60));
    let revision = side.steps.begin(&verifying, expires_at).await.unwrap();
    let call = CallReservation {
        holder: placed.id(),
        user: crate::support::user(user),
        number: number.map(|(e164, country)| (e164.to_owned(), country)),
        until: at.plus(Duration::from_secs(30)),
        limits: limits.clone(),
        now: at,
    };
    let update = Update {
        login: &placed,
        expected: revision,
        expires_at,
        now: at,
    };
    match side
        .steps
        .first_factor_verified(update, &Effects::default(), Some(&call), bypass)
        .await
        .unwrap()
    {
        Verified::Done(_) => "placed".into(),
        Verified::Refused(tfa_flow::CallRule::FatigueDelay { until }) => {
            format!(
                "fatigue delay for {} s",
                (until.since(at).as_millis() + 500) / 1000
            )
        }
        Verified::Refused(rule) => format!("refused: {rule:?}"),
        Verified::BypassChanged(grant) => format!("bypass changed: {grant:?}"),
        Verified::Conflict(_) => "conflict".into(),
    }
}

async fn decisions(side: &Side) -> Vec<String> {
    let limits = CallLimits {
        per_user: Rate::new(2, Duration::from_secs(60)),
        per_number: Rate::new(1, Duration::from_secs(60)),
        per_country: Rate::new(2, Duration::from_secs(60)),
        ..CallLimits::default()
    };
    let mut out = Vec::new();
    // Free: placed, and recorded against the user, the number and the country.
    out.push(attempt(side, 1, "ann", Some(("+15550001", 1)), &limits, None).await);
    let since = now().minus(Duration::from_secs(60));
    for key in [
        CounterKey::CallsToUser("ann".into()),
        CounterKey::CallsToNumber("+15550001".into()),
        CounterKey::CallsToCountry(1),
    ] {
        out.push(format!(
            "{key}: {}",
            side.counters.history(&key, since).await.unwrap().len()
        ));
    }
    // Ann's call still holds: her next login is refused, and holds nothing.
    out.push(attempt(side, 2, "Ann", None, &limits, None).await);
    // The number was called once this minute (by ann): refused for ben.
    out.push(attempt(side, 3, "ben", Some(("+15550001", 1)), &limits, None).await);
    // Another number in the same country: placed; the country is then full.
    out.push(attempt(side, 4, "cat", Some(("+15550002", 1)), &limits, None).await);
    out.push(attempt(side, 5, "dan", Some(("+15550003", 1)), &limits, None).await);
    // Two calls to a user in the window (no hold between them): the third is refused.
    for ago in [20, 10] {
        side.counters
            .record(
                &CounterKey::CallsToUser("eve".into()),
                now().minus(Duration::from_secs(ago)),
                Duration::from_secs(3600),
            )
            .await
            .unwrap();
    }
    out.push(attempt(side, 8, "eve", None, &limits, None).await);
    // Two failed calls: the next waits 30 s doubled once from the last.
    for ago in [40, 10] {
        side.counters
            .record(
                &CounterKey::PhoneFailuresOfUser("fay".into()),
                now().minus(Duration::from_secs(ago)),
                Duration::from_secs(3600),
            )
            .await
            .unwrap();
    }
    out.push(attempt(side, 9, "fay", None, &limits, None).await);
    // A bypass expected but not stored; then one stored that differs; then the one stored.
    let grant = BypassGrant {
        until: now().plus(Duration::from_secs(600)),
        reason: "lost phone".into(),
        granted_by: "admin".into(),
    };
    out.push(attempt(side, 10, "gus", None, &limits, Some(&grant)).await);
    let other = BypassGrant {
        reason: "travel".into(),
        ..grant.clone()
    };
    side.tfa
        .grant_bypass(&crate::support::user("gus"), other)
        .await
        .unwrap();
    out.push(
        attempt(side, 11, "gus", None, &limits, Some(&grant))
            .await
            .replace(&format!("{:?}", grant.until), "UNTIL"),
    );
    side.tfa
        .grant_bypass(&crate::support::user("hal"), grant.clone())
        .await
        .unwrap();
    out.push(attempt(side, 12, "hal", None, &limits, Some(&grant)).await);
    out.push(format!(
        "hal's bypass after use: {:?}",
        side.tfa
            .bypass(&crate::support::user("hal"), now())
            .await
            .unwrap()
    ));
    out
}

#[tokio::test]
async fn redis_steps_decide_calls_as_the_composed_steps() {
    let server = redis().await;
    let stores = tfa_store_redis::RedisStores::connect(&server.url(), ns())
        .await
        .unwrap();
    let tfa: Arc<dyn TfaStateStore> = Arc::new(MemoryTfaStateStore::new());
    let counters: Arc<dyn CounterStore> = Arc::new(MemoryCounterStore::new());
    let memory = Side {
        steps: Arc::new(ComposedTransactions::new(
            Arc::new(MemorySessionStore::new()),
            tfa.clone(),
            counters.clone(),
            None,
        )),
        counters,
        tfa,
    };
    let redis = Side {
        steps: stores.transactions(false),
        counters: stores.counters(),
        tfa: stores.tfa_state(),
    };
    let expected = decisions(&memory).await;
    assert_eq!(expected[0], "placed");
    assert!(expected[4].contains("OutstandingCall"), "{expected:?}");
    assert!(expected[5].contains("NumberRate"), "{expected:?}");
    assert_eq!(expected[6], "placed");
    assert!(expected[7].contains("CountryRate"), "{expected:?}");
    assert!(expected[8].contains("UserRate"), "{expected:?}");
    assert_eq!(expected[9], "fatigue delay for 50 s", "{expected:?}");
    assert_eq!(expected[10], "bypass changed: None");
    assert_eq!(expected[12], "placed");
    assert_eq!(expected[13], "hal's bypass after use: None");
    assert_eq!(decisions(&redis).await, expected);
}
