//! The machine driven through the public API, as a web framework would drive it.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use tfa_directory::Username;
use tfa_flow::{
    Action, AttemptId, Event, EventKind, FactorOutcome, FirstFactorResult, Login, LoginId, Machine,
    Phase, PhoneFacts, SecondFactorStatus, Timestamp, UserFacts,
};

#[test]
fn a_login_stored_mid_call_finishes_on_another_node() {
    let id = LoginId::random().unwrap();
    let t0 = Timestamp::from_unix_millis(1_800_000_000_000);
    let source = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let alice = Username::new("alice").unwrap();
    let node_a = Machine::default();
    let login = Login::new(id, source, t0);
    let (login, _) = node_a
        .step(
            login,
            Event::new(
                id,
                EventKind::UsernameEntered {
                    username: alice.clone(),
                },
            ),
            t0,
        )
        .unwrap();
    let (login, _) = node_a
        .step(login, Event::new(id, EventKind::PasswordEntered), t0)
        .unwrap();
    let facts = UserFacts::new(alice.clone(), PhoneFacts::HeldByService);
    let verified = EventKind::FirstFactorChecked(FirstFactorResult::Verified(Box::new(facts)));
    let (login, actions) = node_a.step(login, Event::new(id, verified), t0).unwrap();
    let attempt = actions
        .iter()
        .find_map(|a| {
            if let Action::PlaceCall { attempt, .. } = a {
                Some(*attempt)
            } else {
                None
            }
        })
        .unwrap();
    let (login, _) = node_a
        .step(login, Event::new(id, EventKind::CallPlaced { attempt }), t0)
        .unwrap();
    let stored = login.to_json().unwrap();

    let node_b = Machine::default();
    let login = Login::from_json(&stored).unwrap();
    let later = t0.plus(Duration::from_secs(20));
    let stale = Event::new(
        id,
        EventKind::CallEnded {
            attempt: AttemptId::new(attempt.get() + 1),
            outcome: FactorOutcome::Approved,
        },
    );
    let login = *node_b.step(login, stale, later).unwrap_err().state;
    let ended = Event::new(
        id,
        EventKind::CallEnded {
            attempt,
            outcome: FactorOutcome::Approved,
        },
    );
    let (login, _) = node_b.step(login, ended, later).unwrap();
    assert_eq!(
        login.phase(),
        &Phase::Authenticated {
            username: alice,
            second_factor: SecondFactorStatus::Approved { attempt }
        }
    );
}
