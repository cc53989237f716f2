//! The delivery thread: its own OS thread, current-thread tokio runtime and
//! HTTP connection pool, so it works the same under axum's multi-thread
//! runtime, actix's per-worker current-thread runtimes, or no runtime at all,
//! and can be waited for from `Drop` without deadlocking the caller's runtime.

use std::any::Any;
use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::{Id, JoinHandle, JoinSet};

use super::Owner;
use super::clock::Clock;
use super::config::DeliveryConfig;
use super::schedule::{Batch, Limits, Next, Scheduler};
use super::shared::Shared;
use super::slots::Slots;
use super::types::{DeliveryFailure, DeliveryReport, Encoded, FailureReason, FlushError, ItemKind};
use super::verdict::{Sent, Verdict, judge, label};
use crate::error::Error;
use crate::time::after;
use crate::transport::Api;
use crate::transport::rate_limit::Slot;
use crate::transport::retry::Outcome;
use crate::transport::telemetry;
use tracing::Instrument;

use super::metrics;
use crate::transport::ApiRequest;

thread_local! {
    /// Set on the delivery thread, so that a `Client` dropped there (by the
    /// failure hook) never waits for the thread it runs on.
    static ON_DELIVERY_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs on a delivery thread.
pub(crate) fn on_delivery_thread() -> bool {
    ON_DELIVERY_THREAD.with(Cell::get)
}

pub(crate) type FlushResult = Result<DeliveryReport, FlushError>;

/// Where the answer to a flush or shutdown goes: an async caller, or `Drop`,
/// which must not touch any runtime.
pub(crate) enum Reply {
    Async(oneshot::Sender<FlushResult>),
    Blocking(std::sync::mpsc::Sender<FlushResult>),
}

impl Reply {
    fn send(self, result: FlushResult) {
        // The caller may have stopped waiting (a cancelled future): fine.
        match self {
            Reply::Async(tx) => drop(tx.send(result)),
            Reply::Blocking(tx) => drop(tx.send(result)),
        }
    }
}

pub(crate) enum Control {
    Flush { timeout: Duration, reply: Reply },
    Shutdown { timeout: Duration, reply: Reply },
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
    wake: Notify,
    /// Set by the worker when it holds no items and has no timer armed.
    idle: AtomicBool,
}

impl Arrivals {
    pub(crate) fn arrived(&self, n: usize) {
        let before = self.unseen.fetch_add(n, Ordering::AcqRel);
        // Pairs with the worker's fence: either it sees the item, or we see `idle`.
        fence(Ordering::SeqCst);
        let was_idle = self.idle.load(Ordering::Relaxed) && self.idle.swap(false, Ordering::AcqRel);
        if was_idle || (before % self.batch) + n >= self.batch {
            self.wake.notify_one();
        }
    }
}

pub(crate) fn spawn(
    api: Arc<Api>,
    client: Owner,
    config: DeliveryConfig,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
) -> Result<Handle, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("bento-delivery")
        .build()
        .map_err(|e| e.to_string())?;
    let http = crate::transport::http_client(&api.user_agent, api.connect_timeout)
        .map_err(|e| e.to_string())?;
    let (data_tx, data_rx) = mpsc::unbounded_channel();
    let arrivals = Arc::new(Arrivals {
        unseen: AtomicUsize::new(0),
        batch: api.events_per_request.max(1),
        wake: Notify::new(),
        idle: AtomicBool::new(true),
    });
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    // With a durable store that keeps a shared budget, every batch request
    // of this engine and of its relay takes its slot from it: the relay's so
    // that a new leader continues the previous one's window, the engine's so
    // that the in-memory queue and the relays share one limit.
    let budget = config.store.as_ref().and_then(|store| store.rate_budget());
    let slots = budget.clone().map_or_else(Slots::local, Slots::shared);
    let relay = config.store.clone().map(|store| {
        let (stop, stop_rx) = watch::channel(None);
        let relay = super::relay::Relay {
            settings: store.settings(),
            status: store.status(),
            store,
            api: Arc::clone(&api),
            http: http.clone(),
            config: config.clone(),
            client: client.clone(),
            budget: budget.clone(),
            stop: stop_rx,
        };
        RelayTask {
            task: runtime.spawn(relay.run()),
            stop,
        }
    });
    let limits = Limits {
        max_items: [
            api.events_per_request,
            crate::model::subscribers::MAX_SUBSCRIBERS_PER_REQUEST,
            crate::model::commands::MAX_COMMANDS_PER_REQUEST,
        ],
        max_bytes: config.max_batch_bytes,
        flush_interval: config.flush_interval,
    };
    metrics::describe();
    let worker = Worker {
        api,
        http,
        scheduler: Scheduler::new(limits),
        config,
        shared,
        clock,
        in_flight: JoinSet::new(),
        flying: HashMap::new(),
        client,
        waiters: Vec::new(),
        undelivered_at_deadline: 0,
        deadline: watch::Sender::new(None),
        arrivals: Arc::clone(&arrivals),
        relay,
        slots,
    };
    std::thread::Builder::new()
        .name("bento-delivery".into())
        .spawn(move || {
            ON_DELIVERY_THREAD.with(|flag| flag.set(true));
            runtime.block_on(worker.run(data_rx, control_rx));
        })
        .map_err(|e| e.to_string())?;
    Ok(Handle {
        data: data_tx,
        control: control_tx,
        arrivals,
    })
}

