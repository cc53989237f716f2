//! The outbox in a SQLite database (feature `sqlite`), for the many apps
//! whose database is a SQLite file: the same contract as
//! [`postgres::Outbox`](crate::postgres::Outbox) where it applies.
//!
//! ```no_run
//! use std::time::Duration;
//! use bento_core::{Client, Event};
//! use bento_outbox::sqlite::{self, Outbox};
//! use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = SqliteConnectOptions::new()
//!     .filename("app.db")
//!     .create_if_missing(true)
//!     .journal_mode(SqliteJournalMode::Wal)
//!     .busy_timeout(Duration::from_secs(10));
//! // `pool_options()` closes a connection SQLite rolled back under sqlx's feet.
//! let pool = sqlite::pool_options().connect_with(options).await?;
//! let outbox = Outbox::new(pool.clone());
//! outbox.migrate().await?;
//! let client = Client::builder().outbox(outbox.clone()).build()?;
//!
//! // BEGIN IMMEDIATE: the write lock up front, waited for within the busy timeout.
//! let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
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
//! - **Fenced sends**: a send leaves only if the statement that records its
//!   id range finds the lease still this session's, so a leader stopped or
//!   stalled past its lease sends nothing after another took over.
//! - **Unreadable rows** (a BLOB body, a kind that is not an integer or
//!   none the SDK knows, a body that is not one JSON object) become dead
//!   letters with the reason and their id, handed to the failure hook; the
//!   rows around them flow. Every row is either
//!   [`pending`](crate::Outbox::pending) or a
//!   [dead letter](crate::Outbox::dead_letters).
//! - **Pacing** shared by every process on the file, through the database
//!   (`bento_outbox_slot`), as on PostgreSQL: a leader that takes over
//!   mid-window knows what its predecessor sent.
//! - **Locks**: the outbox's own writes take SQLite's write lock up front
//!   (`BEGIN IMMEDIATE`) and wait for it within the pool's busy timeout, so
//!   `migrate()` and the relay work while other processes write. Do the same
//!   in the application's transactions that write (`pool.begin_with("BEGIN
//!   IMMEDIATE")`): a deferred transaction that reads, then writes, fails at
//!   once with "database is locked" when another connection wrote in
//!   between, whoever that was.
//!
//! # sqlx 0.8 and a full disk
//!
//! When SQLite rolls a transaction back by itself (a full disk, an I/O
//! error), sqlx 0.8 still counts it as open, and a connection in that state
//! can later report a `commit()` as done though nothing was written, while
//! it holds SQLite's write lock for good. The outbox refuses to write into
//! such a transaction ([`OutboxError::TransactionLost`]),
//! its own statements never run on such a connection (it closes them), and
//! [`pool_options`] (or [`check_on_release`] in your own pool options)
//! closes them when they are released, so no later transaction runs on one.

mod conn;
mod erasure;
mod lease;
mod pacing;
mod read;
mod schema;
mod session;

use std::sync::Arc;
use std::time::Duration;

use bento_core::Encoded;
use bento_core::integration::budget::{BoxFuture, RateBudget};
use bento_core::integration::store::{StoreError, StoreSession};
use sqlx::{Sqlite, SqliteConnection};

pub use conn::{check_on_release, pool_options};

use crate::OutboxError;
use crate::backend::sealed::Ops;
use crate::erasure::Keyring;
use crate::pacing::SharedPacer;
use bento_core::integration::store::StoreErasure;
use conn::{Mode, Own};

/// The outbox in a SQLite database: [`crate::Outbox`] over [`sqlx::Sqlite`].
pub type Outbox = crate::Outbox<Sqlite>;

/// What only the SQLite outbox has: the length of the leader's lease.
#[derive(Debug, Clone)]
pub struct SqliteExtra {
    lease: Duration,
}

impl crate::Outbox<Sqlite> {
    /// The outbox's schema as one SQL script, for your own migrations
    /// instead of [`migrate`](crate::Outbox::migrate) at start-up. Save it
    /// as a migration (`migrations/20261206000000_bento_outbox.sql` for
    /// `sqlx::migrate!`); this crate ships the same script as
    /// `migrations/sqlite/`. Every statement is idempotent, so a later
    /// `migrate()` finds nothing to do.
    ///
    /// ```
    /// let sql = bento_outbox::sqlite::Outbox::schema_sql();
    /// assert!(sql.contains("CREATE TABLE IF NOT EXISTS bento_outbox ("));
    /// ```
    pub fn schema_sql() -> String {
        schema::sql()
    }

    /// How long the leader's lease lasts unless renewed (default 5 s): the
    /// bound on failover after a leader is killed or frozen.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.extra.lease = lease.max(Duration::from_millis(300));
        self
    }
}

