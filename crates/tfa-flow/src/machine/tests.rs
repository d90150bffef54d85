//! Every path of the machine as plain unit tests, and its invariants as property tests.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proptest::prelude::*;
use tfa_directory::Username;
use tfa_phone::NumberKind;

use super::*;
use crate::{AccountProblem, CredentialFailure, Denial, NoPhone};

const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);
const ID: LoginId = LoginId::from_bytes([7; 16]);
const OTHER: LoginId = LoginId::from_bytes([8; 16]);

fn user(name: &str) -> Username {
    Username::new(name).unwrap()
}

fn source() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))
}

fn at(secs: u64) -> Timestamp {
    T0.plus(Duration::from_secs(secs))
}

fn ev(kind: EventKind) -> Event {
    Event::new(ID, kind)
}

fn target(country_code: u16, kind: NumberKind) -> CallTarget {
    CallTarget {
        masked: "+1******9500".into(),
        country_code,
        kind,
    }
}

fn facts(name: &str) -> UserFacts {
    UserFacts::new(
        user(name),
        PhoneFacts::Known(target(1, NumberKind::FixedLineOrMobile)),
    )
}

fn step(m: &Machine, login: Login, kind: EventKind, now: Timestamp) -> Transition {
    m.step(login, ev(kind), now).unwrap()
}

/// A login that has had its password entered, awaiting the first-factor result.
fn verifying(m: &Machine) -> Login {
    let login = Login::new(ID, source(), T0);
    let (login, _) = step(
        m,
        login,
        EventKind::UsernameEntered {
            username: user("alice"),
        },
        T0,
    );
    let (login, _) = step(m, login, EventKind::PasswordEntered, at(1));
    login
}

fn verified(m: &Machine, facts: UserFacts) -> Transition {
    step(
        m,
        verifying(m),
        EventKind::FirstFactorChecked(FirstFactorResult::Verified(Box::new(facts))),
        at(2),
    )
}

/// A login whose attempt 1 was placed.
fn ringing(m: &Machine, facts: UserFacts) -> Login {
    let (login, _) = verified(m, facts);
    let (login, _) = step(
        m,
        login,
        EventKind::CallPlaced {
            attempt: AttemptId::new(1),
        },
        at(3),
    );
    login
}

fn denied_reason(login: &Login) -> Option<&DenyReason> {
    match login.phase() {
        Phase::Denied { reason, .. } => Some(reason),
        _ => None,
    }
}

fn told(actions: &[Action]) -> Vec<UserMessage> {
    actions
        .iter()
        .filter_map(|a| {
            if let Action::Tell(m) = a {
                Some(*m)
            } else {
                None
            }
        })
        .collect()
}

