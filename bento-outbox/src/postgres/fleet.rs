//! Fleet-wide pacing: every instance takes its request slots from one budget
//! per endpoint family, kept in the database (`bento_outbox_slot`), so the
//! fleet together stays under Bento's limits.
//!
//! A slot is held from its grant until its request ended, and counts for a
//! window after that, as in the local pacer: however late a granted request
//! leaves (a starved thread, a slow connect, a stalled database), Bento never
//! sees more than N arrivals in one window. A slot whose end is never
//! recorded (its process died, the database was unreachable then) counts
//! until its grant plus the longest a request can take, plus a window.
//!
//! The local pacer is always asked first, so a process never sends more than
//! the limit alone, also while the database is unreachable: then this pacer
//! says so at once (no call waits for a pool's timeout) and a background
//! probe finds out when it answers again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bento_core::EndpointFamily;
use bento_core::RateLimit;
use bento_core::budget::{BoxFuture, Budget, RateBudget, RemoteSlot, SlotRequest};
use bento_core::delivery::on_delivery_thread;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// How long after a failure the database is asked again.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// The database side of the pacer.
pub(crate) struct FleetPacer {
    /// For direct calls, on the application's runtimes.
    callers: PgPool,
    /// For the delivery thread, whose runtime is its own: a connection made
    /// there must not end up in a pool the application uses after that
    /// runtime is gone.
    engine: PgPool,
    /// The longest a budget call may take before the database counts as
    /// unreachable.
    timeout: Duration,
    health: Arc<Health>,
}

/// Whether the database answers, shared with the probe.
#[derive(Default)]
struct Health {
    /// Set while the database cannot be reached: calls pace this process
    /// alone without asking it, and each episode warns once.
    down: AtomicBool,
    probing: AtomicBool,
}

impl Health {
    fn up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::info!("fleet-wide Bento pacing works again");
        }
    }

    fn failed(&self, error: &dyn std::fmt::Display) {
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(%error, "fleet-wide Bento pacing cannot reach the database; pacing this process alone until it answers");
        }
    }
}

impl std::fmt::Debug for FleetPacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetPacer")
            .field("down", &self.health.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn family_name(family: EndpointFamily) -> &'static str {
    match family {
        EndpointFamily::Fetch => "fetch",
        EndpointFamily::Batch => "batch",
        EndpointFamily::Experimental => "experimental",
        EndpointFamily::Stats => "stats",
        _ => "other",
    }
}

/// The window a fleet paces against through its database: the grant and
/// the request are further apart than in one process (a database round
/// trip, another process's scheduling), so the margin is at least 50 ms.
fn fleet_window(limit: RateLimit) -> Duration {
    let window = limit.window();
    window.saturating_add((window / 200).max(Duration::from_millis(50)))
}

impl FleetPacer {
    /// `timeout` bounds each budget call.
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
                .acquire_timeout(timeout)
                .connect_lazy_with(options.clone())
        };
        Self {
            callers: pool_of(4),
            engine: pool_of(2),
            timeout,
            health: Arc::default(),
        }
    }

    fn pool(&self) -> &PgPool {
        if on_delivery_thread() {
            &self.engine
        } else {
            &self.callers
        }
    }

    /// Takes a fleet-wide slot for `family`, or says how long until one may
    /// be free, or that the local pacer alone decides.
    async fn take_slot(&self, request: SlotRequest) -> Budget {
        let SlotRequest {
            family,
            limit,
            hold,
            ..
        } = request;
        if self.health.down.load(Ordering::Acquire) {
            self.probe();
            return Budget::Local;
        }
        let pool = self.pool();
        let taken = tokio::time::timeout(
            self.timeout,
            sqlx::query_as::<_, (f64, Option<i64>)>(
                "SELECT wait_ms, slot FROM bento_outbox_hold_slot($1, $2, $3, $4)",
            )
            .bind(family_name(family))
            .bind(limit.requests() as i32)
            .bind(fleet_window(limit).as_secs_f64() * 1000.0)
            .bind(hold.as_secs_f64() * 1000.0)
            .fetch_one(pool),
        )
        .await;
        match taken {
            Ok(Ok((_, Some(slot)))) => Budget::Slot(Box::new(FleetSlot {
                slot,
                pool: pool.clone(),
                timeout: self.timeout,
            })),
            Ok(Ok((wait_ms, None))) => {
                let ms = if wait_ms.is_finite() {
                    wait_ms.clamp(1.0, 86_400_000.0)
                } else {
                    1000.0
                };
                Budget::Wait(Duration::from_secs_f64(ms / 1000.0))
            }
            Ok(Err(error)) => {
                self.health.failed(&error);
                Budget::Local
            }
            Err(_) => {
                self.health
                    .failed(&format_args!("no answer within {:?}", self.timeout));
                Budget::Local
            }
        }
    }

    /// While the database is down: asks it again in the background, at most
    /// once per [`PROBE_INTERVAL`], so no caller waits on it.
    fn probe(&self) {
        if self.health.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.health.probing.store(false, Ordering::Release);
            return;
        };
        let health = Arc::clone(&self.health);
        let pool = self.pool().clone();
        let timeout = self.timeout;
        runtime.spawn(async move {
            tokio::time::sleep(PROBE_INTERVAL).await;
            let answered = tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(&pool))
                .await
                .is_ok_and(|done| done.is_ok());
            if answered {
                health.up();
            }
            health.probing.store(false, Ordering::Release);
        });
    }

    /// Holds the whole fleet back for `delay` (Bento's `Retry-After`).
    async fn defer_family(&self, family: EndpointFamily, delay: Duration) {
        if self.health.down.load(Ordering::Acquire) {
            return;
        }
        let done = tokio::time::timeout(
            self.timeout,
            sqlx::query("SELECT bento_outbox_defer($1, $2)")
                .bind(family_name(family))
                .bind(delay.as_secs_f64() * 1000.0)
                .execute(self.pool()),
        )
        .await;
        match done {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => self.health.failed(&error),
            Err(_) => self.health.failed(&"no answer to a deferral"),
        }
    }
}

impl RateBudget for FleetPacer {
    fn take(&self, request: SlotRequest) -> BoxFuture<'_, Budget> {
        Box::pin(self.take_slot(request))
    }

    fn defer(&self, family: EndpointFamily, delay: Duration) -> BoxFuture<'_, ()> {
        Box::pin(self.defer_family(family, delay))
    }
}

/// A slot held in `bento_outbox_slot`.
struct FleetSlot {
    slot: i64,
    pool: PgPool,
    timeout: Duration,
}

impl RemoteSlot for FleetSlot {
    fn end(self: Box<Self>, used: bool) {
        // Recorded in the background: the request's answer is not held up
        // by the database, and a record that never lands only keeps the
        // slot until its hold runs out.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let _ = tokio::time::timeout(
                self.timeout,
                sqlx::query("SELECT bento_outbox_end_slot($1, $2)")
                    .bind(self.slot)
                    .bind(used)
                    .execute(&self.pool),
            )
            .await;
        });
    }
}
