//! What the "we are calling your phone" page shows while the call is under way.

use std::fmt;
use std::sync::Arc;

use phonefactor_sim::{Scenario, SimHandle};

/// The state of the call page, as its `#call-progress` element's `data-state` attribute
/// and the server-sent `progress` events carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallState {
    /// The call is being placed.
    Placing,
    /// The phone is ringing. A real PhoneFactor service does not report ringing apart from
    /// placing, so outside the demo the page shows this state for the whole call.
    Ringing,
    /// The phone was answered; the outcome is being checked.
    Answered,
    /// The call approved the login.
    Approved,
    /// The login did not succeed (the reason is in the audit log only).
    Denied,
}

impl CallState {
    /// The `data-state` value: `placing`, `ringing`, `answered`, `approved` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placing => "placing",
            Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }

    /// The human-readable text shown for the state.
    pub fn text(self) -> &'static str {
        match self {
            Self::Placing => "Placing a call to your phone…",
            Self::Ringing => "Your phone is ringing. Answer it and follow the instructions.",
            Self::Answered => "Call answered. Checking your response…",
            Self::Approved => "Approved. Signing you in…",
            Self::Denied => "The phone verification did not succeed.",
        }
    }

    /// True for `approved` and `denied`.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Approved | Self::Denied)
    }
}

impl fmt::Display for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sees a call's progress where the phone service can tell (the embedded simulator). For a
/// real service there is none, and a call in progress shows as ringing.
pub(crate) trait CallWatch: Send + Sync + fmt::Debug {
    /// Where the call to `username` placed after `since` stands, if it can tell.
    fn observe(&self, username: &str, since: time::OffsetDateTime) -> Option<CallState>;
}

/// Watches the embedded simulator's phones.
#[derive(Debug)]
pub(crate) struct SimWatch(pub(crate) Arc<SimHandle>);

impl CallWatch for SimWatch {
    fn observe(&self, username: &str, since: time::OffsetDateTime) -> Option<CallState> {
        if self
            .0
            .ringing()
            .iter()
            .any(|c| c.username.eq_ignore_ascii_case(username))
        {
            return Some(CallState::Ringing);
        }
        let ended = self
            .0
            .calls()
            .into_iter()
            .rev()
            .find(|c| c.username.eq_ignore_ascii_case(username) && c.received_at >= since);
        Some(match ended.and_then(|c| c.action) {
            // The call has ended and its outcome is on its way to the login.
            Some(Scenario::Busy | Scenario::NoAnswer | Scenario::NotInService) => {
                CallState::Ringing
            }
            Some(Scenario::CarrierFailure) | None => CallState::Placing,
            Some(_) => CallState::Answered,
        })
    }
}
