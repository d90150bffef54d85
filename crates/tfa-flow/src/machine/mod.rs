//! The login machine: a pure function from (state, event, now) to (state, actions).

mod event;
mod facts;
mod policy;
mod state;

pub(crate) use policy::secs;
#[cfg(test)]
mod tests;

pub use event::{Action, Event, EventKind, FirstFactorResult, Step};
pub use facts::{BypassGrant, CallTarget, Enforcement, FailMode, PhoneFacts, UserFacts};
pub use policy::MachinePolicy;
pub use state::{Login, Phase, STATE_VERSION};

use std::fmt;

use tfa_directory::Username;

use crate::{
    AttemptId, AuditEvent, AuditKind, CallRule, DenyReason, FactorOutcome, LoginId,
    SecondFactorStatus, Timestamp, UserMessage,
};

/// Why an event was not accepted. The login is handed back unchanged in [`Rejected`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The event is for another login.
    ForeignLogin {
        /// The login the event named.
        event_login: LoginId,
    },
    /// The event is for an attempt that is not the current one.
    StaleAttempt {
        /// The attempt the event named.
        attempt: AttemptId,
    },
    /// The login has ended; nothing changes it any more.
    Finished,
    /// The event cannot happen in this phase.
    Unexpected {
        /// The login's phase.
        phase: &'static str,
        /// The event.
        event: &'static str,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ForeignLogin { event_login } => {
                write!(f, "event is for another login ({event_login})")
            }
            Self::StaleAttempt { attempt } => write!(f, "event is for stale attempt {attempt}"),
            Self::Finished => f.write_str("login has already ended"),
            Self::Unexpected { phase, event } => {
                write!(f, "event {event} cannot happen while {phase}")
            }
        }
    }
}

/// An event the machine did not accept, with the login handed back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("login {} rejected an event: {why}", state.id())]
pub struct Rejected {
    /// The login, exactly as it was.
    pub state: Box<Login>,
    /// Why the event was rejected.
    pub why: RejectReason,
}

/// The login machine: the policies that need no store (timeouts, which numbers may be
/// called) and the step function.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    policy: MachinePolicy,
}

/// The outcome of an accepted event: the next state and what to do.
pub type Transition = (Login, Vec<Action>);

impl Machine {
    /// A machine applying `policy`.
    pub fn new(policy: MachinePolicy) -> Self {
        Self { policy }
    }

    /// The machine's policy.
    pub fn policy(&self) -> &MachinePolicy {
        &self.policy
    }

    /// Applies `event` to `login` at time `now`: the next state and the actions to perform,
    /// or the login handed back with the reason the event was rejected.
    pub fn step(&self, login: Login, event: Event, now: Timestamp) -> Result<Transition, Rejected> {
        if event.login != login.id() {
            return Err(reject(
                login,
                RejectReason::ForeignLogin {
                    event_login: event.login,
                },
            ));
        }
        if login.is_finished() {
            return match event.kind {
                EventKind::Tick => Ok((login, Vec::new())),
                _ => Err(reject(login, RejectReason::Finished)),
            };
        }
        if let Some(reason) = self.expiry(&login, now) {
            return Ok(deny(login, reason, now));
        }
        let phase = login.phase().clone();
        match (phase, event.kind) {
            (Phase::AwaitingUsername, EventKind::UsernameEntered { username }) => {
                let mut login = login;
                login.touch(now);
                login.set_phase(Phase::AwaitingPassword {
                    username: username.clone(),
                });
                let actions = vec![
                    Action::Audit(audit(&login, now, Some(username), AuditKind::LoginStarted)),
                    Action::Tell(UserMessage::EnterPassword),
                ];
                Ok((login, actions))
            }
            (Phase::AwaitingPassword { username }, EventKind::PasswordEntered) => {
                let mut login = login;
                login.touch(now);
                login.set_phase(Phase::VerifyingPassword {
                    username: username.clone(),
                });
                Ok((login, vec![Action::VerifyPassword { username }]))
            }
            (Phase::VerifyingPassword { username }, EventKind::FirstFactorChecked(result)) => {
                Ok(self.first_factor_checked(login, username, result, now))
            }
            (
                Phase::AwaitingSecondFactor {
                    attempt,
                    placed,
                    target,
                    ..
                },
                EventKind::CallPlaced {
                    attempt: event_attempt,
                },
            ) => {
                if event_attempt != attempt {
                    return Err(reject(
                        login,
                        RejectReason::StaleAttempt {
                            attempt: event_attempt,
                        },
                    ));
                }
                if placed {
                    return Err(unexpected(login, "call-placed"));
                }
                let mut login = login;
                if let Phase::AwaitingSecondFactor { placed, .. } = login.phase_mut() {
                    *placed = true;
                }
                let number = target.map(|t| t.masked);
                let user = login.username().cloned();
                let event = audit(&login, now, user, AuditKind::CallPlaced { attempt, number });
                Ok((login, vec![Action::Audit(event)]))
            }
            (
                Phase::AwaitingSecondFactor {
                    attempt, placed, ..
                },
                EventKind::CallNotPlaced {
                    attempt: event_attempt,
                    rule,
                },
            ) => {
                if event_attempt != attempt {
                    return Err(reject(
                        login,
                        RejectReason::StaleAttempt {
                            attempt: event_attempt,
                        },
                    ));
                }
                if placed {
                    return Err(unexpected(login, "call-not-placed"));
                }
                Ok(deny(login, DenyReason::CallRefused { rule }, now))
            }
            (
                Phase::AwaitingSecondFactor {
                    username,
                    attempt,
                    placed,
                    fail_mode,
                    ..
                },
                EventKind::CallEnded {
                    attempt: event_attempt,
                    outcome,
                },
            ) => {
                if event_attempt != attempt {
                    return Err(reject(
                        login,
                        RejectReason::StaleAttempt {
                            attempt: event_attempt,
                        },
                    ));
                }
                if !placed {
                    return Err(unexpected(login, "call-ended"));
                }
                Ok(call_ended(
                    login, username, attempt, outcome, fail_mode, now,
                ))
            }
            (_, EventKind::Cancel) => Ok(deny(login, DenyReason::Cancelled, now)),
            (_, EventKind::StoreFailed) => Ok(deny(login, DenyReason::StoreUnavailable, now)),
            (_, EventKind::Tick) => Ok((login, Vec::new())),
            (_, kind) => Err(unexpected(login, kind.name())),
        }
    }

