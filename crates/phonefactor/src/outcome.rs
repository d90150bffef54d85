//! How a verification call ended, as a typed value.

use std::fmt;

use crate::status::CallStatus;

/// How a call that was placed (or refused by the service) ended.
///
/// `Err` from a verifier means the outcome is not known; every `CallOutcome` is an answer from
/// the service. Only [`CallOutcome::Approved`] lets a user in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// The user confirmed the login.
    Approved {
        /// How the user confirmed.
        how: Approval,
        /// The raw status the service reported.
        status: CallStatus,
    },
    /// The call reached the user and the login was not confirmed.
    Denied {
        /// Why the login was refused.
        reason: DenyReason,
        /// The raw status the service reported.
        status: CallStatus,
    },
    /// The call never connected.
    Unreachable {
        /// Why the phone could not be reached.
        reason: UnreachableReason,
        /// The raw status the service reported.
        status: CallStatus,
    },
    /// The service refused to place the call.
    Rejected {
        /// What the service objected to.
        reason: RejectReason,
        /// The raw status the service reported.
        status: CallStatus,
    },
}

/// How an approved user confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Approval {
    /// Pressed `#` (standard mode).
    PoundPressed,
    /// Keyed the right PIN and `#` (PIN mode).
    PinCorrect,
    /// A recent success was reused (statuses 6, 8, 9).
    Cache,
    /// A one-time bypass (status 7).
    Bypass,
    /// Voiceprint, SMS, phone app, OATH code or security questions (16, 17, 19, 21, 23–25).
    OtherFactor,
}

/// Why a call that reached the user did not approve the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyReason {
    /// Keyed a PIN that was wrong, or digits where only `#` was expected (status 1).
    WrongPin,
    /// Pressed `#` alone although a PIN was required (status 2).
    NoPinEntered,
    /// Keyed digits without `#` (status 3).
    PoundNotPressed,
    /// Answered and pressed nothing, often voicemail (statuses 4, 13).
    NoInput,
    /// Answered, then hung up (status 108) or the call dropped (10).
    HungUp,
    /// The call timed out (status 11).
    TimedOut,
    /// `*` inside a PIN, or fax tones (status 12).
    InvalidInput,
    /// The user keyed the fraud code (statuses 112, 132).
    FraudReported,
    /// The user or number is blocked, for example after a fraud report (status 14).
    UserBlocked,
    /// The PIN expired and was not changed (status 5).
    PinExpired,
    /// Any other status that is not a success.
    Other,
}

/// Why the phone could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnreachableReason {
    /// Busy, no answer or not in service (status 102).
    NoAnswerOrBusy,
    /// The carrier or service could not place the call (status 117).
    CarrierFailure,
}

/// What the service refused about the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The number is invalid or badly formatted (statuses 100, 107).
    InvalidNumber,
    /// A foreign number while international calls are not allowed (status 103).
    InternationalNotAllowed,
    /// The account refuses extensions (status 110).
    ExtensionsNotAllowed,
    /// The extension breaks the service's rule (status 111).
    InvalidExtension,
    /// A call for this user is still in progress (status 101).
    CallInProgress,
    /// The request's mode (PIN, SMS, app, voiceprint...) is not allowed (104, 114, 119, 124, 134).
    ModeNotAllowed,
    /// The service could not read the request (status 106).
    InvalidRequest,
    /// The account is locked or out of balance or licences (105, 109, 126–128).
    AccountUnavailable,
    /// The agent does not permit this initiating authentication type (status 149).
    InitiatingTypeNotAllowed,
    /// The agent does not know the user (agent error 1001, status 0).
    UnknownUser,
    /// The agent has the user disabled (agent error 1002, status 0).
    UserDisabled,
}

impl CallOutcome {
    /// Classifies a status reported with `authenticated=no`, or one reported with
    /// `authenticated=yes` that the caller has checked may approve (see
    /// [`CallStatus::approvable`]).
    pub fn from_status(authenticated: bool, status: CallStatus) -> Self {
        if authenticated {
            let how = match status.code() {
                1 => Approval::PinCorrect,
                2 => Approval::PoundPressed,
                6 | 8 | 9 => Approval::Cache,
                7 => Approval::Bypass,
                _ => Approval::OtherFactor,
            };
            return Self::Approved { how, status };
        }
        let deny = |reason| Self::Denied { reason, status };
        let reject = |reason| Self::Rejected { reason, status };
        let unreachable = |reason| Self::Unreachable { reason, status };
        match status.code() {
            1 => deny(DenyReason::WrongPin),
            2 => deny(DenyReason::NoPinEntered),
            3 => deny(DenyReason::PoundNotPressed),
            4 | 13 => deny(DenyReason::NoInput),
            5 => deny(DenyReason::PinExpired),
            10 | 108 => deny(DenyReason::HungUp),
            11 => deny(DenyReason::TimedOut),
            12 => deny(DenyReason::InvalidInput),
            14 => deny(DenyReason::UserBlocked),
            112 | 132 => deny(DenyReason::FraudReported),
            102 => unreachable(UnreachableReason::NoAnswerOrBusy),
            117 => unreachable(UnreachableReason::CarrierFailure),
            100 | 107 => reject(RejectReason::InvalidNumber),
            101 => reject(RejectReason::CallInProgress),
            103 => reject(RejectReason::InternationalNotAllowed),
            104 | 114 | 119 | 124 | 134 => reject(RejectReason::ModeNotAllowed),
            105 | 109 | 126..=128 => reject(RejectReason::AccountUnavailable),
            106 => reject(RejectReason::InvalidRequest),
            110 => reject(RejectReason::ExtensionsNotAllowed),
            111 => reject(RejectReason::InvalidExtension),
            149 => reject(RejectReason::InitiatingTypeNotAllowed),
            _ => deny(DenyReason::Other),
        }
    }

