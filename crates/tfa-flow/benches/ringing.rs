//! 10,000 concurrent logins, each call ringing for 2 s before it is approved: wall time from
//! the first `begin` to the last outcome, and peak resident memory above idle.
//!
//! Run with `cargo bench -p tfa-flow --bench ringing`. Prints its figures; no criterion
//! sampling (one run is the measurement, and it takes about 3 s).

#![allow(clippy::disallowed_methods)] // a benchmark measures wall time

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tfa_flow::{Authenticator, Progress};

const LOGINS: usize = 10_000;
const RING: Duration = Duration::from_secs(2);

/// Resident set size and its peak, in KiB, from `/proc/self/status`.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let auth = Authenticator::builder(Arc::new(common::FreeDirectory), Arc::new(common::RingingPhone { ring: RING }))
            .policy(common::load_policy())
            .build()
            .expect("a valid policy");
        // Warm up allocator and runtime with a few logins, then take the idle baseline.
        run(&auth, 100, "warm").await;
        let (idle, _) = memory_kib();
        let started = Instant::now();
        let authenticated = run(&auth, LOGINS, "user").await;
        let wall = started.elapsed();
        let (_, peak) = memory_kib();
        assert_eq!(authenticated, LOGINS, "every login is approved");
        println!(
            "ringing: {LOGINS} concurrent logins ringing {} s each: all done in {:.2} s; peak RSS {:.1} MiB above idle ({:.1} MiB idle)",
            RING.as_secs(),
            wall.as_secs_f64(),
            (peak.saturating_sub(idle)) as f64 / 1024.0,
            idle as f64 / 1024.0
        );
    });
}

async fn run(auth: &Authenticator, n: usize, prefix: &str) -> usize {
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let auth = auth.clone();
        let name = format!("{prefix}{i}");
        tasks.spawn(async move {
            let id = auth.begin(&name, source).await.expect("begins");
            let progress = auth
                .submit_password(id, SecretString::from("pw"))
                .await
                .expect("checks");
            assert!(matches!(progress, Progress::Calling { .. }), "{progress:?}");
            auth.second_factor(id).await.expect("ends")
        });
    }
    let mut authenticated = 0;
    while let Some(done) = tasks.join_next().await {
        authenticated += usize::from(matches!(
            done.expect("no panic"),
            Progress::Authenticated(_)
        ));
    }
    authenticated
}
