//! Argon2id password hashes in PHC strings.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::DirectoryError;

/// Argon2id cost parameters for new hashes. Existing hashes keep the parameters written in
/// their PHC string, so raising these only affects passwords set afterwards.
///
/// The default is OWASP's current recommendation for argon2id: 19 MiB of memory, 2 passes,
/// 1 lane (tens of milliseconds per hash; see `docs/performance.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashParams {
    /// Memory cost in KiB (default 19456).
    pub memory_kib: u32,
    /// Number of passes (default 2).
    pub iterations: u32,
    /// Degree of parallelism (default 1).
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

/// Hashes and verifies passwords with fixed parameters; holds a dummy hash so that checking
/// an unknown user costs as much as checking a known one.
#[derive(Debug, Clone)]
pub(crate) struct Hasher {
    params: Params,
    dummy_hash: String,
}

impl Hasher {
    pub(crate) fn new(params: HashParams) -> Result<Self, DirectoryError> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| DirectoryError::Hashing {
            reason: format!("argon2 parameters {params:?} rejected: {e}"),
        })?;
        let mut hasher = Self {
            params,
            dummy_hash: String::new(),
        };
        hasher.dummy_hash = hasher.hash(&SecretString::from("dummy password for unknown users"))?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string for `password` with a fresh random salt.
    pub(crate) fn hash(&self, password: &SecretString) -> Result<String, DirectoryError> {
        self.argon2()
            .hash_password(password.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| DirectoryError::Hashing {
                reason: format!("hashing a new password failed: {e}"),
            })
    }

    /// True if `password` matches `phc` (comparison in constant time inside `argon2`). `None`
    /// checks against the dummy hash and returns false, taking the same time.
    pub(crate) fn verify(&self, password: &SecretString, phc: Option<&str>) -> bool {
        let target = phc.unwrap_or(&self.dummy_hash);
        let matched = self
            .argon2()
            .verify_password(password.expose_secret().as_bytes(), target)
            .is_ok();
        matched && phc.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Hasher {
        Hasher::new(HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let hasher = cheap();
        let phc = hasher.hash(&SecretString::from("pässword")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(hasher.verify(&SecretString::from("pässword"), Some(&phc)));
        assert!(!hasher.verify(&SecretString::from("password"), Some(&phc)));
    }

    #[test]
    fn dummy_hash_never_matches() {
        let hasher = cheap();
        assert!(!hasher.verify(
            &SecretString::from("dummy password for unknown users"),
            None
        ));
    }

    #[test]
    fn default_parameters_are_owasp_recommendation() {
        assert_eq!(
            HashParams::default(),
            HashParams {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn out_of_range_parameters_are_refused() {
        let err = Hasher::new(HashParams {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1,
        })
        .unwrap_err();
        assert!(matches!(err, DirectoryError::Hashing { .. }));
    }
}
