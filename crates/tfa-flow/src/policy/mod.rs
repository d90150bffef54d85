//! The policies the driver applies with the help of its stores: who must use TFA, who fails
//! open, lockout, call limits, and the equal-time floor of the password step. Each is plain
//! data with a pure decision function, so every rule is a unit test.

mod calls;
mod enforcement;
mod lockout;

pub(crate) use calls::CallHistory;
pub use calls::{CallLimits, FatigueDelays, Rate};
pub use enforcement::{EnforcementPolicy, FailOpenPolicy};
pub use lockout::{Lockout, LockoutPolicy, StepLockout};

use std::time::Duration;

use crate::machine::secs;
use crate::{FlowError, MachinePolicy};

/// Every policy of a login, with safe defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// Timeouts and which numbers may be called.
    pub machine: MachinePolicy,
    /// Who must use TFA.
    pub enforcement: EnforcementPolicy,
    /// Who may get in on the password alone when the second-factor service is down.
    pub fail_open: FailOpenPolicy,
    /// Lockout of the password and phone steps.
    pub lockout: LockoutPolicy,
    /// Limits checked before dialling.
    pub calls: CallLimits,
    /// The least time a password submission takes to answer, whatever the outcome, so that
    /// known and unknown users, locked and unlocked, cannot be told apart by timing.
    /// Default 400 ms.
    #[serde(with = "secs")]
    pub password_floor: Duration,
    /// How long a finished login's outcome can still be read by its id. Default 60 s.
    #[serde(with = "secs")]
    pub result_ttl: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            machine: MachinePolicy::default(),
            enforcement: EnforcementPolicy::default(),
            fail_open: FailOpenPolicy::default(),
            lockout: LockoutPolicy::default(),
            calls: CallLimits::default(),
            password_floor: Duration::from_millis(400),
            result_ttl: Duration::from_secs(60),
        }
    }
}

impl Policy {
    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), FlowError> {
        let bad = |field, reason: &str| {
            Err(FlowError::Config {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.machine.ring_timeout.is_zero() {
            return bad("machine.ring_timeout", "must be more than zero");
        }
        if self.machine.ring_timeout > self.machine.login_timeout {
            return bad(
                "machine.ring_timeout",
                "must not exceed machine.login_timeout",
            );
        }
        if self.machine.idle_timeout.is_zero() || self.machine.login_timeout.is_zero() {
            return bad("machine.idle_timeout", "timeouts must be more than zero");
        }
        if let Some(allowed) = &self.machine.allowed_countries
            && allowed.is_empty()
        {
            return bad(
                "machine.allowed_countries",
                "an empty allow-list would refuse every call; omit it to allow all",
            );
        }
        self.lockout.validate()?;
        self.calls.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Enforcement;

    #[test]
    fn a_policy_reads_from_toml_with_safe_defaults_for_what_is_left_out() {
        let policy: Policy = toml::from_str(
            r#"
            password_floor = 0.25
            [machine]
            ring_timeout = 60
            allowed_countries = [1, 44]
            [enforcement]
            default = "not-enforced"
            enforced_groups = ["tfa-required"]
            [fail_open]
            groups = ["helpdesk"]
            [lockout]
            directory_threshold = 10
            [calls.per_user]
            limit = 3
            window = 3600
            "#,
        )
        .unwrap();
        policy.validate().unwrap();
        assert_eq!(policy.password_floor, Duration::from_millis(250));
        assert_eq!(policy.machine.ring_timeout, Duration::from_secs(60));
        assert_eq!(policy.machine.allowed_countries, Some(vec![1, 44]));
        assert_eq!(
            policy.machine.denied_kinds,
            MachinePolicy::default().denied_kinds
        );
        assert_eq!(policy.enforcement.default, Enforcement::NotEnforced);
        assert_eq!(policy.fail_open.groups, ["helpdesk"]);
        assert_eq!(policy.lockout.password, LockoutPolicy::default().password);
        assert_eq!(
            policy.calls.per_user,
            Rate::new(3, Duration::from_secs(3600))
        );
        assert_eq!(policy.calls.per_number, CallLimits::default().per_number);
    }

    #[test]
    fn unknown_keys_and_unworkable_settings_are_refused() {
        let err = toml::from_str::<Policy>("[machine]\nring_timout = 60\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ring_timout"), "{err}");
        let mut policy = Policy::default();
        policy.machine.ring_timeout = Duration::from_secs(600);
        let err = policy.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid configuration: machine.ring_timeout: must not exceed machine.login_timeout"
        );
        policy = Policy::default();
        policy.machine.allowed_countries = Some(vec![]);
        assert!(policy.validate().is_err());
        policy = Policy::default();
        policy.calls.per_user.limit = 0;
        assert!(
            policy
                .validate()
                .unwrap_err()
                .to_string()
                .contains("calls.per_user")
        );
    }
}
