//! Leadership by a lease row (SQLite has no advisory locks): who relays,
//! until when, renewed from a task of its own, and the fence every send
//! passes.
//!
//! `holder` names the leading session (unique per session). Taking the
//! lease needs it expired or free and sets `holder`; so while `holder` still
//! names a session, nobody else has led since it took the lease, and a
//! statement that checks `holder` and writes in one go is a fencing token
//! check: a leader frozen past its lease (a stopped process, a stalled
//! machine) finds it gone at its next send and sends nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bento_core::integration::store::{Fence, StoreError};
use sqlx::SqlitePool;

use super::conn::{Mode, Own};
use super::schema::NOW;

/// Who this session is, in the lease row: unique per session, so a process
/// that leads twice never mistakes an old lease for its own.
pub(crate) fn holder() -> String {
    static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{} pid {} session {}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown host".to_owned()),
        std::process::id(),
        SESSIONS.fetch_add(1, Ordering::Relaxed)
    )
}

/// Takes the lease if it is free or expired; true when taken.
pub(crate) async fn take(
    pool: &SqlitePool,
    me: &str,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let mut tx = Own::begin(pool, Mode::Write).await?;
    let taken = sqlx::query(&format!(
        "UPDATE bento_outbox_lease SET holder = ?1, expires_at = {NOW} + ?2
         WHERE id = 1 AND (holder IS NULL OR expires_at < {NOW})"
    ))
    .bind(me)
    .bind(lease.as_secs_f64())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(taken.rows_affected() == 1)
}

/// Renews the lease, records the id range about to be sent, and checks the
/// session still holds the lease, in one statement: the fence. Renewing
/// here gives the request a whole lease before anyone may take over (and if
/// someone does, it counts the range as possible duplicates).
pub(crate) async fn fence(
    pool: &SqlitePool,
    me: &str,
    lease: Duration,
    range: (i64, i64),
) -> Result<Fence, StoreError> {
    let mut tx = Own::begin(pool, Mode::Write).await?;
    let fenced = sqlx::query(&format!(
        "UPDATE bento_outbox_lease
         SET sending_first = ?1, sending_last = ?2, expires_at = {NOW} + ?4
         WHERE id = 1 AND holder = ?3"
    ))
    .bind(range.0)
    .bind(range.1)
    .bind(me)
    .bind(lease.as_secs_f64())
    .execute(tx.conn())
    .await?;
    if fenced.rows_affected() != 1 {
        tx.commit().await?;
        return Err("another process took the SQLite outbox's lease (this one was stopped or stalled past it); this one sends nothing".into());
    }
    // Under the same write lock as any erasure: see `erasure.rs`.
    let erasures: i64 = sqlx::query_scalar(
        "UPDATE bento_outbox_erasure_state SET fences = fences + 1 WHERE id = 1
         RETURNING erasures",
    )
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(Fence::new(erasures.max(0) as u64))
}

/// Hands the lease back, so that another process may lead at once.
pub(crate) async fn release(pool: &SqlitePool, me: &str) -> Result<(), sqlx::Error> {
    let mut tx = Own::begin(pool, Mode::Write).await?;
    sqlx::query(
        "UPDATE bento_outbox_lease SET holder = NULL, expires_at = 0 WHERE id = 1 AND holder = ?1",
    )
    .bind(me)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Renews the lease every third of its length; a renewal that finds the
/// lease in other hands, or fails past the lease, clears `held`.
pub(crate) async fn renew(pool: SqlitePool, me: String, lease: Duration, held: Arc<AtomicBool>) {
    let every = lease / 3;
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let renewed = async {
            let mut tx = Own::begin(&pool, Mode::Write).await?;
            let done = sqlx::query(&format!(
                "UPDATE bento_outbox_lease SET expires_at = {NOW} + ?2 WHERE id = 1 AND holder = ?1"
            ))
            .bind(&me)
            .bind(lease.as_secs_f64())
            .execute(tx.conn())
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done.rows_affected())
        }
        .await;
        match renewed {
            Ok(1) => last = tokio::time::Instant::now(),
            Ok(_) => {
                held.store(false, Ordering::Release);
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "the SQLite outbox's lease could not be renewed");
                if last.elapsed() >= lease {
                    held.store(false, Ordering::Release);
                    return;
                }
            }
        }
    }
}
