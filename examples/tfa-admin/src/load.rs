//! `tfa-admin load`: many logins through the whole stack at once, with figures.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::SecretString;
use serde::Serialize;
use tfa_flow::{Authenticator, Policy, Progress};

use crate::stack;

const PASSWORD: &str = "load test password";

/// The longest `--answer-after` accepted.
const MAX_ANSWER_AFTER: Duration = Duration::from_secs(600);

/// File descriptors kept free for everything but the calls' sockets.
const SPARE_FILES: u64 = 256;

/// Arguments of `load`.
#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// How many logins to run in all (at least 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    logins: u64,
    /// How many logins are in progress at once (at least 1; at most N are used). Each has
    /// its own user, so the one-call-per-user rule never holds a login back.
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    concurrency: u64,
    /// How long each phone rings before it is answered with `#` (e.g. `2s`, `500ms`, `0s`).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    answer_after: Duration,
}

/// Arguments of the hidden `load-simulator` command: the simulator as a child process, for
/// runs that need more sockets than one process may open.
#[derive(Debug, Args)]
pub(crate) struct SimulatorArgs {
    /// Where the simulator writes its PKI and license files.
    #[arg(long, value_name = "DIR")]
    pki_dir: PathBuf,
    /// How long each phone rings before `#`.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    answer_after: Duration,
}

/// Parses a duration written as `2s`, `500ms`, `1m 30s` (at most 10 minutes).
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(text)
        .map_err(|e| format!("{e} (write a duration such as 2s, 500ms or 1m)"))?;
    if parsed > MAX_ANSWER_AFTER {
        return Err(format!(
            "at most {} is accepted",
            humantime::format_duration(MAX_ANSWER_AFTER)
        ));
    }
    Ok(parsed)
}

/// The figures printed as the last line.
#[derive(Debug, Serialize)]
struct Figures {
    signed_in: u64,
    failed: u64,
    wall_ms: u64,
    logins_per_s: f64,
    /// Median time from username to signed in, beyond the simulated answer delay.
    p50_ms: f64,
    /// 99th percentile of the same.
    p99_ms: f64,
    /// Peak resident memory of this process (VmHWM).
    peak_rss_mb: f64,
    logins: u64,
    concurrency: u64,
    answer_after_ms: u64,
    /// `in-process`, or `child-process` when the sockets would not fit in one process.
    simulator: &'static str,
    /// The simulator's peak resident memory, when it ran as a child process.
    #[serde(skip_serializing_if = "Option::is_none")]
    simulator_peak_rss_mb: Option<f64>,
}