impl Ops for Sqlite {
    type Extra = SqliteExtra;

    fn extra() -> SqliteExtra {
        SqliteExtra {
            lease: Duration::from_secs(5),
        }
    }

    const POLL_INTERVAL: Duration = Duration::from_secs(1);

    fn migrate(outbox: &Outbox) -> BoxFuture<'_, Result<(), OutboxError>> {
        Box::pin(async move {
            schema::migrate(&outbox.pool).await?;
            // Read once here, so that `track` checks tombstones in the
            // statement that writes (see `erasure.rs`).
            let mut tx = Own::begin(&outbox.pool, Mode::Read).await?;
            erasure::key(tx.conn(), &outbox.keyring).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn insert<'c>(
        conn: &'c mut SqliteConnection,
        items: &'c [Encoded],
        keyring: &'c Keyring,
    ) -> BoxFuture<'c, Result<(), OutboxError>> {
        Box::pin(async move {
            conn::check_writable(conn).await?;
            let (ids, refused) = match keyring.get() {
                Some(key) => erasure::insert_unless_erased(&mut *conn, items, &key).await?,
                None => erasure::insert_then_check(&mut *conn, items, keyring).await?,
            };
            if refused > 0 {
                // None of them, as `track_all` promises.
                sqlx::query(
                    "DELETE FROM bento_outbox WHERE id IN (SELECT value FROM json_each(?1))",
                )
                .bind(session::id_list(&ids))
                .execute(&mut *conn)
                .await?;
                return Err(OutboxError::Erased { items: refused });
            }
            Ok(())
        })
    }

    fn pending(outbox: &Outbox) -> BoxFuture<'_, Result<u64, OutboxError>> {
        Box::pin(async move {
            let mut tx = Own::begin(&outbox.pool, Mode::Read).await?;
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM bento_outbox WHERE dead = 0")
                .fetch_one(tx.conn())
                .await?;
            tx.commit().await?;
            Ok(count.max(0) as u64)
        })
    }

    fn dead_letters(
        outbox: &Outbox,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<crate::DeadLetter>, OutboxError>> {
        Box::pin(async move {
            let mut tx = Own::begin(&outbox.pool, Mode::Read).await?;
            let dead = read::dead_letters(tx.conn(), limit).await?;
            tx.commit().await?;
            Ok(dead)
        })
    }

    fn revive<'a>(
        outbox: &'a Outbox,
        ids: Option<&'a [i64]>,
    ) -> BoxFuture<'a, Result<u64, OutboxError>> {
        Box::pin(dead_letters(
            outbox,
            "UPDATE bento_outbox SET dead = 0, attempts = 0, reason = NULL, failed_at = NULL",
            ids,
        ))
    }

    fn purge<'a>(
        outbox: &'a Outbox,
        ids: Option<&'a [i64]>,
    ) -> BoxFuture<'a, Result<u64, OutboxError>> {
        Box::pin(dead_letters(outbox, "DELETE FROM bento_outbox", ids))
    }

    fn lead(outbox: &Outbox) -> BoxFuture<'_, Result<Box<dyn StoreSession>, StoreError>> {
        Box::pin(session::elect(
            outbox.pool.clone(),
            outbox.takeover_interval,
            outbox.extra.lease,
            outbox.keyring.clone(),
        ))
    }

    fn erase<'a>(
        outbox: &'a Outbox,
        email: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<StoreErasure, OutboxError>> {
        Box::pin(erasure::erase(&outbox.pool, &outbox.keyring, email, ttl))
    }

    fn lift<'a>(outbox: &'a Outbox, email: &'a str) -> BoxFuture<'a, Result<bool, OutboxError>> {
        Box::pin(erasure::lift(&outbox.pool, &outbox.keyring, email))
    }

    fn pacer(outbox: &Outbox) -> Arc<dyn RateBudget> {
        Arc::new(SharedPacer::new(
            pacing::SqliteSlots::new(outbox.pool.clone()),
            outbox.timeout,
        ))
    }
}

/// Runs `statement` on the dead letters with `ids` (all with `None`): every
/// row that is not live, whatever `dead` holds.
async fn dead_letters(
    outbox: &Outbox,
    statement: &str,
    ids: Option<&[i64]>,
) -> Result<u64, OutboxError> {
    let mut tx = Own::begin(&outbox.pool, Mode::Write).await?;
    let done = sqlx::query(&format!(
        "{statement} WHERE dead IS NOT 0
         AND (?1 IS NULL OR id IN (SELECT value FROM json_each(?1)))"
    ))
    .bind(ids.map(session::id_list))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
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
        send(outbox.dead_letters(1));
        send(outbox.retry_all_dead_letters());
        send(outbox.track(conn, &bento_core::Event::new("x", "a@example.com")));
    }
}
