//! Erasure on SQLite: the tombstones (`bento_outbox_erasure`, keyed hashes
//! in hex), the erasure count, fence count and key
//! (`bento_outbox_erasure_state`), and the statements that erase, lift and
//! check claimed rows.
//!
//! Every write takes SQLite's one write lock, so an erasure and the relay's
//! fence are ordered: a fence after the erasure reads the new count and the
//! relay checks its batch again; a fence before it recorded the range the
//! erasure then waits for.

use std::sync::Arc;
use std::time::Duration;

use bento_core::Encoded;
use bento_core::integration::erasure::{digest, subject};
use bento_core::integration::store::{Erasures, StoreErasure};
use sqlx::{SqliteConnection, SqlitePool};

use super::conn::{Mode, Own};
use super::schema::NOW;
use crate::OutboxError;
use crate::erasure::{Digest, FLIGHT_BOUND, Keyring, normalized, wait_for_flight};
use crate::row::kind_code;

/// A digest as the table keeps it.
pub(crate) fn hex(digest: &Digest) -> String {
    use std::fmt::Write;
    digest
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// Hex digests as a JSON array, for `json_each` (hex needs no escaping).
pub(crate) fn json_list<S: AsRef<str>>(digests: impl Iterator<Item = S>) -> String {
    let quoted: Vec<String> = digests.map(|hex| format!("\"{}\"", hex.as_ref())).collect();
    format!("[{}]", quoted.join(","))
}

/// The database's erasure key (read once).
pub(crate) async fn key(
    conn: &mut SqliteConnection,
    keyring: &Keyring,
) -> Result<Arc<[u8]>, sqlx::Error> {
    if let Some(key) = keyring.get() {
        return Ok(key);
    }
    let key: Vec<u8> =
        sqlx::query_scalar("SELECT key FROM bento_outbox_erasure_state WHERE id = 1")
            .fetch_one(conn)
            .await?;
    Ok(keyring.keep(key))
}

/// Writes `items` in the caller's transaction, each unless a tombstone
/// holds its person, read by the statement that writes: reading first would
/// make the caller's transaction an upgrade from a read snapshot, which
/// SQLite refuses when another process wrote meanwhile. The ids written,
/// and how many items were refused.
pub(crate) async fn insert_unless_erased(
    conn: &mut SqliteConnection,
    items: &[Encoded],
    key: &[u8],
) -> Result<(Vec<i64>, u64), sqlx::Error> {
    let mut ids = Vec::with_capacity(items.len());
    let mut refused = 0;
    for item in items {
        let digest = subject(item.json()).map(|email| hex(&digest(key, &email)));
        let written = sqlx::query(&format!(
            "INSERT INTO bento_outbox (kind, body) SELECT ?1, ?2
             WHERE NOT EXISTS (
                SELECT 1 FROM bento_outbox_erasure WHERE digest = ?3 AND until > {NOW}
             )"
        ))
        .bind(i64::from(kind_code(item.kind())))
        .bind(std::str::from_utf8(item.json()).unwrap_or("null"))
        .bind(&digest)
        .execute(&mut *conn)
        .await?;
        if written.rows_affected() == 0 {
            refused += 1;
        } else {
            ids.push(written.last_insert_rowid());
        }
    }
    Ok((ids, refused))
}

/// The same before the key was read (an outbox whose tables came from the
/// application's own migrations, at its first write): the rows first, then
/// the key and the tombstones, under the write lock the rows took.
pub(crate) async fn insert_then_check(
    conn: &mut SqliteConnection,
    items: &[Encoded],
    keyring: &Keyring,
) -> Result<(Vec<i64>, u64), sqlx::Error> {
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let written = sqlx::query("INSERT INTO bento_outbox (kind, body) VALUES (?1, ?2)")
            .bind(i64::from(kind_code(item.kind())))
            .bind(std::str::from_utf8(item.json()).unwrap_or("null"))
            .execute(&mut *conn)
            .await?;
        ids.push(written.last_insert_rowid());
    }
    let key = key(&mut *conn, keyring).await?;
    let digests: Vec<String> = crate::erasure::digests(&key, items)
        .iter()
        .map(hex)
        .collect();
    let found: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT digest FROM bento_outbox_erasure
         WHERE digest IN (SELECT value FROM json_each(?1)) AND until > {NOW}"
    ))
    .bind(json_list(digests.iter()))
    .fetch_all(conn)
    .await?;
    let refused = digests
        .iter()
        .filter(|digest| found.contains(digest))
        .count();
    Ok((ids, refused as u64))
}

