//! The durable-store seam, below the engine that drains it; published as
//! [`integration::store`](crate::integration::store), where it is documented.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::model::kind::ItemKind;
pub use crate::rate_limit::budget::BoxFuture;
use crate::rate_limit::budget::RateBudget;

/// Why a store call failed: the store's own error, boxed. The engine logs
/// it, stops leading and asks again after the takeover interval.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// How the engine drains a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreSettings {
    /// How often a process that does not lead asks again, and how long the
    /// relay pauses after losing its session.
    pub takeover_interval: Duration,
    /// How long [`StoreSession::wait`] may wait without news.
    pub poll_interval: Duration,
    /// Items older than this go to the failure hook when a send fails
    /// (`None`: never).
    pub max_age: Option<Duration>,
    /// The most rows one claim returns.
    pub claim: usize,
    /// The most bytes of bodies one claim returns (at least one row): what
    /// the relay holds is bounded by bytes, however large the rows are.
    pub claim_bytes: usize,
}

impl StoreSettings {
    /// The settings, with a claim of 1000 rows (Bento's largest batch) or
    /// 4 MiB of bodies (one request's budget), whichever comes first.
    pub fn new(
        takeover_interval: Duration,
        poll_interval: Duration,
        max_age: Option<Duration>,
    ) -> Self {
        Self {
            takeover_interval,
            poll_interval,
            max_age,
            claim: 1000,
            claim_bytes: crate::model::envelope::DEFAULT_MAX_BATCH_BYTES,
        }
    }
}

/// What one [`StoreSession::claim`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// Only rows outside this id range (the claim in hand), when set.
    pub outside: Option<(i64, i64)>,
    /// The most rows.
    pub rows: usize,
    /// The most bytes of bodies: the oldest rows while their bodies add up
    /// to at most this, and always at least one row.
    pub bytes: usize,
}

impl Claim {
    /// A claim of at most `rows` rows and `bytes` bytes of bodies.
    pub fn new(rows: usize, bytes: usize) -> Self {
        Self {
            outside: None,
            rows,
            bytes,
        }
    }

    /// Only rows outside `first..=last`.
    pub fn outside(mut self, first: i64, last: i64) -> Self {
        self.outside = Some((first, last));
        self
    }
}

/// One live row of the store, as claimed: an item, or a row the store could
/// not read as one (a column of the wrong type, a kind no engine knows),
/// which becomes a dead letter rather than block the store.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub(crate) id: i64,
    pub(crate) age: Duration,
    pub(crate) content: Result<(ItemKind, String), String>,
}

impl StoredRow {
    /// An item: its id (ids grow in the order items were written), how long
    /// ago it was written, where it goes, and its JSON exactly as
    /// [`Encoded::json`](crate::Encoded::json) gave it.
    pub fn new(id: i64, age: Duration, kind: ItemKind, json: String) -> Self {
        Self {
            id,
            age,
            content: Ok((kind, json)),
        }
    }

    /// A row that cannot be read as an item, and why (naming the column).
    pub fn unreadable(id: i64, age: Duration, reason: impl Into<String>) -> Self {
        Self {
            id,
            age,
            content: Err(reason.into()),
        }
    }

    /// Its id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The bytes it holds in memory.
    pub(crate) fn size(&self) -> usize {
        match &self.content {
            Ok((_, json)) => json.len(),
            Err(reason) => reason.len(),
        }
    }
}

/// What became of claimed items.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Settle<'a> {
    /// Bento took them: remove them.
    Delivered,
    /// Given up on: keep them as dead letters.
    Dead {
        /// Why, in words (the failure's message).
        reason: &'a str,
        /// Attempts made.
        attempts: u32,
    },
    /// About a person erased since they were written: remove them unsent.
    Erased,
}

/// What the fence ([`StoreSession::sending`]) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Fence {
    /// How many erasures the store has recorded so far (any number that
    /// grows with each [`DurableStore::erase`]): when it differs from the
    /// count the engine last checked its batch at, the engine asks
    /// [`StoreSession::erased`] again before sending.
    pub erasures: u64,
}

