//! The engine's loop: takes items from the producers, asks the scheduler
//! what to send, starts the requests (each in a task of its own, holding its
//! rate-limit slot), settles their batches when they come back, and answers
//! flushes and shutdowns. The thread, the handle, the waiters, supervision
//! and the failure hook are beside it.

use std::collections::HashMap;
use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::{Id, JoinHandle, JoinSet};

use super::Owner;
use super::clock::Clock;
use super::config::DeliveryConfig;
use super::failure::FailureReason;
use super::handle::{Arrivals, Control, Erased, Reply};
use super::hook::hand_to_hook;
use super::item::{Encoded, ItemKind};
use super::metrics;
use super::queue::Shared;
use super::schedule::{Batch, Limits, Next, Scheduler};
use super::send::{self, BatchRequest, sleep_until};
use super::supervise::{self, CatchUnwind};
use super::verdict::{Sent, Verdict};
use super::waiters::{Engine, Waiters};
use crate::rate_limit::Slot;
use crate::rate_limit::ahead::Slots;
use crate::time::after;
use crate::transport::{Api, slot_ended};

/// A batch request in flight: its items, its span, and when it left.
struct Flight {
    batch: Batch,
    span: tracing::Span,
    started: Instant,
}

/// The durable store's relay, a task on the delivery thread's runtime.
pub(crate) struct RelayTask {
    pub(crate) task: JoinHandle<()>,
    /// Tells it to stop by a deadline.
    pub(crate) stop: watch::Sender<Option<Instant>>,
}

pub(crate) struct Worker {
    api: Arc<Api>,
    http: reqwest::Client,
    config: DeliveryConfig,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    scheduler: Scheduler,
    in_flight: JoinSet<Sent>,
    /// The batches of the requests in flight. They stay here, not in the
    /// tasks, so that a task that panics cannot take its items with it.
    flying: HashMap<Id, Flight>,
    /// For the failure hook, which may want to requeue through the client
    /// without keeping it alive.
    client: Owner,
    waiters: Waiters,
    /// The earliest flush or shutdown deadline, watched by requests in flight
    /// so that one started before a flush still ends by its deadline.
    deadline: watch::Sender<Option<Instant>>,
    arrivals: Arc<Arrivals>,
    relay: Option<RelayTask>,
    slots: Slots,
    /// Erasures waiting for requests in flight that carry their person's items.
    erasures: Vec<PendingErasure>,
}

/// An erasure whose person's items are in requests in flight: it answers
/// once they have all come back (a retry leaves the items out).
struct PendingErasure {
    flights: std::collections::HashSet<Id>,
    erased: Erased,
    reply: tokio::sync::oneshot::Sender<Erased>,
}

