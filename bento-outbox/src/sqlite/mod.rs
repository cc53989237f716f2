//! The outbox in a SQLite database (feature `sqlite`), for the many apps
//! whose database is a SQLite file: the same contract as
//! [`postgres::Outbox`](crate::postgres::Outbox) where it applies.
//!
//! ```no_run
//! use std::time::Duration;
//! use bento_core::{Client, Event};
//! use bento_outbox::sqlite::Outbox;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sqlx::SqlitePool::connect("sqlite://app.db?mode=rwc").await?;
//! let outbox = Outbox::new(pool.clone());
//! outbox.migrate().await?;
//! let client = Client::builder().outbox(outbox.clone()).build()?;
//!
//! let mut tx = pool.begin().await?;
//! // ... the app's own writes ...
//! outbox.track(&mut *tx, &Event::new("account.signup", "ada@example.com")).await?;
//! tx.commit().await?; // stored with the app's rows, or neither is
//!
//! client.shutdown(Duration::from_secs(5)).await?;
//! # Ok(()) }
//! ```
//!
//! # How it behaves
//!
//! - **Writing** inside the caller's transaction, checked and encoded as
//!   [`Client::track`](bento_core::Client::track) does: a commit stores the
//!   item with the app's rows, a rollback never sends it.
//! - **Leadership by a lease row**, not advisory locks (SQLite has none):
//!   `bento_outbox_lease` names the relaying process and when its lease
//!   ends. The leader renews it every third of [`lease`](Outbox::lease)
//!   (5 s by default) from a task of its own; a process that exits hands it
//!   back at once, and one killed with `kill -9` loses it when it runs out,
//!   so another process on the machine relays within the lease plus the
//!   takeover interval. A leader that finds its lease taken stops leading.
//! - **At-least-once, duplicates counted**: rows are deleted only once Bento
//!   took them; the leader records the id range it is sending in the lease
//!   row, and the next leader counts what is left of it as possible
//!   duplicates.
//! - **Waking**: SQLite has no notifications, so the leader looks at the
//!   table every [`poll_interval`](Outbox::poll_interval) (1 s by default)
//!   when it is empty; a backlog is drained without waiting.
//! - **Dead letters** as on PostgreSQL: kept with `dead = 1`, `reason`,
//!   `attempts`, `failed_at`, handed to the failure hook with their ids.
//! - **Pacing**: each process paces itself; there is no fleet-wide budget
//!   (a SQLite file is one machine's, and only the leader relays).

mod relay;
mod schema;

use std::sync::Arc;
use std::time::Duration;

use bento_core::events::ForSubscriber;
use bento_core::store::{
    BoxFuture, DurableStore, RelayStatus, StoreError, StoreSession, StoreSettings,
};
use bento_core::{BentoEvent, BentoSubscriber, Encoded, SubscriberEvent};
use sqlx::{SqliteConnection, SqlitePool};

use crate::{DeadLetter, OutboxError, RelayStats, kind_code, kind_of};

/// The outbox table in one SQLite database, and the settings of its relay.
///
/// Cheap to clone; clones share the pool and the relay's counters.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: SqlitePool,
    takeover_interval: Duration,
    poll_interval: Duration,
    lease: Duration,
    timeout: Duration,
    max_age: Option<Duration>,
    status: Arc<RelayStatus>,
    plan: Option<Arc<bento_core::plan::Plan>>,
}

