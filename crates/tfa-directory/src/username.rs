//! The login name a user types.

use std::fmt;

use crate::DirectoryError;

/// Longest username accepted, in characters. Directories allow less; this bounds the work an
/// attacker can cause with a huge name.
pub const MAX_USERNAME_CHARS: usize = 256;

/// A login name as the user typed it: trimmed, non-empty, at most [`MAX_USERNAME_CHARS`]
/// characters, no control characters. Any other Unicode is allowed; backends escape it for
/// their query language, so `*)(uid=*` is just an odd name that matches nobody.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Checks and wraps a login name (surrounding white space is removed).
    pub fn new(value: &str) -> Result<Self, DirectoryError> {
        let trimmed = value.trim();
        let invalid = |reason| DirectoryError::InvalidUsername {
            value: value.to_owned(),
            reason,
        };
        if trimmed.is_empty() {
            return Err(invalid("empty"));
        }
        if trimmed.chars().count() > MAX_USERNAME_CHARS {
            return Err(invalid("longer than 256 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("contains a control character"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = DirectoryError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl std::str::FromStr for Username {
    type Err = DirectoryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_unicode() {
        assert_eq!(Username::new("  Zoë ").unwrap().as_str(), "Zoë");
    }

    #[test]
    fn refuses_empty_control_and_overlong_names() {
        assert!(matches!(
            Username::new("   "),
            Err(DirectoryError::InvalidUsername {
                reason: "empty",
                ..
            })
        ));
        assert!(Username::new("a\0b").is_err());
        assert!(Username::new(&"x".repeat(257)).is_err());
        assert!(Username::new(&"é".repeat(256)).is_ok());
    }
}
