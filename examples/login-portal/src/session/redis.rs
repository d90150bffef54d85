//! The session table in Redis, shared by every portal node on it.

use std::fmt::Write as _;
use std::time::Duration;

use tfa_store_redis::RedisKeyValue;

use super::{Record, SessionError};

/// Sessions as JSON values under `{namespace}:portal-session:{hex SHA-256 of the cookie
/// value}`, each with a time to live of `idle`, renewed on every use.
#[derive(Debug)]
pub(crate) struct RedisSessions {
    records: RedisKeyValue,
    idle: Duration,
}

fn name(key: [u8; 32]) -> String {
    key.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

fn encode(record: &Record) -> Result<String, SessionError> {
    serde_json::to_string(record).map_err(SessionError::Encode)
}

impl RedisSessions {
    pub(crate) fn new(records: RedisKeyValue, idle: Duration) -> Self {
        Self { records, idle }
    }

    pub(crate) async fn create(
        &self,
        key: [u8; 32],
        record: &Record,
    ) -> Result<bool, SessionError> {
        let created = self
            .records
            .create(&name(key), &encode(record)?, self.idle)
            .await
            .map_err(SessionError::Store)?;
        if created {
            Ok(true)
        } else {
            Err(SessionError::Taken)
        }
    }

    pub(crate) async fn get(&self, key: [u8; 32]) -> Result<Option<Record>, SessionError> {
        let name = name(key);
        let Some(json) = self
            .records
            .get_and_touch(&name, self.idle)
            .await
            .map_err(SessionError::Store)?
        else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|source| SessionError::Corrupt {
                key: self.records.key(&name),
                source,
            })
    }

    pub(crate) async fn update(&self, key: [u8; 32], record: &Record) -> Result<(), SessionError> {
        self.records
            .update(&name(key), &encode(record)?, self.idle)
            .await
            .map_err(SessionError::Store)?;
        Ok(())
    }

    pub(crate) async fn replace(
        &self,
        old: [u8; 32],
        new: [u8; 32],
        record: &Record,
    ) -> Result<bool, SessionError> {
        self.records
            .replace(&name(old), &name(new), &encode(record)?, self.idle)
            .await
            .map_err(SessionError::Store)
    }

    pub(crate) async fn remove(&self, key: [u8; 32]) -> Result<(), SessionError> {
        self.records
            .delete(&name(key))
            .await
            .map_err(SessionError::Store)?;
        Ok(())
    }
}
