//! The scripted phones: scripts by username and number, fraud blocks, the calls ringing now
//! and the log of calls received. Both servers share one [`Phones`].
//!
//! A ringing call is a future waiting on a timer or a hand-given answer, so thousands of
//! ringing calls cost a timer each, not a thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use phonefactor::CallStatus;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use crate::error::SimError;
use crate::scenario::{Ending, Expectation, PhoneScript, Scenario};

/// Which service received a call request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ServiceMode {
    /// PFD over mutual TLS.
    Direct,
    /// The agent's SOAP Web Service SDK.
    Agent,
}

/// The PIN mode a call was placed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PinModeKind {
    /// `#` approves.
    Standard,
    /// The PIN then `#` approves.
    Pin,
}

/// A phone number as the service dials it: country code, digits, optional extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Dialled {
    /// `countryCode`.
    pub country_code: String,
    /// `phonenumber` digits.
    pub number: String,
    /// `@extension`, if any.
    pub extension: Option<String>,
}

/// One call request the simulator received and decided, for test assertions.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CallRecord {
    /// The simulator's id for the call (also the id of the ringing call, if it rang).
    pub id: u64,
    /// Which service received it.
    pub mode: ServiceMode,
    /// The PhoneFactor username as sent.
    pub username: String,
    /// The number dialled.
    pub phone: Dialled,
    /// Standard or PIN mode.
    pub pin_mode: PinModeKind,
    /// What the phone did; `None` when no call was placed (blocked, already ringing, refused).
    pub action: Option<Scenario>,
    /// Whether the phone was answered by hand rather than by its script.
    pub answered_by_hand: bool,
    /// The status the service answered.
    pub status: u16,
    /// Whether the answer was `authenticated=yes` (`Result=true` for the agent).
    pub authenticated: bool,
    /// When the request arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: time::OffsetDateTime,
    /// How long the call rang, in milliseconds.
    pub rang_ms: u64,
}

impl CallRecord {
    /// The status as a typed value.
    pub fn call_status(&self) -> CallStatus {
        CallStatus(self.status)
    }
}

/// A call that is ringing now and can be answered by hand.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RingingCall {
    /// Its id, for [`SimHandle::answer`](crate::SimHandle::answer).
    pub id: u64,
    /// Which service placed it.
    pub mode: ServiceMode,
    /// The username.
    pub username: String,
    /// The number ringing.
    pub phone: Dialled,
    /// Standard or PIN mode.
    pub pin_mode: PinModeKind,
    /// What its script will do if nobody answers by hand first.
    pub scripted: Scenario,
    /// How long it has rung, in milliseconds.
    pub ringing_ms: u64,
}

/// Whose block a block is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BlockKey {
    User(String),
    Number(String, String),
}

struct Ringing {
    info: RingingCall,
    started: Instant,
    answer: Option<oneshot::Sender<Scenario>>,
}

#[derive(Default)]
struct Inner {
    user_scripts: HashMap<String, PhoneScript>,
    number_scripts: HashMap<(String, String), PhoneScript>,
    blocks: HashMap<BlockKey, Option<Instant>>,
    ringing: HashMap<u64, Ringing>,
    ringing_users: HashMap<String, u64>,
    log: Vec<CallRecord>,
    next_id: u64,
}

/// Settings of the phone network.
#[derive(Debug, Clone)]
pub(crate) struct PhoneSettings {
    pub(crate) default_delay: Duration,
    pub(crate) manual_ring_time: Duration,
    pub(crate) fraud_block_for: Option<Duration>,
    pub(crate) fraud_alerts: bool,
}

/// The shared phone network.
pub(crate) struct Phones {
    inner: Mutex<Inner>,
    settings: PhoneSettings,
    changed: watch::Sender<u64>,
}

/// What the servers know about a call they want placed.
pub(crate) struct CallRequest {
    pub(crate) mode: ServiceMode,
    pub(crate) username: String,
    pub(crate) phone: Dialled,
    pub(crate) expect: Expectation,
}

impl CallRequest {
    fn pin_mode(&self) -> PinModeKind {
        match self.expect {
            Expectation::Standard => PinModeKind::Standard,
            Expectation::Pin(_) => PinModeKind::Pin,
        }
    }
}

