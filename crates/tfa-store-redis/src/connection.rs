//! One multiplexed, self-reconnecting connection per node, shared by its stores.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::TcpSettings;
use redis::{FromRedisValue, IntoConnectionInfo, ScriptInvocation};

use crate::{Namespace, RedisStoreError};

/// How long a connection attempt may take. A node that cannot reach Redis must say so soon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a command may take before the store fails closed.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The connection and key names of one node's stores. Clones share the connection.
#[derive(Clone)]
pub(crate) struct Conn {
    manager: ConnectionManager,
    namespace: Namespace,
    url: Arc<str>,
    meter: Arc<Meter>,
}

/// Requests sent, and round trips: a request sent while none is outstanding starts a round
/// trip; requests sent together (pipelined on the one connection) share it.
#[derive(Debug, Default)]
struct Meter {
    requests: AtomicU64,
    round_trips: AtomicU64,
    in_flight: AtomicUsize,
}

/// One request in flight, counted on the meter until dropped.
struct InFlight<'a>(&'a Meter);

impl<'a> InFlight<'a> {
    fn start(meter: &'a Meter) -> Self {
        meter.requests.fetch_add(1, Ordering::Relaxed);
        if meter.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            meter.round_trips.fetch_add(1, Ordering::Relaxed);
        }
        Self(meter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Connects now: an unreachable Redis is an error here, naming the URL without its
    /// password. Later losses of the connection are repaired in the background; commands
    /// fail (closed) until then.
    pub(crate) async fn connect(url: &str, namespace: Namespace) -> Result<Self, RedisStoreError> {
        let shown = redact(url);
        let invalid = |e: redis::RedisError| RedisStoreError::InvalidUrl {
            url: shown.clone(),
            reason: e.to_string(),
        };
        // Requests are small and answered at once: without TCP_NODELAY a request sent while
        // another is unanswered waits for a delayed ACK (tens of milliseconds).
        let info = url
            .into_connection_info()
            .map_err(invalid)?
            .set_tcp_settings(TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info).map_err(invalid)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| RedisStoreError::Unavailable {
                url: shown.clone(),
                source: Box::new(e),
            })?;
        Ok(Self {
            manager,
            namespace,
            url: shown.into(),
            meter: Arc::default(),
        })
    }

    pub(crate) fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Requests sent so far (one per command or script run).
    pub(crate) fn requests(&self) -> u64 {
        self.meter.requests.load(Ordering::Relaxed)
    }

    /// Round trips so far: requests sent while others were outstanding do not count again.
    pub(crate) fn round_trips(&self) -> u64 {
        self.meter.round_trips.load(Ordering::Relaxed)
    }

    /// Runs one command.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        operation: &'static str,
        command: &redis::Cmd,
    ) -> Result<T, RedisStoreError> {
        let mut retried = false;
        loop {
            let mut manager = self.manager.clone();
            let in_flight = InFlight::start(&self.meter);
            let result = command.query_async(&mut manager).await;
            drop(in_flight);
            match result {
                Err(e) if resend(&e, &mut retried) => continue,
                done => return done.map_err(|e| RedisStoreError::command(operation, e)),
            }
        }
    }

    /// Runs one script (by hash; loaded first if the server does not know it, e.g. after a
    /// restart).
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        operation: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisStoreError> {
        let mut retried = false;
        loop {
            let mut manager = self.manager.clone();
            let in_flight = InFlight::start(&self.meter);
            let result = invocation.invoke_async(&mut manager).await;
            drop(in_flight);
            match result {
                Err(e) if resend(&e, &mut retried) => continue,
                done => return done.map_err(|e| RedisStoreError::command(operation, e)),
            }
        }
    }
}

/// Whether to send a request again: once, and only when it was never sent because the
/// connection could not be made (the manager is reconnecting after an outage). A request that
/// may have reached Redis is never repeated: a counter would count twice.
fn resend(error: &redis::RedisError, retried: &mut bool) -> bool {
    if *retried || !error.is_connection_refusal() {
        return false;
    }
    *retried = true;
    true
}

/// The URL without its password, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            if parsed.password().is_some() {
                // Cannot fail for URLs with a host.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        // Not a URL with a host: show only the scheme, which holds no secret.
        _ => format!(
            "{}:…",
            url.split(':')
                .next()
                .unwrap_or_default()
                .chars()
                .take(16)
                .collect::<String>()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_shown_urls() {
        assert_eq!(
            redact("redis://:hunter2@10.0.0.1:6379/0"),
            "redis://:***@10.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://app:hunter2@host/"), "redis://app:***@host/");
        assert_eq!(redact("redis://host:1/"), "redis://host:1/");
        assert!(!redact("nonsense:hunter2@x").contains("hunter2"));
    }
}