impl Fence {
    /// The fence held, with the store's erasure count now.
    pub fn new(erasures: u64) -> Self {
        Self { erasures }
    }
}

/// What [`StoreSession::erased`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Erasures {
    /// The store's erasure count, read with the tombstones (as in [`Fence`]).
    pub count: u64,
    /// For each subject asked about, in order, whether a tombstone holds it.
    pub erased: Vec<bool>,
}

impl Erasures {
    /// The count, and a flag per subject.
    pub fn new(count: u64, erased: Vec<bool>) -> Self {
        Self { count, erased }
    }
}

/// What [`DurableStore::erase`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StoreErasure {
    /// Live rows about the person, deleted unsent.
    pub removed: u64,
    /// Dead letters about the person, deleted.
    pub dead_letters: u64,
    /// Whether the store queued Bento's deletion request itself, as a row
    /// of kind [`ItemKind::Deletion`] the relay sends (durably: it survives
    /// a crash, is paced under its daily quota and retried under the one
    /// retry rule); one already waiting for the person is not queued twice.
    pub deletion_queued: bool,
}

impl StoreErasure {
    /// What was removed; no deletion request queued.
    pub fn new(removed: u64, dead_letters: u64) -> Self {
        Self {
            removed,
            dead_letters,
            deletion_queued: false,
        }
    }

    /// The store queued Bento's deletion request (or one already waited).
    pub fn with_deletion_queued(mut self) -> Self {
        self.deletion_queued = true;
        self
    }
}

/// A durable store the delivery thread drains.
pub trait DurableStore: Send + Sync + 'static {
    /// How to drain it.
    fn settings(&self) -> StoreSettings;

    /// The counters the engine keeps for this store, shared with its handle.
    fn status(&self) -> Arc<RelayStatus>;

    /// Resolves once this process is the one draining the store (trying
    /// again every takeover interval while another leads), or when the store
    /// fails. The session leads until it is closed or fails. The engine
    /// drops the future when the client shuts down, so it must hold nothing
    /// that outlives it.
    fn lead(&self) -> BoxFuture<'_, Result<Box<dyn StoreSession>, StoreError>>;

    /// A rate budget shared by everyone who drains this store, for the
    /// relay's requests and the engine's (so that the in-memory queue and the
    /// relays share one limit); `None` to pace this process alone.
    fn rate_budget(&self) -> Option<Arc<dyn RateBudget>> {
        None
    }

    /// Whether the client's direct calls also take their slots from
    /// [`rate_budget`](Self::rate_budget).
    fn paces_direct_calls(&self) -> bool {
        false
    }

    /// Erases a person from the store, for every process sharing it, and
    /// should queue Bento's deletion request durably behind what it
    /// removed ([`StoreErasure::deletion_queued`]; otherwise the client
    /// sends it directly): sets a tombstone for `email` (a keyed hash, see
    /// [`erasure::digest`](crate::integration::erasure::digest)) for `ttl`,
    /// deletes every row and dead letter about them, makes the erasure
    /// count of [`Fence`] grow, and resolves only once no request that may
    /// carry a row about them is in flight (the range recorded by the last
    /// fence before the erasure was settled, or another fence followed it).
    ///
    /// A store that cannot erase keeps copies of personal data the
    /// application was asked to forget: the default fails, and
    /// [`Client::erase`](crate::Client::erase) reports it.
    fn erase<'a>(
        &'a self,
        email: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<StoreErasure, StoreError>> {
        let _ = (email, ttl);
        Box::pin(async { Err("this durable store cannot erase a person".into()) })
    }

    /// Lifts the tombstone of `email`; whether there was one.
    fn lift_erasure<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let _ = email;
        Box::pin(async { Ok(false) })
    }
}

