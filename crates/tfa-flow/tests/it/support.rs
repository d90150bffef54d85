//! One fixture for every driver test: a real local password store (cheap argon2 parameters)
//! in a temporary directory, the in-memory stores, an audit sink to read back, and a phone
//! whose behaviour each test scripts per user.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use tfa_directory::{
    DirectoryError, FirstFactor, HashParams, Identity, LocalDirectory, NewUser, UserRecord,
    Username,
};
use tfa_flow::{
    AuditEvent, AuditKind, Authenticator, Denial, DenyReason, FactorError, FactorOutcome,
    FactorRequest, LoginId, MemoryAuditSink, MemoryPhoneBook, NumberNeed, PhoneBook, Policy,
    Progress, SecondFactor,
};
use tfa_phone::PhoneNumber;

pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const ALICE_PHONE: &str = "1 9259249500";

pub(crate) fn user(name: &str) -> Username {
    Username::new(name).unwrap()
}

pub(crate) fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

pub(crate) fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

pub(crate) fn number(stored: &str) -> PhoneNumber {
    PhoneNumber::parse_stored(stored).unwrap()
}

/// A policy for quick tests: no password floor, short timeouts, generous limits.
pub(crate) fn quick_policy() -> Policy {
    let mut policy = Policy::default();
    policy.password_floor = Duration::ZERO;
    policy.machine.ring_timeout = Duration::from_secs(5);
    policy.machine.login_timeout = Duration::from_secs(30);
    policy.calls.fatigue.base_delay = Duration::from_millis(1);
    policy.calls.fatigue.max_delay = Duration::from_millis(1);
    policy
}

/// How the scripted phone answers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Script {
    Approve,
    Deny(Denial),
    /// The service cannot be reached.
    Unavailable,
    /// Rings until the call is dropped.
    NeverAnswer,
}

/// A second factor whose phone answers as scripted per PhoneFactor username, after
/// `answer_after`. Counts calls and calls dropped unanswered.
#[derive(Debug)]
pub(crate) struct ScriptedPhone {
    scripts: Mutex<HashMap<String, Script>>,
    pub(crate) answer_after: Mutex<Duration>,
    pub(crate) need: NumberNeed,
    pub(crate) calls: AtomicUsize,
    pub(crate) dropped: Arc<AtomicUsize>,
    pub(crate) requests: Mutex<Vec<FactorRequest>>,
}

