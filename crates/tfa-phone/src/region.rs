//! Regions: the countries and territories of the numbering plan.

use std::fmt;
use std::str::FromStr;

use crate::{CountryCode, PhoneError, metadata};

/// An ISO 3166 alpha-2 region code known to the numbering metadata (`US`, `GB`, `IN`), used to
/// read national numbers and reported for valid numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region([u8; 2]);

impl Region {
    /// Reads a region code in either case (`us` or `US`); it must be one the metadata knows.
    pub fn new(code: &str) -> Result<Self, PhoneError> {
        let unknown = || PhoneError::UnknownRegion {
            region: code.to_owned(),
        };
        let &[a, b] = code.as_bytes() else {
            return Err(unknown());
        };
        if !(a.is_ascii_alphabetic() && b.is_ascii_alphabetic()) {
            return Err(unknown());
        }
        let region = Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
        if metadata::country_code_for_region(region).is_none() {
            return Err(unknown());
        }
        Ok(region)
    }

    pub(crate) fn from_known(bytes: [u8; 2]) -> Self {
        Self(bytes)
    }

    pub(crate) fn bytes(self) -> [u8; 2] {
        self.0
    }

    /// The upper-case two-letter code.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    /// The country calling code of the region (`US` → 1, `GB` → 44).
    pub fn country_code(self) -> CountryCode {
        metadata::country_code_for_region(self).unwrap_or(CountryCode::new_unchecked(0))
    }

    /// Every region the metadata knows, sorted by code.
    pub fn all() -> Vec<Region> {
        metadata::supported_regions()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl serde::Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}
