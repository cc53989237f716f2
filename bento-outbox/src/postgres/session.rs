//! The relay's side of the PostgreSQL outbox: leadership by a session
//! advisory lock, claims, settlement, and waiting on `LISTEN/NOTIFY`. The
//! loop that drives these (batching, pacing, verdicts) is bento-core's.
//!
//! The leader keeps one batch in hand at a time, so a row is never in two
//! batches, a row committed late (with a lower id) is simply found by the
//! next claim, and a crash re-sends at most the batch in hand.

use std::time::Duration;

use futures_util::TryStreamExt;

use bento_core::integration::store::{
    BoxFuture, Claim, Erasures, Fence, Settle, StoreError, StoreSession, StoredRow,
};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool, Postgres};

use super::runtime::AppRuntime;
use super::schema::RELAY_LOCK;
use crate::erasure::Keyring;
use crate::row::{kind_of, unknown_kind};

/// Waits until this instance holds the relay lock, on a connection of the
/// application's pool that holds it as long as it lives (and is then closed,
/// never handed back: it carries the lock and the session's settings).
/// Between attempts it holds no connection.
pub(crate) async fn elect(
    pool: &PgPool,
    takeover_interval: Duration,
    app: AppRuntime,
    keyring: Keyring,
) -> Result<Box<dyn StoreSession>, StoreError> {
    loop {
        let attempt = pool.clone();
        let mut conn = app.run(async move { attempt.acquire().await }).await??;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if leader {
            conn.close_on_drop();
            return Ok(Box::new(
                PgSession::start(conn, pool.clone(), app, keyring).await?,
            ));
        }
        // Back to the application's pool until the next attempt.
        drop(conn);
        tokio::time::sleep(takeover_interval).await;
    }
}

/// The leader's session: its locked connection, and a second one for `LISTEN`,
/// both from the application's pool.
struct PgSession {
    conn: PoolConnection<Postgres>,
    pool: PgPool,
    app: AppRuntime,
    listener: Option<PgListener>,
    /// Who this session is, in `bento_outbox_relay.leader`: the fence
    /// `sending` checks.
    me: String,
    /// The database's erasure key, for checking claimed rows.
    keyring: Keyring,
}

