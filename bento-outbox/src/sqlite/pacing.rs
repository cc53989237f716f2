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
            // No more than the fleet's rate a 429 found, while it holds.
            let cap: Option<i64> = sqlx::query_scalar(
                "SELECT requests FROM bento_outbox_ceiling WHERE family = ?1 AND until > ?2",
            )
            .bind(family)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
            let limit = cap.map_or(i64::from(limit), |cap| cap.min(i64::from(limit)));
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
            if counted < limit {
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

    fn refused(
        &self,
        slot: i64,
        family: &'static str,
        before: u32,
        window: Duration,
        settle: Duration,
    ) -> BoxFuture<'static, Result<u32, sqlx::Error>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let w = window.as_secs_f64();
            let mut tx = Own::begin(&pool, Mode::Write).await?;
            let now: f64 = sqlx::query_scalar(&format!("SELECT {NOW}"))
                .fetch_one(tx.conn())
                .await?;
            sqlx::query(
                "UPDATE bento_outbox_slot SET until = ?2, done = 1 WHERE id = ?1 AND done = 0",
            )
            .bind(slot)
            .bind(now)
            .execute(tx.conn())
            .await?;
            let counted: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM bento_outbox_slot WHERE family = ?1 AND until > ?2",
            )
            .bind(family)
            .bind(now - w)
            .fetch_one(tx.conn())
            .await?;
            let episode: Option<(i64, f64, i64, i64, f64)> = sqlx::query_as(
                "SELECT requests, until, before, refused, refused_at
                 FROM bento_outbox_ceiling WHERE family = ?1",
            )
            .bind(family)
            .fetch_optional(tx.conn())
            .await?;
            let (before, refused) = fleet_episode(i64::from(before), episode, now, w);
            let learned = learned_rate(counted, refused, before);
            sqlx::query(
                "INSERT INTO bento_outbox_ceiling (family, requests, until, before, refused, refused_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (family) DO UPDATE SET
                    requests = excluded.requests, until = excluded.until,
                    before = excluded.before, refused = excluded.refused,
                    refused_at = excluded.refused_at",
            )
            .bind(family)
            .bind(learned)
            .bind(now + settle.as_secs_f64())
            .bind(before)
            .bind(refused)
            .bind(now)
            .execute(tx.conn())
            .await?;
            tx.commit().await?;
            Ok(u32::try_from(learned).unwrap_or(1).max(1))
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

/// The rate before this episode of 429s (429s less than a window apart) and
/// how many it holds with this one, from the family's last ceiling
/// `(requests, until, before, refused, refused_at)`.
fn fleet_episode(
    before: i64,
    last: Option<(i64, f64, i64, i64, f64)>,
    now: f64,
    window: f64,
) -> (i64, i64) {
    match last {
        Some((_, _, episode_before, refused, at)) if at > now - window => {
            (episode_before, refused + 1)
        }
        Some((requests, until, ..)) if until > now => (before.min(requests), 1),
        _ => (before, 1),
    }
}

/// What the fleet had sent in the window, less the episode's 429s and a
/// margin, within `[before / 2, before]`: as `bento_outbox_refused` on
/// PostgreSQL.
fn learned_rate(counted: i64, refused: i64, before: i64) -> i64 {
    (counted - refused - (counted / 50).max(1))
        .min(before)
        .max((before / 2).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_finds_the_fleets_rate_within_half_and_all_of_before() {
        // 61 sent, one of them refused, while pacing to 100: 59 after the margin.
        assert_eq!(learned_rate(61, 1, 100), 59);
        assert_eq!(learned_rate(10, 1, 100), 50, "never below half at once");
        assert_eq!(
            learned_rate(500, 1, 100),
            100,
            "never above the rate before"
        );
        assert_eq!(learned_rate(0, 1, 1), 1);
        // A second 429 within the window belongs to the same episode.
        assert_eq!(
            fleet_episode(59, Some((59, 1e9, 100, 1, 99.5)), 100.0, 2.0),
            (100, 2)
        );
        // A later one starts from the rate found, while it holds.
        assert_eq!(
            fleet_episode(100, Some((59, 1e9, 100, 3, 50.0)), 100.0, 2.0),
            (59, 1)
        );
        assert_eq!(
            fleet_episode(100, Some((59, 90.0, 100, 3, 50.0)), 100.0, 2.0),
            (100, 1)
        );
    }
}
