//! The store API per login step: each step of a happy login is one call, so that a shared
//! store can make it one round trip (one script) instead of one per datum.
//!
//! [`ComposedTransactions`] builds every step from the per-datum traits ([`SessionStore`],
//! [`TfaStateStore`], [`CounterStore`], [`PhoneBook`]), so any set of those stores keeps
//! working; a shared store implements [`LoginTransactions`] itself to make each step atomic
//! and one round trip.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tfa_directory::Username;
use tfa_phone::PhoneNumber;

use super::{CounterKey, CounterStore, PhoneBook, Revision, SessionStore, Swap, TfaStateStore};
use crate::policy::CallHistory;
use crate::{BypassGrant, CallLimits, CallRule, FlowError, Login, LoginId, Timestamp};

/// A login to write in place of the stored one, if that is still at `expected`.
#[derive(Debug, Clone, Copy)]
pub struct Update<'a> {
    /// The login as it is to be stored.
    pub login: &'a Login,
    /// The revision the caller read (or last wrote).
    pub expected: Revision,
    /// When the store may forget the login.
    pub expires_at: Timestamp,
    /// The time now: a login found expired on conflict is reported as gone.
    pub now: Timestamp,
}

/// How a write of a login ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Written, with the login's new revision.
    Done(Revision),
    /// The stored login is no longer at the expected revision: here it is as stored now
    /// (`None` if it is gone or expired), to apply the event to again. Nothing was written.
    Conflict(Option<(Login, Revision)>),
}

/// One hit to record on a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The counter.
    pub key: CounterKey,
    /// When.
    pub at: Timestamp,
    /// How long the hit must be kept.
    pub keep: Duration,
}

/// What a step writes besides the login (the machine's counter, block and hold actions),
/// written with the login and only if the login is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Failures to count.
    pub record: Vec<Hit>,
    /// Counters to clear.
    pub clear: Vec<CounterKey>,
    /// Users whose TFA to block (after a fraud report), and when.
    pub block: Vec<(Username, Timestamp)>,
    /// Holds to release, each only if the login still holds it.
    pub release: Vec<(CounterKey, LoginId)>,
}

impl Effects {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
            && self.clear.is_empty()
            && self.block.is_empty()
            && self.release.is_empty()
    }
}

/// What the password step reads about a user and the login's source address, with how far
/// back each failure history must reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactQuery {
    /// The user (as typed before the password is verified; canonical after).
    pub user: Username,
    /// The login's source address.
    pub source: IpAddr,
    /// The time now (a bypass that has lapsed is not reported).
    pub now: Timestamp,
    /// Password failures of the user since then.
    pub password_user_since: Timestamp,
    /// Password failures from the source since then.
    pub password_source_since: Timestamp,
    /// Phone-step failures of the user since then.
    pub phone_user_since: Timestamp,
    /// Phone-step failures from the source since then.
    pub phone_source_since: Timestamp,
}

/// Everything stored that the password step decides on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredFacts {
    /// Password failures of the user.
    pub password_failures_of_user: Vec<Timestamp>,
    /// Password failures from the source.
    pub password_failures_from_source: Vec<Timestamp>,
    /// Phone-step failures of the user.
    pub phone_failures_of_user: Vec<Timestamp>,
    /// Phone-step failures from the source.
    pub phone_failures_from_source: Vec<Timestamp>,
    /// The user's own enforcement setting.
    pub enforcement: Option<bool>,
    /// True when the user's TFA is blocked.
    pub blocked: bool,
    /// The user's one-time bypass, if one is stored: read, not taken (see
    /// [`LoginTransactions::first_factor_verified`]).
    pub bypass: Option<BypassGrant>,
    /// The number in the phone book: `None` when numbers are not kept in a phone book (the
    /// directory record has them), `Some(None)` when the book has none for the user.
    pub phone_book: Option<Option<PhoneNumber>>,
}

/// The call a login is about to place: the one-outstanding-call hold to take and the limits
/// to check and record it against, all at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReservation {
    /// The login that places the call (the hold's holder).
    pub holder: LoginId,
    /// The user called.
    pub user: Username,
    /// The number called, where the application knows it: E.164 and country calling code.
    pub number: Option<(String, u16)>,
    /// Until when the hold is taken (the call's deadline).
    pub until: Timestamp,
    /// The limits in force.
    pub limits: CallLimits,
    /// The time now.
    pub now: Timestamp,
}

