//! What the web application is told about a login.

use tfa_directory::Username;

use crate::{Login, LoginId, Phase, SecondFactorStatus, Timestamp, UserMessage};

/// Where a login stands, as the application needs to know it to render the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Show the password page.
    AwaitingPassword,
    /// The password is being checked (by another request).
    CheckingPassword,
    /// "We are calling you": wait with [`Authenticator::second_factor`] or poll with
    /// [`Authenticator::poll`].
    ///
    /// [`Authenticator::second_factor`]: crate::Authenticator::second_factor
    /// [`Authenticator::poll`]: crate::Authenticator::poll
    Calling {
        /// When the call times out.
        until: Timestamp,
    },
    /// Logged in: start the application's session.
    Authenticated(Session),
    /// Denied: show the message (generic by design; the reason is in the audit log).
    Denied {
        /// What to tell the user.
        message: UserMessage,
    },
}

impl Progress {
    /// The progress of `login`.
    pub fn of(login: &Login) -> Self {
        match login.phase() {
            Phase::AwaitingUsername | Phase::AwaitingPassword { .. } => Self::AwaitingPassword,
            Phase::VerifyingPassword { .. } => Self::CheckingPassword,
            Phase::AwaitingSecondFactor { deadline, .. } => Self::Calling { until: *deadline },
            Phase::Authenticated {
                username,
                second_factor,
            } => Self::Authenticated(Session {
                login: login.id(),
                username: username.clone(),
                second_factor: second_factor.clone(),
            }),
            Phase::Denied { reason, .. } => Self::Denied {
                message: reason.user_message(),
            },
        }
    }

    /// What to tell the user now.
    pub fn message(&self) -> UserMessage {
        match self {
            Self::AwaitingPassword | Self::CheckingPassword => UserMessage::EnterPassword,
            Self::Calling { until } => UserMessage::Calling { until: *until },
            Self::Authenticated(_) => UserMessage::Welcome,
            Self::Denied { message } => *message,
        }
    }

    /// True once the login has ended, either way.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Authenticated(_) | Self::Denied { .. })
    }
}

/// A successful login: who, and how the second factor was passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    login: LoginId,
    username: Username,
    second_factor: SecondFactorStatus,
}

impl Session {
    /// The login that succeeded.
    pub fn login(&self) -> LoginId {
        self.login
    }

    /// The user's canonical name.
    pub fn username(&self) -> &Username {
        &self.username
    }

    /// How the second factor was passed.
    pub fn second_factor(&self) -> &SecondFactorStatus {
        &self.second_factor
    }

    /// True when the second factor was skipped because its service was down and the user's
    /// group fails open: the application must mark the session so.
    pub fn second_factor_skipped(&self) -> bool {
        matches!(self.second_factor, SecondFactorStatus::Skipped { .. })
    }
}
