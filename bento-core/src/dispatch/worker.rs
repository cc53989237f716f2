//! The delivery thread: its own OS thread, current-thread tokio runtime and
//! HTTP connection pool, so it works the same under axum's multi-thread
//! runtime, actix's per-worker current-thread runtimes, or no runtime at all,
//! and can be waited for from `Drop` without deadlocking the caller's runtime.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::clock::Clock;
use super::config::DeliveryConfig;
use super::schedule::{Batch, Limits, Next, Scheduler};
use super::shared::Shared;
use super::types::{DeliveryFailure, DeliveryReport, Encoded, FailureReason, FlushError};
use crate::batch::BatchResult;
use crate::client::Api;
use crate::error::Error;
use crate::rate_limit::EndpointFamily;
use crate::retry::{Decision, Outcome, Replay, decide};
use crate::transport::ApiRequest;

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
    let limits = Limits {
        max_items: [
            api.events_per_request,
            crate::subscribers::MAX_SUBSCRIBERS_PER_REQUEST,
        ],
        max_bytes: config.max_batch_bytes,
        flush_interval: config.flush_interval,
    };
    let worker = Worker {
        api,
        http,
        scheduler: Scheduler::new(limits),
        config,
        shared,
        clock,
        in_flight: JoinSet::new(),
        waiters: Vec::new(),
        undelivered_at_deadline: 0,
        deadline: watch::Sender::new(None),
        arrivals: Arc::clone(&arrivals),
    };
    std::thread::Builder::new()
        .name("bento-delivery".into())
        .spawn(move || runtime.block_on(worker.run(data_rx, control_rx)))
        .map_err(|e| e.to_string())?;
    Ok(Handle {
        data: data_tx,
        control: control_tx,
        arrivals,
    })
}

type Sent = (Batch, Result<Bytes, (Outcome, Option<Duration>, Error)>);

struct Waiter {
    target: u64,
    started: Instant,
    deadline: Instant,
    timeout: Duration,
    reply: Option<Reply>,
    shutdown: bool,
}

struct Worker {
    api: Arc<Api>,
    http: reqwest::Client,
    config: DeliveryConfig,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    scheduler: Scheduler,
    in_flight: JoinSet<Sent>,
    waiters: Vec<Waiter>,
    /// Items given up on because a shutdown deadline passed.
    undelivered_at_deadline: u64,
    /// The earliest flush or shutdown deadline, watched by requests in flight
    /// so that one started before a flush still ends by its deadline.
    deadline: watch::Sender<Option<Instant>>,
    arrivals: Arc<Arrivals>,
}

