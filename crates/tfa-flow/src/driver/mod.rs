//! The async driver: runs the machine's actions with the configured directory, second
//! factor, stores and audit sink.
//!
//! Each step of a login is one call to the [`LoginTransactions`] (one round trip to a shared
//! store that implements them): begin; the password submitted (the login swapped to
//! "verifying" with every fact the step needs read alongside); the first factor verified (the
//! machine's decision, the call placed in memory, written once with the hold, the bypass and
//! the call limits); the call ended (its outcome, counters and hold). A waiter on the node
//! that ran the call hears the outcome in memory.

mod clock;
mod live;
mod progress;

pub use progress::{Progress, Session};

use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use secrecy::SecretString;
use tfa_directory::{DirectoryError, FirstFactor, Identity, PhoneField, Username};
use tfa_phone::PhoneNumber;
use tokio::sync::watch;

use crate::{
    AccountProblem, Action, AuditEvent, AuditKind, AuditSink, BypassGrant, CallReservation,
    CallTarget, Committed, ComposedTransactions, CounterKey, CounterStore, CredentialFailure,
    Effects, Event, EventKind, FactQuery, FactorError, FactorOutcome, FactorRequest,
    FirstFactorResult, FlowError, Hit, Login, LoginId, LoginTransactions, Machine,
    MemoryCounterStore, MemorySessionStore, MemoryTfaStateStore, NoPhone, NumberNeed, Phase,
    PhoneBook, PhoneFacts, Policy, RejectReason, Revision, SecondFactor, SecondFactorStatus,
    SessionStore, Step, StoredFacts, TfaStateStore, Timestamp, TracingAuditSink, Update, UserFacts,
    Verified,
};
use live::LiveTable;

/// Attempts at a compare-and-swap before giving up with [`FlowError::Contended`].
const MAX_SWAPS: usize = 16;

/// Slack added to timers so that the machine, which compares against the wall clock, sees
/// the deadline as passed when a tokio timer fires.
const TIMER_SLACK: Duration = Duration::from_millis(20);

/// How often a waiter re-reads the store when the call runs on another node.
const REMOTE_POLL: Duration = Duration::from_millis(250);

/// Runs logins: begin with a username, submit the password, then await or poll the second
/// factor. Cheap to clone; every clone drives the same logins.
///
/// Calls run on their own tasks, so no request waits for a phone to be answered, and many
/// thousands of logins can ring at once.
#[derive(Debug, Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: RwLock<Arc<Settings>>,
    first_factor: Arc<dyn FirstFactor>,
    transactions: Arc<dyn LoginTransactions>,
    tfa: Arc<dyn TfaStateStore>,
    audit: Option<Arc<dyn AuditSink>>,
    live: Mutex<LiveTable>,
}

/// What [`Authenticator::reconfigure`] replaces as a whole: each operation reads one
/// snapshot, so a login step never mixes an old policy with a new one.
#[derive(Debug)]
struct Settings {
    machine: Machine,
    policy: Arc<Policy>,
    second_factor: Arc<dyn SecondFactor>,
}

/// What the application knows about the user that the call needs (not stored: it stays on
/// the node that verified the password).
#[derive(Debug, Clone)]
struct CallPlan {
    factor_username: String,
    number: Option<PhoneNumber>,
}

/// Builds an [`Authenticator`]. The first and second factor are required; everything else
/// has a default (in-memory stores, [`Policy::default`], audit to `tracing` only).
#[derive(Debug)]
pub struct AuthenticatorBuilder {
    policy: Policy,
    first_factor: Arc<dyn FirstFactor>,
    second_factor: Arc<dyn SecondFactor>,
    sessions: Option<Arc<dyn SessionStore>>,
    tfa: Option<Arc<dyn TfaStateStore>>,
    counters: Option<Arc<dyn CounterStore>>,
    phone_book: Option<Arc<dyn PhoneBook>>,
    transactions: Option<Arc<dyn LoginTransactions>>,
    audit: Option<Arc<dyn AuditSink>>,
}

