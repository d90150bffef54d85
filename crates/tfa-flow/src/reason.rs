//! Why a login ended as it did: the detailed reason for the audit log, and the generic message
//! shown to the user, kept apart so that the user never learns more than policy allows.

use std::fmt;

use tfa_phone::NumberKind;

use crate::{Denial, Timestamp};

/// A first-factor failure that counts towards the password lockout. The two are told apart
/// only in the audit log; the user sees the same message for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialFailure {
    /// The password was wrong.
    BadPassword,
    /// There is no such user.
    UnknownUser,
}

/// The directory refused the account itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AccountProblem {
    /// Disabled.
    Disabled,
    /// Locked by the directory's own lockout.
    Locked,
    /// The account has expired.
    Expired,
    /// The password has expired or must be changed.
    PasswordChangeRequired,
    /// Not permitted at this time or from this workstation.
    NotPermitted,
}

impl fmt::Display for AccountProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disabled => "account disabled",
            Self::Locked => "account locked by the directory",
            Self::Expired => "account expired",
            Self::PasswordChangeRequired => "password expired or must be changed",
            Self::NotPermitted => "not permitted at this time or from this workstation",
        })
    }
}

/// Why a user with TFA enforced has no number that may be called.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NoPhone {
    /// The directory and phone book hold no number for the user.
    Missing,
    /// The stored value does not parse as a phone number.
    Unparseable {
        /// Why it does not parse.
        reason: String,
    },
}

impl fmt::Display for NoPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no phone number on record"),
            Self::Unparseable { reason } => {
                write!(f, "phone number on record does not parse: {reason}")
            }
        }
    }
}

/// The rule that refused to place a call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CallRule {
    /// The number's country calling code is not on the allow-list.
    CountryNotAllowed {
        /// The refused country calling code.
        country_code: u16,
    },
    /// Numbers of this kind (premium rate, shared cost, ...) are never called.
    NumberKindDenied {
        /// The refused kind.
        kind: NumberKind,
    },
    /// A call to this user is already outstanding (one at a time).
    OutstandingCall,
    /// Too many calls to this user in the window.
    UserRate {
        /// Calls allowed per window.
        limit: u32,
        /// The window, in seconds.
        window_secs: u64,
    },
    /// Too many calls to this number in the window.
    NumberRate {
        /// Calls allowed per window.
        limit: u32,
        /// The window, in seconds.
        window_secs: u64,
    },
    /// Too many calls to this country in the window.
    CountryRate {
        /// The country calling code.
        country_code: u16,
        /// Calls allowed per window.
        limit: u32,
        /// The window, in seconds.
        window_secs: u64,
    },
    /// Recent calls went unanswered or were denied: the next one waits (push-fatigue
    /// defence).
    FatigueDelay {
        /// When a call may be placed again.
        until: Timestamp,
    },
}

impl fmt::Display for CallRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CountryNotAllowed { country_code } => {
                write!(
                    f,
                    "country calling code +{country_code} is not on the allow-list"
                )
            }
            Self::NumberKindDenied { kind } => write!(f, "{kind} numbers are never called"),
            Self::OutstandingCall => f.write_str("a call to this user is already outstanding"),
            Self::UserRate { limit, window_secs } => {
                write!(f, "more than {limit} calls to this user in {window_secs} s")
            }
            Self::NumberRate { limit, window_secs } => {
                write!(
                    f,
                    "more than {limit} calls to this number in {window_secs} s"
                )
            }
            Self::CountryRate {
                country_code,
                limit,
                window_secs,
            } => {
                write!(
                    f,
                    "more than {limit} calls to +{country_code} in {window_secs} s"
                )
            }
            Self::FatigueDelay { until } => {
                write!(
                    f,
                    "recent calls unanswered or denied: next call not before {until}"
                )
            }
        }
    }
}

/// Why a login was denied, in full, for the audit log. Never shown to the user: see
/// [`DenyReason::user_message`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DenyReason {
    /// Wrong password or unknown user.
    Credentials {
        /// Which of the two (audit only).
        failure: CredentialFailure,
    },
    /// The directory refused the account.
    Account {
        /// What it said.
        problem: AccountProblem,
    },
    /// Too many password failures for this user or address: the password was not checked.
    PasswordStepLocked {
        /// When the lock ends.
        until: Timestamp,
    },
    /// The directory could not be reached: nobody is checked (fail closed).
    DirectoryUnavailable,
    /// A store the decision needs failed: nobody gets in until it is back (fail closed).
    StoreUnavailable,
    /// The user's TFA is blocked after a fraud report, until an administrator unblocks it.
    TfaBlocked,
    /// Too many failed phone steps for this user or address.
    PhoneStepLocked {
        /// When the lock ends.
        until: Timestamp,
    },
    /// TFA is enforced and the user has no number that may be called.
    NoUsablePhone {
        /// What is wrong with the number.
        problem: NoPhone,
    },
    /// A call policy refused to dial.
    CallRefused {
        /// The rule that refused.
        rule: CallRule,
    },
    /// The call was made and did not approve.
    CallDenied {
        /// How it ended.
        denial: Denial,
    },
    /// The second-factor service was unavailable and the user's fail mode is closed.
    SecondFactorUnavailable,
    /// The second-factor service refused the request.
    SecondFactorRefused,
    /// The call was not approved before the ring timeout.
    RingTimeout,
    /// The whole login took longer than allowed.
    LoginTimeout,
    /// The user did not continue in time.
    IdleTimeout,
    /// The login was cancelled by the user or the application.
    Cancelled,
}