    /// The timeout that has run out for `login` at `now`, if any.
    fn expiry(&self, login: &Login, now: Timestamp) -> Option<DenyReason> {
        if now >= login.started_at().plus(self.policy.login_timeout) {
            return Some(DenyReason::LoginTimeout);
        }
        match login.phase() {
            Phase::AwaitingSecondFactor { deadline, .. } if now >= *deadline => {
                Some(DenyReason::RingTimeout)
            }
            Phase::AwaitingUsername | Phase::AwaitingPassword { .. }
                if now >= login.last_activity().plus(self.policy.idle_timeout) =>
            {
                Some(DenyReason::IdleTimeout)
            }
            _ => None,
        }
    }

    fn first_factor_checked(
        &self,
        login: Login,
        typed: Username,
        result: FirstFactorResult,
        now: Timestamp,
    ) -> Transition {
        match result {
            FirstFactorResult::Rejected(failure) => {
                let (login, mut actions) = deny(login, DenyReason::Credentials { failure }, now);
                actions.insert(
                    0,
                    Action::RecordFailure {
                        step: Step::Password,
                        username: typed,
                    },
                );
                (login, actions)
            }
            FirstFactorResult::AccountRefused(problem) => {
                deny(login, DenyReason::Account { problem }, now)
            }
            FirstFactorResult::Throttled { until } => {
                deny(login, DenyReason::PasswordStepLocked { until }, now)
            }
            FirstFactorResult::Unavailable => deny(login, DenyReason::DirectoryUnavailable, now),
            FirstFactorResult::StoreFailed => deny(login, DenyReason::StoreUnavailable, now),
            FirstFactorResult::Verified(facts) => self.decide_second_factor(login, *facts, now),
        }
    }

    /// The order of the second-factor decisions: a fraud block first (it stops even users
    /// without TFA), then enforcement, the phone-step lock, a bypass, the number and the
    /// call policies that need no store; then the call.
    fn decide_second_factor(
        &self,
        mut login: Login,
        facts: UserFacts,
        now: Timestamp,
    ) -> Transition {
        let username = facts.username.clone();
        login.set_phase(Phase::VerifyingPassword {
            username: username.clone(),
        });
        let mut actions = vec![
            Action::ClearFailures {
                step: Step::Password,
                username: username.clone(),
            },
            Action::Audit(audit(
                &login,
                now,
                Some(username.clone()),
                AuditKind::PasswordAccepted,
            )),
        ];
        let (login, more) = if facts.blocked {
            deny(login, DenyReason::TfaBlocked, now)
        } else if facts.enforcement == Enforcement::NotEnforced {
            authenticate(login, username, SecondFactorStatus::NotEnforced, now)
        } else if let Some(until) = facts.phone_locked_until.filter(|until| *until > now) {
            deny(login, DenyReason::PhoneStepLocked { until }, now)
        } else if let Some(grant) = facts.bypass.filter(|grant| grant.until > now) {
            let used = AuditKind::BypassUsed {
                reason: grant.reason,
                granted_by: grant.granted_by,
            };
            let used = Action::Audit(audit(&login, now, Some(username.clone()), used));
            let (login, mut more) =
                authenticate(login, username, SecondFactorStatus::Bypassed, now);
            more.insert(0, used);
            (login, more)
        } else {
            match facts.phone {
                PhoneFacts::Unusable(problem) => {
                    deny(login, DenyReason::NoUsablePhone { problem }, now)
                }
                PhoneFacts::Known(target) => match self.policy.refusal(&target) {
                    Some(rule) => deny(login, DenyReason::CallRefused { rule }, now),
                    None => self.ring(login, username, Some(target), facts.fail_mode, now),
                },
                PhoneFacts::HeldByService => self.ring(login, username, None, facts.fail_mode, now),
            }
        };
        actions.extend(more);
        (login, actions)
    }

