//! 10,000 concurrent direct-mode calls through the simulator, each phone ringing 2 s before it
//! answers `#`: wall time from the first request to the last outcome, and memory of the client
//! and of the simulator (peak RSS above idle).
//!
//! The simulator runs in a child process (this same binary, started with
//! `PF_RINGING_ROLE=sim`), so each side has its own memory figures and its own file
//! descriptors (10,000 connections need 10,000 on each side).
//!
//! Run with `cargo bench -p phonefactor --bench ringing`. One run is the measurement.
//! `PF_RINGING_CALLS=N` changes the number of calls and `PF_RINGING_CONNECTS=N` the client's
//! `max_concurrent_connects`.

#![allow(clippy::unwrap_used)] // a benchmark whose setup fails should stop loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phonefactor::{DirectClient, PhoneFactorUsername, PhoneVerifier, VerificationRequest};
use phonefactor_sim::Simulator;
use secrecy::SecretString;
use tfa_phone::PhoneNumber;

const DEFAULT_CALLS: usize = 10_000;
const RING: Duration = Duration::from_secs(2);

/// Resident set size and its peak, in KiB.
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

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The child: a simulator whose phones ring 2 s, until standard input closes.
fn simulator(dir: &Path) {
    let rt = runtime();
    let sim = rt.block_on(
        Simulator::builder()
            .pki_dir(dir)
            .default_ring_delay(RING)
            .without_agent()
            .without_control()
            .start(),
    );
    let sim = sim.unwrap();
    let (idle, _) = memory_kib();
    println!("ready {} {idle}", sim.direct_url());
    std::io::stdout().flush().unwrap();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let (_, peak) = memory_kib();
    println!("peak {peak}");
    std::io::stdout().flush().unwrap();
    rt.block_on(sim.shutdown());
}

fn main() {
    if std::env::var_os("PF_RINGING_ROLE").is_some_and(|r| r == "sim") {
        let dir = std::env::var_os("PF_RINGING_DIR").unwrap();
        simulator(Path::new(&dir));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks for benchmark names
    }
    // PF_RINGING_CALLS overrides the count, to see how the wall time scales.
    let calls: usize = std::env::var("PF_RINGING_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CALLS);
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("PF_RINGING_ROLE", "sim")
        .env("PF_RINGING_DIR", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let mut words = ready.split_whitespace().skip(1);
    let url = words.next().unwrap().to_owned();
    let sim_idle: u64 = words.next().unwrap().parse().unwrap();

    let rt = runtime();
    let password = std::fs::read_to_string(tmp.path().join("pkcs12.password")).unwrap();
    let mut builder = DirectClient::from_license_dir(
        tmp.path().join("license"),
        &SecretString::from(password.trim().to_owned()),
    )
    .unwrap()
    .primary_url(&url)
    .no_backup()
    .system_roots(false)
    .add_root_certificate_file(tmp.path().join("ca.pem"))
    .response_timeout(Duration::from_secs(30));
    // PF_RINGING_CONNECTS overrides `max_concurrent_connects`, to tune its default.
    if let Some(n) = std::env::var("PF_RINGING_CONNECTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        builder = builder.max_concurrent_connects(n);
    }
    let client = Arc::new(builder.build().unwrap());
    let phone = PhoneNumber::parse_stored("1 9259249500").unwrap();
    let run = |prefix: &'static str, n: usize| {
        let client = client.clone();
        let phone = phone.clone();
        async move {
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    let client = client.clone();
                    let request = VerificationRequest::new(
                        PhoneFactorUsername::new(format!("{prefix}{i}")).unwrap(),
                    )
                    .with_phone(phone.clone());
                    tokio::spawn(async move { client.verify(&request).await })
                })
                .collect();
            let mut approved = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(o) if o.is_approved() => approved += 1,
                    Ok(o) => eprintln!("not approved: {o}"),
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            approved
        }
    };
    assert_eq!(rt.block_on(run("warm", 100)), 100);
    let (idle, _) = memory_kib();
    let started = Instant::now();
    let approved = rt.block_on(run("user", calls));
    let wall = started.elapsed();
    let (_, peak) = memory_kib();
    drop(child.stdin.take());
    let sim_peak: u64 = lines
        .find_map(|l| l.ok()?.strip_prefix("peak ").map(str::to_owned))
        .unwrap()
        .parse()
        .unwrap();
    let _ = child.wait();
    println!(
        "ringing: {calls} concurrent direct calls ringing {} s each: {approved} approved, all done in {:.2} s wall",
        RING.as_secs(),
        wall.as_secs_f64()
    );
    println!(
        "ringing: client peak RSS {:.1} MiB ({:.1} MiB above idle {:.1} MiB); simulator peak RSS {:.1} MiB ({:.1} MiB above idle {:.1} MiB)",
        mib(peak),
        mib(peak.saturating_sub(idle)),
        mib(idle),
        mib(sim_peak),
        mib(sim_peak.saturating_sub(sim_idle)),
        mib(sim_idle)
    );
    assert_eq!(approved, calls, "every call is approved");
}
