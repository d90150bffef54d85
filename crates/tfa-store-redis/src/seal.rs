//! Secrets of the shared configuration, sealed with a key each node holds.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::RedisStoreError;

/// The prefix of a sealed value: the format, so that another can follow.
const SEALED_PREFIX: &str = "sealed-v1:";
const NONCE_LEN: usize = 12;

/// The 256-bit key that seals and opens the secrets of the shared configuration
/// (ChaCha20-Poly1305, a random nonce per secret). Every node holds the same key in a file
/// of its own; Redis never sees it. Never printed.
#[derive(Clone)]
pub struct ConfigKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfigKey([REDACTED])")
    }
}

impl ConfigKey {
    /// A new random key (for `tfa-admin` to write to a file, once per deployment).
    pub fn generate() -> Result<Self, RedisStoreError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|e| RedisStoreError::Random {
            reason: e.to_string(),
        })?;
        Ok(Self(key))
    }

    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Reads a key file: 32 bytes in standard base64 (44 characters) or in hexadecimal (64
    /// digits), surrounding white space ignored.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RedisStoreError> {
        let path = path.as_ref();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            RedisStoreError::KeyFile {
                path: path.to_owned(),
                source,
            }
        })?);
        Self::parse(text.trim()).map_err(|reason| RedisStoreError::InvalidKey {
            path: path.to_owned(),
            reason,
        })
    }

    fn parse(text: &str) -> Result<Self, &'static str> {
        let bytes = Zeroizing::new(
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                (0..32)
                    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                    .collect::<Result<Vec<u8>, _>>()
                    .map_err(|_| "not hexadecimal")?
            } else {
                STANDARD.decode(text).map_err(
                    |_| "expected 32 bytes in base64 (44 characters) or hexadecimal (64 digits)",
                )?
            },
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| "the key must be 32 bytes")?;
        Ok(Self::from_bytes(key))
    }

    /// The key in standard base64, as [`ConfigKey::from_file`] reads it.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.0.as_ref()))
    }

    /// Seals `secret`; `context` (namespace and field) is bound to it, so a sealed value
    /// cannot be moved to another field or deployment.
    pub(crate) fn seal(
        &self,
        context: &str,
        secret: &SecretString,
    ) -> Result<String, RedisStoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| RedisStoreError::Random {
            reason: e.to_string(),
        })?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()));
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            // Only fails for messages beyond 256 GiB.
            .map_err(|_| RedisStoreError::ConfigInvalid {
                version: 0,
                field: "secret",
                reason: "too long to seal".into(),
            })?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens a value sealed by [`ConfigKey::seal`] with the same `context`; `None` when it
    /// does not open (wrong key, altered, or not sealed at all: never used as plain text).
    pub(crate) fn open(&self, context: &str, sealed: &str) -> Option<SecretString> {
        let bytes = STANDARD.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()));
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: body,
                        aad: context.as_bytes(),
                    },
                )
                .ok()?,
        );
        let text = std::str::from_utf8(&plain).ok()?;
        Some(SecretString::from(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = ConfigKey::generate().unwrap();
        let sealed = key
            .seal("ns|agent.password", &SecretString::from("s3cret"))
            .unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(
            key.open("ns|agent.password", &sealed)
                .unwrap()
                .expose_secret(),
            "s3cret"
        );
        assert!(
            key.open("other|agent.password", &sealed).is_none(),
            "bound to its context"
        );
        let other = ConfigKey::generate().unwrap();
        assert!(
            other.open("ns|agent.password", &sealed).is_none(),
            "wrong key"
        );
        assert!(
            key.open("ns|agent.password", "s3cret").is_none(),
            "plain text is refused"
        );
        let again = key
            .seal("ns|agent.password", &SecretString::from("s3cret"))
            .unwrap();
        assert_ne!(sealed, again, "a fresh nonce each time");
    }

    #[test]
    fn key_files_hold_base64_or_hex() {
        let dir = tempfile::tempdir().unwrap();
        let key = ConfigKey::generate().unwrap();
        let b64 = dir.path().join("b64");
        std::fs::write(&b64, format!("{}\n", key.to_base64().expose_secret())).unwrap();
        let read = ConfigKey::from_file(&b64).unwrap();
        assert_eq!(read.0.as_ref(), key.0.as_ref());
        let hex = dir.path().join("hex");
        std::fs::write(&hex, "00".repeat(32)).unwrap();
        assert_eq!(ConfigKey::from_file(&hex).unwrap().0.as_ref(), &[0u8; 32]);
        let short = dir.path().join("short");
        std::fs::write(&short, "AAAA").unwrap();
        let error = ConfigKey::from_file(&short).unwrap_err();
        assert!(error.to_string().contains("short"), "{error}");
        assert!(matches!(
            ConfigKey::from_file(dir.path().join("missing")),
            Err(RedisStoreError::KeyFile { .. })
        ));
        assert_eq!(format!("{key:?}"), "ConfigKey([REDACTED])");
    }
}