impl CallReservation {
    /// The counters the call is recorded on: user, then number and country where known.
    pub fn call_keys(&self) -> Vec<CounterKey> {
        let mut keys = vec![CounterKey::CallsToUser(CounterKey::user(&self.user))];
        if let Some((e164, country)) = &self.number {
            keys.push(CounterKey::CallsToNumber(e164.clone()));
            keys.push(CounterKey::CallsToCountry(*country));
        }
        keys
    }

    /// The user's outstanding-call hold.
    pub fn hold_key(&self) -> CounterKey {
        CounterKey::OutstandingCall(CounterKey::user(&self.user))
    }

    /// The user's phone-step failures, which the push-fatigue delays count.
    pub fn failures_key(&self) -> CounterKey {
        CounterKey::PhoneFailuresOfUser(CounterKey::user(&self.user))
    }

    /// The rule that refuses the call given the recent calls to the user, number and
    /// country and the user's recent phone-step failures, if any.
    pub fn refusal(
        &self,
        to_user: Vec<Timestamp>,
        to_number: Option<Vec<Timestamp>>,
        to_country: Option<Vec<Timestamp>>,
        failed: Vec<Timestamp>,
    ) -> Option<CallRule> {
        let history = CallHistory {
            to_user,
            to_number,
            to_country: self
                .number
                .as_ref()
                .zip(to_country)
                .map(|((_, c), h)| (*c, h)),
            failed,
        };
        self.limits.check(&history, self.now).err()
    }
}

/// How step (3) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Written (the hold taken, the call recorded, the bypass taken, as asked).
    Done(Revision),
    /// The login changed: as in [`Committed::Conflict`]. Nothing was written or taken.
    Conflict(Option<(Login, Revision)>),
    /// The call limits refuse the call: nothing was written, held or recorded.
    Refused(CallRule),
    /// The bypass expected is no longer stored as read: here is what is stored now (not
    /// taken). Nothing was written.
    BypassChanged(Option<BypassGrant>),
}

/// The store API per login step. A happy login is four calls: [`begin`], then
/// [`password_submitted`], [`first_factor_verified`] and [`call_ended`]; a shared store
/// makes each one round trip and atomic. Every write is a compare-and-swap of the login
/// that, on conflict, hands back the login as stored now.
///
/// [`ComposedTransactions`] implements it over the per-datum stores.
///
/// [`begin`]: LoginTransactions::begin
/// [`password_submitted`]: LoginTransactions::password_submitted
/// [`first_factor_verified`]: LoginTransactions::first_factor_verified
/// [`call_ended`]: LoginTransactions::call_ended
#[async_trait]
pub trait LoginTransactions: Send + Sync + fmt::Debug {
    /// (1) Stores a new login, kept until `expires_at`. Fails if the id exists.
    async fn begin(&self, login: &Login, expires_at: Timestamp) -> Result<Revision, FlowError>;

    /// The login and its revision, unless absent or expired at `now` (polls, and a node
    /// that has not seen the login yet).
    async fn load(
        &self,
        id: LoginId,
        now: Timestamp,
    ) -> Result<Option<(Login, Revision)>, FlowError>;

    /// What the password step reads, alone (when the directory's canonical name differs
    /// from the name typed).
    async fn facts(&self, query: &FactQuery) -> Result<StoredFacts, FlowError>;

    /// (2) The password was submitted: writes `update` (the login now verifying its
    /// password) and reads the facts of `query`, whether or not the write succeeds.
    async fn password_submitted(
        &self,
        update: Update<'_>,
        query: &FactQuery,
    ) -> Result<(Committed, StoredFacts), FlowError>;

    /// (3) The first factor was verified and the machine decided: writes `update` with
    /// `effects`, but only after taking `bypass` (if the machine used one: it must still be
    /// stored as read) and, for a `call`, taking the user's one-outstanding-call hold and
    /// passing the call limits, then recording the call against them. All or nothing.
    async fn first_factor_verified(
        &self,
        update: Update<'_>,
        effects: &Effects,
        call: Option<&CallReservation>,
        bypass: Option<&BypassGrant>,
    ) -> Result<Verified, FlowError>;

    /// (4) The call ended: writes the outcome with its effects (failures cleared or counted,
    /// a block, the hold released).
    async fn call_ended(
        &self,
        update: Update<'_>,
        effects: &Effects,
    ) -> Result<Committed, FlowError> {
        self.commit(update, effects).await
    }

