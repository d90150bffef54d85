//! `tfa-admin ca ...`: the trust store of imported root certificates (the product's
//! `importPhoneFactorCert`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Args, Subcommand};
use phonefactor::{CertificateInfo, load_certificates};

/// Commands on the trust store.
#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Validate PEM or DER certificates (a chain or a lone self-signed certificate) and add
    /// them to the trust directory, printing subject, issuer, fingerprint and validity. A leaf
    /// that is not a CA is refused unless it is self-signed and `--allow-self-signed-leaf` is
    /// given. Importing the same certificate again changes nothing. Exits 0 when every file
    /// was imported, 1 when any was refused, 2 on an I/O error.
    Import(ImportArgs),
}

/// Arguments of `ca import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The trust directory the configuration points at (`trust_store`).
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Accept a self-signed server (leaf) certificate, as agents often have.
    #[arg(long)]
    allow_self_signed_leaf: bool,
    /// Certificate files (PEM, one or several certificates, or DER).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Runs a `ca` command.
pub(crate) fn run(command: CaCommand) -> ExitCode {
    match command {
        CaCommand::Import(args) => import(&args),
    }
}

fn import(args: &ImportArgs) -> ExitCode {
    if let Err(error) = std::fs::create_dir_all(&args.store) {
        eprintln!("tfa-admin: cannot create {}: {error}", args.store.display());
        return ExitCode::from(2);
    }
    let mut refused = false;
    for file in &args.files {
        match import_file(file, &args.store, args.allow_self_signed_leaf) {
            Ok(()) => {}
            Err(Failure::Refused(why)) => {
                eprintln!("tfa-admin: {}: {why}", file.display());
                refused = true;
            }
            Err(Failure::Io(why)) => {
                eprintln!("tfa-admin: {why}");
                return ExitCode::from(2);
            }
        }
    }
    if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

enum Failure {
    Refused(String),
    Io(String),
}

fn import_file(file: &Path, store: &Path, allow_leaf: bool) -> Result<(), Failure> {
    let certs = load_certificates(file).map_err(|e| match e {
        phonefactor::Error::MissingFile { .. } | phonefactor::Error::ReadFile { .. } => {
            Failure::Io(crate::call::error_chain(&e))
        }
        other => Failure::Refused(crate::call::error_chain(&other)),
    })?;
    // Check all before writing any, so a refused chain leaves the store unchanged.
    let mut checked = Vec::new();
    for cert in &certs {
        let info = CertificateInfo::of(cert.as_ref())
            .ok_or_else(|| Failure::Refused("not an X.509 certificate".into()))?;
        let trusted_kind = info.is_ca || (info.self_signed && allow_leaf);
        if !trusted_kind {
            let why = if info.self_signed {
                "a self-signed leaf certificate; pass --allow-self-signed-leaf to trust it"
            } else {
                "a leaf certificate issued by a CA; import that CA's certificate instead"
            };
            return Err(Failure::Refused(format!("{} is {why}", info.subject)));
        }
        checked.push((cert, info));
    }
    for (cert, info) in checked {
        let name = info.fingerprint.to_string().replace(':', "").to_lowercase();
        let path = store.join(format!("{name}.pem"));
        let state = if path.exists() {
            "already present"
        } else {
            std::fs::write(&path, certificate_pem(cert.as_ref()))
                .map_err(|e| Failure::Io(format!("cannot write {}: {e}", path.display())))?;
            "imported"
        };
        println!("{state}: {}", path.display());
        println!("  subject:     {}", info.subject);
        println!("  issuer:      {}", info.issuer);
        println!("  sha-256:     {}", info.fingerprint);
        println!(
            "  valid:       {} to {}{}",
            info.not_before,
            info.not_after,
            if info.valid_now {
                ""
            } else {
                " (NOT VALID NOW)"
            }
        );
    }
    Ok(())
}

/// A DER certificate as PEM text (base64 in lines of 64, with its header and footer).
pub(crate) fn certificate_pem(der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
