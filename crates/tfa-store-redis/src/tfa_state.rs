//! Enforcement settings, one-time bypasses and fraud blocks, one key each per user.

use std::collections::BTreeMap;

use async_trait::async_trait;
use redis::Script;
use tfa_directory::Username;
use tfa_flow::{BypassGrant, CounterKey, FlowError, TfaStateStore, Timestamp, UserTfaSettings};

use crate::RedisStoreError;
use crate::connection::Conn;

const STORE: &str = "tfa state";

/// Sets every key in `KEYS` to `ARGV[1]`, or deletes them all when it is empty: atomically.
const SET_MANY: &str = r"
for _, key in ipairs(KEYS) do
  if ARGV[1] == '' then redis.call('DEL', key) else redis.call('SET', key, ARGV[1]) end
end
return #KEYS
";

/// Keys read per `SCAN` step and per `MGET` when listing.
const LIST_BATCH: usize = 500;

/// Per-user TFA settings in Redis: `{namespace}:enforce:{user}` (`1` or `0`),
/// `{namespace}:bypass:{user}` (the grant as JSON, expiring with it) and
/// `{namespace}:blocked:{user}` (when it was blocked). Users are keyed in lower case, as
/// directories compare them. A bypass is taken with `GETDEL`: one login uses it, however
/// many nodes ask at once.
#[derive(Debug)]
pub struct RedisTfaStateStore {
    conn: Conn,
}

impl RedisTfaStateStore {
    pub(crate) fn new(conn: Conn) -> Self {
        Self { conn }
    }

    fn key(&self, kind: &str, user: &Username) -> String {
        self.conn.namespace().key(kind, &CounterKey::user(user))
    }

    /// The user's bypass read with `command` (`GET` to look, `GETDEL` to take it), if it is
    /// valid at `now`.
    async fn read_bypass(
        &self,
        operation: &'static str,
        command: &str,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        let key = self.key("bypass", user);
        let json: Option<String> = self
            .conn
            .run(operation, redis::cmd(command).arg(&key))
            .await
            .map_err(|e| e.into_flow(STORE))?;
        let Some(json) = json else { return Ok(None) };
        let grant: BypassGrant = serde_json::from_str(&json).map_err(|e| {
            RedisStoreError::Corrupt {
                operation,
                key,
                reason: e.to_string(),
            }
            .into_flow(STORE)
        })?;
        Ok((grant.until > now).then_some(grant))
    }

    /// Sets (or with `None` clears) the enforcement setting of every user in `users` in one
    /// atomic script: all of them change, or none (as `FileTfaStateStore` does for a file).
    pub async fn set_enforcement_many(
        &self,
        users: &[Username],
        enforced: Option<bool>,
    ) -> Result<(), FlowError> {
        if users.is_empty() {
            return Ok(());
        }
        let value = match enforced {
            Some(true) => "1",
            Some(false) => "0",
            None => "",
        };
        let script = Script::new(SET_MANY);
        let mut invocation = script.prepare_invoke();
        for user in users {
            invocation.key(self.key("enforce", user));
        }
        invocation.arg(value);
        let _: i64 = self
            .conn
            .script("tfa enforcement write (bulk)", &invocation)
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }

    /// Every user with a setting, a bypass (even an expired one not yet swept) or a block, by
    /// lower-case name: what an administrator lists. Reads the namespace's keys with `SCAN`, so
    /// it never blocks Redis, but it is not a snapshot: a change made while it runs may or may
    /// not show.
    pub async fn users(&self) -> Result<BTreeMap<String, UserTfaSettings>, FlowError> {
        let mut users: BTreeMap<String, UserTfaSettings> = BTreeMap::new();
        for kind in ["enforce", "bypass", "blocked"] {
            let prefix = self.conn.namespace().key(kind, "");
            for (key, value) in self.scan(&prefix).await? {
                let Some(name) = key.strip_prefix(&prefix) else {
                    continue;
                };
                let settings = users.entry(name.to_owned()).or_default();
                let corrupt = |reason: String| {
                    RedisStoreError::Corrupt {
                        operation: "tfa settings list",
                        key: key.clone(),
                        reason,
                    }
                    .into_flow(STORE)
                };
                match kind {
                    "enforce" => {
                        settings.enforced = match value.as_str() {
                            "1" => Some(true),
                            "0" => Some(false),
                            other => {
                                return Err(corrupt(format!(
                                    "expected 1 or 0, found {:?}",
                                    other.chars().take(16).collect::<String>()
                                )));
                            }
                        };
                    }
                    "bypass" => {
                        settings.bypass =
                            Some(serde_json::from_str(&value).map_err(|e| corrupt(e.to_string()))?);
                    }
                    _ => {
                        let millis: u64 = value.parse().map_err(|_| {
                            corrupt(format!("not a time in milliseconds: {value:?}"))
                        })?;
                        settings.blocked_at = Some(Timestamp::from_unix_millis(millis));
                    }
                }
            }
        }
        Ok(users)
    }