impl Worker {
    async fn run(
        mut self,
        mut data: mpsc::UnboundedReceiver<Encoded>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut control_open = true;
        loop {
            let now = self.clock.now();
            let wake = self.start_sends(now);
            if self.settle_waiters(now) {
                break;
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
                message = control.recv(), if control_open => match message {
                    Some(message) => {
                        while let Ok(item) = data.try_recv() {
                            self.scheduler.push(item, now);
                        }
                        self.begin(message, now);
                    }
                    None => {
                        // Every handle is gone without a shutdown (they always send one
                        // when dropped); deliver what there is within the drain timeout.
                        control_open = false;
                        self.begin_shutdown(self.config.drain_timeout, None, now);
                    }
                },
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    match done {
                        Ok(sent) => self.finished(sent),
                        Err(error) => tracing::error!(%error, "Bento delivery task failed"),
                    }
                }
                () = self.arrivals.wake.notified() => {}
                () = sleep_until(wake) => {}
            }
            // Items are taken whenever the worker is awake, whatever woke it.
            self.arrivals.unseen.store(0, Ordering::Release);
            let now = self.clock.now();
            while let Ok(item) = data.try_recv() {
                self.scheduler.push(item, now);
            }
            if !self.scheduler.has_fresh() {
                self.arrivals.idle.store(true, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                // An item sent just before `idle` was set did not wake us: look once more.
                while let Ok(item) = data.try_recv() {
                    self.scheduler.push(item, now);
                }
                if self.scheduler.has_fresh() {
                    self.arrivals.idle.store(false, Ordering::Relaxed);
                }
            }
        }
        // Refuse late arrivals (the sender gets its item back), then account
        // for any that slipped in before the channel closed.
        data.close();
        let mut late = Vec::new();
        while let Ok(item) = data.try_recv() {
            late.push(item);
        }
        if !late.is_empty() {
            self.shared.resolved(0, late.len());
            self.fail(late, FailureReason::ShutdownDeadline);
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
        while self.in_flight.len() < self.config.max_in_flight {
            match self
                .scheduler
                .next(now, &mut |_| api.pacer.try_acquire(EndpointFamily::Batch))
            {
                Next::Send(batch) => self.start(batch, now),
                Next::Wait(wake) => return wake,
            }
        }
        None
    }

    fn start(&mut self, mut batch: Batch, now: Instant) {
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
        let deadline = self.deadline.subscribe();
        self.in_flight.spawn(async move {
            let request = ApiRequest::post(batch.kind.path()).json_bytes(body);
            let attempt = api.attempt(&http, &request, timeout);
            let result = until_deadline(attempt, deadline, batch.kind.path(), timeout).await;
            (batch, result)
        });
    }

    fn finished(&mut self, (batch, result): Sent) {
        let now = self.clock.now();
        let n = batch.len();
        let (outcome, retry_after, error) = match result {
            Ok(body) => {
                // Bento may count some items of a 2xx batch as failed without
                // saying which; those are counted, and logged.
                let refused = serde_json::from_slice::<BatchResult>(&body)
                    .map_or(0, |counts| (counts.failed as usize).min(n));
                if refused > 0 {
                    tracing::warn!(
                        kind = ?batch.kind,
                        accepted = n - refused,
                        refused,
                        "Bento accepted a batch but reported some of its items as failed"
                    );
                }
                let items = self.scheduler.resolve(batch);
                self.shared.recycle(items.into_iter().map(|item| item.json));
                self.shared.resolved(n - refused, refused);
                return;
            }
            Err(failure) => failure,
        };
        if let Some(delay) = retry_after {
            self.api.pacer.defer(EndpointFamily::Batch, delay);
        }
        let past_deadline = self.waiters.iter().any(|w| w.shutdown && now >= w.deadline);
        if past_deadline {
            let items = self.scheduler.resolve(batch);
            self.undelivered_at_deadline += items.len() as u64;
            self.shared.resolved(0, items.len());
            self.fail(items, FailureReason::ShutdownDeadline);
            return;
        }
        let refused_as_a_whole = matches!(
            outcome,
            Outcome::Status(status) if matches!(status.as_u16(), 400 | 413 | 422)
        );
        if refused_as_a_whole && n > 1 {
            // One bad item must not sink the others: halve until it is alone.
            tracing::debug!(kind = ?batch.kind, items = n, "bisecting a refused Bento batch");
            let (first, second) = batch.split();
            self.shared.retrying(n);
            self.scheduler.retry_at(first, now);
            self.scheduler.retry_at(second, now);
            return;
        }
        match decide(
            &self.config.retry,
            outcome,
            batch.attempts,
            retry_after,
            Replay::Safe,
            fastrand::f64(),
        ) {
            Decision::Retry(delay) => {
                tracing::debug!(kind = ?batch.kind, items = n, attempt = batch.attempts, delay_ms = delay.as_millis() as u64, %error, "retrying a Bento batch");
                self.shared.retrying(n);
                self.scheduler.retry_at(batch, now + delay);
            }
            Decision::GiveUp => {
                let items = self.scheduler.resolve(batch);
                self.shared.resolved(0, items.len());
                self.fail(items, FailureReason::Api(error));
            }
        }
    }

    fn fail(&self, items: Vec<Encoded>, reason: FailureReason) {
        tracing::warn!(items = items.len(), reason = %reason, "Bento delivery gave up on items");
        if let Some(hook) = &self.config.on_failure {
            let failure = DeliveryFailure { items, reason };
            if catch_unwind(AssertUnwindSafe(|| hook(failure))).is_err() {
                tracing::error!("the Bento delivery failure hook panicked");
            }
        }
    }

    fn begin(&mut self, message: Control, now: Instant) {
        match message {
            Control::Flush { timeout, reply } => {
                let target = self.scheduler.mark();
                self.waiters.push(Waiter {
                    target,
                    started: now,
                    deadline: now + timeout,
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
        self.scheduler.mark();
        self.waiters.push(Waiter {
            target: u64::MAX,
            started: now,
            deadline: now + timeout,
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
            if pending > 0 && !out_of_time {
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

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
