//! `tfa-admin call`: place one verification call and print its outcome as JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use phonefactor::config::VerifierConfig;
use phonefactor::{CallOutcome, PhoneFactorUsername, VerificationRequest};
use serde::Serialize;
use tfa_phone::PhoneNumber;

/// Arguments of `call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The TOML configuration (`mode = "direct"` or `"agent"`).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The PhoneFactor username.
    #[arg(long, value_name = "NAME")]
    user: String,
    /// The number to call (direct mode): stored format `1 9259249500 292` or `+1 925...`.
    #[arg(long, value_name = "NUMBER")]
    phone: Option<String>,
    /// A proxy `http://[user:pass@]host:port` overriding the configured one.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
}

#[derive(Serialize)]
struct Answer {
    approved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_text: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    elapsed_ms: u64,
}

/// The directory relative paths in a configuration file are read from.
pub(crate) fn config_base(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs `call`: exit 0 when approved, 1 when not (or the outcome is unknown), 2 on a usage
/// or configuration error.
pub(crate) fn run(args: &CallArgs) -> ExitCode {
    let base = config_base(&args.config);
    let prepared = (|| {
        let config = VerifierConfig::from_file(&args.config)?;
        let verifier = config.verifier(&base, args.proxy.as_deref())?;
        let mut request = VerificationRequest::new(PhoneFactorUsername::new(&args.user)?);
        if let Some(phone) = &args.phone {
            let parsed = if phone.trim_start().starts_with('+') {
                PhoneNumber::parse(phone, None)
            } else {
                PhoneNumber::parse_stored(phone)
            };
            let number = parsed.map_err(|e| phonefactor::Error::InvalidSetting {
                field: "--phone",
                reason: e.to_string(),
            })?;
            request = request.with_phone(number);
        }
        Ok::<_, phonefactor::Error>((verifier, request))
    })();
    let (verifier, request) = match prepared {
        Ok(p) => p,
        Err(error) => {
            eprintln!("tfa-admin: {}", crate::call::error_chain(&error));
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = crate::call::runtime() else {
        return ExitCode::from(2);
    };
    let started = Instant::now();
    let result = runtime.block_on(verifier.verify(&request));
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let answer = match &result {
        Ok(outcome) => Answer {
            approved: outcome.is_approved(),
            status: Some(outcome.status().code()),
            status_text: Some(outcome.status_text()),
            outcome: Some(describe(outcome)),
            error: None,
            elapsed_ms,
        },
        Err(error) => Answer {
            approved: false,
            status: None,
            status_text: None,
            outcome: None,
            error: Some(crate::call::error_chain(error)),
            elapsed_ms,
        },
    };
    match serde_json::to_string(&answer) {
        Ok(line) => println!("{line}"),
        Err(error) => {
            eprintln!("tfa-admin: {error}");
            return ExitCode::from(2);
        }
    }
    if answer.approved {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn describe(outcome: &CallOutcome) -> String {
    match outcome {
        CallOutcome::Approved { how, .. } => format!("approved: {how:?}"),
        CallOutcome::Denied { reason, .. } => format!("denied: {reason:?}"),
        CallOutcome::Unreachable { reason, .. } => format!("unreachable: {reason:?}"),
        CallOutcome::Rejected { reason, .. } => format!("rejected: {reason:?}"),
        other => other.to_string(),
    }
}

/// An error and its causes on one line, as `a: b: c` (our errors never repeat their source).
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        // Some libraries' errors (redis, io wrappers) print their cause in their own
        // message as well: say it once.
        let message = s.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = s.source();
    }
    text
}

/// A single-threaded runtime for one network command; reports on failure.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(error) => {
            eprintln!("tfa-admin: cannot start the async runtime: {error}");
            None
        }
    }
}
