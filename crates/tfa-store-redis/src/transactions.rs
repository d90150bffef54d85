//! The login steps, each one Lua script: one round trip per step, atomic.

use std::time::Duration;

use async_trait::async_trait;
use redis::{Script, ScriptInvocation, Value};
use tfa_directory::Username;
use tfa_flow::{
    BypassGrant, CallReservation, CallRule, Committed, CounterKey, Effects, FactQuery, FlowError,
    Login, LoginId, LoginTransactions, Revision, StoredFacts, Timestamp, Update, Verified,
};
use tfa_phone::PhoneNumber;

use crate::connection::Conn;
use crate::counters::member;
use crate::{MAX_HITS, RedisStoreError};

const STORE: &str = "login transactions";

/// Keys outlive their expiry by this much (as in the session store).
const GRACE: Duration = Duration::from_secs(5);

/// Shared Lua: the compare-and-swap of a login (`check`, `write`), a counter's hit
/// (`record`, as the counter store's script), the effects of a step (`effects`) and the
/// facts of the password step (`facts`).
const PRELUDE: &str = r"
local function check(key, rev)
  local cur = redis.call('HMGET', key, 'rev', 'exp', 'state')
  if (not cur[1]) or cur[1] ~= rev then
    return {0, cur[1], cur[2], cur[3]}
  end
  return nil
end
local function write(key, rev, state, exp, pexp)
  local next = tonumber(rev) + 1
  redis.call('HSET', key, 'rev', next, 'exp', exp, 'state', state)
  redis.call('PEXPIREAT', key, pexp)
  return next
end
local function record(key, at, member, keep, cap)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', at - keep)
  redis.call('ZADD', key, at, member)
  local n = redis.call('ZCARD', key)
  if n > cap then redis.call('ZREMRANGEBYRANK', key, 0, n - cap - 1) end
  if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
end
local function effects(k, a)
  local n = tonumber(ARGV[a])
  a = a + 1
  for i = 1, n do
    local op, key = ARGV[a], KEYS[k]
    k = k + 1
    if op == 'rec' then
      record(key, tonumber(ARGV[a + 1]), ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]))
      a = a + 5
    elseif op == 'del' then
      redis.call('DEL', key)
      a = a + 1
    elseif op == 'set' then
      redis.call('SET', key, ARGV[a + 1])
      a = a + 2
    else
      if redis.call('HGET', key, 'holder') == ARGV[a + 1] then redis.call('DEL', key) end
      a = a + 2
    end
  end
end
local function facts(k, a)
  local out = {}
  for i = 0, 3 do
    out[i + 1] = redis.call('ZRANGE', KEYS[k + i], ARGV[a + i], '+inf', 'BYSCORE')
  end
  out[5] = redis.call('GET', KEYS[k + 4])
  out[6] = redis.call('EXISTS', KEYS[k + 5])
  out[7] = redis.call('GET', KEYS[k + 6])
  if ARGV[a + 4] ~= '' then
    out[8] = redis.call('HGET', KEYS[k + 7], ARGV[a + 4])
  else
    out[8] = false
  end
  return out
end
";

/// `KEYS` login, facts keys (8); `ARGV` revision, state, expiry, Redis expiry, facts args
/// (5). `{swap, facts}`: swap is `{1, revision}` or `{0, revision, expiry, state}` (as now).
const PASSWORD: &str = r"
local swap = check(KEYS[1], ARGV[1])
if not swap then swap = {1, write(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])} end
return {swap, facts(2, 5)}
";

/// `KEYS` facts keys (8); `ARGV` facts args (5).
const FACTS: &str = r"
return facts(1, 1)
";

