//! The producers' side of the engine: the client's handle on its delivery
//! thread (started by the first item), which sizes and queues items, hands
//! them back when the queue is full or closed, and asks for flushes and
//! shutdowns.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::oneshot;

use super::Owner;
use super::clock::{Clock, SystemClock};
use super::config::DeliveryConfig;
use super::errors::{FlushError, TrackError};
use super::failure::FailureReason;
use super::handle::{Control, Erased, Handle, Reply};
use super::hook::hand_to_hook;
use super::item::{BODY_OVERHEAD, Encoded, ItemKind};
use super::queue::Shared;
use super::report::{DeliveryReport, DeliveryStats};
use super::thread;
use crate::transport::Api;

/// The client's handle on its delivery thread, started by the first item.
pub(crate) struct Dispatcher {
    config: DeliveryConfig,
    api: Arc<Api>,
    owner: Owner,
    shared: Arc<Shared>,
    handle: OnceLock<Result<Handle, String>>,
    /// The size of the last encoded item, so the next buffer is allocated once.
    size_hint: AtomicUsize,
}

impl Dispatcher {
    pub(crate) fn new(config: DeliveryConfig, api: Arc<Api>, owner: Owner) -> Self {
        Self {
            shared: Arc::new(Shared::new(config.queue_capacity)),
            config,
            api,
            owner,
            handle: OnceLock::new(),
            size_hint: AtomicUsize::new(256),
        }
    }

