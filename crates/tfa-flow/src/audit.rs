//! Typed audit events: who, from where, what, why, which login. Never a secret.

use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;

use tfa_directory::Username;

use crate::{AttemptId, DenyReason, LoginId, SecondFactorStatus, Timestamp};

/// One decision, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    pub at: Timestamp,
    /// The login it belongs to (none for administrative changes).
    pub login: Option<LoginId>,
    /// The user concerned, as typed or as the directory spells it.
    pub user: Option<Username>,
    /// The address the login came from.
    pub source: Option<IpAddr>,
    /// What happened, and why.
    pub kind: AuditKind,
}

/// How loudly an event should be reported.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Routine.
    Info,
    /// Worth a look: denials, refusals, administrative changes.
    Warning,
    /// Needs a person now: fraud reported, second factor skipped.
    Alert,
}

/// What an audit event records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditKind {
    /// A login began with a username.
    LoginStarted,
    /// The first factor was verified.
    PasswordAccepted,
    /// A call was placed.
    CallPlaced {
        /// The attempt.
        attempt: AttemptId,
        /// The number called, masked (`+1******9500`), where the application knows it.
        number: Option<String>,
    },
    /// An administrator's one-time bypass was used in place of a call.
    BypassUsed {
        /// Why the administrator granted it.
        reason: String,
        /// Who granted it.
        granted_by: String,
    },
    /// The login succeeded.
    Authenticated {
        /// How the second factor was passed.
        second_factor: SecondFactorStatus,
    },
    /// The login was denied.
    Denied {
        /// Why, in full.
        reason: DenyReason,
    },
    /// The second factor was skipped because its service was unavailable and the user's
    /// group fails open. Loud on purpose.
    SecondFactorSkipped {
        /// The group whose fail-open setting applied.
        group: String,
    },
    /// The user reported a call as fraud; their TFA is now blocked.
    FraudAlert {
        /// The attempt reported.
        attempt: AttemptId,
    },
    /// An administrator turned TFA on or off for a user.
    EnforcementChanged {
        /// The new setting (`None`: back to the group and default policy).
        enforced: Option<bool>,
        /// Who changed it.
        by: String,
    },
    /// An administrator granted a one-time bypass.
    BypassGranted {
        /// Until when it may be used.
        until: Timestamp,
        /// Why.
        reason: String,
        /// Who granted it.
        by: String,
    },
    /// An administrator lifted a fraud block.
    Unblocked {
        /// Who lifted it.
        by: String,
    },
}

impl AuditKind {
    /// How loudly to report this event.
    pub fn severity(&self) -> Severity {
        match self {
            Self::LoginStarted | Self::PasswordAccepted | Self::CallPlaced { .. } => Severity::Info,
            Self::Authenticated { second_factor } => match second_factor {
                SecondFactorStatus::Skipped { .. } => Severity::Alert,
                SecondFactorStatus::Bypassed => Severity::Warning,
                _ => Severity::Info,
            },
            Self::Denied { .. }
            | Self::BypassUsed { .. }
            | Self::EnforcementChanged { .. }
            | Self::BypassGranted { .. }
            | Self::Unblocked { .. } => Severity::Warning,
            Self::SecondFactorSkipped { .. } | Self::FraudAlert { .. } => Severity::Alert,
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LoginStarted => f.write_str("login started"),
            Self::PasswordAccepted => f.write_str("password accepted"),
            Self::CallPlaced { attempt, number } => match number {
                Some(n) => write!(f, "call {attempt} placed to {n}"),
                None => write!(f, "call {attempt} placed"),
            },
            Self::BypassUsed { reason, granted_by } => {
                write!(
                    f,
                    "one-time bypass used (granted by {granted_by}: {reason})"
                )
            }
            Self::Authenticated { second_factor } => write!(f, "authenticated ({second_factor})"),
            Self::Denied { reason } => write!(f, "denied: {reason}"),
            Self::SecondFactorSkipped { group } => write!(
                f,
                "SECOND FACTOR SKIPPED: service unavailable and group \"{group}\" fails open"
            ),
            Self::FraudAlert { attempt } => {
                write!(f, "FRAUD REPORTED on call {attempt}; tfa blocked")
            }
            Self::EnforcementChanged { enforced, by } => {
                let setting = match enforced {
                    Some(true) => "on",
                    Some(false) => "off",
                    None => "the default (groups and policy)",
                };
                write!(f, "tfa enforcement set to {setting} by {by}")
            }
            Self::BypassGranted { until, reason, by } => {
                write!(f, "one-time bypass granted by {by} until {until}: {reason}")
            }
            Self::Unblocked { by } => write!(f, "tfa unblocked by {by}"),
        }
    }
}

/// Where audit events go. Called on the request path: keep it quick (queue, don't block).
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event.
    fn record(&self, event: &AuditEvent);
}

/// Sends every audit event to `tracing` under the target `tfa_flow::audit`, at `INFO`,
/// `WARN` or `ERROR` by [`Severity`]. The [`Authenticator`](crate::Authenticator) always does
/// this in addition to its configured sink.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingAuditSink;

impl AuditSink for TracingAuditSink {
    fn record(&self, event: &AuditEvent) {
        let login = event.login.map(|l| l.to_string());
        let user = event.user.as_ref().map(Username::as_str);
        let source = event.source.map(|s| s.to_string());
        match event.kind.severity() {
            Severity::Info => {
                tracing::info!(target: "tfa_flow::audit", at = event.at.unix_millis(), login, user, source, "{}", event.kind);
            }
            Severity::Warning => {
                tracing::warn!(target: "tfa_flow::audit", at = event.at.unix_millis(), login, user, source, "{}", event.kind);
            }
            Severity::Alert => {
                tracing::error!(target: "tfa_flow::audit", at = event.at.unix_millis(), login, user, source, alert = true, "{}", event.kind);
            }
        }
    }
}

/// Keeps audit events in memory, for tests and small deployments that read them back.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAuditSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: &AuditEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountProblem, AttemptId, DenyReason};

    #[test]
    fn messages_read_as_sentences_not_debug_output() {
        let approved = AuditKind::Authenticated {
            second_factor: SecondFactorStatus::Approved {
                attempt: AttemptId::new(1),
            },
        };
        assert_eq!(
            approved.to_string(),
            "authenticated (phone call #1 approved)"
        );
        let off = AuditKind::EnforcementChanged {
            enforced: Some(false),
            by: "admin".to_owned(),
        };
        assert_eq!(off.to_string(), "tfa enforcement set to off by admin");
        let denied = AuditKind::Denied {
            reason: DenyReason::Account {
                problem: AccountProblem::Disabled,
            },
        };
        assert_eq!(
            denied.to_string(),
            "denied: directory refused the account: account disabled"
        );
    }
}
