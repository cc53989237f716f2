//! [`Outbox`]: the table in the application's database, what the
//! application writes into it, and the settings of its relay; the same
//! operations on every [`Backend`].

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bento_core::delivery::DEFAULT_MAX_BATCH_BYTES;
use bento_core::events::ForSubscriber;
use bento_core::integration::budget::RateBudget;
use bento_core::integration::store::{
    BoxFuture, DurableStore, RelayStatus, StoreError, StoreSession, StoreSettings,
};
use bento_core::plan::Plan;
use bento_core::{BentoEvent, BentoSubscriber, Encoded, SubscriberEvent};
use sqlx::Pool;

use crate::backend::Backend;
use crate::erasure::Keyring;
use crate::error::within;
use crate::{DeadLetter, OutboxError, RelayStats, StoreErasure, encode};

/// The outbox table in one database, and the settings of its relay.
///
/// `DB` is [`sqlx::Postgres`] or [`sqlx::Sqlite`], as for sqlx's own
/// `Pool<DB>`; [`postgres::Outbox`](crate::postgres::Outbox) and
/// [`sqlite::Outbox`](crate::sqlite::Outbox) name them. Cheap to clone;
/// clones share the pool and the relay's counters.
pub struct Outbox<DB: Backend> {
    pub(crate) pool: Pool<DB>,
    pub(crate) takeover_interval: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_age: Option<Duration>,
    pub(crate) max_item_bytes: usize,
    pub(crate) status: Arc<RelayStatus>,
    pub(crate) plan: Option<Arc<Plan>>,
    pub(crate) fleet_pacing: bool,
    /// The budget shared through the database, built once per outbox.
    pub(crate) pacer: Arc<OnceLock<Arc<dyn RateBudget>>>,
    /// The database's erasure key, read once.
    pub(crate) keyring: Keyring,
    pub(crate) erasure_ttl: Duration,
    pub(crate) extra: DB::Extra,
}

impl<DB: Backend> Clone for Outbox<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            takeover_interval: self.takeover_interval,
            poll_interval: self.poll_interval,
            timeout: self.timeout,
            max_age: self.max_age,
            max_item_bytes: self.max_item_bytes,
            status: Arc::clone(&self.status),
            plan: self.plan.clone(),
            fleet_pacing: self.fleet_pacing,
            pacer: Arc::clone(&self.pacer),
            keyring: self.keyring.clone(),
            erasure_ttl: self.erasure_ttl,
            extra: self.extra.clone(),
        }
    }
}

impl<DB: Backend> fmt::Debug for Outbox<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's Debug shows its options, never a password.
        f.debug_struct("Outbox")
            .field("pool", &self.pool)
            .field("takeover_interval", &self.takeover_interval)
            .field("poll_interval", &self.poll_interval)
            .field("timeout", &self.timeout)
            .field("max_age", &self.max_age)
            .field("max_item_bytes", &self.max_item_bytes)
            .field("plan", &self.plan.is_some())
            .field("fleet_pacing", &self.fleet_pacing)
            .field("erasure_ttl", &self.erasure_ttl)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

impl<DB: Backend> Outbox<DB> {
    /// The outbox in `pool`'s database. Create its tables with
    /// [`migrate`](Self::migrate), or with the SQL of your own migrations.
    pub fn new(pool: Pool<DB>) -> Self {
        Self {
            pool,
            takeover_interval: Duration::from_secs(1),
            poll_interval: DB::POLL_INTERVAL,
            timeout: Duration::from_secs(10),
            max_age: Some(Duration::from_secs(3 * 86_400)),
            max_item_bytes: DEFAULT_MAX_BATCH_BYTES,
            status: Arc::default(),
            plan: None,
            fleet_pacing: false,
            pacer: Arc::default(),
            keyring: Keyring::default(),
            erasure_ttl: bento_core::integration::erasure::DEFAULT_TTL,
            extra: DB::extra(),
        }
    }

