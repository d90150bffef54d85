//! The one error type of the crate.

use std::path::PathBuf;

use tfa_flow::FlowError;

/// A boxed cause kept behind an error, for `#[source]`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the Redis stores or the shared configuration could not do what was asked.
///
/// The store traits report these as [`FlowError::Store`], whose source is this error, so the
/// [`Authenticator`](tfa_flow::Authenticator) fails closed; the message names the operation.
/// URLs in messages never carry the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a usable Redis URL: fix the setting.
    #[error("invalid redis url {url}: {reason}")]
    InvalidUrl {
        /// The URL, password removed.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The namespace cannot be used as a key prefix: fix the setting.
    #[error("invalid redis namespace {namespace:?}: {reason}")]
    InvalidNamespace {
        /// The namespace given (cut to 80 characters).
        namespace: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Redis could not be reached when connecting: start it, or fix the URL.
    #[error("cannot connect to redis at {url}")]
    Unavailable {
        /// The URL, password removed.
        url: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A command failed (connection lost, timeout, server error): nobody gets in until
    /// Redis answers again.
    #[error("redis {operation} failed")]
    Command {
        /// What was being done (`session compare-and-swap`, `counter try_hold`, ...).
        operation: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A stored value cannot be read (written by something else, or corrupt).
    #[error("redis {operation}: value at {key} unreadable: {reason}")]
    Corrupt {
        /// What was being done.
        operation: &'static str,
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The configuration key file cannot be read.
    #[error("cannot read the configuration key file {path}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration key file does not hold a key.
    #[error("configuration key file {path} holds no key: {reason}")]
    InvalidKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// A sealed secret of the shared configuration does not open with this node's key: the
    /// node holds another key than the publisher, or the document was altered. The secret is
    /// never used unsealed.
    #[error(
        "cannot open secret {field} of configuration version {version}: wrong configuration key, or the document was altered"
    )]
    WrongKey {
        /// The secret's field.
        field: &'static str,
        /// The configuration version.
        version: u64,
    },
    /// The shared configuration document cannot be read or applied.
    #[error("configuration version {version} unusable: {field}: {reason}")]
    ConfigInvalid {
        /// The configuration version (0 while publishing).
        version: u64,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The second factor described by the shared configuration cannot be built.
    #[error("configuration version {version}: cannot build the {mode} client")]
    SecondFactor {
        /// The configuration version.
        version: u64,
        /// `agent` or `direct`.
        mode: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The operating system's random source failed: no nonce can be made.
    #[error("random source failed: {reason}")]
    Random {
        /// What the system said.
        reason: String,
    },
    /// Nothing has been published in this namespace yet.
    #[error("no configuration published in namespace {namespace}")]
    NoConfig {
        /// The namespace.
        namespace: String,
    },
}

impl RedisStoreError {
    pub(crate) fn command(operation: &'static str, source: redis::RedisError) -> Self {
        Self::Command {
            operation,
            source: Box::new(source),
        }
    }

    /// As the store traits report it: [`FlowError::Store`] for `store`.
    pub(crate) fn into_flow(self, store: &'static str) -> FlowError {
        FlowError::Store {
            store,
            source: Box::new(self),
        }
    }
}
