//! `tfa-admin`: the operator's tool for phonefactor-tfa.
//!
//! One module per command group; this file holds only the top-level command line and the
//! dispatch. Exit status: 0 when everything checked out, 1 when some input was refused, 2 on a
//! usage or I/O error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agent;
mod audit;
mod ca;
mod call;
mod demo;
mod direct;
mod directory;
mod load;
mod phones;
mod shared_config;
mod stack;
mod tfa_settings;
mod users;

/// The operator's tool for phonefactor-tfa.
#[derive(Debug, Parser)]
#[command(name = "tfa-admin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check and normalise phone numbers.
    #[command(subcommand)]
    Phones(phones::PhonesCommand),
    /// Check direct-mode (PFD) credentials.
    #[command(subcommand)]
    Direct(direct::DirectCommand),
    /// Test the PhoneFactor agent connection.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Place one verification call and print the outcome as JSON.
    Call(call::CallArgs),
    /// Manage imported root certificates.
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// Manage the local password store and users' TFA settings.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// The configuration every portal node follows from Redis: key, publish, show.
    #[command(subcommand)]
    Config(shared_config::ConfigCommand),
    /// Check the first-factor directory settings.
    #[command(subcommand)]
    Directory(directory::DirectoryCommand),
    /// Run one scripted login against an embedded simulator, printing each step.
    ///
    /// Username, password, a phone call answered with `#`: through `Authenticator`, a
    /// temporary local password store and TFA settings file, and PhoneFactor direct mode over
    /// mutual TLS to the simulator on loopback. Exit status: 0 when it signs in, 1 when not,
    /// 2 when the stack cannot be set up.
    Demo(demo::DemoArgs),
    /// Drive many logins through the whole stack against an embedded simulator; figures as
    /// JSON on the last line.
    ///
    /// The stack: `Authenticator` with in-memory stores, a temporary local password store
    /// with one user per concurrent login, hashed with a cheap test cost (argon2id, 64 KiB,
    /// one pass, so hashing does not dominate), and PhoneFactor direct mode over mutual TLS
    /// to the simulator on loopback, whose phones answer `#` after --answer-after. Lockout
    /// per address and call limits are lifted (every login comes from 127.0.0.1 and calls
    /// one number); everything else is the default policy.
    ///
    /// JSON fields: signed_in, failed, wall_ms, logins_per_s, p50_ms and p99_ms (time from
    /// username to signed in beyond the answer delay), peak_rss_mb (VmHWM of this process),
    /// and the run's settings. A progress bar is drawn on a terminal, nothing when piped.
    /// When the sockets of all ringing calls would not fit in one process's open-file limit,
    /// the simulator runs as a child process (reported as `simulator`). Exit status: 0 all
    /// signed in, 1 some failed, 2 usage or setup error.
    Load(load::LoadArgs),
    /// The simulator as a child process of `load` (internal).
    #[command(hide = true)]
    LoadSimulator(load::SimulatorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Phones(command) => phones::run(command),
        Command::Direct(command) => direct::run(command),
        Command::Agent(command) => agent::run(command),
        Command::Call(args) => call::run(&args),
        Command::Ca(command) => ca::run(command),
        Command::Users(command) => users::run(command),
        Command::Directory(command) => directory::run(command),
        Command::Config(command) => shared_config::run(command),
        Command::Demo(args) => demo::run(&args),
        Command::Load(args) => load::run(&args),
        Command::LoadSimulator(args) => load::run_simulator(&args),
    }
}
