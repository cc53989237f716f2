//! The shared budget in PostgreSQL: `bento_outbox_hold_slot` and its
//! siblings (see `schema.rs`), on pools of the pacer's own.

use std::time::Duration;

use bento_core::integration::budget::BoxFuture;
use bento_core::integration::on_delivery_thread;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::pacing::{Slots, call_timeout};

pub(crate) struct PgSlots {
    /// For direct calls, on the application's runtimes.
    callers: PgPool,
    /// For the delivery thread, whose runtime is its own: a connection made
    /// there must not end up in a pool the application uses after that
    /// runtime is gone.
    engine: PgPool,
}

impl PgSlots {
    pub(crate) fn new(pool: &PgPool, timeout: Duration) -> Self {
        // A lost budget update costs at most one slot, never an item: no
        // need to wait for the disk at every call.
        let options = pool
            .connect_options()
            .as_ref()
            .clone()
            .options([("synchronous_commit", "off")])
            .application_name("bento-fleet-pacing");
        let pool_of = |size| {
            PgPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(call_timeout(timeout))
                .connect_lazy_with(options.clone())
        };
        Self {
            callers: pool_of(4),
            engine: pool_of(2),
        }
    }

    fn pool(&self) -> &PgPool {
        if on_delivery_thread() {
            &self.engine
        } else {
            &self.callers
        }
    }
}

impl Slots for PgSlots {
    fn take(
        &self,
        family: &'static str,
        limit: u32,
        window: Duration,
        hold: Duration,
    ) -> BoxFuture<'_, Result<Result<i64, Duration>, sqlx::Error>> {
        Box::pin(async move {
            let (wait_ms, slot) = sqlx::query_as::<_, (f64, Option<i64>)>(
                "SELECT wait_ms, slot FROM bento_outbox_hold_slot($1, $2, $3, $4)",
            )
            .bind(family)
            .bind(i32::try_from(limit).unwrap_or(i32::MAX))
            .bind(window.as_secs_f64() * 1000.0)
            .bind(hold.as_secs_f64() * 1000.0)
            .fetch_one(self.pool())
            .await?;
            Ok(match slot {
                Some(slot) => Ok(slot),
                None => Err(millis(wait_ms)),
            })
        })
    }

    fn end(&self, slot: i64, used: bool) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        let pool = self.pool().clone();
        Box::pin(async move {
            sqlx::query("SELECT bento_outbox_end_slot($1, $2)")
                .bind(slot)
                .bind(used)
                .execute(&pool)
                .await?;
            Ok(())
        })
    }

    fn defer(
        &self,
        family: &'static str,
        delay: Duration,
    ) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move {
            sqlx::query("SELECT bento_outbox_defer($1, $2)")
                .bind(family)
                .bind(delay.as_secs_f64() * 1000.0)
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }

    fn ping(&self) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        let pool = self.pool().clone();
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&pool).await?;
            Ok(())
        })
    }
}

/// A wait the database computed, in milliseconds, as a duration (a
/// non-finite one as a second).
pub(crate) fn millis(ms: f64) -> Duration {
    let ms = if ms.is_finite() {
        ms.clamp(1.0, 86_400_000.0)
    } else {
        1000.0
    };
    Duration::from_secs_f64(ms / 1000.0)
}
