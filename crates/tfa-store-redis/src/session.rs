//! Logins in progress: one hash per login, replaced by compare-and-swap in a script.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use tfa_flow::{FlowError, Login, LoginId, Revision, SessionStore, Swap, Timestamp};

use crate::RedisStoreError;
use crate::connection::Conn;

/// Keys outlive their expiry by this much in Redis, so that a node whose clock is a little
/// behind Redis's still reads "expired" from the stored expiry rather than "absent".
const GRACE: Duration = Duration::from_secs(5);

const STORE: &str = "session";

/// `KEYS[1]` login; `ARGV` state, expiry (ms), Redis expiry (ms). 1 if created, 0 if the id
/// exists.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', 1, 'exp', ARGV[2], 'state', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
";

/// `KEYS[1]` login; `ARGV` expected revision, state, expiry (ms), Redis expiry (ms). The new
/// revision, or 0 when the stored one differs (or the login is gone).
const SWAP: &str = r"
local rev = redis.call('HGET', KEYS[1], 'rev')
if (not rev) or rev ~= ARGV[1] then return 0 end
local next = tonumber(rev) + 1
redis.call('HSET', KEYS[1], 'rev', next, 'exp', ARGV[3], 'state', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return next
";

/// Logins in Redis, shared by every node: `{namespace}:login:{id}` holds the revision, the
/// expiry and the state (JSON, versioned by `tfa-flow`). Every write is one script run, so a
/// login is never half-written, and two nodes never overwrite each other.
#[derive(Debug)]
pub struct RedisSessionStore {
    conn: Conn,
    swap: Script,
}

impl RedisSessionStore {
    pub(crate) fn new(conn: Conn) -> Self {
        Self {
            conn,
            swap: Script::new(SWAP),
        }
    }

    fn key(&self, id: LoginId) -> String {
        self.conn.namespace().key("login", &id.to_string())
    }
}

fn redis_expiry(expires_at: Timestamp) -> u64 {
    expires_at.plus(GRACE).unix_millis()
}

fn key(conn: &Conn, id: LoginId) -> String {
    conn.namespace().key("login", &id.to_string())
}

/// Stores a new login (one script run); fails if the id exists.
pub(crate) async fn create(
    conn: &Conn,
    login: &Login,
    expires_at: Timestamp,
) -> Result<Revision, FlowError> {
    static CREATE_SCRIPT: std::sync::LazyLock<Script> =
        std::sync::LazyLock::new(|| Script::new(CREATE));
    let state = login.to_json()?;
    let created: i64 = conn
        .script(
            "session create",
            CREATE_SCRIPT
                .key(key(conn, login.id()))
                .arg(state)
                .arg(expires_at.unix_millis())
                .arg(redis_expiry(expires_at)),
        )
        .await
        .map_err(|e| e.into_flow(STORE))?;
    if created == 1 {
        Ok(Revision::new(1))
    } else {
        Err(FlowError::Store {
            store: STORE,
            source: format!("login {} exists", login.id()).into(),
        })
    }
}

/// The login and its revision (one read), unless absent or expired at `now`.
pub(crate) async fn load(
    conn: &Conn,
    id: LoginId,
    now: Timestamp,
) -> Result<Option<(Login, Revision)>, FlowError> {
    let key = key(conn, id);
    let fields: (Option<u64>, Option<u64>, Option<String>) = conn
        .run(
            "session load",
            redis::cmd("HMGET")
                .arg(&key)
                .arg("rev")
                .arg("exp")
                .arg("state"),
        )
        .await
        .map_err(|e| e.into_flow(STORE))?;
    match fields {
        (None, None, None) => Ok(None),
        (Some(rev), Some(exp), Some(state)) => {
            if exp <= now.unix_millis() {
                return Ok(None);
            }
            Ok(Some((Login::from_json(&state)?, Revision::new(rev))))
        }
        _ => Err(RedisStoreError::Corrupt {
            operation: "session load",
            key,
            reason: "rev, exp and state must be stored together".into(),
        }
        .into_flow(STORE)),
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, login: &Login, expires_at: Timestamp) -> Result<Revision, FlowError> {
        create(&self.conn, login, expires_at).await
    }

    async fn load(
        &self,
        id: LoginId,
        now: Timestamp,
    ) -> Result<Option<(Login, Revision)>, FlowError> {
        load(&self.conn, id, now).await
    }

    async fn compare_and_swap(
        &self,
        login: &Login,
        expected: Revision,
        expires_at: Timestamp,
    ) -> Result<Swap, FlowError> {
        let state = login.to_json()?;
        let next: u64 = self
            .conn
            .script(
                "session compare-and-swap",
                self.swap
                    .key(self.key(login.id()))
                    .arg(expected.get())
                    .arg(state)
                    .arg(expires_at.unix_millis())
                    .arg(redis_expiry(expires_at)),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(if next == 0 {
            Swap::Conflict
        } else {
            Swap::Done(Revision::new(next))
        })
    }

    async fn remove(&self, id: LoginId) -> Result<(), FlowError> {
        let _: i64 = self
            .conn
            .run("session remove", redis::cmd("DEL").arg(self.key(id)))
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }
}
