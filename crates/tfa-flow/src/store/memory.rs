//! In-memory stores: one node, tests, benchmarks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tfa_directory::Username;
use tfa_phone::PhoneNumber;

use super::{CounterKey, CounterStore, PhoneBook, Revision, SessionStore, Swap, TfaStateStore};
use crate::{BypassGrant, FlowError, Login, LoginId, Timestamp};

fn poisoned(store: &'static str) -> FlowError {
    FlowError::Store {
        store,
        source: "a thread panicked while holding the store's lock".into(),
    }
}

/// Sweep expired entries every this many writes.
const SWEEP_EVERY: u64 = 4096;

#[derive(Debug, Default)]
struct Sessions {
    logins: HashMap<LoginId, (Login, Revision, Timestamp)>,
    writes: u64,
}

/// Logins in memory.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    inner: Mutex<Sessions>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many logins are stored, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|s| s.logins.len()).unwrap_or(0)
    }

    /// True when no login is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Sessions {
    fn wrote(&mut self, now: Timestamp) {
        self.writes += 1;
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.logins.retain(|_, (_, _, expires)| *expires > now);
        }
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, login: &Login, expires_at: Timestamp) -> Result<Revision, FlowError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned("session"))?;
        if inner.logins.contains_key(&login.id()) {
            return Err(FlowError::Store {
                store: "session",
                source: format!("login {} exists", login.id()).into(),
            });
        }
        let revision = Revision::new(1);
        inner
            .logins
            .insert(login.id(), (login.clone(), revision, expires_at));
        inner.wrote(login.last_activity());
        Ok(revision)
    }

    async fn load(
        &self,
        id: LoginId,
        now: Timestamp,
    ) -> Result<Option<(Login, Revision)>, FlowError> {
        let inner = self.inner.lock().map_err(|_| poisoned("session"))?;
        Ok(inner
            .logins
            .get(&id)
            .filter(|(_, _, expires)| *expires > now)
            .map(|(login, revision, _)| (login.clone(), *revision)))
    }

    async fn compare_and_swap(
        &self,
        login: &Login,
        expected: Revision,
        expires_at: Timestamp,
    ) -> Result<Swap, FlowError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned("session"))?;
        let Some(entry) = inner.logins.get_mut(&login.id()) else {
            return Ok(Swap::Conflict);
        };
        if entry.1 != expected {
            return Ok(Swap::Conflict);
        }
        let revision = Revision::new(expected.get() + 1);
        *entry = (login.clone(), revision, expires_at);
        inner.wrote(login.last_activity());
        Ok(Swap::Done(revision))
    }

    async fn remove(&self, id: LoginId) -> Result<(), FlowError> {
        self.inner
            .lock()
            .map_err(|_| poisoned("session"))?
            .logins
            .remove(&id);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct TfaState {
    enforcement: HashMap<String, bool>,
    bypass: HashMap<String, BypassGrant>,
    blocked: HashMap<String, Timestamp>,
}

/// Enforcement settings, bypasses and blocks in memory.
#[derive(Debug, Default)]
pub struct MemoryTfaStateStore {
    inner: Mutex<TfaState>,
}

impl MemoryTfaStateStore {
    /// An empty store: no user settings, bypasses or blocks.
    pub fn new() -> Self {
        Self::default()
    }
}

fn key(user: &Username) -> String {
    CounterKey::user(user)
}

#[async_trait]
impl TfaStateStore for MemoryTfaStateStore {
    async fn enforcement(&self, user: &Username) -> Result<Option<bool>, FlowError> {
        Ok(self
            .inner
            .lock()
            .map_err(|_| poisoned("tfa state"))?
            .enforcement
            .get(&key(user))
            .copied())
    }

    async fn set_enforcement(
        &self,
        user: &Username,
        enforced: Option<bool>,
    ) -> Result<(), FlowError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned("tfa state"))?;
        match enforced {
            Some(value) => inner.enforcement.insert(key(user), value),
            None => inner.enforcement.remove(&key(user)),
        };
        Ok(())
    }

    async fn grant_bypass(&self, user: &Username, grant: BypassGrant) -> Result<(), FlowError> {
        self.inner
            .lock()
            .map_err(|_| poisoned("tfa state"))?
            .bypass
            .insert(key(user), grant);
        Ok(())
    }

    async fn bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        let inner = self.inner.lock().map_err(|_| poisoned("tfa state"))?;
        Ok(inner
            .bypass
            .get(&key(user))
            .filter(|grant| grant.until > now)
            .cloned())
    }

    async fn take_bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned("tfa state"))?;
        Ok(inner
            .bypass
            .remove(&key(user))
            .filter(|grant| grant.until > now))
    }

    async fn block(&self, user: &Username, at: Timestamp) -> Result<(), FlowError> {
        self.inner
            .lock()
            .map_err(|_| poisoned("tfa state"))?
            .blocked
            .insert(key(user), at);
        Ok(())
    }

    async fn is_blocked(&self, user: &Username) -> Result<bool, FlowError> {
        Ok(self
            .inner
            .lock()
            .map_err(|_| poisoned("tfa state"))?
            .blocked
            .contains_key(&key(user)))
    }

    async fn unblock(&self, user: &Username) -> Result<bool, FlowError> {
        Ok(self
            .inner
            .lock()
            .map_err(|_| poisoned("tfa state"))?
            .blocked
            .remove(&key(user))
            .is_some())
    }
}

