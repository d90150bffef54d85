//! Users' phone numbers for direct mode, in one hash.

use async_trait::async_trait;
use tfa_directory::Username;
use tfa_flow::{CounterKey, FlowError, PhoneBook};
use tfa_phone::PhoneNumber;

use crate::RedisStoreError;
use crate::connection::Conn;

const STORE: &str = "phone book";

/// Phone numbers in Redis, shared by every node: the hash `{namespace}:phones:book` maps a
/// user (lower case) to the number in the stored format (`1 9259249500 292`).
#[derive(Debug)]
pub struct RedisPhoneBook {
    conn: Conn,
}

impl RedisPhoneBook {
    pub(crate) fn new(conn: Conn) -> Self {
        Self { conn }
    }

    fn key(&self) -> String {
        self.conn.namespace().key("phones", "book")
    }

    /// Sets (or with `None` removes) the number to call for `user`.
    pub async fn set_number(
        &self,
        user: &Username,
        number: Option<&PhoneNumber>,
    ) -> Result<(), RedisStoreError> {
        let field = CounterKey::user(user);
        let command = match number {
            Some(n) => redis::cmd("HSET")
                .arg(self.key())
                .arg(field)
                .arg(n.stored())
                .clone(),
            None => redis::cmd("HDEL").arg(self.key()).arg(field).clone(),
        };
        let _: i64 = self.conn.run("phone book write", &command).await?;
        Ok(())
    }
}

#[async_trait]
impl PhoneBook for RedisPhoneBook {
    async fn number(&self, user: &Username) -> Result<Option<PhoneNumber>, FlowError> {
        let stored: Option<String> = self
            .conn
            .run(
                "phone book read",
                redis::cmd("HGET")
                    .arg(self.key())
                    .arg(CounterKey::user(user)),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        stored
            .map(|s| {
                PhoneNumber::parse_stored(&s).map_err(|e| {
                    RedisStoreError::Corrupt {
                        operation: "phone book read",
                        key: format!("{} {}", self.key(), CounterKey::user(user)),
                        reason: e.to_string(),
                    }
                    .into_flow(STORE)
                })
            })
            .transpose()
    }
}