fn audited(actions: &[Action]) -> Vec<AuditKind> {
    actions
        .iter()
        .filter_map(|a| {
            if let Action::Audit(e) = a {
                Some(e.kind.clone())
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn approved_call_authenticates_the_login() {
    let m = Machine::default();
    let (login, actions) = verified(&m, facts("alice"));
    let deadline = at(2).plus(m.policy().ring_timeout);
    assert_eq!(
        actions[0],
        Action::ClearFailures {
            step: Step::Password,
            username: user("alice")
        }
    );
    assert!(actions.contains(&Action::PlaceCall {
        attempt: AttemptId::new(1),
        deadline
    }));
    assert_eq!(
        told(&actions),
        vec![UserMessage::Calling { until: deadline }]
    );
    let (login, actions) = step(
        &m,
        login,
        EventKind::CallPlaced {
            attempt: AttemptId::new(1),
        },
        at(3),
    );
    assert_eq!(
        audited(&actions),
        vec![AuditKind::CallPlaced {
            attempt: AttemptId::new(1),
            number: Some("+1******9500".into())
        }]
    );
    let outcome = FactorOutcome::Approved;
    let (login, actions) = step(
        &m,
        login,
        EventKind::CallEnded {
            attempt: AttemptId::new(1),
            outcome,
        },
        at(10),
    );
    assert_eq!(
        login.phase(),
        &Phase::Authenticated {
            username: user("alice"),
            second_factor: SecondFactorStatus::Approved {
                attempt: AttemptId::new(1)
            }
        }
    );
    assert_eq!(told(&actions), vec![UserMessage::Welcome]);
    assert!(actions.contains(&Action::ClearFailures {
        step: Step::Phone,
        username: user("alice")
    }));
}

#[test]
fn username_step_asks_for_the_password_without_any_lookup() {
    let m = Machine::default();
    let (login, actions) = step(
        &m,
        Login::new(ID, source(), T0),
        EventKind::UsernameEntered {
            username: user("nobody"),
        },
        T0,
    );
    assert_eq!(login.phase().name(), "awaiting-password");
    assert_eq!(told(&actions), vec![UserMessage::EnterPassword]);
    assert_eq!(audited(&actions), vec![AuditKind::LoginStarted]);
    assert_eq!(
        actions.len(),
        2,
        "no directory action at the username step: {actions:?}"
    );
}

#[test]
fn unknown_user_and_wrong_password_look_the_same_to_the_user() {
    let m = Machine::default();
    let mut seen = Vec::new();
    for failure in [
        CredentialFailure::BadPassword,
        CredentialFailure::UnknownUser,
    ] {
        let result = FirstFactorResult::Rejected(failure);
        let (login, actions) = step(
            &m,
            verifying(&m),
            EventKind::FirstFactorChecked(result),
            at(2),
        );
        assert_eq!(
            denied_reason(&login),
            Some(&DenyReason::Credentials { failure })
        );
        assert_eq!(
            actions[0],
            Action::RecordFailure {
                step: Step::Password,
                username: user("alice")
            }
        );
        seen.push(told(&actions));
    }
    assert_eq!(seen[0], vec![UserMessage::LoginFailed]);
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn password_lock_is_not_revealed_and_not_counted() {
    let m = Machine::default();
    let result = FirstFactorResult::Throttled { until: at(600) };
    let (login, actions) = step(
        &m,
        verifying(&m),
        EventKind::FirstFactorChecked(result),
        at(2),
    );
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::PasswordStepLocked { until: at(600) })
    );
    assert_eq!(told(&actions), vec![UserMessage::LoginFailed]);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::RecordFailure { .. }))
    );
}

#[test]
fn directory_outage_fails_closed_without_counting() {
    let m = Machine::default();
    let (login, actions) = step(
        &m,
        verifying(&m),
        EventKind::FirstFactorChecked(FirstFactorResult::Unavailable),
        at(2),
    );
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::DirectoryUnavailable)
    );
    assert_eq!(told(&actions), vec![UserMessage::TemporarilyUnavailable]);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::RecordFailure { .. }))
    );
}

#[test]
fn account_problems_map_to_their_messages() {
    let m = Machine::default();
    for (problem, message) in [
        (AccountProblem::Disabled, UserMessage::ContactAdministrator),
        (AccountProblem::Locked, UserMessage::LoginFailed),
        (
            AccountProblem::PasswordChangeRequired,
            UserMessage::PasswordChangeRequired,
        ),
    ] {
        let result = FirstFactorResult::AccountRefused(problem);
        let (login, actions) = step(
            &m,
            verifying(&m),
            EventKind::FirstFactorChecked(result),
            at(2),
        );
        assert_eq!(
            denied_reason(&login),
            Some(&DenyReason::Account { problem })
        );
        assert_eq!(told(&actions), vec![message]);
    }
}

#[test]
fn phone_lock_is_revealed_after_the_right_password() {
    let m = Machine::default();
    let (login, actions) = verified(&m, facts("alice").with_phone_lock(Some(at(900))));
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::PhoneStepLocked { until: at(900) })
    );
    assert_eq!(
        told(&actions),
        vec![UserMessage::TooManyAttempts {
            retry_after: at(900)
        }]
    );
    let (login, _) = verified(&m, facts("alice").with_phone_lock(Some(at(1))));
    assert_eq!(
        login.phase().name(),
        "awaiting-second-factor",
        "an expired lock does not apply"
    );
}

#[test]
fn tfa_off_authenticates_on_the_password() {
    let m = Machine::default();
    let (login, _) = verified(
        &m,
        facts("alice").with_enforcement(Enforcement::NotEnforced),
    );
    assert!(matches!(
        login.phase(),
        Phase::Authenticated {
            second_factor: SecondFactorStatus::NotEnforced,
            ..
        }
    ));
}

