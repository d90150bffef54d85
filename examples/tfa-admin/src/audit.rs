//! The audit trail of `users tfa` changes: one JSON line per change, in the login portal's
//! audit format (`severity`, `message`, then the [`AuditEvent`] as `tfa-flow` serialises it),
//! so that administrative changes and logins can be read from one file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use tfa_directory::Username;
use tfa_flow::{AuditEvent, AuditKind, Severity, Timestamp};

/// `--audit FILE` and `--by NAME`, shared by every command that changes settings.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Append one audit event per change to this file (JSON lines, the login portal's audit
    /// format). Nothing is changed when the file cannot be opened for appending.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Who makes the change, for the audit trail (default: the `USER` environment variable,
    /// else `tfa-admin`).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

impl AuditArgs {
    /// Who makes the change.
    pub(crate) fn operator(&self) -> String {
        self.by
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .map(|by| by.trim().to_owned())
            .filter(|by| !by.is_empty())
            .unwrap_or_else(|| "tfa-admin".to_owned())
    }

    /// Opens the audit file for appending, before anything is changed; `None` without
    /// `--audit`. The error is the message to print.
    pub(crate) fn open(&self) -> Result<Option<AuditFile>, String> {
        let Some(path) = &self.audit else {
            return Ok(None);
        };
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(|file| {
                Some(AuditFile {
                    path: path.clone(),
                    file,
                })
            })
            .map_err(|e| {
                format!(
                    "cannot open the audit file {} ({e}); nothing changed",
                    path.display()
                )
            })
    }
}

/// An audit file open for appending.
#[derive(Debug)]
pub(crate) struct AuditFile {
    path: PathBuf,
    file: File,
}

/// One line of the file.
#[derive(Serialize)]
struct Line<'a> {
    severity: Severity,
    message: String,
    #[serde(flatten)]
    event: &'a AuditEvent,
}

impl AuditFile {
    /// Appends one event about `user` and syncs it to disk. The error is the message to print.
    pub(crate) fn record(
        &mut self,
        at: Timestamp,
        user: &Username,
        kind: AuditKind,
    ) -> Result<(), String> {
        let event = AuditEvent {
            at,
            login: None,
            user: Some(user.clone()),
            source: None,
            kind,
        };
        let line = Line {
            severity: event.kind.severity(),
            message: event.kind.to_string(),
            event: &event,
        };
        let mut text = serde_json::to_string(&line).map_err(|e| self.failed(&e))?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.failed(&e))
    }

    fn failed(&self, error: &dyn std::fmt::Display) -> String {
        format!(
            "the change is made but its audit event could not be written to {}: {error}",
            self.path().display()
        )
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
