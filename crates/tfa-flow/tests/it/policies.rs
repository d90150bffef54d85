//! Every policy, end to end through the driver and the real local store.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tfa_flow::{
    AuditKind, CallRule, Denial, DenyReason, Enforcement, NoPhone, Progress, SecondFactorStatus,
    Severity, UserMessage,
};

use crate::support::*;

fn denied(message: UserMessage) -> Progress {
    Progress::Denied { message }
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer_in_the_same_time() {
    let mut policy = quick_policy();
    policy.password_floor = Duration::from_millis(300);
    let f = fixture(Mode::Direct, policy).await;
    let mut answers = Vec::new();
    for name in ["alice", "nobody-here"] {
        let id = f.auth.begin(name, ip(1)).await.unwrap();
        assert_eq!(
            f.auth.poll(id).await.unwrap(),
            Progress::AwaitingPassword,
            "the username step is the same"
        );
        let started = Instant::now();
        let progress = f.auth.submit_password(id, secret("wrong")).await.unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300),
            "{name}: answered in {took:?}, before the floor"
        );
        assert!(took < Duration::from_secs(3), "{name}: {took:?}");
        answers.push(progress);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], denied(UserMessage::LoginFailed));
    let reasons: Vec<_> = f
        .audit
        .events()
        .into_iter()
        .filter_map(|e| {
            if let AuditKind::Denied { reason } = e.kind {
                Some(reason)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            DenyReason::Credentials {
                failure: tfa_flow::CredentialFailure::BadPassword
            },
            DenyReason::Credentials {
                failure: tfa_flow::CredentialFailure::UnknownUser
            },
        ],
        "the audit log tells them apart"
    );
}

#[tokio::test]
async fn password_lockout_stops_checking_and_is_never_revealed() {
    let mut policy = quick_policy();
    policy.lockout.password.per_user.threshold = 3;
    let f = fixture(Mode::Direct, policy).await;
    for _ in 0..3 {
        assert_eq!(
            f.login("alice", "wrong", ip(1)).await.1,
            denied(UserMessage::LoginFailed)
        );
    }
    assert_eq!(f.directory.verifies.load(Ordering::SeqCst), 3);
    // Locked: even the right password is not checked, and the answer is the usual one.
    assert_eq!(
        f.login("alice", PASSWORD, ip(2)).await.1,
        denied(UserMessage::LoginFailed)
    );
    assert_eq!(
        f.directory.verifies.load(Ordering::SeqCst),
        3,
        "no bind while locked"
    );
    assert!(matches!(
        f.last_denial(),
        DenyReason::PasswordStepLocked { .. }
    ));
    // Unknown users lock the same way, so locks reveal nothing either.
    for _ in 0..4 {
        f.login("nobody", "wrong", ip(3)).await;
    }
    assert!(matches!(
        f.last_denial(),
        DenyReason::PasswordStepLocked { .. }
    ));
    // Other users are not affected.
    assert!(matches!(
        f.login("dave", PASSWORD, ip(1)).await.1,
        Progress::Calling { .. }
    ));
}

#[tokio::test]
async fn password_lockout_per_source_address_stops_spraying() {
    let mut policy = quick_policy();
    policy.lockout.password.per_source.threshold = 4;
    let f = fixture(Mode::Direct, policy).await;
    for name in ["alice", "bob", "dave", "frank"] {
        f.login(name, "Summer2026!", ip(66)).await;
    }
    assert_eq!(
        f.login("uk", PASSWORD, ip(66)).await.1,
        denied(UserMessage::LoginFailed)
    );
    assert!(matches!(
        f.last_denial(),
        DenyReason::PasswordStepLocked { .. }
    ));
    assert!(
        matches!(
            f.login("uk", PASSWORD, ip(67)).await.1,
            Progress::Calling { .. }
        ),
        "other addresses work"
    );
}