impl AuthenticatorBuilder {
    /// The policies. Default: [`Policy::default`].
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Where logins in progress live. Default: in memory. Drops [`transactions`] set
    /// before, which keep their data elsewhere.
    ///
    /// [`transactions`]: AuthenticatorBuilder::transactions
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
        self.transactions = None;
        self
    }

    /// Where enforcement settings, bypasses and blocks live. Default: in memory. Drops
    /// [`transactions`] set before, which keep their data elsewhere.
    ///
    /// [`transactions`]: AuthenticatorBuilder::transactions
    pub fn tfa_state_store(mut self, store: Arc<dyn TfaStateStore>) -> Self {
        self.tfa = Some(store);
        self.transactions = None;
        self
    }

    /// Where lockout and call-limit counters live. Default: in memory. Drops
    /// [`transactions`] set before, which keep their data elsewhere.
    ///
    /// [`transactions`]: AuthenticatorBuilder::transactions
    pub fn counter_store(mut self, store: Arc<dyn CounterStore>) -> Self {
        self.counters = Some(store);
        self.transactions = None;
        self
    }

    /// Where users' phone numbers come from (direct mode). Default: the directory record.
    /// Drops [`transactions`] set before, which read numbers from elsewhere.
    ///
    /// [`transactions`]: AuthenticatorBuilder::transactions
    pub fn phone_book(mut self, book: Arc<dyn PhoneBook>) -> Self {
        self.phone_book = Some(book);
        self.transactions = None;
        self
    }

    /// How each login step reads and writes the stores, one call per step. Default:
    /// [`ComposedTransactions`] over the session, TFA-state and counter stores and the phone
    /// book. Set it last: it must keep its data where those stores do (as a shared store's
    /// own implementation does), and setting any of them afterwards drops it again.
    pub fn transactions(mut self, transactions: Arc<dyn LoginTransactions>) -> Self {
        self.transactions = Some(transactions);
        self
    }

    /// Where audit events go, in addition to `tracing`. Default: `tracing` only.
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Validates the policy and builds the authenticator.
    pub fn build(self) -> Result<Authenticator, FlowError> {
        self.policy.validate()?;
        let tfa = self
            .tfa
            .unwrap_or_else(|| Arc::new(MemoryTfaStateStore::new()));
        let transactions = match self.transactions {
            Some(transactions) => transactions,
            None => Arc::new(ComposedTransactions::new(
                self.sessions
                    .unwrap_or_else(|| Arc::new(MemorySessionStore::new())),
                tfa.clone(),
                self.counters
                    .unwrap_or_else(|| Arc::new(MemoryCounterStore::new())),
                self.phone_book,
            )),
        };
        Ok(Authenticator {
            inner: Arc::new(Inner {
                settings: RwLock::new(Arc::new(Settings {
                    machine: Machine::new(self.policy.machine.clone()),
                    policy: Arc::new(self.policy),
                    second_factor: self.second_factor,
                })),
                first_factor: self.first_factor,
                transactions,
                tfa,
                audit: self.audit,
                live: Mutex::new(LiveTable::default()),
            }),
        })
    }
}