    fn handle(&self) -> Result<&Handle, &str> {
        self.handle
            .get_or_init(|| {
                let clock: Arc<dyn Clock> = Arc::new(SystemClock);
                thread::spawn(
                    Arc::clone(&self.api),
                    self.owner.clone(),
                    self.config.clone(),
                    Arc::clone(&self.shared),
                    clock,
                )
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Starts the delivery thread now rather than at the first item.
    pub(crate) fn start(&self) -> Result<(), String> {
        self.handle().map(|_| ()).map_err(str::to_owned)
    }

    pub(crate) fn buffer(&self) -> Vec<u8> {
        self.shared
            .reuse_buffer()
            .unwrap_or_else(|| Vec::with_capacity(self.size_hint.load(Ordering::Relaxed)))
    }

    pub(crate) fn sized(&self, kind: ItemKind, json: Vec<u8>) -> Result<Encoded, TrackError> {
        let size = json.len();
        if size + BODY_OVERHEAD > self.config.max_batch_bytes {
            return Err(TrackError::TooLarge {
                kind,
                size,
                limit: self.config.max_batch_bytes,
            });
        }
        // Round up so that slightly larger items do not reallocate.
        let hint = (size + 64).next_multiple_of(64);
        if self.size_hint.load(Ordering::Relaxed) != hint {
            self.size_hint.store(hint, Ordering::Relaxed);
        }
        Ok(Encoded { kind, json })
    }

    /// Reserves room for all of `items` and hands them to the delivery thread,
    /// or hands them all back.
    ///
    /// Takes an iterator so that one item needs no `Vec` (a heap allocation
    /// on every `track`); one is built only to hand items back.
    pub(crate) fn enqueue<I>(&self, items: I) -> Result<(), TrackError>
    where
        I: IntoIterator<Item = Encoded>,
        I::IntoIter: ExactSizeIterator,
    {
        self.offer(items, true)
    }

    /// [`enqueue`](Self::enqueue); a full queue counts the items as dropped
    /// (and warns) only when `counted`: a caller that waits for room hands
    /// nothing back, so nothing was dropped.
    fn offer<I>(&self, items: I, counted: bool) -> Result<(), TrackError>
    where
        I: IntoIterator<Item = Encoded>,
        I::IntoIter: ExactSizeIterator,
    {
        let tombstones = &self.config.tombstones;
        if !tombstones.is_empty() {
            // Rare: only while some erasure holds. Items about an erased
            // person are refused; the rest go on.
            let (erased, kept): (Vec<Encoded>, Vec<Encoded>) = items
                .into_iter()
                .partition(|item| tombstones.covers(item.kind, &item.json));
            if !erased.is_empty() {
                let result = self.offer_checked(kept, counted);
                self.refuse_erased(erased.len());
                return match result {
                    Ok(()) => Err(TrackError::Erased { items: erased }),
                    Err(error) => Err(error),
                };
            }
            return self.offer_checked(kept, counted);
        }
        self.offer_checked(items, counted)
    }

    /// Counts, logs and reports items refused for an erasure (the hook
    /// hears of them without the items: they hold the person's data).
    pub(crate) fn refuse_erased(&self, n: usize) {
        self.shared.refused_erased(n);
        tracing::info!(
            items = n,
            "Bento items about an erased subscriber refused (Client::erase)"
        );
        hand_to_hook(
            &self.config,
            &self.owner,
            Vec::new(),
            FailureReason::Erased { count: n as u64 },
            Vec::new(),
        );
    }

    fn offer_checked<I>(&self, items: I, counted: bool) -> Result<(), TrackError>
    where
        I: IntoIterator<Item = Encoded>,
        I::IntoIter: ExactSizeIterator,
    {
        let mut items = items.into_iter();
        let n = items.len();
        if n == 0 {
            return Ok(());
        }
        if self.shared.closed.load(Ordering::Acquire) {
            self.shared.refused_closed(n);
            return Err(TrackError::Closed {
                items: items.collect(),
            });
        }
        let handle = match self.handle() {
            Ok(handle) => handle,
            Err(reason) => {
                self.shared.refused_closed(n);
                return Err(TrackError::Unavailable {
                    items: items.collect(),
                    reason: reason.to_owned(),
                });
            }
        };
        if !self.shared.reserve(n) {
            if counted && self.shared.refused(n) {
                tracing::warn!(
                    capacity = self.shared.capacity,
                    "Bento delivery queue is full; items are handed back to the caller until it drains"
                );
            }
            return Err(TrackError::QueueFull {
                items: items.collect(),
                capacity: self.shared.capacity,
            });
        }
        while let Some(item) = items.next() {
            if let Err(refused) = handle.data.send(item) {
                // The delivery thread is gone (shut down meanwhile).
                let mut back = vec![refused.0];
                back.extend(items);
                self.shared.unreserve(back.len());
                self.shared.refused_closed(back.len());
                return Err(TrackError::Closed { items: back });
            }
        }
        handle.arrivals.arrived(n);
        Ok(())
    }

    /// Sees every refusal a `track`-like call returns: one that is the
    /// program's mistake is logged at error level, counted and handed to the
    /// failure hook here, so that nothing is lost unseen whether or not the
    /// caller looks at the `Result`.
    pub(crate) fn account(&self, result: Result<(), TrackError>) -> Result<(), TrackError> {
        if let Err(error) = &result
            && let Some(refusal) = error.refusal()
        {
            tracing::error!(%error, "Bento refused an item as the program's mistake; nothing was queued");
            self.shared.refused_as_bug();
            hand_to_hook(
                &self.config,
                &self.owner,
                Vec::new(),
                FailureReason::Refused(refusal),
                Vec::new(),
            );
        }
        result
    }

    /// Like [`account`](Self::account), for a result nobody will see (a
    /// request's events released after its handler returned): every refusal
    /// goes to the failure hook, with the items handed back if any.
    pub(crate) fn orphan(&self, result: Result<(), TrackError>) {
        let Err(error) = self.account(result) else {
            return;
        };
        if error.is_bug() {
            return; // accounted above
        }
        tracing::error!(%error, "Bento could not queue an item whose caller is gone");
        let reason = FailureReason::Refused(error.emptied());
        hand_to_hook(
            &self.config,
            &self.owner,
            error.into_items(),
            reason,
            Vec::new(),
        );
    }

    /// Sets the tombstone of `email`, then removes every item about them
    /// from the engine, and answers once no request in flight carries any.
    pub(crate) async fn erase(&self, email: &str) -> Erased {
        self.config.tombstones.add(email);
        // Never started: nothing was ever queued.
        let Some(Ok(handle)) = self.handle.get() else {
            return Erased::default();
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = handle.control.send(Control::Erase {
            email: email.to_owned(),
            reply,
        });
        if sent.is_err() {
            // The delivery thread is gone: it holds nothing any more.
            return Erased::default();
        }
        answer.await.unwrap_or_default()
    }

    /// Lifts the tombstone of `email`; whether there was one.
    pub(crate) fn lift_erasure(&self, email: &str) -> bool {
        self.config.tombstones.lift(email)
    }

    /// The durable store this client relays, if any.
    pub(crate) fn store(&self) -> Option<&std::sync::Arc<dyn crate::store::DurableStore>> {
        self.config.store.as_ref()
    }

    /// The emails erased recently.
    pub(crate) fn tombstones(&self) -> &crate::erasure::Tombstones {
        &self.config.tombstones
    }

    /// How long tombstones hold.
    pub(crate) fn erasure_ttl(&self) -> std::time::Duration {
        self.config.tombstones.ttl()
    }

    /// The engine's counters.
    pub(crate) fn stats(&self) -> DeliveryStats {
        self.shared.stats()
    }

    /// Like [`enqueue`](Self::enqueue) of one item, waiting for room.
    pub(crate) async fn enqueue_wait(&self, item: Encoded) -> Result<(), TrackError> {
        let mut items = vec![item];
        loop {
            // Registered before trying, so a wake-up between the two is not missed.
            let room = self.shared.space.notified();
            match self.offer(items, false) {
                Err(TrackError::QueueFull { items: back, .. }) => items = back,
                other => return other,
            }
            room.await;
        }
    }

    /// Sends everything queued now and waits for it, for at most `timeout`.
    pub(crate) async fn flush(&self, timeout: Duration) -> Result<DeliveryReport, FlushError> {
        self.control(|reply| Control::Flush { timeout, reply })
            .await
    }

    /// Closes the queue, drains it within `timeout` and stops the thread;
    /// concurrent calls share the one outcome.
    pub(crate) async fn shutdown(&self, timeout: Duration) -> Result<DeliveryReport, FlushError> {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return self.drain_outcome(timeout).await;
        }
        let outcome = self
            .control(|reply| Control::Shutdown { timeout, reply })
            .await;
        // When the engine never started, or stopped already, nobody else
        // publishes the outcome.
        self.shared.drained.send_if_modified(|drained| {
            let unset = drained.is_none();
            if unset {
                *drained = Some(outcome);
            }
            unset
        });
        outcome
    }

    async fn control(
        &self,
        make: impl FnOnce(Reply) -> Control,
    ) -> Result<DeliveryReport, FlushError> {
        let Some(Ok(handle)) = self.handle.get() else {
            // Never started: nothing was queued.
            return Ok(DeliveryReport {
                stats: self.shared.stats(),
                waited: Duration::ZERO,
            });
        };
        let (tx, rx) = oneshot::channel();
        if handle.control.send(make(Reply::Async(tx))).is_err() {
            return self.already_stopped();
        }
        match rx.await {
            Ok(result) => result,
            Err(_) => self.already_stopped(),
        }
    }

    fn already_stopped(&self) -> Result<DeliveryReport, FlushError> {
        Ok(DeliveryReport {
            stats: self.shared.stats(),
            waited: Duration::ZERO,
        })
    }

    /// Waits, for at most `timeout`, for the outcome of the shutdown another
    /// caller started.
    async fn drain_outcome(&self, timeout: Duration) -> Result<DeliveryReport, FlushError> {
        let mut drained = self.shared.drained.subscribe();
        let wait = drained.wait_for(Option::is_some);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(outcome)) => outcome.unwrap_or_else(|| self.already_stopped()),
            // The sender lives in `Shared`, which outlives this call.
            Ok(Err(_)) => self.already_stopped(),
            Err(_) => Err(FlushError::Timeout {
                pending: self.shared.stats().pending,
                timeout,
            }),
        }
    }
}

/// Dropping the last `Client` drains the queue, for at most `drain_timeout`,
/// in a way that never stalls an async runtime:
/// - outside any runtime (plain `main`, sync code), it waits for the drain;
/// - on a multi-thread tokio runtime, it waits inside `block_in_place`, so
///   the thread's other tasks move to other workers meanwhile;
/// - on a current-thread runtime (actix-web's workers, `#[tokio::test]`) or on
///   the delivery thread itself (a failure hook), it cannot wait without
///   stalling that thread: the drain goes on in the background on the
///   delivery thread, and a warning says how many items were pending. Those
///   are lost if the process exits first, so call `shutdown().await`.
impl Drop for Dispatcher {
    fn drop(&mut self) {
        let Some(Ok(handle)) = self.handle.get() else {
            return;
        };
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return; // shut down explicitly already
        }
        let timeout = self.config.drain_timeout;
        let (tx, rx) = std::sync::mpsc::channel();
        let sent = handle.control.send(Control::Shutdown {
            timeout,
            reply: Reply::Blocking(tx),
        });
        if sent.is_err() {
            return;
        }
        let wait = || {
            rx.recv_timeout(crate::time::FAR.min(timeout.saturating_add(Duration::from_secs(1))))
        };
        let outcome = match tokio::runtime::Handle::try_current() {
            _ if thread::on_delivery_thread() => None,
            Err(_) => Some(wait()),
            Ok(runtime) => match runtime.runtime_flavor() {
                tokio::runtime::RuntimeFlavor::MultiThread => {
                    Some(tokio::task::block_in_place(wait))
                }
                _ => None,
            },
        };
        match outcome {
            Some(Ok(Ok(report))) => tracing::debug!(
                sent = report.stats.sent,
                "Bento client dropped; queue drained"
            ),
            Some(Ok(Err(FlushError::Timeout { pending, .. }))) => tracing::warn!(
                pending,
                ?timeout,
                "Bento client dropped with items still undelivered after the drain timeout; \
                 call Client::shutdown before exiting to wait longer"
            ),
            Some(Err(_)) => tracing::warn!(
                pending = self.shared.stats().pending,
                "Bento client dropped; the delivery thread did not answer in time"
            ),
            None => {
                let pending = self.shared.stats().pending;
                if pending > 0 {
                    tracing::warn!(
                        pending,
                        ?timeout,
                        "Bento client dropped where waiting would stall the runtime; its items \
                         are delivered in the background for up to the drain timeout, and lost \
                         if the process exits first: call Client::shutdown(..).await before \
                         exiting"
                    );
                }
            }
        }
    }
}