#[tokio::test]
async fn a_directory_outage_fails_closed_and_never_counts_as_a_failure() {
    let mut policy = quick_policy();
    policy.lockout.password.per_user.threshold = 2;
    let f = fixture(Mode::Direct, policy).await;
    f.directory.down.store(true, Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(
            f.login("alice", PASSWORD, ip(1)).await.1,
            denied(UserMessage::TemporarilyUnavailable)
        );
    }
    assert_eq!(f.last_denial(), DenyReason::DirectoryUnavailable);
    f.directory.down.store(false, Ordering::SeqCst);
    assert!(matches!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
}

#[tokio::test]
async fn account_problems_are_told_only_after_the_right_password() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    assert_eq!(
        f.login("erin", "wrong", ip(1)).await.1,
        denied(UserMessage::LoginFailed)
    );
    assert_eq!(
        f.login("erin", PASSWORD, ip(1)).await.1,
        denied(UserMessage::ContactAdministrator)
    );
    assert_eq!(
        f.last_denial(),
        DenyReason::Account {
            problem: tfa_flow::AccountProblem::Disabled
        }
    );
}

#[tokio::test]
async fn phone_lockout_is_revealed_only_after_the_right_password() {
    let mut policy = quick_policy();
    policy.lockout.phone.per_user.threshold = 2;
    let f = fixture(Mode::Direct, policy).await;
    f.phone.script("alice", Script::Deny(Denial::UserDenied));
    for _ in 0..2 {
        assert_eq!(
            f.full_login("alice", PASSWORD, ip(1)).await,
            denied(UserMessage::SecondFactorFailed)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let calls = f.phone.calls();
    let Progress::Denied {
        message: UserMessage::TooManyAttempts { .. },
    } = f.login("alice", PASSWORD, ip(1)).await.1
    else {
        panic!("the lock is told after the right password")
    };
    assert_eq!(
        f.login("alice", "wrong", ip(1)).await.1,
        denied(UserMessage::LoginFailed),
        "but not after a wrong one"
    );
    assert_eq!(f.phone.calls(), calls, "no call while locked");
}

#[tokio::test]
async fn escalating_delays_after_a_denied_call_defend_against_push_fatigue() {
    let mut policy = quick_policy();
    policy.calls.fatigue.base_delay = Duration::from_secs(30);
    policy.calls.fatigue.max_delay = Duration::from_secs(300);
    let f = fixture(Mode::Direct, policy).await;
    f.phone.script("alice", Script::Deny(Denial::NoAnswer));
    assert_eq!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        denied(UserMessage::SecondFactorFailed)
    );
    let Progress::Denied {
        message: UserMessage::TooManyAttempts { .. },
    } = f.login("alice", PASSWORD, ip(1)).await.1
    else {
        panic!("the next call waits")
    };
    assert!(matches!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: CallRule::FatigueDelay { .. }
        }
    ));
    assert_eq!(f.phone.calls(), 1);
}

#[tokio::test]
async fn calls_per_user_and_per_number_are_limited() {
    let mut policy = quick_policy();
    policy.calls.per_user = tfa_flow::Rate::new(2, Duration::from_secs(3600));
    policy.calls.per_number = tfa_flow::Rate::new(3, Duration::from_secs(3600));
    let f = fixture(Mode::Direct, policy).await;
    for _ in 0..2 {
        assert!(matches!(
            f.full_login("alice", PASSWORD, ip(1)).await,
            Progress::Authenticated(_)
        ));
    }
    assert_eq!(
        f.login("alice", PASSWORD, ip(1)).await.1,
        denied(UserMessage::ContactAdministrator)
    );
    assert_eq!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: CallRule::UserRate {
                limit: 2,
                window_secs: 3600
            }
        }
    );
    // Bob shares Alice's number: one more call to it, then the number's limit refuses.
    f.book.insert(&user("bob"), number(ALICE_PHONE));
    assert!(matches!(
        f.full_login("bob", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
    assert_eq!(
        f.login("bob", PASSWORD, ip(1)).await.1,
        denied(UserMessage::ContactAdministrator)
    );
    assert_eq!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: CallRule::NumberRate {
                limit: 3,
                window_secs: 3600
            }
        }
    );
    assert_eq!(f.phone.calls(), 3);
}

#[tokio::test]
async fn calls_per_country_are_limited() {
    let mut policy = quick_policy();
    policy.calls.per_country = tfa_flow::Rate::new(1, Duration::from_secs(3600));
    let f = fixture(Mode::Direct, policy).await;
    assert!(matches!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
    f.login("dave", PASSWORD, ip(1)).await;
    assert_eq!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: CallRule::CountryRate {
                country_code: 1,
                limit: 1,
                window_secs: 3600
            }
        }
    );
    assert!(
        matches!(
            f.full_login("uk", PASSWORD, ip(1)).await,
            Progress::Authenticated(_)
        ),
        "another country"
    );
}