    fn ring(
        &self,
        mut login: Login,
        username: Username,
        target: Option<crate::CallTarget>,
        fail_mode: FailMode,
        now: Timestamp,
    ) -> Transition {
        let attempt = login.next_attempt();
        let deadline = now.plus(self.policy.ring_timeout);
        login.set_phase(Phase::AwaitingSecondFactor {
            username,
            attempt,
            deadline,
            placed: false,
            target,
            fail_mode,
        });
        let actions = vec![
            Action::PlaceCall { attempt, deadline },
            Action::Tell(UserMessage::Calling { until: deadline }),
        ];
        (login, actions)
    }
}

impl MachinePolicy {
    /// The store-free call rule that refuses `target`, if any.
    fn refusal(&self, target: &crate::CallTarget) -> Option<CallRule> {
        if self.denied_kinds.contains(&target.kind) {
            return Some(CallRule::NumberKindDenied { kind: target.kind });
        }
        match &self.allowed_countries {
            Some(allowed) if !allowed.contains(&target.country_code) => {
                Some(CallRule::CountryNotAllowed {
                    country_code: target.country_code,
                })
            }
            _ => None,
        }
    }
}

fn call_ended(
    login: Login,
    username: Username,
    attempt: AttemptId,
    outcome: FactorOutcome,
    fail_mode: FailMode,
    now: Timestamp,
) -> Transition {
    match outcome {
        FactorOutcome::Approved => {
            let (login, mut actions) = authenticate(
                login,
                username.clone(),
                SecondFactorStatus::Approved { attempt },
                now,
            );
            actions.insert(
                0,
                Action::ClearFailures {
                    step: Step::Phone,
                    username,
                },
            );
            (login, actions)
        }
        FactorOutcome::Denied {
            denial: crate::Denial::FraudReported,
        } => {
            let alert = Action::Audit(audit(
                &login,
                now,
                Some(username.clone()),
                AuditKind::FraudAlert { attempt },
            ));
            let reason = DenyReason::CallDenied {
                denial: crate::Denial::FraudReported,
            };
            let (login, mut actions) = deny(login, reason, now);
            actions.splice(0..0, [Action::BlockTfa { username }, alert]);
            (login, actions)
        }
        FactorOutcome::Denied { denial } => {
            let (login, mut actions) = deny(login, DenyReason::CallDenied { denial }, now);
            actions.insert(
                0,
                Action::RecordFailure {
                    step: Step::Phone,
                    username,
                },
            );
            (login, actions)
        }
        FactorOutcome::Unavailable => match fail_mode {
            FailMode::Open { group } => {
                let loud = AuditKind::SecondFactorSkipped {
                    group: group.clone(),
                };
                let loud = Action::Audit(audit(&login, now, Some(username.clone()), loud));
                let (login, mut actions) =
                    authenticate(login, username, SecondFactorStatus::Skipped { group }, now);
                actions.insert(0, loud);
                (login, actions)
            }
            FailMode::Closed => deny(login, DenyReason::SecondFactorUnavailable, now),
        },
        FactorOutcome::Refused => deny(login, DenyReason::SecondFactorRefused, now),
    }
}

fn authenticate(
    mut login: Login,
    username: Username,
    how: SecondFactorStatus,
    now: Timestamp,
) -> Transition {
    login.set_phase(Phase::Authenticated {
        username: username.clone(),
        second_factor: how.clone(),
    });
    let actions = vec![
        Action::Audit(audit(
            &login,
            now,
            Some(username),
            AuditKind::Authenticated { second_factor: how },
        )),
        Action::Tell(UserMessage::Welcome),
    ];
    (login, actions)
}

/// Ends `login` as denied for `reason`, cancelling a ringing call and counting an
/// unanswered one.
fn deny(mut login: Login, reason: DenyReason, now: Timestamp) -> Transition {
    let mut actions = Vec::new();
    if let Phase::AwaitingSecondFactor {
        attempt,
        placed,
        username,
        ..
    } = login.phase()
    {
        actions.push(Action::CancelCall { attempt: *attempt });
        if *placed && reason == DenyReason::RingTimeout {
            actions.push(Action::RecordFailure {
                step: Step::Phone,
                username: username.clone(),
            });
        }
    }
    let username = login.username().cloned();
    let message = reason.user_message();
    actions.push(Action::Audit(audit(
        &login,
        now,
        username.clone(),
        AuditKind::Denied {
            reason: reason.clone(),
        },
    )));
    actions.push(Action::Tell(message));
    login.set_phase(Phase::Denied { username, reason });
    (login, actions)
}

fn audit(login: &Login, now: Timestamp, user: Option<Username>, kind: AuditKind) -> AuditEvent {
    AuditEvent {
        at: now,
        login: Some(login.id()),
        user,
        source: Some(login.source()),
        kind,
    }
}

fn reject(login: Login, why: RejectReason) -> Rejected {
    Rejected {
        state: Box::new(login),
        why,
    }
}

fn unexpected(login: Login, event: &'static str) -> Rejected {
    let phase = login.phase().name();
    reject(login, RejectReason::Unexpected { phase, event })
}
