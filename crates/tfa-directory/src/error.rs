//! The one error type of the crate.

use std::path::PathBuf;

/// A boxed cause kept behind an error, for `#[source]`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a first-factor check or a directory operation did not succeed.
///
/// The variants say what the caller must do:
///
/// - [`BadCredentials`](Self::BadCredentials) and [`UnknownUser`](Self::UnknownUser) are
///   told apart only for the audit log. **Callers must answer the user identically for both**
///   (same message, same status, same delay), or the login page tells attackers which
///   usernames exist. [`DirectoryError::is_credential_failure`] groups them.
/// - The account variants (disabled, locked, expired, must change, not permitted now or here)
///   mean the password was right or the directory refused the account itself; deny, and show
///   a message only where policy allows.
/// - [`Unreachable`](Self::Unreachable) means nobody can be checked right now: deny (fail
///   closed), never count it as a wrong password, retry later.
/// - [`Misconfiguration`](Self::Misconfiguration) and the store variants need an operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The password does not match (or was empty, which is refused before any bind).
    #[error("wrong username or password")]
    BadCredentials,
    /// No such user. Internal only: answer the user exactly as for [`Self::BadCredentials`].
    #[error("no such user")]
    UnknownUser,
    /// The account is disabled (AD `userAccountControl` flag or sub-code 533, the local
    /// store's `enabled = false`, the configured LDAP disabled attribute).
    #[error("account disabled")]
    AccountDisabled,
    /// The account is locked out after too many failed logins (AD sub-code 775).
    #[error("account locked")]
    AccountLocked,
    /// The account itself has expired (AD sub-code 701).
    #[error("account expired")]
    AccountExpired,
    /// The password has expired (AD sub-code 532).
    #[error("password expired")]
    PasswordExpired,
    /// The password must be changed before the next login (AD sub-code 773).
    #[error("password must be changed")]
    PasswordMustChange,
    /// Logging in is not permitted at this time of day (AD sub-code 530).
    #[error("login not permitted at this time")]
    NotPermittedNow,
    /// Logging in is not permitted from this workstation (AD sub-code 531).
    #[error("login not permitted from this workstation")]
    NotPermittedHere,
    /// The directory could not be reached or failed while answering. Never a bad password.
    #[error("directory {server} unreachable or failing")]
    Unreachable {
        /// The server as configured (URL) or the store path.
        server: String,
        /// What went wrong on the wire.
        #[source]
        source: BoxError,
    },
    /// The configuration cannot work (bad URL, filter, template, service account refused,
    /// ambiguous search result).
    #[error("directory misconfigured: {reason}")]
    Misconfiguration {
        /// What is wrong, naming the setting.
        reason: String,
        /// The underlying cause, where there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A username is not acceptable (empty, too long, control characters).
    #[error("invalid username {value:?}: {reason}")]
    InvalidUsername {
        /// The username as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An admin operation named a user that is not in the local store.
    #[error("user {username:?} is not in the store")]
    NoSuchUser {
        /// The username as given.
        username: String,
    },
    /// An admin operation tried to add a user that already exists.
    #[error("user {username:?} already exists")]
    UserExists {
        /// The username as given.
        username: String,
    },
    /// A new password was empty.
    #[error("empty password for user {username:?}")]
    EmptyPassword {
        /// The user whose password was empty.
        username: String,
    },
    /// A phone number given to an admin operation does not parse.
    #[error("phone number {raw:?} for user {username:?} does not parse")]
    InvalidPhone {
        /// The user concerned.
        username: String,
        /// The value as given.
        raw: String,
        /// Why it does not parse.
        #[source]
        source: tfa_phone::PhoneError,
    },
    /// The local store file could not be read or written.
    #[error("password store {path}: i/o failed")]
    StoreIo {
        /// The store file.
        path: PathBuf,
        /// The i/o error.
        #[source]
        source: std::io::Error,
    },
    /// The local store file is not a valid store.
    #[error("password store {path} is corrupt: {reason}")]
    StoreCorrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The parse error, where there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// Argon2 parameters are out of range, or hashing failed.
    #[error("password hashing failed: {reason}")]
    Hashing {
        /// What failed.
        reason: String,
    },
    /// A configuration file could not be read or parsed.
    #[error("configuration file {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
}

impl DirectoryError {
    /// True for the two outcomes a user must not be able to tell apart: wrong password and
    /// unknown user. Answer both with the same message, and count both towards lockout.
    pub fn is_credential_failure(&self) -> bool {
        matches!(self, Self::BadCredentials | Self::UnknownUser)
    }

    /// True when the directory itself refused this account (disabled, locked, expired, must
    /// change, not permitted now or here): the password check was not the reason.
    pub fn is_account_problem(&self) -> bool {
        matches!(
            self,
            Self::AccountDisabled
                | Self::AccountLocked
                | Self::AccountExpired
                | Self::PasswordExpired
                | Self::PasswordMustChange
                | Self::NotPermittedNow
                | Self::NotPermittedHere
        )
    }

    /// True when nobody could be checked (directory down, store unreadable, configuration
    /// wrong): fail closed and retry later; never count it against the user.
    pub fn is_system_failure(&self) -> bool {
        !self.is_credential_failure() && !self.is_account_problem()
    }

    pub(crate) fn unreachable(server: &str, source: impl Into<BoxError>) -> Self {
        Self::Unreachable {
            server: server.to_owned(),
            source: source.into(),
        }
    }

    pub(crate) fn misconfigured(reason: impl Into<String>) -> Self {
        Self::Misconfiguration {
            reason: reason.into(),
            source: None,
        }
    }
}