#[tokio::test]
async fn countries_off_the_allow_list_and_premium_numbers_are_never_dialled() {
    let mut policy = quick_policy();
    policy.machine.allowed_countries = Some(vec![1]);
    let f = fixture(Mode::Direct, policy).await;
    assert_eq!(
        f.login("uk", PASSWORD, ip(1)).await.1,
        denied(UserMessage::ContactAdministrator)
    );
    assert_eq!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: CallRule::CountryNotAllowed { country_code: 44 }
        }
    );
    f.book.insert(
        &user("alice"),
        tfa_phone::PhoneNumber::parse("+1 900 200 5555", None).unwrap(),
    );
    f.login("alice", PASSWORD, ip(1)).await;
    assert_eq!(
        f.last_denial(),
        DenyReason::CallRefused {
            rule: CallRule::NumberKindDenied {
                kind: tfa_phone::NumberKind::PremiumRate
            }
        }
    );
    assert_eq!(f.phone.calls(), 0);
}

#[tokio::test]
async fn tfa_on_with_no_phone_is_denied_with_a_clear_reason() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    assert_eq!(
        f.login("bob", PASSWORD, ip(1)).await.1,
        denied(UserMessage::ContactAdministrator)
    );
    assert_eq!(
        f.last_denial(),
        DenyReason::NoUsablePhone {
            problem: NoPhone::Missing
        }
    );
    // In agent mode the service holds the numbers: bob is called by name.
    let f = fixture(Mode::Agent, quick_policy()).await;
    assert!(matches!(
        f.full_login("bob", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
    assert!(f.phone.requests.lock().unwrap()[0].number.is_none());
}

#[tokio::test]
async fn enforcement_per_user_in_bulk_and_by_group() {
    let mut policy = quick_policy();
    policy.enforcement.exempt_groups = vec!["kiosk".into()];
    let f = fixture(Mode::Direct, policy).await;
    // frank is in the exempt group: password only.
    let Progress::Authenticated(session) = f.login("frank", PASSWORD, ip(1)).await.1 else {
        panic!()
    };
    assert_eq!(session.second_factor(), &SecondFactorStatus::NotEnforced);
    // Bulk off for alice and dave, then back on for alice.
    f.auth
        .set_enforcement(&[user("alice"), user("dave")], Some(false), "root")
        .await
        .unwrap();
    for name in ["alice", "dave"] {
        assert!(
            matches!(
                f.login(name, PASSWORD, ip(1)).await.1,
                Progress::Authenticated(_)
            ),
            "{name}"
        );
    }
    f.auth
        .set_enforcement(&[user("alice")], Some(true), "root")
        .await
        .unwrap();
    assert!(matches!(
        f.login("alice", PASSWORD, ip(1)).await.1,
        Progress::Calling { .. }
    ));
    // A per-user setting beats the group.
    f.auth
        .set_enforcement(&[user("frank")], Some(true), "root")
        .await
        .unwrap();
    f.login("frank", PASSWORD, ip(1)).await;
    assert_eq!(
        f.last_denial(),
        DenyReason::NoUsablePhone {
            problem: NoPhone::Missing
        }
    );
    let changes = f
        .audit
        .events()
        .into_iter()
        .filter(|e| matches!(e.kind, AuditKind::EnforcementChanged { .. }))
        .count();
    assert_eq!(changes, 4);
    assert_eq!(
        f.auth.policy().enforcement.default,
        Enforcement::Enforced,
        "enforced by default"
    );
}

#[tokio::test]
async fn fraud_report_blocks_tfa_until_an_admin_unblocks_it() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    f.phone.script("alice", Script::Deny(Denial::FraudReported));
    assert_eq!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        denied(UserMessage::SecondFactorFailed)
    );
    let alert = f
        .audit
        .events()
        .into_iter()
        .find(|e| matches!(e.kind, AuditKind::FraudAlert { .. }))
        .unwrap();
    assert_eq!(alert.kind.severity(), Severity::Alert);
    assert!(f.auth.is_blocked(&user("alice")).await.unwrap());
    f.phone.script("alice", Script::Approve);
    assert_eq!(
        f.login("alice", PASSWORD, ip(1)).await.1,
        denied(UserMessage::ContactAdministrator)
    );
    assert_eq!(f.last_denial(), DenyReason::TfaBlocked);
    assert_eq!(f.phone.calls(), 1);
    assert!(f.auth.unblock(&user("alice"), "root").await.unwrap());
    assert!(matches!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
}

#[tokio::test]
async fn an_unreachable_phone_service_fails_closed_by_default() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    f.phone.script("alice", Script::Unavailable);
    f.phone.script("dave", Script::Unavailable);
    assert_eq!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        denied(UserMessage::TemporarilyUnavailable)
    );
    assert_eq!(
        f.full_login("dave", PASSWORD, ip(1)).await,
        denied(UserMessage::TemporarilyUnavailable)
    );
    assert_eq!(f.last_denial(), DenyReason::SecondFactorUnavailable);
}

