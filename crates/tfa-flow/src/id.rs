//! Identifiers of a login and of a call attempt within it.

use std::fmt;
use std::str::FromStr;

use crate::FlowError;

/// Identifies one login from `begin` to its end: 128 random bits, written as 32 lower-case
/// hex digits.
///
/// The caller (normally the [`Authenticator`](crate::Authenticator)) makes it with
/// [`LoginId::random`] and passes it in; the machine never makes one. Every event names the
/// login it is for, and a login rejects events for another.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginId([u8; 16]);

impl LoginId {
    /// A fresh identifier from the operating system's random source.
    pub fn random() -> Result<Self, FlowError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| FlowError::Random {
            reason: e.to_string(),
        })?;
        Ok(Self(bytes))
    }

    /// The identifier with these bytes (tests and stores that keep raw bytes).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoginId({self})")
    }
}

impl FromStr for LoginId {
    type Err = FlowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || FlowError::InvalidLoginId {
            value: s.chars().take(64).collect(),
        };
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = s.get(2 * i..2 * i + 2).ok_or_else(invalid)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(Self(bytes))
    }
}

impl serde::Serialize for LoginId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LoginId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Numbers the second-factor attempts of one login, so that the outcome of an earlier (or
/// another login's) call is recognised as stale and rejected.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct AttemptId(u32);

impl AttemptId {
    /// The attempt with this number.
    pub const fn new(number: u32) -> Self {
        Self(number)
    }

    /// The attempt's number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_ids_round_trip_through_text_and_serde() {
        let id = LoginId::random().unwrap();
        assert_eq!(id.to_string().len(), 32);
        assert_eq!(id.to_string().parse::<LoginId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<LoginId>(&json).unwrap(), id);
        assert_ne!(LoginId::random().unwrap(), id);
    }

    #[test]
    fn malformed_login_ids_are_refused() {
        for bad in [
            "",
            "xyz",
            "0123456789abcdef0123456789abcdeg",
            "é123456789abcdef0123456789abcde",
        ] {
            assert!(bad.parse::<LoginId>().is_err(), "{bad:?}");
        }
    }
}
