//! `tfa-admin directory`: check the first-factor backend's settings against the directory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use secrecy::SecretString;
use tfa_directory::{FirstFactorConfig, PhoneField, UserRecord, Username};

/// Commands on the first-factor directory.
#[derive(Debug, Subcommand)]
pub(crate) enum DirectoryCommand {
    /// Look a user up with the settings of a first-factor TOML file and print the record;
    /// with `--password-env`, also verify the user's password.
    ///
    /// Exit status: 0 found (and password verified), 1 no such user or password refused,
    /// 2 settings, directory or usage error.
    Check(CheckArgs),
}

/// Arguments of `directory check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The first-factor settings (TOML, see docs/configuration.md, "First factor").
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The user to look up, as they would type it at login.
    #[arg(long, value_name = "NAME")]
    user: String,
    /// Also verify the password held in this environment variable (never on the command
    /// line, where other users could read it).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

/// Runs a `directory` command.
pub(crate) fn run(command: DirectoryCommand) -> ExitCode {
    match command {
        DirectoryCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> ExitCode {
    let username = match Username::new(&args.user) {
        Ok(name) => name,
        Err(e) => {
            eprintln!("tfa-admin: --user: {e}");
            return ExitCode::from(2);
        }
    };
    let password = match &args.password_env {
        None => None,
        Some(var) => match std::env::var(var) {
            Ok(value) => Some(SecretString::from(value)),
            Err(_) => {
                eprintln!("tfa-admin: --password-env: environment variable {var} is not set");
                return ExitCode::from(2);
            }
        },
    };
    let config = match FirstFactorConfig::from_file(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tfa-admin: {}", chain(&e));
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = crate::call::runtime() else {
        return ExitCode::from(2);
    };
    runtime.block_on(async {
        let directory = match config.open().await {
            Ok(directory) => directory,
            Err(e) => {
                eprintln!("tfa-admin: {}", chain(&e));
                return ExitCode::from(2);
            }
        };
        match directory.lookup(&username).await {
            Ok(Some(record)) => print_record(&record),
            Ok(None) => {
                println!("user {:?} not found", username.as_str());
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!(
                    "tfa-admin: lookup of {:?} failed: {}",
                    username.as_str(),
                    chain(&e)
                );
                return ExitCode::from(2);
            }
        }
        let Some(password) = password else {
            return ExitCode::SUCCESS;
        };
        match directory.verify(&username, &password).await {
            Ok(_) => {
                println!("password: verified");
                ExitCode::SUCCESS
            }
            Err(e) if !e.is_system_failure() => {
                println!("password: refused ({e})");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("tfa-admin: password check failed: {}", chain(&e));
                ExitCode::from(2)
            }
        }
    })
}

fn print_record(record: &UserRecord) {
    println!("username: {}", record.username());
    if let Some(dn) = record.entry_dn() {
        println!("dn: {dn}");
    }
    if let Some(name) = record.display_name() {
        println!("display name: {name}");
    }
    if let Some(mail) = record.email() {
        println!("e-mail: {mail}");
    }
    match record.phone() {
        Some(PhoneField::Parsed(number)) => {
            println!("phone: {} ({})", number.stored(), number.e164());
        }
        Some(PhoneField::Unparsed { raw, error }) => {
            println!("phone: {raw:?} does not parse: {error}");
        }
        Some(_) => println!("phone: (unrecognised form)"),
        None => println!("phone: none"),
    }
    println!("phonefactor username: {}", record.phonefactor_username());
    for group in record.groups() {
        println!("group: {group}");
    }
    println!(
        "enabled: {}",
        if record.is_enabled() { "yes" } else { "no" }
    );
}

/// An error and its causes, `: `-separated, for one line of output.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
