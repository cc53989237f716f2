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
//!   database does not answer within one second, each
//!   process paces itself alone. The batch requests of
//!   a client built with an outbox (the relay's and the in-memory queue's)
//!   always take their slots there, whether or not this is on.
//!
//! # Versions
//!
//! sqlx 0.8 is used (the pool and transaction types axum and actix-web apps
//! already hold); it builds on the workspace's Rust 1.89 (sqlx 0.9 needs 1.94).

mod erasure;
mod pacing;
mod runtime;
mod schema;
mod session;

/// What only the PostgreSQL outbox has: the runtime it was built on, where
/// the relay opens its connections from your pool.
pub use runtime::AppRuntime;

use std::sync::Arc;
use std::time::Duration;

use bento_core::Encoded;
use bento_core::integration::budget::{BoxFuture, RateBudget};
use bento_core::integration::store::{StoreError, StoreSession};
use sqlx::{PgConnection, Postgres};

use crate::backend::sealed::Ops;
use crate::erasure::Keyring;
use crate::pacing::SharedPacer;
use crate::row::{kind_code, kind_of};
use crate::{DeadLetter, OutboxError};
use bento_core::integration::store::StoreErasure;
use pacing::PgSlots;

/// The outbox in a PostgreSQL database: [`crate::Outbox`] over
/// [`sqlx::Postgres`].
pub type Outbox = crate::Outbox<Postgres>;

impl crate::Outbox<Postgres> {
    /// The schema version `migrate` brings the database to.
    pub fn schema_version() -> i32 {
        schema::VERSION
    }

    /// The outbox's schema as one SQL script, for your own migrations
    /// instead of [`migrate`](crate::Outbox::migrate) at start-up (so the
    /// application's user needs no schema rights at run time). Save it as a
    /// migration (`migrations/20261206000000_bento_outbox.sql` for
    /// `sqlx::migrate!`, or any tool's file); this crate ships the same
    /// script as `migrations/postgres/`. It records its version the way
    /// `migrate` does, so a later `migrate()` finds nothing to do.
    ///
    /// ```
    /// let sql = bento_outbox::postgres::Outbox::schema_sql();
    /// assert!(sql.contains("CREATE TABLE bento_outbox ("));
    /// ```
    pub fn schema_sql() -> String {
        schema::sql()
    }
}

impl Ops for Postgres {
    type Extra = AppRuntime;

    fn extra() -> AppRuntime {
        AppRuntime::current()
    }

    const POLL_INTERVAL: Duration = Duration::from_secs(5);

    fn migrate(outbox: &Outbox) -> BoxFuture<'_, Result<(), OutboxError>> {
        Box::pin(async move {
            let mut conn = outbox.pool.acquire().await?;
            let conn: &mut PgConnection = &mut conn;
            sqlx::query("BEGIN").execute(&mut *conn).await?;
            match schema::migrate_on(conn).await {
                Ok(()) => {
                    sqlx::query("COMMIT").execute(&mut *conn).await?;
                    // Read once here, rather than at the first `track`.
                    erasure::key(conn, &outbox.keyring).await?;
                    Ok(())
                }
                Err(error) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    Err(error.into())
                }
            }
        })
    }

    fn insert<'c>(
        conn: &'c mut PgConnection,
        items: &'c [Encoded],
        keyring: &'c Keyring,
    ) -> BoxFuture<'c, Result<(), OutboxError>> {
        Box::pin(insert(conn, items, keyring))
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

    fn pending(outbox: &Outbox) -> BoxFuture<'_, Result<u64, OutboxError>> {
        Box::pin(async move {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM bento_outbox WHERE NOT dead")
                .fetch_one(&outbox.pool)
                .await?;
            Ok(count.max(0) as u64)
        })
    }

    fn dead_letters(
        outbox: &Outbox,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<DeadLetter>, OutboxError>> {
        Box::pin(async move {
            let rows = sqlx::query_as::<_, (i64, i16, String, i32, Option<String>)>(
                "SELECT id, kind, body::text, attempts, reason FROM bento_outbox
                 WHERE dead ORDER BY id LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(&outbox.pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, kind, json, attempts, reason)| DeadLetter {
                    id,
                    kind: kind_of(i64::from(kind)),
                    json,
                    attempts: i64::from(attempts),
                    reason: reason.unwrap_or_default(),
                })
                .collect())
        })
    }

    fn revive<'a>(
        outbox: &'a Outbox,
        ids: Option<&'a [i64]>,
    ) -> BoxFuture<'a, Result<u64, OutboxError>> {
        Box::pin(async move {
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
            .fetch_one(&outbox.pool)
            .await?;
            let count: i64 = sqlx::Row::try_get(&done, 0)?;
            Ok(count.max(0) as u64)
        })
    }

    fn purge<'a>(
        outbox: &'a Outbox,
        ids: Option<&'a [i64]>,
    ) -> BoxFuture<'a, Result<u64, OutboxError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "DELETE FROM bento_outbox WHERE dead AND ($1::bigint[] IS NULL OR id = ANY($1))",
            )
            .bind(ids)
            .execute(&outbox.pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    fn lead(outbox: &Outbox) -> BoxFuture<'_, Result<Box<dyn StoreSession>, StoreError>> {
        Box::pin(session::elect(
            &outbox.pool,
            outbox.takeover_interval,
            outbox.extra.clone(),
            outbox.keyring.clone(),
        ))
    }

    fn pacer(outbox: &Outbox) -> Arc<dyn RateBudget> {
        Arc::new(SharedPacer::new(
            PgSlots::new(&outbox.pool, outbox.extra.clone()),
            outbox.timeout,
        ))
    }
}