    /// Any other change of a login (a timeout, a cancel, a wrong password, a refused call):
    /// writes `update` with `effects`.
    async fn commit(&self, update: Update<'_>, effects: &Effects) -> Result<Committed, FlowError>;

    /// Writes `effects` alone (e.g. releasing a hold once a login has ended elsewhere).
    async fn apply(&self, effects: &Effects) -> Result<(), FlowError>;
}

/// [`LoginTransactions`] over the per-datum stores: each step is the same reads and writes
/// as before, sent together where independent. Atomic per datum only: use a store's own
/// implementation where one exists.
#[derive(Debug, Clone)]
pub struct ComposedTransactions {
    sessions: Arc<dyn SessionStore>,
    tfa: Arc<dyn TfaStateStore>,
    counters: Arc<dyn CounterStore>,
    phone_book: Option<Arc<dyn PhoneBook>>,
}

impl ComposedTransactions {
    /// The steps over these stores; without a phone book, numbers come from the directory.
    pub fn new(
        sessions: Arc<dyn SessionStore>,
        tfa: Arc<dyn TfaStateStore>,
        counters: Arc<dyn CounterStore>,
        phone_book: Option<Arc<dyn PhoneBook>>,
    ) -> Self {
        Self {
            sessions,
            tfa,
            counters,
            phone_book,
        }
    }

    async fn swap(&self, update: Update<'_>) -> Result<Committed, FlowError> {
        match self
            .sessions
            .compare_and_swap(update.login, update.expected, update.expires_at)
            .await?
        {
            Swap::Done(revision) => Ok(Committed::Done(revision)),
            Swap::Conflict => Ok(Committed::Conflict(
                self.sessions.load(update.login.id(), update.now).await?,
            )),
        }
    }

    async fn reserve(&self, call: &CallReservation) -> Result<Option<CallRule>, FlowError> {
        let counters = &self.counters;
        let hold = call.hold_key();
        if !counters
            .try_hold(&hold, call.holder, call.now, call.until)
            .await?
        {
            return Ok(Some(CallRule::OutstandingCall));
        }
        let checked = async {
            let since = call.now.minus(call.limits.lookback());
            let keys = call.call_keys();
            let by_number = async {
                match (keys.get(1), keys.get(2)) {
                    (Some(number), Some(country)) => {
                        let (n, c) = tokio::try_join!(
                            counters.history(number, since),
                            counters.history(country, since),
                        )?;
                        Ok::<_, FlowError>((Some(n), Some(c)))
                    }
                    _ => Ok((None, None)),
                }
            };
            // Independent reads (and then writes) go out together.
            let failures = call.failures_key();
            let (to_user, failed, (to_number, to_country)) = tokio::try_join!(
                counters.history(&keys[0], since),
                counters.history(&failures, since),
                by_number,
            )?;
            if let Some(rule) = call.refusal(to_user, to_number, to_country, failed) {
                return Ok(Some(rule));
            }
            let keep = call.limits.lookback();
            futures_join_all(keys.iter().map(|key| counters.record(key, call.now, keep))).await?;
            Ok(None)
        };
        let refusal = checked.await;
        if !matches!(refusal, Ok(None))
            && let Err(error) = counters.release(&hold, call.holder).await
        {
            tracing::error!(login = %call.holder, %error, "could not release the outstanding-call hold; it lapses at its deadline");
        }
        refusal
    }
}

/// Awaits every future together, failing with the first error.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Result<(), FlowError>
where
    F: Future<Output = Result<(), FlowError>>,
{
    futures::future::try_join_all(futures).await?;
    Ok(())
}

/// Writes `effects` through the per-datum stores, together.
async fn write_effects(
    tfa: &dyn TfaStateStore,
    counters: &dyn CounterStore,
    effects: &Effects,
) -> Result<(), FlowError> {
    let records = futures_join_all(
        effects
            .record
            .iter()
            .map(|hit| counters.record(&hit.key, hit.at, hit.keep)),
    );
    let clears = futures_join_all(effects.clear.iter().map(|key| counters.clear(key)));
    let blocks = futures_join_all(effects.block.iter().map(|(user, at)| tfa.block(user, *at)));
    let releases = futures_join_all(
        effects
            .release
            .iter()
            .map(|(key, holder)| counters.release(key, *holder)),
    );
    tokio::try_join!(records, clears, blocks, releases)?;
    Ok(())
}

#[async_trait]
impl LoginTransactions for ComposedTransactions {
    async fn begin(&self, login: &Login, expires_at: Timestamp) -> Result<Revision, FlowError> {
        self.sessions.create(login, expires_at).await
    }

