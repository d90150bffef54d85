//! The async driver: runs the machine's actions with the configured directory, second
//! factor, stores and audit sink.

mod clock;
mod progress;

pub use progress::{Progress, Session};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use secrecy::SecretString;
use tfa_directory::{DirectoryError, FirstFactor, Identity, PhoneField, Username};
use tfa_phone::PhoneNumber;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::policy::CallHistory;
use crate::{
    AccountProblem, Action, AttemptId, AuditEvent, AuditKind, AuditSink, BypassGrant, CallRule,
    CallTarget, CounterKey, CounterStore, CredentialFailure, Event, EventKind, FactorError,
    FactorOutcome, FactorRequest, FirstFactorResult, FlowError, Login, LoginId, Machine,
    MemoryCounterStore, MemorySessionStore, MemoryTfaStateStore, NoPhone, NumberNeed, PhoneBook,
    PhoneFacts, Policy, RejectReason, SecondFactor, SessionStore, Step, Swap, TfaStateStore,
    Timestamp, TracingAuditSink, UserFacts,
};

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
    sessions: Arc<dyn SessionStore>,
    tfa: Arc<dyn TfaStateStore>,
    counters: Arc<dyn CounterStore>,
    phone_book: Option<Arc<dyn PhoneBook>>,
    audit: Option<Arc<dyn AuditSink>>,
    live: Mutex<HashMap<LoginId, Live>>,
}

/// What [`Authenticator::reconfigure`] replaces as a whole: each operation reads one
/// snapshot, so a login step never mixes an old policy with a new one.
#[derive(Debug)]
struct Settings {
    machine: Machine,
    policy: Arc<Policy>,
    second_factor: Arc<dyn SecondFactor>,
}

/// A login ringing on this node: whom to wake when it changes, and its call's task.
#[derive(Debug)]
struct Live {
    changed: watch::Sender<()>,
    call: Option<AbortHandle>,
    /// The call ended and its task is writing the outcome: no longer abortable.
    recording: bool,
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
    audit: Option<Arc<dyn AuditSink>>,
}