fn user_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// Removes a ringing call when its request ends, however it ends (a client that hangs up
/// mid-call drops the future).
struct RingGuard<'a> {
    phones: &'a Phones,
    id: u64,
    user: String,
}

impl Drop for RingGuard<'_> {
    fn drop(&mut self) {
        let mut inner = self.phones.lock();
        inner.ringing.remove(&self.id);
        if inner.ringing_users.get(&self.user) == Some(&self.id) {
            inner.ringing_users.remove(&self.user);
        }
        drop(inner);
        self.phones.bump();
    }
}

impl Phones {
    pub(crate) fn new(settings: PhoneSettings) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            settings,
            changed: watch::Sender::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a simulator; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn script_user(&self, username: &str, script: PhoneScript) {
        self.lock().user_scripts.insert(user_key(username), script);
    }

    pub(crate) fn script_number(&self, country_code: &str, number: &str, script: PhoneScript) {
        self.lock().number_scripts.insert(
            (country_code.trim().to_owned(), number.trim().to_owned()),
            script,
        );
    }

    pub(crate) fn clear_scripts(&self) {
        let mut inner = self.lock();
        inner.user_scripts.clear();
        inner.number_scripts.clear();
    }

    pub(crate) fn block_user(&self, username: &str, until: Option<Instant>) {
        self.lock()
            .blocks
            .insert(BlockKey::User(user_key(username)), until);
    }

    pub(crate) fn lift_user_block(&self, username: &str) -> bool {
        self.lock()
            .blocks
            .remove(&BlockKey::User(user_key(username)))
            .is_some()
    }

    pub(crate) fn lift_number_block(&self, country_code: &str, number: &str) -> bool {
        self.lock()
            .blocks
            .remove(&BlockKey::Number(
                country_code.trim().to_owned(),
                number.trim().to_owned(),
            ))
            .is_some()
    }

    pub(crate) fn lift_all_blocks(&self) -> usize {
        let mut inner = self.lock();
        let n = inner.blocks.len();
        inner.blocks.clear();
        n
    }

    pub(crate) fn calls(&self) -> Vec<CallRecord> {
        self.lock().log.clone()
    }

    pub(crate) fn clear_calls(&self) {
        self.lock().log.clear();
    }

    pub(crate) fn ringing(&self) -> Vec<RingingCall> {
        let inner = self.lock();
        let mut calls: Vec<RingingCall> = inner
            .ringing
            .values()
            .map(|r| {
                let mut info = r.info.clone();
                info.ringing_ms = millis(r.started.elapsed());
                info
            })
            .collect();
        calls.sort_by_key(|c| c.id);
        calls
    }