    /// How long [`erase`](Self::erase) refuses the erased person's data
    /// (default 30 days, as `ClientBuilder::erasure_ttl`): longer than any
    /// retry, maximum age or replay. `Client::erase` uses the client's.
    pub fn erasure_ttl(mut self, ttl: Duration) -> Self {
        self.erasure_ttl = ttl;
        self
    }

    /// The longest any outbox call waits for the database (default 10 s):
    /// [`track`](Self::track) and the other writes, [`migrate`](Self::migrate),
    /// the dead-letter calls. A call past it fails with
    /// [`OutboxError::Timeout`]. The transaction you pass in is yours: give
    /// your pool an `acquire_timeout` too, so `pool.begin()` cannot wait
    /// longer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a row may wait for Bento before it becomes a dead letter
    /// (default 3 days; `None`: for ever). While Bento cannot be reached,
    /// answers 429 or 5xx, or times out, rows wait with capped backoff and
    /// the table grows: only Bento's own refusal of an item, or this age,
    /// makes a dead letter.
    pub fn max_age(mut self, age: impl Into<Option<Duration>>) -> Self {
        self.max_age = age.into();
        self
    }

    /// The largest item, once encoded, the outbox accepts (default 4 MiB,
    /// the client's request budget): a larger one could never be sent, so
    /// it is refused as [`OutboxError::TooLarge`] before it is written.
    /// Keep it at or below the relaying client's
    /// [`max_batch_bytes`](bento_core::ClientBuilder::max_batch_bytes).
    pub fn max_item_bytes(mut self, bytes: usize) -> Self {
        self.max_item_bytes = bytes.max(1024);
        self
    }

    /// Holds every event and record written to the outbox to a tracking
    /// plan, as [`ClientBuilder::plan`](bento_core::ClientBuilder::plan)
    /// does for the client: one off the plan is an
    /// [`OutboxError::Bug`] (`ValidationError::OffPlan`) and nothing is
    /// written. Pass `bento_core::include_plan!()` for the plan the derives
    /// were checked against.
    pub fn plan(mut self, plan: Plan) -> Self {
        self.plan = Some(Arc::new(plan));
        self
    }

