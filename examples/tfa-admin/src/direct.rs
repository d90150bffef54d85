//! `tfa-admin direct ...`: direct-mode (PFD) credentials.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use phonefactor::DirectCredentials;
use secrecy::SecretString;

/// Commands on direct-mode credentials.
#[derive(Debug, Subcommand)]
pub(crate) enum DirectCommand {
    /// Load a license directory (`license.xml` + `cert.p12`, or `cert.pem` + `pkey.der|pem`)
    /// and print the certificate's subject, issuer and validity and the license key (masked).
    /// Exits 0 when the credentials are usable, 1 otherwise.
    Check(CheckArgs),
}

/// Arguments of `direct check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The license directory.
    #[arg(long, value_name = "DIR")]
    license_dir: PathBuf,
    /// The environment variable that holds the PKCS#12 ("private key") password.
    #[arg(long, value_name = "VAR")]
    password_env: String,
}

/// Runs a `direct` command.
pub(crate) fn run(command: DirectCommand) -> ExitCode {
    match command {
        DirectCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> ExitCode {
    let Ok(password) = std::env::var(&args.password_env) else {
        eprintln!(
            "tfa-admin: the environment variable {} is not set",
            args.password_env
        );
        return ExitCode::from(2);
    };
    match DirectCredentials::from_license_dir(&args.license_dir, &SecretString::from(password)) {
        Ok(creds) => {
            let cert = creds.certificate();
            println!("license key:  {}", creds.license().masked_license_key());
            println!(
                "group key:    {}",
                if creds.license().group_key().is_empty() {
                    "(none)"
                } else {
                    "(set)"
                }
            );
            println!("subject:      {}", cert.subject);
            println!("issuer:       {}", cert.issuer);
            println!("valid from:   {}", cert.not_before);
            println!("valid until:  {}", cert.not_after);
            println!("sha-256:      {}", cert.fingerprint);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tfa-admin: {}", crate::call::error_chain(&error));
            ExitCode::from(1)
        }
    }
}
