//! The shared budget in SQLite (`bento_outbox_slot`, `bento_outbox_budget`):
//! every process on the file takes its request slots here, so a leader that
//! takes over mid-window knows what its predecessor sent, and processes
//! sending from their in-memory queues share one limit. Each call is one
//! short `BEGIN IMMEDIATE` transaction on the application's pool.

use std::time::Duration;

use bento_core::integration::budget::BoxFuture;
use sqlx::SqlitePool;

use super::conn::{Mode, Own};
use super::schema::NOW;
use crate::pacing::Slots;

pub(crate) struct SqliteSlots {
    pool: SqlitePool,
}

impl SqliteSlots {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

impl Slots for SqliteSlots {
    fn take(
        &self,
        family: &'static str,
        limit: u32,
        window: Duration,
        hold: Duration,
    ) -> BoxFuture<'_, Result<Result<i64, Duration>, sqlx::Error>> {
        Box::pin(async move {
            let w = window.as_secs_f64();
            let mut tx = Own::begin(&self.pool, Mode::Write).await?;
            let now: f64 = sqlx::query_scalar(&format!("SELECT {NOW}"))
                .fetch_one(tx.conn())
                .await?;
            let blocked: Option<f64> = sqlx::query_scalar(
                "SELECT blocked_until FROM bento_outbox_budget WHERE family = ?1",
            )
            .bind(family)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(until) = blocked.filter(|until| *until > now) {
                tx.commit().await?;
                return Ok(Err(seconds(until - now)));
            }
            sqlx::query("DELETE FROM bento_outbox_slot WHERE family = ?1 AND until <= ?2")
                .bind(family)
                .bind(now - w)
                .execute(tx.conn())
                .await?;
            // A slot counts while held (until its hold), and for a window
            // after it ended.
            let (counted, freed): (i64, Option<f64>) = sqlx::query_as(
                "SELECT count(*),
                        min(CASE WHEN done = 1 OR until <= ?2 THEN until + ?3 ELSE ?2 + ?3 END)
                 FROM bento_outbox_slot WHERE family = ?1",
            )
            .bind(family)
            .bind(now)
            .bind(w)
            .fetch_one(tx.conn())
            .await?;
            if counted < i64::from(limit) {
                let slot: i64 = sqlx::query_scalar(
                    "INSERT INTO bento_outbox_slot (family, until) VALUES (?1, ?2) RETURNING id",
                )
                .bind(family)
                .bind(now + hold.as_secs_f64())
                .fetch_one(tx.conn())
                .await?;
                tx.commit().await?;
                return Ok(Ok(slot));
            }
            tx.commit().await?;
            Ok(Err(seconds(freed.unwrap_or(now + w) - now)))
        })
    }

    fn end(&self, slot: i64, used: bool) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut tx = Own::begin(&pool, Mode::Write).await?;
            let statement = if used {
                format!(
                    "UPDATE bento_outbox_slot SET until = {NOW}, done = 1 WHERE id = ?1 AND done = 0"
                )
            } else {
                "DELETE FROM bento_outbox_slot WHERE id = ?1 AND done = 0".to_owned()
            };
            sqlx::query(&statement)
                .bind(slot)
                .execute(tx.conn())
                .await?;
            tx.commit().await
        })
    }

    fn defer(
        &self,
        family: &'static str,
        delay: Duration,
    ) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let mut tx = Own::begin(&self.pool, Mode::Write).await?;
            sqlx::query(&format!(
                "INSERT INTO bento_outbox_budget (family, blocked_until) VALUES (?1, {NOW} + ?2)
                 ON CONFLICT (family) DO UPDATE
                 SET blocked_until = max(blocked_until, excluded.blocked_until)"
            ))
            .bind(family)
            .bind(delay.as_secs_f64())
            .execute(tx.conn())
            .await?;
            tx.commit().await
        })
    }

    fn ping(&self) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut tx = Own::begin(&pool, Mode::Read).await?;
            sqlx::query("SELECT 1").execute(tx.conn()).await?;
            tx.commit().await
        })
    }
}

/// A wait computed in seconds, at least a millisecond.
fn seconds(s: f64) -> Duration {
    if s.is_finite() {
        Duration::from_secs_f64(s.clamp(0.001, 86_400.0))
    } else {
        Duration::from_secs(1)
    }
}