#[test]
fn tfa_on_without_a_usable_phone_is_denied_never_skipped() {
    let m = Machine::default();
    for problem in [
        NoPhone::Missing,
        NoPhone::Unparseable {
            reason: "too short".into(),
        },
    ] {
        let facts = UserFacts::new(user("alice"), PhoneFacts::Unusable(problem.clone()));
        let (login, actions) = verified(&m, facts);
        assert_eq!(
            denied_reason(&login),
            Some(&DenyReason::NoUsablePhone { problem })
        );
        assert_eq!(told(&actions), vec![UserMessage::ContactAdministrator]);
    }
}

#[test]
fn premium_rate_and_shared_cost_numbers_are_refused_by_default() {
    let m = Machine::default();
    for kind in [NumberKind::PremiumRate, NumberKind::SharedCost] {
        let facts = UserFacts::new(user("alice"), PhoneFacts::Known(target(44, kind)));
        let (login, _) = verified(&m, facts);
        assert_eq!(
            denied_reason(&login),
            Some(&DenyReason::CallRefused {
                rule: CallRule::NumberKindDenied { kind }
            })
        );
    }
}

#[test]
fn countries_off_the_allow_list_are_refused() {
    let m = Machine::new(MachinePolicy {
        allowed_countries: Some(vec![1, 49]),
        ..Default::default()
    });
    let facts = UserFacts::new(
        user("alice"),
        PhoneFacts::Known(target(44, NumberKind::Mobile)),
    );
    let (login, _) = verified(&m, facts);
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::CallRefused {
            rule: CallRule::CountryNotAllowed { country_code: 44 }
        })
    );
    let facts = UserFacts::new(
        user("alice"),
        PhoneFacts::Known(target(49, NumberKind::Mobile)),
    );
    assert_eq!(
        verified(&m, facts).0.phase().name(),
        "awaiting-second-factor"
    );
}

#[test]
fn bypass_is_used_once_and_audited() {
    let m = Machine::default();
    let grant = BypassGrant {
        until: at(300),
        reason: "lost phone".into(),
        granted_by: "root".into(),
    };
    let (login, actions) = verified(&m, facts("alice").with_bypass(Some(grant)));
    assert!(matches!(
        login.phase(),
        Phase::Authenticated {
            second_factor: SecondFactorStatus::Bypassed,
            ..
        }
    ));
    assert!(audited(&actions).contains(&AuditKind::BypassUsed {
        reason: "lost phone".into(),
        granted_by: "root".into()
    }));
    let stale = BypassGrant {
        until: at(1),
        reason: "old".into(),
        granted_by: "root".into(),
    };
    assert_eq!(
        verified(&m, facts("alice").with_bypass(Some(stale)))
            .0
            .phase()
            .name(),
        "awaiting-second-factor"
    );
}

#[test]
fn fraud_block_stops_even_a_bypass() {
    let m = Machine::default();
    let grant = BypassGrant {
        until: at(300),
        reason: "r".into(),
        granted_by: "root".into(),
    };
    let f = facts("alice").with_blocked(true).with_bypass(Some(grant));
    assert!(!f.wants_bypass(at(2)));
    let (login, actions) = verified(&m, f);
    assert_eq!(denied_reason(&login), Some(&DenyReason::TfaBlocked));
    assert_eq!(told(&actions), vec![UserMessage::ContactAdministrator]);
}

#[test]
fn fraud_report_blocks_tfa_and_raises_an_alert() {
    let m = Machine::default();
    let login = ringing(&m, facts("alice"));
    let outcome = FactorOutcome::Denied {
        denial: Denial::FraudReported,
    };
    let (login, actions) = step(
        &m,
        login,
        EventKind::CallEnded {
            attempt: AttemptId::new(1),
            outcome,
        },
        at(20),
    );
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::CallDenied {
            denial: Denial::FraudReported
        })
    );
    assert_eq!(
        actions[0],
        Action::BlockTfa {
            username: user("alice")
        }
    );
    let alert = audited(&actions)
        .into_iter()
        .find(|k| matches!(k, AuditKind::FraudAlert { .. }))
        .unwrap();
    assert_eq!(alert.severity(), crate::Severity::Alert);
}

