//! Limits checked before dialling: rates per user, number and country, and the escalating
//! delays after unanswered or denied calls that defend against push fatigue.

use std::time::Duration;

use crate::machine::secs;
use crate::{CallRule, FlowError, Timestamp};

/// At most `limit` calls within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Calls allowed per window.
    pub limit: u32,
    /// The window.
    #[serde(with = "secs")]
    pub window: Duration,
}

impl Rate {
    /// At most `limit` calls per `window`.
    pub const fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window }
    }

    /// Calls after `now` count too: another node's clock may be a little ahead, or its call
    /// recorded a moment after this node read the time.
    fn exceeded(&self, calls: &[Timestamp], now: Timestamp) -> bool {
        let since = now.minus(self.window);
        let recent = calls.iter().filter(|t| **t >= since).count();
        u32::try_from(recent).unwrap_or(u32::MAX) >= self.limit
    }
}

/// Escalating delays after unanswered or denied calls: after `after` such calls within
/// `window`, the next call waits `base_delay` from the last one, doubling with each further
/// failure up to `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FatigueDelays {
    /// Failed calls before delays start.
    pub after: u32,
    /// How far back failed calls count.
    #[serde(with = "secs")]
    pub window: Duration,
    /// The first delay.
    #[serde(with = "secs")]
    pub base_delay: Duration,
    /// The longest delay.
    #[serde(with = "secs")]
    pub max_delay: Duration,
}

impl FatigueDelays {
    /// When the next call may be placed after `failed_calls`, if that is after `now`. Failures
    /// stamped after `now` (another node's clock a little ahead) count too.
    pub fn next_call_at(&self, failed_calls: &[Timestamp], now: Timestamp) -> Option<Timestamp> {
        let since = now.minus(self.window);
        let recent: Vec<Timestamp> = failed_calls
            .iter()
            .copied()
            .filter(|t| *t >= since)
            .collect();
        let count = u32::try_from(recent.len()).unwrap_or(u32::MAX);
        if count == 0 || count < self.after {
            return None;
        }
        let last = recent.iter().copied().max()?;
        let doublings = (count - self.after.max(1)).min(20);
        let delay = self
            .base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        let at = last.plus(delay);
        (at > now).then_some(at)
    }
}

/// The limits checked before every call. The store-free rules (country allow-list, number
/// kinds) are in [`MachinePolicy`](crate::MachinePolicy).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallLimits {
    /// Calls to one user. Default 5 per hour.
    pub per_user: Rate,
    /// Calls to one number, whoever it belongs to. Default 5 per hour.
    pub per_number: Rate,
    /// Calls to one country calling code, against toll fraud. Default 1000 per hour.
    pub per_country: Rate,
    /// Delays after unanswered or denied calls. Default: from the first, 30 s doubling up to
    /// 15 min, over the last hour.
    pub fatigue: FatigueDelays,
}

impl Default for CallLimits {
    fn default() -> Self {
        let hour = Duration::from_secs(3600);
        Self {
            per_user: Rate::new(5, hour),
            per_number: Rate::new(5, hour),
            per_country: Rate::new(1000, hour),
            fatigue: FatigueDelays {
                after: 1,
                window: hour,
                base_delay: Duration::from_secs(30),
                max_delay: Duration::from_secs(900),
            },
        }
    }
}

/// The call history a limit check needs, read from the [`CounterStore`](crate::CounterStore).
#[derive(Debug, Clone, Default)]
pub(crate) struct CallHistory {
    pub(crate) to_user: Vec<Timestamp>,
    pub(crate) to_number: Option<Vec<Timestamp>>,
    pub(crate) to_country: Option<(u16, Vec<Timestamp>)>,
    pub(crate) failed: Vec<Timestamp>,
}

impl CallLimits {
    /// How far back the history must reach.
    pub fn lookback(&self) -> Duration {
        self.per_user
            .window
            .max(self.per_number.window)
            .max(self.per_country.window)
            .max(self.fatigue.window)
    }

