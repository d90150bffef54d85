//! Lockout and call-limit counters as sorted sets of hit times, and the one-outstanding-call
//! hold, each updated by one script.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use tfa_flow::{CounterKey, CounterStore, FlowError, LoginId, Timestamp};

use crate::RedisStoreError;
use crate::connection::Conn;

const STORE: &str = "counter";

/// Hits kept per key at most: enough for every policy threshold, and a bound on what an
/// attacker hammering one key can make Redis hold.
pub const MAX_HITS: u32 = 4096;

/// `KEYS[1]` counter; `ARGV` time (ms), unique member, keep (ms), most hits kept. Drops hits
/// older than the keep, adds this one, trims to the cap, and extends the key's life to at
/// least the keep.
const RECORD: &str = r"
local at = tonumber(ARGV[1])
local keep = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at - keep)
redis.call('ZADD', KEYS[1], at, ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[4])
if n > cap then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1) end
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return n
";

/// `KEYS[1]` hold; `ARGV` holder, now (ms), until (ms), Redis expiry (ms). 1 if taken (or
/// already held by this holder), 0 if someone else holds it at `now`.
const TRY_HOLD: &str = r"
local h = redis.call('HMGET', KEYS[1], 'holder', 'until')
if h[1] and h[1] ~= ARGV[1] and tonumber(h[2]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'until', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
";

/// `KEYS[1]` hold; `ARGV` holder. Deletes the hold only if this holder has it.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Counters in Redis, shared by every node, so lockouts and call limits hold across nodes:
/// `{namespace}:count:{key}` is a sorted set of hit times (ms), trimmed by age and to
/// [`MAX_HITS`] and expiring when its newest hit no longer counts; a hold is a hash with its
/// holder and end, taken and released by scripts so that only one login holds it and only
/// the holder releases it.
///
/// With [`RedisTransactions`](crate::RedisTransactions) (what [`RedisStores::attach`](crate::RedisStores::attach)
/// puts in), the call limits are checked and recorded inside the script that takes the hold, so
/// every limit is exact across nodes. Used alone (steps composed of this store's calls, e.g.
/// with TFA settings kept elsewhere), a user's calls are still serialised by the hold, so
/// per-user limits are exact, but per-number and per-country limits are read, checked and then
/// recorded: two *different* users' logins on two nodes for the same number (or country) at
/// the same instant can both pass the last free place.
#[derive(Debug)]
pub struct RedisCounterStore {
    conn: Conn,
    record: Script,
    try_hold: Script,
    release: Script,
}

impl RedisCounterStore {
    pub(crate) fn new(conn: Conn) -> Self {
        Self {
            conn,
            record: Script::new(RECORD),
            try_hold: Script::new(TRY_HOLD),
            release: Script::new(RELEASE),
        }
    }

    fn key(&self, key: &CounterKey) -> String {
        self.conn.namespace().key("count", &key.to_string())
    }
}

/// A member no other hit shares, even at the same millisecond on another node.
pub(crate) fn member(at: Timestamp) -> Result<String, FlowError> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| FlowError::Random {
        reason: e.to_string(),
    })?;
    Ok(format!(
        "{}:{:016x}",
        at.unix_millis(),
        u64::from_be_bytes(nonce)
    ))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[async_trait]
impl CounterStore for RedisCounterStore {
    async fn record(
        &self,
        key: &CounterKey,
        at: Timestamp,
        keep: Duration,
    ) -> Result<(), FlowError> {
        // At least 1 ms: PEXPIRE 0 would delete the hit just recorded.
        let keep = millis(keep).max(1);
        let _: i64 = self
            .conn
            .script(
                "counter record",
                self.record
                    .key(self.key(key))
                    .arg(at.unix_millis())
                    .arg(member(at)?)
                    .arg(keep)
                    .arg(MAX_HITS),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }

    async fn history(
        &self,
        key: &CounterKey,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, FlowError> {
        let redis_key = self.key(key);
        let members: Vec<String> = self
            .conn
            .run(
                "counter history",
                redis::cmd("ZRANGE")
                    .arg(&redis_key)
                    .arg(since.unix_millis())
                    .arg("+inf")
                    .arg("BYSCORE"),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        members
            .iter()
            .map(|m| {
                m.split(':')
                    .next()
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .map(Timestamp::from_unix_millis)
                    .ok_or_else(|| {
                        RedisStoreError::Corrupt {
                            operation: "counter history",
                            key: redis_key.clone(),
                            reason: "a member is not <millis>:<nonce>".into(),
                        }
                        .into_flow(STORE)
                    })
            })
            .collect()
    }

    async fn clear(&self, key: &CounterKey) -> Result<(), FlowError> {
        let _: i64 = self
            .conn
            .run("counter clear", redis::cmd("DEL").arg(self.key(key)))
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }

    async fn try_hold(
        &self,
        key: &CounterKey,
        holder: LoginId,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, FlowError> {
        let taken: i64 = self
            .conn
            .script(
                "counter try_hold",
                self.try_hold
                    .key(self.key(key))
                    .arg(holder.to_string())
                    .arg(now.unix_millis())
                    .arg(until.unix_millis())
                    // Redis forgets the hold a little after it lapses; the script compares
                    // `until` itself, so a skewed clock cannot make a hold last too short.
                    .arg(until.unix_millis() + 5_000),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(taken == 1)
    }

    async fn release(&self, key: &CounterKey, holder: LoginId) -> Result<(), FlowError> {
        let _: i64 = self
            .conn
            .script(
                "counter release",
                self.release.key(self.key(key)).arg(holder.to_string()),
            )
            .await
            .map_err(|e| e.into_flow(STORE))?;
        Ok(())
    }
}
