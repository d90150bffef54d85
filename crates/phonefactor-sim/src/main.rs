//! `phonefactor-sim`: runs the simulator until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use phonefactor_sim::{AgentDirectory, AgentUser, SimFile, Simulator};
use secrecy::SecretString;

/// A stand-in for the retired PhoneFactor services (direct mode and agent mode).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Where direct mode (PFD over mutual TLS) listens; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where the agent's Web Service SDK listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    agent_listen: SocketAddr,
    /// Where the control API and phones page listen (plain HTTP; keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    control_listen: SocketAddr,
    /// Directory for the CA, license directory, passwords and tfa-admin configurations.
    #[arg(long)]
    pki_dir: PathBuf,
    /// Scenario file (TOML): phone scripts, agent accounts, users and applications.
    #[arg(long)]
    scenario: Option<PathBuf>,
}

/// Users for the agent when the scenario file names none: the spec's two examples.
fn demo_directory() -> AgentDirectory {
    AgentDirectory::new()
        .user(AgentUser::standard("jsmith", "1", "9259249500").extension("292"))
        .user(AgentUser::with_pin(
            "akhan",
            "44",
            "7700900123",
            SecretString::from("4821".to_owned()),
        ))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let stop = match signals() {
        Ok(stop) => stop,
        Err(e) => return fail(&e),
    };
    let mut builder = Simulator::builder()
        .direct_listen(args.listen)
        .agent_listen(args.agent_listen)
        .control_listen(args.control_listen)
        .pki_dir(&args.pki_dir);
    match &args.scenario {
        Some(path) => match SimFile::load(path) {
            Ok(file) => {
                let has_users = !file.users.is_empty();
                builder = builder.scenario_file(&file);
                if !has_users {
                    builder = builder.agent_directory(demo_directory());
                }
            }
            Err(e) => return fail(&e),
        },
        None => builder = builder.agent_directory(demo_directory()),
    }
    let sim = match builder.start().await {
        Ok(sim) => sim,
        Err(e) => return fail(&e),
    };
    println!("listening on {}", sim.direct_addr());
    if let Some(addr) = sim.agent_addr() {
        println!(
            "agent listening on {addr} ({})",
            sim.agent_url().unwrap_or_default()
        );
    }
    if let Some(url) = sim.control_url() {
        println!("control listening on {url}");
    }
    println!("pki in {}", sim.pki_dir().display());
    println!("direct config {}", sim.direct_config_path().display());
    if let Some(p) = sim.agent_config_path() {
        println!("agent config {}", p.display());
    }
    stop.await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}

fn fail(e: &dyn std::error::Error) -> ExitCode {
    let mut msg = format!("phonefactor-sim: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    eprintln!("{msg}");
    ExitCode::FAILURE
}

/// Registers SIGINT and SIGTERM handlers at once (before anything is printed, so a signal
/// sent right after the first line is not lost) and returns a future that ends on either.
fn signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}
