//! The one place the driver reads the clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Timestamp;

/// The current time. The machine takes time as input; this is the only read of the system
/// clock in the crate (clippy's `disallowed-methods` enforces it everywhere else).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    Timestamp::from_unix_millis(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
}

/// A monotonic deadline `after` from now, for waits measured to the microsecond (the
/// password step's equal-time floor): unlike [`now`], it is not rounded to milliseconds and
/// does not move when the system clock is set.
#[allow(clippy::disallowed_methods)]
pub(crate) fn deadline_after(after: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + after
}
