//! Where the portal keeps logins in progress, counters and TFA settings: chosen by the
//! `--store` value.

use std::sync::Arc;

use tfa_flow::{
    CounterStore, LoginTransactions, MemoryCounterStore, MemorySessionStore, SessionStore,
    TfaStateStore,
};
use tfa_store_redis::{Namespace, RedisKeyValue, RedisStores};

use crate::PortalError;

/// The stores an [`Authenticator`](tfa_flow::Authenticator) needs, from one place.
#[derive(Debug, Clone)]
pub struct StoreSet {
    /// Logins in progress.
    pub sessions: Arc<dyn SessionStore>,
    /// Lockout and call-limit counters.
    pub counters: Arc<dyn CounterStore>,
    /// TFA settings (enforcement, bypasses, fraud blocks), where the store keeps them. A
    /// `tfa_settings` file in the configuration takes precedence; with neither, they live
    /// in memory.
    pub tfa: Option<Arc<dyn TfaStateStore>>,
    /// The login steps as one call each on these stores (Redis: one script, one round trip
    /// per step), for use only when the TFA settings are `tfa` too (set them last on the
    /// builder). Without them the steps are composed of the stores' own calls.
    pub transactions: Option<Arc<dyn LoginTransactions>>,
    /// Where browser sessions live when they are shared by every portal node (Redis, under
    /// `{namespace}:portal-session:`); `None` keeps them in each node's memory, so that a
    /// browser must stay on the node that gave it its cookie.
    pub browser_sessions: Option<RedisKeyValue>,
    /// The Redis stores themselves, when `--store` names Redis: where the shared, versioned
    /// configuration (`[shared_config]`) is read from.
    pub redis: Option<RedisStores>,
}

/// The `--store` values accepted, for the error message.
const EXPECTED: &str = "\"memory\" or \"redis://host[:port][/db][#namespace]\"";

/// The key prefix in Redis when the `--store` URL names none.
const DEFAULT_NAMESPACE: &str = "login-portal";

/// The key kind of browser sessions in Redis: `{namespace}:portal-session:{digest}`.
const SESSION_KIND: &str = "portal-session";

/// Opens the stores that `spec` (the `--store` value) names:
///
/// - `memory` (the default): everything in this process; logins in progress, counters and
///   browser sessions are lost on restart, and one portal cannot share them with another.
///
/// - `redis://[:password@]host[:port][/db][#namespace]`: logins, counters, TFA settings and
///   browser sessions in Redis (`tfa-store-redis`), shared by every portal node pointed at
///   it, under the key prefix `namespace` (default `login-portal`), so that any node serves
///   any browser. Redis must answer at start; a request whose session Redis cannot read or
///   write gets the "temporarily unavailable" page.
///
/// Any other value is refused with [`PortalError::UnknownStore`].
pub async fn open_stores(spec: &str) -> Result<StoreSet, PortalError> {
    match spec {
        "memory" => Ok(StoreSet {
            sessions: Arc::new(MemorySessionStore::new()),
            counters: Arc::new(MemoryCounterStore::new()),
            tfa: None,
            transactions: None,
            browser_sessions: None,
            redis: None,
        }),
        url if url.starts_with("redis://") => {
            let (url, namespace) = url.split_once('#').unwrap_or((url, DEFAULT_NAMESPACE));
            let redis_error = |source: tfa_store_redis::RedisStoreError| PortalError::Store {
                store: "redis",
                source: Box::new(source),
            };
            let namespace = Namespace::new(namespace).map_err(redis_error)?;
            let stores = RedisStores::connect(url, namespace)
                .await
                .map_err(redis_error)?;
            Ok(StoreSet {
                sessions: stores.sessions(),
                counters: stores.counters(),
                tfa: Some(stores.tfa_state()),
                transactions: Some(stores.transactions(false)),
                browser_sessions: Some(stores.key_value(SESSION_KIND)),
                redis: Some(stores),
            })
        }
        other => Err(PortalError::UnknownStore {
            value: other.to_owned(),
            expected: EXPECTED,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_schemes_are_refused_by_name() {
        assert!(open_stores("memory").await.is_ok());
        let err = open_stores("etcd://x").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown store \"etcd://x\": expected \"memory\" or \"redis://host[:port][/db][#namespace]\""
        );
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_named_without_its_password() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let err = open_stores(&format!("redis://:hunter2@127.0.0.1:{port}/#portal-a"))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "cannot open the redis store");
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(
            cause,
            format!("cannot connect to redis at redis://:***@127.0.0.1:{port}/")
        );
        let err = open_stores("redis://127.0.0.1:1/#bad:namespace")
            .await
            .unwrap_err();
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .starts_with("invalid redis namespace \"bad:namespace\""),
            "{err:?}"
        );
    }
}
