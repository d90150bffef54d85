//! Logins per second through the whole stack: the local password store with a cheap test
//! hash, the driver with in-memory stores, and a phone that approves at once; beside the raw
//! cost of the same round trips (one password check and one call) without the flow.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secrecy::SecretString;
use tfa_directory::{FirstFactor, HashParams, LocalDirectory, NewUser, Username};
use tfa_flow::{AttemptId, Authenticator, FactorRequest, LoginId, Progress, SecondFactor};

const BATCH: u64 = 64;

fn logins(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let users = runtime.block_on(async {
        let params = HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let users = LocalDirectory::open_or_create(dir.path().join("users.json"), params)
            .await
            .expect("a store");
        for i in 0..BATCH {
            let name = Username::new(&format!("user{i}")).expect("a valid name");
            users
                .add_user(NewUser::new(name, SecretString::from("pw")))
                .await
                .expect("added");
        }
        Arc::new(users)
    });
    let phone = Arc::new(common::RingingPhone {
        ring: std::time::Duration::ZERO,
    });
    let auth = Authenticator::builder(users.clone(), phone.clone())
        .policy(common::load_policy())
        .build()
        .expect("a valid policy");
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);

    let mut group = c.benchmark_group("logins");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("whole_stack_64_concurrent", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..BATCH {
                let auth = auth.clone();
                tasks.spawn(async move {
                    let id = auth
                        .begin(&format!("user{i}"), source)
                        .await
                        .expect("begins");
                    auth.submit_password(id, SecretString::from("pw"))
                        .await
                        .expect("checks");
                    let progress = auth.second_factor(id).await.expect("ends");
                    assert!(
                        matches!(progress, Progress::Authenticated(_)),
                        "{progress:?}"
                    );
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.expect("no login failed");
            }
        });
    });
    group.bench_function("raw_round_trips_64_concurrent", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..BATCH {
                let (users, phone) = (users.clone(), phone.clone());
                tasks.spawn(async move {
                    let name = Username::new(&format!("user{i}")).expect("a valid name");
                    users
                        .verify(&name, &SecretString::from("pw"))
                        .await
                        .expect("verified");
                    let request = FactorRequest::new(
                        LoginId::from_bytes([0; 16]),
                        AttemptId::new(1),
                        name,
                        "x",
                        None,
                        source,
                    );
                    phone.verify(&request).await.expect("approved");
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.expect("no login failed");
            }
        });
    });
    group.finish();
}

criterion_group!(benches, logins);
criterion_main!(benches);
