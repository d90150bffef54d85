//! Where the portal keeps logins in progress, counters and TFA settings: chosen by the
//! `--store` value.

use std::sync::Arc;

use tfa_flow::{CounterStore, MemoryCounterStore, MemorySessionStore, SessionStore, TfaStateStore};

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
}

/// The `--store` values accepted, for the error message.
const EXPECTED: &str = "\"memory\"";

/// Opens the stores that `spec` (the `--store` value) names:
///
/// - `memory` (the default): everything in this process; logins in progress and counters
///   are lost on restart, and one portal cannot share them with another.
///
/// Any other value is refused with [`PortalError::UnknownStore`].
pub async fn open_stores(spec: &str) -> Result<StoreSet, PortalError> {
    match spec {
        "memory" => Ok(StoreSet {
            sessions: Arc::new(MemorySessionStore::new()),
            counters: Arc::new(MemoryCounterStore::new()),
            tfa: None,
        }),
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
            "unknown store \"etcd://x\": expected \"memory\""
        );
    }
}
