//! The relay's side of the SQLite outbox: leadership by a lease row renewed
//! from a task of its own, claims, settlement, and polling. The loop that
//! drives these is bento-core's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bento_core::store::{BoxFuture, Settle, StoreError, StoreSession, StoredRow};
use sqlx::SqlitePool;

use super::schema::NOW;
use crate::kind_of;

/// Ids as a JSON array, for `json_each`: one statement for any number.
pub(crate) fn id_list(ids: &[i64]) -> String {
    let mut list = String::with_capacity(ids.len() * 8 + 2);
    list.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(&id.to_string());
    }
    list.push(']');
    list
}

/// Who this session is, in the lease row: unique per session, so a process
/// that leads twice never mistakes an old lease for its own.
fn holder() -> String {
    static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{} pid {} session {}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown host".to_owned()),
        std::process::id(),
        SESSIONS.fetch_add(1, Ordering::Relaxed)
    )
}

/// Waits until this process holds the lease.
pub(crate) async fn elect(
    pool: SqlitePool,
    takeover_interval: Duration,
    lease: Duration,
) -> Result<Box<dyn StoreSession>, StoreError> {
    let me = holder();
    loop {
        let taken = sqlx::query(&format!(
            "UPDATE bento_outbox_lease SET holder = ?1, expires_at = {NOW} + ?2
             WHERE id = 1 AND (holder IS NULL OR expires_at < {NOW})"
        ))
        .bind(&me)
        .bind(lease.as_secs_f64())
        .execute(&pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(Box::new(SqliteSession::start(pool, me, lease)));
        }
        tokio::time::sleep(takeover_interval).await;
    }
}

struct SqliteSession {
    pool: SqlitePool,
    me: String,
    /// Cleared by the renewal task when the lease was lost or taken.
    held: Arc<AtomicBool>,
    renewal: tokio::task::JoinHandle<()>,
}

impl SqliteSession {
    fn start(pool: SqlitePool, me: String, lease: Duration) -> Self {
        let held = Arc::new(AtomicBool::new(true));
        let renewal = tokio::spawn(renew(pool.clone(), me.clone(), lease, Arc::clone(&held)));
        Self {
            pool,
            me,
            held,
            renewal,
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.held.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err("the SQLite outbox's lease was lost (this process stalled past it, or the database failed)".into())
        }
    }
}

/// Renews the lease every third of its length; a renewal that finds the
/// lease in other hands, or fails past the lease, ends the leadership.
async fn renew(pool: SqlitePool, me: String, lease: Duration, held: Arc<AtomicBool>) {
    let every = lease / 3;
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let renewed = sqlx::query(&format!(
            "UPDATE bento_outbox_lease SET expires_at = {NOW} + ?2 WHERE id = 1 AND holder = ?1"
        ))
        .bind(&me)
        .bind(lease.as_secs_f64())
        .execute(&pool)
        .await;
        match renewed {
            Ok(done) if done.rows_affected() == 1 => last = tokio::time::Instant::now(),
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

impl StoreSession for SqliteSession {
    fn interrupted(&mut self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT sending_first, sending_last FROM bento_outbox_lease WHERE id = 1",
            )
            .fetch_one(&self.pool)
            .await?;
            let (Some(first), Some(last)) = (first, last) else {
                return Ok(0);
            };
            // The previous leader stopped while sending these: Bento may have them.
            let again: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM bento_outbox WHERE dead = 0 AND id BETWEEN ?1 AND ?2",
            )
            .bind(first)
            .bind(last)
            .fetch_one(&self.pool)
            .await?;
            Ok(again.max(0) as u64)
        })
    }

    fn claim(
        &mut self,
        outside: Option<(i64, i64)>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredRow>, StoreError>> {
        Box::pin(async move {
            self.check()?;
            let (first, last) = outside.unwrap_or((0, -1));
            let rows: Vec<(i64, i64, String, f64)> = sqlx::query_as(&format!(
                "SELECT id, kind, body, ({NOW} - created_at) * 1000.0
                 FROM bento_outbox WHERE dead = 0 AND (id < ?1 OR id > ?2)
                 ORDER BY id LIMIT ?3"
            ))
            .bind(first)
            .bind(last)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, kind, json, age_ms)| StoredRow {
                    id,
                    kind: i16::try_from(kind).ok().and_then(kind_of),
                    json,
                    age: Duration::from_secs_f64(age_ms.clamp(0.0, 1e12) / 1000.0),
                })
                .collect())
        })
    }

    fn sending(&mut self, first: i64, last: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.check()?;
            sqlx::query(
                "UPDATE bento_outbox_lease SET sending_first = ?1, sending_last = ?2
                 WHERE id = 1 AND holder = ?3",
            )
            .bind(first)
            .bind(last)
            .bind(&self.me)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn settle<'a>(
        &'a mut self,
        ids: &'a [i64],
        outcome: Settle<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let list = id_list(ids);
            let mut tx = self.pool.begin().await?;
            match outcome {
                Settle::Dead { reason, attempts } => {
                    sqlx::query(&format!(
                        "UPDATE bento_outbox
                         SET dead = 1, reason = ?2, attempts = attempts + ?3, failed_at = {NOW}
                         WHERE id IN (SELECT value FROM json_each(?1))"
                    ))
                    .bind(&list)
                    .bind(reason)
                    .bind(i64::from(attempts))
                    .execute(&mut *tx)
                    .await?;
                }
                // Delivered (and any outcome a newer bento-core adds): rows leave.
                _ => {
                    sqlx::query(
                        "DELETE FROM bento_outbox WHERE id IN (SELECT value FROM json_each(?1))",
                    )
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query(
                "UPDATE bento_outbox_lease SET sending_first = NULL, sending_last = NULL
                 WHERE id = 1 AND holder = ?1",
            )
            .bind(&self.me)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn wait(&mut self, poll: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            tokio::time::sleep(poll).await;
            self.check()
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            self.renewal.abort();
            // Handing the lease back lets another process lead at once.
            let _ = sqlx::query(
                "UPDATE bento_outbox_lease SET holder = NULL, expires_at = 0
                 WHERE id = 1 AND holder = ?1",
            )
            .bind(&self.me)
            .execute(&self.pool)
            .await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::id_list;

    #[test]
    fn ids_become_a_json_array() {
        assert_eq!(id_list(&[]), "[]");
        assert_eq!(id_list(&[3]), "[3]");
        assert_eq!(id_list(&[1, -2, i64::MAX]), format!("[1,-2,{}]", i64::MAX));
    }
}
