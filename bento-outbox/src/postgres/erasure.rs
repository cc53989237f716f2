//! Erasure on PostgreSQL: the tombstones (`bento_outbox_erasure`), the
//! erasure count and key on the relay's row, and the statements that erase,
//! lift, and check claimed rows.
//!
//! An erasure updates the relay's row first, so it and the relay's fence
//! (which updates the same row) are ordered by its row lock: a fence after
//! the erasure reads the new count and the relay checks its batch again; a
//! fence before it recorded the range the erasure then waits for.

use std::sync::Arc;
use std::time::Duration;

use bento_core::integration::erasure::digest;
use bento_core::integration::store::{Erasures, StoreErasure};
use sqlx::{PgConnection, PgPool};

use crate::OutboxError;
use crate::erasure::{FLIGHT_BOUND, Keyring, normalized, wait_for_flight};

/// The database's erasure key (read once).
pub(crate) async fn key(
    conn: &mut PgConnection,
    keyring: &Keyring,
) -> Result<Arc<[u8]>, sqlx::Error> {
    if let Some(key) = keyring.get() {
        return Ok(key);
    }
    let key: Vec<u8> = sqlx::query_scalar("SELECT erasure_key FROM bento_outbox_relay")
        .fetch_one(conn)
        .await?;
    Ok(keyring.keep(key))
}

/// Erases `email`: tombstone, rows and dead letters, then waits for the
/// relay's request in flight.
pub(crate) async fn erase(
    pool: &PgPool,
    keyring: &Keyring,
    email: &str,
    ttl: Duration,
) -> Result<StoreErasure, OutboxError> {
    let mut tx = pool.begin().await?;
    let (key, first, fences): (Vec<u8>, Option<i64>, i64) = sqlx::query_as(
        "UPDATE bento_outbox_relay SET erasures = erasures + 1
         RETURNING erasure_key, sending_first, fences",
    )
    .fetch_one(&mut *tx)
    .await?;
    let key = keyring.keep(key);
    sqlx::query(
        "INSERT INTO bento_outbox_erasure (digest, until)
         VALUES ($1, now() + $2 * interval '1 millisecond')
         ON CONFLICT (digest) DO UPDATE
         SET until = greatest(bento_outbox_erasure.until, excluded.until)",
    )
    .bind(digest(&key, email).to_vec())
    .bind(ttl.as_millis().min(i64::MAX as u128) as f64)
    .execute(&mut *tx)
    .await?;
    let (removed, dead): (i64, i64) = sqlx::query_as(
        "WITH gone AS (
            DELETE FROM bento_outbox
            WHERE kind <> 4 AND lower(btrim(body->>'email')) = $1 RETURNING dead
         )
         SELECT count(*) FILTER (WHERE NOT dead), count(*) FILTER (WHERE dead) FROM gone",
    )
    .bind(normalized(email))
    .fetch_one(&mut *tx)
    .await?;
    // Bento's deletion request, behind every row it could follow: the relay
    // sends it (kind 4), unless one for the person waits already.
    sqlx::query(
        "INSERT INTO bento_outbox (kind, body)
         SELECT 4, json_build_object('email', $1::text)
         WHERE NOT EXISTS (
            SELECT 1 FROM bento_outbox
            WHERE kind = 4 AND NOT dead AND lower(btrim(body->>'email')) = $2
         )",
    )
    .bind(email.trim())
    .bind(normalized(email))
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM bento_outbox_erasure WHERE until <= now()")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if first.is_some() {
        // A request was in flight when the erasure committed: it may carry
        // the person, and must land before the erasure returns.
        wait_for_flight(FLIGHT_BOUND, || async {
            let landed: bool = sqlx::query_scalar(
                "SELECT sending_first IS NULL OR fences <> $1 FROM bento_outbox_relay",
            )
            .bind(fences)
            .fetch_one(pool)
            .await?;
            Ok(landed)
        })
        .await?;
    }
    Ok(StoreErasure::new(removed.max(0) as u64, dead.max(0) as u64).with_deletion_queued())
}

/// Lifts the tombstone of `email`; whether there was one.
pub(crate) async fn lift(
    pool: &PgPool,
    keyring: &Keyring,
    email: &str,
) -> Result<bool, OutboxError> {
    let mut conn = pool.acquire().await?;
    let key = key(&mut conn, keyring).await?;
    let lifted =
        sqlx::query("DELETE FROM bento_outbox_erasure WHERE digest = $1 AND until > now()")
            .bind(digest(&key, email).to_vec())
            .execute(&mut *conn)
            .await?;
    Ok(lifted.rows_affected() > 0)
}

/// Which of `subjects` a tombstone holds, and the erasure count.
pub(crate) async fn erased(
    conn: &mut PgConnection,
    keyring: &Keyring,
    subjects: &[Option<&str>],
) -> Result<Erasures, sqlx::Error> {
    let key = key(&mut *conn, keyring).await?;
    let digests: Vec<Option<Vec<u8>>> = subjects
        .iter()
        .map(|subject| subject.map(|email| digest(&key, email).to_vec()))
        .collect();
    let asked: Vec<&Vec<u8>> = digests.iter().flatten().collect();
    let (count, found): (i64, Vec<Vec<u8>>) = sqlx::query_as(
        "SELECT erasures, ARRAY(
            SELECT digest FROM bento_outbox_erasure WHERE digest = ANY($1) AND until > now()
         ) FROM bento_outbox_relay",
    )
    .bind(&asked)
    .fetch_one(conn)
    .await?;
    let found: std::collections::HashSet<Vec<u8>> = found.into_iter().collect();
    let erased = digests
        .iter()
        .map(|digest| digest.as_ref().is_some_and(|digest| found.contains(digest)))
        .collect();
    Ok(Erasures::new(count.max(0) as u64, erased))
}