/// Unique per session, so a process that leads twice never mistakes its
/// earlier session's record for this one's.
fn holder() -> String {
    static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{} pid {} session {}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown host".to_owned()),
        std::process::id(),
        SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

impl PgSession {
    async fn start(
        mut conn: PoolConnection<Postgres>,
        pool: PgPool,
        app: AppRuntime,
        keyring: Keyring,
    ) -> Result<Self, StoreError> {
        for setting in [
            "SET application_name = 'bento-outbox-relay'",
            // Losing a delete in a database crash re-sends the batch, which
            // the at-least-once contract allows: no need to wait for the disk.
            "SET synchronous_commit = off",
            // A vanished host is noticed by the server through keepalives,
            // which ends this session and frees the lock for another instance.
            "SET tcp_keepalives_idle = 5",
            "SET tcp_keepalives_interval = 2",
            "SET tcp_keepalives_count = 3",
        ] {
            let _ = sqlx::query(setting).execute(&mut *conn).await;
        }
        let listener = listen(&pool, &app).await;
        Ok(Self {
            conn,
            pool,
            app,
            listener,
            me: holder(),
            keyring,
        })
    }
}

impl StoreSession for PgSession {
    fn interrupted(&mut self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
                "UPDATE bento_outbox_relay SET leader = $1, leader_since = now()
                 RETURNING sending_first, sending_last",
            )
            .bind(&self.me)
            .fetch_one(&mut *self.conn)
            .await?;
            let (Some(first), Some(last)) = (first, last) else {
                return Ok(0);
            };
            // The previous leader stopped while sending these: Bento may have them.
            let again: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM bento_outbox WHERE NOT dead AND id BETWEEN $1 AND $2",
            )
            .bind(first)
            .bind(last)
            .fetch_one(&mut *self.conn)
            .await?;
            Ok(again.max(0) as u64)
        })
    }

    fn claim(&mut self, claim: Claim) -> BoxFuture<'_, Result<Vec<StoredRow>, StoreError>> {
        Box::pin(async move {
            if claim.outside.is_none()
                && let Some(listener) = self.listener.as_mut()
            {
                // Notifications so far are about rows this claim sees.
                while listener.next_buffered().is_some() {}
            }
            let (first, last) = claim.outside.unwrap_or((0, -1));
            // Read row by row, stopping at the byte limit (and always taking
            // the first): what the relay holds is bounded by bytes, however
            // large the rows.
            let rows = sqlx::query_as::<_, (i64, i16, String, f64)>(
                "SELECT id, kind, body::text,
                        extract(epoch FROM clock_timestamp() - created_at)::float8 * 1000
                 FROM bento_outbox WHERE NOT dead AND (id < $1 OR id > $2)
                 ORDER BY id LIMIT $3",
            )
            .bind(first)
            .bind(last)
            .bind(i64::try_from(claim.rows).unwrap_or(i64::MAX))
            .fetch(&mut *self.conn)
            .map_ok(Claimed);
            Ok(crate::claim::within_bytes(rows, claim.bytes).await?)
        })
    }

    fn sending(&mut self, first: i64, last: i64) -> BoxFuture<'_, Result<Fence, StoreError>> {
        Box::pin(async move {
            // The fence: the session advisory lock already makes this
            // connection the only leader, and the record must be this
            // session's own, in the statement that writes the range. An
            // erasure holding the row's lock is waited for, and its count
            // read (see `erasure.rs`).
            let erasures: Option<i64> = sqlx::query_scalar(
                "UPDATE bento_outbox_relay
                 SET sending_first = $1, sending_last = $2, sending_since = now(),
                     fences = fences + 1
                 WHERE leader = $3
                 RETURNING erasures",
            )
            .bind(first)
            .bind(last)
            .bind(&self.me)
            .fetch_optional(&mut *self.conn)
            .await?;
            let Some(erasures) = erasures else {
                return Err(
                    "another instance leads the Bento outbox now; this one sends nothing".into(),
                );
            };
            Ok(Fence::new(erasures.max(0) as u64))
        })
    }

    fn erased<'a>(
        &'a mut self,
        subjects: &'a [Option<&'a str>],
    ) -> BoxFuture<'a, Result<Erasures, StoreError>> {
        Box::pin(async move {
            Ok(super::erasure::erased(&mut self.conn, &self.keyring, subjects).await?)
        })
    }

    fn settle<'a>(
        &'a mut self,
        ids: &'a [i64],
        outcome: Settle<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            settle(&mut self.conn, ids, outcome).await?;
            Ok(())
        })
    }

    fn wait(&mut self, poll: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let Some(listener) = self.listener.as_mut() else {
                tokio::time::sleep(poll).await;
                // Try LISTEN again: the notification path is the fast one.
                self.listener = listen(&self.pool, &self.app).await;
                return Ok(());
            };
            tokio::select! {
                got = listener.try_recv() => {
                    // A lost connection (`Ok(None)`) is reopened on the
                    // application's runtime, not here: polling until then.
                    match got {
                        Ok(Some(_)) => {}
                        Ok(None) => self.listener = None,
                        Err(error) => {
                            tracing::debug!(%error, "the outbox relay's LISTEN connection failed; polling until it is back");
                            self.listener = None;
                        }
                    }
                }
                () = tokio::time::sleep(poll) => {}
            }
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let PgSession {
                conn,
                listener,
                app,
                ..
            } = *self;
            // The listener's connection goes back to the application's pool
            // from the application's runtime (its drop spawns the return).
            let _ = app.run(async move { drop(listener) }).await;
            // Closing the locked connection frees the lock at once.
            let _ = conn.close().await;
        })
    }
}

