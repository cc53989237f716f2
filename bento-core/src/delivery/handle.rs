//! The producers' side of the delivery thread: the channels `track` sends
//! into, the control messages of `flush` and `shutdown`, and the wake-up
//! protocol that spares `track` a system call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use super::errors::FlushError;
use super::item::Encoded;
use super::report::DeliveryReport;

pub(crate) type FlushResult = Result<DeliveryReport, FlushError>;

/// Where the answer to a flush or shutdown goes: an async caller, or `Drop`,
/// which must not touch any runtime.
pub(crate) enum Reply {
    Async(oneshot::Sender<FlushResult>),
    Blocking(std::sync::mpsc::Sender<FlushResult>),
}

impl Reply {
    pub(crate) fn send(self, result: FlushResult) {
        // The caller may have stopped waiting (a cancelled future): fine.
        match self {
            Reply::Async(tx) => drop(tx.send(result)),
            Reply::Blocking(tx) => drop(tx.send(result)),
        }
    }
}

pub(crate) enum Control {
    Flush {
        timeout: Duration,
        reply: Reply,
    },
    Shutdown {
        timeout: Duration,
        reply: Reply,
    },
    /// Removes every item about `email` and answers once no request in
    /// flight carries any.
    Erase {
        email: String,
        reply: oneshot::Sender<Erased>,
    },
}

/// What an erasure found in the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Erased {
    /// Items removed before they were sent.
    pub(crate) removed: usize,
    /// Items in requests already in flight, waited for (a retry leaves them out).
    pub(crate) in_flight: usize,
}

/// The producers' ends of the worker's channels.
pub(crate) struct Handle {
    pub(crate) data: mpsc::UnboundedSender<Encoded>,
    pub(crate) control: mpsc::UnboundedSender<Control>,
    pub(crate) arrivals: Arc<Arrivals>,
}

/// Wakes the worker for new items only when it matters: when it holds no
/// items at all (so no timer will bring it back), and each time a batch's
/// worth has arrived. Waking a parked thread costs a system call and a
/// context switch, too much to pay on every `track`; otherwise the worker
/// finds new items when its flush-interval timer fires or a request ends.
pub(crate) struct Arrivals {
    unseen: AtomicUsize,
    batch: usize,
    pub(crate) wake: Notify,
    /// Set by the worker when it holds no items and has no timer armed.
    idle: AtomicBool,
}

impl Arrivals {
    pub(crate) fn new(batch: usize) -> Self {
        Self {
            unseen: AtomicUsize::new(0),
            batch: batch.max(1),
            wake: Notify::new(),
            idle: AtomicBool::new(true),
        }
    }

    pub(crate) fn arrived(&self, n: usize) {
        let before = self.unseen.fetch_add(n, Ordering::AcqRel);
        // Pairs with the worker's fence: either it sees the item, or we see `idle`.
        fence(Ordering::SeqCst);
        let was_idle = self.idle.load(Ordering::Relaxed) && self.idle.swap(false, Ordering::AcqRel);
        if was_idle || (before % self.batch) + n >= self.batch {
            self.wake.notify_one();
        }
    }

    /// The worker is awake and takes everything that arrived.
    pub(crate) fn seen(&self) {
        self.unseen.store(0, Ordering::Release);
    }

    /// The worker holds nothing and goes to sleep without a timer: the
    /// next item must wake it. Returns after the fence that pairs with
    /// [`arrived`](Self::arrived), so the caller looks at the channel once
    /// more.
    pub(crate) fn going_idle(&self) {
        self.idle.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// It found an item after all.
    pub(crate) fn busy(&self) {
        self.idle.store(false, Ordering::Relaxed);
    }
}
