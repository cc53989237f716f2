//! When to send what: the delivery engine's decisions, as a state machine
//! with no I/O and no clock of its own. The worker feeds it items, results
//! and the time; it answers with the next batch to send or when to look again.
//!
//! - Items wait per kind in arrival order. A batch is cut only at the moment a
//!   request may go out (the pacer granted a slot), so while Bento's rate limit
//!   holds requests back, items keep accumulating and every request leaves as
//!   full as the limits allow, never as a stream of small ones.
//! - A kind is ready when it fills a batch (item count or byte budget), when
//!   its oldest item has waited the flush interval, or when a flush is waiting.
//! - Failed batches wait in their own queue until their retry is due, and are
//!   sent before fresh items then; while they wait, fresh batches go out.
//! - Every item carries the generation it arrived in; a flush bumps the
//!   generation and is done when no item of an older one is left.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::item::{BODY_OVERHEAD, Encoded, ItemKind, KINDS, batch_body};
use crate::time::after;

pub(crate) struct Limits {
    /// Per kind, indexed by `ItemKind::index`.
    pub(crate) max_items: [usize; KINDS],
    pub(crate) max_bytes: usize,
    pub(crate) flush_interval: Duration,
}

pub(crate) struct Entry {
    pub(crate) item: Encoded,
    generation: u64,
    received: Instant,
}

/// Items sent (or to be sent) in one request.
pub(crate) struct Batch {
    pub(crate) kind: ItemKind,
    pub(crate) entries: Vec<Entry>,
    /// Attempts made so far.
    pub(crate) attempts: u32,
}

impl Batch {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How long its oldest item has waited at `now`.
    pub(crate) fn age(&self, now: Instant) -> Duration {
        self.entries
            .iter()
            .map(|entry| now.saturating_duration_since(entry.received))
            .max()
            .unwrap_or_default()
    }

    /// `{"<kind>":[item,item,...]}`.
    pub(crate) fn body(&self) -> Bytes {
        Bytes::from(batch_body(
            self.kind,
            self.entries.iter().map(|e| e.item.json.as_slice()),
        ))
    }

    /// Two halves, to isolate the item a 400 is about.
    pub(crate) fn split(mut self) -> (Batch, Batch) {
        let tail = self.entries.split_off(self.entries.len() / 2);
        let half = |entries| Batch {
            kind: self.kind,
            entries,
            attempts: 0,
        };
        (half(self.entries), half(tail))
    }
}

