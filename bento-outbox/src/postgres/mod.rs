//! The outbox in a PostgreSQL database (feature `postgres`, on by default).
//!
//! Events and subscriber records are written in the application's own
//! database transaction, so a commit means "will be delivered" and a rollback
//! means "never sent"; a crash loses nothing, since the rows wait in the
//! table. A relay inside every [`Client`](bento_core::Client) built with
//! [`ClientBuilder::outbox`](bento_core::ClientBuilder::outbox) drains the table
//! into Bento; exactly one instance among all that share the database relays
//! at a time, so the fleet as a whole stays under Bento's rate limits.
//!
//! ```no_run
//! use std::time::Duration;
//! use bento_core::{Client, Event};
//! use bento_outbox::postgres::Outbox;
//!
//! # async fn run(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
//! let outbox = Outbox::new(pool.clone());
//! outbox.migrate().await?; // idempotent; safe when several processes run it at once
//! let client = Client::builder().outbox(outbox.clone()).build()?; // keys from the BENTO_* variables
//!
//! let mut tx = pool.begin().await?;
//! // ... the app's own writes: INSERT INTO users ...
//! outbox.track(&mut *tx, &Event::new("account.signup", "ada@example.com")).await?;
//! tx.commit().await?; // the event is stored with the user, or neither is
//!
//! // At exit: the relay finishes the batch it is sending; rows not yet sent
//! // stay in the table for the next leader.
//! client.shutdown(Duration::from_secs(5)).await?;
//! # Ok(()) }
//! ```
//!
//! # How it behaves
//!
//! - **Writing.** Items are checked and encoded exactly as
//!   [`Client::track`](bento_core::Client::track) does (an invalid item is a typed
//!   error and nothing is written) and stored as those bytes in a `json`
//!   column, so the relay never re-encodes and the table reads with plain SQL.
//!   Every insert notifies the channel `bento_outbox` at commit.
//! - **Relaying.** The leader takes the oldest rows, up to 1000, once a
//!   batch is full or its oldest row has waited the client's flush interval,
//!   and sends them with the engine's pacing, retries, bisection of refused
//!   batches and failure hook. One batch is in flight at a time, which is
//!   ample under Bento's 100 requests a minute. It wakes on `LISTEN/NOTIFY`
//!   and also looks every [`poll_interval`](Outbox::poll_interval), so an
//!   idle relay costs one indexed query per interval.
//! - **At-least-once.** Rows are deleted only after Bento accepted them. A
//!   crash between Bento's answer and the delete re-sends that batch: at
//!   most one batch (1000 items) per crash. The leader records the id range
//!   it is sending, so the next leader counts those rows in
//!   [`RelayStats::possible_duplicates`](crate::RelayStats::possible_duplicates) and logs them. For purchases, set
//!   `details.unique.key` and Bento de-duplicates them itself.
//! - **Leadership.** The relaying instance holds a session advisory lock on
//!   a connection of its own; the others try to take it every
//!   [`takeover_interval`](Outbox::takeover_interval). A leader that exits
//!   or is killed closes its connection, PostgreSQL releases the lock at
//!   once, and another instance relays within the takeover interval (1 s by
//!   default). A leader whose host vanishes is noticed through TCP
//!   keepalives the leader's session sets (5 s idle, then 3 probes 2 s
//!   apart): failover within about 12 s plus the takeover interval.
//! - **Outages.** While Bento cannot be reached, answers 429 or 5xx, or
//!   times out, rows wait with capped backoff for as long as it lasts: the
//!   table grows, nothing is dead-lettered.
//! - **Dead letters.** Items Bento refuses for good (a 4xx on the item
//!   alone) or older than [`max_age`](Outbox::max_age) stay in the table with `dead = true`,
//!   their `reason`, `attempts` and `failed_at`, and also go to the failure
//!   hook, which sees their ids through
//!   [`DeliveryFailure::stored_ids`](bento_core::DeliveryFailure::stored_ids).
//!   [`dead_letters`](Outbox::dead_letters),
//!   [`retry_dead_letters`](Outbox::retry_dead_letters) and
//!   [`purge_dead_letters`](Outbox::purge_dead_letters) manage them, as
//!   does plain SQL.
//! - **Fleet-wide pacing of direct calls** ([`fleet_pacing`](Outbox::fleet_pacing)):
//!   direct calls from every instance share one budget per endpoint family,
//!   kept in the database (`bento_outbox_slot`), so ten pods never exceed 100
//!   requests a minute together. A slot is held until the request's answer
//!   arrived, so a request that leaves late cannot break the limit. It costs
//!   a database round trip per call (see `docs/BENCHMARKS.md`); while the
//!   database does not answer within [`timeout`](Outbox::timeout), each
//!   process paces itself alone. The batch requests of
//!   a client built with an outbox (the relay's and the in-memory queue's)
//!   always take their slots there, whether or not this is on.
//!
//! # Versions
//!
//! sqlx 0.8 is used (the pool and transaction types axum and actix-web apps
//! already hold); it builds on the workspace's Rust 1.89 (sqlx 0.9 needs 1.94).

