//! Stand-ins shared by the benchmarks: a first factor and a phone that cost nothing, so that
//! a benchmark measures the flow itself.

#![allow(dead_code)]

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tfa_directory::{DirectoryError, FirstFactor, Identity, UserRecord, Username};
use tfa_flow::{FactorError, FactorOutcome, FactorRequest, NumberNeed, Policy, SecondFactor};

/// Every `userN` exists with password `pw`; the service holds the numbers.
#[derive(Debug)]
pub(crate) struct FreeDirectory;

#[async_trait]
impl FirstFactor for FreeDirectory {
    async fn verify(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError> {
        if password.expose_secret() == "pw" {
            Ok(Identity::new(UserRecord::new(username.clone())))
        } else {
            Err(DirectoryError::BadCredentials)
        }
    }

    async fn lookup(&self, username: &Username) -> Result<Option<UserRecord>, DirectoryError> {
        Ok(Some(UserRecord::new(username.clone())))
    }
}

/// A phone that approves after `ring`.
#[derive(Debug)]
pub(crate) struct RingingPhone {
    pub(crate) ring: Duration,
}

#[async_trait]
impl SecondFactor for RingingPhone {
    fn name(&self) -> &str {
        "ringing-phone"
    }

    fn number_need(&self) -> NumberNeed {
        NumberNeed::Optional
    }

    async fn verify(&self, _: &FactorRequest) -> Result<FactorOutcome, FactorError> {
        if !self.ring.is_zero() {
            tokio::time::sleep(self.ring).await;
        }
        Ok(FactorOutcome::Approved)
    }
}

/// A policy for load: no floor, no rate limits in the way (the same users log in again and
/// again, all from one address).
pub(crate) fn load_policy() -> Policy {
    let mut policy = Policy::default();
    policy.password_floor = Duration::ZERO;
    policy.lockout.password.per_source.threshold = u32::MAX;
    policy.calls.per_country.limit = u32::MAX;
    policy.calls.per_user.limit = u32::MAX;
    policy.calls.per_number.limit = u32::MAX;
    policy
}
