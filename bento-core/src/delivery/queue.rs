//! State shared by the producers (`track` on any thread) and the delivery
//! thread: the capacity reservation and the counters. Lock-free, so `track`
//! never blocks.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};

use super::handle::FlushResult;
use super::metrics;
use super::report::DeliveryStats;

pub(crate) struct Shared {
    pub(crate) capacity: usize,
    /// Items accepted and not yet resolved, wherever they are (channel,
    /// batch, in flight, retry queue): what the capacity bounds, so memory
    /// stays bounded however long Bento is down.
    held: AtomicUsize,
    sent: AtomicU64,
    retried: AtomicU64,
    possible_duplicates: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    refused: AtomicU64,
    erased: AtomicU64,
    /// Set while the queue is refusing items, so each episode warns once.
    overflowing: AtomicBool,
    pub(crate) closed: AtomicBool,
    /// The outcome of the shutdown, once it is over: every caller of
    /// `shutdown` waits for this one drain and sees its real result.
    pub(crate) drained: watch::Sender<Option<FlushResult>>,
    /// Signalled whenever items leave the queue, for `track_wait`.
    pub(crate) space: Notify,
    /// Buffers of delivered items, reused by `track`: the same memory cycles
    /// between the callers and the delivery thread instead of being allocated
    /// on one thread and freed on another, which the system allocator
    /// handles poorly.
    buffers: Mutex<Vec<Vec<u8>>>,
}

/// Buffers kept for reuse, and the largest capacity worth keeping.
const POOLED_BUFFERS: usize = 4096;
const POOLED_CAPACITY: usize = 8 * 1024;

impl Shared {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            held: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            possible_duplicates: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            erased: AtomicU64::new(0),
            overflowing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            drained: watch::Sender::new(None),
            space: Notify::new(),
            buffers: Mutex::new(Vec::new()),
        }
    }

    /// An empty buffer from the pool, if one is free and the pool is not busy
    /// (`track` never waits for a lock).
    pub(crate) fn reuse_buffer(&self) -> Option<Vec<u8>> {
        self.buffers.try_lock().ok()?.pop()
    }

    /// Returns delivered items' buffers to the pool.
    pub(crate) fn recycle(&self, buffers: impl Iterator<Item = Vec<u8>>) {
        let mut pool = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        for mut buffer in buffers {
            if pool.len() >= POOLED_BUFFERS {
                break;
            }
            if buffer.capacity() <= POOLED_CAPACITY {
                buffer.clear();
                pool.push(buffer);
            }
        }
    }

    /// Reserves room for `n` items, all or none.
    pub(crate) fn reserve(&self, n: usize) -> bool {
        let mut held = self.held.load(Ordering::Relaxed);
        loop {
            if held + n > self.capacity {
                return false;
            }
            match self.held.compare_exchange_weak(
                held,
                held + n,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => held = actual,
            }
        }
    }

    /// Gives back a reservation that was not used.
    pub(crate) fn unreserve(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::AcqRel);
        self.space.notify_waiters();
    }

    /// Counts refused items; true for the first refusal of an episode.
    pub(crate) fn refused(&self, n: usize) -> bool {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        metrics::count(metrics::DROPPED, n);
        !self.overflowing.swap(true, Ordering::Relaxed)
    }

    /// An item refused as the program's mistake.
    pub(crate) fn refused_as_bug(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        metrics::count(metrics::REFUSED, 1);
    }

    pub(crate) fn refused_closed(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        metrics::count(metrics::DROPPED, n);
    }

    /// Items delivered (`sent`) or given up on (`failed`) leave the queue.
    pub(crate) fn resolved(&self, sent: usize, failed: usize) {
        self.sent.fetch_add(sent as u64, Ordering::Relaxed);
        self.failed.fetch_add(failed as u64, Ordering::Relaxed);
        let before = self.held.fetch_sub(sent + failed, Ordering::AcqRel);
        let now = before - (sent + failed);
        metrics::count(metrics::SENT, sent);
        metrics::count(metrics::FAILED, failed);
        metrics::level(metrics::PENDING, now);
        if now <= self.capacity / 2 && self.overflowing.swap(false, Ordering::Relaxed) {
            tracing::info!(held = now, "Bento delivery queue has room again");
        }
        self.space.notify_waiters();
    }

    /// Items accepted earlier leave the queue, removed by an erasure.
    pub(crate) fn erased(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.erased.fetch_add(n as u64, Ordering::Relaxed);
        metrics::count(metrics::ERASED, n);
        self.held.fetch_sub(n, Ordering::AcqRel);
        self.space.notify_waiters();
    }

    /// Items about an erased subscriber refused by `track`/`enqueue`.
    pub(crate) fn refused_erased(&self, n: usize) {
        self.refused.fetch_add(n as u64, Ordering::Relaxed);
        metrics::count(metrics::REFUSED, n);
    }

    pub(crate) fn retrying(&self, n: usize) {
        self.retried.fetch_add(n as u64, Ordering::Relaxed);
        metrics::count(metrics::RETRIED, n);
    }

    /// Items about to be sent again though Bento may have recorded them.
    pub(crate) fn possibly_duplicated(&self, n: usize) {
        self.possible_duplicates
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Items that reached the delivery thread, for the metrics (`track`
    /// itself touches none).
    pub(crate) fn arrived(&self, n: usize) {
        metrics::count(metrics::QUEUED, n);
        metrics::level(metrics::PENDING, self.held.load(Ordering::Relaxed));
    }

    pub(crate) fn stats(&self) -> DeliveryStats {
        let sent = self.sent.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let pending = self.held.load(Ordering::Relaxed) as u64;
        let erased = self.erased.load(Ordering::Relaxed);
        DeliveryStats {
            // Every accepted item is sent, failed, erased or still held: one
            // counter fewer for `track` to touch.
            queued: sent + failed + erased + pending,
            sent,
            retried: self.retried.load(Ordering::Relaxed),
            possible_duplicates: self.possible_duplicates.load(Ordering::Relaxed),
            failed,
            dropped: self.dropped.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            erased,
            pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_capacity() {
        let shared = Shared::new(3);
        assert!(shared.reserve(2));
        assert!(!shared.reserve(2));
        assert!(shared.reserve(1));
        assert!(!shared.reserve(1));
        shared.resolved(1, 1);
        assert!(shared.reserve(2));
        assert_eq!(shared.stats().pending, 3);
        assert_eq!((shared.stats().sent, shared.stats().failed), (1, 1));
    }

    #[test]
    fn one_warning_per_overflow_episode() {
        let shared = Shared::new(2);
        assert!(shared.reserve(2));
        assert!(shared.refused(1));
        assert!(!shared.refused(1), "same episode");
        shared.resolved(1, 0);
        assert!(
            shared.refused(1),
            "a new episode once the queue drained to half"
        );
        assert_eq!(shared.stats().dropped, 3);
    }
}