mod fleet;
mod relay;
mod schema;

use std::sync::Arc;
use std::time::Duration;

use bento_core::events::ForSubscriber;
use bento_core::store::{DurableStore, RelayStatus, StoreSettings};
use bento_core::{BentoEvent, BentoSubscriber, Encoded, SubscriberEvent};
use sqlx::{PgConnection, PgPool, Postgres};

use crate::{DeadLetter, OutboxError, RelayStats, kind_code, kind_of};
use fleet::FleetPacer;

/// The outbox table in one PostgreSQL database, and the settings of its relay.
///
/// Cheap to clone; clones share the pool and the relay's counters.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(crate) pool: PgPool,
    pub(crate) takeover_interval: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) fleet_pacing: bool,
    pub(crate) timeout: Duration,
    pub(crate) max_age: Option<Duration>,
    pub(crate) status: Arc<RelayStatus>,
    pub(crate) plan: Option<Arc<bento_core::plan::Plan>>,
    /// The fleet-wide budget in this database, built once per outbox.
    pub(crate) fleet: Arc<std::sync::OnceLock<Arc<FleetPacer>>>,
}

impl Outbox {
    /// The outbox in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            takeover_interval: Duration::from_secs(1),
            poll_interval: Duration::from_secs(5),
            fleet_pacing: false,
            timeout: Duration::from_secs(10),
            max_age: Some(Duration::from_secs(3 * 86_400)),
            status: Arc::default(),
            plan: None,
            fleet: Arc::default(),
        }
    }

    /// The longest any outbox call waits for the database (default 10 s):
    /// [`track`](Self::track) and the other writes, [`migrate`](Self::migrate)
    /// (including the wait for another process's migration), the
    /// dead-letter calls, and each fleet-pacing round trip (past it, the
    /// client paces this process alone until the database answers again).
    /// A call past it fails with [`OutboxError::Timeout`]. The
    /// transaction you pass in is yours: give your pool an
    /// `acquire_timeout` too, so `pool.begin()` cannot wait longer.
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

    /// Runs one database call within [`timeout`](Self::timeout).
    async fn within<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = Result<T, OutboxError>>,
    ) -> Result<T, OutboxError> {
        crate::within(self.timeout, operation, call).await
    }

    /// Holds every event and record written to the outbox to a tracking
    /// plan, as [`ClientBuilder::plan`](bento_core::ClientBuilder::plan)
    /// does for the client: one off the plan is an
    /// [`OutboxError::Invalid`] (`ValidationError::OffPlan`) and nothing is
    /// written. Pass `bento_core::include_plan!()` for the plan the derives
    /// were checked against.
    pub fn plan(mut self, plan: bento_core::plan::Plan) -> Self {
        self.plan = Some(Arc::new(plan));
        self
    }

    /// How often an instance that is not relaying tries to take over
    /// (default 1 s): the bound on failover after the leader's session ends,
    /// for one cheap query per interval per standby.
    pub fn takeover_interval(mut self, interval: Duration) -> Self {
        self.takeover_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How often the relaying instance looks at the table when no
    /// notification came (default 5 s): the fallback when `LISTEN` is
    /// unavailable, as behind a transaction-mode connection pooler.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Makes direct calls (`find_subscriber`, commands, emails...) of every
    /// client built with this outbox share one budget per endpoint family
    /// with all other instances through the database (default off). Costs
    /// one round trip and one row update per call; when the database cannot
    /// be reached, calls fall back to this process's own pacing.
    pub fn fleet_pacing(mut self, on: bool) -> Self {
        self.fleet_pacing = on;
        self
    }

    /// The pool it uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// What this process's relay has done.
    pub fn relay_stats(&self) -> RelayStats {
        self.status.stats()
    }

    /// Creates or upgrades the outbox's tables. Idempotent and versioned
    /// (`bento_outbox_migrations`); concurrent calls from several processes
    /// wait on an advisory lock and find the work done.
    pub async fn migrate(&self) -> Result<(), OutboxError> {
        self.within("migrate", self.migrate_now()).await
    }

    async fn migrate_now(&self) -> Result<(), OutboxError> {
        let mut conn = self.pool.acquire().await?;
        let conn: &mut PgConnection = &mut conn;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        match schema::migrate_on(conn).await {
            Ok(()) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                Ok(())
            }
            Err(error) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(error.into())
            }
        }
    }

    /// The schema version `migrate` brings the database to.
    pub fn schema_version() -> i32 {
        schema::VERSION
    }

    /// Writes `event` to the outbox inside the caller's transaction (pass
    /// `&mut *tx`): checked and encoded as [`Client::track`](bento_core::Client::track)
    /// does, so an invalid event is an error and nothing is written.
    pub async fn track<E: BentoEvent + ?Sized>(
        &self,
        conn: &mut PgConnection,
        event: &E,
    ) -> Result<(), OutboxError> {
        let item = crate::checked(Encoded::event(event), self.plan.as_deref())?;
        self.within("track", insert(conn, &[item])).await
    }

    /// Writes `event` about the subscriber `email` inside the caller's
    /// transaction: for events without an email of their own (an event with
    /// one keeps it), as [`Client::track_for`](bento_core::Client::track_for).
    pub async fn track_for<E: SubscriberEvent + ?Sized>(
        &self,
        conn: &mut PgConnection,
        email: &str,
        event: &E,
    ) -> Result<(), OutboxError> {
        self.track(conn, &ForSubscriber::new(email, event)).await
    }

    /// Writes several events in one statement inside the caller's
    /// transaction, all or none: every event is checked first.
    pub async fn track_all<E: BentoEvent>(
        &self,
        conn: &mut PgConnection,
        events: &[E],
    ) -> Result<(), OutboxError> {
        let items = crate::encode_events(events, self.plan.as_deref())?;
        self.within("track_all", insert(conn, &items)).await
    }

    /// Writes subscriber records to the outbox inside the caller's
    /// transaction, all or none: every record is checked first.
    pub async fn import<S: BentoSubscriber>(
        &self,
        conn: &mut PgConnection,
        records: &[S],
    ) -> Result<(), OutboxError> {
        let items = crate::encode_records(records, self.plan.as_deref())?;
        self.within("import", insert(conn, &items)).await
    }

    /// Items waiting for delivery (not dead letters).
    pub async fn pending(&self) -> Result<u64, OutboxError> {
        let count =
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM bento_outbox WHERE NOT dead")
                .fetch_one(&self.pool);
        let count = self.within("pending", async { Ok(count.await?) }).await?;
        Ok(count.max(0) as u64)
    }

    /// The oldest `limit` dead letters.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, OutboxError> {
        let rows = sqlx::query_as::<_, (i64, i16, String, i32, Option<String>)>(
            "SELECT id, kind, body::text, attempts, reason FROM bento_outbox
             WHERE dead ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool);
        let rows = self
            .within("dead_letters", async { Ok(rows.await?) })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, kind, json, attempts, reason)| {
                Some(DeadLetter {
                    id,
                    kind: kind_of(kind)?,
                    json,
                    attempts,
                    reason: reason.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Puts the dead letters with these ids back in line for delivery (with
    /// their attempts reset); returns how many there were.
    pub async fn retry_dead_letters(&self, ids: &[i64]) -> Result<u64, OutboxError> {
        self.revive(Some(ids)).await
    }

    /// Puts every dead letter back in line for delivery.
    pub async fn retry_all_dead_letters(&self) -> Result<u64, OutboxError> {
        self.revive(None).await
    }

    /// Deletes the dead letters with these ids; returns how many there were.
    pub async fn purge_dead_letters(&self, ids: &[i64]) -> Result<u64, OutboxError> {
        let done = sqlx::query("DELETE FROM bento_outbox WHERE dead AND id = ANY($1)")
            .bind(ids)
            .execute(&self.pool);
        let done = self
            .within("purge_dead_letters", async { Ok(done.await?) })
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes every dead letter.
    pub async fn purge_all_dead_letters(&self) -> Result<u64, OutboxError> {
        let done = sqlx::query("DELETE FROM bento_outbox WHERE dead").execute(&self.pool);
        let done = self
            .within("purge_all_dead_letters", async { Ok(done.await?) })
            .await?;
        Ok(done.rows_affected())
    }

    async fn revive(&self, ids: Option<&[i64]>) -> Result<u64, OutboxError> {
        // The relay wakes on the notification, sent at commit.
        let done = sqlx::query(
            "WITH revived AS (
                UPDATE bento_outbox
                SET dead = false, attempts = 0, reason = NULL, failed_at = NULL
                WHERE dead AND ($1::bigint[] IS NULL OR id = ANY($1))
                RETURNING id
            )
            SELECT count(*), pg_notify('bento_outbox', '') FROM revived",
        )
        .bind(ids)
        .fetch_one(&self.pool);
        let done = self
            .within("retry_dead_letters", async { Ok(done.await?) })
            .await?;
        let count: i64 = sqlx::Row::try_get(&done, 0)?;
        Ok(count.max(0) as u64)
    }
}

/// One statement for any number of items.
async fn insert(conn: &mut PgConnection, items: &[Encoded]) -> Result<(), OutboxError> {
    if items.is_empty() {
        return Ok(());
    }
    if let [item] = items {
        // The common case, without arrays to build or unnest.
        sqlx::query::<Postgres>("INSERT INTO bento_outbox (kind, body) VALUES ($1, $2::json)")
            .bind(kind_code(item.kind()))
            .bind(json_text(item))
            .execute(conn)
            .await?;
        return Ok(());
    }
    let kinds: Vec<i16> = items.iter().map(|item| kind_code(item.kind())).collect();
    let bodies: Vec<&str> = items.iter().map(json_text).collect();
    sqlx::query::<Postgres>(
        "INSERT INTO bento_outbox (kind, body)
         SELECT kind, body::json FROM UNNEST($1::smallint[], $2::text[]) AS t(kind, body)",
    )
    .bind(&kinds)
    .bind(&bodies)
    .execute(conn)
    .await?;
    Ok(())
}

/// The client's encoding is UTF-8 JSON (serde_json writes nothing else).
fn json_text(item: &Encoded) -> &str {
    std::str::from_utf8(item.json()).unwrap_or("null")
}

impl Outbox {
    fn fleet_pacer(&self) -> Arc<FleetPacer> {
        Arc::clone(
            self.fleet
                .get_or_init(|| Arc::new(FleetPacer::new(&self.pool, self.timeout))),
        )
    }
}

/// The relay of a client built with `ClientBuilder::outbox(outbox)` drains
/// this table; its batch requests take their slots from the fleet's budget in
/// the database (and, with [`fleet_pacing`](Outbox::fleet_pacing), so do
/// direct calls).
impl DurableStore for Outbox {
    fn settings(&self) -> StoreSettings {
        StoreSettings::new(self.takeover_interval, self.poll_interval, self.max_age)
    }

    fn status(&self) -> Arc<RelayStatus> {
        Arc::clone(&self.status)
    }

    fn lead(
        &self,
    ) -> bento_core::store::BoxFuture<
        '_,
        Result<Box<dyn bento_core::store::StoreSession>, bento_core::store::StoreError>,
    > {
        Box::pin(relay::elect(&self.pool, self.takeover_interval))
    }

    fn rate_budget(&self) -> Option<Arc<dyn bento_core::budget::RateBudget>> {
        Some(self.fleet_pacer())
    }

    fn paces_direct_calls(&self) -> bool {
        self.fleet_pacing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>(_: T) {}

    /// Apps spawn these futures: they must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(outbox: &Outbox, conn: &mut PgConnection) {
        send(outbox.migrate());
        send(outbox.pending());
        send(outbox.dead_letters(10));
        send(outbox.track_all(conn, &[bento_core::Event::new("x", "a@example.com")]));
        send(outbox.retry_dead_letters(&[1]));
        send(outbox.track(conn, &bento_core::Event::new("x", "a@example.com")));
    }
}
