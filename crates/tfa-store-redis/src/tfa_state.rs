//! Enforcement settings, one-time bypasses and fraud blocks, one key each per user.

use async_trait::async_trait;
use tfa_directory::Username;
use tfa_flow::{BypassGrant, CounterKey, FlowError, TfaStateStore, Timestamp};

use crate::RedisStoreError;
use crate::connection::Conn;

const STORE: &str = "tfa state";

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
        let key = self.key("bypass", user);
        let json: Option<String> = self
            .conn
            .run("tfa bypass read", redis::cmd("GET").arg(&key))
            .await
            .map_err(|e| e.into_flow(STORE))?;
        let Some(json) = json else { return Ok(None) };
        let grant: BypassGrant = serde_json::from_str(&json).map_err(|e| {
            RedisStoreError::Corrupt {
                operation: "tfa bypass read",
                key,
                reason: e.to_string(),
            }
            .into_flow(STORE)
        })?;
        Ok((grant.until > now).then_some(grant))
    }

    async fn take_bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        let key = self.key("bypass", user);
        let json: Option<String> = self
            .conn
            .run("tfa bypass take", redis::cmd("GETDEL").arg(&key))
            .await
            .map_err(|e| e.into_flow(STORE))?;
        let Some(json) = json else { return Ok(None) };
        let grant: BypassGrant = serde_json::from_str(&json).map_err(|e| {
            RedisStoreError::Corrupt {
                operation: "tfa bypass take",
                key,
                reason: e.to_string(),
            }
            .into_flow(STORE)
        })?;
        Ok((grant.until > now).then_some(grant))
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
