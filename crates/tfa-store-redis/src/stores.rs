//! One node's set of stores on one connection.

use std::sync::Arc;

use tfa_flow::{
    AuthenticatorBuilder, CounterStore, LoginTransactions, PhoneBook, SessionStore, TfaStateStore,
};

use crate::connection::Conn;
use crate::{
    ConfigKey, Namespace, RedisCounterStore, RedisKeyValue, RedisPhoneBook, RedisSessionStore,
    RedisStoreError, RedisTfaStateStore, RedisTransactions, SharedConfig,
};

/// The stores one node needs, on one multiplexed connection to Redis that repairs itself
/// after a loss (commands fail closed meanwhile). Cheap to clone.
#[derive(Debug, Clone)]
pub struct RedisStores {
    conn: Conn,
    sessions: Arc<RedisSessionStore>,
    tfa_state: Arc<RedisTfaStateStore>,
    counters: Arc<RedisCounterStore>,
    phone_book: Arc<RedisPhoneBook>,
    transactions: Arc<RedisTransactions>,
    transactions_with_book: Arc<RedisTransactions>,
}

impl RedisStores {
    /// Connects to Redis at `url` (`redis://[:password@]host[:port][/db]`) for the
    /// deployment `namespace`. Fails with [`RedisStoreError::Unavailable`], naming the URL
    /// without its password, when Redis does not answer within 2 s.
    pub async fn connect(url: &str, namespace: Namespace) -> Result<Self, RedisStoreError> {
        let conn = Conn::connect(url, namespace).await?;
        Ok(Self {
            sessions: Arc::new(RedisSessionStore::new(conn.clone())),
            tfa_state: Arc::new(RedisTfaStateStore::new(conn.clone())),
            counters: Arc::new(RedisCounterStore::new(conn.clone())),
            phone_book: Arc::new(RedisPhoneBook::new(conn.clone())),
            transactions: Arc::new(RedisTransactions::new(conn.clone(), false)),
            transactions_with_book: Arc::new(RedisTransactions::new(conn.clone(), true)),
            conn,
        })
    }

    /// Logins in progress.
    pub fn sessions(&self) -> Arc<dyn SessionStore> {
        self.sessions.clone()
    }

    /// Enforcement settings, bypasses and fraud blocks.
    pub fn tfa_state(&self) -> Arc<dyn TfaStateStore> {
        self.tfa_state.clone()
    }

    /// The same settings with the administrator's operations: list every user's, change
    /// many at once ([`RedisTfaStateStore::users`], [`RedisTfaStateStore::set_enforcement_many`]).
    pub fn tfa_settings(&self) -> Arc<RedisTfaStateStore> {
        self.tfa_state.clone()
    }

    /// Lockout and call-limit counters, and the outstanding-call holds.
    pub fn counters(&self) -> Arc<dyn CounterStore> {
        self.counters.clone()
    }

    /// Users' phone numbers (direct mode), with [`RedisPhoneBook::set_number`] to fill it.
    pub fn phone_book(&self) -> Arc<RedisPhoneBook> {
        self.phone_book.clone()
    }

    /// The phone book as the [`Authenticator`](tfa_flow::Authenticator) takes it.
    pub fn phone_book_dyn(&self) -> Arc<dyn PhoneBook> {
        self.phone_book.clone()
    }

    /// The login steps, one script (one round trip) each, reading numbers from the
    /// directory (`with_phone_book` false) or from the Redis phone book.
    pub fn transactions(&self, with_phone_book: bool) -> Arc<dyn LoginTransactions> {
        if with_phone_book {
            self.transactions_with_book.clone()
        } else {
            self.transactions.clone()
        }
    }

    /// Puts the session, TFA-state and counter stores into `builder`, and the login steps
    /// on them ([`RedisStores::transactions`]): four round trips per happy login. Numbers
    /// come from the directory; use [`RedisStores::attach_with_phone_book`] where they live in
    /// Redis. Setting another store on the builder afterwards (e.g. TFA settings in a file)
    /// drops the one-script steps again, for steps composed of the stores' own calls.
    pub fn attach(&self, builder: AuthenticatorBuilder) -> AuthenticatorBuilder {
        builder
            .session_store(self.sessions())
            .tfa_state_store(self.tfa_state())
            .counter_store(self.counters())
            .transactions(self.transactions(false))
    }

    /// As [`RedisStores::attach`], with users' numbers from the Redis phone book.
    pub fn attach_with_phone_book(&self, builder: AuthenticatorBuilder) -> AuthenticatorBuilder {
        builder
            .session_store(self.sessions())
            .tfa_state_store(self.tfa_state())
            .counter_store(self.counters())
            .phone_book(self.phone_book_dyn())
            .transactions(self.transactions(true))
    }

    /// The deployment's shared configuration, its secrets sealed and opened with `key`.
    pub fn shared_config(&self, key: ConfigKey) -> SharedConfig {
        SharedConfig::new(self.conn.clone(), key)
    }

    /// A map of expiring values under `{namespace}:{kind}:`, on these stores' connection,
    /// for an application's own records. `kind` must not be one the stores use (`login`,
    /// `count`, `facts`, `enforce`, `bypass`, `blocked`, `phones`, `config`, `unused`):
    /// choose a name of the application's own, e.g. `portal-session`.
    pub fn key_value(&self, kind: &'static str) -> RedisKeyValue {
        RedisKeyValue::new(self.conn.clone(), kind)
    }

    /// The URL, password removed.
    pub fn url(&self) -> &str {
        self.conn.url()
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        self.conn.namespace()
    }

    /// Requests sent to Redis by these stores so far: one per command or script run (a
    /// script the server has not seen yet costs one more, once).
    pub fn requests_sent(&self) -> u64 {
        self.conn.requests()
    }

    /// Round trips to Redis so far: a request sent while none of these stores' requests is
    /// outstanding starts one; requests sent together share it. Per login, this is the
    /// latency Redis adds in units of the network round trip (when only that login runs).
    pub fn round_trips(&self) -> u64 {
        self.conn.round_trips()
    }
}
