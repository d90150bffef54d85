//! The state of one login: serialisable and versioned, so a login begun on one node can be
//! stored and finished on another.

use std::net::IpAddr;

use tfa_directory::Username;

use crate::{
    AttemptId, CallTarget, DenyReason, FailMode, FlowError, LoginId, SecondFactorStatus, Timestamp,
};

/// Where a login stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Phase {
    /// Nothing entered yet.
    AwaitingUsername,
    /// A username was entered (known or not: the answer is the same).
    AwaitingPassword {
        /// The name as typed.
        username: Username,
    },
    /// The password is being checked.
    VerifyingPassword {
        /// The name as typed.
        username: Username,
    },
    /// A second-factor attempt is being placed or is ringing.
    AwaitingSecondFactor {
        /// The canonical name.
        username: Username,
        /// The current attempt; outcomes of any other are stale.
        attempt: AttemptId,
        /// When the attempt times out.
        deadline: Timestamp,
        /// True once the call was placed.
        placed: bool,
        /// The number called, where the application knows it.
        target: Option<CallTarget>,
        /// What to do if the service turns out to be unavailable.
        fail_mode: FailMode,
    },
    /// Logged in.
    Authenticated {
        /// The canonical name.
        username: Username,
        /// How the second factor was passed.
        second_factor: SecondFactorStatus,
    },
    /// Denied; final.
    Denied {
        /// The user, where one was named.
        username: Option<Username>,
        /// Why, for the audit log.
        reason: DenyReason,
    },
}

impl Phase {
    /// A short name for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AwaitingUsername => "awaiting-username",
            Self::AwaitingPassword { .. } => "awaiting-password",
            Self::VerifyingPassword { .. } => "verifying-password",
            Self::AwaitingSecondFactor { .. } => "awaiting-second-factor",
            Self::Authenticated { .. } => "authenticated",
            Self::Denied { .. } => "denied",
        }
    }
}

/// The version of the stored form; serialised as the number `1`, and anything else is
/// refused when read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct FormatV1;

/// The stored-form version this build writes and reads.
pub const STATE_VERSION: u16 = 1;

impl serde::Serialize for FormatV1 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(STATE_VERSION)
    }
}

impl<'de> serde::Deserialize<'de> for FormatV1 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = u16::deserialize(deserializer)?;
        if version == STATE_VERSION {
            Ok(Self)
        } else {
            Err(serde::de::Error::custom(format_args!(
                "unsupported login state version {version}; this build reads version {STATE_VERSION}"
            )))
        }
    }
}

/// One login: who, from where, since when, and its [`Phase`]. Changed only by
/// [`Machine::step`](crate::Machine::step).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Login {
    version: FormatV1,
    id: LoginId,
    source: IpAddr,
    started_at: Timestamp,
    last_activity: Timestamp,
    attempts: u32,
    phase: Phase,
}

impl Login {
    /// A new login `id` from `source`, awaiting its username, started at `now`.
    pub fn new(id: LoginId, source: IpAddr, now: Timestamp) -> Self {
        Self {
            version: FormatV1,
            id,
            source,
            started_at: now,
            last_activity: now,
            attempts: 0,
            phase: Phase::AwaitingUsername,
        }
    }

    /// The login's identifier.
    pub fn id(&self) -> LoginId {
        self.id
    }

    /// The address the login came from.
    pub fn source(&self) -> IpAddr {
        self.source
    }

    /// When the login began.
    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    /// When the user last did something.
    pub fn last_activity(&self) -> Timestamp {
        self.last_activity
    }

    /// Where the login stands.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The user, once named (the canonical name once the password was verified).
    pub fn username(&self) -> Option<&Username> {
        match &self.phase {
            Phase::AwaitingUsername => None,
            Phase::AwaitingPassword { username }
            | Phase::VerifyingPassword { username }
            | Phase::AwaitingSecondFactor { username, .. }
            | Phase::Authenticated { username, .. } => Some(username),
            Phase::Denied { username, .. } => username.as_ref(),
        }
    }

    /// True once authenticated or denied: no event changes the login any more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.phase,
            Phase::Authenticated { .. } | Phase::Denied { .. }
        )
    }

    /// The stored form: versioned JSON.
    pub fn to_json(&self) -> Result<String, FlowError> {
        serde_json::to_string(self).map_err(|e| FlowError::StateFormat {
            reason: e.to_string(),
        })
    }

    /// Reads the stored form back; refuses other versions.
    pub fn from_json(json: &str) -> Result<Self, FlowError> {
        serde_json::from_str(json).map_err(|e| FlowError::StateFormat {
            reason: e.to_string(),
        })
    }

    pub(crate) fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
    }

    pub(crate) fn phase_mut(&mut self) -> &mut Phase {
        &mut self.phase
    }

    pub(crate) fn touch(&mut self, now: Timestamp) {
        self.last_activity = self.last_activity.max(now);
    }

    pub(crate) fn next_attempt(&mut self) -> AttemptId {
        self.attempts = self.attempts.saturating_add(1);
        AttemptId::new(self.attempts)
    }
}