/// A leader's session on the store.
pub trait StoreSession: Send {
    /// Items the previous leader was sending when it stopped, still live:
    /// they are sent again and may reach Bento twice. Asked once, at takeover.
    fn interrupted(&mut self) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// The oldest live items within `claim`'s limits, in id order.
    fn claim(&mut self, claim: Claim) -> BoxFuture<'_, Result<Vec<StoredRow>, StoreError>>;

    /// The items `first..=last` of one kind are about to be sent.
    ///
    /// This is the fence: it must fail, and the engine then sends nothing,
    /// unless this session still leads at the moment it runs (checked in the
    /// same statement that records the range), so that a leader that was
    /// frozen past its lease never sends behind its successor's back. It
    /// returns the store's erasure count, read after any erasure that
    /// committed before the range was recorded: an erasure either sees the
    /// range (and waits for the request) or is seen by the engine (which
    /// leaves its person's rows out).
    fn sending(&mut self, first: i64, last: i64) -> BoxFuture<'_, Result<Fence, StoreError>>;

    /// Which of `subjects` (the emails of claimed rows, in order; `None`
    /// for a row that names none) a tombstone holds now, with the erasure
    /// count read at the same moment. The engine asks after each claim
    /// (unless the store has never erased anyone) and whenever the fence's
    /// count changed. The default, for stores that cannot erase: none.
    fn erased<'a>(
        &'a mut self,
        subjects: &'a [Option<&'a str>],
    ) -> BoxFuture<'a, Result<Erasures, StoreError>> {
        Box::pin(async move { Ok(Erasures::new(0, vec![false; subjects.len()])) })
    }

    /// Settles `ids` (and clears the range [`sending`](Self::sending) recorded).
    fn settle<'a>(
        &'a mut self,
        ids: &'a [i64],
        outcome: Settle<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Waits until new items may have been written, for at most `poll`.
    fn wait(&mut self, poll: Duration) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Ends the session, so that another process may lead at once.
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// The relay's counters, kept by the engine and read by the store's handle.
#[derive(Debug, Default)]
pub struct RelayStatus {
    leader: AtomicBool,
    takeovers: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    possible_duplicates: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
    erased: AtomicU64,
}

/// What the relay of this process did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayStats {
    /// Whether this process leads now.
    pub leader: bool,
    /// How many times it became the leader.
    pub takeovers: u64,
    /// Items Bento accepted.
    pub sent: u64,
    /// Items sent again after a failed attempt.
    pub retried: u64,
    /// Items that may have reached Bento twice (an ambiguous failure, or
    /// sent again after the previous leader stopped mid-batch).
    pub possible_duplicates: u64,
    /// Items made dead letters.
    pub failed: u64,
    /// Items the store refused to write as the program's mistake (off the
    /// tracking plan, too large...), each logged at error level.
    pub refused: u64,
    /// Items about an erased person: refused when written, or removed
    /// unsent by the relay (written by a transaction that raced the
    /// erasure, or claimed before it).
    pub erased: u64,
}

impl RelayStatus {
    /// The counters now.
    pub fn stats(&self) -> RelayStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RelayStats {
            leader: self.leader.load(Ordering::Relaxed),
            takeovers: read(&self.takeovers),
            sent: read(&self.sent),
            retried: read(&self.retried),
            possible_duplicates: read(&self.possible_duplicates),
            failed: read(&self.failed),
            refused: read(&self.refused),
            erased: read(&self.erased),
        }
    }

    /// Counts items the store refused to write as the program's mistake.
    pub fn refused(&self, n: u64) {
        self.refused.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts items about an erased person, refused or removed unsent.
    pub fn erased(&self, n: u64) {
        self.erased.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn lead(&self, leading: bool) {
        self.leader.store(leading, Ordering::Relaxed);
        if leading {
            self.takeovers.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn retried(&self, n: usize) {
        self.retried.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn possible_duplicates(&self, n: u64) {
        self.possible_duplicates.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self, n: usize) {
        self.failed.fetch_add(n as u64, Ordering::Relaxed);
    }
}
