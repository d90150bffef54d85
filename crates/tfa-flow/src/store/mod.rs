//! Where login state, TFA settings, counters and phone numbers live. Traits, so that several
//! nodes can share them (a shared implementation lives in its own crate); in-memory
//! implementations here for one node, tests and benchmarks.
//!
//! The [`Authenticator`](crate::Authenticator) reaches them through [`LoginTransactions`], one
//! call per login step; [`ComposedTransactions`] makes those steps of the per-datum traits, and
//! a shared store can implement them itself, one round trip each.
//!
//! Every method can fail with [`FlowError::Store`](crate::FlowError::Store); the
//! [`Authenticator`](crate::Authenticator) then fails closed.

mod file;
mod memory;
mod transactions;

pub use file::{FileTfaStateStore, TfaStateFileError, UserTfaSettings};
pub use memory::{MemoryCounterStore, MemoryPhoneBook, MemorySessionStore, MemoryTfaStateStore};
pub use transactions::{
    CallReservation, Committed, ComposedTransactions, Effects, FactQuery, Hit, LoginTransactions,
    StoredFacts, Update, Verified,
};

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use tfa_directory::Username;
use tfa_phone::PhoneNumber;

use crate::{BypassGrant, FlowError, Login, LoginId, Timestamp};

/// A version of a stored login, for compare-and-swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Revision(u64);

impl Revision {
    /// The revision with this number (stores count up from 1).
    pub const fn new(number: u64) -> Self {
        Self(number)
    }

    /// The revision's number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// How a compare-and-swap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// Written; the login's new revision.
    Done(Revision),
    /// The login changed (or expired) since it was read: read again and retry.
    Conflict,
}

/// Logins in progress, each with an expiry, updated by compare-and-swap so that two
/// requests (or nodes) for one login never overwrite each other.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Stores a new login, kept until `expires_at`. Fails if the id exists.
    async fn create(&self, login: &Login, expires_at: Timestamp) -> Result<Revision, FlowError>;

    /// The login and its revision, unless absent or expired at `now`.
    async fn load(
        &self,
        id: LoginId,
        now: Timestamp,
    ) -> Result<Option<(Login, Revision)>, FlowError>;

    /// Replaces the login if it is still at `expected`, and sets its expiry.
    async fn compare_and_swap(
        &self,
        login: &Login,
        expected: Revision,
        expires_at: Timestamp,
    ) -> Result<Swap, FlowError>;

    /// Forgets the login.
    async fn remove(&self, id: LoginId) -> Result<(), FlowError>;
}

/// Per-user TFA settings that administrators change: enforcement, one-time bypasses and
/// fraud blocks.
#[async_trait]
pub trait TfaStateStore: Send + Sync + fmt::Debug {
    /// The user's own enforcement setting (`None`: follow groups and the default).
    async fn enforcement(&self, user: &Username) -> Result<Option<bool>, FlowError>;

    /// Sets (or with `None` clears) the user's enforcement setting.
    async fn set_enforcement(
        &self,
        user: &Username,
        enforced: Option<bool>,
    ) -> Result<(), FlowError>;

    /// Grants a one-time bypass, replacing any earlier one.
    async fn grant_bypass(&self, user: &Username, grant: BypassGrant) -> Result<(), FlowError>;

    /// The user's bypass if one is valid at `now`, left in place (the password step reads it;
    /// the login that uses it takes it). The default takes it and grants it again: stores
    /// override it with a plain read.
    async fn bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        let grant = self.take_bypass(user, now).await?;
        if let Some(grant) = &grant {
            self.grant_bypass(user, grant.clone()).await?;
        }
        Ok(grant)
    }

    /// Takes the user's bypass if one is valid at `now`: atomically, so that it is used once.
    async fn take_bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError>;

    /// Blocks the user's TFA (after a fraud report) as of `at`.
    async fn block(&self, user: &Username, at: Timestamp) -> Result<(), FlowError>;

    /// True when the user's TFA is blocked.
    async fn is_blocked(&self, user: &Username) -> Result<bool, FlowError>;

    /// Lifts a block; true if there was one.
    async fn unblock(&self, user: &Username) -> Result<bool, FlowError>;
}

/// What a counter counts. Usernames are compared without regard to case, as directories do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CounterKey {
    /// Password failures of a user.
    PasswordFailuresOfUser(String),
    /// Password failures from an address.
    PasswordFailuresFromSource(IpAddr),
    /// Phone-step failures of a user.
    PhoneFailuresOfUser(String),
    /// Phone-step failures from an address.
    PhoneFailuresFromSource(IpAddr),
    /// Calls placed to a user.
    CallsToUser(String),
    /// Calls placed to a number (E.164).
    CallsToNumber(String),
    /// Calls placed to a country calling code.
    CallsToCountry(u16),
    /// The user's outstanding call (a hold, not a count).
    OutstandingCall(String),
}

impl CounterKey {
    /// The key's user part: the name in lower case.
    pub fn user(user: &Username) -> String {
        user.as_str().to_lowercase()
    }
}

impl fmt::Display for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PasswordFailuresOfUser(u) => write!(f, "pw-fail:user:{u}"),
            Self::PasswordFailuresFromSource(a) => write!(f, "pw-fail:src:{a}"),
            Self::PhoneFailuresOfUser(u) => write!(f, "ph-fail:user:{u}"),
            Self::PhoneFailuresFromSource(a) => write!(f, "ph-fail:src:{a}"),
            Self::CallsToUser(u) => write!(f, "calls:user:{u}"),
            Self::CallsToNumber(n) => write!(f, "calls:number:{n}"),
            Self::CallsToCountry(c) => write!(f, "calls:country:{c}"),
            Self::OutstandingCall(u) => write!(f, "outstanding:{u}"),
        }
    }
}

/// Time-stamped hits for lockout and call limits, and the one-outstanding-call hold. The
/// policies decide from the history; the store only keeps it.
#[async_trait]
pub trait CounterStore: Send + Sync + fmt::Debug {
    /// Records a hit at `at`, kept for at least `keep`.
    async fn record(
        &self,
        key: &CounterKey,
        at: Timestamp,
        keep: Duration,
    ) -> Result<(), FlowError>;

    /// The hits since `since`.
    async fn history(
        &self,
        key: &CounterKey,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, FlowError>;

    /// Forgets every hit of the key.
    async fn clear(&self, key: &CounterKey) -> Result<(), FlowError>;

    /// Takes the hold `key` for `holder` until `until`, if nobody else holds it at `now`
    /// (atomically). True if taken.
    async fn try_hold(
        &self,
        key: &CounterKey,
        holder: LoginId,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, FlowError>;

    /// Releases the hold if `holder` has it.
    async fn release(&self, key: &CounterKey, holder: LoginId) -> Result<(), FlowError>;
}

/// Users' phone numbers, where the application keeps them (PhoneFactor direct mode).
#[async_trait]
pub trait PhoneBook: Send + Sync + fmt::Debug {
    /// The number to call for `user`, if there is one.
    async fn number(&self, user: &Username) -> Result<Option<PhoneNumber>, FlowError>;
}