/// Runs `load`: exit 0 when every login signed in, 1 when some failed, 2 when the stack
/// cannot be set up.
pub(crate) fn run(args: &LoadArgs) -> ExitCode {
    let concurrency = args.concurrency.min(args.logins);
    let limit = open_file_limit();
    // Each ringing call holds a socket at each end.
    let in_process = limit.is_none_or(|l| 2 * concurrency + SPARE_FILES <= l);
    if let Some(limit) = limit
        && concurrency + SPARE_FILES > limit
    {
        eprintln!(
            "tfa-admin: --concurrency {concurrency} needs about {} open files; this process may \
             open {limit}: lower --concurrency or raise the limit (ulimit -n)",
            concurrency + SPARE_FILES
        );
        return ExitCode::from(2);
    }
    if !in_process {
        eprintln!(
            "tfa-admin: {concurrency} ringing calls need about {} open files with the simulator \
             in this process (limit {}): running the simulator as a child process",
            2 * concurrency + SPARE_FILES,
            limit.unwrap_or_default()
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tfa-admin: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(load(args, concurrency, in_process)) {
        Ok(figures) => {
            let ok = figures.failed == 0;
            match serde_json::to_string(&figures) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    eprintln!("tfa-admin: {e}");
                    return ExitCode::from(2);
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(message) => {
            eprintln!("tfa-admin: {message}");
            ExitCode::from(2)
        }
    }
}

/// Where the simulator runs during a load run.
enum Site {
    InProcess(Box<phonefactor_sim::SimHandle>),
    Child(ChildSimulator),
}

async fn load(
    args: &LoadArgs,
    concurrency: u64,
    in_process: bool,
) -> Result<Figures, stack::SetupError> {
    let dir = tempfile::Builder::new()
        .prefix("tfa-admin-load-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let pki_dir = dir.path().join("simulator");
    let (site, url) = if in_process {
        let sim = stack::start_simulator(&pki_dir, args.answer_after).await?;
        let url = sim.direct_url().to_owned();
        (Site::InProcess(Box::new(sim)), url)
    } else {
        let child = ChildSimulator::start(&pki_dir, args.answer_after)?;
        let url = child.url.clone();
        (Site::Child(child), url)
    };
    let users = stack::local_users(
        dir.path().join("users.json"),
        (0..concurrency).map(|i| format!("user{i}")),
        PASSWORD,
    )
    .await?;
    let client = stack::direct_client(&pki_dir, &url, args.answer_after)?;
    let auth = stack::authenticator(users, client, load_policy(args.answer_after), None)?;

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(args.logins);
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} logins (eta {eta})",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        workers.spawn(run_worker(
            auth.clone(),
            format!("user{worker}"),
            next.clone(),
            args.logins,
            args.answer_after,
            bar.clone(),
        ));
    }
    let mut latencies = Vec::with_capacity(usize::try_from(args.logins).unwrap_or(0));
    let mut failed = 0;
    let mut first_failure = None;
    while let Some(done) = workers.join_next().await {
        let tally = done.map_err(|e| format!("a login task failed: {e}"))?;
        latencies.extend(tally.latencies);
        failed += tally.failed;
        if first_failure.is_none() {
            first_failure = tally.first_failure;
        }
    }
    let wall = started.elapsed();
    bar.finish_and_clear();
    let simulator_peak_kib = match site {
        Site::InProcess(sim) => {
            sim.shutdown().await;
            None
        }
        Site::Child(child) => Some(child.stop()?),
    };
    if let Some(failure) = first_failure {
        eprintln!("tfa-admin: {failed} login(s) failed; the first: {failure}");
    }
    latencies.sort_unstable();
    let signed_in = latencies.len() as u64;
    let wall_s = wall.as_secs_f64();
    Ok(Figures {
        signed_in,
        failed,
        wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        logins_per_s: round1(if wall_s > 0.0 {
            signed_in as f64 / wall_s
        } else {
            0.0
        }),
        p50_ms: round1(percentile(&latencies, 0.50)),
        p99_ms: round1(percentile(&latencies, 0.99)),
        peak_rss_mb: round1(peak_rss_kib().unwrap_or(0) as f64 / 1024.0),
        logins: args.logins,
        concurrency,
        answer_after_ms: u64::try_from(args.answer_after.as_millis()).unwrap_or(u64::MAX),
        simulator: if in_process {
            "in-process"
        } else {
            "child-process"
        },
        simulator_peak_rss_mb: simulator_peak_kib.map(|kib| round1(kib as f64 / 1024.0)),
    })
}

/// A policy for load: the defaults, except that every login comes from one address and
/// calls one number (so the per-address lockout and the per-number, per-country and
/// per-user call limits are lifted), no equal-time floor on the password step, and
/// timeouts that fit the answer delay.
fn load_policy(answer_after: Duration) -> Policy {
    let mut policy = Policy::default();
    policy.password_floor = Duration::ZERO;
    policy.lockout.password.per_source.threshold = u32::MAX;
    policy.lockout.phone.per_source.threshold = u32::MAX;
    policy.calls.per_country.limit = u32::MAX;
    policy.calls.per_user.limit = u32::MAX;
    policy.calls.per_number.limit = u32::MAX;
    stack::fit_timeouts(&mut policy, answer_after);
    policy
}

