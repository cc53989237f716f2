//! Flushes and shutdowns waiting for the engine: each waits for the items
//! of the generations before it (not for the queue to empty, so a flush
//! completes while traffic goes on), by its deadline.

use std::time::{Duration, Instant};

use super::errors::FlushError;
use super::failure::FailureReason;
use super::handle::Reply;
use super::item::Encoded;
use super::queue::Shared;
use super::report::DeliveryReport;
use super::schedule::Scheduler;
use crate::time::after;

struct Waiter {
    target: u64,
    started: Instant,
    deadline: Instant,
    timeout: Duration,
    reply: Option<Reply>,
    shutdown: bool,
}

#[derive(Default)]
pub(crate) struct Waiters {
    waiting: Vec<Waiter>,
    /// Items given up on because a shutdown deadline passed.
    undelivered_at_deadline: u64,
}

/// What the waiters need of the engine to settle.
pub(crate) struct Engine<'a> {
    pub(crate) scheduler: &'a mut Scheduler,
    pub(crate) queue: &'a Shared,
    /// Requests are in flight.
    pub(crate) in_flight: bool,
    /// A durable store's relay is running.
    pub(crate) relaying: bool,
    /// Hands items given up on to the failure hook.
    pub(crate) fail: &'a dyn Fn(Vec<Encoded>, FailureReason),
}

impl Waiters {
    /// A flush of everything queued so far, by `timeout` from `now`.
    pub(crate) fn flush(&mut self, target: u64, timeout: Duration, reply: Reply, now: Instant) {
        self.waiting.push(Waiter {
            target,
            started: now,
            deadline: after(now, timeout),
            timeout,
            reply: Some(reply),
            shutdown: false,
        });
    }

    /// A shutdown: everything, by `timeout` from `now`.
    pub(crate) fn shutdown(&mut self, timeout: Duration, reply: Option<Reply>, now: Instant) {
        self.waiting.push(Waiter {
            target: u64::MAX,
            started: now,
            deadline: after(now, timeout),
            timeout,
            reply,
            shutdown: true,
        });
    }

    /// The earliest deadline of all.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.waiting.iter().map(|w| w.deadline).min()
    }

    /// The earliest deadline still ahead of `now`: when to look again.
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        self.waiting
            .iter()
            .map(|w| w.deadline)
            .filter(|deadline| *deadline > now)
            .min()
    }

    /// A shutdown's deadline has passed: nothing new may be sent.
    pub(crate) fn shutdown_expired(&self, now: Instant) -> bool {
        self.waiting.iter().any(|w| w.shutdown && now >= w.deadline)
    }

    /// The longest a request started `now` may take.
    pub(crate) fn request_timeout(&self, now: Instant, timeout: Duration) -> Duration {
        self.waiting
            .iter()
            .map(|w| w.deadline.saturating_duration_since(now))
            .fold(timeout, Duration::min)
            .max(Duration::from_millis(1))
    }

    /// Counts items given up on at a shutdown's deadline.
    pub(crate) fn undelivered(&mut self, n: usize) {
        self.undelivered_at_deadline += n as u64;
    }

    /// Answers the flushes and shutdowns that are done or out of time. True
    /// when the worker should stop.
    pub(crate) fn settle(&mut self, now: Instant, engine: Engine<'_>) -> bool {
        let Engine {
            scheduler,
            queue,
            in_flight,
            relaying,
            fail,
        } = engine;
        let mut stop = false;
        let mut index = 0;
        while index < self.waiting.len() {
            let waiter = &self.waiting[index];
            let pending = scheduler.pending_through(waiter.target) as u64;
            let out_of_time = now >= waiter.deadline;
            if waiter.shutdown && out_of_time && pending > 0 {
                // Give up on what is not in flight now; in-flight requests end
                // by the deadline (their timeout was clamped to it).
                let items = scheduler.take_all();
                if !items.is_empty() {
                    self.undelivered_at_deadline += items.len() as u64;
                    queue.resolved(0, items.len());
                    fail(items, FailureReason::ShutdownDeadline);
                }
                if in_flight {
                    index += 1;
                    continue;
                }
            }
            let waiter = &self.waiting[index];
            let pending = scheduler.pending_through(waiter.target) as u64;
            if (pending > 0 || (waiter.shutdown && relaying)) && !out_of_time {
                index += 1;
                continue;
            }
            let mut waiter = self.waiting.swap_remove(index);
            let result = if waiter.shutdown && self.undelivered_at_deadline > 0 {
                Err(FlushError::Timeout {
                    pending: self.undelivered_at_deadline,
                    timeout: waiter.timeout,
                })
            } else {
                report(pending, &waiter, queue, now)
            };
            if waiter.shutdown {
                // Every caller of `shutdown` (and `Drop`) sees this outcome.
                queue.drained.send_replace(Some(result));
            }
            if let Some(reply) = waiter.reply.take() {
                reply.send(result);
            }
            stop |= waiter.shutdown;
        }
        if stop {
            // Whatever else was waiting gets an answer too, never a hang-up.
            for mut waiter in self.waiting.drain(..) {
                let pending = scheduler.pending_through(waiter.target) as u64;
                if let Some(reply) = waiter.reply.take() {
                    reply.send(report(pending, &waiter, queue, now));
                }
            }
        }
        scheduler.set_urgent(!self.waiting.is_empty());
        stop
    }
}

fn report(
    pending: u64,
    waiter: &Waiter,
    queue: &Shared,
    now: Instant,
) -> Result<DeliveryReport, FlushError> {
    if pending > 0 {
        Err(FlushError::Timeout {
            pending,
            timeout: waiter.timeout,
        })
    } else {
        Ok(DeliveryReport {
            stats: queue.stats(),
            waited: now.saturating_duration_since(waiter.started),
        })
    }
}
