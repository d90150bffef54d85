//! Lockout with backoff, separately for the password and the phone step, per user and per
//! source address.

use std::time::Duration;

use crate::machine::secs;
use crate::{FlowError, Timestamp};

/// One lockout counter's rule: after `threshold` failures within `window`, lock for
/// `base_lock`, doubling with each further failure up to `max_lock`, counted from the last
/// failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockout {
    /// Failures that start a lock.
    pub threshold: u32,
    /// How far back failures count.
    #[serde(with = "secs")]
    pub window: Duration,
    /// The first lock's length.
    #[serde(with = "secs")]
    pub base_lock: Duration,
    /// The longest lock.
    #[serde(with = "secs")]
    pub max_lock: Duration,
}

impl Lockout {
    /// A rule with these numbers.
    pub const fn new(
        threshold: u32,
        window: Duration,
        base_lock: Duration,
        max_lock: Duration,
    ) -> Self {
        Self {
            threshold,
            window,
            base_lock,
            max_lock,
        }
    }

    /// How far back [`Lockout::locked_until`] needs failures.
    pub fn lookback(&self) -> Duration {
        self.window.max(self.max_lock)
    }

    /// When the lock that `failures` (times of failures, any order) cause ends, if it is
    /// still in force at `now`.
    pub fn locked_until(&self, failures: &[Timestamp], now: Timestamp) -> Option<Timestamp> {
        let since = now.minus(self.window);
        let recent: Vec<Timestamp> = failures
            .iter()
            .copied()
            .filter(|t| *t >= since && *t <= now)
            .collect();
        let count = u32::try_from(recent.len()).unwrap_or(u32::MAX);
        if self.threshold == 0 || count < self.threshold {
            return None;
        }
        let last = recent.iter().copied().max()?;
        let doublings = (count - self.threshold).min(20);
        let lock = self
            .base_lock
            .saturating_mul(1 << doublings)
            .min(self.max_lock);
        let until = last.plus(lock);
        (until > now).then_some(until)
    }

    fn validate(&self, field: &'static str) -> Result<(), FlowError> {
        if self.threshold == 0
            || self.window.is_zero()
            || self.base_lock.is_zero()
            || self.max_lock < self.base_lock
        {
            return Err(FlowError::Config {
                field,
                reason: "threshold, window and base_lock must be more than zero, max_lock at least base_lock".into(),
            });
        }
        Ok(())
    }
}

/// The per-user and per-address rules of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepLockout {
    /// Failures of one user, from anywhere.
    pub per_user: Lockout,
    /// Failures from one source address, for any user (password spraying).
    pub per_source: Lockout,
}

/// Lockout of both steps.
///
/// Only a user's own failures count: a wrong password or unknown user (password step), a
/// denied or unanswered call (phone step). An unavailable directory or phone service never
/// counts. A password-step lock is never revealed (the user is told "wrong username or
/// password", and the password is not checked, so the directory's own lockout is not fed);
/// a phone-step lock is revealed only after the right password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutPolicy {
    /// The password step. Default: 5 failures per user in 15 min lock 1 min, doubling up to
    /// 1 h; 30 per address in 15 min lock 5 min, doubling up to 1 h.
    pub password: StepLockout,
    /// The phone step. Default: 3 failures per user in 1 h lock 5 min, doubling up to 4 h;
    /// 10 per address in 1 h lock 15 min, doubling up to 4 h.
    pub phone: StepLockout,
    /// The directory's own lockout threshold, where known: the per-user password threshold
    /// must stay below it, so our lock engages first and the directory never locks the
    /// account on our account. Default: unknown.
    pub directory_threshold: Option<u32>,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(60 * m);
        Self {
            password: StepLockout {
                per_user: Lockout::new(5, min(15), min(1), min(60)),
                per_source: Lockout::new(30, min(15), min(5), min(60)),
            },
            phone: StepLockout {
                per_user: Lockout::new(3, min(60), min(5), min(240)),
                per_source: Lockout::new(10, min(60), min(15), min(240)),
            },
            directory_threshold: None,
        }
    }
}

impl LockoutPolicy {
    pub(crate) fn validate(&self) -> Result<(), FlowError> {
        self.password
            .per_user
            .validate("lockout.password.per_user")?;
        self.password
            .per_source
            .validate("lockout.password.per_source")?;
        self.phone.per_user.validate("lockout.phone.per_user")?;
        self.phone.per_source.validate("lockout.phone.per_source")?;
        if let Some(directory) = self.directory_threshold
            && self.password.per_user.threshold >= directory
        {
            return Err(FlowError::Config {
                field: "lockout.password.per_user.threshold",
                reason: format!(
                    "{} is not below the directory's own lockout threshold {directory}",
                    self.password.per_user.threshold
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> Timestamp {
        Timestamp::from_unix_millis(1_000_000_000).plus(Duration::from_secs(secs))
    }

    #[test]
    fn locks_at_the_threshold_and_doubles_after() {
        let rule = Lockout::new(
            3,
            Duration::from_secs(600),
            Duration::from_secs(60),
            Duration::from_secs(300),
        );
        assert_eq!(rule.locked_until(&[t(0), t(10)], t(11)), None);
        assert_eq!(rule.locked_until(&[t(0), t(10), t(20)], t(21)), Some(t(80)));
        assert_eq!(
            rule.locked_until(&[t(0), t(10), t(20)], t(80)),
            None,
            "lock over"
        );
        assert_eq!(
            rule.locked_until(&[t(0), t(10), t(20), t(90)], t(91)),
            Some(t(210))
        );
        let many: Vec<_> = (0..10).map(|i| t(i * 10)).collect();
        assert_eq!(
            rule.locked_until(&many, t(91)),
            Some(t(390)),
            "capped at max_lock"
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let rule = Lockout::new(
            2,
            Duration::from_secs(100),
            Duration::from_secs(500),
            Duration::from_secs(500),
        );
        assert_eq!(rule.locked_until(&[t(0), t(150)], t(151)), None);
        assert_eq!(rule.locked_until(&[t(100), t(150)], t(151)), Some(t(650)));
    }

    #[test]
    fn our_threshold_must_stay_below_the_directory_lockout() {
        let policy = LockoutPolicy {
            directory_threshold: Some(5),
            ..Default::default()
        };
        let err = policy.validate().unwrap_err().to_string();
        assert!(
            err.contains("5 is not below the directory's own lockout threshold 5"),
            "{err}"
        );
        assert!(
            LockoutPolicy {
                directory_threshold: Some(10),
                ..Default::default()
            }
            .validate()
            .is_ok()
        );
    }
}
