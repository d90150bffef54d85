//! The session table in this process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Record, Stage};

struct Entry {
    record: Record,
    last_seen: Instant,
}

/// Sessions keyed by the SHA-256 of their cookie value, lapsing after `idle` without a
/// request, at most `max` at once.
pub(crate) struct MemorySessions {
    map: Mutex<HashMap<[u8; 32], Entry>>,
    idle: Duration,
    max: usize,
}

impl std::fmt::Debug for MemorySessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySessions")
            .field("idle", &self.idle)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl MemorySessions {
    pub(crate) fn new(idle: Duration, max: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            idle,
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        match self.map.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Adds `record` under `key`; false when the table is full of live sessions.
    pub(crate) fn create(&self, key: [u8; 32], record: Record) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= self.max {
            let idle = self.idle;
            map.retain(|_, e| !expired(e, now, idle));
            if map.len() >= self.max {
                return false;
            }
        }
        map.insert(
            key,
            Entry {
                record,
                last_seen: now,
            },
        );
        true
    }

    /// The record under `key`, unless unknown or lapsed; marks it used.
    pub(crate) fn get(&self, key: [u8; 32]) -> Option<Record> {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get_mut(&key)?;
        if expired(entry, now, self.idle) {
            map.remove(&key);
            return None;
        }
        entry.last_seen = now;
        Some(entry.record.clone())
    }

    /// Replaces the record under `key` if it is still there.
    pub(crate) fn update(&self, key: [u8; 32], record: Record) {
        if let Some(entry) = self.lock().get_mut(&key) {
            entry.record = record;
            entry.last_seen = Instant::now();
        }
    }

    /// Removes `old` and, if it was there, adds `record` under `new`, under one lock.
    pub(crate) fn replace(&self, old: [u8; 32], new: [u8; 32], record: Record) -> bool {
        let mut map = self.lock();
        if map.remove(&old).is_none() {
            return false;
        }
        map.insert(
            new,
            Entry {
                record,
                last_seen: Instant::now(),
            },
        );
        true
    }

    pub(crate) fn remove(&self, key: [u8; 32]) {
        self.lock().remove(&key);
    }

    /// Forgets every lapsed session.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        let idle = self.idle;
        self.lock().retain(|_, e| !expired(e, now, idle));
    }
}

fn expired(entry: &Entry, now: Instant, idle: Duration) -> bool {
    let signed_in_over = match &entry.record.stage {
        Stage::SignedIn { until, .. } => time::OffsetDateTime::now_utc() >= *until,
        _ => false,
    };
    signed_in_over || now.duration_since(entry.last_seen) > idle
}
