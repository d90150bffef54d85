//! `tfa-admin users`: manage the local password store and users' TFA settings.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tfa_directory::{HashParams, ImportOptions, LocalDirectory};
use tfa_phone::Region;

/// Commands on the local password store and the TFA settings file.
#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Import users from a CSV file into a local password store (created if missing).
    ///
    /// The header names the columns: `username`, `password` (required), and any of `phone`,
    /// `display_name`, `email`, `phonefactor_username`, `groups` (`;`-separated), `enabled`.
    /// Every bad row is reported with its line; nothing is written if any row is bad, unless
    /// `--skip-bad` is given. Exit status: 0 all imported, 1 some rows refused, 2 usage or
    /// I/O error.
    Import(ImportArgs),
    /// Per-user TFA settings: enable or disable TFA in bulk, list, unblock, bypass. These
    /// live in the TFA settings file, not in the password store.
    #[command(subcommand)]
    Tfa(crate::tfa_settings::TfaCommand),
}

/// Arguments of `users import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The local password store (JSON; created if missing). Not the TFA settings file.
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
    /// The CSV file to import.
    #[arg(value_name = "CSV")]
    csv: PathBuf,
    /// Import the good rows even if some are bad.
    #[arg(long)]
    skip_bad: bool,
    /// Read phone numbers without a country code as numbers of this region (e.g. US).
    #[arg(long, value_name = "CC")]
    default_region: Option<String>,
}

/// Runs a `users` command.
pub(crate) fn run(command: UsersCommand) -> ExitCode {
    match command {
        UsersCommand::Import(args) => import(&args),
        UsersCommand::Tfa(command) => crate::tfa_settings::run(command),
    }
}

fn import(args: &ImportArgs) -> ExitCode {
    let mut options = ImportOptions::new();
    if let Some(code) = &args.default_region {
        match Region::new(code) {
            Ok(region) => options = options.default_region(region),
            Err(e) => {
                eprintln!("tfa-admin: --default-region {code:?}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if args.skip_bad {
        options = options.skip_bad_rows();
    }
    let csv = match std::fs::File::open(&args.csv) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("tfa-admin: cannot open {}: {e}", args.csv.display());
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = crate::call::runtime() else {
        return ExitCode::from(2);
    };
    let result = runtime.block_on(async {
        let store = LocalDirectory::open_or_create(&args.store, HashParams::default()).await?;
        store.import_csv(csv, &options).await
    });
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("tfa-admin: {}", crate::directory::chain(&e));
            return ExitCode::from(2);
        }
    };
    for row in &report.errors {
        eprintln!(
            "{}: {}: {}",
            args.csv.display(),
            row,
            crate::directory::chain(&row.error)
        );
    }
    if report.written {
        println!(
            "imported {} user(s) into {}",
            report.added.len(),
            args.store.display()
        );
    } else if report.errors.is_empty() {
        println!("no users to import");
    } else {
        println!(
            "nothing written: {} bad row(s); fix them or pass --skip-bad",
            report.errors.len()
        );
    }
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
