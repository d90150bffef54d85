//! The licenses the direct service knows, and which client certificate is bound to which
//! (spec §6.1 step 4).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::pki::Fingerprint;

/// What a license allows (spec §6.1 steps 6 and 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseTerms {
    /// The home country code; calls elsewhere need `allowInternationalCalls=yes` (default `1`).
    pub home_country: String,
    /// Whether extensions may be dialled (default yes; otherwise 110).
    pub extensions_allowed: bool,
    /// Whether PIN mode may be used (default yes; otherwise 104).
    pub pin_mode_allowed: bool,
}

impl Default for LicenseTerms {
    fn default() -> Self {
        Self {
            home_country: "1".into(),
            extensions_allowed: true,
            pin_mode_allowed: true,
        }
    }
}

/// The outcome of checking a request's keys against the certificate it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LicenseCheck {
    Ok(LicenseTerms),
    /// Error-id 2.
    UnknownKeys,
    /// Error-id 3.
    NotBound,
}

#[derive(Default)]
struct Inner {
    licenses: HashMap<(String, String), LicenseTerms>,
    bindings: HashMap<Fingerprint, (String, String)>,
}

/// Licenses and certificate bindings.
#[derive(Default)]
pub(crate) struct Licenses {
    inner: Mutex<Inner>,
}

impl Licenses {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn add(&self, license_key: &str, group_key: &str, terms: LicenseTerms) {
        self.lock()
            .licenses
            .insert((license_key.to_owned(), group_key.to_owned()), terms);
    }

    pub(crate) fn bind(&self, cert: Fingerprint, license_key: &str, group_key: &str) {
        self.lock()
            .bindings
            .insert(cert, (license_key.to_owned(), group_key.to_owned()));
    }

    /// Step 4: the pair must exist, then the certificate must be bound to it.
    pub(crate) fn check(
        &self,
        license_key: &str,
        group_key: &str,
        cert: &Fingerprint,
    ) -> LicenseCheck {
        let inner = self.lock();
        let key = (license_key.trim().to_owned(), group_key.trim().to_owned());
        let Some(terms) = inner.licenses.get(&key) else {
            return LicenseCheck::UnknownKeys;
        };
        if inner.bindings.get(cert) != Some(&key) {
            return LicenseCheck::NotBound;
        }
        LicenseCheck::Ok(terms.clone())
    }
}
