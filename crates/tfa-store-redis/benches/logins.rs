//! Logins per second and latency with the Redis stores beside the in-memory ones, in the same
//! run, through the whole driver: a directory and a phone that cost nothing (in process), so
//! that the difference is the stores. Before measuring, prints the Redis requests one happy
//! login makes (counted by the stores, and by the server's `INFO commandstats`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secrecy::{ExposeSecret, SecretString};
use tfa_directory::{DirectoryError, FirstFactor, Identity, UserRecord, Username};
use tfa_flow::{
    Authenticator, FactorError, FactorOutcome, FactorRequest, NumberNeed, Policy, Progress,
    SecondFactor,
};
use tfa_store_redis::{Namespace, RedisStores};
use tfa_test_support::redis::RedisServer;

const BATCH: u64 = 64;

/// Every user exists with password `pw`.
#[derive(Debug)]
struct FreeDirectory;

#[async_trait]
impl FirstFactor for FreeDirectory {
    async fn verify(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError> {
        if password.expose_secret() == "pw" {
            Ok(Identity::new(UserRecord::new(username.clone())))
        } else {
            Err(DirectoryError::BadCredentials)
        }
    }

    async fn lookup(&self, username: &Username) -> Result<Option<UserRecord>, DirectoryError> {
        Ok(Some(UserRecord::new(username.clone())))
    }
}

/// A phone that approves at once.
#[derive(Debug)]
struct InstantPhone;

#[async_trait]
impl SecondFactor for InstantPhone {
    fn name(&self) -> &str {
        "instant-phone"
    }
    fn number_need(&self) -> NumberNeed {
        NumberNeed::Optional
    }
    async fn verify(&self, _: &FactorRequest) -> Result<FactorOutcome, FactorError> {
        Ok(FactorOutcome::Approved)
    }
}

/// No floor and no limits in the way: the same users log in again and again from one
/// address. Windows of a second keep the counters short, as in steady state.
fn load_policy() -> Policy {
    let second = Duration::from_secs(1);
    let mut policy = Policy::default();
    policy.password_floor = Duration::ZERO;
    policy.lockout.password.per_source.threshold = u32::MAX;
    for rate in [
        &mut policy.calls.per_user,
        &mut policy.calls.per_number,
        &mut policy.calls.per_country,
    ] {
        rate.limit = u32::MAX;
        rate.window = second;
    }
    policy.calls.fatigue.window = second;
    policy
}

/// A user not seen before, so that no login meets another's outstanding-call hold.
fn fresh_user() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("user{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn login(auth: &Authenticator, user: &str) {
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let id = auth.begin(user, source).await.expect("begins");
    auth.submit_password(id, SecretString::from("pw"))
        .await
        .expect("checks");
    let progress = auth.second_factor(id).await.expect("ends");
    assert!(
        matches!(progress, Progress::Authenticated(_)),
        "{progress:?}"
    );
}

/// Commands by name, from the server's own statistics.
async fn command_stats(url: &str) -> BTreeMap<String, u64> {
    let mut conn = redis::Client::open(url)
        .expect("a url")
        .get_multiplexed_async_connection()
        .await
        .expect("connected");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .expect("info");
    info.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

fn logins(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server = RedisServer::start().expect("redis-server starts");
    let stores = runtime.block_on(async {
        RedisStores::connect(&server.url(), Namespace::new("bench").expect("a namespace"))
            .await
            .expect("connected")
    });
    let build = |redis: bool| {
        let builder = Authenticator::builder(Arc::new(FreeDirectory), Arc::new(InstantPhone))
            .policy(load_policy());
        if redis {
            stores.attach(builder)
        } else {
            builder
        }
        .build()
        .expect("a valid policy")
    };
    let (memory, shared) = (build(false), build(true));

    // Round trips and requests per happy login, on a warm connection (scripts loaded), with
    // nothing else running.
    runtime.block_on(async {
        login(&shared, &fresh_user()).await;
        let before = command_stats(&server.url()).await;
        let (sent, trips) = (stores.requests_sent(), stores.round_trips());
        login(&shared, &fresh_user()).await;
        let (sent, trips) = (stores.requests_sent() - sent, stores.round_trips() - trips);
        let after = command_stats(&server.url()).await;
        let by_command: Vec<String> = after
            .iter()
            .filter(|(name, _)| name.as_str() != "info")
            .filter_map(|(name, n)| {
                let delta = n - before.get(name).copied().unwrap_or(0);
                (delta > 0).then(|| format!("{name}={delta}"))
            })
            .collect();
        println!(
            "redis per happy login: {trips} round trips, {sent} requests (server, with the \
             commands scripts run: {})",
            by_command.join(" ")
        );
    });

    let mut group = c.benchmark_group("store_logins");
    for (name, auth) in [("memory", &memory), ("redis", &shared)] {
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{name}_one_at_a_time"), |b| {
            b.to_async(&runtime).iter(|| async {
                let user = fresh_user();
                login(auth, &user).await
            });
        });
        group.throughput(Throughput::Elements(BATCH));
        group.bench_function(format!("{name}_64_concurrent"), |b| {
            b.to_async(&runtime).iter(|| async {
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..BATCH {
                    let auth = auth.clone();
                    let user = fresh_user();
                    tasks.spawn(async move { login(&auth, &user).await });
                }
                while let Some(done) = tasks.join_next().await {
                    done.expect("no login failed");
                }
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = logins
}
criterion_main!(benches);