impl DenyReason {
    /// The message the user is shown for this reason: generic, revealing a lock only to
    /// someone who gave the right password.
    pub fn user_message(&self) -> UserMessage {
        match self {
            Self::Credentials { .. }
            | Self::PasswordStepLocked { .. }
            | Self::Account {
                problem: AccountProblem::Locked,
            } => UserMessage::LoginFailed,
            Self::Account {
                problem: AccountProblem::PasswordChangeRequired,
            } => UserMessage::PasswordChangeRequired,
            Self::Account { .. } => UserMessage::ContactAdministrator,
            Self::DirectoryUnavailable | Self::SecondFactorUnavailable | Self::StoreUnavailable => {
                UserMessage::TemporarilyUnavailable
            }
            Self::PhoneStepLocked { until } => UserMessage::TooManyAttempts {
                retry_after: *until,
            },
            Self::CallRefused {
                rule: CallRule::FatigueDelay { until },
            } => UserMessage::TooManyAttempts {
                retry_after: *until,
            },
            Self::TfaBlocked
            | Self::NoUsablePhone { .. }
            | Self::CallRefused { .. }
            | Self::SecondFactorRefused => UserMessage::ContactAdministrator,
            Self::CallDenied { .. } => UserMessage::SecondFactorFailed,
            Self::RingTimeout | Self::LoginTimeout | Self::IdleTimeout => UserMessage::TimedOut,
            Self::Cancelled => UserMessage::Cancelled,
        }
    }

    /// True when this denial ended a login whose first factor was verified.
    pub fn after_first_factor(&self) -> bool {
        !matches!(
            self,
            Self::Credentials { .. }
                | Self::Account { .. }
                | Self::PasswordStepLocked { .. }
                | Self::DirectoryUnavailable
        )
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials {
                failure: CredentialFailure::BadPassword,
            } => f.write_str("wrong password"),
            Self::Credentials {
                failure: CredentialFailure::UnknownUser,
            } => f.write_str("unknown user"),
            Self::Account { problem } => write!(f, "directory refused the account: {problem}"),
            Self::PasswordStepLocked { until } => write!(f, "password step locked until {until}"),
            Self::DirectoryUnavailable => f.write_str("directory unavailable (fail closed)"),
            Self::StoreUnavailable => f.write_str("a store failed (fail closed)"),
            Self::TfaBlocked => f.write_str("tfa blocked after a fraud report"),
            Self::PhoneStepLocked { until } => write!(f, "phone step locked until {until}"),
            Self::NoUsablePhone { problem } => write!(f, "tfa enforced and {problem}"),
            Self::CallRefused { rule } => write!(f, "call refused: {rule}"),
            Self::CallDenied { denial } => write!(f, "call denied: {denial}"),
            Self::SecondFactorUnavailable => {
                f.write_str("second-factor service unavailable (fail closed)")
            }
            Self::SecondFactorRefused => f.write_str("second-factor service refused the request"),
            Self::RingTimeout => f.write_str("call not approved before the ring timeout"),
            Self::LoginTimeout => f.write_str("login timed out"),
            Self::IdleTimeout => f.write_str("login idle too long"),
            Self::Cancelled => f.write_str("login cancelled"),
        }
    }
}

/// How an authenticated login got past the second factor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "second-factor", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SecondFactorStatus {
    /// The user approved the call of this attempt.
    Approved {
        /// The approving attempt.
        attempt: crate::AttemptId,
    },
    /// TFA is not enforced for this user.
    NotEnforced,
    /// An administrator's one-time bypass was used.
    Bypassed,
    /// The second-factor service was unavailable and the user's group is configured to fail
    /// open: the session must be marked "second factor skipped".
    Skipped {
        /// The group whose fail-open setting applied.
        group: String,
    },
}

impl fmt::Display for SecondFactorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Approved { attempt } => write!(f, "phone call {attempt} approved"),
            Self::NotEnforced => f.write_str("tfa not enforced"),
            Self::Bypassed => f.write_str("one-time bypass"),
            Self::Skipped { group } => {
                write!(f, "SECOND FACTOR SKIPPED (group \"{group}\" fails open)")
            }
        }
    }
}

/// What to tell the user. Generic by design: see [`DenyReason::user_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "message", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UserMessage {
    /// Ask for the password (shown for every username, known or not).
    EnterPassword,
    /// "We are calling your phone", until this time.
    Calling {
        /// When the call times out.
        until: Timestamp,
    },
    /// Logged in.
    Welcome,
    /// "Wrong username or password" (also for locks the user may not learn of).
    LoginFailed,
    /// "Too many attempts; try again later" (only after the right password).
    TooManyAttempts {
        /// When to try again.
        retry_after: Timestamp,
    },
    /// "The password must be changed."
    PasswordChangeRequired,
    /// "Login is not possible; contact your administrator."
    ContactAdministrator,
    /// "The phone verification did not succeed."
    SecondFactorFailed,
    /// "Login is temporarily unavailable; try again later."
    TemporarilyUnavailable,
    /// "The login took too long; start again."
    TimedOut,
    /// "The login was cancelled."
    Cancelled,
}