#[derive(Debug, Default)]
struct Counters {
    hits: HashMap<CounterKey, (Vec<Timestamp>, Timestamp)>,
    holds: HashMap<CounterKey, (LoginId, Timestamp)>,
    writes: u64,
}

/// Lockout and call-limit counters in memory.
#[derive(Debug, Default)]
pub struct MemoryCounterStore {
    inner: Mutex<Counters>,
}

impl MemoryCounterStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CounterStore for MemoryCounterStore {
    async fn record(
        &self,
        key: &CounterKey,
        at: Timestamp,
        keep: Duration,
    ) -> Result<(), FlowError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned("counter"))?;
        let until = at.plus(keep);
        let entry = inner
            .hits
            .entry(key.clone())
            .or_insert_with(|| (Vec::new(), until));
        entry.0.retain(|t| t.plus(keep) > at);
        entry.0.push(at);
        entry.1 = entry.1.max(until);
        inner.writes += 1;
        if inner.writes.is_multiple_of(SWEEP_EVERY) {
            inner.hits.retain(|_, (_, until)| *until > at);
            inner.holds.retain(|_, (_, until)| *until > at);
        }
        Ok(())
    }

    async fn history(
        &self,
        key: &CounterKey,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, FlowError> {
        let inner = self.inner.lock().map_err(|_| poisoned("counter"))?;
        Ok(inner
            .hits
            .get(key)
            .map(|(hits, _)| hits.iter().copied().filter(|t| *t >= since).collect())
            .unwrap_or_default())
    }

    async fn clear(&self, key: &CounterKey) -> Result<(), FlowError> {
        self.inner
            .lock()
            .map_err(|_| poisoned("counter"))?
            .hits
            .remove(key);
        Ok(())
    }

    async fn try_hold(
        &self,
        key: &CounterKey,
        holder: LoginId,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, FlowError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned("counter"))?;
        match inner.holds.get(key) {
            Some((other, expires)) if *other != holder && *expires > now => Ok(false),
            _ => {
                inner.holds.insert(key.clone(), (holder, until));
                Ok(true)
            }
        }
    }

    async fn release(&self, key: &CounterKey, holder: LoginId) -> Result<(), FlowError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned("counter"))?;
        if inner.holds.get(key).is_some_and(|(h, _)| *h == holder) {
            inner.holds.remove(key);
        }
        Ok(())
    }
}

/// Phone numbers in memory, for direct mode.
#[derive(Debug, Default)]
pub struct MemoryPhoneBook {
    numbers: Mutex<HashMap<String, PhoneNumber>>,
}