/// `KEYS` login, effect keys; `ARGV` revision, state, expiry, Redis expiry, effects.
const COMMIT: &str = r"
local c = check(KEYS[1], ARGV[1])
if c then return c end
local rev = write(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
effects(2, 5)
return {1, rev}
";

/// `KEYS` effect keys; `ARGV` effects.
const EFFECTS: &str = r"
effects(1, 1)
return 1
";

/// Step (3). `KEYS` login, bypass, hold, phone failures of the user, calls to the user,
/// number and country, then effect keys. `ARGV`: 1-4 the swap; 5 the bypass expected (JSON,
/// or empty); 6 `1` if a call is to be reserved; 7 holder; 8 now; 9 hold until; 10 hold's
/// Redis expiry; 11 `1` if the number is known; 12-15 fatigue after, window, base delay, max
/// delay; 16-21 limit and window per user, number, country; 22 how long calls are kept; 23
/// most hits kept; 24-26 members for the user, number and country; 27- effects.
///
/// `{1, revision}` done; `{0, …}` conflict; `{2, bypass}` bypass changed; `{3, rule, until}`
/// refused. Nothing is written unless done.
const VERIFIED: &str = r"
local c = check(KEYS[1], ARGV[1])
if c then return c end
if ARGV[5] ~= '' then
  local g = redis.call('GET', KEYS[2])
  if g ~= ARGV[5] then return {2, g} end
end
if ARGV[6] == '1' then
  local now = tonumber(ARGV[8])
  local h = redis.call('HMGET', KEYS[3], 'holder', 'until')
  if h[1] and h[1] ~= ARGV[7] and tonumber(h[2]) > now then return {3, 'hold'} end
  local after, window = tonumber(ARGV[12]), tonumber(ARGV[13])
  -- Hits after `now` count too: another node's clock may be a little ahead.
  local failed = redis.call('ZCOUNT', KEYS[4], now - window, '+inf')
  if failed > 0 and failed >= after then
    local newest = redis.call('ZRANGE', KEYS[4], '+inf', now - window, 'BYSCORE', 'REV', 'LIMIT', 0, 1, 'WITHSCORES')
    local doublings = math.min(failed - math.max(after, 1), 20)
    local delay = math.min(tonumber(ARGV[14]) * (2 ^ doublings), tonumber(ARGV[15]))
    local at = tonumber(newest[2]) + delay
    if at > now then return {3, 'fatigue', at} end
  end
  local function full(key, limit, span)
    return redis.call('ZCOUNT', key, now - tonumber(span), '+inf') >= tonumber(limit)
  end
  if full(KEYS[5], ARGV[16], ARGV[17]) then return {3, 'user'} end
  if ARGV[11] == '1' then
    if full(KEYS[6], ARGV[18], ARGV[19]) then return {3, 'number'} end
    if full(KEYS[7], ARGV[20], ARGV[21]) then return {3, 'country'} end
  end
  local keep, cap = tonumber(ARGV[22]), tonumber(ARGV[23])
  record(KEYS[5], now, ARGV[24], keep, cap)
  if ARGV[11] == '1' then
    record(KEYS[6], now, ARGV[25], keep, cap)
    record(KEYS[7], now, ARGV[26], keep, cap)
  end
  redis.call('HSET', KEYS[3], 'holder', ARGV[7], 'until', ARGV[9])
  redis.call('PEXPIREAT', KEYS[3], ARGV[10])
end
if ARGV[5] ~= '' then redis.call('DEL', KEYS[2]) end
local rev = write(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
effects(8, 27)
return {1, rev}
";

/// The login steps on Redis, each one script and so one round trip, atomic: the password
/// step swaps the login and reads every fact it needs; the first factor's decision swaps the
/// login with the bypass taken, the outstanding-call hold taken and the call limits checked
/// and recorded (exact across nodes: no other script runs in between); the call's end swaps
/// the outcome with its counters and releases the hold. Same keys as the per-datum stores
/// of [`RedisStores`](crate::RedisStores), so both can be used side by side.
#[derive(Debug)]
pub struct RedisTransactions {
    conn: Conn,
    phone_book: bool,
    password: Script,
    facts: Script,
    commit: Script,
    effects: Script,
    verified: Script,
}

/// A script with the prelude.
fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn corrupt(operation: &'static str, key: String, reason: impl Into<String>) -> FlowError {
    RedisStoreError::Corrupt {
        operation,
        key,
        reason: reason.into(),
    }
    .into_flow(STORE)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        _ => &[],
    }
}

impl RedisTransactions {
    /// The steps on `conn`; with `phone_book`, the password step reads numbers from the
    /// Redis phone book.
    pub(crate) fn new(conn: Conn, phone_book: bool) -> Self {
        Self {
            conn,
            phone_book,
            password: script(PASSWORD),
            facts: script(FACTS),
            commit: script(COMMIT),
            effects: script(EFFECTS),
            verified: script(VERIFIED),
        }
    }

    fn login_key(&self, id: LoginId) -> String {
        self.conn.namespace().key("login", &id.to_string())
    }

    fn counter_key(&self, key: &CounterKey) -> String {
        self.conn.namespace().key("count", &key.to_string())
    }

    fn user_key(&self, kind: &str, user: &Username) -> String {
        self.conn.namespace().key(kind, &CounterKey::user(user))
    }

    /// Adds the swap's key and arguments (`KEYS[1]`, `ARGV[1..4]`).
    fn add_swap(
        &self,
        invocation: &mut ScriptInvocation<'_>,
        update: Update<'_>,
    ) -> Result<(), FlowError> {
        invocation
            .key(self.login_key(update.login.id()))
            .arg(update.expected.get())
            .arg(update.login.to_json()?)
            .arg(update.expires_at.unix_millis())
            .arg(update.expires_at.plus(GRACE).unix_millis());
        Ok(())
    }

    /// Adds the facts' keys (8) and arguments (5).
    fn add_facts(&self, invocation: &mut ScriptInvocation<'_>, query: &FactQuery) {
        let user = CounterKey::user(&query.user);
        invocation
            .key(self.counter_key(&CounterKey::PasswordFailuresOfUser(user.clone())))
            .key(self.counter_key(&CounterKey::PasswordFailuresFromSource(query.source)))
            .key(self.counter_key(&CounterKey::PhoneFailuresOfUser(user.clone())))
            .key(self.counter_key(&CounterKey::PhoneFailuresFromSource(query.source)))
            .key(self.user_key("enforce", &query.user))
            .key(self.user_key("blocked", &query.user))
            .key(self.user_key("bypass", &query.user))
            .key(self.conn.namespace().key("phones", "book"))
            .arg(query.password_user_since.unix_millis())
            .arg(query.password_source_since.unix_millis())
            .arg(query.phone_user_since.unix_millis())
            .arg(query.phone_source_since.unix_millis())
            .arg(if self.phone_book { user } else { String::new() });
    }

    /// Adds the effects' keys (in order) and arguments (their count first).
    fn add_effects(
        &self,
        invocation: &mut ScriptInvocation<'_>,
        effects: &Effects,
    ) -> Result<(), FlowError> {
        let count = effects.record.len()
            + effects.clear.len()
            + effects.block.len()
            + effects.release.len();
        invocation.arg(count);
        for hit in &effects.record {
            invocation
                .key(self.counter_key(&hit.key))
                .arg("rec")
                .arg(hit.at.unix_millis())
                .arg(member(hit.at)?)
                // At least 1 ms: PEXPIRE 0 would delete the hit just recorded.
                .arg(millis(hit.keep).max(1))
                .arg(MAX_HITS);
        }
        for key in &effects.clear {
            invocation.key(self.counter_key(key)).arg("del");
        }
        for (user, at) in &effects.block {
            invocation
                .key(self.user_key("blocked", user))
                .arg("set")
                .arg(at.unix_millis());
        }
        for (key, holder) in &effects.release {
            invocation
                .key(self.counter_key(key))
                .arg("rel")
                .arg(holder.to_string());
        }
        Ok(())
    }

    /// A swap's reply: `{1, revision}`, or `{0, revision, expiry, state}` as stored now.
    fn committed(
        &self,
        operation: &'static str,
        id: LoginId,
        reply: &Value,
        now: Timestamp,
    ) -> Result<Committed, FlowError> {
        let fields = items(reply);
        let bad = || corrupt(operation, self.login_key(id), "unexpected script reply");
        match fields.first().and_then(int) {
            Some(1) => {
                let revision = fields.get(1).and_then(int).ok_or_else(bad)?;
                Ok(Committed::Done(Revision::new(
                    u64::try_from(revision).map_err(|_| bad())?,
                )))
            }
            Some(0) => {
                let found = (
                    fields.get(1).and_then(int),
                    fields.get(2).and_then(int),
                    fields.get(3).and_then(text),
                );
                match found {
                    (None, None, None) => Ok(Committed::Conflict(None)),
                    (Some(revision), Some(expires), Some(state)) => {
                        if u64::try_from(expires).unwrap_or(0) <= now.unix_millis() {
                            return Ok(Committed::Conflict(None));
                        }
                        let revision = u64::try_from(revision).map_err(|_| bad())?;
                        Ok(Committed::Conflict(Some((
                            Login::from_json(&state)?,
                            Revision::new(revision),
                        ))))
                    }
                    _ => Err(corrupt(
                        operation,
                        self.login_key(id),
                        "rev, exp and state must be stored together",
                    )),
                }
            }
            _ => Err(bad()),
        }
    }

    fn stored_facts(&self, query: &FactQuery, reply: &Value) -> Result<StoredFacts, FlowError> {
        let fields = items(reply);
        let key = || self.user_key("facts", &query.user);
        if fields.len() < 8 {
            return Err(corrupt("login facts", key(), "unexpected script reply"));
        }
        let history = |value: &Value| -> Result<Vec<Timestamp>, FlowError> {
            items(value)
                .iter()
                .map(|m| {
                    text(m)
                        .and_then(|m| m.split(':').next().and_then(|ms| ms.parse::<u64>().ok()))
                        .map(Timestamp::from_unix_millis)
                        .ok_or_else(|| {
                            corrupt("login facts", key(), "a member is not <millis>:<nonce>")
                        })
                })
                .collect()
        };
        let enforcement = match text(&fields[4]).as_deref() {
            None => None,
            Some("1") => Some(true),
            Some("0") => Some(false),
            Some(_) => {
                return Err(corrupt(
                    "login facts",
                    self.user_key("enforce", &query.user),
                    "expected 1 or 0",
                ));
            }
        };
        let bypass = match text(&fields[6]) {
            None => None,
            Some(json) => {
                let grant: BypassGrant = serde_json::from_str(&json).map_err(|e| {
                    corrupt(
                        "login facts",
                        self.user_key("bypass", &query.user),
                        e.to_string(),
                    )
                })?;
                (grant.until > query.now).then_some(grant)
            }
        };
        let phone_book = if self.phone_book {
            Some(
                text(&fields[7])
                    .map(|stored| {
                        PhoneNumber::parse_stored(&stored).map_err(|e| {
                            corrupt(
                                "login facts",
                                self.conn.namespace().key("phones", "book"),
                                e.to_string(),
                            )
                        })
                    })
                    .transpose()?,
            )
        } else {
            None
        };
        Ok(StoredFacts {
            password_failures_of_user: history(&fields[0])?,
            password_failures_from_source: history(&fields[1])?,
            phone_failures_of_user: history(&fields[2])?,
            phone_failures_from_source: history(&fields[3])?,
            enforcement,
            blocked: int(&fields[5]).unwrap_or(0) > 0,
            bypass,
            phone_book,
        })
    }

    async fn run(
        &self,
        operation: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<Value, FlowError> {
        self.conn
            .script(operation, invocation)
            .await
            .map_err(|e| e.into_flow(STORE))
    }

    /// Step (3) once, with the bypass expected as `bypass_json`.
    async fn verified_once(
        &self,
        update: Update<'_>,
        effects: &Effects,
        call: Option<&CallReservation>,
        bypass_json: &str,
    ) -> Result<Value, FlowError> {
        let mut invocation = self.verified.prepare_invoke();
        self.add_swap(&mut invocation, update)?;
        let user = update.login.username();
        let bypass_key = user.map(|u| self.user_key("bypass", u)).unwrap_or_default();
        let unused = || self.conn.namespace().key("unused", "-");
        match call {
            Some(call) => {
                let calls = call.call_keys();
                invocation
                    .key(bypass_key)
                    .key(self.counter_key(&call.hold_key()))
                    .key(self.counter_key(&call.failures_key()))
                    .key(self.counter_key(&calls[0]))
                    .key(
                        calls
                            .get(1)
                            .map(|k| self.counter_key(k))
                            .unwrap_or_else(unused),
                    )
                    .key(
                        calls
                            .get(2)
                            .map(|k| self.counter_key(k))
                            .unwrap_or_else(unused),
                    );
                let limits = &call.limits;
                invocation
                    .arg(bypass_json)
                    .arg("1")
                    .arg(call.holder.to_string())
                    .arg(call.now.unix_millis())
                    .arg(call.until.unix_millis())
                    // Redis forgets the hold a little after it lapses; the script compares
                    // `until` itself.
                    .arg(call.until.plus(GRACE).unix_millis())
                    .arg(if call.number.is_some() { "1" } else { "0" })
                    .arg(limits.fatigue.after)
                    .arg(millis(limits.fatigue.window))
                    .arg(millis(limits.fatigue.base_delay))
                    .arg(millis(limits.fatigue.max_delay))
                    .arg(limits.per_user.limit)
                    .arg(millis(limits.per_user.window))
                    .arg(limits.per_number.limit)
                    .arg(millis(limits.per_number.window))
                    .arg(limits.per_country.limit)
                    .arg(millis(limits.per_country.window))
                    .arg(millis(limits.lookback()).max(1))
                    .arg(MAX_HITS)
                    .arg(member(call.now)?)
                    .arg(member(call.now)?)
                    .arg(member(call.now)?);
            }
            None => {
                invocation
                    .key(bypass_key)
                    .key(unused())
                    .key(unused())
                    .key(unused())
                    .key(unused())
                    .key(unused());
                invocation.arg(bypass_json).arg("0");
                for _ in 7..=26 {
                    invocation.arg("");
                }
            }
        }
        self.add_effects(&mut invocation, effects)?;
        self.run("login first factor verified", &invocation).await
    }

    fn refusal(
        &self,
        call: Option<&CallReservation>,
        fields: &[Value],
        id: LoginId,
    ) -> Result<CallRule, FlowError> {
        let bad = || {
            corrupt(
                "login first factor verified",
                self.login_key(id),
                "unexpected refusal",
            )
        };
        let call = call.ok_or_else(bad)?;
        let limits = &call.limits;
        Ok(match fields.get(1).and_then(text).as_deref() {
            Some("hold") => CallRule::OutstandingCall,
            Some("fatigue") => {
                let until = fields
                    .get(2)
                    .and_then(int)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(bad)?;
                CallRule::FatigueDelay {
                    until: Timestamp::from_unix_millis(until),
                }
            }
            Some("user") => CallRule::UserRate {
                limit: limits.per_user.limit,
                window_secs: limits.per_user.window.as_secs(),
            },
            Some("number") => CallRule::NumberRate {
                limit: limits.per_number.limit,
                window_secs: limits.per_number.window.as_secs(),
            },
            Some("country") => CallRule::CountryRate {
                country_code: call.number.as_ref().map(|(_, c)| *c).ok_or_else(bad)?,
                limit: limits.per_country.limit,
                window_secs: limits.per_country.window.as_secs(),
            },
            _ => return Err(bad()),
        })
    }
}

#[async_trait]
impl LoginTransactions for RedisTransactions {
    async fn begin(&self, login: &Login, expires_at: Timestamp) -> Result<Revision, FlowError> {
        crate::session::create(&self.conn, login, expires_at).await
    }

    async fn load(
        &self,
        id: LoginId,
        now: Timestamp,
    ) -> Result<Option<(Login, Revision)>, FlowError> {
        crate::session::load(&self.conn, id, now).await
    }

    async fn facts(&self, query: &FactQuery) -> Result<StoredFacts, FlowError> {
        let mut invocation = self.facts.prepare_invoke();
        self.add_facts(&mut invocation, query);
        let reply = self.run("login facts", &invocation).await?;
        self.stored_facts(query, &reply)
    }

    async fn password_submitted(
        &self,
        update: Update<'_>,
        query: &FactQuery,
    ) -> Result<(Committed, StoredFacts), FlowError> {
        let mut invocation = self.password.prepare_invoke();
        self.add_swap(&mut invocation, update)?;
        self.add_facts(&mut invocation, query);
        let reply = self.run("login password submitted", &invocation).await?;
        let parts = items(&reply);
        let (Some(swap), Some(facts)) = (parts.first(), parts.get(1)) else {
            return Err(corrupt(
                "login password submitted",
                self.login_key(update.login.id()),
                "unexpected script reply",
            ));
        };
        Ok((
            self.committed(
                "login password submitted",
                update.login.id(),
                swap,
                update.now,
            )?,
            self.stored_facts(query, facts)?,
        ))
    }

    async fn first_factor_verified(
        &self,
        update: Update<'_>,
        effects: &Effects,
        call: Option<&CallReservation>,
        bypass: Option<&BypassGrant>,
    ) -> Result<Verified, FlowError> {
        let id = update.login.id();
        let mut expected = match bypass {
            Some(grant) => serde_json::to_string(grant).map_err(|e| FlowError::Store {
                store: STORE,
                source: Box::new(e),
            })?,
            None => String::new(),
        };
        // Twice at most: a grant stored in another spelling of the same JSON is matched by
        // its stored text the second time.
        for _ in 0..2 {
            let reply = self.verified_once(update, effects, call, &expected).await?;
            let fields = items(&reply);
            match fields.first().and_then(int) {
                Some(2) => {
                    let stored = fields.get(1).and_then(text);
                    let grant = match &stored {
                        Some(json) => {
                            Some(serde_json::from_str::<BypassGrant>(json).map_err(|e| {
                                corrupt(
                                    "login first factor verified",
                                    self.login_key(id),
                                    e.to_string(),
                                )
                            })?)
                        }
                        None => None,
                    };
                    match (grant, stored) {
                        (Some(grant), Some(json)) if Some(&grant) == bypass => expected = json,
                        (grant, _) => return Ok(Verified::BypassChanged(grant)),
                    }
                }
                Some(3) => return Ok(Verified::Refused(self.refusal(call, fields, id)?)),
                _ => {
                    return Ok(
                        match self.committed(
                            "login first factor verified",
                            id,
                            &reply,
                            update.now,
                        )? {
                            Committed::Done(revision) => Verified::Done(revision),
                            Committed::Conflict(found) => Verified::Conflict(found),
                        },
                    );
                }
            }
        }
        Err(corrupt(
            "login first factor verified",
            self.login_key(id),
            "bypass unreadable",
        ))
    }

    async fn commit(&self, update: Update<'_>, effects: &Effects) -> Result<Committed, FlowError> {
        let mut invocation = self.commit.prepare_invoke();
        self.add_swap(&mut invocation, update)?;
        self.add_effects(&mut invocation, effects)?;
        let reply = self.run("login commit", &invocation).await?;
        self.committed("login commit", update.login.id(), &reply, update.now)
    }

    async fn apply(&self, effects: &Effects) -> Result<(), FlowError> {
        if effects.is_empty() {
            return Ok(());
        }
        let mut invocation = self.effects.prepare_invoke();
        self.add_effects(&mut invocation, effects)?;
        self.run("login effects", &invocation).await?;
        Ok(())
    }
}
