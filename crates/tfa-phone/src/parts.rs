//! The small parts of a number: its country calling code and its extension.

use std::fmt;
use std::str::FromStr;

use crate::PhoneError;

/// A country calling code (`1`, `44`, `91`, `800`), without the `+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CountryCode(u16);

impl CountryCode {
    pub(crate) fn new_unchecked(code: u16) -> Self {
        Self(code)
    }

    /// The code as a number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Longest extension accepted, in characters.
const MAX_EXTENSION_LEN: usize = 32;

/// An extension dialled after the call connects: digits, `*`, `#`, and `,` (a pause), after an
/// optional leading `@` ("dial without waiting for an attendant"). These are exactly the
/// characters the PhoneFactor service accepts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Extension(Box<str>);

impl Extension {
    /// Checks an extension as written (`292`, `@,,292#`).
    pub fn new(extension: &str) -> Result<Self, PhoneError> {
        let body = extension.strip_prefix('@').unwrap_or(extension);
        let dialable = body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b','));
        if body.is_empty() || !dialable || extension.len() > MAX_EXTENSION_LEN {
            return Err(PhoneError::BadExtension {
                extension: extension.to_owned(),
            });
        }
        Ok(Self(extension.into()))
    }

    /// The extension as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Extension {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for Extension {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}