    async fn load(
        &self,
        id: LoginId,
        now: Timestamp,
    ) -> Result<Option<(Login, Revision)>, FlowError> {
        self.sessions.load(id, now).await
    }

    async fn facts(&self, query: &FactQuery) -> Result<StoredFacts, FlowError> {
        let user = CounterKey::user(&query.user);
        let counters = &self.counters;
        let booked = async {
            match &self.phone_book {
                Some(book) => Ok(Some(book.number(&query.user).await?)),
                None => Ok(None),
            }
        };
        let keys = [
            CounterKey::PasswordFailuresOfUser(user.clone()),
            CounterKey::PasswordFailuresFromSource(query.source),
            CounterKey::PhoneFailuresOfUser(user),
            CounterKey::PhoneFailuresFromSource(query.source),
        ];
        // Independent reads go out together: one round trip to a shared store.
        let (pw_user, pw_source, ph_user, ph_source, enforcement, blocked, bypass, booked) = tokio::try_join!(
            counters.history(&keys[0], query.password_user_since),
            counters.history(&keys[1], query.password_source_since),
            counters.history(&keys[2], query.phone_user_since),
            counters.history(&keys[3], query.phone_source_since),
            self.tfa.enforcement(&query.user),
            self.tfa.is_blocked(&query.user),
            self.tfa.bypass(&query.user, query.now),
            booked,
        )?;
        Ok(StoredFacts {
            password_failures_of_user: pw_user,
            password_failures_from_source: pw_source,
            phone_failures_of_user: ph_user,
            phone_failures_from_source: ph_source,
            enforcement,
            blocked,
            bypass,
            phone_book: booked,
        })
    }

    async fn password_submitted(
        &self,
        update: Update<'_>,
        query: &FactQuery,
    ) -> Result<(Committed, StoredFacts), FlowError> {
        tokio::try_join!(self.swap(update), self.facts(query))
    }

    async fn first_factor_verified(
        &self,
        update: Update<'_>,
        effects: &Effects,
        call: Option<&CallReservation>,
        bypass: Option<&BypassGrant>,
    ) -> Result<Verified, FlowError> {
        let user = update.login.username().cloned();
        let mut taken = None;
        if let (Some(expected), Some(user)) = (bypass, &user) {
            match self.tfa.take_bypass(user, update.now).await? {
                Some(grant) if grant == *expected => taken = Some(grant),
                other => {
                    if let Some(grant) = &other {
                        self.tfa.grant_bypass(user, grant.clone()).await?;
                    }
                    return Ok(Verified::BypassChanged(other));
                }
            }
        }
        if let Some(call) = call
            && let Some(rule) = self.reserve(call).await?
        {
            return Ok(Verified::Refused(rule));
        }
        let swapped = self.swap(update).await;
        match swapped {
            Ok(Committed::Done(revision)) => {
                if let Err(error) =
                    write_effects(self.tfa.as_ref(), self.counters.as_ref(), effects).await
                {
                    tracing::error!(login = %update.login.id(), %error, "could not write a step's counters");
                }
                Ok(Verified::Done(revision))
            }
            other => {
                // Nothing of this step stays: the hold goes back, and so does the bypass.
                if let Some(call) = call {
                    self.counters.release(&call.hold_key(), call.holder).await?;
                }
                if let (Some(grant), Some(user)) = (taken, &user) {
                    self.tfa.grant_bypass(user, grant).await?;
                }
                match other? {
                    Committed::Conflict(current) => Ok(Verified::Conflict(current)),
                    Committed::Done(revision) => Ok(Verified::Done(revision)),
                }
            }
        }
    }

    async fn commit(&self, update: Update<'_>, effects: &Effects) -> Result<Committed, FlowError> {
        let committed = self.swap(update).await?;
        if matches!(committed, Committed::Done(_))
            && let Err(error) =
                write_effects(self.tfa.as_ref(), self.counters.as_ref(), effects).await
        {
            tracing::error!(login = %update.login.id(), %error, "could not write a step's counters");
        }
        Ok(committed)
    }

    async fn apply(&self, effects: &Effects) -> Result<(), FlowError> {
        write_effects(self.tfa.as_ref(), self.counters.as_ref(), effects).await
    }
}
