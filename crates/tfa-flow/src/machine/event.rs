//! What can happen to a login, and what the machine asks its driver to do.

use tfa_directory::Username;

use crate::{
    AccountProblem, AttemptId, AuditEvent, CallRule, CredentialFailure, FactorOutcome, LoginId,
    Timestamp, UserFacts, UserMessage,
};

/// Something that happened to login `login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The login the event is for; events for another login are rejected.
    pub login: LoginId,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// Event `kind` for login `login`.
    pub fn new(login: LoginId, kind: EventKind) -> Self {
        Self { login, kind }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The user entered a username.
    UsernameEntered {
        /// The name as typed.
        username: Username,
    },
    /// The user entered a password. The password itself never enters the machine: the
    /// driver holds it until [`Action::VerifyPassword`] is done.
    PasswordEntered,
    /// The first factor was checked.
    FirstFactorChecked(FirstFactorResult),
    /// The attempt's call was placed.
    CallPlaced {
        /// The attempt.
        attempt: AttemptId,
    },
    /// The call limits refused the attempt's call when it was about to be placed.
    CallNotPlaced {
        /// The attempt.
        attempt: AttemptId,
        /// The rule that refused it.
        rule: CallRule,
    },
    /// The attempt ended.
    CallEnded {
        /// The attempt.
        attempt: AttemptId,
        /// How.
        outcome: FactorOutcome,
    },
    /// A store the login needs failed: deny (fail closed).
    StoreFailed,
    /// Time passed: expire what is due.
    Tick,
    /// The user or the application gave up.
    Cancel,
}

impl EventKind {
    /// A short name for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UsernameEntered { .. } => "username-entered",
            Self::PasswordEntered => "password-entered",
            Self::FirstFactorChecked(_) => "first-factor-checked",
            Self::CallPlaced { .. } => "call-placed",
            Self::CallNotPlaced { .. } => "call-not-placed",
            Self::CallEnded { .. } => "call-ended",
            Self::StoreFailed => "store-failed",
            Self::Tick => "tick",
            Self::Cancel => "cancel",
        }
    }
}

/// How the first-factor check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstFactorResult {
    /// The password is right; the facts decide the second factor.
    Verified(Box<UserFacts>),
    /// Wrong password or unknown user: counts towards the password lockout.
    Rejected(CredentialFailure),
    /// The directory refused the account.
    AccountRefused(AccountProblem),
    /// The password lockout is in force: the password was not checked.
    Throttled {
        /// When the lock ends.
        until: Timestamp,
    },
    /// The directory could not be asked: fail closed, count nothing.
    Unavailable,
    /// A store the decision needs failed: fail closed, count nothing.
    StoreFailed,
}

/// Which step a lockout counter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The password step.
    Password,
    /// The phone step.
    Phone,
}

/// Something the driver must do for the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Check the password the user entered (after the password lockout check), then send
    /// [`EventKind::FirstFactorChecked`].
    VerifyPassword {
        /// The name as typed.
        username: Username,
    },
    /// Reserve the call under the call limits and place it; send
    /// [`EventKind::CallPlaced`] (or [`EventKind::CallNotPlaced`]), then
    /// [`EventKind::CallEnded`] when it ends, or [`EventKind::Tick`] after `deadline`.
    PlaceCall {
        /// The attempt.
        attempt: AttemptId,
        /// When it times out.
        deadline: Timestamp,
    },
    /// Stop waiting for the attempt's call and release its reservation.
    CancelCall {
        /// The attempt.
        attempt: AttemptId,
    },
    /// Count a failure against the user and the login's source address.
    RecordFailure {
        /// The step that failed.
        step: Step,
        /// The user (as typed for the password step).
        username: Username,
    },
    /// Clear the user's failures for a step after it succeeded.
    ClearFailures {
        /// The step that succeeded.
        step: Step,
        /// The user.
        username: Username,
    },
    /// Block the user's TFA until an administrator unblocks it.
    BlockTfa {
        /// The user.
        username: Username,
    },
    /// Record an audit event.
    Audit(AuditEvent),
    /// Show the user this message.
    Tell(UserMessage),
}