/// A claimed row: id, kind, body, age in milliseconds.
struct Claimed((i64, i16, String, f64));

impl crate::claim::Read for Claimed {
    fn size(&self) -> usize {
        self.0.2.len()
    }

    fn into_row(self) -> Result<StoredRow, sqlx::Error> {
        let (id, kind, json, age_ms) = self.0;
        let age = crate::claim::age(age_ms);
        Ok(match kind_of(i64::from(kind)) {
            Some(kind) => StoredRow::new(id, age, kind, json),
            None => StoredRow::unreadable(id, age, unknown_kind(kind)),
        })
    }
}

/// Deletes delivered rows, or marks them dead with the reason, and clears
/// the in-flight range, in one statement.
async fn settle(
    conn: &mut PgConnection,
    ids: &[i64],
    outcome: Settle<'_>,
) -> Result<(), sqlx::Error> {
    match outcome {
        Settle::Dead { reason, attempts } => {
            sqlx::query(
                "WITH marked AS (
                    UPDATE bento_outbox
                    SET dead = true, reason = $2, attempts = attempts + $3, failed_at = now()
                    WHERE id = ANY($1)
                 )
                 UPDATE bento_outbox_relay SET sending_first = NULL, sending_last = NULL",
            )
            .bind(ids)
            .bind(reason)
            .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
            .execute(conn)
            .await?;
        }
        // Delivered (and any outcome a newer bento-core adds): rows leave.
        _ => {
            // By runs of consecutive ids (a claim is mostly one run): a
            // range scan deletes three times faster than 1000 lookups.
            let (firsts, lasts) = runs(ids);
            sqlx::query(
                "WITH gone AS (
                    DELETE FROM bento_outbox o
                    USING unnest($1::bigint[], $2::bigint[]) AS r(first, last)
                    WHERE o.id BETWEEN r.first AND r.last
                 )
                 UPDATE bento_outbox_relay SET sending_first = NULL, sending_last = NULL",
            )
            .bind(&firsts)
            .bind(&lasts)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Sorted ids as runs of consecutive ids: their firsts and lasts.
fn runs(ids: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let (mut firsts, mut lasts) = (Vec::new(), Vec::<i64>::new());
    for id in sorted {
        match lasts.last_mut() {
            Some(last) if last.checked_add(1) == Some(id) => *last = id,
            _ => {
                firsts.push(id);
                lasts.push(id);
            }
        }
    }
    (firsts, lasts)
}

/// A `LISTEN` on a connection of the application's pool, opened on its
/// runtime; `None` (the relay polls) when that fails.
async fn listen(pool: &PgPool, app: &AppRuntime) -> Option<PgListener> {
    let pool = pool.clone();
    match app.run(async move { listen_on(&pool).await }).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::debug!(%error, "the outbox relay cannot LISTEN; it polls instead");
            None
        }
    }
}

async fn listen_on(pool: &PgPool) -> Option<PgListener> {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::debug!(%error, "the outbox relay cannot LISTEN; it polls instead");
            return None;
        }
    };
    // A lost connection is reported (`try_recv` answers `None`), not
    // reopened on whichever runtime polls: `listen` reopens it on the
    // application's.
    listener.eager_reconnect(false);
    match listener.listen("bento_outbox").await {
        Ok(()) => Some(listener),
        Err(error) => {
            tracing::debug!(%error, "the outbox relay cannot LISTEN; it polls instead");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn ids_compress_to_runs_that_cover_exactly_them() {
        assert_eq!(runs(&[]), (vec![], vec![]));
        assert_eq!(runs(&[5]), (vec![5], vec![5]));
        assert_eq!(runs(&[1, 2, 3, 7, 8, 10]), (vec![1, 7, 10], vec![3, 8, 10]));
        assert_eq!(runs(&[3, 1, 2, 2]), (vec![1], vec![3]));
        assert_eq!(
            runs(&[i64::MAX - 1, i64::MAX]),
            (vec![i64::MAX - 1], vec![i64::MAX])
        );
    }
}
