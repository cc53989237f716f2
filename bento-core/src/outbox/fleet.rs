//! Fleet-wide pacing: every instance takes its request slots from one budget
//! per endpoint family, kept in the database (`bento_outbox_budget`), so the
//! fleet together stays under Bento's limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::dispatch::on_delivery_thread;
use crate::transport::rate_limit::{EndpointFamily, Pacer, RateLimits};

/// The database side of the pacer.
pub(crate) struct FleetPacer {
    limits: RateLimits,
    /// For direct calls, on the application's runtimes.
    callers: PgPool,
    /// For the delivery thread, whose runtime is its own: a connection made
    /// there must not end up in a pool the application uses after that
    /// runtime is gone.
    engine: PgPool,
    /// Set while the database cannot be reached, so each episode warns once.
    unreachable: AtomicBool,
    /// Paces this process alone meanwhile.
    fallback: Pacer,
}

impl std::fmt::Debug for FleetPacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetPacer")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn family_name(family: EndpointFamily) -> &'static str {
    match family {
        EndpointFamily::Fetch => "fetch",
        EndpointFamily::Batch => "batch",
        EndpointFamily::Experimental => "experimental",
        EndpointFamily::Stats => "stats",
    }
}

impl FleetPacer {
    pub(crate) fn new(pool: &PgPool, limits: RateLimits) -> Self {
        let fallback = Pacer::new(&limits);
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
                .acquire_timeout(Duration::from_secs(5))
                .connect_lazy_with(options.clone())
        };
        Self {
            limits,
            callers: pool_of(4),
            engine: pool_of(1),
            unreachable: AtomicBool::new(false),
            fallback,
        }
    }

    fn pool(&self) -> &PgPool {
        if on_delivery_thread() {
            &self.engine
        } else {
            &self.callers
        }
    }

    /// Takes a fleet-wide slot for `family`, or says how long until one is
    /// free. When the database fails, paces this process alone and warns
    /// once per episode.
    pub(crate) async fn try_acquire(&self, family: EndpointFamily) -> Result<(), Duration> {
        let Some(limit) = self.limits.get(family) else {
            return Ok(());
        };
        let wait_ms: Result<f64, sqlx::Error> =
            sqlx::query_scalar("SELECT bento_outbox_take_slot($1, $2, $3)")
                .bind(family_name(family))
                .bind(limit.requests() as i32)
                .bind(limit.fleet_window().as_secs_f64() * 1000.0)
                .fetch_one(self.pool())
                .await;
        match wait_ms {
            Ok(ms) => {
                self.reachable();
                if ms > 0.0 && ms.is_finite() {
                    Err(Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0))
                } else {
                    Ok(())
                }
            }
            Err(error) => {
                self.failed(&error);
                self.fallback.try_acquire(family)
            }
        }
    }

    /// Holds the whole fleet back for `delay` (Bento's `Retry-After`).
    pub(crate) async fn defer(&self, family: EndpointFamily, delay: Duration) {
        let done = sqlx::query("SELECT bento_outbox_defer($1, $2)")
            .bind(family_name(family))
            .bind(delay.as_secs_f64() * 1000.0)
            .execute(self.pool())
            .await;
        if let Err(error) = done {
            self.failed(&error);
        }
    }

    fn reachable(&self) {
        if self.unreachable.swap(false, Ordering::Relaxed) {
            tracing::info!("fleet-wide Bento pacing works again");
        }
    }

    fn failed(&self, error: &sqlx::Error) {
        if !self.unreachable.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "fleet-wide Bento pacing cannot reach the database; pacing this process alone meanwhile");
        }
    }
}