    /// The rule that refuses a call now, if any.
    pub(crate) fn check(&self, history: &CallHistory, now: Timestamp) -> Result<(), CallRule> {
        if let Some(until) = self.fatigue.next_call_at(&history.failed, now) {
            return Err(CallRule::FatigueDelay { until });
        }
        if self.per_user.exceeded(&history.to_user, now) {
            return Err(CallRule::UserRate {
                limit: self.per_user.limit,
                window_secs: self.per_user.window.as_secs(),
            });
        }
        if let Some(calls) = &history.to_number
            && self.per_number.exceeded(calls, now)
        {
            return Err(CallRule::NumberRate {
                limit: self.per_number.limit,
                window_secs: self.per_number.window.as_secs(),
            });
        }
        if let Some((country_code, calls)) = &history.to_country
            && self.per_country.exceeded(calls, now)
        {
            return Err(CallRule::CountryRate {
                country_code: *country_code,
                limit: self.per_country.limit,
                window_secs: self.per_country.window.as_secs(),
            });
        }
        Ok(())
    }

    pub(crate) fn validate(&self) -> Result<(), FlowError> {
        for (field, rate) in [
            ("calls.per_user", self.per_user),
            ("calls.per_number", self.per_number),
            ("calls.per_country", self.per_country),
        ] {
            if rate.limit == 0 || rate.window.is_zero() {
                return Err(FlowError::Config {
                    field,
                    reason: "limit and window must be more than zero".into(),
                });
            }
        }
        if self.fatigue.max_delay < self.fatigue.base_delay {
            return Err(FlowError::Config {
                field: "calls.fatigue",
                reason: "max_delay is below base_delay".into(),
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
    fn fatigue_delays_escalate_after_each_failed_call() {
        let limits = CallLimits::default();
        let none = CallHistory::default();
        assert_eq!(limits.check(&none, t(0)), Ok(()));
        let one = CallHistory {
            failed: vec![t(0)],
            ..Default::default()
        };
        assert_eq!(
            limits.check(&one, t(10)),
            Err(CallRule::FatigueDelay { until: t(30) })
        );
        assert_eq!(limits.check(&one, t(30)), Ok(()));
        let two = CallHistory {
            failed: vec![t(0), t(40)],
            ..Default::default()
        };
        assert_eq!(
            limits.check(&two, t(41)),
            Err(CallRule::FatigueDelay { until: t(100) })
        );
        let many = CallHistory {
            failed: (0..10).map(t).collect(),
            ..Default::default()
        };
        assert_eq!(
            limits.check(&many, t(10)),
            Err(CallRule::FatigueDelay { until: t(909) })
        );
    }

    #[test]
    fn calls_stamped_after_now_count_against_the_limits() {
        let limits = CallLimits {
            per_user: Rate::new(2, Duration::from_secs(60)),
            ..Default::default()
        };
        // Another node, its clock a little ahead, recorded two calls "after" now.
        let ahead = CallHistory {
            to_user: vec![t(11), t(12)],
            ..Default::default()
        };
        assert!(matches!(
            limits.check(&ahead, t(10)),
            Err(CallRule::UserRate { .. })
        ));
        let failed_ahead = CallHistory {
            failed: vec![t(11)],
            ..Default::default()
        };
        assert_eq!(
            limits.check(&failed_ahead, t(10)),
            Err(CallRule::FatigueDelay { until: t(41) })
        );
    }

    #[test]
    fn rates_per_user_number_and_country_refuse_with_their_rule() {
        let limits = CallLimits {
            per_user: Rate::new(2, Duration::from_secs(60)),
            per_number: Rate::new(3, Duration::from_secs(60)),
            per_country: Rate::new(4, Duration::from_secs(60)),
            ..Default::default()
        };
        let user = CallHistory {
            to_user: vec![t(0), t(1)],
            ..Default::default()
        };
        assert_eq!(
            limits.check(&user, t(2)),
            Err(CallRule::UserRate {
                limit: 2,
                window_secs: 60
            })
        );
        assert_eq!(
            limits.check(&user, t(61)),
            Ok(()),
            "the window slid past the first call"
        );
        let number = CallHistory {
            to_number: Some(vec![t(0), t(1), t(2)]),
            ..Default::default()
        };
        assert_eq!(
            limits.check(&number, t(3)),
            Err(CallRule::NumberRate {
                limit: 3,
                window_secs: 60
            })
        );
        let country = CallHistory {
            to_country: Some((44, vec![t(0); 4])),
            ..Default::default()
        };
        assert_eq!(
            limits.check(&country, t(3)),
            Err(CallRule::CountryRate {
                country_code: 44,
                limit: 4,
                window_secs: 60
            })
        );
    }
}