impl Outbox {
    /// The outbox in `pool`'s database.
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            takeover_interval: Duration::from_secs(1),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_age: Some(Duration::from_secs(3 * 86_400)),
            status: Arc::default(),
            plan: None,
        }
    }

    /// The longest any outbox call waits for the database (default 10 s); a
    /// call past it fails with [`OutboxError::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a row may wait for Bento before it becomes a dead letter
    /// (default 3 days; `None`: for ever).
    pub fn max_age(mut self, age: impl Into<Option<Duration>>) -> Self {
        self.max_age = age.into();
        self
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

    /// How often a process that is not relaying tries to take the lease
    /// (default 1 s).
    pub fn takeover_interval(mut self, interval: Duration) -> Self {
        self.takeover_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How often the relaying process looks at an empty table (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long the leader's lease lasts unless renewed (default 5 s): the
    /// bound on failover after a leader is killed.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(300));
        self
    }

    /// The pool it uses.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// What this process's relay has done.
    pub fn relay_stats(&self) -> RelayStats {
        self.status.stats()
    }

    /// Creates the outbox's tables (idempotent).
    pub async fn migrate(&self) -> Result<(), OutboxError> {
        let pool = self.pool.clone();
        self.within("migrate", async move { Ok(schema::migrate(&pool).await?) })
            .await
    }

    /// Writes `event` inside the caller's transaction (pass `&mut *tx`).
    pub async fn track<E: BentoEvent + ?Sized>(
        &self,
        conn: &mut SqliteConnection,
        event: &E,
    ) -> Result<(), OutboxError> {
        let item = crate::checked(Encoded::event(event), self.plan.as_deref())?;
        self.within("track", insert(conn, std::slice::from_ref(&item)))
            .await
    }

    /// Writes `event` about the subscriber `email` inside the caller's transaction.
    pub async fn track_for<E: SubscriberEvent + ?Sized>(
        &self,
        conn: &mut SqliteConnection,
        email: &str,
        event: &E,
    ) -> Result<(), OutboxError> {
        self.track(conn, &ForSubscriber::new(email, event)).await
    }

    /// Writes several events inside the caller's transaction, all or none.
    pub async fn track_all<E: BentoEvent>(
        &self,
        conn: &mut SqliteConnection,
        events: &[E],
    ) -> Result<(), OutboxError> {
        let items = crate::encode_events(events, self.plan.as_deref())?;
        self.within("track_all", insert(conn, &items)).await
    }

    /// Writes subscriber records inside the caller's transaction, all or none.
    pub async fn import<S: BentoSubscriber>(
        &self,
        conn: &mut SqliteConnection,
        records: &[S],
    ) -> Result<(), OutboxError> {
        let items = crate::encode_records(records, self.plan.as_deref())?;
        self.within("import", insert(conn, &items)).await
    }

    /// Items waiting for delivery (not dead letters).
    pub async fn pending(&self) -> Result<u64, OutboxError> {
        let count =
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM bento_outbox WHERE dead = 0")
                .fetch_one(&self.pool);
        let count = self.within("pending", async { Ok(count.await?) }).await?;
        Ok(count.max(0) as u64)
    }

    /// The oldest `limit` dead letters.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, OutboxError> {
        let rows = sqlx::query_as::<_, (i64, i64, String, i64, Option<String>)>(
            "SELECT id, kind, body, attempts, reason FROM bento_outbox
             WHERE dead = 1 ORDER BY id LIMIT ?1",
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
                    kind: kind_of(i16::try_from(kind).ok()?)?,
                    json,
                    attempts: i32::try_from(attempts).unwrap_or(i32::MAX),
                    reason: reason.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Puts the dead letters with these ids back in line for delivery.
    pub async fn retry_dead_letters(&self, ids: &[i64]) -> Result<u64, OutboxError> {
        let done = sqlx::query(
            "UPDATE bento_outbox SET dead = 0, attempts = 0, reason = NULL, failed_at = NULL
             WHERE dead = 1 AND id IN (SELECT value FROM json_each(?1))",
        )
        .bind(relay::id_list(ids))
        .execute(&self.pool);
        let done = self
            .within("retry_dead_letters", async { Ok(done.await?) })
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes the dead letters with these ids.
    pub async fn purge_dead_letters(&self, ids: &[i64]) -> Result<u64, OutboxError> {
        let done = sqlx::query(
            "DELETE FROM bento_outbox WHERE dead = 1 AND id IN (SELECT value FROM json_each(?1))",
        )
        .bind(relay::id_list(ids))
        .execute(&self.pool);
        let done = self
            .within("purge_dead_letters", async { Ok(done.await?) })
            .await?;
        Ok(done.rows_affected())
    }

    async fn within<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = Result<T, OutboxError>>,
    ) -> Result<T, OutboxError> {
        crate::within(self.timeout, operation, call).await
    }
}

async fn insert(conn: &mut SqliteConnection, items: &[Encoded]) -> Result<(), OutboxError> {
    for item in items {
        sqlx::query("INSERT INTO bento_outbox (kind, body) VALUES (?1, ?2)")
            .bind(i64::from(kind_code(item.kind())))
            .bind(std::str::from_utf8(item.json()).unwrap_or("null"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The relay of a client built with `ClientBuilder::outbox(outbox)` drains
/// this table, leading by the lease row.
impl DurableStore for Outbox {
    fn settings(&self) -> StoreSettings {
        StoreSettings::new(self.takeover_interval, self.poll_interval, self.max_age)
    }

    fn status(&self) -> Arc<RelayStatus> {
        Arc::clone(&self.status)
    }

    fn lead(&self) -> BoxFuture<'_, Result<Box<dyn StoreSession>, StoreError>> {
        Box::pin(relay::elect(
            self.pool.clone(),
            self.takeover_interval,
            self.lease,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>(_: T) {}

    /// Apps spawn these futures: they must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(outbox: &Outbox, conn: &mut SqliteConnection) {
        send(outbox.migrate());
        send(outbox.pending());
        send(outbox.track(conn, &bento_core::Event::new("x", "a@example.com")));
    }
}