#[tokio::test]
async fn a_fail_open_group_skips_the_second_factor_loudly() {
    let mut policy = quick_policy();
    policy.fail_open.groups = vec!["helpdesk".into()];
    let f = fixture(Mode::Direct, policy).await;
    f.phone.script("alice", Script::Unavailable);
    f.phone.script("dave", Script::Unavailable);
    assert_eq!(
        f.full_login("alice", PASSWORD, ip(1)).await,
        denied(UserMessage::TemporarilyUnavailable)
    );
    let Progress::Authenticated(session) = f.full_login("dave", PASSWORD, ip(1)).await else {
        panic!()
    };
    assert!(session.second_factor_skipped());
    let loud = f
        .audit
        .events()
        .into_iter()
        .find(|e| matches!(e.kind, AuditKind::SecondFactorSkipped { .. }))
        .unwrap();
    assert_eq!(loud.kind.severity(), Severity::Alert);
    assert_eq!(loud.user, Some(user("dave")));
}

#[tokio::test]
async fn a_one_time_bypass_lets_the_user_in_once_without_a_call() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    let err = f
        .auth
        .grant_bypass(&user("alice"), Duration::from_secs(600), " ", "root")
        .await;
    assert!(err.is_err(), "a bypass needs a reason");
    f.auth
        .grant_bypass(
            &user("alice"),
            Duration::from_secs(600),
            "phone lost, ticket 42",
            "root",
        )
        .await
        .unwrap();
    let Progress::Authenticated(session) = f.login("alice", PASSWORD, ip(1)).await.1 else {
        panic!()
    };
    assert_eq!(session.second_factor(), &SecondFactorStatus::Bypassed);
    assert!(f.audit.events().iter().any(|e| e.kind
        == AuditKind::BypassUsed {
            reason: "phone lost, ticket 42".into(),
            granted_by: "root".into()
        }));
    let Progress::Authenticated(session) = f.full_login("alice", PASSWORD, ip(1)).await else {
        panic!("the second login is called")
    };
    assert!(
        matches!(session.second_factor(), SecondFactorStatus::Approved { .. }),
        "used up"
    );
    assert_eq!(f.phone.calls(), 1);
    // A wrong password does not spend it.
    f.auth
        .grant_bypass(&user("dave"), Duration::from_secs(600), "travel", "root")
        .await
        .unwrap();
    f.login("dave", "wrong", ip(1)).await;
    let Progress::Authenticated(_) = f.login("dave", PASSWORD, ip(1)).await.1 else {
        panic!()
    };
}

#[tokio::test]
async fn audit_events_never_carry_a_secret() {
    let f = fixture(Mode::Direct, quick_policy()).await;
    f.full_login("alice", PASSWORD, ip(1)).await;
    f.login("alice", "hunter2-wrong", ip(1)).await;
    let dump = format!(
        "{:?} {}",
        f.audit.events(),
        serde_json::to_string(&f.audit.events()).unwrap()
    );
    assert!(
        !dump.contains(PASSWORD) && !dump.contains("hunter2"),
        "{dump}"
    );
    assert!(!dump.contains("9259249500"), "numbers are masked");
}
