//! The seam between the login flow and the directories.

use async_trait::async_trait;
use secrecy::SecretString;

use crate::{DirectoryError, Identity, UserRecord, Username};

/// Checks a username and password (the first factor) and looks users up.
///
/// Implemented by [`LocalDirectory`](crate::LocalDirectory),
/// [`LdapDirectory`](crate::LdapDirectory) and [`ActiveDirectory`](crate::ActiveDirectory);
/// used as `Arc<dyn FirstFactor>` by the login flow.
///
/// Errors follow [`DirectoryError`]: a wrong password and an unknown user are different
/// variants for the audit log only, and must reach the user as the same answer; a directory
/// outage is [`DirectoryError::Unreachable`], never a wrong password.
#[async_trait]
pub trait FirstFactor: Send + Sync + std::fmt::Debug {
    /// Verifies `password` for `username`. An empty password is always
    /// [`DirectoryError::BadCredentials`], checked before the directory is asked.
    async fn verify(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError>;

    /// Looks a user up without a password. `Ok(None)` when there is no such user.
    async fn lookup(&self, username: &Username) -> Result<Option<UserRecord>, DirectoryError>;
}