impl AuthenticatorBuilder {
    /// The policies. Default: [`Policy::default`].
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Where logins in progress live. Default: in memory.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
        self
    }

    /// Where enforcement settings, bypasses and blocks live. Default: in memory.
    pub fn tfa_state_store(mut self, store: Arc<dyn TfaStateStore>) -> Self {
        self.tfa = Some(store);
        self
    }

    /// Where lockout and call-limit counters live. Default: in memory.
    pub fn counter_store(mut self, store: Arc<dyn CounterStore>) -> Self {
        self.counters = Some(store);
        self
    }

    /// Where users' phone numbers come from (direct mode). Default: the directory record.
    pub fn phone_book(mut self, book: Arc<dyn PhoneBook>) -> Self {
        self.phone_book = Some(book);
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
        Ok(Authenticator {
            inner: Arc::new(Inner {
                settings: RwLock::new(Arc::new(Settings {
                    machine: Machine::new(self.policy.machine.clone()),
                    policy: Arc::new(self.policy),
                    second_factor: self.second_factor,
                })),
                first_factor: self.first_factor,
                sessions: self
                    .sessions
                    .unwrap_or_else(|| Arc::new(MemorySessionStore::new())),
                tfa: self
                    .tfa
                    .unwrap_or_else(|| Arc::new(MemoryTfaStateStore::new())),
                counters: self
                    .counters
                    .unwrap_or_else(|| Arc::new(MemoryCounterStore::new())),
                phone_book: self.phone_book,
                audit: self.audit,
                live: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// The outcome of applying an event through the session store.
enum Applied {
    Stepped(Login, Vec<Action>),
    Rejected(Login, RejectReason),
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
        let (login, actions) = self
            .settings()
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
        self.inner
            .sessions
            .create(&login, self.expiry(&login, now))
            .await?;
        self.side_effects(&login, &actions).await;
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
        let started = clock::now();
        let result = self.password_step(login, &password).await;
        drop(password);
        let elapsed = clock::now().since(started);
        if let Some(rest) = self.settings().policy.password_floor.checked_sub(elapsed) {
            tokio::time::sleep(rest).await;
        }
        result
    }

    /// Where login `login` stands now, expiring it if a timeout has run out.
    pub async fn poll(&self, login: LoginId) -> Result<Progress, FlowError> {
        match self.apply(login, EventKind::Tick).await? {
            Applied::Stepped(state, actions) => {
                self.side_effects(&state, &actions).await;
                Ok(Progress::of(&state))
            }
            Applied::Rejected(state, _) => Ok(Progress::of(&state)),
        }
    }

    /// Waits until login `login` is past its second factor (or never needed one) and
    /// returns how it ended. Cancel-safe: dropping the future leaves the login as it is.
    pub async fn second_factor(&self, login: LoginId) -> Result<Progress, FlowError> {
        loop {
            let changed = self.subscribe(login);
            let progress = self.poll(login).await?;
            let nap = match progress {
                Progress::Calling { until } => until.since(clock::now()) + TIMER_SLACK,
                Progress::CheckingPassword => REMOTE_POLL,
                _ => return Ok(progress),
            };
            match changed {
                Some(mut changed) => {
                    tokio::select! {
                        _ = changed.changed() => {}
                        () = tokio::time::sleep(nap) => {}
                    }
                }
                None => tokio::time::sleep(nap.min(REMOTE_POLL)).await,
            }
        }
    }

    /// Cancels login `login`, stopping its call if one is ringing.
    pub async fn cancel(&self, login: LoginId) -> Result<Progress, FlowError> {
        match self.apply(login, EventKind::Cancel).await? {
            Applied::Stepped(state, actions) => {
                self.side_effects(&state, &actions).await;
                self.notify(login);
                Ok(Progress::of(&state))
            }
            Applied::Rejected(state, _) => Ok(Progress::of(&state)),
        }
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
        let (login, actions) = match self.apply(id, EventKind::PasswordEntered).await? {
            Applied::Stepped(login, actions) => (login, actions),
            Applied::Rejected(login, RejectReason::Finished) => return Ok(Progress::of(&login)),
            Applied::Rejected(_, why) => {
                return Err(FlowError::WrongStep {
                    login: id,
                    operation: "submit a password",
                    reason: why.to_string(),
                });
            }
        };
        self.side_effects(&login, &actions).await;
        let Some(typed) = actions.iter().find_map(|a| match a {
            Action::VerifyPassword { username } => Some(username.clone()),
            _ => None,
        }) else {
            return Ok(Progress::of(&login));
        };
        let (result, plan) = self.check_first_factor(&login, &typed, password).await;
        let (login, actions) = match self
            .apply(id, EventKind::FirstFactorChecked(result))
            .await?
        {
            Applied::Stepped(login, actions) => (login, actions),
            Applied::Rejected(login, _) => return Ok(Progress::of(&login)),
        };
        self.side_effects(&login, &actions).await;
        let call = actions.iter().find_map(|a| match a {
            Action::PlaceCall { attempt, deadline } => Some((*attempt, *deadline)),
            _ => None,
        });
        match (call, plan) {
            (Some((attempt, deadline)), Some(plan)) => {
                self.place_call(login, attempt, deadline, plan).await
            }
            _ => Ok(Progress::of(&login)),
        }
    }

    /// The password lockout, then one check against the directory (never more than one bind
    /// per attempt), then the facts for the second factor.
    async fn check_first_factor(
        &self,
        login: &Login,
        typed: &Username,
        password: &SecretString,
    ) -> (FirstFactorResult, Option<CallPlan>) {
        let inner = &self.inner;
        let now = clock::now();
        let rules = self.settings().policy.lockout.password;
        let locked = self
            .locked_until(
                &CounterKey::PasswordFailuresOfUser(CounterKey::user(typed)),
                &CounterKey::PasswordFailuresFromSource(login.source()),
                rules,
                now,
            )
            .await;
        match locked {
            Err(error) => {
                tracing::error!(login = %login.id(), %error, "lockout counters unreadable; failing closed");
                return (FirstFactorResult::StoreFailed, None);
            }
            Ok(Some(until)) => return (FirstFactorResult::Throttled { until }, None),
            Ok(None) => {}
        }
        match inner.first_factor.verify(typed, password).await {
            Ok(identity) => match self.gather_facts(login, &identity).await {
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

    async fn gather_facts(
        &self,
        login: &Login,
        identity: &Identity,
    ) -> Result<(UserFacts, CallPlan), FlowError> {
        let inner = &self.inner;
        let settings = self.settings();
        let now = clock::now();
        let record = identity.record();
        let user = record.username().clone();
        let booked = async {
            match &inner.phone_book {
                Some(book) => book.number(&user).await,
                None => Ok(None),
            }
        };
        let phone_failures = (
            CounterKey::PhoneFailuresOfUser(CounterKey::user(&user)),
            CounterKey::PhoneFailuresFromSource(login.source()),
        );
        // Independent reads go out together: one round trip to a shared store, not five.
        let (user_setting, blocked, phone_lock, booked) = tokio::try_join!(
            inner.tfa.enforcement(&user),
            inner.tfa.is_blocked(&user),
            self.locked_until(
                &phone_failures.0,
                &phone_failures.1,
                settings.policy.lockout.phone,
                now,
            ),
            booked,
        )?;
        let enforcement = settings.policy.enforcement.decide(user_setting, record);
        let number: Result<Option<PhoneNumber>, NoPhone> = match &inner.phone_book {
            Some(_) => Ok(booked),
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
        let mut facts = UserFacts::new(user.clone(), phone)
            .with_enforcement(enforcement)
            .with_blocked(blocked)
            .with_phone_lock(phone_lock)
            .with_fail_mode(settings.policy.fail_open.mode(record));
        if facts.wants_bypass(now) {
            facts.bypass = inner.tfa.take_bypass(&user, now).await?;
        }
        let plan = CallPlan {
            factor_username: record.phonefactor_username().to_owned(),
            number: number.ok().flatten(),
        };
        Ok((facts, plan))
    }

    async fn locked_until(
        &self,
        user_key: &CounterKey,
        source_key: &CounterKey,
        rules: crate::StepLockout,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, FlowError> {
        let counters = &self.inner.counters;
        // Independent reads go out together: one round trip to a shared store, not two.
        let (by_user, by_source) = tokio::try_join!(
            counters.history(user_key, now.minus(rules.per_user.lookback())),
            counters.history(source_key, now.minus(rules.per_source.lookback())),
        )?;
        Ok(rules
            .per_user
            .locked_until(&by_user, now)
            .max(rules.per_source.locked_until(&by_source, now)))
    }

    // ---- the phone step -----------------------------------------------------------------

    /// Reserves the call under the limits, places it on its own task and returns at once.
    async fn place_call(
        &self,
        login: Login,
        attempt: AttemptId,
        deadline: Timestamp,
        plan: CallPlan,
    ) -> Result<Progress, FlowError> {
        let id = login.id();
        let Some(user) = login.username().cloned() else {
            return Ok(Progress::of(&login));
        };
        let refusal = match self
            .reserve_call(id, &user, plan.number.as_ref(), deadline)
            .await
        {
            Ok(refusal) => refusal,
            Err(error) => {
                tracing::error!(login = %id, %error, "call-limit store failed; failing closed");
                self.release_hold(id, &user).await;
                return self.store_failed(id).await;
            }
        };
        if let Some(rule) = refusal {
            if rule != CallRule::OutstandingCall {
                self.release_hold(id, &user).await;
            }
            return match self
                .apply(id, EventKind::CallNotPlaced { attempt, rule })
                .await?
            {
                Applied::Stepped(login, actions) => {
                    self.side_effects(&login, &actions).await;
                    Ok(Progress::of(&login))
                }
                Applied::Rejected(login, _) => Ok(Progress::of(&login)),
            };
        }
        let (login, actions) = match self.apply(id, EventKind::CallPlaced { attempt }).await? {
            Applied::Stepped(login, actions) => (login, actions),
            Applied::Rejected(login, _) => {
                self.release_hold(id, &user).await;
                return Ok(Progress::of(&login));
            }
        };
        self.side_effects(&login, &actions).await;
        let request = FactorRequest::new(
            id,
            attempt,
            user,
            plan.factor_username,
            plan.number,
            login.source(),
        );
        self.spawn_call(request, deadline);
        Ok(Progress::of(&login))
    }

    /// Takes the user's one-outstanding-call hold and checks the rates; the rule that
    /// refuses, if any. Records the call against the limits when it may go ahead.
    async fn reserve_call(
        &self,
        id: LoginId,
        user: &Username,
        number: Option<&PhoneNumber>,
        deadline: Timestamp,
    ) -> Result<Option<CallRule>, FlowError> {
        let counters = &self.inner.counters;
        let policy = self.settings().policy.clone();
        let limits = &policy.calls;
        let now = clock::now();
        let user_key = CounterKey::user(user);
        if !counters
            .try_hold(
                &CounterKey::OutstandingCall(user_key.clone()),
                id,
                now,
                deadline,
            )
            .await?
        {
            return Ok(Some(CallRule::OutstandingCall));
        }
        let since = now.minus(limits.lookback());
        let to_user_key = CounterKey::CallsToUser(user_key.clone());
        let number_keys =
            number.map(|n| (CounterKey::CallsToNumber(n.e164()), n.country_code().get()));
        let failed_key = CounterKey::PhoneFailuresOfUser(user_key);
        let country_key = number_keys
            .as_ref()
            .map(|(_, country)| CounterKey::CallsToCountry(*country));
        let by_number = async {
            match (&number_keys, &country_key) {
                (Some((number_key, _)), Some(country_key)) => {
                    let (to_number, to_country) = tokio::try_join!(
                        counters.history(number_key, since),
                        counters.history(country_key, since),
                    )?;
                    Ok(Some((to_number, to_country)))
                }
                _ => Ok(None),
            }
        };
        // Independent reads (and then writes) go out together: one round trip each to a
        // shared store.
        let (to_user, failed, by_number) = tokio::try_join!(
            counters.history(&to_user_key, since),
            counters.history(&failed_key, since),
            by_number,
        )?;
        let mut history = CallHistory {
            to_user,
            failed,
            ..CallHistory::default()
        };
        if let (Some((to_number, to_country)), Some((_, country))) = (by_number, &number_keys) {
            history.to_number = Some(to_number);
            history.to_country = Some((*country, to_country));
        }
        if let Err(rule) = limits.check(&history, now) {
            return Ok(Some(rule));
        }
        let keep = limits.lookback();
        let by_number = async {
            match (&number_keys, &country_key) {
                (Some((number_key, _)), Some(country_key)) => {
                    tokio::try_join!(
                        counters.record(number_key, now, keep),
                        counters.record(country_key, now, keep),
                    )?;
                    Ok(())
                }
                _ => Ok(()),
            }
        };
        tokio::try_join!(counters.record(&to_user_key, now, keep), by_number)?;
        Ok(None)
    }

    fn spawn_call(&self, request: FactorRequest, deadline: Timestamp) {
        let this = self.clone();
        let id = request.login;
        let (changed, _) = watch::channel(());
        // Register before spawning, so that the task's own removal cannot come first.
        if let Ok(mut live) = self.inner.live.lock() {
            live.insert(
                id,
                Live {
                    changed,
                    call: None,
                    recording: false,
                },
            );
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
            // until the outcome is written, so that a waiter arriving meanwhile (slower with a
            // shared store) is woken by it rather than by its next poll.
            if let Ok(mut live) = this.inner.live.lock()
                && let Some(entry) = live.get_mut(&id)
            {
                entry.recording = true;
                entry.call = None;
            }
            match this.apply(id, event).await {
                Ok(Applied::Stepped(login, actions)) => this.side_effects(&login, &actions).await,
                Ok(Applied::Rejected(..)) => {}
                Err(error) => {
                    tracing::error!(login = %id, %error, "could not record the call's outcome")
                }
            }
            let live = this
                .inner
                .live
                .lock()
                .ok()
                .and_then(|mut live| live.remove(&id));
            this.release_hold(id, &request.username).await;
            if let Some(live) = live {
                live.changed.send_replace(());
            }
        });
        if let Ok(mut live) = self.inner.live.lock()
            && let Some(entry) = live.get_mut(&id)
            && !entry.recording
        {
            entry.call = Some(task.abort_handle());
        }
    }

    /// Ends a login because a store it needs failed (fail closed).
    async fn store_failed(&self, id: LoginId) -> Result<Progress, FlowError> {
        match self.apply(id, EventKind::StoreFailed).await? {
            Applied::Stepped(login, actions) => {
                self.side_effects(&login, &actions).await;
                Ok(Progress::of(&login))
            }
            Applied::Rejected(login, _) => Ok(Progress::of(&login)),
        }
    }

    async fn release_hold(&self, id: LoginId, user: &Username) {
        let key = CounterKey::OutstandingCall(CounterKey::user(user));
        if let Err(error) = self.inner.counters.release(&key, id).await {
            tracing::error!(login = %id, %error, "could not release the outstanding-call hold; it lapses at its deadline");
        }
    }

    // ---- plumbing -------------------------------------------------------------------------

    /// Applies `kind` to the stored login by compare-and-swap, retrying on conflict. Nothing
    /// is written when the step changes nothing.
    async fn apply(&self, id: LoginId, kind: EventKind) -> Result<Applied, FlowError> {
        let sessions = &self.inner.sessions;
        for _ in 0..MAX_SWAPS {
            let now = clock::now();
            let Some((login, revision)) = sessions.load(id, now).await? else {
                return Err(FlowError::UnknownLogin { login: id });
            };
            match self
                .settings()
                .machine
                .step(login, Event::new(id, kind.clone()), now)
            {
                Err(rejected) => return Ok(Applied::Rejected(*rejected.state, rejected.why)),
                Ok((login, actions)) if actions.is_empty() => {
                    return Ok(Applied::Stepped(login, actions));
                }
                Ok((login, actions)) => match sessions
                    .compare_and_swap(&login, revision, self.expiry(&login, now))
                    .await?
                {
                    Swap::Done(_) => return Ok(Applied::Stepped(login, actions)),
                    Swap::Conflict => continue,
                },
            }
        }
        Err(FlowError::Contended { login: id })
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

    /// Carries out the actions that need no answer: audit, counters, blocks, cancellation.
    async fn side_effects(&self, login: &Login, actions: &[Action]) {
        let inner = &self.inner;
        let policy = self.settings().policy.clone();
        let now = clock::now();
        for action in actions {
            let done = match action {
                Action::Audit(event) => {
                    self.emit(event);
                    Ok(())
                }
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
                    let keep = rules.per_user.lookback().max(policy.calls.fatigue.window);
                    let (user, source) = tokio::join!(
                        inner.counters.record(&user_key, now, keep),
                        inner
                            .counters
                            .record(&source_key, now, rules.per_source.lookback()),
                    );
                    user.and(source)
                }
                Action::ClearFailures { step, username } => {
                    let key = match step {
                        Step::Password => {
                            CounterKey::PasswordFailuresOfUser(CounterKey::user(username))
                        }
                        Step::Phone => CounterKey::PhoneFailuresOfUser(CounterKey::user(username)),
                    };
                    inner.counters.clear(&key).await
                }
                Action::BlockTfa { username } => inner.tfa.block(username, now).await,
                Action::CancelCall { .. } => {
                    let live = inner
                        .live
                        .lock()
                        .ok()
                        .and_then(|mut live| live.remove(&login.id()));
                    if let Some(live) = live {
                        if let Some(call) = live.call {
                            call.abort();
                        }
                        live.changed.send_replace(());
                    }
                    if let Some(user) = login.username() {
                        self.release_hold(login.id(), user).await;
                    }
                    Ok(())
                }
                Action::VerifyPassword { .. } | Action::PlaceCall { .. } | Action::Tell(_) => {
                    Ok(())
                }
            };
            if let Err(error) = done {
                tracing::error!(login = %login.id(), %error, ?action, "could not carry out an action");
            }
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

    fn subscribe(&self, id: LoginId) -> Option<watch::Receiver<()>> {
        self.inner
            .live
            .lock()
            .ok()?
            .get(&id)
            .map(|live| live.changed.subscribe())
    }

    fn notify(&self, id: LoginId) {
        if let Ok(live) = self.inner.live.lock()
            && let Some(live) = live.get(&id)
        {
            live.changed.send_replace(());
        }
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
