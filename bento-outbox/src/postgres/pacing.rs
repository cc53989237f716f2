//! The shared budget in PostgreSQL: `bento_outbox_hold_slot` and its
//! siblings (see `schema.rs`), on the application's pool.

use std::time::Duration;

use bento_core::integration::budget::BoxFuture;
use bento_core::integration::on_delivery_thread;
use sqlx::PgPool;

use super::runtime::AppRuntime;
use crate::pacing::Slots;

pub(crate) struct PgSlots {
    /// The application's pool: every call uses one of its connections.
    pool: PgPool,
    /// Where calls from the delivery thread run, so that a connection they
    /// open belongs to the application's runtime, as the pool's others do.
    app: AppRuntime,
}

impl PgSlots {
    pub(crate) fn new(pool: &PgPool, app: AppRuntime) -> Self {
        Self {
            pool: pool.clone(),
            app,
        }
    }

    /// Runs one budget call: here for the application's own callers, on the
    /// application's runtime for the delivery thread's.
    async fn call<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'static,
    ) -> Result<T, sqlx::Error> {
        if on_delivery_thread() {
            self.app
                .run(work)
                .await
                .map_err(|error| sqlx::Error::Io(std::io::Error::other(error)))?
        } else {
            work.await
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
        let pool = self.pool.clone();
        Box::pin(async move {
            let (wait_ms, slot) = self
                .call(async move {
                    sqlx::query_as::<_, (f64, Option<i64>)>(
                        "SELECT wait_ms, slot FROM bento_outbox_hold_slot($1, $2, $3, $4)",
                    )
                    .bind(family)
                    .bind(i32::try_from(limit).unwrap_or(i32::MAX))
                    .bind(window.as_secs_f64() * 1000.0)
                    .bind(hold.as_secs_f64() * 1000.0)
                    .fetch_one(&pool)
                    .await
                })
                .await?;
            Ok(match slot {
                Some(slot) => Ok(slot),
                None => Err(millis(wait_ms)),
            })
        })
    }

    fn end(&self, slot: i64, used: bool) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        let (pool, app, here) = (self.pool.clone(), self.app.clone(), on_delivery_thread());
        Box::pin(async move {
            let work = async move {
                sqlx::query("SELECT bento_outbox_end_slot($1, $2)")
                    .bind(slot)
                    .bind(used)
                    .execute(&pool)
                    .await
                    .map(drop)
            };
            if here {
                app.run(work)
                    .await
                    .map_err(|error| sqlx::Error::Io(std::io::Error::other(error)))?
            } else {
                work.await
            }
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
        let (pool, app, here) = (self.pool.clone(), self.app.clone(), on_delivery_thread());
        Box::pin(async move {
            let work = async move {
                sqlx::query_scalar::<_, i32>("SELECT bento_outbox_refused($1, $2, $3, $4, $5)")
                    .bind(slot)
                    .bind(family)
                    .bind(i32::try_from(before).unwrap_or(i32::MAX))
                    .bind(window.as_secs_f64() * 1000.0)
                    .bind(settle.as_secs_f64() * 1000.0)
                    .fetch_one(&pool)
                    .await
            };
            let rate = if here {
                app.run(work)
                    .await
                    .map_err(|error| sqlx::Error::Io(std::io::Error::other(error)))??
            } else {
                work.await?
            };
            Ok(u32::try_from(rate).unwrap_or(1).max(1))
        })
    }

    fn defer(
        &self,
        family: &'static str,
        delay: Duration,
    ) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            self.call(async move {
                sqlx::query("SELECT bento_outbox_defer($1, $2)")
                    .bind(family)
                    .bind(delay.as_secs_f64() * 1000.0)
                    .execute(&pool)
                    .await
                    .map(drop)
            })
            .await
        })
    }

    fn ping(&self) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        let (pool, app, here) = (self.pool.clone(), self.app.clone(), on_delivery_thread());
        Box::pin(async move {
            let work = async move { sqlx::query("SELECT 1").execute(&pool).await.map(drop) };
            if here {
                app.run(work)
                    .await
                    .map_err(|error| sqlx::Error::Io(std::io::Error::other(error)))?
            } else {
                work.await
            }
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