/// What one worker saw.
struct Tally {
    /// Time beyond the answer delay of each login that signed in, in microseconds.
    latencies: Vec<u64>,
    failed: u64,
    first_failure: Option<String>,
}

/// Logs `user` in again and again until `total` logins have been started by all workers.
async fn run_worker(
    auth: Authenticator,
    user: String,
    next: Arc<AtomicU64>,
    total: u64,
    answer_after: Duration,
    bar: ProgressBar,
) -> Tally {
    let mut tally = Tally {
        latencies: Vec::new(),
        failed: 0,
        first_failure: None,
    };
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    while next.fetch_add(1, Ordering::Relaxed) < total {
        let started = Instant::now();
        match login(&auth, &user, source).await {
            Ok(()) => {
                let extra = started.elapsed().saturating_sub(answer_after);
                tally
                    .latencies
                    .push(u64::try_from(extra.as_micros()).unwrap_or(u64::MAX));
            }
            Err(why) => {
                tally.failed += 1;
                tally.first_failure.get_or_insert(why);
            }
        }
        bar.inc(1);
    }
    tally
}

/// One whole login; `Err` says why it did not sign in.
async fn login(auth: &Authenticator, user: &str, source: IpAddr) -> Result<(), String> {
    let chain = |e: tfa_flow::FlowError| crate::call::error_chain(&e);
    let id = auth.begin(user, source).await.map_err(chain)?;
    let progress = auth
        .submit_password(id, SecretString::from(PASSWORD))
        .await
        .map_err(chain)?;
    let progress = match progress {
        Progress::Calling { .. } => auth.second_factor(id).await.map_err(chain)?,
        other => other,
    };
    match progress {
        Progress::Authenticated(_) => Ok(()),
        other => Err(format!("{user}: {:?}", other.message())),
    }
}

fn percentile(sorted_micros: &[u64], q: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_micros.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_micros.len()) - 1;
    sorted_micros[index] as f64 / 1000.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A `/proc/self/status` field in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// The soft limit on open files, from `/proc/self/limits`; `None` if unknown or unlimited.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The simulator in a child process (this program's hidden `load-simulator` command): it
/// prints `ready URL`, serves until its standard input closes, then prints `peak KIB`.
struct ChildSimulator {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    url: String,
}

impl ChildSimulator {
    fn start(pki_dir: &Path, answer_after: Duration) -> Result<Self, stack::SetupError> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut child = Command::new(exe)
            .arg("load-simulator")
            .arg("--pki-dir")
            .arg(pki_dir)
            .arg("--answer-after")
            .arg(humantime::format_duration(answer_after).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the simulator process: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or("the simulator process has no output")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .next()
            .and_then(Result::ok)
            .ok_or("the simulator process ended before it was ready")?;
        let url = ready
            .strip_prefix("ready ")
            .ok_or_else(|| format!("the simulator process said {ready:?}"))?
            .to_owned();
        Ok(Self {
            child,
            stdin,
            lines,
            url,
        })
    }

    /// Stops the simulator; its peak resident memory in KiB.
    fn stop(mut self) -> Result<u64, stack::SetupError> {
        drop(self.stdin.take());
        let peak = self
            .lines
            .next()
            .and_then(Result::ok)
            .and_then(|line| line.strip_prefix("peak ")?.parse().ok())
            .ok_or("the simulator process did not report its memory")?;
        let _ = self.child.wait();
        Ok(peak)
    }
}

/// Runs the hidden `load-simulator` command.
pub(crate) fn run_simulator(args: &SimulatorArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tfa-admin: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let sim = match runtime.block_on(stack::start_simulator(&args.pki_dir, args.answer_after)) {
        Ok(sim) => sim,
        Err(message) => {
            eprintln!("tfa-admin: {message}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "ready {}", sim.direct_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    // Serve until the parent closes our input.
    let mut sink = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    let _ = writeln!(stdout, "peak {}", peak_rss_kib().unwrap_or(0));
    let _ = stdout.flush();
    runtime.block_on(sim.shutdown());
    ExitCode::SUCCESS
}
