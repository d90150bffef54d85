//! PhoneFactor as a [`SecondFactor`]: agent or direct mode, behind the same seam as any
//! other factor.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use phonefactor::{
    CallOutcome, ErrorKind, PhoneFactorUsername, PhoneVerifier, UnreachableReason,
    VerificationRequest,
};

use crate::{Denial, FactorError, FactorOutcome, FactorRequest, NumberNeed, SecondFactor};

/// Places a PhoneFactor verification call through a [`PhoneVerifier`] (the agent or direct
/// client) and reports its end as a [`FactorOutcome`].
///
/// Errors map by what they mean for the login: the service unreachable before a call was
/// placed, or a call whose end is unknown, is [`FactorError::Unavailable`] (fail closed, or
/// fail open where a group is configured so); configuration, credential, certificate and
/// service errors are [`FactorError::Refused`] and never fail open.
pub struct PhoneCall {
    verifier: Arc<dyn PhoneVerifier>,
    need: NumberNeed,
    name: &'static str,
}

impl PhoneCall {
    /// Agent mode: the agent holds users' numbers; a number the application knows is still
    /// sent and checked against the call policies.
    pub fn agent(verifier: Arc<dyn PhoneVerifier>) -> Self {
        Self {
            verifier,
            need: NumberNeed::Optional,
            name: "phonefactor-agent",
        }
    }

    /// Direct mode: the application supplies every number; a user without one is denied.
    pub fn direct(verifier: Arc<dyn PhoneVerifier>) -> Self {
        Self {
            verifier,
            need: NumberNeed::Required,
            name: "phonefactor-direct",
        }
    }
}

impl fmt::Debug for PhoneCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneCall")
            .field("mode", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecondFactor for PhoneCall {
    fn name(&self) -> &str {
        self.name
    }

    fn number_need(&self) -> NumberNeed {
        self.need
    }

    async fn verify(&self, request: &FactorRequest) -> Result<FactorOutcome, FactorError> {
        let username = PhoneFactorUsername::new(&request.factor_username).map_err(|e| {
            FactorError::Refused {
                service: self.name.to_owned(),
                source: Box::new(e),
            }
        })?;
        let mut call = VerificationRequest::new(username).with_client_ip(request.source);
        if let Some(number) = &request.number {
            call = call.with_phone(number.clone());
        }
        match self.verifier.verify(&call).await {
            Ok(outcome) => Ok(factor_outcome(&outcome)),
            Err(error) => {
                let service = self.name.to_owned();
                Err(match error.kind() {
                    ErrorKind::Unavailable | ErrorKind::OutcomeUnknown => {
                        FactorError::Unavailable {
                            service,
                            source: Box::new(error),
                        }
                    }
                    _ => FactorError::Refused {
                        service,
                        source: Box::new(error),
                    },
                })
            }
        }
    }
}

/// How the machine sees a PhoneFactor call's end.
pub fn factor_outcome(outcome: &CallOutcome) -> FactorOutcome {
    use phonefactor::DenyReason as Pf;
    let status = outcome.status().code();
    match outcome {
        CallOutcome::Approved { .. } => FactorOutcome::Approved,
        CallOutcome::Denied { reason, .. } => FactorOutcome::Denied {
            denial: match reason {
                Pf::WrongPin | Pf::NoPinEntered | Pf::PoundNotPressed | Pf::InvalidInput => {
                    Denial::WrongPin
                }
                Pf::NoInput | Pf::TimedOut => Denial::NoAnswer,
                Pf::HungUp => Denial::UserDenied,
                Pf::FraudReported => Denial::FraudReported,
                _ => Denial::Other { status },
            },
        },
        CallOutcome::Unreachable {
            reason: UnreachableReason::NoAnswerOrBusy,
            ..
        } => FactorOutcome::Denied {
            denial: Denial::Busy,
        },
        CallOutcome::Unreachable { .. } => FactorOutcome::Unavailable,
        CallOutcome::Rejected { .. } => FactorOutcome::Refused,
        _ => FactorOutcome::Denied {
            denial: Denial::Other { status },
        },
    }
}

#[cfg(test)]
mod tests {
    use phonefactor::CallStatus;

    use super::*;

    #[test]
    fn every_call_status_maps_to_the_outcome_the_machine_expects() {
        let of = |authenticated, code| {
            factor_outcome(&CallOutcome::from_status(authenticated, CallStatus(code)))
        };
        assert_eq!(of(true, 2), FactorOutcome::Approved);
        assert_eq!(of(true, 1), FactorOutcome::Approved);
        assert_eq!(
            of(false, 1),
            FactorOutcome::Denied {
                denial: Denial::WrongPin
            }
        );
        assert_eq!(
            of(false, 4),
            FactorOutcome::Denied {
                denial: Denial::NoAnswer
            }
        );
        assert_eq!(
            of(false, 108),
            FactorOutcome::Denied {
                denial: Denial::UserDenied
            }
        );
        assert_eq!(
            of(false, 112),
            FactorOutcome::Denied {
                denial: Denial::FraudReported
            }
        );
        assert_eq!(
            of(false, 132),
            FactorOutcome::Denied {
                denial: Denial::FraudReported
            }
        );
        assert_eq!(
            of(false, 102),
            FactorOutcome::Denied {
                denial: Denial::Busy
            }
        );
        assert_eq!(of(false, 117), FactorOutcome::Unavailable);
        assert_eq!(of(false, 101), FactorOutcome::Refused);
        assert_eq!(
            of(false, 14),
            FactorOutcome::Denied {
                denial: Denial::Other { status: 14 }
            }
        );
        for status in CallStatus::all_known() {
            let approved =
                factor_outcome(&CallOutcome::from_status(false, status)) == FactorOutcome::Approved;
            assert!(
                !approved,
                "status {status} without authenticated=yes approved a login"
            );
        }
    }
}
