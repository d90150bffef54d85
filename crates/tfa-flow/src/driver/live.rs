//! What one node remembers about logins in memory: calls ringing here (with whom to wake
//! and how they ended), and logins begun here awaiting their password. Neither is needed for
//! correctness (the store is the truth); both save round trips to a shared store.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::Progress;
use crate::{Login, LoginId, Revision, Timestamp};

/// How long a call's outcome is kept for a waiter on this node that has not yet asked.
const KEEP_ENDED: Duration = Duration::from_secs(10);
/// At most this many ended calls are kept for waiters (oldest dropped first).
const MAX_ENDED: usize = 16_384;
/// At most this many begun logins are remembered (beyond, the password step reads the
/// store first, as on another node).
const MAX_BEGUN: usize = 65_536;

/// A login ringing on this node: whom to wake when it ends (with how it ended), and its
/// call's task.
#[derive(Debug)]
pub(super) struct Live {
    /// `None` while the call rings; the final progress once it is written.
    pub(super) ended: watch::Sender<Option<Progress>>,
    pub(super) call: Option<AbortHandle>,
    /// The call ended and its task is writing the outcome: no longer abortable.
    pub(super) recording: bool,
    /// When the call times out.
    pub(super) until: Timestamp,
}

/// Calls ringing on this node, and those that ended a moment ago.
#[derive(Debug, Default)]
pub(super) struct LiveTable {
    pub(super) calls: HashMap<LoginId, Live>,
    ended: VecDeque<(Timestamp, LoginId)>,
    begun: HashMap<LoginId, (Login, Revision)>,
    begun_order: VecDeque<(Timestamp, LoginId)>,
}

impl LiveTable {
    /// Registers a call about to ring.
    pub(super) fn insert(&mut self, id: LoginId, until: Timestamp, now: Timestamp) {
        self.sweep(now);
        let (ended, _) = watch::channel(None);
        self.calls.insert(
            id,
            Live {
                ended,
                call: None,
                recording: false,
                until,
            },
        );
    }

    /// Records that `id` ended as `progress` and wakes its waiters; the outcome is kept a
    /// short while for waiters that come later.
    pub(super) fn finish(&mut self, id: LoginId, progress: Progress, now: Timestamp) {
        if let Some(live) = self.calls.get_mut(&id)
            && live.ended.borrow().is_none()
        {
            live.call = None;
            live.recording = true;
            live.ended.send_replace(Some(progress));
            self.ended.push_back((now, id));
        }
    }

    /// Forgets a call that ended without an outcome known here: its waiters read the store.
    pub(super) fn forget(&mut self, id: LoginId) -> Option<Live> {
        match self.calls.get(&id) {
            Some(live) if live.ended.borrow().is_none() => self.calls.remove(&id),
            _ => None,
        }
    }

    /// How `id` ended, if it ended on this node a moment ago.
    pub(super) fn outcome(&self, id: LoginId) -> Option<Progress> {
        self.calls
            .get(&id)
            .and_then(|live| live.ended.borrow().clone())
    }

    /// Remembers a login just begun here, for its password step.
    pub(super) fn begun(&mut self, login: Login, revision: Revision, idle: Duration) {
        let now = login.last_activity();
        self.sweep_begun(idle, now);
        while self.begun.len() >= MAX_BEGUN {
            match self.begun_order.pop_front() {
                Some((_, old)) => {
                    self.begun.remove(&old);
                }
                None => break,
            }
        }
        self.begun_order.push_back((now, login.id()));
        self.begun.insert(login.id(), (login, revision));
    }

    /// The login begun here as it was written, if remembered (it may have changed since).
    pub(super) fn take_begun(
        &mut self,
        id: LoginId,
        idle: Duration,
        now: Timestamp,
    ) -> Option<(Login, Revision)> {
        self.sweep_begun(idle, now);
        self.begun.remove(&id)
    }

    /// Forgets logins older than the idle timeout: they have expired.
    fn sweep_begun(&mut self, idle: Duration, now: Timestamp) {
        while let Some((at, old)) = self.begun_order.front() {
            if at.plus(idle) > now && self.begun_order.len() <= MAX_BEGUN {
                break;
            }
            self.begun.remove(old);
            self.begun_order.pop_front();
        }
    }

    fn sweep(&mut self, now: Timestamp) {
        while let Some((at, id)) = self.ended.front() {
            if at.plus(KEEP_ENDED) > now && self.ended.len() <= MAX_ENDED {
                break;
            }
            self.calls.remove(id);
            self.ended.pop_front();
        }
    }
}