impl Authenticator {
    /// Starts building an authenticator that checks passwords with `first_factor` and
    /// verifies with `second_factor`.
    pub fn builder(
        first_factor: Arc<dyn FirstFactor>,
        second_factor: Arc<dyn SecondFactor>,
    ) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            policy: Policy::default(),
            first_factor,
            second_factor,
            sessions: None,
            tfa: None,
            counters: None,
            phone_book: None,
            transactions: None,
            audit: None,
        }
    }

    /// The policies in force now (a snapshot: [`Authenticator::reconfigure`] may replace
    /// them at any time).
    pub fn policy(&self) -> Arc<Policy> {
        self.settings().policy.clone()
    }

    /// Replaces the policies and the second factor for every step taken from now on, without
    /// a restart (e.g. when a shared configuration changes). Logins in progress keep their
    /// state; calls already ringing finish on the factor that placed them. The policy is
    /// validated first: on error nothing changes.
    pub fn reconfigure(
        &self,
        policy: Policy,
        second_factor: Arc<dyn SecondFactor>,
    ) -> Result<(), FlowError> {
        policy.validate()?;
        let settings = Arc::new(Settings {
            machine: Machine::new(policy.machine.clone()),
            policy: Arc::new(policy),
            second_factor,
        });
        match self.inner.settings.write() {
            Ok(mut current) => *current = settings,
            Err(poisoned) => *poisoned.into_inner() = settings,
        }
        Ok(())
    }

    fn settings(&self) -> Arc<Settings> {
        match self.inner.settings.read() {
            Ok(settings) => settings.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Begins a login for `username` (as typed) from `source`. Answers the same for every
    /// username, known or not: no directory is asked yet. Fails only for a username that is
    /// not acceptable at all (empty, too long, control characters).
    pub async fn begin(&self, username: &str, source: IpAddr) -> Result<LoginId, FlowError> {
        let username =
            Username::new(username).map_err(|source| FlowError::InvalidUsername { source })?;
        let id = LoginId::random()?;
        let now = clock::now();
        let login = Login::new(id, source, now);
        let settings = self.settings();
        let (login, actions) = settings
            .machine
            .step(
                login,
                Event::new(id, EventKind::UsernameEntered { username }),
                now,
            )
            .map_err(|rejected| FlowError::WrongStep {
                login: id,
                operation: "begin",
                reason: rejected.why.to_string(),
            })?;
        let revision = self
            .inner
            .transactions
            .begin(&login, self.expiry(&login, now))
            .await?;
        self.announce(&login, &actions);
        if let Ok(mut live) = self.inner.live.lock() {
            live.begun(login, revision, settings.policy.machine.idle_timeout);
        }
        Ok(id)
    }

    /// Checks the password for login `login` and, where TFA applies, places the call without
    /// waiting for it: the answer is [`Progress::Calling`], then await
    /// [`Authenticator::second_factor`] or [`Authenticator::poll`].
    ///
    /// Takes at least the policy's `password_floor`, whatever the outcome, so that answers
    /// cannot be told apart by timing.
    pub async fn submit_password(
        &self,
        login: LoginId,
        password: SecretString,
    ) -> Result<Progress, FlowError> {
        // Monotonic and to the microsecond: a millisecond clock could end the wait up to a
        // millisecond early.
        let floor = clock::deadline_after(self.settings().policy.password_floor);
        // Boxed: the step's state is on the heap only while it runs, so a task that submits
        // the password and then waits for the call (thousands at once) stays small.
        let result = Box::pin(self.password_step(login, &password)).await;
        drop(password);
        tokio::time::sleep_until(floor).await;
        result
    }

    /// Where login `login` stands now, expiring it if a timeout has run out.
    pub async fn poll(&self, login: LoginId) -> Result<Progress, FlowError> {
        if let Some(ended) = self.outcome(login) {
            return Ok(ended);
        }
        Ok(Progress::of(&self.apply(login, EventKind::Tick).await?))
    }

    /// Waits until login `login` is past its second factor (or never needed one) and
    /// returns how it ended. Cancel-safe: dropping the future leaves the login as it is.
    ///
    /// On the node whose call it is, the outcome comes from the call's task in memory; a
    /// waiter elsewhere reads the store.
    pub async fn second_factor(&self, login: LoginId) -> Result<Progress, FlowError> {
        loop {
            if let Some((mut ended, until)) = self.subscribe(login) {
                if let Some(done) = ended.borrow_and_update().clone() {
                    return Ok(done);
                }
                let nap = until.since(clock::now()) + TIMER_SLACK;
                tokio::select! {
                    _ = ended.changed() => {}
                    () = tokio::time::sleep(nap) => {}
                }
                if let Some(done) = ended.borrow().clone() {
                    return Ok(done);
                }
            }
            // Not ringing here (or not ended in time): the store knows.
            let subscribed = self.subscribe(login);
            let progress = self.poll(login).await?;
            let nap = match progress {
                Progress::Calling { until } => until.since(clock::now()) + TIMER_SLACK,
                Progress::CheckingPassword => REMOTE_POLL,
                _ => return Ok(progress),
            };
            match subscribed {
                Some((mut ended, _)) => {
                    tokio::select! {
                        _ = ended.changed() => {}
                        () = tokio::time::sleep(nap) => {}
                    }
                }
                None => tokio::time::sleep(nap.min(REMOTE_POLL)).await,
            }
        }
    }

    /// Cancels login `login`, stopping its call if one is ringing.
    pub async fn cancel(&self, login: LoginId) -> Result<Progress, FlowError> {
        Ok(Progress::of(&self.apply(login, EventKind::Cancel).await?))
    }

    /// Sets TFA on (`Some(true)`), off (`Some(false)`) or back to the group and default
    /// policy (`None`) for each of `users`, audited as done `by` an administrator.
    pub async fn set_enforcement(
        &self,
        users: &[Username],
        enforced: Option<bool>,
        by: &str,
    ) -> Result<(), FlowError> {
        for user in users {
            self.inner.tfa.set_enforcement(user, enforced).await?;
            self.admin_audit(
                user,
                AuditKind::EnforcementChanged {
                    enforced,
                    by: by.to_owned(),
                },
            );
        }
        Ok(())
    }

    /// Lets `user` log in once without a call within `valid_for`, audited with `reason` as
    /// granted `by` an administrator. Returns when the grant lapses.
    pub async fn grant_bypass(
        &self,
        user: &Username,
        valid_for: Duration,
        reason: &str,
        by: &str,
    ) -> Result<Timestamp, FlowError> {
        if reason.trim().is_empty() {
            return Err(FlowError::Config {
                field: "bypass reason",
                reason: "a bypass needs a reason for the audit log".into(),
            });
        }
        let until = clock::now().plus(valid_for);
        let grant = BypassGrant {
            until,
            reason: reason.to_owned(),
            granted_by: by.to_owned(),
        };
        self.inner.tfa.grant_bypass(user, grant).await?;
        self.admin_audit(
            user,
            AuditKind::BypassGranted {
                until,
                reason: reason.to_owned(),
                by: by.to_owned(),
            },
        );
        Ok(until)
    }

    /// Lifts a fraud block on `user`'s TFA, audited as done `by` an administrator. True if
    /// there was one.
    pub async fn unblock(&self, user: &Username, by: &str) -> Result<bool, FlowError> {
        let was = self.inner.tfa.unblock(user).await?;
        if was {
            self.admin_audit(user, AuditKind::Unblocked { by: by.to_owned() });
        }
        Ok(was)
    }

    /// True when `user`'s TFA is blocked after a fraud report.
    pub async fn is_blocked(&self, user: &Username) -> Result<bool, FlowError> {
        self.inner.tfa.is_blocked(user).await
    }

    // ---- the password step ------------------------------------------------------------

    async fn password_step(
        &self,
        id: LoginId,
        password: &SecretString,
    ) -> Result<Progress, FlowError> {
        let settings = self.settings();
        let idle = settings.policy.machine.idle_timeout;
        // The login as this node wrote it at `begin`, if it did: the expected revision of the
        // first write, so that the step is one round trip. A conflict hands back the truth.
        let mut known = self
            .inner
            .live
            .lock()
            .ok()
            .and_then(|mut live| live.take_begun(id, idle, clock::now()))
            .map(|(login, revision)| (login, revision, false));
        for _ in 0..MAX_SWAPS {
            let now = clock::now();
            let (login, revision, fresh) = match known.take() {
                Some(known) => known,
                None => match self.inner.transactions.load(id, now).await? {
                    Some((login, revision)) => (login, revision, true),
                    None => return Err(FlowError::UnknownLogin { login: id }),
                },
            };
            let (next, actions) =
                match settings
                    .machine
                    .step(login, Event::new(id, EventKind::PasswordEntered), now)
                {
                    Ok(transition) => transition,
                    // A remembered copy may be out of date: only the store's word refuses.
                    Err(_) if !fresh => continue,
                    Err(rejected) if rejected.why == RejectReason::Finished => {
                        return Ok(Progress::of(&rejected.state));
                    }
                    Err(rejected) => {
                        return Err(FlowError::WrongStep {
                            login: id,
                            operation: "submit a password",
                            reason: rejected.why.to_string(),
                        });
                    }
                };
            let update = Update {
                login: &next,
                expected: revision,
                expires_at: self.expiry(&next, now),
                now,
            };
            let Some(typed) = actions.iter().find_map(|a| match a {
                Action::VerifyPassword { username } => Some(username.clone()),
                _ => None,
            }) else {
                // Expired meanwhile: write the denial.
                let effects = self.effects_of(&next, &actions, now);
                match self.inner.transactions.commit(update, &effects).await? {
                    Committed::Done(_) => {
                        self.announce(&next, &actions);
                        return Ok(Progress::of(&next));
                    }
                    Committed::Conflict(current) => {
                        known = Some(self.current(id, current)?);
                        continue;
                    }
                }
            };
            let query = fact_query(&typed, next.source(), now, &settings.policy);
            let written = self
                .inner
                .transactions
                .password_submitted(update, &query)
                .await;
            match written {
                Ok((Committed::Done(revision), stored)) => {
                    self.announce(&next, &actions);
                    return self
                        .first_factor_step(next, revision, &typed, password, stored)
                        .await;
                }
                Ok((Committed::Conflict(current), _)) => {
                    known = Some(self.current(id, current)?);
                }
                Err(error) => {
                    tracing::error!(login = %id, %error, "store failed at the password step; failing closed");
                    return self.store_failed(id).await;
                }
            }
        }
        Err(FlowError::Contended { login: id })
    }

    /// The password lockout, then one check against the directory (never more than one bind
    /// per attempt), then the machine's decision, written once.
    async fn first_factor_step(
        &self,
        login: Login,
        revision: Revision,
        typed: &Username,
        password: &SecretString,
        stored: StoredFacts,
    ) -> Result<Progress, FlowError> {
        let settings = self.settings();
        let now = clock::now();
        let rules = settings.policy.lockout.password;
        let locked = rules
            .per_user
            .locked_until(&stored.password_failures_of_user, now)
            .max(
                rules
                    .per_source
                    .locked_until(&stored.password_failures_from_source, now),
            );
        let (result, plan) = match locked {
            Some(until) => (FirstFactorResult::Throttled { until }, None),
            None => {
                self.check_first_factor(&login, typed, password, stored)
                    .await
            }
        };
        self.conclude_first_factor(login, revision, result, plan)
            .await
    }

    async fn check_first_factor(
        &self,
        login: &Login,
        typed: &Username,
        password: &SecretString,
        stored: StoredFacts,
    ) -> (FirstFactorResult, Option<CallPlan>) {
        match self.inner.first_factor.verify(typed, password).await {
            Ok(identity) => match self.decide_facts(login, typed, &identity, stored).await {
                Ok((facts, plan)) => (FirstFactorResult::Verified(Box::new(facts)), Some(plan)),
                Err(error) => {
                    tracing::error!(login = %login.id(), %error, "store failed while deciding the second factor; failing closed");
                    (FirstFactorResult::StoreFailed, None)
                }
            },
            Err(DirectoryError::BadCredentials) => (
                FirstFactorResult::Rejected(CredentialFailure::BadPassword),
                None,
            ),
            Err(DirectoryError::UnknownUser) => (
                FirstFactorResult::Rejected(CredentialFailure::UnknownUser),
                None,
            ),
            Err(error) => match account_problem(&error) {
                Some(problem) => (FirstFactorResult::AccountRefused(problem), None),
                None => {
                    tracing::error!(login = %login.id(), error = %error, cause = ?std::error::Error::source(&error), "directory failed; failing closed");
                    (FirstFactorResult::Unavailable, None)
                }
            },
        }
    }

    /// The facts the machine decides the second factor on, from what the password step read
    /// (read again for the directory's canonical name where it differs from the name typed).
    async fn decide_facts(
        &self,
        login: &Login,
        typed: &Username,
        identity: &Identity,
        stored: StoredFacts,
    ) -> Result<(UserFacts, CallPlan), FlowError> {
        let settings = self.settings();
        let policy = &settings.policy;
        let now = clock::now();
        let record = identity.record();
        let user = record.username().clone();
        let stored = if CounterKey::user(&user) == CounterKey::user(typed) {
            stored
        } else {
            let query = fact_query(&user, login.source(), now, policy);
            self.inner.transactions.facts(&query).await?
        };
        let rules = policy.lockout.phone;
        let phone_lock = rules
            .per_user
            .locked_until(&stored.phone_failures_of_user, now)
            .max(
                rules
                    .per_source
                    .locked_until(&stored.phone_failures_from_source, now),
            );
        let enforcement = policy.enforcement.decide(stored.enforcement, record);
        let number: Result<Option<PhoneNumber>, NoPhone> = match stored.phone_book {
            Some(booked) => Ok(booked),
            None => match record.phone() {
                None => Ok(None),
                Some(PhoneField::Parsed(number)) => Ok(Some(number.clone())),
                Some(PhoneField::Unparsed { error, .. }) => Err(NoPhone::Unparseable {
                    reason: error.to_string(),
                }),
                Some(_) => Err(NoPhone::Unparseable {
                    reason: "unrecognised phone field".into(),
                }),
            },
        };
        let phone = match &number {
            Err(problem) => PhoneFacts::Unusable(problem.clone()),
            Ok(Some(number)) => PhoneFacts::Known(CallTarget::of(number)),
            Ok(None) => match settings.second_factor.number_need() {
                NumberNeed::Optional => PhoneFacts::HeldByService,
                _ => PhoneFacts::Unusable(NoPhone::Missing),
            },
        };
        let mut facts = UserFacts::new(user, phone)
            .with_enforcement(enforcement)
            .with_blocked(stored.blocked)
            .with_phone_lock(phone_lock)
            .with_fail_mode(policy.fail_open.mode(record));
        if facts.wants_bypass(now) {
            facts.bypass = stored.bypass.filter(|grant| grant.until > now);
        }
        let plan = CallPlan {
            factor_username: record.phonefactor_username().to_owned(),
            number: number.ok().flatten(),
        };
        Ok((facts, plan))
    }

    /// Applies the first factor's result, and the call placed where one is due, in memory;
    /// writes it once with the bypass, the hold and the call limits; then starts the call.
    async fn conclude_first_factor(
        &self,
        login: Login,
        revision: Revision,
        mut result: FirstFactorResult,
        plan: Option<CallPlan>,
    ) -> Result<Progress, FlowError> {
        let id = login.id();
        let settings = self.settings();
        let machine = &settings.machine;
        let mut current = (login, revision);
        for _ in 0..MAX_SWAPS {
            let now = clock::now();
            let (login, revision) = current.clone();
            let checked = Event::new(id, EventKind::FirstFactorChecked(result.clone()));
            let (decided, mut actions) = match machine.step(login, checked, now) {
                Ok(transition) => transition,
                Err(rejected) => return Ok(Progress::of(&rejected.state)),
            };
            let call = actions.iter().find_map(|a| match a {
                Action::PlaceCall { attempt, deadline } => Some((*attempt, *deadline)),
                _ => None,
            });
            let mut next = decided.clone();
            let mut reservation = None;
            if let (Some((attempt, deadline)), Some(plan)) = (call, &plan) {
                let placed = Event::new(id, EventKind::CallPlaced { attempt });
                let (placed, more) = machine.step(decided.clone(), placed, now).map_err(|r| {
                    FlowError::WrongStep {
                        login: id,
                        operation: "place a call",
                        reason: r.why.to_string(),
                    }
                })?;
                let Some(user) = placed.username().cloned() else {
                    return Err(FlowError::WrongStep {
                        login: id,
                        operation: "place a call",
                        reason: "the login names no user".into(),
                    });
                };
                next = placed;
                actions.extend(more);
                reservation = Some(CallReservation {
                    holder: id,
                    user,
                    number: plan
                        .number
                        .as_ref()
                        .map(|n| (n.e164(), n.country_code().get())),
                    until: deadline,
                    limits: settings.policy.calls.clone(),
                    now,
                });
            }
            let bypass = match (next.phase(), &result) {
                (
                    Phase::Authenticated {
                        second_factor: SecondFactorStatus::Bypassed,
                        ..
                    },
                    FirstFactorResult::Verified(facts),
                ) => facts.bypass.clone(),
                _ => None,
            };
            let effects = self.effects_of(&next, &actions, now);
            let update = Update {
                login: &next,
                expected: revision,
                expires_at: self.expiry(&next, now),
                now,
            };
            let written = self
                .inner
                .transactions
                .first_factor_verified(update, &effects, reservation.as_ref(), bypass.as_ref())
                .await;
            match written {
                Ok(Verified::Done(revision)) => {
                    self.announce(&next, &actions);
                    if let (Some((attempt, deadline)), Some(plan)) = (call, plan)
                        && let Some(user) = next.username().cloned()
                    {
                        let request = FactorRequest::new(
                            id,
                            attempt,
                            user,
                            plan.factor_username,
                            plan.number,
                            next.source(),
                        );
                        self.spawn_call(request, deadline, next.clone(), revision);
                    }
                    return Ok(Progress::of(&next));
                }
                Ok(Verified::Conflict(found)) => {
                    let (login, revision, _) = self.current(id, found)?;
                    current = (login, revision);
                }
                Ok(Verified::BypassChanged(grant)) => {
                    if let FirstFactorResult::Verified(facts) = &mut result {
                        facts.bypass = grant.filter(|g| g.until > now);
                    }
                }
                Ok(Verified::Refused(rule)) => {
                    let Some((attempt, _)) = call else {
                        return Err(FlowError::WrongStep {
                            login: id,
                            operation: "refuse a call",
                            reason: "no call was due".into(),
                        });
                    };
                    let refused = Event::new(id, EventKind::CallNotPlaced { attempt, rule });
                    let (denied, more) =
                        machine
                            .step(decided, refused, now)
                            .map_err(|r| FlowError::WrongStep {
                                login: id,
                                operation: "refuse a call",
                                reason: r.why.to_string(),
                            })?;
                    // The decision's own actions, without the call placed.
                    actions.retain(|a| {
                        !matches!(
                            a,
                            Action::Audit(AuditEvent {
                                kind: AuditKind::CallPlaced { .. },
                                ..
                            })
                        )
                    });
                    actions.extend(more);
                    let effects = self.effects_of(&denied, &actions, now);
                    let update = Update {
                        login: &denied,
                        expected: revision,
                        expires_at: self.expiry(&denied, now),
                        now,
                    };
                    match self.inner.transactions.commit(update, &effects).await {
                        Ok(Committed::Done(_)) => {
                            self.announce(&denied, &actions);
                            return Ok(Progress::of(&denied));
                        }
                        Ok(Committed::Conflict(found)) => {
                            let (login, revision, _) = self.current(id, found)?;
                            current = (login, revision);
                        }
                        Err(error) => {
                            tracing::error!(login = %id, %error, "store failed refusing a call; failing closed");
                            return self.store_failed(id).await;
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(login = %id, %error, "store failed at the first factor's decision; failing closed");
                    return self.store_failed(id).await;
                }
            }
        }
        Err(FlowError::Contended { login: id })
    }

    // ---- the phone step -----------------------------------------------------------------

    /// Runs the call on its own task; its outcome is written with its counters and the
    /// hold's release in one step, and handed to this node's waiters in memory.
    fn spawn_call(
        &self,
        request: FactorRequest,
        deadline: Timestamp,
        placed: Login,
        revision: Revision,
    ) {
        let this = self.clone();
        let id = request.login;
        // Register before spawning, so that the task's own removal cannot come first.
        if let Ok(mut live) = self.inner.live.lock() {
            live.insert(id, deadline, clock::now());
        }
        let second_factor = self.settings().second_factor.clone();
        let task = tokio::spawn(async move {
            let wait = deadline.since(clock::now()) + TIMER_SLACK;
            let ended = tokio::time::timeout(wait, second_factor.verify(&request)).await;
            let event = match ended {
                Ok(Ok(outcome)) => EventKind::CallEnded {
                    attempt: request.attempt,
                    outcome,
                },
                Ok(Err(error)) => {
                    let outcome = match &error {
                        FactorError::Refused { .. } => FactorOutcome::Refused,
                        _ => FactorOutcome::Unavailable,
                    };
                    tracing::error!(login = %id, %error, cause = ?std::error::Error::source(&error), "second factor failed");
                    EventKind::CallEnded {
                        attempt: request.attempt,
                        outcome,
                    }
                }
                Err(_) => EventKind::Tick,
            };
            // Stop being abortable first: ending the login cancels its call, and a task must
            // not abort itself half-way through recording its own outcome. The entry stays
            // until the outcome is written, so that a waiter arriving meanwhile is woken by it.
            if let Ok(mut live) = this.inner.live.lock()
                && let Some(entry) = live.calls.get_mut(&id)
            {
                entry.recording = true;
                entry.call = None;
            }
            let hold = (
                CounterKey::OutstandingCall(CounterKey::user(&request.username)),
                id,
            );
            // Boxed: the task stays small while its call rings (thousands at once).
            let recorded = Box::pin(this.call_ended(id, event, placed, revision, hold));
            if let Err(error) = recorded.await {
                tracing::error!(login = %id, %error, "could not record the call's outcome");
            }
            // Ended without an outcome written here (an error, or ended elsewhere): waiters
            // read the store.
            if let Ok(mut live) = this.inner.live.lock() {
                live.forget(id);
            }
        });
        if let Ok(mut live) = self.inner.live.lock()
            && let Some(entry) = live.calls.get_mut(&id)
            && !entry.recording
        {
            entry.call = Some(task.abort_handle());
        }
    }

    /// Writes a call's end with its effects and the release of its hold, in one step.
    async fn call_ended(
        &self,
        id: LoginId,
        event: EventKind,
        placed: Login,
        revision: Revision,
        hold: (CounterKey, LoginId),
    ) -> Result<(), FlowError> {
        let machine = self.settings().machine.clone();
        let mut current = (placed, revision, false);
        for _ in 0..MAX_SWAPS {
            let now = clock::now();
            let (login, revision, fresh) = current;
            let (next, actions) = match machine.step(login, Event::new(id, event.clone()), now) {
                Ok(transition) => transition,
                Err(_) if !fresh => {
                    current = self.load_fresh(id, now).await?;
                    continue;
                }
                Err(_) => {
                    // Ended already (elsewhere): only the hold is this call's to release.
                    let effects = Effects {
                        release: vec![hold],
                        ..Effects::default()
                    };
                    return self.inner.transactions.apply(&effects).await;
                }
            };
            let mut effects = self.effects_of(&next, &actions, now);
            if !effects.release.contains(&hold) {
                effects.release.push(hold.clone());
            }
            let update = Update {
                login: &next,
                expected: revision,
                expires_at: self.expiry(&next, now),
                now,
            };
            match self.inner.transactions.call_ended(update, &effects).await? {
                Committed::Done(_) => {
                    self.announce(&next, &actions);
                    return Ok(());
                }
                Committed::Conflict(found) => current = self.current(id, found)?,
            }
        }
        Err(FlowError::Contended { login: id })
    }

    /// Ends a login because a store it needs failed (fail closed).
    async fn store_failed(&self, id: LoginId) -> Result<Progress, FlowError> {
        Ok(Progress::of(&self.apply(id, EventKind::StoreFailed).await?))
    }

    // ---- plumbing -------------------------------------------------------------------------

    /// Applies `kind` to the stored login by compare-and-swap with the effects of its
    /// actions, retrying on conflict, and announces it; the login as it is now (as stored,
    /// if the machine rejected the event). Nothing is written when the step changes nothing.
    async fn apply(&self, id: LoginId, kind: EventKind) -> Result<Login, FlowError> {
        let machine = self.settings().machine.clone();
        let mut found = None;
        for _ in 0..MAX_SWAPS {
            let now = clock::now();
            let (login, revision, _) = match found.take() {
                Some(current) => current,
                None => self.load_fresh(id, now).await?,
            };
            match machine.step(login, Event::new(id, kind.clone()), now) {
                Err(rejected) => return Ok(*rejected.state),
                Ok((login, actions)) if actions.is_empty() => return Ok(login),
                Ok((login, actions)) => {
                    let effects = self.effects_of(&login, &actions, now);
                    let update = Update {
                        login: &login,
                        expected: revision,
                        expires_at: self.expiry(&login, now),
                        now,
                    };
                    match self.inner.transactions.commit(update, &effects).await? {
                        Committed::Done(_) => {
                            self.announce(&login, &actions);
                            return Ok(login);
                        }
                        Committed::Conflict(current) => found = Some(self.current(id, current)?),
                    }
                }
            }
        }
        Err(FlowError::Contended { login: id })
    }

    async fn load_fresh(
        &self,
        id: LoginId,
        now: Timestamp,
    ) -> Result<(Login, Revision, bool), FlowError> {
        match self.inner.transactions.load(id, now).await? {
            Some((login, revision)) => Ok((login, revision, true)),
            None => Err(FlowError::UnknownLogin { login: id }),
        }
    }

    /// The login a conflict handed back, or the error for one that is gone.
    fn current(
        &self,
        id: LoginId,
        found: Option<(Login, Revision)>,
    ) -> Result<(Login, Revision, bool), FlowError> {
        match found {
            Some((login, revision)) => Ok((login, revision, true)),
            None => Err(FlowError::UnknownLogin { login: id }),
        }
    }

    /// When the store may forget `login`: a while after it ends, so the outcome can be read.
    fn expiry(&self, login: &Login, now: Timestamp) -> Timestamp {
        let policy = self.settings().policy.clone();
        if login.is_finished() {
            now.plus(policy.result_ttl)
        } else {
            login
                .started_at()
                .plus(policy.machine.login_timeout)
                .plus(policy.result_ttl)
        }
    }

    /// What the actions write besides the login: counters, blocks, the hold's release.
    fn effects_of(&self, login: &Login, actions: &[Action], now: Timestamp) -> Effects {
        let policy = self.settings().policy.clone();
        let mut effects = Effects::default();
        for action in actions {
            match action {
                Action::RecordFailure { step, username } => {
                    let (user_key, source_key, rules) = match step {
                        Step::Password => (
                            CounterKey::PasswordFailuresOfUser(CounterKey::user(username)),
                            CounterKey::PasswordFailuresFromSource(login.source()),
                            policy.lockout.password,
                        ),
                        Step::Phone => (
                            CounterKey::PhoneFailuresOfUser(CounterKey::user(username)),
                            CounterKey::PhoneFailuresFromSource(login.source()),
                            policy.lockout.phone,
                        ),
                    };
                    effects.record.push(Hit {
                        key: user_key,
                        at: now,
                        keep: rules.per_user.lookback().max(policy.calls.fatigue.window),
                    });
                    effects.record.push(Hit {
                        key: source_key,
                        at: now,
                        keep: rules.per_source.lookback(),
                    });
                }
                Action::ClearFailures { step, username } => {
                    effects.clear.push(match step {
                        Step::Password => {
                            CounterKey::PasswordFailuresOfUser(CounterKey::user(username))
                        }
                        Step::Phone => CounterKey::PhoneFailuresOfUser(CounterKey::user(username)),
                    });
                }
                Action::BlockTfa { username } => effects.block.push((username.clone(), now)),
                Action::CancelCall { .. } => {
                    if let Some(user) = login.username() {
                        effects.release.push((
                            CounterKey::OutstandingCall(CounterKey::user(user)),
                            login.id(),
                        ));
                    }
                }
                Action::Audit(_)
                | Action::VerifyPassword { .. }
                | Action::PlaceCall { .. }
                | Action::Tell(_) => {}
            }
        }
        effects
    }

    /// After a step is written: audit, stop a call the step cancelled, and hand a final
    /// outcome to this node's waiters.
    fn announce(&self, login: &Login, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Audit(event) => self.emit(event),
                Action::CancelCall { .. } => {
                    if let Ok(mut live) = self.inner.live.lock()
                        && let Some(entry) = live.calls.get_mut(&login.id())
                        && let Some(call) = entry.call.take()
                    {
                        call.abort();
                    }
                }
                _ => {}
            }
        }
        if login.is_finished()
            && let Ok(mut live) = self.inner.live.lock()
        {
            live.finish(login.id(), Progress::of(login), clock::now());
        }
    }

    fn emit(&self, event: &AuditEvent) {
        TracingAuditSink.record(event);
        if let Some(sink) = &self.inner.audit {
            sink.record(event);
        }
    }

    fn admin_audit(&self, user: &Username, kind: AuditKind) {
        self.emit(&AuditEvent {
            at: clock::now(),
            login: None,
            user: Some(user.clone()),
            source: None,
            kind,
        });
    }

    /// The call's end on this node, and its deadline, if it rings (or just ended) here.
    fn subscribe(&self, id: LoginId) -> Option<(watch::Receiver<Option<Progress>>, Timestamp)> {
        self.inner
            .live
            .lock()
            .ok()?
            .calls
            .get(&id)
            .map(|live| (live.ended.subscribe(), live.until))
    }

    /// How `id` ended, if its call ended on this node a moment ago.
    fn outcome(&self, id: LoginId) -> Option<Progress> {
        self.inner.live.lock().ok()?.outcome(id)
    }
}

/// What the password step reads for `user` from `source` at `now`.
fn fact_query(user: &Username, source: IpAddr, now: Timestamp, policy: &Policy) -> FactQuery {
    let (password, phone) = (policy.lockout.password, policy.lockout.phone);
    FactQuery {
        user: user.clone(),
        source,
        now,
        password_user_since: now.minus(password.per_user.lookback()),
        password_source_since: now.minus(password.per_source.lookback()),
        phone_user_since: now.minus(phone.per_user.lookback()),
        phone_source_since: now.minus(phone.per_source.lookback()),
    }
}

/// The account problem a directory error reports, if it is one.
fn account_problem(error: &DirectoryError) -> Option<AccountProblem> {
    Some(match error {
        DirectoryError::AccountDisabled => AccountProblem::Disabled,
        DirectoryError::AccountLocked => AccountProblem::Locked,
        DirectoryError::AccountExpired => AccountProblem::Expired,
        DirectoryError::PasswordExpired | DirectoryError::PasswordMustChange => {
            AccountProblem::PasswordChangeRequired
        }
        DirectoryError::NotPermittedNow | DirectoryError::NotPermittedHere => {
            AccountProblem::NotPermitted
        }
        _ => return None,
    })
}
