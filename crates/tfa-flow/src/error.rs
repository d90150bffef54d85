//! The one error type of the crate.

use crate::LoginId;

/// A boxed cause kept behind an error, for `#[source]`.
pub use crate::factor::BoxError;

/// Why a login operation or an administrative change could not be carried out.
///
/// A login that was *denied* is not an error: it is an `Ok` outcome with a reason. `Err`
/// means the operation itself could not be done; every variant tells the caller what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// No login with this id (never begun, finished and expired, or removed): start again.
    #[error("no login {login}")]
    UnknownLogin {
        /// The id asked for.
        login: LoginId,
    },
    /// The login is not at the step this operation belongs to (e.g. a password submitted
    /// twice): show the login's current page.
    #[error("login {login} cannot {operation} now: {reason}")]
    WrongStep {
        /// The login.
        login: LoginId,
        /// What was attempted.
        operation: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A login id in text form is malformed.
    #[error("invalid login id {value:?}: expected 32 hexadecimal digits")]
    InvalidLoginId {
        /// The text given (cut to 64 characters).
        value: String,
    },
    /// The username is not acceptable (empty, too long, control characters).
    #[error("invalid username")]
    InvalidUsername {
        /// Why.
        #[source]
        source: tfa_directory::DirectoryError,
    },
    /// The operating system's random source failed: no login id can be made.
    #[error("random source failed: {reason}")]
    Random {
        /// What the system said.
        reason: String,
    },
    /// A stored login state cannot be read (corrupt, or written by another version).
    #[error("stored login state unreadable: {reason}")]
    StateFormat {
        /// What is wrong.
        reason: String,
    },
    /// A store failed: nobody gets in until it is back (fail closed).
    #[error("{store} store failed")]
    Store {
        /// Which store.
        store: &'static str,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// The login was changed concurrently too often to apply an update: retry the request.
    #[error("login {login} is busy: concurrent updates")]
    Contended {
        /// The login.
        login: LoginId,
    },
    /// The configuration cannot work: fix it.
    #[error("invalid configuration: {field}: {reason}")]
    Config {
        /// The setting at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}
