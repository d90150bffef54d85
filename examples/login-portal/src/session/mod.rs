//! Browser sessions: opaque random ids in a cookie, state kept on the server (in this
//! process, or in Redis shared by every portal node), and one anti-forgery token per session
//! for every form.

mod memory;
mod redis;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tfa_flow::{LoginId, UserMessage};
use tfa_store_redis::{RedisKeyValue, RedisStoreError};
use time::OffsetDateTime;

pub(crate) use memory::MemorySessions;
pub(crate) use redis::RedisSessions;

/// Where a browser session stands in the login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "kebab-case")]
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
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
    /// Signed in as `username`.
    SignedIn {
        username: String,
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// Ended without signing in.
    Failed { message: UserMessage },
}

/// What is kept per session: its anti-forgery token and its stage (never a password).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) csrf: String,
    pub(crate) stage: Stage,
}

/// The request's session: the cookie value that names it and its anti-forgery token.
#[derive(Debug, Clone)]
pub(crate) struct BrowserSession {
    pub(crate) id: String,
    pub(crate) csrf: String,
}

impl BrowserSession {
    /// True when `offered` is this session's token (compared in constant time).
    pub(crate) fn csrf_matches(&self, offered: Option<&str>) -> bool {
        offered.is_some_and(|offered| {
            bool::from(offered.as_bytes().ct_eq(self.csrf.as_bytes())) && !self.csrf.is_empty()
        })
    }
}