    /// The keys starting with `prefix` and their values (keys that vanish meanwhile are left
    /// out).
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, String)>, FlowError> {
        let pattern = format!("{prefix}*");
        let mut cursor = 0_u64;
        let mut found = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .conn
                .run(
                    "tfa settings list",
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(LIST_BATCH),
                )
                .await
                .map_err(|e| e.into_flow(STORE))?;
            for chunk in keys.chunks(LIST_BATCH) {
                let values: Vec<Option<String>> = self
                    .conn
                    .run("tfa settings list", redis::cmd("MGET").arg(chunk))
                    .await
                    .map_err(|e| e.into_flow(STORE))?;
                found.extend(
                    chunk
                        .iter()
                        .zip(values)
                        .filter_map(|(key, value)| Some((key.clone(), value?))),
                );
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl TfaStateStore for RedisTfaStateStore {
    async fn enforcement(&self, user: &Username) -> Result<Option<bool>, FlowError> {
        let key = self.key("enforce", user);
        let value: Option<String> = self
            .conn
            .run("tfa enforcement read", redis::cmd("GET").arg(&key))
            .await
            .map_err(|e| e.into_flow(STORE))?;
        match value.as_deref() {
            None => Ok(None),
            Some("1") => Ok(Some(true)),
            Some("0") => Ok(Some(false)),
            Some(other) => Err(RedisStoreError::Corrupt {
                operation: "tfa enforcement read",
                key,
                reason: format!(
                    "expected 1 or 0, found {:?}",
                    other.chars().take(16).collect::<String>()
                ),
            }
            .into_flow(STORE)),
        }
    }

    async fn set_enforcement(
        &self,
        user: &Username,
        enforced: Option<bool>,
    ) -> Result<(), FlowError> {
        let key = self.key("enforce", user);
        let command = match enforced {
            Some(on) => redis::cmd("SET")
                .arg(&key)
                .arg(if on { "1" } else { "0" })
                .clone(),
            None => redis::cmd("DEL").arg(&key).clone(),
        };
        let _: redis::Value = self
            .conn
            .run("tfa enforcement write", &command)
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }

    async fn grant_bypass(&self, user: &Username, grant: BypassGrant) -> Result<(), FlowError> {
        let json = serde_json::to_string(&grant).map_err(|e| FlowError::Store {
            store: STORE,
            source: Box::new(e),
        })?;
        let _: redis::Value = self
            .conn
            .run(
                "tfa bypass grant",
                redis::cmd("SET")
                    .arg(self.key("bypass", user))
                    .arg(json)
                    .arg("PXAT")
                    // Kept a little past its end; `take_bypass` checks the time itself.
                    .arg(grant.until.unix_millis() + 1000),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }

    async fn bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        self.read_bypass("tfa bypass read", "GET", user, now).await
    }

    async fn take_bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        self.read_bypass("tfa bypass take", "GETDEL", user, now)
            .await
    }

    async fn block(&self, user: &Username, at: Timestamp) -> Result<(), FlowError> {
        let _: redis::Value = self
            .conn
            .run(
                "tfa block",
                redis::cmd("SET")
                    .arg(self.key("blocked", user))
                    .arg(at.unix_millis()),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }

    async fn is_blocked(&self, user: &Username) -> Result<bool, FlowError> {
        let n: i64 = self
            .conn
            .run(
                "tfa block read",
                redis::cmd("EXISTS").arg(self.key("blocked", user)),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(n > 0)
    }

    async fn unblock(&self, user: &Username) -> Result<bool, FlowError> {
        let n: i64 = self
            .conn
            .run(
                "tfa unblock",
                redis::cmd("DEL").arg(self.key("blocked", user)),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(n > 0)
    }
}
