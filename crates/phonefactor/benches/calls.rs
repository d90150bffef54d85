//! Calls per second through the simulator over real TLS: direct mode with instant answers
//! (one mutual-TLS connection per call, as the protocol wants), and agent mode over one
//! kept-alive connection versus a new connection per call, with the TLS handshakes counted.
//!
//! Run with `cargo bench -p phonefactor --bench calls -- --warm-up-time 1 --measurement-time 3`.

#![allow(clippy::unwrap_used)] // a benchmark whose setup fails should stop loudly

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phonefactor::{
    AgentClient, DirectClient, PhoneFactorUsername, PhoneVerifier, VerificationRequest,
};
use phonefactor_sim::{AgentAccount, AgentDirectory, AgentUser, SimHandle, Simulator};
use secrecy::SecretString;
use tfa_phone::PhoneNumber;

const ADMIN: &str = "CORP\\bench";
const PASSWORD: &str = "bench-password";

async fn start_sim() -> SimHandle {
    Simulator::builder()
        .default_ring_delay(Duration::ZERO)
        .without_control()
        .agent_account(AgentAccount::admin(ADMIN, SecretString::from(PASSWORD)))
        .agent_directory(AgentDirectory::new().user(AgentUser::standard(
            "alice",
            "1",
            "9259249500",
        )))
        .start()
        .await
        .unwrap()
}

fn agent(sim: &SimHandle) -> AgentClient {
    AgentClient::builder(
        sim.agent_url().unwrap(),
        ADMIN,
        SecretString::from(PASSWORD),
    )
    .system_roots(false)
    .add_root_certificate_file(sim.agent_trust_path().unwrap())
    .build()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime.block_on(start_sim());
    let direct = DirectClient::from_license_dir(sim.license_dir(), sim.pkcs12_password())
        .unwrap()
        .primary_url(sim.direct_url())
        .no_backup()
        .system_roots(false)
        .add_root_certificate_file(sim.ca_cert_path())
        .build()
        .unwrap();
    let user = PhoneFactorUsername::new("alice").unwrap();
    let direct_request = VerificationRequest::new(user.clone())
        .with_phone(PhoneNumber::parse_stored("1 9259249500").unwrap());
    let agent_request = VerificationRequest::new(user);

    let mut group = c.benchmark_group("calls");
    group.throughput(Throughput::Elements(1));
    group.bench_function("direct_instant_answer", |b| {
        b.to_async(&runtime).iter(|| async {
            assert!(direct.verify(&direct_request).await.unwrap().is_approved());
        });
    });
    let kept = agent(&sim);
    group.bench_function("agent_keep_alive", |b| {
        b.to_async(&runtime).iter(|| async {
            assert!(kept.verify(&agent_request).await.unwrap().is_approved());
        });
    });
    group.bench_function("agent_new_connection", |b| {
        b.to_async(&runtime).iter(|| async {
            // A fresh client has an empty pool: one TLS handshake per call.
            let fresh = agent(&sim);
            assert!(fresh.verify(&agent_request).await.unwrap().is_approved());
        });
    });
    group.finish();

    // Handshakes for a fixed number of calls each way.
    const N: u64 = 200;
    let before = sim.agent_handshakes();
    let kept = agent(&sim);
    runtime.block_on(async {
        for _ in 0..N {
            kept.verify(&agent_request).await.unwrap();
        }
    });
    let kept_server = sim.agent_handshakes() - before;
    let before = sim.agent_handshakes();
    runtime.block_on(async {
        for _ in 0..N {
            agent(&sim).verify(&agent_request).await.unwrap();
        }
    });
    let fresh_server = sim.agent_handshakes() - before;
    println!(
        "handshakes for {N} agent calls: keep-alive {} (client) / {kept_server} (simulator); new connection each {fresh_server} (simulator)",
        kept.tls_handshakes()
    );
    runtime.block_on(sim.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