/// Erases `email`: tombstone, rows and dead letters, then waits for the
/// relay's request in flight.
pub(crate) async fn erase(
    pool: &SqlitePool,
    keyring: &Keyring,
    email: &str,
    ttl: Duration,
) -> Result<StoreErasure, OutboxError> {
    let mut tx = Own::begin(pool, Mode::Write).await?;
    let (key, fences): (Vec<u8>, i64) = sqlx::query_as(
        "UPDATE bento_outbox_erasure_state SET erasures = erasures + 1 WHERE id = 1
         RETURNING key, fences",
    )
    .fetch_one(tx.conn())
    .await?;
    let key = keyring.keep(key);
    let first: Option<i64> =
        sqlx::query_scalar("SELECT sending_first FROM bento_outbox_lease WHERE id = 1")
            .fetch_one(tx.conn())
            .await?;
    sqlx::query(&format!(
        "INSERT INTO bento_outbox_erasure (digest, until) VALUES (?1, {NOW} + ?2)
         ON CONFLICT (digest) DO UPDATE SET until = max(until, excluded.until)"
    ))
    .bind(hex(&digest(&key, email)))
    .bind(ttl.as_secs_f64())
    .execute(tx.conn())
    .await?;
    // SQLite takes no DELETE inside a WITH: count, then delete, under the
    // same write lock.
    let (removed, dead): (i64, i64) = sqlx::query_as(&format!(
        "SELECT coalesce(sum(dead = 0), 0), coalesce(sum(dead <> 0), 0)
         FROM bento_outbox WHERE {ABOUT}"
    ))
    .bind(normalized(email))
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(&format!("DELETE FROM bento_outbox WHERE {ABOUT}"))
        .bind(normalized(email))
        .execute(tx.conn())
        .await?;
    // Bento's deletion request, behind every row it could follow: the relay
    // sends it (kind 4), unless one for the person waits already.
    sqlx::query(&format!(
        "INSERT INTO bento_outbox (kind, body)
         SELECT 4, json_object('email', ?2)
         WHERE NOT EXISTS (SELECT 1 FROM bento_outbox WHERE kind = 4 AND dead = 0 AND {DELETION})"
    ))
    .bind(normalized(email))
    .bind(email.trim())
    .execute(tx.conn())
    .await?;
    sqlx::query(&format!(
        "DELETE FROM bento_outbox_erasure WHERE until <= {NOW}"
    ))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    if first.is_some() {
        // A request was in flight when the erasure committed: it may carry
        // the person, and must land before the erasure returns.
        wait_for_flight(FLIGHT_BOUND, || async {
            let mut tx = Own::begin(pool, Mode::Read).await?;
            let landed: bool = sqlx::query_scalar(
                "SELECT (SELECT sending_first FROM bento_outbox_lease WHERE id = 1) IS NULL
                     OR (SELECT fences FROM bento_outbox_erasure_state WHERE id = 1) <> ?1",
            )
            .bind(fences)
            .fetch_one(tx.conn())
            .await?;
            tx.commit().await?;
            Ok(landed)
        })
        .await?;
    }
    Ok(StoreErasure::new(removed.max(0) as u64, dead.max(0) as u64).with_deletion_queued())
}

/// The rows about `?1` but deletion requests: text bodies holding JSON
/// whose `email` it is (a body written by hand may be anything).
const ABOUT: &str = "kind IS NOT 4 AND CASE WHEN typeof(body) = 'text' AND json_valid(body)
    THEN lower(trim(json_extract(body, '$.email'))) END = ?1";

/// A deletion request's row about `?1`.
const DELETION: &str = "CASE WHEN typeof(body) = 'text' AND json_valid(body)
    THEN lower(trim(json_extract(body, '$.email'))) END = ?1";

/// Lifts the tombstone of `email`; whether there was one.
pub(crate) async fn lift(
    pool: &SqlitePool,
    keyring: &Keyring,
    email: &str,
) -> Result<bool, OutboxError> {
    let mut tx = Own::begin(pool, Mode::Write).await?;
    let key = key(tx.conn(), keyring).await?;
    let lifted = sqlx::query(&format!(
        "DELETE FROM bento_outbox_erasure WHERE digest = ?1 AND until > {NOW}"
    ))
    .bind(hex(&digest(&key, email)))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(lifted.rows_affected() > 0)
}

/// Which of `subjects` a tombstone holds, and the erasure count.
pub(crate) async fn erased(
    pool: &SqlitePool,
    keyring: &Keyring,
    subjects: &[Option<&str>],
) -> Result<Erasures, sqlx::Error> {
    let mut tx = Own::begin(pool, Mode::Read).await?;
    let key = key(tx.conn(), keyring).await?;
    let digests: Vec<Option<String>> = subjects
        .iter()
        .map(|subject| subject.map(|email| hex(&digest(&key, email))))
        .collect();
    let asked: Vec<&String> = digests.iter().flatten().collect();
    let count: i64 =
        sqlx::query_scalar("SELECT erasures FROM bento_outbox_erasure_state WHERE id = 1")
            .fetch_one(tx.conn())
            .await?;
    let found: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT digest FROM bento_outbox_erasure
         WHERE digest IN (SELECT value FROM json_each(?1)) AND until > {NOW}"
    ))
    .bind(json_list(asked.iter()))
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    let found: std::collections::HashSet<String> = found.into_iter().collect();
    let erased = digests
        .iter()
        .map(|digest| digest.as_ref().is_some_and(|digest| found.contains(digest)))
        .collect();
    Ok(Erasures::new(count.max(0) as u64, erased))
}