#[test]
fn denied_call_counts_a_phone_failure() {
    let m = Machine::default();
    let outcome = FactorOutcome::Denied {
        denial: Denial::UserDenied,
    };
    let (login, actions) = step(
        &m,
        ringing(&m, facts("alice")),
        EventKind::CallEnded {
            attempt: AttemptId::new(1),
            outcome,
        },
        at(20),
    );
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::CallDenied {
            denial: Denial::UserDenied
        })
    );
    assert_eq!(
        actions[0],
        Action::RecordFailure {
            step: Step::Phone,
            username: user("alice")
        }
    );
    assert_eq!(told(&actions), vec![UserMessage::SecondFactorFailed]);
}

#[test]
fn unavailable_service_fails_closed_by_default() {
    let m = Machine::default();
    let outcome = FactorOutcome::Unavailable;
    let (login, actions) = step(
        &m,
        ringing(&m, facts("alice")),
        EventKind::CallEnded {
            attempt: AttemptId::new(1),
            outcome,
        },
        at(20),
    );
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::SecondFactorUnavailable)
    );
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::RecordFailure { .. }))
    );
}

#[test]
fn fail_open_group_skips_the_second_factor_loudly() {
    let m = Machine::default();
    let f = facts("alice").with_fail_mode(FailMode::Open {
        group: "helpdesk".into(),
    });
    let outcome = FactorOutcome::Unavailable;
    let (login, actions) = step(
        &m,
        ringing(&m, f),
        EventKind::CallEnded {
            attempt: AttemptId::new(1),
            outcome,
        },
        at(20),
    );
    assert_eq!(
        login.phase(),
        &Phase::Authenticated {
            username: user("alice"),
            second_factor: SecondFactorStatus::Skipped {
                group: "helpdesk".into()
            }
        }
    );
    let loud = audited(&actions);
    assert!(loud.contains(&AuditKind::SecondFactorSkipped {
        group: "helpdesk".into()
    }));
    assert!(loud.iter().all(|k| k.severity() == crate::Severity::Alert));
}

#[test]
fn refused_call_names_its_rule() {
    let m = Machine::default();
    let (login, _) = verified(&m, facts("alice"));
    let rule = CallRule::OutstandingCall;
    let (login, actions) = step(
        &m,
        login,
        EventKind::CallNotPlaced {
            attempt: AttemptId::new(1),
            rule: rule.clone(),
        },
        at(3),
    );
    assert_eq!(
        denied_reason(&login),
        Some(&DenyReason::CallRefused { rule: rule.clone() })
    );
    assert!(audited(&actions).contains(&AuditKind::Denied {
        reason: DenyReason::CallRefused { rule }
    }));
}

#[test]
fn ring_timeout_denies_cancels_and_counts_unanswered() {
    let m = Machine::default();
    let login = ringing(&m, facts("alice"));
    let (same, actions) = step(&m, login, EventKind::Tick, at(30));
    assert!(actions.is_empty());
    let (login, actions) = step(
        &m,
        same,
        EventKind::Tick,
        at(2).plus(m.policy().ring_timeout),
    );
    assert_eq!(denied_reason(&login), Some(&DenyReason::RingTimeout));
    assert_eq!(
        actions[0],
        Action::CancelCall {
            attempt: AttemptId::new(1)
        }
    );
    assert_eq!(
        actions[1],
        Action::RecordFailure {
            step: Step::Phone,
            username: user("alice")
        }
    );
    assert_eq!(told(&actions), vec![UserMessage::TimedOut]);
}

#[test]
fn an_approval_after_the_deadline_does_not_authenticate() {
    let m = Machine::default();
    let login = ringing(&m, facts("alice"));
    let late = at(2).plus(m.policy().ring_timeout);
    let outcome = FactorOutcome::Approved;
    let (login, _) = step(
        &m,
        login,
        EventKind::CallEnded {
            attempt: AttemptId::new(1),
            outcome,
        },
        late,
    );
    assert_eq!(denied_reason(&login), Some(&DenyReason::RingTimeout));
}

