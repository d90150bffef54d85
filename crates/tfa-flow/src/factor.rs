//! The second-factor seam: "verify this user out of band and tell me how it ended".
//!
//! PhoneFactor (agent or direct mode) is one implementation; TOTP or others can be added by
//! implementing [`SecondFactor`], without touching the machine, which only ever sees a
//! [`FactorOutcome`].

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use tfa_directory::Username;
use tfa_phone::PhoneNumber;

use crate::{AttemptId, LoginId};

/// A boxed cause kept behind an error, for `#[source]`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How one second-factor attempt ended, as the login machine sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FactorOutcome {
    /// The user approved (answered and pressed `#`, or entered the right PIN).
    Approved,
    /// The attempt was made and did not approve; why, for the audit log and the counters.
    Denied {
        /// What the user or the phone network did.
        denial: Denial,
    },
    /// Nobody could find out: the service was unreachable or failed. Never the user's fault.
    Unavailable,
    /// The service refused the request (unknown account there, bad configuration). Needs an
    /// operator; never the user's fault.
    Refused,
}

/// Why an attempt that was made did not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Denial {
    /// The user answered and refused (hung up without `#`, pressed the deny key).
    UserDenied,
    /// The user answered and entered a wrong PIN.
    WrongPin,
    /// The phone rang and nobody answered.
    NoAnswer,
    /// The line was busy or could not be reached.
    Busy,
    /// The user reported the call as fraud: they did not start this login.
    FraudReported,
    /// Another status the service reported, by its number.
    Other {
        /// The service's status code.
        status: u16,
    },
}

impl Denial {
    /// True for "nobody answered" endings, which feed the push-fatigue delays.
    pub fn is_unanswered(self) -> bool {
        matches!(self, Self::NoAnswer | Self::Busy)
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UserDenied => f.write_str("user denied the call"),
            Self::WrongPin => f.write_str("wrong pin entered"),
            Self::NoAnswer => f.write_str("call not answered"),
            Self::Busy => f.write_str("line busy or unreachable"),
            Self::FraudReported => f.write_str("fraud reported by the user"),
            Self::Other { status } => write!(f, "call ended with status {status}"),
        }
    }
}

/// Whether a second factor needs the application to supply the user's phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumberNeed {
    /// The application must supply it (PhoneFactor direct mode): no number means deny.
    Required,
    /// The service holds numbers itself (PhoneFactor agent mode); a number the application
    /// knows is still checked against the call policies and passed on.
    Optional,
}

/// What a second factor is asked to verify.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FactorRequest {
    /// The login this attempt belongs to.
    pub login: LoginId,
    /// The attempt within the login.
    pub attempt: AttemptId,
    /// The user's canonical login name.
    pub username: Username,
    /// The user's name at the second-factor service (PhoneFactor username).
    pub factor_username: String,
    /// The number to call, where the application knows it.
    pub number: Option<PhoneNumber>,
    /// The address the login came from.
    pub source: IpAddr,
}

impl FactorRequest {
    /// A request to verify `username` (known to the service as `factor_username`) for
    /// attempt `attempt` of login `login`, coming from `source`.
    pub fn new(
        login: LoginId,
        attempt: AttemptId,
        username: Username,
        factor_username: impl Into<String>,
        number: Option<PhoneNumber>,
        source: IpAddr,
    ) -> Self {
        Self {
            login,
            attempt,
            username,
            factor_username: factor_username.into(),
            number,
            source,
        }
    }
}

/// Why a second factor could not say how an attempt ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FactorError {
    /// The service was unreachable or failed while answering: deny (fail closed) unless an
    /// explicit fail-open applies; never counted against the user.
    #[error("second-factor service {service} unavailable")]
    Unavailable {
        /// The service, as configured.
        service: String,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// The service refused the request (unknown account, configuration): deny and alert an
    /// operator; never counted against the user.
    #[error("second-factor service {service} refused the request")]
    Refused {
        /// The service, as configured.
        service: String,
        /// What the service said.
        #[source]
        source: BoxError,
    },
}

/// A second factor: verifies a user out of band and reports how it ended.
///
/// Implementations place one attempt per call and never retry one that may have reached the
/// user (a user must not be phoned twice for one login). The driver runs `verify` on its own
/// task and drops the future when the login is cancelled or its ring time runs out.
#[async_trait]
pub trait SecondFactor: Send + Sync + fmt::Debug {
    /// A short name for audit events and logs (`phonefactor-direct`).
    fn name(&self) -> &str;

    /// Whether the application must supply the phone number.
    fn number_need(&self) -> NumberNeed;

    /// Places the attempt and waits for its end. `Ok` for every attempt that was made,
    /// however it ended; `Err` only when nobody could find out.
    async fn verify(&self, request: &FactorRequest) -> Result<FactorOutcome, FactorError>;
}
