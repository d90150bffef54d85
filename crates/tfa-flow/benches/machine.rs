//! Login-machine transitions per second: a whole approved login (username, password,
//! first-factor result, call placed, call approved: five transitions) per iteration.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tfa_directory::Username;
use tfa_flow::{
    AttemptId, Event, EventKind, FactorOutcome, FirstFactorResult, Login, LoginId, Machine,
    PhoneFacts, Timestamp, UserFacts,
};

fn approved_login(c: &mut Criterion) {
    let machine = Machine::default();
    let id = LoginId::from_bytes([3; 16]);
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let now = Timestamp::from_unix_millis(1_800_000_000_000);
    let alice = Username::new("alice").expect("a valid name");
    let facts = UserFacts::new(alice.clone(), PhoneFacts::HeldByService);
    let events = [
        EventKind::UsernameEntered { username: alice },
        EventKind::PasswordEntered,
        EventKind::FirstFactorChecked(FirstFactorResult::Verified(Box::new(facts))),
        EventKind::CallPlaced {
            attempt: AttemptId::new(1),
        },
        EventKind::CallEnded {
            attempt: AttemptId::new(1),
            outcome: FactorOutcome::Approved,
        },
    ];
    let mut group = c.benchmark_group("machine");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("approved_login_5_transitions", |b| {
        b.iter(|| {
            let mut login = Login::new(id, source, now);
            for kind in &events {
                let (next, actions) = machine
                    .step(login, Event::new(id, kind.clone()), now)
                    .expect("accepted");
                black_box(&actions);
                login = next;
            }
            black_box(login)
        });
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("stored_form_round_trip", |b| {
        let mut login = Login::new(id, source, now);
        for kind in &events[..4] {
            login = machine
                .step(login, Event::new(id, kind.clone()), now)
                .expect("accepted")
                .0;
        }
        b.iter(|| {
            Login::from_json(&black_box(&login).to_json().expect("serialises")).expect("parses")
        });
    });
    group.finish();
}

criterion_group!(benches, approved_login);
criterion_main!(benches);
