//! The simulator's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not start, write its files or do what its handle was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A certificate or key could not be generated.
    #[error("cannot generate the {what}")]
    Pki {
        /// Which certificate or key.
        what: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file or directory could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done ("write", "read", "create directory").
        action: &'static str,
        /// The path at fault.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS configuration could not be built from the generated certificates.
    #[error("cannot build the {what} TLS configuration")]
    Tls {
        /// Which listener.
        what: &'static str,
        /// The cause.
        #[source]
        source: rustls::Error,
    },
    /// A scenario or directory file is not valid TOML of the expected shape.
    #[error("invalid simulator file {path}: {reason}")]
    File {
        /// The file at fault (`<string>` when parsed from memory).
        path: PathBuf,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A scenario string is not one the simulator knows (`pound`, `pin:1234`, ...).
    #[error(
        "unknown scenario {0:?} (expected pound, pin:DIGITS, digits-no-pound:DIGITS, silence, hang-up, fraud, invalid-input, busy, no-answer, not-in-service, carrier-failure or manual)"
    )]
    UnknownScenario(String),
    /// No call with this id is ringing.
    #[error("no ringing call has id {0}")]
    NotRinging(u64),
    /// No license with these keys exists in the simulator.
    #[error("the simulator has no license {0}")]
    UnknownLicense(String),
    /// Waiting for something the simulator should have done took too long.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

impl SimError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn pki(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Pki {
            what,
            source: Box::new(source),
        }
    }
}
