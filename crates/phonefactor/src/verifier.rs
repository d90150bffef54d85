//! The one trait every verification mode implements, and what a caller asks it.

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use secrecy::SecretString;
use tfa_phone::PhoneNumber;

use crate::error::Error;
use crate::outcome::CallOutcome;

/// Places one verification call and reports how it ended.
///
/// `Ok` is an answer from the service (approved, denied, unreachable, rejected); `Err` means
/// the outcome is not known, and the caller must deny. An implementation never places a
/// second call for one `verify`: a call that may have been placed is not retried.
#[async_trait]
pub trait PhoneVerifier: Send + Sync {
    /// Calls the user and waits for the call to end.
    async fn verify(&self, request: &VerificationRequest) -> Result<CallOutcome, Error>;
}

#[async_trait]
impl<T: PhoneVerifier + ?Sized> PhoneVerifier for std::sync::Arc<T> {
    async fn verify(&self, request: &VerificationRequest) -> Result<CallOutcome, Error> {
        (**self).verify(request).await
    }
}

/// The user's name at PhoneFactor (may differ from the login name; the product maps it per
/// user). Non-empty, at most 256 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneFactorUsername(String);

impl PhoneFactorUsername {
    /// Longest name accepted.
    pub const MAX_LEN: usize = 256;

    /// Checks and wraps a name (surrounding whitespace is trimmed).
    pub fn new(name: impl AsRef<str>) -> Result<Self, Error> {
        let name = name.as_ref().trim();
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name.chars().count() > Self::MAX_LEN {
            Some("it is longer than 256 characters")
        } else if name.chars().any(char::is_control) {
            Some("it contains a control character")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidUsername { reason }),
            None => Ok(Self(name.to_owned())),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneFactorUsername {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for PhoneFactorUsername {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// What to verify: who, which phone (direct mode), an optional PIN (direct PIN mode) and the
/// end user's address (sent to the agent for its logs and IP cache).
#[derive(Clone)]
pub struct VerificationRequest {
    username: PhoneFactorUsername,
    phone: Option<PhoneNumber>,
    pin: Option<SecretString>,
    client_ip: Option<IpAddr>,
}

impl VerificationRequest {
    /// A request for this user; add a phone for direct mode.
    pub fn new(username: PhoneFactorUsername) -> Self {
        Self {
            username,
            phone: None,
            pin: None,
            client_ip: None,
        }
    }

    /// The number to call (required by direct mode; the agent looks it up itself).
    #[must_use]
    pub fn with_phone(mut self, phone: PhoneNumber) -> Self {
        self.phone = Some(phone);
        self
    }

    /// A PIN the user must key (direct mode only, opt-in; agent PINs live on the agent).
    #[must_use]
    pub fn with_pin(mut self, pin: SecretString) -> Self {
        self.pin = Some(pin);
        self
    }

    /// The end user's IP address.
    #[must_use]
    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// The PhoneFactor username.
    pub fn username(&self) -> &PhoneFactorUsername {
        &self.username
    }

    /// The phone number, if given.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        self.phone.as_ref()
    }

    /// The PIN, if given.
    pub fn pin(&self) -> Option<&SecretString> {
        self.pin.as_ref()
    }

    /// The end user's IP address, if given.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }
}

impl fmt::Debug for VerificationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationRequest")
            .field("username", &self.username)
            .field("phone", &self.phone)
            .field("pin", &self.pin.as_ref().map(|_| "[REDACTED]"))
            .field("client_ip", &self.client_ip)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_checked() {
        assert_eq!(
            PhoneFactorUsername::new(" jsmith ").unwrap().as_str(),
            "jsmith"
        );
        assert!(PhoneFactorUsername::new("").is_err());
        assert!(PhoneFactorUsername::new("a\nb").is_err());
        assert!(PhoneFactorUsername::new("x".repeat(257)).is_err());
    }

    #[test]
    fn pins_never_show_in_debug() {
        let r = VerificationRequest::new(PhoneFactorUsername::new("u").unwrap())
            .with_pin(SecretString::from("48213"));
        assert!(!format!("{r:?}").contains("48213"));
    }
}