    pub(crate) fn answer(&self, id: u64, action: Scenario) -> Result<(), SimError> {
        let sender = self
            .lock()
            .ringing
            .get_mut(&id)
            .and_then(|r| r.answer.take())
            .ok_or(SimError::NotRinging(id))?;
        sender.send(action).map_err(|_| SimError::NotRinging(id))
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Waits until `check` finds something, or `timeout` passes.
    pub(crate) async fn wait_for<T>(
        &self,
        what: &'static str,
        timeout: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> Result<T, SimError> {
        let mut rx = self.subscribe();
        let wait = async {
            loop {
                rx.borrow_and_update();
                if let Some(found) = check(self) {
                    return Ok(found);
                }
                if rx.changed().await.is_err() {
                    return Err(SimError::Timeout(what));
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| SimError::Timeout(what))?
    }

    fn is_blocked(inner: &mut Inner, key: &BlockKey) -> bool {
        match inner.blocks.get(key) {
            None => false,
            Some(None) => true,
            Some(Some(until)) if Instant::now() < *until => true,
            Some(Some(_)) => {
                inner.blocks.remove(key);
                false
            }
        }
    }

    /// Records a request answered without a call (spec §6.1 steps 5–7).
    pub(crate) fn record_refusal(&self, req: &CallRequest, status: CallStatus) {
        let mut inner = self.lock();
        let id = next_id(&mut inner);
        inner.log.push(record(
            id,
            req,
            None,
            false,
            Ending::denied(status),
            Duration::ZERO,
        ));
        drop(inner);
        self.bump();
    }

    /// Places a call (spec §6.1 step 8 and 9, §6.2): refuses it if the user or number is
    /// blocked (14) or the user has a call ringing (101), otherwise rings the scripted phone
    /// until its script (or a hand) ends the call.
    pub(crate) async fn place(&self, req: CallRequest) -> Ending {
        let user = user_key(&req.username);
        let number_key = (req.phone.country_code.clone(), req.phone.number.clone());
        let (id, script, rx) = {
            let mut inner = self.lock();
            let id = next_id(&mut inner);
            let blocked = Self::is_blocked(&mut inner, &BlockKey::User(user.clone()))
                || Self::is_blocked(
                    &mut inner,
                    &BlockKey::Number(number_key.0.clone(), number_key.1.clone()),
                );
            let refusal = if blocked {
                Some(CallStatus::USER_BLOCKED)
            } else if inner.ringing_users.contains_key(&user) {
                Some(CallStatus::PHONE_BUSY)
            } else {
                None
            };
            if let Some(status) = refusal {
                let ending = Ending::denied(status);
                inner
                    .log
                    .push(record(id, &req, None, false, ending, Duration::ZERO));
                drop(inner);
                self.bump();
                return ending;
            }
            let script = inner
                .user_scripts
                .get(&user)
                .or_else(|| inner.number_scripts.get(&number_key))
                .cloned()
                .unwrap_or_else(|| Scenario::Pound.into());
            let (tx, rx) = oneshot::channel();
            inner.ringing.insert(
                id,
                Ringing {
                    info: RingingCall {
                        id,
                        mode: req.mode,
                        username: req.username.clone(),
                        phone: req.phone.clone(),
                        pin_mode: req.pin_mode(),
                        scripted: script.scenario.clone(),
                        ringing_ms: 0,
                    },
                    started: Instant::now(),
                    answer: Some(tx),
                },
            );
            inner.ringing_users.insert(user.clone(), id);
            (id, script, rx)
        };
        self.bump();
        let guard = RingGuard {
            phones: self,
            id,
            user: user.clone(),
        };
        let started = Instant::now();
        let (action, by_hand) = if script.scenario == Scenario::Manual {
            match tokio::time::timeout(self.settings.manual_ring_time, rx).await {
                Ok(Ok(action)) => (action, true),
                _ => (Scenario::NoAnswer, false),
            }
        } else {
            let delay = script.delay.unwrap_or(self.settings.default_delay);
            tokio::select! {
                () = tokio::time::sleep(delay) => (script.scenario, false),
                Ok(action) = rx => (action, true),
            }
        };
        // A hand may answer "manual" to mean "let it ring out".
        let action = if action == Scenario::Manual {
            Scenario::NoAnswer
        } else {
            action
        };
        let ending = if self.settings.fraud_alerts {
            action.ending(&req.expect)
        } else {
            action.ending_without_fraud_alerts(&req.expect)
        };
        {
            let mut inner = self.lock();
            if ending.fraud {
                let until = self.settings.fraud_block_for.map(|d| Instant::now() + d);
                inner.blocks.insert(BlockKey::User(user), until);
                inner
                    .blocks
                    .insert(BlockKey::Number(number_key.0, number_key.1), until);
            }
            inner.log.push(record(
                id,
                &req,
                Some(action),
                by_hand,
                ending,
                started.elapsed(),
            ));
        }
        drop(guard);
        ending
    }
}

fn next_id(inner: &mut Inner) -> u64 {
    inner.next_id += 1;
    inner.next_id
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn record(
    id: u64,
    req: &CallRequest,
    action: Option<Scenario>,
    by_hand: bool,
    ending: Ending,
    rang: Duration,
) -> CallRecord {
    CallRecord {
        id,
        mode: req.mode,
        username: req.username.clone(),
        phone: req.phone.clone(),
        pin_mode: req.pin_mode(),
        action,
        answered_by_hand: by_hand,
        status: ending.status.code(),
        authenticated: ending.authenticated,
        received_at: time::OffsetDateTime::from(SystemTime::now() - rang),
        rang_ms: millis(rang),
    }
}