#[test]
fn idle_and_whole_login_timeouts_expire() {
    let m = Machine::new(MachinePolicy {
        idle_timeout: Duration::from_secs(60),
        login_timeout: Duration::from_secs(100),
        ring_timeout: Duration::from_secs(500),
        ..Default::default()
    });
    let login = Login::new(ID, source(), T0);
    let (login, _) = step(
        &m,
        login,
        EventKind::UsernameEntered {
            username: user("alice"),
        },
        at(50),
    );
    let (idle, _) = step(&m, login.clone(), EventKind::PasswordEntered, at(110));
    assert_eq!(denied_reason(&idle), Some(&DenyReason::LoginTimeout));
    let (idle, _) = step(&m, login, EventKind::Tick, at(99));
    assert_eq!(
        denied_reason(&idle),
        None,
        "activity at 50 s keeps it alive until 110 s"
    );
    let (login, _) = step(&m, Login::new(ID, source(), T0), EventKind::Tick, at(60));
    assert_eq!(denied_reason(&login), Some(&DenyReason::IdleTimeout));
    let ring = Machine::new(MachinePolicy {
        login_timeout: Duration::from_secs(100),
        ..Default::default()
    });
    let (login, _) = step(
        &ring,
        ringing(&ring, facts("alice")),
        EventKind::Tick,
        at(100),
    );
    assert_eq!(denied_reason(&login), Some(&DenyReason::LoginTimeout));
}

#[test]
fn cancel_ends_a_ringing_login() {
    let m = Machine::default();
    let (login, actions) = step(&m, ringing(&m, facts("alice")), EventKind::Cancel, at(5));
    assert_eq!(denied_reason(&login), Some(&DenyReason::Cancelled));
    assert_eq!(
        actions[0],
        Action::CancelCall {
            attempt: AttemptId::new(1)
        }
    );
    assert_eq!(
        actions.len(),
        3,
        "no failure counted for a cancel: {actions:?}"
    );
}

#[test]
fn foreign_stale_and_impossible_events_hand_the_state_back() {
    let m = Machine::default();
    let login = ringing(&m, facts("alice"));
    let cases = [
        (
            Event::new(OTHER, EventKind::Cancel),
            RejectReason::ForeignLogin { event_login: OTHER },
        ),
        (
            ev(EventKind::CallEnded {
                attempt: AttemptId::new(2),
                outcome: FactorOutcome::Approved,
            }),
            RejectReason::StaleAttempt {
                attempt: AttemptId::new(2),
            },
        ),
        (
            ev(EventKind::PasswordEntered),
            RejectReason::Unexpected {
                phase: "awaiting-second-factor",
                event: "password-entered",
            },
        ),
        (
            ev(EventKind::CallPlaced {
                attempt: AttemptId::new(1),
            }),
            RejectReason::Unexpected {
                phase: "awaiting-second-factor",
                event: "call-placed",
            },
        ),
    ];
    for (event, why) in cases {
        let rejected = m.step(login.clone(), event, at(5)).unwrap_err();
        assert_eq!(*rejected.state, login);
        assert_eq!(rejected.why, why);
    }
    let (done, _) = step(&m, login, EventKind::Cancel, at(5));
    let rejected = m
        .step(done.clone(), ev(EventKind::Cancel), at(6))
        .unwrap_err();
    assert_eq!(
        (*rejected.state, rejected.why),
        (done, RejectReason::Finished)
    );
}

#[test]
fn an_outcome_before_the_call_was_placed_is_rejected() {
    let m = Machine::default();
    let (login, _) = verified(&m, facts("alice"));
    let event = ev(EventKind::CallEnded {
        attempt: AttemptId::new(1),
        outcome: FactorOutcome::Approved,
    });
    assert!(m.step(login, event, at(3)).is_err());
}

#[test]
fn state_round_trips_through_its_versioned_stored_form() {
    let m = Machine::default();
    let login = ringing(&m, facts("alice"));
    let json = login.to_json().unwrap();
    assert!(json.starts_with("{\"version\":1,"), "{json}");
    assert_eq!(Login::from_json(&json).unwrap(), login);
    let future = json.replacen("\"version\":1", "\"version\":2", 1);
    let err = Login::from_json(&future).unwrap_err().to_string();
    assert!(err.contains("unsupported login state version 2"), "{err}");
}