impl ScriptedPhone {
    pub(crate) fn new(need: NumberNeed) -> Self {
        Self {
            scripts: Mutex::new(HashMap::new()),
            answer_after: Mutex::new(Duration::from_millis(20)),
            need,
            calls: AtomicUsize::new(0),
            dropped: Arc::new(AtomicUsize::new(0)),
            requests: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn script(&self, factor_username: &str, script: Script) {
        self.scripts
            .lock()
            .unwrap()
            .insert(factor_username.to_owned(), script);
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Waits up to 5 s until `n` calls were placed; true if they were.
    pub(crate) async fn wait_for_calls(&self, n: usize) -> bool {
        for _ in 0..500 {
            if self.calls() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Waits up to 5 s until `n` calls were dropped unanswered; true if they were.
    pub(crate) async fn wait_for_drops(&self, n: usize) -> bool {
        for _ in 0..500 {
            if self.dropped.load(Ordering::SeqCst) >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

/// Counts a call dropped before it ended.
struct DropGuard(Arc<AtomicUsize>, bool);

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl SecondFactor for ScriptedPhone {
    fn name(&self) -> &str {
        "scripted-phone"
    }

    fn number_need(&self) -> NumberNeed {
        self.need
    }

    async fn verify(&self, request: &FactorRequest) -> Result<FactorOutcome, FactorError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().unwrap().push(request.clone());
        let mut guard = DropGuard(self.dropped.clone(), false);
        let script = self
            .scripts
            .lock()
            .unwrap()
            .get(&request.factor_username)
            .copied()
            .unwrap_or(Script::Approve);
        let after = *self.answer_after.lock().unwrap();
        let outcome = match script {
            Script::Approve => {
                tokio::time::sleep(after).await;
                Ok(FactorOutcome::Approved)
            }
            Script::Deny(denial) => {
                tokio::time::sleep(after).await;
                Ok(FactorOutcome::Denied { denial })
            }
            Script::Unavailable => Err(FactorError::Unavailable {
                service: "scripted".into(),
                source: "connection refused".into(),
            }),
            Script::NeverAnswer => {
                std::future::pending::<()>().await;
                unreachable!()
            }
        };
        guard.1 = true;
        outcome
    }
}

/// The real local store behind a counter of password checks, and a switch that makes it
/// behave as an unreachable directory.
#[derive(Debug)]
pub(crate) struct CountingDirectory {
    pub(crate) inner: LocalDirectory,
    pub(crate) verifies: AtomicUsize,
    pub(crate) down: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl FirstFactor for CountingDirectory {
    async fn verify(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(DirectoryError::Unreachable {
                server: "ldap://127.0.0.1:1".into(),
                source: "connection refused".into(),
            });
        }
        self.inner.verify(username, password).await
    }

    async fn lookup(&self, username: &Username) -> Result<Option<UserRecord>, DirectoryError> {
        self.inner.lookup(username).await
    }
}

/// Where phone numbers come from in a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Agent mode: numbers in the directory, the service may hold others.
    Agent,
    /// Direct mode: numbers in the application's phone book, required.
    Direct,
}

pub(crate) struct Fixture {
    pub(crate) auth: Authenticator,
    pub(crate) audit: Arc<MemoryAuditSink>,
    pub(crate) phone: Arc<ScriptedPhone>,
    pub(crate) directory: Arc<CountingDirectory>,
    pub(crate) book: Arc<MemoryPhoneBook>,
    _dir: tempfile::TempDir,
}

/// The real local store with the users below (cheap argon2 parameters) behind the counting
/// wrapper, and a phone book with their numbers for direct mode. Users: alice (phone), bob
/// (no phone), dave (group helpdesk, phone), erin (disabled), frank (group kiosk, no phone),
/// uk (a UK number).
pub(crate) async fn local_users() -> (
    Arc<CountingDirectory>,
    Arc<MemoryPhoneBook>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let params = HashParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let store = LocalDirectory::open_or_create(dir.path().join("users.json"), params)
        .await
        .unwrap();
    let book = Arc::new(MemoryPhoneBook::new());
    let add = |name: &str| NewUser::new(user(name), secret(PASSWORD));
    store
        .add_user(
            add("alice")
                .phone(number(ALICE_PHONE))
                .display_name("Alice"),
        )
        .await
        .unwrap();
    store.add_user(add("bob")).await.unwrap();
    store
        .add_user(
            add("dave")
                .phone(number("1 9259249501"))
                .groups(vec!["helpdesk".into()]),
        )
        .await
        .unwrap();
    store
        .add_user(add("erin").phone(number("1 9259249502")).disabled())
        .await
        .unwrap();
    store
        .add_user(add("frank").groups(vec!["kiosk".into()]))
        .await
        .unwrap();
    store
        .add_user(add("uk").phone(number("44 2079460958")))
        .await
        .unwrap();
    for (name, stored) in [
        ("alice", ALICE_PHONE),
        ("dave", "1 9259249501"),
        ("erin", "1 9259249502"),
        ("uk", "44 2079460958"),
    ] {
        book.insert(&user(name), number(stored));
    }
    let directory = Arc::new(CountingDirectory {
        inner: store,
        verifies: AtomicUsize::new(0),
        down: false.into(),
    });
    (directory, book, dir)
}

/// The local users with the scripted phone.
pub(crate) async fn fixture(mode: Mode, policy: Policy) -> Fixture {
    let need = if mode == Mode::Direct {
        NumberNeed::Required
    } else {
        NumberNeed::Optional
    };
    let phone = Arc::new(ScriptedPhone::new(need));
    let mut f = fixture_with(mode, policy, phone.clone()).await;
    f.phone = phone;
    f
}

/// The local users with any second factor (`phone` then stays an idle scripted phone).
pub(crate) async fn fixture_with(
    mode: Mode,
    policy: Policy,
    factor: Arc<dyn SecondFactor>,
) -> Fixture {
    let (directory, book, dir) = local_users().await;
    let audit = Arc::new(MemoryAuditSink::new());
    let mut builder = Authenticator::builder(directory.clone(), factor)
        .policy(policy)
        .audit_sink(audit.clone());
    if mode == Mode::Direct {
        builder = builder.phone_book(book.clone() as Arc<dyn PhoneBook>);
    }
    let phone = Arc::new(ScriptedPhone::new(NumberNeed::Required));
    Fixture {
        auth: builder.build().unwrap(),
        audit,
        phone,
        directory,
        book,
        _dir: dir,
    }
}

impl Fixture {
    /// Begins and submits a password for `name` from `source`.
    pub(crate) async fn login(
        &self,
        name: &str,
        password: &str,
        source: IpAddr,
    ) -> (LoginId, Progress) {
        let id = self.auth.begin(name, source).await.unwrap();
        let progress = self
            .auth
            .submit_password(id, secret(password))
            .await
            .unwrap();
        (id, progress)
    }

    /// A full login, waiting for the second factor.
    pub(crate) async fn full_login(&self, name: &str, password: &str, source: IpAddr) -> Progress {
        let (id, progress) = self.login(name, password, source).await;
        match progress {
            Progress::Calling { .. } => self.auth.second_factor(id).await.unwrap(),
            other => other,
        }
    }

    /// The audit events of one login.
    pub(crate) fn audit_of(&self, id: LoginId) -> Vec<AuditKind> {
        self.audit
            .events()
            .into_iter()
            .filter(|e| e.login == Some(id))
            .map(|e| e.kind)
            .collect()
    }

    /// The reason the last denial of the audit log gives.
    pub(crate) fn last_denial(&self) -> DenyReason {
        self.audit
            .events()
            .into_iter()
            .rev()
            .find_map(|e: AuditEvent| {
                if let AuditKind::Denied { reason } = e.kind {
                    Some(reason)
                } else {
                    None
                }
            })
            .expect("a denial in the audit log")
    }
}

/// An authenticator over any directory, with the scripted phone (the service holds numbers
/// the directory lacks) and an audit sink to read back.
pub(crate) fn over(
    directory: Arc<dyn FirstFactor>,
    policy: Policy,
) -> (Authenticator, Arc<ScriptedPhone>, Arc<MemoryAuditSink>) {
    let phone = Arc::new(ScriptedPhone::new(NumberNeed::Optional));
    let audit = Arc::new(MemoryAuditSink::new());
    let auth = Authenticator::builder(directory, phone.clone())
        .policy(policy)
        .audit_sink(audit.clone())
        .build()
        .unwrap();
    (auth, phone, audit)
}

/// The reason of the last denial in `audit`.
pub(crate) fn last_denial(audit: &MemoryAuditSink) -> DenyReason {
    audit
        .events()
        .into_iter()
        .rev()
        .find_map(|e| {
            if let AuditKind::Denied { reason } = e.kind {
                Some(reason)
            } else {
                None
            }
        })
        .expect("a denial in the audit log")
}
