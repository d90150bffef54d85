//! The one error type of the crate.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the portal could not be configured or started.
///
/// Errors that happen while serving a login never reach here: they end the login with a
/// generic failure page (fail closed) and go to the log and the audit file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortalError {
    /// The configuration file cannot be read.
    #[error("cannot read configuration file {path}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or has unknown or missing keys.
    #[error("invalid configuration file {path}: {reason}")]
    InvalidConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        reason: String,
    },
    /// A setting has a value that cannot work.
    #[error("invalid setting {field}: {reason}")]
    InvalidSetting {
        /// The key at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The `--store` value names no store this portal knows.
    #[error("unknown store {value:?}: expected {expected}")]
    UnknownStore {
        /// The value given.
        value: String,
        /// The forms this build accepts.
        expected: &'static str,
    },
    /// A store could not be opened.
    #[error("cannot open the {store} store")]
    Store {
        /// Which store.
        store: &'static str,
        /// Why.
        #[source]
        source: tfa_flow::BoxError,
    },
    /// `[shared_config]` is set but the stores are not in Redis, where the shared
    /// configuration lives.
    #[error(
        "[shared_config] needs --store redis://...: the shared configuration is read from redis, and the store is {store}"
    )]
    SharedConfigNeedsRedis {
        /// The store in use.
        store: &'static str,
    },
    /// The shared configuration cannot be followed: its key cannot be read, or the version
    /// published cannot be read, opened or put in force. The portal does not start (fail
    /// closed).
    #[error("[shared_config]: {what}")]
    SharedConfig {
        /// What could not be done.
        what: &'static str,
        /// Why.
        #[source]
        source: tfa_store_redis::RedisStoreError,
    },
    /// The audit file cannot be opened for appending: the portal refuses to run without it.
    #[error("cannot open audit file {path} for appending")]
    AuditFile {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The PhoneFactor client cannot be built from the configuration.
    #[error("invalid phonefactor settings")]
    PhoneFactor {
        /// What is wrong.
        #[source]
        source: phonefactor::Error,
    },
    /// The first-factor directory cannot be opened.
    #[error("cannot open the first-factor directory")]
    Directory {
        /// What is wrong.
        #[source]
        source: tfa_directory::DirectoryError,
    },
    /// The login flow refused its settings (policy, stores).
    #[error("cannot set up the login flow")]
    Flow {
        /// What is wrong.
        #[source]
        source: tfa_flow::FlowError,
    },
    /// The embedded simulator could not start.
    #[error("cannot start the embedded phonefactor simulator")]
    Simulator {
        /// Why.
        #[source]
        source: phonefactor_sim::SimError,
    },
    /// A temporary directory for the demo could not be made.
    #[error("cannot create a temporary directory for the demo")]
    TempDir {
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key cannot be used.
    #[error("tls: {path}: {reason}")]
    Tls {
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random source failed.
    #[error("random source failed: {reason}")]
    Random {
        /// What the system said.
        reason: String,
    },
}
