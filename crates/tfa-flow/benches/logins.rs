//! Logins per second through the whole stack: the local password store with a cheap test
//! hash, the driver with in-memory stores, and a phone that approves at once (in process, and
//! the simulator over mutual TLS in direct mode); beside the raw cost of the same round trips
//! (one password check and one call) without the flow.

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

fn logins_over_simulator(c: &mut Criterion) {
    use phonefactor::{
        DirectClient, DirectCredentials, PhoneFactorUsername, PhoneVerifier, VerificationRequest,
    };
    use tfa_flow::{MemoryPhoneBook, PhoneCall};
    use tfa_phone::PhoneNumber;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let book = Arc::new(MemoryPhoneBook::new());
    let (sim, users, client) = runtime.block_on(async {
        let sim = phonefactor_sim::Simulator::builder()
            .default_ring_delay(std::time::Duration::ZERO)
            .without_control()
            .start()
            .await
            .expect("the simulator starts");
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
                .add_user(NewUser::new(name.clone(), SecretString::from("pw")))
                .await
                .expect("added");
            book.insert(
                &name,
                PhoneNumber::parse_stored(&format!("1 92592495{i:02}")).expect("a valid number"),
            );
        }
        let credentials =
            DirectCredentials::from_license_dir(sim.license_dir(), sim.pkcs12_password())
                .expect("credentials");
        let client = DirectClient::builder(credentials)
            .primary_url(sim.direct_url())
            .no_backup()
            .system_roots(false)
            .add_root_certificate_file(sim.ca_cert_path())
            .build()
            .expect("a client");
        (sim, Arc::new(users), Arc::new(client))
    });
    let auth = Authenticator::builder(users.clone(), Arc::new(PhoneCall::direct(client.clone())))
        .policy(common::load_policy())
        .phone_book(book.clone())
        .build()
        .expect("a valid policy");
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);

    let mut group = c.benchmark_group("logins_simulator");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("whole_stack_direct_tls_64_concurrent", |b| {
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
    group.bench_function("raw_round_trips_direct_tls_64_concurrent", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..BATCH {
                let (users, client) = (users.clone(), client.clone());
                tasks.spawn(async move {
                    let name = Username::new(&format!("user{i}")).expect("a valid name");
                    users
                        .verify(&name, &SecretString::from("pw"))
                        .await
                        .expect("verified");
                    let number = PhoneNumber::parse_stored(&format!("1 92592495{i:02}"))
                        .expect("a valid number");
                    let request = VerificationRequest::new(
                        PhoneFactorUsername::new(name.as_str()).expect("a name"),
                    )
                    .with_phone(number);
                    assert!(
                        client
                            .verify(&request)
                            .await
                            .expect("answered")
                            .is_approved()
                    );
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.expect("no round trip failed");
            }
        });
    });
    group.finish();
    runtime.block_on(sim.shutdown());
}

criterion_group!(benches, logins, logins_over_simulator);
criterion_main!(benches);