    /// Whether the user may log in.
    pub fn is_approved(&self) -> bool {
        matches!(self, Self::Approved { .. })
    }

    /// The raw status the service reported.
    pub fn status(&self) -> CallStatus {
        match *self {
            Self::Approved { status, .. }
            | Self::Denied { status, .. }
            | Self::Unreachable { status, .. }
            | Self::Rejected { status, .. } => status,
        }
    }

    /// The status's display text, for logs.
    pub fn status_text(&self) -> &'static str {
        self.status().text()
    }
}

impl fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Approved { how, status } => write!(f, "approved ({how:?}), status {status}"),
            Self::Denied { reason, status } => write!(f, "denied ({reason:?}), status {status}"),
            Self::Unreachable { reason, status } => {
                write!(f, "unreachable ({reason:?}), status {status}")
            }
            Self::Rejected { reason, status } => {
                write!(f, "rejected ({reason:?}), status {status}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_status_maps_to_its_outcome() {
        let o = |a, s| CallOutcome::from_status(a, CallStatus(s));
        assert_eq!(
            o(true, 2),
            CallOutcome::Approved {
                how: Approval::PoundPressed,
                status: CallStatus(2)
            }
        );
        assert!(matches!(
            o(true, 1),
            CallOutcome::Approved {
                how: Approval::PinCorrect,
                ..
            }
        ));
        assert!(matches!(
            o(false, 1),
            CallOutcome::Denied {
                reason: DenyReason::WrongPin,
                ..
            }
        ));
        assert!(matches!(
            o(false, 2),
            CallOutcome::Denied {
                reason: DenyReason::NoPinEntered,
                ..
            }
        ));
        assert!(matches!(
            o(false, 3),
            CallOutcome::Denied {
                reason: DenyReason::PoundNotPressed,
                ..
            }
        ));
        assert!(matches!(
            o(false, 4),
            CallOutcome::Denied {
                reason: DenyReason::NoInput,
                ..
            }
        ));
        assert!(matches!(
            o(false, 108),
            CallOutcome::Denied {
                reason: DenyReason::HungUp,
                ..
            }
        ));
        assert!(matches!(
            o(false, 112),
            CallOutcome::Denied {
                reason: DenyReason::FraudReported,
                ..
            }
        ));
        assert!(matches!(
            o(false, 12),
            CallOutcome::Denied {
                reason: DenyReason::InvalidInput,
                ..
            }
        ));
        assert!(matches!(
            o(false, 14),
            CallOutcome::Denied {
                reason: DenyReason::UserBlocked,
                ..
            }
        ));
        assert!(matches!(
            o(false, 102),
            CallOutcome::Unreachable {
                reason: UnreachableReason::NoAnswerOrBusy,
                ..
            }
        ));
        assert!(matches!(
            o(false, 117),
            CallOutcome::Unreachable {
                reason: UnreachableReason::CarrierFailure,
                ..
            }
        ));
        assert!(matches!(
            o(false, 101),
            CallOutcome::Rejected {
                reason: RejectReason::CallInProgress,
                ..
            }
        ));
        assert!(matches!(
            o(false, 103),
            CallOutcome::Rejected {
                reason: RejectReason::InternationalNotAllowed,
                ..
            }
        ));
        assert!(matches!(
            o(false, 107),
            CallOutcome::Rejected {
                reason: RejectReason::InvalidNumber,
                ..
            }
        ));
        assert!(matches!(
            o(false, 110),
            CallOutcome::Rejected {
                reason: RejectReason::ExtensionsNotAllowed,
                ..
            }
        ));
        assert!(matches!(
            o(false, 111),
            CallOutcome::Rejected {
                reason: RejectReason::InvalidExtension,
                ..
            }
        ));
        assert!(matches!(
            o(false, 149),
            CallOutcome::Rejected {
                reason: RejectReason::InitiatingTypeNotAllowed,
                ..
            }
        ));
        assert!(matches!(
            o(false, 999),
            CallOutcome::Denied {
                reason: DenyReason::Other,
                ..
            }
        ));
    }

    #[test]
    fn outcome_exposes_status_and_text() {
        let o = CallOutcome::from_status(false, CallStatus(112));
        assert!(!o.is_approved());
        assert_eq!(o.status(), CallStatus(112));
        assert_eq!(o.status_text(), "User entered the fraud code");
    }
}