    /// How often a process that is not relaying tries to take over
    /// (default 1 s): the bound on failover after the leader's session ends.
    pub fn takeover_interval(mut self, interval: Duration) -> Self {
        self.takeover_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How often the relaying process looks at the table when nothing told
    /// it of new rows (default 5 s on PostgreSQL, which is woken by
    /// `LISTEN/NOTIFY`; 1 s on SQLite, which has no notifications).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Makes direct calls (`find_subscriber`, commands, emails...) of every
    /// client built with this outbox share one budget per endpoint family
    /// with all other processes through the database (default off), as the
    /// batch requests of the relay and the in-memory queue always do. Costs
    /// one database write per call; when the database does not answer
    /// within a second, calls fall back to this process's own pacing.
    pub fn fleet_pacing(mut self, on: bool) -> Self {
        self.fleet_pacing = on;
        self
    }

    /// The pool it uses.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// What this process's relay has done.
    pub fn relay_stats(&self) -> RelayStats {
        self.status.stats()
    }

    /// Creates or upgrades the outbox's tables. Idempotent; safe when
    /// several processes run it at once.
    pub async fn migrate(&self) -> Result<(), OutboxError> {
        within(self.timeout, "migrate", DB::migrate(self)).await
    }

    /// Writes `event` to the outbox inside the caller's transaction (pass
    /// `&mut *tx`): checked and encoded as [`Client::track`](bento_core::Client::track)
    /// does, so an invalid event is an error and nothing is written.
    pub async fn track<E: BentoEvent + ?Sized>(
        &self,
        conn: &mut DB::Connection,
        event: &E,
    ) -> Result<(), OutboxError> {
        let item = self.checked(Encoded::event(event))?;
        let written = within(
            self.timeout,
            "track",
            DB::insert(conn, std::slice::from_ref(&item), &self.keyring),
        )
        .await;
        self.account_erased(written)
    }

    /// Writes `event` about the subscriber `email` inside the caller's
    /// transaction: for events without an email of their own (an event with
    /// one keeps it), as [`Client::track_for`](bento_core::Client::track_for).
    pub async fn track_for<E: SubscriberEvent + ?Sized>(
        &self,
        conn: &mut DB::Connection,
        email: &str,
        event: &E,
    ) -> Result<(), OutboxError> {
        self.track(conn, &ForSubscriber::new(email, event)).await
    }

    /// Writes several events inside the caller's transaction, all or none:
    /// every event is checked first.
    pub async fn track_all<E: BentoEvent>(
        &self,
        conn: &mut DB::Connection,
        events: &[E],
    ) -> Result<(), OutboxError> {
        let items = self.account(encode::events(
            events,
            self.plan.as_deref(),
            self.max_item_bytes,
        ))?;
        let written = within(
            self.timeout,
            "track_all",
            DB::insert(conn, &items, &self.keyring),
        )
        .await;
        self.account_erased(written)
    }

    /// Writes subscriber records inside the caller's transaction, all or
    /// none: every record is checked first.
    pub async fn import<S: BentoSubscriber>(
        &self,
        conn: &mut DB::Connection,
        records: &[S],
    ) -> Result<(), OutboxError> {
        let items = self.account(encode::records(
            records,
            self.plan.as_deref(),
            self.max_item_bytes,
        ))?;
        let written = within(
            self.timeout,
            "import",
            DB::insert(conn, &items, &self.keyring),
        )
        .await;
        self.account_erased(written)
    }

    /// Erases a person from the outbox, for every process sharing the
    /// database: sets a tombstone (a keyed hash of the address, under a
    /// random key the database keeps) that refuses their items for
    /// [`erasure_ttl`](Self::erasure_ttl) ([`OutboxError::Erased`]), deletes
    /// every row and dead letter about them, and returns once the relay's
    /// request in flight, which may carry some of theirs, has landed (a
    /// retry of it leaves them out). Rows written by a transaction that
    /// raced the erasure are removed by the relay unsent.
    ///
    /// One request escapes every wait: one a relay process had in flight
    /// when it was killed (nobody is left to wait for it, and a new leader
    /// may fence at once). It left before the erasure, carries at most one
    /// claim, and lands while Bento, which anonymizes asynchronously, has
    /// yet to act on the deletion request queued behind it.
    ///
    /// `Client::erase` on a client built with this outbox does this, and
    /// then asks Bento to delete the person; call this alone when no client
    /// relays here. Finding the rows reads the whole table (erasures are
    /// rare, and the table small when the relay keeps up).
    pub async fn erase(&self, email: &str) -> Result<StoreErasure, OutboxError> {
        bento_core::integration::erasure::check_email(email)?;
        let erased = self.erase_for(email, self.erasure_ttl).await?;
        tracing::info!(
            removed = erased.removed,
            dead_letters = erased.dead_letters,
            "a person was erased from the Bento outbox"
        );
        Ok(erased)
    }

    /// The erasure, within the longest it may wait for the relay's request
    /// in flight plus the database timeout (a frozen database fails it).
    async fn erase_for(&self, email: &str, ttl: Duration) -> Result<StoreErasure, OutboxError> {
        let bound = crate::erasure::FLIGHT_BOUND + self.timeout;
        within(bound, "erase", DB::erase(self, email, ttl)).await
    }

    /// Lifts the tombstone of `email` (when the person signs up again with
    /// consent); whether there was one. Their earlier rows stay erased.
    pub async fn lift_erasure(&self, email: &str) -> Result<bool, OutboxError> {
        within(self.timeout, "lift_erasure", DB::lift(self, email)).await
    }

    /// Rows waiting for delivery. Every row is either pending or a dead
    /// letter.
    pub async fn pending(&self) -> Result<u64, OutboxError> {
        within(self.timeout, "pending", DB::pending(self)).await
    }

    /// Waits until no row is pending (each was delivered, or became a dead
    /// letter), for at most `timeout`: "nothing more will arrive" in a test,
    /// or a drain before a deploy. It checks every 20 ms (or every poll
    /// interval, when shorter) and fails with [`OutboxError::NotDrained`],
    /// naming how many rows are left, at the deadline. Rows committed while
    /// it waits are waited for too. It waits on whichever instance relays:
    /// with none running, it waits until the deadline.
    pub async fn wait_drained(&self, timeout: Duration) -> Result<(), OutboxError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let every = self.poll_interval.min(Duration::from_millis(20));
        loop {
            let pending = self.pending().await?;
            if pending == 0 {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(OutboxError::NotDrained { pending, timeout });
            }
            tokio::time::sleep(every.min(deadline - now)).await;
        }
    }