// ---- property tests ----------------------------------------------------------------------

fn arb_facts() -> impl Strategy<Value = UserFacts> {
    let lock = prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)];
    let phone = prop_oneof![4 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)];
    let w = prop::bool::weighted;
    (w(0.8), w(0.1), lock, w(0.15), w(0.3), phone).prop_map(
        |(enforced, blocked, lock, bypass, open, phone)| {
            let phone = match phone {
                0 => PhoneFacts::Known(target(1, NumberKind::Mobile)),
                1 => PhoneFacts::HeldByService,
                _ => PhoneFacts::Unusable(NoPhone::Missing),
            };
            let mut f = UserFacts::new(user("alice"), phone)
                .with_enforcement(if enforced {
                    Enforcement::Enforced
                } else {
                    Enforcement::NotEnforced
                })
                .with_blocked(blocked)
                .with_phone_lock([None, Some(at(1)), Some(at(100_000))][usize::from(lock)]);
            if bypass {
                f = f.with_bypass(Some(BypassGrant {
                    until: at(100_000),
                    reason: "r".into(),
                    granted_by: "a".into(),
                }));
            }
            if open {
                f = f.with_fail_mode(FailMode::Open { group: "g".into() });
            }
            f
        },
    )
}

fn arb_outcome() -> impl Strategy<Value = FactorOutcome> {
    prop_oneof![
        4 => Just(FactorOutcome::Approved),
        1 => Just(FactorOutcome::Denied { denial: Denial::UserDenied }),
        1 => Just(FactorOutcome::Denied { denial: Denial::FraudReported }),
        1 => Just(FactorOutcome::Denied { denial: Denial::NoAnswer }),
        1 => Just(FactorOutcome::Unavailable),
        1 => Just(FactorOutcome::Refused),
    ]
}

fn arb_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        Just(EventKind::UsernameEntered {
            username: user("alice")
        }),
        Just(EventKind::PasswordEntered),
        arb_facts()
            .prop_map(|f| EventKind::FirstFactorChecked(FirstFactorResult::Verified(Box::new(f)))),
        Just(EventKind::FirstFactorChecked(FirstFactorResult::Rejected(
            CredentialFailure::BadPassword
        ))),
        Just(EventKind::FirstFactorChecked(
            FirstFactorResult::Unavailable
        )),
        (0u32..3).prop_map(|a| EventKind::CallPlaced {
            attempt: AttemptId::new(a)
        }),
        (0u32..3).prop_map(|a| EventKind::CallNotPlaced {
            attempt: AttemptId::new(a),
            rule: CallRule::OutstandingCall
        }),
        (0u32..3, arb_outcome()).prop_map(|(a, outcome)| EventKind::CallEnded {
            attempt: AttemptId::new(a),
            outcome
        }),
        (0u32..3, arb_outcome()).prop_map(|(a, outcome)| EventKind::CallEnded {
            attempt: AttemptId::new(a),
            outcome
        }),
        Just(EventKind::Tick),
        Just(EventKind::Cancel),
        Just(EventKind::StoreFailed),
    ]
}

/// One scripted step: whether the event is for another login, whether to send the event the
/// login expects next (so that deep paths are reached often) or the random one, the random
/// event, facts and outcome for the expected one, and the seconds to advance.
type ScriptStep = (bool, bool, EventKind, UserFacts, FactorOutcome, u64);

fn arb_script() -> impl Strategy<Value = Vec<ScriptStep>> {
    let step = (
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.7),
        arb_kind(),
        arb_facts(),
        arb_outcome(),
        0u64..40,
    );
    prop::collection::vec(step, 1..14)
}

/// The event `login` is waiting for.
fn expected(login: &Login, facts: UserFacts, outcome: FactorOutcome) -> Option<EventKind> {
    Some(match login.phase() {
        Phase::AwaitingUsername => EventKind::UsernameEntered {
            username: user("alice"),
        },
        Phase::AwaitingPassword { .. } => EventKind::PasswordEntered,
        Phase::VerifyingPassword { .. } => {
            EventKind::FirstFactorChecked(FirstFactorResult::Verified(Box::new(facts)))
        }
        Phase::AwaitingSecondFactor {
            attempt,
            placed: false,
            ..
        } => EventKind::CallPlaced { attempt: *attempt },
        Phase::AwaitingSecondFactor { attempt, .. } => EventKind::CallEnded {
            attempt: *attempt,
            outcome,
        },
        _ => return None,
    })
}

