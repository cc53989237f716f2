//! Pacing shared by every process using one database: each takes its
//! request slots from one budget per endpoint family kept in the database,
//! so the fleet together (or a leader and the successor that took over in
//! the same window) stays under Bento's limits. Each database keeps the
//! budget its own way ([`Slots`]); the rules around it are here.
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
//! says so quickly (each call waits at most the outbox's timeout and never
//! more than [`CALL_TIMEOUT`], not a pool's acquire timeout) and a
//! background probe finds out when it answers again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bento_core::integration::budget::{BoxFuture, Budget, RateBudget, RemoteSlot, SlotRequest};
use bento_core::{EndpointFamily, RateLimit};

/// How long after a failure the database is asked again.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// The longest one budget call may take before the database counts as
/// unreachable: a healthy one answers in milliseconds, and a caller must not
/// wait out a whole outbox timeout (10 s by default) for a slot.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// The outbox's timeout, capped at [`CALL_TIMEOUT`].
pub(crate) fn call_timeout(outbox_timeout: Duration) -> Duration {
    outbox_timeout.min(CALL_TIMEOUT)
}

/// What a database does to keep the budget.
pub(crate) trait Slots: Send + Sync + 'static {
    /// Takes a slot of `family` (`Ok(id)`) if fewer than `limit` are held
    /// or ended less than `window` ago, holding it for at most `hold`; else
    /// says how long until one may be free (`Err(wait)`).
    fn take(
        &self,
        family: &'static str,
        limit: u32,
        window: Duration,
        hold: Duration,
    ) -> BoxFuture<'_, Result<Result<i64, Duration>, sqlx::Error>>;

    /// The slot's request ended now (`used`), or never went out.
    fn end(&self, slot: i64, used: bool) -> BoxFuture<'static, Result<(), sqlx::Error>>;

    /// The slot's request was answered 429: ends it, and lowers the fleet's
    /// rate of `family` to what the fleet had sent in `window` (less the
    /// episode's 429s and a margin), within `[before / 2, before]`, for
    /// `settle`; returns that rate. Later `take`s pace to no more.
    fn refused(
        &self,
        slot: i64,
        family: &'static str,
        before: u32,
        window: Duration,
        settle: Duration,
    ) -> BoxFuture<'static, Result<u32, sqlx::Error>>;

    /// Holds `family` back for `delay` for everyone (Bento's `Retry-After`).
    fn defer(
        &self,
        family: &'static str,
        delay: Duration,
    ) -> BoxFuture<'_, Result<(), sqlx::Error>>;

    /// Whether the database answers.
    fn ping(&self) -> BoxFuture<'static, Result<(), sqlx::Error>>;
}

/// The budget's name for a family.
pub(crate) fn family_name(family: EndpointFamily) -> &'static str {
    match family {
        EndpointFamily::Fetch => "fetch",
        EndpointFamily::Batch => "batch",
        EndpointFamily::Experimental => "experimental",
        EndpointFamily::Stats => "stats",
        EndpointFamily::Deletion => "deletion",
        EndpointFamily::Delivery => "delivery",
        EndpointFamily::Chat => "chat",
        _ => "other",
    }
}

/// The window a fleet paces against through its database: the grant and
/// the request are further apart than in one process (a database round
/// trip, another process's scheduling), so the margin is at least 50 ms.
pub(crate) fn fleet_window(limit: RateLimit) -> Duration {
    let window = limit.window();
    window.saturating_add((window / 200).max(Duration::from_millis(50)))
}

/// A [`RateBudget`] kept by a database.
pub(crate) struct SharedPacer<S: Slots> {
    slots: Arc<S>,
    /// The longest one call waits for the database.
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

impl<S: Slots> std::fmt::Debug for SharedPacer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPacer")
            .field("down", &self.health.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: Slots> SharedPacer<S> {
    /// Each call waits for the database at most `timeout`, capped at
    /// [`CALL_TIMEOUT`].
    pub(crate) fn new(slots: S, timeout: Duration) -> Self {
        Self {
            slots: Arc::new(slots),
            timeout: call_timeout(timeout),
            health: Arc::default(),
        }
    }

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
        let taken = tokio::time::timeout(
            self.timeout,
            self.slots.take(
                family_name(family),
                limit.requests(),
                fleet_window(limit),
                hold,
            ),
        )
        .await;
        match taken {
            Ok(Ok(Ok(slot))) => Budget::Slot(Box::new(HeldSlot {
                slot,
                family: family_name(family),
                slots: Arc::clone(&self.slots),
                timeout: self.timeout,
            })),
            Ok(Ok(Err(wait))) => {
                Budget::Wait(wait.clamp(Duration::from_millis(1), Duration::from_secs(86_400)))
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
        let ping = self.slots.ping();
        let timeout = self.timeout;
        runtime.spawn(async move {
            tokio::time::sleep(PROBE_INTERVAL).await;
            let answered = tokio::time::timeout(timeout, ping)
                .await
                .is_ok_and(|done| done.is_ok());
            if answered {
                health.up();
            }
            health.probing.store(false, Ordering::Release);
        });
    }

    async fn defer_family(&self, family: EndpointFamily, delay: Duration) {
        if self.health.down.load(Ordering::Acquire) {
            return;
        }
        let done =
            tokio::time::timeout(self.timeout, self.slots.defer(family_name(family), delay)).await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self.health.failed(&error),
            Err(_) => self.health.failed(&"no answer to a deferral"),
        }
    }
}

impl<S: Slots> RateBudget for SharedPacer<S> {
    fn take(&self, request: SlotRequest) -> BoxFuture<'_, Budget> {
        Box::pin(self.take_slot(request))
    }

    fn defer(&self, family: EndpointFamily, delay: Duration) -> BoxFuture<'_, ()> {
        Box::pin(self.defer_family(family, delay))
    }
}

/// A slot held in the database.
struct HeldSlot<S: Slots> {
    slot: i64,
    family: &'static str,
    slots: Arc<S>,
    timeout: Duration,
}

impl<S: Slots> RemoteSlot for HeldSlot<S> {
    fn end(self: Box<Self>, used: bool) {
        // Recorded in the background: the request's answer is not held up
        // by the database, and a record that never lands only keeps the
        // slot until its hold runs out.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let end = self.slots.end(self.slot, used);
        let timeout = self.timeout;
        runtime.spawn(async move {
            let _ = tokio::time::timeout(timeout, end).await;
        });
    }

    fn refused(
        self: Box<Self>,
        before: RateLimit,
        settle: Duration,
    ) -> BoxFuture<'static, Option<u32>> {
        let refused = self.slots.refused(
            self.slot,
            self.family,
            before.requests(),
            fleet_window(before),
            settle,
        );
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, refused).await {
                Ok(Ok(rate)) => {
                    tracing::info!(
                        family = self.family,
                        rate,
                        "Bento answered 429: the fleet paces to what it had sent"
                    );
                    Some(rate)
                }
                // The slot's hold runs out by itself, and this process
                // paces to what it alone had sent.
                Ok(Err(_)) | Err(_) => None,
            }
        })
    }
}