    /// The oldest `limit` dead letters, whatever their kind.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, OutboxError> {
        within(self.timeout, "dead_letters", DB::dead_letters(self, limit)).await
    }

    /// Puts the dead letters with these ids back in line for delivery (with
    /// their attempts reset); returns how many there were.
    pub async fn retry_dead_letters(&self, ids: &[i64]) -> Result<u64, OutboxError> {
        within(
            self.timeout,
            "retry_dead_letters",
            DB::revive(self, Some(ids)),
        )
        .await
    }

    /// Puts every dead letter back in line for delivery.
    pub async fn retry_all_dead_letters(&self) -> Result<u64, OutboxError> {
        within(
            self.timeout,
            "retry_all_dead_letters",
            DB::revive(self, None),
        )
        .await
    }

    /// Deletes the dead letters with these ids; returns how many there were.
    pub async fn purge_dead_letters(&self, ids: &[i64]) -> Result<u64, OutboxError> {
        within(
            self.timeout,
            "purge_dead_letters",
            DB::purge(self, Some(ids)),
        )
        .await
    }

    /// Deletes every dead letter.
    pub async fn purge_all_dead_letters(&self) -> Result<u64, OutboxError> {
        within(
            self.timeout,
            "purge_all_dead_letters",
            DB::purge(self, None),
        )
        .await
    }

    fn checked(
        &self,
        item: Result<Encoded, bento_core::ValidationError>,
    ) -> Result<Encoded, OutboxError> {
        self.account(encode::checked(
            item,
            self.plan.as_deref(),
            self.max_item_bytes,
        ))
    }

    /// Logs and counts a refusal of items about an erased person.
    fn account_erased(&self, result: Result<(), OutboxError>) -> Result<(), OutboxError> {
        if let Err(OutboxError::Erased { items }) = &result {
            tracing::info!(
                items,
                "the Bento outbox refused items about an erased person; nothing was written"
            );
            self.status.erased(*items);
        }
        result
    }

    /// Logs and counts a refusal that is the program's mistake, whether or
    /// not the caller looks at the result.
    fn account<T>(&self, result: Result<T, OutboxError>) -> Result<T, OutboxError> {
        if let Err(error) = &result
            && error.is_bug()
        {
            tracing::error!(%error, "the Bento outbox refused an item as the program's mistake; nothing was written");
            self.status.refused(1);
        }
        result
    }
}

/// The relay of a client built with `ClientBuilder::outbox(outbox)` drains
/// this table.
impl<DB: Backend> DurableStore for Outbox<DB> {
    fn settings(&self) -> StoreSettings {
        StoreSettings::new(self.takeover_interval, self.poll_interval, self.max_age)
    }

    fn status(&self) -> Arc<RelayStatus> {
        Arc::clone(&self.status)
    }

    fn lead(&self) -> BoxFuture<'_, Result<Box<dyn StoreSession>, StoreError>> {
        DB::lead(self)
    }

    /// The relay's and the in-memory queue's batch requests always take
    /// their slots from the budget in the database; direct calls with
    /// [`fleet_pacing`](Outbox::fleet_pacing).
    fn rate_budget(&self) -> Option<Arc<dyn RateBudget>> {
        Some(Arc::clone(self.pacer.get_or_init(|| DB::pacer(self))))
    }

    fn paces_direct_calls(&self) -> bool {
        self.fleet_pacing
    }

    fn erase<'a>(
        &'a self,
        email: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<StoreErasure, StoreError>> {
        Box::pin(async move { Ok(self.erase_for(email, ttl).await?) })
    }

    fn lift_erasure<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.lift_erasure(email).await?) })
    }
}