/// How many generated scripts reached an approved call: the generator must reach deep paths.
static APPROVALS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[test]
fn random_scripts_reach_approved_calls_often() {
    invariants_hold_over_random_event_sequences();
    let approvals = APPROVALS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        approvals >= 50,
        "only {approvals} of 2000 scripts reached an approved call"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn invariants_hold_over_random_event_sequences(script in arb_script()) {
        let m = Machine::default();
        let mut login = Login::new(ID, source(), T0);
        let mut now = T0;
        let mut verified_facts: Option<UserFacts> = None;
        let mut approved: Option<AttemptId> = None;
        let mut skipped_by_outage = false;
        let mut denied: Option<DenyReason> = None;
        let mut reached_approval = false;
        for (foreign, follow, random, facts, outcome, advance) in script {
            now = now.plus(Duration::from_secs(advance));
            let kind = if follow { expected(&login, facts, outcome).unwrap_or(random) } else { random };
            let before = login.clone();
            let event = Event::new(if foreign { OTHER } else { ID }, kind.clone());
            match m.step(login, event, now) {
                Err(rejected) => {
                    prop_assert_eq!(&*rejected.state, &before, "a rejection hands the state back");
                    login = *rejected.state;
                }
                Ok((next, actions)) => {
                    prop_assert!(!foreign, "an event for another login was accepted");
                    if let EventKind::CallEnded { attempt, outcome } = &kind {
                        match before.phase() {
                            Phase::AwaitingSecondFactor { attempt: current, .. } if current == attempt => {
                                if *outcome == FactorOutcome::Approved && next.phase().name() == "authenticated" {
                                    approved = Some(*attempt);
                                    reached_approval = true;
                                }
                                if *outcome == FactorOutcome::Unavailable {
                                    skipped_by_outage = true;
                                }
                            }
                            _ => prop_assert!(
                                matches!(denied_reason(&next), Some(DenyReason::LoginTimeout | DenyReason::RingTimeout | DenyReason::IdleTimeout)),
                                "a stale call outcome was accepted: {:?}", next.phase()
                            ),
                        }
                    }
                    if let (Phase::VerifyingPassword { .. }, EventKind::FirstFactorChecked(FirstFactorResult::Verified(f))) = (before.phase(), &kind)
                        && (next.phase().name() != "denied" || denied_reason(&next).is_some_and(DenyReason::after_first_factor))
                    {
                        verified_facts = Some((**f).clone());
                    }
                    for action in &actions {
                        if let Action::Audit(e) = action {
                            prop_assert_eq!(e.login, Some(ID));
                        }
                    }
                    login = next;
                }
            }
            if let Some(reason) = &denied {
                prop_assert_eq!(denied_reason(&login), Some(reason), "a denied login changed");
            }
            if let Some(reason) = denied_reason(&login) {
                denied = Some(reason.clone());
            }
            if let Phase::Authenticated { second_factor, .. } = login.phase() {
                let f = verified_facts.as_ref();
                prop_assert!(f.is_some(), "authenticated without a verified first factor");
                let f = f.unwrap();
                prop_assert!(!f.blocked);
                match second_factor {
                    SecondFactorStatus::Approved { attempt } => prop_assert_eq!(Some(*attempt), approved),
                    SecondFactorStatus::NotEnforced => prop_assert_eq!(f.enforcement, Enforcement::NotEnforced),
                    SecondFactorStatus::Bypassed => prop_assert!(f.bypass.is_some() && f.enforcement == Enforcement::Enforced),
                    SecondFactorStatus::Skipped { .. } => prop_assert!(skipped_by_outage && f.fail_mode != FailMode::Closed),
                }
            }
            let stored = Login::from_json(&login.to_json().unwrap()).unwrap();
            prop_assert_eq!(&stored, &login);
        }
        APPROVALS.fetch_add(u32::from(reached_approval), std::sync::atomic::Ordering::Relaxed);
    }
}
