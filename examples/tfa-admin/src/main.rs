//! `tfa-admin`: the operator's tool for phonefactor-tfa.
//!
//! One module per command group; this file holds only the top-level command line and the
//! dispatch. Exit status: 0 when everything checked out, 1 when some input was refused, 2 on a
//! usage or I/O error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agent;
mod ca;
mod call;
mod direct;
mod directory;
mod phones;
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
    /// Manage the local password store.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Check the first-factor directory settings.
    #[command(subcommand)]
    Directory(directory::DirectoryCommand),
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
    }
}