/// Resolves when the relay task ends (never when there is none).
async fn relay_ended(relay: &mut Option<RelayTask>) {
    match relay {
        Some(relay) => {
            if let Err(error) = (&mut relay.task).await
                && error.is_panic()
            {
                tracing::error!(
                    "the Bento outbox relay panicked; its rows stay in the table for the next leader (please report this)"
                );
            }
        }
        None => std::future::pending().await,
    }
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        api: Arc<Api>,
        http: reqwest::Client,
        config: DeliveryConfig,
        shared: Arc<Shared>,
        clock: Arc<dyn Clock>,
        client: Owner,
        arrivals: Arc<Arrivals>,
        relay: Option<RelayTask>,
        slots: Slots,
    ) -> Self {
        let limits = Limits {
            max_items: ItemKind::ALL
                .map(|kind| kind.fixed_max_items().unwrap_or(api.events_per_request)),
            max_bytes: config.max_batch_bytes,
            flush_interval: config.flush_interval,
        };
        metrics::describe();
        Self {
            api,
            http,
            scheduler: Scheduler::new(limits),
            config,
            shared,
            clock,
            in_flight: JoinSet::new(),
            flying: HashMap::new(),
            client,
            waiters: Waiters::default(),
            deadline: watch::Sender::new(None),
            arrivals,
            relay,
            slots,
            erasures: Vec::new(),
        }
    }

    /// The supervisor: serves until shut down. A panic anywhere in the engine
    /// is caught; the items it held go to the failure hook with the reason,
    /// and the engine goes on serving.
    pub(crate) async fn run(
        mut self,
        mut data: mpsc::UnboundedReceiver<Encoded>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut control_open = true;
        loop {
            let served = CatchUnwind(Box::pin(self.serve(
                &mut data,
                &mut control,
                &mut control_open,
            )))
            .await;
            match served {
                Ok(()) => break,
                Err(panic) => self.recover(&*panic),
            }
        }
        // Refuse late arrivals (the sender gets its item back), then account
        // for any that slipped in before the channel closed.
        data.close();
        let mut late = Vec::new();
        while let Ok(item) = data.try_recv() {
            late.push(item);
        }
        self.shared.arrived(late.len());
        if !late.is_empty() {
            self.shared.resolved(0, late.len());
            self.fail(late, FailureReason::ShutdownDeadline);
        }
    }

    /// After a panic: whatever the engine held is handed to the hook, since
    /// its state can no longer be trusted, and flushes waiting get answers.
    fn recover(&mut self, panic: &(dyn std::any::Any + Send)) {
        let message = supervise::message(panic);
        tracing::error!(
            panic = %message,
            "the Bento delivery engine panicked; the items it held go to the failure hook and \
             it keeps serving (please report this)"
        );
        self.in_flight.abort_all();
        let mut items = self.scheduler.abandon_all();
        for (_, flight) in self.flying.drain() {
            items.extend(flight.batch.entries.into_iter().map(|entry| entry.item));
        }
        if !items.is_empty() {
            self.shared.resolved(0, items.len());
            self.fail(items, FailureReason::Internal(message));
        }
    }

    async fn serve(
        &mut self,
        data: &mut mpsc::UnboundedReceiver<Encoded>,
        control: &mut mpsc::UnboundedReceiver<Control>,
        control_open: &mut bool,
    ) {
        loop {
            let now = self.clock.now();
            #[cfg(test)]
            if self.config.inject_panic.swap(false, Ordering::Relaxed) && self.scheduler.has_fresh()
            {
                panic!("injected engine panic");
            }
            let wake = self.start_sends(now);
            if self.settle_waiters(now) {
                return;
            }
            let earliest = self.waiters.earliest();
            self.deadline.send_if_modified(|current| {
                let changed = *current != earliest;
                *current = earliest;
                changed
            });
            let deadline = self.waiters.next_deadline(now);
            let wake = match (wake, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                biased;
                message = control.recv(), if *control_open => {
                    // Deadlines count from when the call arrived, not from
                    // when the worker last went to sleep.
                    let now = self.clock.now();
                    match message {
                        Some(message) => {
                            self.take_arrivals(data, now);
                            self.begin(message, now);
                        }
                        None => {
                            // Every handle is gone without a shutdown (they always send one
                            // when dropped); deliver what there is within the drain timeout.
                            *control_open = false;
                            self.begin_shutdown(self.config.drain_timeout, None, now);
                        }
                    }
                },
                Some(done) = self.in_flight.join_next_with_id(), if !self.in_flight.is_empty() => {
                    match done {
                        Ok((id, result)) => {
                            if let Some(flight) = self.flying.remove(&id) {
                                self.landed(flight, result);
                            }
                            self.erasure_landed(id);
                        }
                        Err(error) => {
                            self.erasure_landed(error.id());
                            let flight = self.flying.remove(&error.id());
                            if let Some(Flight { batch, span, .. }) = flight {
                                span.record("bento.batch.outcome", "internal_error");
                                let reason = if error.is_panic() {
                                    tracing::error!("a Bento delivery request panicked; its items go to the failure hook");
                                    FailureReason::Internal("a delivery request panicked".to_owned())
                                } else {
                                    FailureReason::Internal("a delivery request was cancelled".to_owned())
                                };
                                let items = self.scheduler.resolve(batch);
                                self.shared.resolved(0, items.len());
                                self.fail(items, reason);
                            }
                        }
                    }
                }
                () = relay_ended(&mut self.relay) => self.relay = None,
                () = self.slots.arrived() => {}
                () = self.arrivals.wake.notified() => {}
                () = sleep_until(wake) => {}
            }
            // Items are taken whenever the worker is awake, whatever woke it.
            self.arrivals.seen();
            let now = self.clock.now();
            self.take_arrivals(data, now);
            if !self.scheduler.has_fresh() {
                self.arrivals.going_idle();
                // An item sent just before `idle` was set did not wake us: look once more.
                self.take_arrivals(data, now);
                if self.scheduler.has_fresh() {
                    self.arrivals.busy();
                }
            }
        }
    }

    /// Moves every item waiting in the channel into the scheduler. An item
    /// about a person erased meanwhile (it passed `track`'s check just
    /// before the tombstone was set) is removed here.
    fn take_arrivals(&mut self, data: &mut mpsc::UnboundedReceiver<Encoded>, now: Instant) {
        let mut n = 0;
        let mut erased = 0;
        let tombstones = &self.config.tombstones;
        while let Ok(item) = data.try_recv() {
            n += 1;
            if tombstones.covers(item.kind, &item.json) {
                erased += 1;
                continue;
            }
            self.scheduler.push(item, now);
        }
        if n > 0 {
            self.shared.arrived(n);
            self.shared.erased(erased);
        }
    }

    /// Removes every item about `email` waiting in the engine, and answers
    /// once no request in flight carries any of theirs.
    fn erase(&mut self, email: &str, reply: tokio::sync::oneshot::Sender<Erased>) {
        let about = |item: &Encoded| crate::erasure::is_about(item.kind, &item.json, email);
        let removed = self.scheduler.erase(&about).len();
        self.shared.erased(removed);
        let mut erased = Erased {
            removed,
            in_flight: 0,
        };
        let mut flights = std::collections::HashSet::new();
        for (id, flight) in &self.flying {
            let carried = flight
                .batch
                .entries
                .iter()
                .filter(|entry| about(&entry.item))
                .count();
            if carried > 0 {
                erased.in_flight += carried;
                flights.insert(*id);
            }
        }
        if flights.is_empty() {
            let _ = reply.send(erased);
        } else {
            self.erasures.push(PendingErasure {
                flights,
                erased,
                reply,
            });
        }
    }

    /// A request came back: the erasures that waited for it alone answer.
    fn erasure_landed(&mut self, id: Id) {
        if self.erasures.is_empty() {
            return;
        }
        for erasure in &mut self.erasures {
            erasure.flights.remove(&id);
        }
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.erasures)
            .into_iter()
            .partition(|erasure| erasure.flights.is_empty());
        self.erasures = waiting;
        for erasure in done {
            let _ = erasure.reply.send(erasure.erased);
        }
    }

    /// Starts as many requests as the in-flight limit and the scheduler allow;
    /// returns when the scheduler wants to be asked again.
    fn start_sends(&mut self, now: Instant) -> Option<Instant> {
        if self.waiters.shutdown_expired(now) {
            return None;
        }
        let api = Arc::clone(&self.api);
        let mut wake = None;
        while self.in_flight.len() < self.config.max_in_flight {
            let slots = &mut self.slots;
            let mut taken = None;
            let mut permit = |kind: ItemKind| {
                taken = Some(slots.try_take(&api.pacer, kind.family())?);
                Ok(())
            };
            match self.scheduler.next(now, &mut permit) {
                Next::Send(batch) => self.start(batch, taken, now),
                Next::Wait(at) => {
                    wake = at;
                    break;
                }
            }
        }
        self.slots.fetch_if_wanted(&self.api.pacer);
        wake
    }

    /// Sends `batch` in a task of its own, holding `slot` until the request ended.
    fn start(&mut self, mut batch: Batch, slot: Option<Slot>, now: Instant) {
        batch.attempts += 1;
        // No request may outlive the earliest flush or shutdown deadline.
        let timeout = self.waiters.request_timeout(now, self.api.timeout);
        let request = BatchRequest {
            kind: batch.kind,
            items: batch.len(),
            body: batch.body(),
            attempt: batch.attempts,
        };
        let (span, send) = send::start(
            Arc::clone(&self.api),
            self.http.clone(),
            request,
            timeout,
            self.deadline.subscribe(),
        );
        #[cfg(test)]
        let panic_in_request = self
            .config
            .inject_request_panic
            .swap(false, Ordering::Relaxed);
        let task = self.in_flight.spawn(async move {
            #[cfg(test)]
            if panic_in_request {
                panic!("injected request panic");
            }
            let result = send.await;
            if let Some(slot) = slot {
                slot.end(slot_ended(&result));
            }
            result
        });
        self.flying.insert(
            task.id(),
            Flight {
                batch,
                span,
                started: Instant::now(),
            },
        );
        metrics::level(metrics::IN_FLIGHT, self.in_flight.len());
    }

    /// A request came back: settle its batch, then record how it went.
    fn landed(&mut self, flight: Flight, result: Sent) {
        let Flight {
            batch,
            span,
            started,
        } = flight;
        let kind = batch.kind;
        let outcome = self.finished(batch, result, &span);
        send::record(&span, kind, outcome, started);
        metrics::level(metrics::IN_FLIGHT, self.in_flight.len());
    }

    /// Settles a batch whose request came back; returns what became of it.
    fn finished(&mut self, batch: Batch, result: Sent, span: &tracing::Span) -> &'static str {
        let now = self.clock.now();
        let n = batch.len();
        let age = batch.age(now);
        let judge = send::Judge {
            backoff: self.config.backoff,
            max_age: self.config.max_age,
        };
        let (verdict, retry_after) =
            judge.verdict(result, (batch.kind, n, batch.attempts), age, span);
        if let Some(delay) = retry_after {
            self.slots
                .defer(&self.api.pacer, batch.kind.family(), delay);
        }
        let label = send::outcome(&verdict);
        let verdict = match verdict {
            Verdict::Accepted { refused } => {
                let items = self.scheduler.resolve(batch);
                self.shared.resolved(n - refused, refused);
                if refused > 0 {
                    // Bento does not say which; the hook gets the whole batch
                    // and the count.
                    self.fail(
                        items,
                        FailureReason::PartlyRefused {
                            refused: refused as u64,
                        },
                    );
                } else {
                    self.shared.recycle(items.into_iter().map(|item| item.json));
                }
                return label;
            }
            other => other,
        };
        // Not delivered: whatever it carried about a person erased since
        // leaves it, and is never sent again.
        let mut batch = batch;
        if !self.config.tombstones.is_empty() {
            let tombstones = Arc::clone(&self.config.tombstones);
            let gone = self
                .scheduler
                .strip(&mut batch, &|item| tombstones.covers(item.kind, &item.json));
            self.shared.erased(gone.len());
            if batch.entries.is_empty() {
                return "erased";
            }
        }
        let n = batch.len();
        if self.waiters.shutdown_expired(now) {
            let items = self.scheduler.resolve(batch);
            self.waiters.undelivered(items.len());
            self.shared.resolved(0, items.len());
            self.fail(items, FailureReason::ShutdownDeadline);
            return "shutdown_deadline";
        }
        match verdict {
            Verdict::Accepted { .. } => unreachable!("settled above"),
            Verdict::Bisect => {
                // One bad item must not sink the others: halve until it is alone.
                tracing::debug!(kind = ?batch.kind, items = n, "bisecting a refused Bento batch");
                let (first, second) = batch.split();
                self.shared.retrying(n);
                self.scheduler.retry_at(first, now);
                self.scheduler.retry_at(second, now);
            }
            Verdict::Defer(delay) => {
                // The items stay pending (and are reported so) however long the wait.
                let mut batch = batch;
                batch.attempts = batch.attempts.saturating_sub(1);
                tracing::debug!(kind = ?batch.kind, items = n, delay_ms = delay.as_millis() as u64, "Bento asked to retry later");
                self.shared.retrying(n);
                self.scheduler.retry_at(batch, after(now, delay));
            }
            Verdict::Retry {
                delay,
                ambiguous,
                error,
            } => {
                tracing::debug!(kind = ?batch.kind, items = n, attempt = batch.attempts, delay_ms = delay.as_millis() as u64, %error, "retrying a Bento batch");
                self.shared.retrying(n);
                if ambiguous {
                    // Bento may have recorded them: the resend may duplicate.
                    self.shared.possibly_duplicated(n);
                }
                self.scheduler.retry_at(batch, after(now, delay));
            }
            Verdict::GiveUp(error) => {
                let items = self.scheduler.resolve(batch);
                self.shared.resolved(0, items.len());
                self.fail(items, FailureReason::Api(error));
            }
            Verdict::Expired(last) => {
                let items = self.scheduler.resolve(batch);
                self.shared.resolved(0, items.len());
                self.fail(items, FailureReason::Expired { age, last });
            }
        }
        label
    }

    fn fail(&self, items: Vec<Encoded>, reason: FailureReason) {
        hand_to_hook(&self.config, &self.client, items, reason, Vec::new());
    }

    fn begin(&mut self, message: Control, now: Instant) {
        match message {
            Control::Flush { timeout, reply } => {
                let target = self.scheduler.mark();
                self.waiters.flush(target, timeout, reply, now);
                self.scheduler.set_urgent(true);
            }
            Control::Shutdown { timeout, reply } => self.begin_shutdown(timeout, Some(reply), now),
            Control::Erase { email, reply } => self.erase(&email, reply),
        }
    }

    fn begin_shutdown(&mut self, timeout: Duration, reply: Option<Reply>, now: Instant) {
        if let Some(relay) = &self.relay {
            // It finishes the batch in hand by the deadline; the rest of
            // the table waits for the next leader.
            relay.stop.send_replace(Some(after(now, timeout)));
        }
        self.scheduler.mark();
        self.waiters.shutdown(timeout, reply, now);
        self.scheduler.set_urgent(true);
    }

    /// Answers the flushes and shutdowns that are done or out of time. True
    /// when the worker should stop.
    fn settle_waiters(&mut self, now: Instant) -> bool {
        let (config, client) = (&self.config, &self.client);
        let fail = |items: Vec<Encoded>, reason: FailureReason| {
            hand_to_hook(config, client, items, reason, Vec::new());
        };
        self.waiters.settle(
            now,
            Engine {
                scheduler: &mut self.scheduler,
                queue: &self.shared,
                in_flight: !self.in_flight.is_empty(),
                relaying: self.relay.is_some(),
                fail: &fail,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::{Client, Event, RateLimits};

    fn event(n: u64) -> Event {
        Event::new("x", format!("u{n}@example.com")).detail("n", n)
    }

    /// A panic inside the engine (its loop, or a request's task) is caught:
    /// the items it held go to the hook with the reason, and the engine
    /// keeps delivering.
    #[test]
    fn the_supervisor_survives_panics_and_accounts_for_the_items() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let emulator = bento_emulator::Emulator::builder()
                .no_rate_limits()
                .start()
                .await
                .expect("emulator");
            let failures = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&failures);
            let builder = Client::builder()
                .base_url(emulator.base_url())
                .publishable_key(emulator.publishable_key())
                .secret_key(emulator.secret_key())
                .site_uuid(emulator.site_uuid())
                .rate_limits(RateLimits::unlimited())
                .flush_interval(Duration::from_millis(10))
                .on_delivery_failure(move |failure| {
                    sink.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((failure.items.len(), failure.reason.to_string()));
                });
            let (in_loop, in_request): (Arc<AtomicBool>, Arc<AtomicBool>) = builder.engine_panics();
            let client = builder.build().expect("client");
            let mut tracked = 0;
            for (switch, expected) in [
                (&in_request, "request panicked"),
                (&in_loop, "injected engine panic"),
            ] {
                switch.store(true, Ordering::SeqCst);
                for _ in 0..3 {
                    client.track(&event(tracked)).expect("queued");
                    tracked += 1;
                }
                let _ = client.flush(Duration::from_secs(5)).await;
                let seen = failures.lock().unwrap_or_else(|p| p.into_inner()).clone();
                // The panic took whatever the engine held then (1 to 3 items).
                assert!(
                    seen.iter()
                        .any(|(n, reason)| *n >= 1 && reason.contains(expected)),
                    "{seen:?}"
                );
                // ...and the engine still delivers.
                client.track(&event(tracked)).expect("queued");
                tracked += 1;
                let report = client
                    .flush(Duration::from_secs(5))
                    .await
                    .expect("delivered");
                assert_eq!(report.stats.pending, 0);
            }
            let stats = client.stats();
            let handed: usize = failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(n, _)| n)
                .sum();
            assert_eq!(stats.sent + stats.failed, tracked);
            assert_eq!(
                stats.failed, handed as u64,
                "every lost item reached the hook"
            );
            assert_eq!(emulator.events().len() as u64, stats.sent);
        });
    }
}