struct Waiting {
    due: Instant,
    order: u64,
    batch: Batch,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

pub(crate) enum Next {
    /// Send this batch now (its pacer slot is taken).
    Send(Batch),
    /// Nothing to send; look again at this time (or when something happens).
    Wait(Option<Instant>),
}

pub(crate) struct Scheduler {
    limits: Limits,
    fresh: [VecDeque<Entry>; KINDS],
    fresh_bytes: [usize; KINDS],
    retries: BinaryHeap<Reverse<Waiting>>,
    order: u64,
    generation: u64,
    unresolved: BTreeMap<u64, usize>,
    urgent: bool,
}

impl Scheduler {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            fresh: std::array::from_fn(|_| VecDeque::new()),
            fresh_bytes: [0; KINDS],
            retries: BinaryHeap::new(),
            order: 0,
            generation: 0,
            unresolved: BTreeMap::new(),
            urgent: false,
        }
    }

    pub(crate) fn push(&mut self, item: Encoded, now: Instant) {
        let kind = item.kind.index();
        self.fresh_bytes[kind] += item.json.len() + 1;
        *self.unresolved.entry(self.generation).or_default() += 1;
        self.fresh[kind].push_back(Entry {
            item,
            generation: self.generation,
            received: now,
        });
    }

    /// Whether fresh items wait (so a timer or a request will bring the worker back).
    pub(crate) fn has_fresh(&self) -> bool {
        self.fresh.iter().any(|queue| !queue.is_empty())
    }

    /// While set, everything waiting is sent as soon as the pacer allows.
    pub(crate) fn set_urgent(&mut self, urgent: bool) {
        self.urgent = urgent;
    }

    /// The next batch to send, asking `permit` for a pacer slot first.
    pub(crate) fn next(
        &mut self,
        now: Instant,
        permit: &mut dyn FnMut(ItemKind) -> Result<(), Duration>,
    ) -> Next {
        let mut wake: Option<Instant> = None;
        let mut wake_at = |at: Instant| wake = Some(wake.map_or(at, |w| w.min(at)));

        if let Some(Reverse(first)) = self.retries.peek() {
            if first.due <= now {
                match permit(first.batch.kind) {
                    Ok(()) => {
                        if let Some(Reverse(waiting)) = self.retries.pop() {
                            return Next::Send(waiting.batch);
                        }
                    }
                    Err(wait) => wake_at(after(now, wait)),
                }
            } else {
                wake_at(first.due);
            }
        }

        for kind in ItemKind::ALL {
            let k = kind.index();
            let Some(oldest) = self.fresh[k].front() else {
                continue;
            };
            let interval_due = after(oldest.received, self.limits.flush_interval);
            let ready = self.urgent
                || self.fresh[k].len() >= self.limits.max_items[k]
                || self.fresh_bytes[k] + BODY_OVERHEAD >= self.limits.max_bytes
                || interval_due <= now;
            if !ready {
                wake_at(interval_due);
                continue;
            }
            match permit(kind) {
                Ok(()) => return Next::Send(self.cut(kind)),
                Err(wait) => wake_at(after(now, wait)),
            }
        }
        Next::Wait(wake)
    }

    /// The oldest items of `kind`, as many as one request takes.
    fn cut(&mut self, kind: ItemKind) -> Batch {
        let k = kind.index();
        let mut entries = Vec::with_capacity(self.fresh[k].len().min(self.limits.max_items[k]));
        let mut bytes = BODY_OVERHEAD;
        while let Some(next) = self.fresh[k].front() {
            let size = next.item.json.len() + 1;
            let full = entries.len() >= self.limits.max_items[k]
                || (!entries.is_empty() && bytes + size > self.limits.max_bytes);
            if full {
                break;
            }
            bytes += size;
            self.fresh_bytes[k] -= size;
            if let Some(entry) = self.fresh[k].pop_front() {
                entries.push(entry);
            }
        }
        Batch {
            kind,
            entries,
            attempts: 0,
        }
    }

    /// A failed batch, to be sent again at `due`.
    pub(crate) fn retry_at(&mut self, batch: Batch, due: Instant) {
        self.order += 1;
        self.retries.push(Reverse(Waiting {
            due,
            order: self.order,
            batch,
        }));
    }

    /// The batch's items are done with (delivered or given up on).
    pub(crate) fn resolve(&mut self, batch: Batch) -> Vec<Encoded> {
        batch
            .entries
            .into_iter()
            .map(|entry| {
                self.forget(entry.generation);
                entry.item
            })
            .collect()
    }

    fn forget(&mut self, generation: u64) {
        if let Some(count) = self.unresolved.get_mut(&generation) {
            *count -= 1;
            if *count == 0 {
                self.unresolved.remove(&generation);
            }
        }
    }

    /// Starts a flush: returns the generation it waits for.
    pub(crate) fn mark(&mut self) -> u64 {
        let target = self.generation;
        self.generation += 1;
        target
    }

    /// Items of generation `target` or older not yet resolved.
    pub(crate) fn pending_through(&self, target: u64) -> usize {
        self.unresolved.range(..=target).map(|(_, n)| n).sum()
    }

    /// Removes every waiting item (fresh or to be retried) that `about`
    /// selects, and returns them.
    pub(crate) fn erase(&mut self, about: &dyn Fn(&Encoded) -> bool) -> Vec<Encoded> {
        let mut erased = Vec::new();
        for k in 0..self.fresh.len() {
            let (gone, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.fresh[k])
                .into_iter()
                .partition(|entry| about(&entry.item));
            self.fresh[k] = kept.into();
            for entry in gone {
                self.fresh_bytes[k] -= entry.item.json.len() + 1;
                self.forget(entry.generation);
                erased.push(entry.item);
            }
        }
        let retries = std::mem::take(&mut self.retries).into_vec();
        for Reverse(mut waiting) in retries {
            erased.extend(self.strip(&mut waiting.batch, about));
            if !waiting.batch.entries.is_empty() {
                self.retries.push(Reverse(waiting));
            }
        }
        erased
    }

    /// Removes from `batch` the items `about` selects, resolved.
    pub(crate) fn strip(
        &mut self,
        batch: &mut Batch,
        about: &dyn Fn(&Encoded) -> bool,
    ) -> Vec<Encoded> {
        let (gone, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut batch.entries)
            .into_iter()
            .partition(|entry| about(&entry.item));
        batch.entries = kept;
        gone.into_iter()
            .map(|entry| {
                self.forget(entry.generation);
                entry.item
            })
            .collect()
    }

    /// Every item not in flight, and every count: after a panic, when the
    /// counts can no longer be trusted. Batches in flight are the caller's.
    pub(crate) fn abandon_all(&mut self) -> Vec<Encoded> {
        let items = self.take_all();
        self.unresolved.clear();
        self.urgent = false;
        items
    }

    /// Every item not in flight, resolved: for a shutdown whose deadline passed.
    pub(crate) fn take_all(&mut self) -> Vec<Encoded> {
        let mut items = Vec::new();
        for k in 0..self.fresh.len() {
            self.fresh_bytes[k] = 0;
            for entry in std::mem::take(&mut self.fresh[k]) {
                self.forget(entry.generation);
                items.push(entry.item);
            }
        }
        for Reverse(waiting) in std::mem::take(&mut self.retries).into_vec() {
            items.extend(self.resolve(waiting.batch));
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::clock::{Clock, ManualClock};

    fn item(kind: ItemKind, size: usize) -> Encoded {
        Encoded {
            kind,
            json: vec![b'x'; size],
        }
    }

    fn scheduler(max_items: usize, max_bytes: usize) -> Scheduler {
        Scheduler::new(Limits {
            max_items: [max_items; KINDS],
            max_bytes,
            flush_interval: Duration::from_secs(1),
        })
    }

    fn always(_: ItemKind) -> Result<(), Duration> {
        Ok(())
    }

    fn sent(next: Next) -> Batch {
        match next {
            Next::Send(batch) => batch,
            Next::Wait(at) => panic!("expected a batch, got a wait until {at:?}"),
        }
    }

    #[test]
    fn a_batch_closes_when_full_or_when_the_interval_passes() {
        let clock = ManualClock::new();
        let mut s = scheduler(3, 1 << 20);
        for _ in 0..4 {
            s.push(item(ItemKind::Event, 10), clock.now());
        }
        assert_eq!(sent(s.next(clock.now(), &mut always)).len(), 3);
        match s.next(clock.now(), &mut always) {
            Next::Wait(Some(at)) => assert_eq!(at, clock.now() + Duration::from_secs(1)),
            _ => panic!("the last item waits for the flush interval"),
        }
        clock.advance(Duration::from_millis(999));
        assert!(matches!(
            s.next(clock.now(), &mut always),
            Next::Wait(Some(_))
        ));
        clock.advance(Duration::from_millis(1));
        assert_eq!(sent(s.next(clock.now(), &mut always)).len(), 1);
        assert!(matches!(s.next(clock.now(), &mut always), Next::Wait(None)));
    }

    #[test]
    fn the_byte_budget_closes_a_batch_too() {
        let clock = ManualClock::new();
        let mut s = scheduler(1000, BODY_OVERHEAD + 3 * 101);
        for _ in 0..5 {
            s.push(item(ItemKind::Event, 100), clock.now());
        }
        let first = sent(s.next(clock.now(), &mut always));
        assert_eq!(first.len(), 3);
        assert!(
            first.body().len() <= BODY_OVERHEAD + 3 * 101,
            "{}",
            first.body().len()
        );
        assert!(
            matches!(s.next(clock.now(), &mut always), Next::Wait(Some(_))),
            "the remaining two fit the budget and wait for the interval"
        );
    }

    #[test]
    fn while_the_pacer_holds_back_batches_fill_up() {
        let clock = ManualClock::new();
        let mut s = scheduler(1000, 1 << 24);
        let mut closed = |_: ItemKind| Err(Duration::from_millis(600));
        for i in 0..2500 {
            s.push(item(ItemKind::Event, 10), clock.now());
            if i % 100 == 0 {
                clock.advance(Duration::from_secs(2));
                assert!(matches!(
                    s.next(clock.now(), &mut closed),
                    Next::Wait(Some(_))
                ));
            }
        }
        // When slots come back, the requests leave full, not as 25 small ones.
        let sizes: Vec<usize> = (0..3)
            .map(|_| sent(s.next(clock.now(), &mut always)).len())
            .collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
    }

    #[test]
    fn retries_wait_for_their_due_time_without_stalling_fresh_batches() {
        let clock = ManualClock::new();
        let mut s = scheduler(2, 1 << 20);
        s.push(item(ItemKind::Event, 1), clock.now());
        s.push(item(ItemKind::Event, 1), clock.now());
        let failed = sent(s.next(clock.now(), &mut always));
        s.retry_at(failed, clock.now() + Duration::from_secs(5));

        s.push(item(ItemKind::Event, 2), clock.now());
        s.push(item(ItemKind::Event, 2), clock.now());
        let fresh = sent(s.next(clock.now(), &mut always));
        assert_eq!(
            fresh.entries[0].item.json.len(),
            2,
            "fresh items go out first"
        );
        s.resolve(fresh);

        match s.next(clock.now(), &mut always) {
            Next::Wait(Some(at)) => assert_eq!(at, clock.now() + Duration::from_secs(5)),
            _ => panic!("the retry waits"),
        }
        clock.advance(Duration::from_secs(5));
        let retried = sent(s.next(clock.now(), &mut always));
        assert_eq!(retried.entries[0].item.json.len(), 1);
    }

    #[test]
    fn kinds_are_batched_separately() {
        let clock = ManualClock::new();
        let mut s = scheduler(10, 1 << 20);
        s.push(item(ItemKind::Event, 1), clock.now());
        s.push(item(ItemKind::Subscriber, 1), clock.now());
        s.push(item(ItemKind::Event, 1), clock.now());
        s.set_urgent(true);
        let first = sent(s.next(clock.now(), &mut always));
        let second = sent(s.next(clock.now(), &mut always));
        assert_eq!((first.kind, first.len()), (ItemKind::Event, 2));
        assert_eq!((second.kind, second.len()), (ItemKind::Subscriber, 1));
        assert!(second.body().starts_with(b"{\"subscribers\":["));
    }

    #[test]
    fn absurd_intervals_and_waits_do_not_overflow() {
        let clock = ManualClock::new();
        let mut s = Scheduler::new(Limits {
            max_items: [10; KINDS],
            max_bytes: 1 << 20,
            flush_interval: Duration::MAX,
        });
        s.push(item(ItemKind::Event, 1), clock.now());
        assert!(matches!(
            s.next(clock.now(), &mut always),
            Next::Wait(Some(_))
        ));
        s.set_urgent(true);
        let mut never = |_: ItemKind| Err(Duration::MAX);
        assert!(matches!(
            s.next(clock.now(), &mut never),
            Next::Wait(Some(_))
        ));
        assert_eq!(sent(s.next(clock.now(), &mut always)).len(), 1);
    }

    #[test]
    fn a_flush_waits_only_for_items_older_than_itself() {
        let clock = ManualClock::new();
        let mut s = scheduler(10, 1 << 20);
        s.push(item(ItemKind::Event, 1), clock.now());
        s.push(item(ItemKind::Event, 1), clock.now());
        let target = s.mark();
        s.push(item(ItemKind::Event, 1), clock.now());
        assert_eq!(s.pending_through(target), 2);
        s.set_urgent(true);
        let batch = sent(s.next(clock.now(), &mut always));
        assert_eq!(batch.len(), 3);
        let (older, newer) = batch.split();
        s.resolve(older);
        assert_eq!(
            s.pending_through(target),
            1,
            "one old item is in the unresolved half"
        );
        s.retry_at(newer, clock.now());
        assert_eq!(s.take_all().len(), 2);
        assert_eq!(s.pending_through(target), 0);
        assert_eq!(s.pending_through(u64::MAX), 0);
    }
}
