//! Key names: every key of a deployment starts with its namespace.

use std::fmt;

use crate::RedisStoreError;

/// The prefix of every key a deployment writes (`{namespace}:login:…`), so that several
/// deployments (production, staging, tests) can share one Redis without seeing each other.
///
/// 1 to 64 characters of ASCII letters, digits, `-`, `_` and `.`: no `:` (the separator),
/// no spaces, no glob characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace(String);

impl Namespace {
    /// Checks `name` and makes it a namespace.
    pub fn new(name: impl Into<String>) -> Result<Self, RedisStoreError> {
        let name = name.into();
        let bad = |reason| {
            Err(RedisStoreError::InvalidNamespace {
                namespace: name.chars().take(80).collect(),
                reason,
            })
        };
        if name.is_empty() {
            return bad("empty");
        }
        if name.len() > 64 {
            return bad("longer than 64 characters");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return bad("only ASCII letters, digits, '-', '_' and '.' are allowed");
        }
        Ok(Self(name))
    }

    /// The namespace as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{namespace}:{kind}:{rest}`. `rest` comes last, so a user name with `:` in it
    /// cannot reach another kind's keys.
    pub(crate) fn key(&self, kind: &str, rest: &str) -> String {
        format!("{}:{kind}:{rest}", self.0)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_plain_names() {
        assert_eq!(Namespace::new("prod-eu.1").unwrap().as_str(), "prod-eu.1");
        for bad in ["", "a:b", "a b", "a*", "ü", &"x".repeat(65)] {
            let error = Namespace::new(bad).unwrap_err();
            assert!(
                matches!(error, RedisStoreError::InvalidNamespace { .. }),
                "{bad:?}"
            );
        }
        let ns = Namespace::new("t").unwrap();
        assert_eq!(ns.key("login", "ab"), "t:login:ab");
    }
}