/// One statement for any number of items, which writes none of them when
/// one is about a person erased: the tombstones are read by the statement
/// that writes (an uncorrelated `NOT EXISTS` on the table's key).
async fn insert(
    conn: &mut PgConnection,
    items: &[Encoded],
    keyring: &Keyring,
) -> Result<(), OutboxError> {
    if items.is_empty() {
        return Ok(());
    }
    let key = erasure::key(&mut *conn, keyring).await?;
    let digests: Vec<Vec<u8>> = crate::erasure::digests(&key, items)
        .iter()
        .map(|digest| digest.to_vec())
        .collect();
    let written = if let [item] = items {
        // The common case, without arrays to build or unnest.
        sqlx::query::<Postgres>(
            "INSERT INTO bento_outbox (kind, body) SELECT $1::smallint, $2::json
             WHERE $3::bytea IS NULL OR NOT EXISTS (
                SELECT 1 FROM bento_outbox_erasure WHERE digest = $3::bytea AND until > now()
             )",
        )
        .bind(kind_code(item.kind()))
        .bind(json_text(item))
        .bind(digests.first())
        .execute(&mut *conn)
        .await?
    } else {
        let kinds: Vec<i16> = items.iter().map(|item| kind_code(item.kind())).collect();
        let bodies: Vec<&str> = items.iter().map(json_text).collect();
        sqlx::query::<Postgres>(
            "INSERT INTO bento_outbox (kind, body)
             SELECT kind, body::json FROM UNNEST($1::smallint[], $2::text[]) AS t(kind, body)
             WHERE NOT EXISTS (
                SELECT 1 FROM bento_outbox_erasure WHERE digest = ANY($3) AND until > now()
             )",
        )
        .bind(&kinds)
        .bind(&bodies)
        .bind(&digests)
        .execute(&mut *conn)
        .await?
    };
    if written.rows_affected() == 0 {
        // Refused (rare): how many items are about an erased person.
        let items: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM unnest($1::bytea[]) AS d(digest) WHERE EXISTS (
                SELECT 1 FROM bento_outbox_erasure e WHERE e.digest = d.digest AND e.until > now()
             )",
        )
        .bind(&digests)
        .fetch_one(conn)
        .await?;
        return Err(OutboxError::Erased {
            items: items.max(1) as u64,
        });
    }
    Ok(())
}

/// The client's encoding is UTF-8 JSON (serde_json writes nothing else).
fn json_text(item: &Encoded) -> &str {
    std::str::from_utf8(item.json()).unwrap_or("null")
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