/// Why a session could not be read or written. The request fails closed: the visitor gets
/// the "temporarily unavailable" page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// The operating system's random source failed.
    #[error("random source failed: {reason}")]
    Random { reason: String },
    /// The shared session store failed.
    #[error("the browser session store failed")]
    Store(#[source] RedisStoreError),
    /// A stored session cannot be read back.
    #[error("browser session {key} unreadable")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    /// A session cannot be encoded for the store.
    #[error("browser session cannot be encoded")]
    Encode(#[source] serde_json::Error),
    /// A fresh random id named an existing session.
    #[error("a new browser session id is already taken")]
    Taken,
}

/// The session table: in this process, or in Redis.
#[derive(Debug)]
pub(crate) enum Sessions {
    /// In this process's memory, with a size limit.
    Memory(MemorySessions),
    /// In Redis, shared by every portal node on it, each session expiring by TTL.
    Redis(RedisSessions),
}

/// 32 random bytes, URL-safe base64 without padding (43 characters).
pub(crate) fn random_token() -> Result<String, SessionError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| SessionError::Random {
        reason: e.to_string(),
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 of a cookie value: what the tables key sessions by, so that they never hold a
/// usable session id.
fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// A table in memory whose sessions lapse after `idle` without a request, holding at
    /// most `max`.
    pub(crate) fn memory(idle: Duration, max: usize) -> Self {
        Self::Memory(MemorySessions::new(idle, max))
    }

    /// A table in Redis under `records`, whose sessions lapse after `idle` without a request.
    pub(crate) fn redis(records: RedisKeyValue, idle: Duration) -> Self {
        Self::Redis(RedisSessions::new(records, idle))
    }

    /// A new session at `stage`. `None` when the memory table is full of live sessions.
    pub(crate) async fn create(
        &self,
        stage: Stage,
    ) -> Result<Option<BrowserSession>, SessionError> {
        let session = BrowserSession {
            id: random_token()?,
            csrf: random_token()?,
        };
        let record = Record {
            csrf: session.csrf.clone(),
            stage,
        };
        let created = match self {
            Self::Memory(table) => table.create(digest(&session.id), record),
            Self::Redis(table) => table.create(digest(&session.id), &record).await?,
        };
        Ok(created.then_some(session))
    }

    /// The session with cookie value `id` and its stage, unless unknown or lapsed (idle too
    /// long, or signed in past its lifetime); marks it used.
    pub(crate) async fn get(
        &self,
        id: &str,
    ) -> Result<Option<(BrowserSession, Stage)>, SessionError> {
        let key = digest(id);
        let record = match self {
            Self::Memory(table) => table.get(key),
            Self::Redis(table) => table.get(key).await?,
        };
        let Some(record) = record else {
            return Ok(None);
        };
        if let Stage::SignedIn { until, .. } = &record.stage
            && OffsetDateTime::now_utc() >= *until
        {
            self.delete(key).await?;
            return Ok(None);
        }
        let session = BrowserSession {
            id: id.to_owned(),
            csrf: record.csrf,
        };
        Ok(Some((session, record.stage)))
    }

    /// Moves `session` to `stage` (nothing if it has gone).
    pub(crate) async fn set_stage(
        &self,
        session: &BrowserSession,
        stage: Stage,
    ) -> Result<(), SessionError> {
        let key = digest(&session.id);
        let record = Record {
            csrf: session.csrf.clone(),
            stage,
        };
        match self {
            Self::Memory(table) => table.update(key, record),
            Self::Redis(table) => table.update(key, &record).await?,
        }
        Ok(())
    }

    /// Moves `session` to `stage` under a new id and a new token, in one step (at sign-in,
    /// so that an id planted before the login is worthless after it). `None` when the
    /// session has gone.
    pub(crate) async fn rotate(
        &self,
        session: &BrowserSession,
        stage: Stage,
    ) -> Result<Option<BrowserSession>, SessionError> {
        let rotated = BrowserSession {
            id: random_token()?,
            csrf: random_token()?,
        };
        let record = Record {
            csrf: rotated.csrf.clone(),
            stage,
        };
        let (old, new) = (digest(&session.id), digest(&rotated.id));
        let done = match self {
            Self::Memory(table) => table.replace(old, new, record),
            Self::Redis(table) => table.replace(old, new, &record).await?,
        };
        Ok(done.then_some(rotated))
    }

    /// Forgets `session`.
    pub(crate) async fn remove(&self, session: &BrowserSession) -> Result<(), SessionError> {
        self.delete(digest(&session.id)).await
    }

    async fn delete(&self, key: [u8; 32]) -> Result<(), SessionError> {
        match self {
            Self::Memory(table) => table.remove(key),
            Self::Redis(table) => table.remove(key).await?,
        }
        Ok(())
    }

    /// Forgets every lapsed session held in memory (Redis expires its own).
    pub(crate) fn sweep(&self) {
        if let Self::Memory(table) = self {
            table.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_compared_whole_and_never_match_when_absent() {
        let sessions = Sessions::memory(Duration::from_secs(60), 10);
        let session = sessions.create(Stage::Start).await.unwrap().unwrap();
        assert_eq!(session.id.len(), 43);
        assert!(session.csrf_matches(Some(&session.csrf)));
        assert!(!session.csrf_matches(None));
        assert!(!session.csrf_matches(Some("")));
        assert!(!session.csrf_matches(Some(&session.csrf[..42])));
        assert!(sessions.get(&session.id).await.unwrap().is_some());
        assert!(sessions.get("not-a-session").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn rotation_retires_the_old_id() {
        let sessions = Sessions::memory(Duration::from_secs(60), 10);
        let before = sessions.create(Stage::Start).await.unwrap().unwrap();
        let after = sessions
            .rotate(&before, Stage::Start)
            .await
            .unwrap()
            .unwrap();
        assert!(sessions.get(&before.id).await.unwrap().is_none());
        let (found, _) = sessions.get(&after.id).await.unwrap().unwrap();
        assert_ne!(found.csrf, before.csrf);
        assert!(
            sessions
                .rotate(&before, Stage::Start)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_full_table_refuses_new_sessions_until_some_lapse() {
        let sessions = Sessions::memory(Duration::from_millis(20), 2);
        sessions.create(Stage::Start).await.unwrap().unwrap();
        sessions.create(Stage::Start).await.unwrap().unwrap();
        assert!(sessions.create(Stage::Start).await.unwrap().is_none());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(sessions.create(Stage::Start).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_signed_in_session_ends_at_its_lifetime() {
        let sessions = Sessions::memory(Duration::from_secs(60), 10);
        let stage = Stage::SignedIn {
            username: "alice".into(),
            until: OffsetDateTime::now_utc() - time::Duration::seconds(1),
        };
        let session = sessions.create(stage).await.unwrap().unwrap();
        assert!(sessions.get(&session.id).await.unwrap().is_none());
    }

    #[test]
    fn stages_round_trip_through_json_without_the_cookie_value() {
        let session_id = random_token().unwrap();
        let record = Record {
            csrf: random_token().unwrap(),
            stage: Stage::Calling {
                login: LoginId::random().unwrap(),
                username: "alice".into(),
                since: OffsetDateTime::now_utc(),
            },
        };
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains(&session_id));
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back.csrf, record.csrf);
        assert!(matches!(back.stage, Stage::Calling { username, .. } if username == "alice"));
        let failed = Record {
            csrf: String::new(),
            stage: Stage::Failed {
                message: UserMessage::TemporarilyUnavailable,
            },
        };
        let back: Record = serde_json::from_str(&serde_json::to_string(&failed).unwrap()).unwrap();
        assert!(matches!(
            back.stage,
            Stage::Failed {
                message: UserMessage::TemporarilyUnavailable
            }
        ));
    }
}
