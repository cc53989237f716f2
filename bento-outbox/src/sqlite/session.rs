//! The relay's side of the SQLite outbox: a leader's session (claims,
//! sending, settlement, polling) over the lease of `lease.rs`. The loop that
//! drives it is bento-core's. Every statement runs in a transaction of the
//! outbox's own on a connection known to be sound (`conn.rs`), so a
//! connection left broken by the application can neither feed the relay a
//! stale snapshot nor keep it from writing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bento_core::integration::store::{
    BoxFuture, Claim, Erasures, Fence, Settle, StoreError, StoreSession, StoredRow,
};
use sqlx::SqlitePool;

use super::conn::{Mode, Own};
use super::erasure;
use super::lease;
use super::read;
use super::schema::NOW;
use crate::erasure::Keyring;

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

/// Rows made dead letters per transaction: a large backlog expiring at once
/// must not hold the write lock (and the application's writes) for long.
const DEAD_PER_TRANSACTION: usize = 100;

/// Waits until this process holds the lease.
pub(crate) async fn elect(
    pool: SqlitePool,
    takeover_interval: Duration,
    lease: Duration,
    keyring: Keyring,
) -> Result<Box<dyn StoreSession>, StoreError> {
    let me = lease::holder();
    loop {
        if lease::take(&pool, &me, lease).await? {
            return Ok(Box::new(SqliteSession::start(pool, me, lease, keyring)));
        }
        tokio::time::sleep(takeover_interval).await;
    }
}

struct SqliteSession {
    pool: SqlitePool,
    me: String,
    lease: Duration,
    /// Cleared by the renewal task when the lease was lost or taken.
    held: Arc<AtomicBool>,
    renewal: tokio::task::JoinHandle<()>,
    /// The database's erasure key, for checking claimed rows.
    keyring: Keyring,
}

impl SqliteSession {
    fn start(pool: SqlitePool, me: String, lease: Duration, keyring: Keyring) -> Self {
        let held = Arc::new(AtomicBool::new(true));
        let renewal = tokio::spawn(lease::renew(
            pool.clone(),
            me.clone(),
            lease,
            Arc::clone(&held),
        ));
        Self {
            pool,
            me,
            lease,
            held,
            renewal,
            keyring,
        }
    }

    /// The cheap check; the fence in [`sending`](StoreSession::sending) is
    /// the one that counts.
    fn check(&self) -> Result<(), StoreError> {
        if self.held.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err("the SQLite outbox's lease was lost (this process stalled past it, or the database failed)".into())
        }
    }
}

impl StoreSession for SqliteSession {
    fn interrupted(&mut self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut tx = Own::begin(&self.pool, Mode::Read).await?;
            let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT sending_first, sending_last FROM bento_outbox_lease WHERE id = 1",
            )
            .fetch_one(tx.conn())
            .await?;
            let (Some(first), Some(last)) = (first, last) else {
                tx.commit().await?;
                return Ok(0);
            };
            // The previous leader stopped while sending these: Bento may have them.
            let again: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM bento_outbox WHERE dead = 0 AND id BETWEEN ?1 AND ?2",
            )
            .bind(first)
            .bind(last)
            .fetch_one(tx.conn())
            .await?;
            tx.commit().await?;
            Ok(again.max(0) as u64)
        })
    }

    fn claim(&mut self, claim: Claim) -> BoxFuture<'_, Result<Vec<StoredRow>, StoreError>> {
        Box::pin(async move {
            self.check()?;
            let mut tx = Own::begin(&self.pool, Mode::Read).await?;
            let rows = read::claim(tx.conn(), claim).await?;
            tx.commit().await?;
            Ok(rows)
        })
    }

    fn sending(&mut self, first: i64, last: i64) -> BoxFuture<'_, Result<Fence, StoreError>> {
        Box::pin(async move {
            self.check()?;
            lease::fence(&self.pool, &self.me, self.lease, (first, last)).await
        })
    }

    fn erased<'a>(
        &'a mut self,
        subjects: &'a [Option<&'a str>],
    ) -> BoxFuture<'a, Result<Erasures, StoreError>> {
        Box::pin(async move {
            self.check()?;
            Ok(erasure::erased(&self.pool, &self.keyring, subjects).await?)
        })
    }

    fn settle<'a>(
        &'a mut self,
        ids: &'a [i64],
        outcome: Settle<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match outcome {
                Settle::Dead { reason, attempts } => {
                    for chunk in ids.chunks(DEAD_PER_TRANSACTION) {
                        let mut tx = Own::begin(&self.pool, Mode::Write).await?;
                        sqlx::query(&format!(
                            "UPDATE bento_outbox
                             SET dead = 1, reason = ?2, attempts = attempts + ?3, failed_at = {NOW}
                             WHERE id IN (SELECT value FROM json_each(?1))"
                        ))
                        .bind(id_list(chunk))
                        .bind(reason)
                        .bind(i64::from(attempts))
                        .execute(tx.conn())
                        .await?;
                        tx.commit().await?;
                    }
                    self.clear_sending().await?;
                }
                // Delivered (and any outcome a newer bento-core adds): rows leave.
                _ => {
                    let mut tx = Own::begin(&self.pool, Mode::Write).await?;
                    sqlx::query(
                        "DELETE FROM bento_outbox WHERE id IN (SELECT value FROM json_each(?1))",
                    )
                    .bind(id_list(ids))
                    .execute(tx.conn())
                    .await?;
                    clear_sending(&mut tx, &self.me).await?;
                    tx.commit().await?;
                }
            }
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
            let _ = lease::release(&self.pool, &self.me).await;
        })
    }
}

impl SqliteSession {
    async fn clear_sending(&self) -> Result<(), sqlx::Error> {
        let mut tx = Own::begin(&self.pool, Mode::Write).await?;
        clear_sending(&mut tx, &self.me).await?;
        tx.commit().await
    }
}

async fn clear_sending(tx: &mut Own, me: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE bento_outbox_lease SET sending_first = NULL, sending_last = NULL
         WHERE id = 1 AND holder = ?1",
    )
    .bind(me)
    .execute(tx.conn())
    .await?;
    Ok(())
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
