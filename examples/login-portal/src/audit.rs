//! Audit events as JSON lines appended to a file, one event a line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tfa_flow::{AuditEvent, AuditSink, Severity};

use crate::PortalError;

/// Appends every audit event to a file as one JSON object a line (JSON Lines), flushed
/// before `record` returns.
///
/// Login events are written as `tfa_flow` serialises an [`AuditEvent`], plus a `severity`
/// and a human-readable `message`:
///
/// ```json
/// {"severity":"alert","message":"FRAUD REPORTED on call #1; tfa blocked","at":1764394131123,"login":"5c0f…","user":"alice","source":"127.0.0.1","kind":{"event":"fraud-alert","attempt":1}}
/// ```
///
/// The portal's own events (sign-out, refused forms) have the same top-level keys with a
/// `kind.event` starting with `portal-`.
///
/// When a write fails the sink turns unhealthy ([`JsonLinesAuditSink::is_healthy`]) and
/// stays so; the portal then signs nobody in (fail closed), since it could not record it.
#[derive(Debug)]
pub struct JsonLinesAuditSink {
    path: PathBuf,
    file: Mutex<File>,
    healthy: AtomicBool,
}

/// One line of the file.
#[derive(Serialize)]
struct Line<'a, E: Serialize> {
    severity: Severity,
    message: String,
    #[serde(flatten)]
    event: &'a E,
}

/// An event of the portal itself (not of a login), in the same shape as a login event.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PortalEvent {
    pub(crate) at: u64,
    pub(crate) user: Option<String>,
    pub(crate) source: Option<IpAddr>,
    pub(crate) kind: PortalKind,
}

/// What a portal event records.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub(crate) enum PortalKind {
    /// A signed-in user signed out.
    PortalSignedOut,
    /// A form arrived without the session's anti-forgery token.
    PortalFormRefused {
        /// The form's path.
        path: String,
    },
}

impl PortalEvent {
    pub(crate) fn now(user: Option<String>, source: Option<IpAddr>, kind: PortalKind) -> Self {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        Self {
            at,
            user,
            source,
            kind,
        }
    }
}

impl JsonLinesAuditSink {
    /// Opens `path` for appending, creating it (and not its directory) if missing. Fails
    /// when the file cannot be opened: run without an audit trail is not an option.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PortalError> {
        let path = path.as_ref().to_owned();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| PortalError::AuditFile {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            healthy: AtomicBool::new(true),
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False once a write has failed: the trail has a gap and nobody should be signed in.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    pub(crate) fn record_portal(&self, event: &PortalEvent) {
        let severity = match event.kind {
            PortalKind::PortalSignedOut => Severity::Info,
            PortalKind::PortalFormRefused { .. } => Severity::Warning,
        };
        let message = match &event.kind {
            PortalKind::PortalSignedOut => "signed out".to_owned(),
            PortalKind::PortalFormRefused { path } => {
                format!("form to {path} refused: missing or wrong anti-forgery token")
            }
        };
        tracing::info!(target: "login_portal::audit", user = event.user, source = ?event.source, "{message}");
        self.append(&Line {
            severity,
            message,
            event,
        });
    }

    fn append<E: Serialize>(&self, line: &Line<'_, E>) {
        let mut text = match serde_json::to_vec(line) {
            Ok(text) => text,
            Err(error) => {
                self.fail(&error);
                return;
            }
        };
        text.push(b'\n');
        let written = match self.file.lock() {
            Ok(mut file) => file.write_all(&text).and_then(|()| file.flush()),
            Err(_) => Err(std::io::Error::other("audit file lock poisoned")),
        };
        if let Err(error) = written {
            self.fail(&error);
        }
    }

    fn fail(&self, error: &dyn std::error::Error) {
        self.healthy.store(false, Ordering::Release);
        tracing::error!(path = %self.path.display(), %error, "cannot write the audit file: signing nobody in until restarted");
    }
}

impl AuditSink for JsonLinesAuditSink {
    fn record(&self, event: &AuditEvent) {
        self.append(&Line {
            severity: event.kind.severity(),
            message: event.kind.to_string(),
            event,
        });
    }
}
