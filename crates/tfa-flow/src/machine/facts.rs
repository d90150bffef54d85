//! What the driver found out about a user once the password was verified: the facts the
//! machine decides the second factor on. Gathering them needs stores and the directory; the
//! decision does not.

use tfa_directory::Username;
use tfa_phone::{NumberKind, PhoneNumber};

use crate::{NoPhone, Timestamp};

/// Whether TFA applies to a user (see [`EnforcementPolicy`](crate::EnforcementPolicy)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    /// A second factor is required.
    Enforced,
    /// The password alone suffices.
    NotEnforced,
}

/// What happens when the second-factor service is unavailable for this user.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum FailMode {
    /// Deny (the default).
    #[default]
    Closed,
    /// Let the user in on the password alone, marking the session "second factor skipped"
    /// and raising a loud audit event. Only where explicitly configured for a group.
    Open {
        /// The group whose setting applies.
        group: String,
    },
}

/// An administrator's one-time bypass, consumed by the login that uses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BypassGrant {
    /// Until when it may be used.
    pub until: Timestamp,
    /// Why it was granted.
    pub reason: String,
    /// Who granted it.
    pub granted_by: String,
}

/// The number a call would go to, as far as the call policies need it. No full number: the
/// state may be stored and logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallTarget {
    /// The number in E.164 with the middle digits masked (`+1******9500`).
    pub masked: String,
    /// The country calling code.
    pub country_code: u16,
    /// The kind of line.
    pub kind: NumberKind,
}

impl CallTarget {
    /// The call-policy view of `number`.
    pub fn of(number: &PhoneNumber) -> Self {
        Self {
            masked: mask_e164(&number.e164()),
            country_code: number.country_code().get(),
            kind: number.kind(),
        }
    }
}

/// Masks all but the first two and last four characters of an E.164 number.
fn mask_e164(e164: &str) -> String {
    let chars: Vec<char> = e164.chars().collect();
    let keep_tail = chars.len().saturating_sub(4).max(2);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 2 || i >= keep_tail { *c } else { '*' })
        .collect()
}

/// Whether and where the user can be called.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "phone", rename_all = "kebab-case")]
pub enum PhoneFacts {
    /// The application knows the number.
    Known(CallTarget),
    /// The second-factor service holds the number (PhoneFactor agent mode).
    HeldByService,
    /// No number that may be used.
    Unusable(NoPhone),
}

/// Everything the machine decides the second factor on, gathered by the driver after the
/// password was verified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct UserFacts {
    /// The user's canonical name, as the directory spells it.
    pub username: Username,
    /// Whether TFA applies.
    pub enforcement: Enforcement,
    /// True when the user's TFA is blocked after a fraud report.
    pub blocked: bool,
    /// When a phone-step lock ends, if one is in force.
    pub phone_locked_until: Option<Timestamp>,
    /// A one-time bypass already consumed for this login (see [`UserFacts::wants_bypass`]).
    pub bypass: Option<BypassGrant>,
    /// Whether and where the user can be called.
    pub phone: PhoneFacts,
    /// What to do if the service is unavailable.
    pub fail_mode: FailMode,
}

impl UserFacts {
    /// Facts for `username` with TFA enforced and `phone`; not blocked, not locked, no bypass,
    /// failing closed.
    pub fn new(username: Username, phone: PhoneFacts) -> Self {
        Self {
            username,
            enforcement: Enforcement::Enforced,
            blocked: false,
            phone_locked_until: None,
            bypass: None,
            phone,
            fail_mode: FailMode::Closed,
        }
    }

    /// Sets whether TFA applies.
    #[must_use]
    pub fn with_enforcement(mut self, enforcement: Enforcement) -> Self {
        self.enforcement = enforcement;
        self
    }

    /// Marks the user's TFA as blocked.
    #[must_use]
    pub fn with_blocked(mut self, blocked: bool) -> Self {
        self.blocked = blocked;
        self
    }

    /// Sets the end of a phone-step lock.
    #[must_use]
    pub fn with_phone_lock(mut self, until: Option<Timestamp>) -> Self {
        self.phone_locked_until = until;
        self
    }

    /// Sets a consumed one-time bypass.
    #[must_use]
    pub fn with_bypass(mut self, bypass: Option<BypassGrant>) -> Self {
        self.bypass = bypass;
        self
    }

    /// Sets the fail mode.
    #[must_use]
    pub fn with_fail_mode(mut self, fail_mode: FailMode) -> Self {
        self.fail_mode = fail_mode;
        self
    }

    /// True when a one-time bypass would be used if there is one: TFA enforced, not blocked,
    /// no phone-step lock. The driver consumes a bypass only then, so that one is never
    /// spent on a login that is denied anyway.
    pub fn wants_bypass(&self, now: Timestamp) -> bool {
        self.enforcement == Enforcement::Enforced
            && !self.blocked
            && self.phone_locked_until.is_none_or(|until| until <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_the_prefix_and_the_last_four_digits() {
        assert_eq!(mask_e164("+19259249500"), "+1******9500");
        assert_eq!(mask_e164("+123"), "+123");
    }
}
