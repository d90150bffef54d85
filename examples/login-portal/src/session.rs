//! Browser sessions: opaque random ids in a cookie, state kept on the server, and one
//! anti-forgery token per session for every form.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tfa_flow::{LoginId, UserMessage};

use crate::PortalError;

/// Where a browser session stands in the login.
#[derive(Debug, Clone)]
pub(crate) enum Stage {
    /// On the username page.
    Start,
    /// On the password page. `login` is `None` for a username the flow refused outright
    /// (too long, control characters): the page looks the same and the password fails.
    Password {
        login: Option<LoginId>,
        username: String,
    },
    /// Waiting for the call. `since` is when the password was submitted (to find the call).
    Calling {
        login: LoginId,
        username: String,
        since: time::OffsetDateTime,
    },
    /// Signed in as `username`.
    SignedIn { username: String, until: Instant },
    /// Ended without signing in.
    Failed { message: UserMessage },
}

/// A copy of a session's state, taken under the table's lock.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) csrf: String,
    pub(crate) stage: Stage,
}

impl Snapshot {
    /// True when `offered` is this session's token (compared in constant time).
    pub(crate) fn csrf_matches(&self, offered: Option<&str>) -> bool {
        offered.is_some_and(|offered| {
            bool::from(offered.as_bytes().ct_eq(self.csrf.as_bytes())) && !self.csrf.is_empty()
        })
    }
}

struct Entry {
    csrf: String,
    stage: Stage,
    last_seen: Instant,
}

/// The session table. Keys are SHA-256 digests of the cookie values, so the table never
/// holds a usable session id.
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Entry>>,
    idle: Duration,
    max: usize,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("idle", &self.idle)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// 32 random bytes, URL-safe base64 without padding (43 characters).
pub(crate) fn random_token() -> Result<String, PortalError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| PortalError::Random {
        reason: e.to_string(),
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// A table whose sessions lapse after `idle` without a request, holding at most `max`.
    pub(crate) fn new(idle: Duration, max: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            idle,
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        match self.map.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A new session at `stage`; its id (for the cookie) and state. `None` when the table
    /// is full of live sessions.
    pub(crate) fn create(&self, stage: Stage) -> Result<Option<(String, Snapshot)>, PortalError> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= self.max {
            let idle = self.idle;
            map.retain(|_, e| !expired(e, now, idle));
            if map.len() >= self.max {
                return Ok(None);
            }
        }
        map.insert(
            key(&id),
            Entry {
                csrf: csrf.clone(),
                stage: stage.clone(),
                last_seen: now,
            },
        );
        Ok(Some((id, Snapshot { csrf, stage })))
    }

    /// The session with cookie value `id`, unless unknown or lapsed; marks it used.
    pub(crate) fn get(&self, id: &str) -> Option<Snapshot> {
        let now = Instant::now();
        let mut map = self.lock();
        let k = key(id);
        let entry = map.get_mut(&k)?;
        if expired(entry, now, self.idle) {
            map.remove(&k);
            return None;
        }
        entry.last_seen = now;
        Some(Snapshot {
            csrf: entry.csrf.clone(),
            stage: entry.stage.clone(),
        })
    }

    /// Moves session `id` to `stage` (no-op if it has gone).
    pub(crate) fn set_stage(&self, id: &str, stage: Stage) {
        if let Some(entry) = self.lock().get_mut(&key(id)) {
            entry.stage = stage;
            entry.last_seen = Instant::now();
        }
    }

    /// Moves session `id` to `stage` under a new id and a new token (at sign-in, so that an
    /// id planted before the login is worthless after it). Returns the new id.
    pub(crate) fn rotate(&self, id: &str, stage: Stage) -> Result<Option<String>, PortalError> {
        let new_id = random_token()?;
        let csrf = random_token()?;
        let mut map = self.lock();
        if map.remove(&key(id)).is_none() {
            return Ok(None);
        }
        map.insert(
            key(&new_id),
            Entry {
                csrf,
                stage,
                last_seen: Instant::now(),
            },
        );
        Ok(Some(new_id))
    }

    /// Forgets session `id`.
    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(&key(id));
    }

    /// Forgets every lapsed session.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        let idle = self.idle;
        self.lock().retain(|_, e| !expired(e, now, idle));
    }
}

fn expired(entry: &Entry, now: Instant, idle: Duration) -> bool {
    match &entry.stage {
        Stage::SignedIn { until, .. } => {
            now >= *until || now.duration_since(entry.last_seen) > idle
        }
        _ => now.duration_since(entry.last_seen) > idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_whole_and_never_match_when_absent() {
        let sessions = Sessions::new(Duration::from_secs(60), 10);
        let (id, snap) = sessions.create(Stage::Start).unwrap().unwrap();
        assert_eq!(id.len(), 43);
        assert!(snap.csrf_matches(Some(&snap.csrf)));
        assert!(!snap.csrf_matches(None));
        assert!(!snap.csrf_matches(Some("")));
        assert!(!snap.csrf_matches(Some(&snap.csrf[..42])));
        assert!(sessions.get(&id).is_some());
        assert!(sessions.get("not-a-session").is_none());
    }

    #[test]
    fn rotation_retires_the_old_id() {
        let sessions = Sessions::new(Duration::from_secs(60), 10);
        let (id, before) = sessions.create(Stage::Start).unwrap().unwrap();
        let new_id = sessions.rotate(&id, Stage::Start).unwrap().unwrap();
        assert!(sessions.get(&id).is_none());
        let after = sessions.get(&new_id).unwrap();
        assert_ne!(after.csrf, before.csrf);
    }

    #[test]
    fn a_full_table_refuses_new_sessions_until_some_lapse() {
        let sessions = Sessions::new(Duration::from_millis(20), 2);
        sessions.create(Stage::Start).unwrap().unwrap();
        sessions.create(Stage::Start).unwrap().unwrap();
        assert!(sessions.create(Stage::Start).unwrap().is_none());
        std::thread::sleep(Duration::from_millis(40));
        assert!(sessions.create(Stage::Start).unwrap().is_some());
    }
}
