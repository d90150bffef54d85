//! The policies the machine applies by itself: timeouts and which numbers may be called.

use std::time::Duration;

use tfa_phone::NumberKind;

/// Timeouts and the store-free call rules. Defaults are safe; see each field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MachinePolicy {
    /// How long a call may ring before the attempt fails. Default 90 s.
    #[serde(with = "secs")]
    pub ring_timeout: Duration,
    /// How long a whole login may take, first page to last. Default 5 min.
    #[serde(with = "secs")]
    pub login_timeout: Duration,
    /// How long the user may leave the username or password page. Default 2 min.
    #[serde(with = "secs")]
    pub idle_timeout: Duration,
    /// Country calling codes that may be called; `None` allows every country (set it in
    /// production to the countries your users live in, against toll fraud). Default `None`.
    pub allowed_countries: Option<Vec<u16>>,
    /// Kinds of number never called. Default: premium rate and shared cost.
    pub denied_kinds: Vec<NumberKind>,
}

impl Default for MachinePolicy {
    fn default() -> Self {
        Self {
            ring_timeout: Duration::from_secs(90),
            login_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(120),
            allowed_countries: None,
            denied_kinds: vec![NumberKind::PremiumRate, NumberKind::SharedCost],
        }
    }
}

/// Durations as whole or fractional seconds in configuration files.
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(value.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}