struct Waiter {
    target: u64,
    started: Instant,
    deadline: Instant,
    timeout: Duration,
    reply: Option<Reply>,
    shutdown: bool,
}

/// A batch request in flight: its items, its span, and when it left.
struct Flight {
    batch: Batch,
    span: tracing::Span,
    started: Instant,
}

/// The durable store's relay, a task on the delivery thread's runtime.
struct RelayTask {
    task: JoinHandle<()>,
    /// Tells it to stop by a deadline.
    stop: watch::Sender<Option<Instant>>,
}

struct Worker {
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
    waiters: Vec<Waiter>,
    /// Items given up on because a shutdown deadline passed.
    undelivered_at_deadline: u64,
    /// The earliest flush or shutdown deadline, watched by requests in flight
    /// so that one started before a flush still ends by its deadline.
    deadline: watch::Sender<Option<Instant>>,
    arrivals: Arc<Arrivals>,
    relay: Option<RelayTask>,
    slots: Slots,
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
    /// The supervisor: serves until shut down. A panic anywhere in the engine
    /// is caught; the items it held go to the failure hook with the reason,
    /// and the engine goes on serving.
    async fn run(
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
    fn recover(&mut self, panic: &(dyn Any + Send)) {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
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
            let earliest = self.waiters.iter().map(|w| w.deadline).min();
            self.deadline.send_if_modified(|current| {
                let changed = *current != earliest;
                *current = earliest;
                changed
            });
            let deadline = self
                .waiters
                .iter()
                .map(|w| w.deadline)
                .filter(|deadline| *deadline > now)
                .min();
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
                        }
                        Err(error) => {
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
            self.arrivals.unseen.store(0, Ordering::Release);
            let now = self.clock.now();
            self.take_arrivals(data, now);
            if !self.scheduler.has_fresh() {
                self.arrivals.idle.store(true, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                // An item sent just before `idle` was set did not wake us: look once more.
                self.take_arrivals(data, now);
                if self.scheduler.has_fresh() {
                    self.arrivals.idle.store(false, Ordering::Relaxed);
                }
            }
        }
    }

    /// Moves every item waiting in the channel into the scheduler.
    fn take_arrivals(&mut self, data: &mut mpsc::UnboundedReceiver<Encoded>, now: Instant) {
        let mut n = 0;
        while let Ok(item) = data.try_recv() {
            self.scheduler.push(item, now);
            n += 1;
        }
        if n > 0 {
            self.shared.arrived(n);
        }
    }

    /// Starts as many requests as the in-flight limit and the scheduler allow;
    /// returns when the scheduler wants to be asked again.
    fn start_sends(&mut self, now: Instant) -> Option<Instant> {
        let expired = self.waiters.iter().any(|w| w.shutdown && now >= w.deadline);
        if expired {
            return None;
        }
        let api = Arc::clone(&self.api);
        let mut wake = None;
        while self.in_flight.len() < self.config.max_in_flight {
            let slots = &mut self.slots;
            let mut taken = None;
            let mut permit = |kind: ItemKind| {
                taken = Some(slots.try_take(&api, kind.family())?);
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
        self.slots.fetch_if_wanted(&self.api);
        wake
    }

    /// Sends `batch` in a task of its own, holding `slot` until the request ended.
    fn start(&mut self, mut batch: Batch, slot: Option<Slot>, now: Instant) {
        batch.attempts += 1;
        // No request may outlive the earliest flush or shutdown deadline.
        let timeout = self
            .waiters
            .iter()
            .map(|w| w.deadline.saturating_duration_since(now))
            .fold(self.api.timeout, Duration::min)
            .max(Duration::from_millis(1));
        let api = Arc::clone(&self.api);
        let http = self.http.clone();
        let body = batch.body();
        let path = batch.kind.path();
        let span = telemetry::batch(
            &api,
            batch.kind.template(),
            batch.len(),
            body.len(),
            batch.attempts,
        );
        let deadline = self.deadline.subscribe();
        #[cfg(test)]
        let panic_in_request = self
            .config
            .inject_request_panic
            .swap(false, Ordering::Relaxed);
        let task = self.in_flight.spawn(
            async move {
                #[cfg(test)]
                if panic_in_request {
                    panic!("injected request panic");
                }
                let request = ApiRequest::post(path).json_bytes(body);
                let attempt = api.attempt(&http, &request, timeout);
                let result = until_deadline(attempt, deadline, path, timeout).await;
                if let Some(slot) = slot {
                    slot.end(&result);
                }
                result
            }
            .instrument(span.clone()),
        );
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
        if let Err((outcome, _, _)) = &result {
            span.record("error.type", telemetry::error_type(*outcome));
        }
        let kind = batch.kind;
        let outcome = self.finished(batch, result);
        span.record("bento.batch.outcome", outcome);
        metrics::batch(kind, outcome, started.elapsed());
        metrics::level(metrics::IN_FLIGHT, self.in_flight.len());
    }

    /// Settles a batch whose request came back; returns what became of it.
    fn finished(&mut self, batch: Batch, result: Sent) -> &'static str {
        let now = self.clock.now();
        let n = batch.len();
        let age = batch.age(now);
        let expired = self.config.max_age.is_some_and(|max| age >= max);
        let (verdict, retry_after) = judge(
            result,
            batch.kind,
            n,
            batch.attempts,
            &self.config.retry,
            expired,
        );
        if let Some(delay) = retry_after {
            self.slots.defer(&self.api, batch.kind.family(), delay);
        }
        let label = label(&verdict);
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
        let past_deadline = self.waiters.iter().any(|w| w.shutdown && now >= w.deadline);
        if past_deadline {
            let items = self.scheduler.resolve(batch);
            self.undelivered_at_deadline += items.len() as u64;
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
                self.waiters.push(Waiter {
                    target,
                    started: now,
                    deadline: after(now, timeout),
                    timeout,
                    reply: Some(reply),
                    shutdown: false,
                });
                self.scheduler.set_urgent(true);
            }
            Control::Shutdown { timeout, reply } => self.begin_shutdown(timeout, Some(reply), now),
        }
    }

    fn begin_shutdown(&mut self, timeout: Duration, reply: Option<Reply>, now: Instant) {
        if let Some(relay) = &self.relay {
            // It finishes the batch in hand by the deadline; the rest of
            // the table waits for the next leader.
            relay.stop.send_replace(Some(after(now, timeout)));
        }
        self.scheduler.mark();
        self.waiters.push(Waiter {
            target: u64::MAX,
            started: now,
            deadline: after(now, timeout),
            timeout,
            reply,
            shutdown: true,
        });
        self.scheduler.set_urgent(true);
    }

    /// Answers the flushes and shutdowns that are done or out of time. True
    /// when the worker should stop.
    fn settle_waiters(&mut self, now: Instant) -> bool {
        let mut stop = false;
        let mut index = 0;
        while index < self.waiters.len() {
            let waiter = &self.waiters[index];
            let pending = self.scheduler.pending_through(waiter.target) as u64;
            let out_of_time = now >= waiter.deadline;
            if waiter.shutdown && out_of_time && pending > 0 {
                // Give up on what is not in flight now; in-flight requests end
                // by the deadline (their timeout was clamped to it).
                let items = self.scheduler.take_all();
                if !items.is_empty() {
                    self.undelivered_at_deadline += items.len() as u64;
                    self.shared.resolved(0, items.len());
                    self.fail(items, FailureReason::ShutdownDeadline);
                }
                if !self.in_flight.is_empty() {
                    index += 1;
                    continue;
                }
            }
            let pending = self.scheduler.pending_through(waiter.target) as u64;
            let relaying = waiter.shutdown && self.relay.is_some();
            if (pending > 0 || relaying) && !out_of_time {
                index += 1;
                continue;
            }
            let mut waiter = self.waiters.swap_remove(index);
            let result = if waiter.shutdown && self.undelivered_at_deadline > 0 {
                Err(FlushError::Timeout {
                    pending: self.undelivered_at_deadline,
                    timeout: waiter.timeout,
                })
            } else if pending > 0 {
                Err(FlushError::Timeout {
                    pending,
                    timeout: waiter.timeout,
                })
            } else {
                Ok(DeliveryReport {
                    stats: self.shared.stats(),
                    waited: now.saturating_duration_since(waiter.started),
                })
            };
            if waiter.shutdown {
                // Every caller of `shutdown` (and `Drop`) sees this outcome.
                self.shared.drained.send_replace(Some(result));
            }
            if let Some(reply) = waiter.reply.take() {
                reply.send(result);
            }
            stop |= waiter.shutdown;
        }
        if stop {
            // Whatever else was waiting gets an answer too, never a hang-up.
            for mut waiter in self.waiters.drain(..) {
                let pending = self.scheduler.pending_through(waiter.target) as u64;
                let result = if pending == 0 {
                    Ok(DeliveryReport {
                        stats: self.shared.stats(),
                        waited: now.saturating_duration_since(waiter.started),
                    })
                } else {
                    Err(FlushError::Timeout {
                        pending,
                        timeout: waiter.timeout,
                    })
                };
                if let Some(reply) = waiter.reply.take() {
                    reply.send(result);
                }
            }
        }
        self.scheduler.set_urgent(!self.waiters.is_empty());
        stop
    }
}

/// The attempt's result, or a timeout when the watched deadline passes first
/// (it may be set or moved earlier while the request is in flight).
async fn until_deadline(
    attempt: impl Future<Output = crate::transport::Attempt>,
    mut deadline: watch::Receiver<Option<Instant>>,
    endpoint: &str,
    timeout: Duration,
) -> Result<Bytes, (Outcome, Option<Duration>, Error)> {
    tokio::pin!(attempt);
    let mut watching = true;
    loop {
        let current = *deadline.borrow_and_update();
        tokio::select! {
            result = &mut attempt => return result.into_result(),
            () = sleep_until(current) => {
                return Err((
                    Outcome::Timeout,
                    None,
                    Error::Timeout { endpoint: endpoint.to_owned(), timeout },
                ));
            }
            changed = deadline.changed(), if watching => watching = changed.is_ok(),
        }
    }
}

/// Hands items the engine or the outbox relay gave up on to the failure hook
/// (a hook that panics is caught and logged).
pub(crate) fn hand_to_hook(
    config: &DeliveryConfig,
    client: &Owner,
    items: Vec<Encoded>,
    reason: FailureReason,
    stored_ids: Vec<i64>,
) {
    tracing::warn!(items = items.len(), reason = %reason, "Bento delivery gave up on items");
    if let Some(hook) = &config.on_failure {
        let failure = DeliveryFailure {
            items,
            reason,
            client: client.clone(),
            stored_ids,
        };
        if catch_unwind(AssertUnwindSafe(|| hook(failure))).is_err() {
            tracing::error!("the Bento delivery failure hook panicked");
        }
    }
}

/// Polls a future inside `catch_unwind`, so a panic becomes a value.
pub(crate) struct CatchUnwind<F>(pub(crate) Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
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