impl MemoryPhoneBook {
    /// An empty phone book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number for `user`.
    pub fn insert(&self, user: &Username, number: PhoneNumber) {
        if let Ok(mut numbers) = self.numbers.lock() {
            numbers.insert(key(user), number);
        }
    }
}

#[async_trait]
impl PhoneBook for MemoryPhoneBook {
    async fn number(&self, user: &Username) -> Result<Option<PhoneNumber>, FlowError> {
        Ok(self
            .numbers
            .lock()
            .map_err(|_| poisoned("phone book"))?
            .get(&key(user))
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn t(secs: u64) -> Timestamp {
        Timestamp::from_unix_millis(1_000_000_000).plus(Duration::from_secs(secs))
    }

    #[tokio::test]
    async fn compare_and_swap_refuses_a_stale_revision_and_expired_logins_vanish() {
        let store = MemorySessionStore::new();
        let login = Login::new(
            LoginId::from_bytes([1; 16]),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            t(0),
        );
        let r1 = store.create(&login, t(10)).await.unwrap();
        assert!(store.create(&login, t(10)).await.is_err(), "ids are unique");
        let Swap::Done(r2) = store.compare_and_swap(&login, r1, t(10)).await.unwrap() else {
            panic!()
        };
        assert_eq!(
            store.compare_and_swap(&login, r1, t(10)).await.unwrap(),
            Swap::Conflict
        );
        assert_eq!(
            store.load(login.id(), t(5)).await.unwrap(),
            Some((login.clone(), r2))
        );
        assert_eq!(store.load(login.id(), t(10)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_bypass_is_taken_once_and_only_while_valid() {
        let store = MemoryTfaStateStore::new();
        let alice = Username::new("Alice").unwrap();
        let grant = BypassGrant {
            until: t(60),
            reason: "r".into(),
            granted_by: "a".into(),
        };
        store.grant_bypass(&alice, grant.clone()).await.unwrap();
        assert_eq!(
            store
                .take_bypass(&Username::new("alice").unwrap(), t(1))
                .await
                .unwrap(),
            Some(grant.clone())
        );
        assert_eq!(store.take_bypass(&alice, t(2)).await.unwrap(), None);
        store.grant_bypass(&alice, grant).await.unwrap();
        assert_eq!(
            store.take_bypass(&alice, t(60)).await.unwrap(),
            None,
            "expired"
        );
    }

    #[tokio::test]
    async fn a_hold_has_one_holder_until_it_expires() {
        let store = MemoryCounterStore::new();
        let key = CounterKey::OutstandingCall("alice".into());
        let (a, b) = (LoginId::from_bytes([1; 16]), LoginId::from_bytes([2; 16]));
        assert!(store.try_hold(&key, a, t(0), t(90)).await.unwrap());
        assert!(!store.try_hold(&key, b, t(1), t(91)).await.unwrap());
        store.release(&key, b).await.unwrap();
        assert!(
            !store.try_hold(&key, b, t(2), t(92)).await.unwrap(),
            "only the holder releases"
        );
        assert!(
            store.try_hold(&key, b, t(90), t(180)).await.unwrap(),
            "expired hold"
        );
        store.release(&key, b).await.unwrap();
        assert!(store.try_hold(&key, a, t(91), t(181)).await.unwrap());
    }

    #[tokio::test]
    async fn history_keeps_hits_for_their_time() {
        let store = MemoryCounterStore::new();
        let key = CounterKey::CallsToCountry(44);
        for s in [0, 10, 20] {
            store
                .record(&key, t(s), Duration::from_secs(15))
                .await
                .unwrap();
        }
        assert_eq!(store.history(&key, t(0)).await.unwrap(), vec![t(10), t(20)]);
        assert_eq!(store.history(&key, t(15)).await.unwrap(), vec![t(20)]);
        store.clear(&key).await.unwrap();
        assert!(store.history(&key, t(0)).await.unwrap().is_empty());
    }
}
