//! A namespaced key-value map with expiry, for an application's own short-lived records
//! (e.g. a web portal's browser sessions) on the stores' connection.

use std::time::Duration;

use redis::Script;

use crate::RedisStoreError;
use crate::connection::Conn;

/// Deletes `KEYS[1]` and, only if it existed, sets `KEYS[2]` to `ARGV[1]` expiring in
/// `ARGV[2]` milliseconds. Returns 1 when done, 0 when the old key had gone.
const REPLACE: &str = r"
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// String values under `{namespace}:{kind}:{name}`, each expiring after a time to live that
/// reads and writes renew. Made by [`RedisStores::key_value`](crate::RedisStores::key_value);
/// cheap to clone, sharing the stores' connection.
///
/// Names are used as given: callers that key records by a secret (a session cookie) should
/// pass a digest of it, never the secret. Every failure is a
/// [`RedisStoreError::Command`] naming the operation (`{kind} read`, ...), so that callers
/// can fail closed.
#[derive(Debug, Clone)]
pub struct RedisKeyValue {
    conn: Conn,
    kind: &'static str,
    replace: Script,
}

impl RedisKeyValue {
    pub(crate) fn new(conn: Conn, kind: &'static str) -> Self {
        Self {
            conn,
            kind,
            replace: Script::new(REPLACE),
        }
    }

    /// The full Redis key of `name`.
    pub fn key(&self, name: &str) -> String {
        self.conn.namespace().key(self.kind, name)
    }

    /// `SET` with the condition `NX` (absent) or `XX` (present); true when stored.
    async fn set_if(
        &self,
        operation: &'static str,
        condition: &str,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, RedisStoreError> {
        let set: Option<String> = self
            .conn
            .run(
                operation,
                redis::cmd("SET")
                    .arg(self.key(name))
                    .arg(value)
                    .arg("PX")
                    .arg(millis(ttl))
                    .arg(condition),
            )
            .await?;
        Ok(set.is_some())
    }

    /// Stores `value` under `name` unless the name is taken; true when stored.
    pub async fn create(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, RedisStoreError> {
        self.set_if("key-value create", "NX", name, value, ttl)
            .await
    }

    /// The value under `name`, its time to live renewed to `ttl`; `None` when absent or
    /// expired.
    pub async fn get_and_touch(
        &self,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<String>, RedisStoreError> {
        self.conn
            .run(
                "key-value read",
                redis::cmd("GETEX")
                    .arg(self.key(name))
                    .arg("PX")
                    .arg(millis(ttl)),
            )
            .await
    }

    /// Replaces the value under `name` if it is still there (an expired or deleted name is
    /// not brought back); true when replaced.
    pub async fn update(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, RedisStoreError> {
        self.set_if("key-value update", "XX", name, value, ttl)
            .await
    }

    /// Atomically deletes `old` and, only if it existed, stores `value` under `new` (one
    /// script): nothing is half-done if Redis fails. True when done.
    pub async fn replace(
        &self,
        old: &str,
        new: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, RedisStoreError> {
        let mut invocation = self.replace.prepare_invoke();
        invocation
            .key(self.key(old))
            .key(self.key(new))
            .arg(value)
            .arg(millis(ttl));
        let done: i64 = self.conn.script("key-value replace", &invocation).await?;
        Ok(done == 1)
    }

    /// Deletes `name`; true when it existed.
    pub async fn delete(&self, name: &str) -> Result<bool, RedisStoreError> {
        let deleted: i64 = self
            .conn
            .run("key-value delete", redis::cmd("DEL").arg(self.key(name)))
            .await?;
        Ok(deleted == 1)
    }
}

/// Milliseconds for `PX`: at least 1 (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
