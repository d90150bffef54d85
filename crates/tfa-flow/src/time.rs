//! Points in time as the machine sees them: passed in, never read from a clock.

use std::fmt;
use std::time::Duration;

/// A point in time, in milliseconds since the Unix epoch.
///
/// The login machine never reads a clock: every step is given the current `Timestamp`, so a
/// state can be replayed, tested and resumed on another node. Only the
/// [`Authenticator`](crate::Authenticator) reads the system clock, in one marked place.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The time `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// This time plus `duration`, saturating at the end of time.
    #[must_use]
    pub fn plus(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// This time minus `duration`, saturating at the epoch.
    #[must_use]
    pub fn minus(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_sub(millis))
    }

    /// How long after `earlier` this time is; zero if it is not later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}ms)", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_millis(1_000);
        assert_eq!(t.plus(Duration::from_secs(2)).unix_millis(), 3_000);
        assert_eq!(t.minus(Duration::from_secs(2)).unix_millis(), 0);
        assert_eq!(t.since(Timestamp::from_unix_millis(1_500)), Duration::ZERO);
        assert_eq!(
            Timestamp::from_unix_millis(u64::MAX)
                .plus(Duration::MAX)
                .unix_millis(),
            u64::MAX
        );
    }
}
