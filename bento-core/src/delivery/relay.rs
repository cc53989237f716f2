//! The relay: drains a durable store into Bento from the delivery thread.
//!
//! Every client built with a store runs one; among all that share the
//! store, the one the store lets lead relays and the others stand by. The
//! leader keeps one batch in hand at a time: it claims the oldest rows,
//! sends them, and settles them once Bento accepted them (or marks them
//! dead), before it claims again. So a row is never in two batches, a row
//! committed late (with a lower id) is simply found by the next claim, and a
//! crash re-sends at most the batch in hand.
//!
//! The store answers the questions of [`crate::store`]; batching, pacing,
//! the retry rule, bisection, the failure hook and telemetry are the
//! engine's, the same as for the in-memory queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Owner;
use super::config::DeliveryConfig;
use super::failure::FailureReason;
use super::hook::hand_to_hook;
use super::item::{BODY_OVERHEAD, Encoded, ItemKind, KINDS, batch_body};
use super::metrics;
use super::send::{self, BatchRequest, Deadline};
use super::supervise::CatchUnwind;
use super::verdict::Verdict;
use crate::rate_limit::budget::RateBudget;
use crate::rate_limit::{EndpointFamily, Slot};
use crate::store::{
    Claim, DurableStore, RelayStatus, Settle, StoreError, StoreSession, StoreSettings, StoredRow,
};
use crate::transport::{Api, slot_ended};

/// `None` while running; the deadline once a shutdown asked the relay to stop.
pub(crate) type Stop = Deadline;

pub(crate) struct Relay {
    pub(crate) store: Arc<dyn DurableStore>,
    pub(crate) settings: StoreSettings,
    pub(crate) status: Arc<RelayStatus>,
    pub(crate) api: Arc<Api>,
    pub(crate) http: reqwest::Client,
    pub(crate) config: DeliveryConfig,
    pub(crate) client: Owner,
    /// The budget shared with every process draining the store.
    pub(crate) budget: Option<Arc<dyn RateBudget>>,
    pub(crate) stop: Stop,
    /// The store's erasure count as this session last read it (`None`
    /// before the first read): while it is 0, no claim needs checking.
    pub(crate) erasures: Option<u64>,
}

/// Why leading ended.
enum Ended {
    /// A shutdown asked the relay to stop.
    Stopped,
    /// The store failed or the leader's session is gone: stand by again.
    Lost(StoreError),
}

impl From<StoreError> for Ended {
    fn from(error: StoreError) -> Self {
        Ended::Lost(error)
    }
}

/// A batch in hand: rows of one kind, in id order.
struct Claimed {
    kind: ItemKind,
    ids: Vec<i64>,
    bodies: Vec<String>,
    /// Whom each row is about.
    subjects: Vec<Option<String>>,
    attempts: u32,
    /// When its oldest row was written (on this process's clock).
    oldest: Instant,
    /// The store's erasure count its rows were last checked at: when the
    /// fence reads another, they are checked again before they are sent.
    checked: Option<u64>,
}

impl Claimed {
    fn body(&self) -> Vec<u8> {
        batch_body(self.kind, self.bodies.iter().map(|json| json.as_bytes()))
    }

    fn split(mut self) -> (Claimed, Claimed) {
        let half = self.ids.len() / 2;
        let tail = Claimed {
            kind: self.kind,
            ids: self.ids.split_off(half),
            bodies: self.bodies.split_off(half),
            subjects: self.subjects.split_off(half),
            attempts: 0,
            oldest: self.oldest,
            checked: self.checked,
        };
        self.attempts = 0;
        (self, tail)
    }

    fn items(&self) -> Vec<Encoded> {
        self.bodies
            .iter()
            .map(|json| Encoded {
                kind: self.kind,
                json: json.clone().into_bytes(),
            })
            .collect()
    }
}

impl Relay {
    fn judge(&self) -> send::Judge {
        send::Judge {
            backoff: self.config.backoff,
            max_age: self.settings.max_age,
        }
    }

    fn stopping(&self) -> Option<Instant> {
        *self.stop.borrow()
    }

    /// Sleeps for `wait`; false when a stop was asked for meanwhile.
    async fn pause(&mut self, wait: Duration) -> bool {
        if self.stopping().is_some() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => self.stopping().is_none(),
            _ = self.stop.changed() => false,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut warned = false;
        while self.stopping().is_none() {
            let ended = match self.elect().await {
                Ok(Some(session)) => {
                    warned = false;
                    self.status.lead(true);
                    // A panic ends this leadership, not the relay: the
                    // session is dropped, and the rows in hand wait in the
                    // store.
                    let ended = match CatchUnwind(Box::pin(self.lead(session))).await {
                        Ok(ended) => ended,
                        Err(_) => {
                            tracing::error!(
                                "the Bento outbox relay panicked; it stands by and leads again (please report this)"
                            );
                            Ended::Lost("the relay panicked".into())
                        }
                    };
                    self.status.lead(false);
                    ended
                }
                Ok(None) => Ended::Stopped,
                Err(error) => Ended::Lost(error),
            };
            match ended {
                Ended::Stopped => break,
                Ended::Lost(error) => {
                    if !warned {
                        tracing::warn!(%error, "the Bento outbox relay stopped leading; it stands by and tries again");
                        warned = true;
                    }
                    let interval = self.settings.takeover_interval;
                    if !self.pause(interval).await {
                        break;
                    }
                }
            }
        }
    }

    /// Waits until the store lets this process lead; `None` when stopped first.
    async fn elect(&mut self) -> Result<Option<Box<dyn StoreSession>>, StoreError> {
        if self.stopping().is_some() {
            return Ok(None);
        }
        let store = Arc::clone(&self.store);
        tokio::select! {
            session = store.lead() => session.map(Some),
            _ = self.stop.changed() => Ok(None),
        }
    }

    async fn lead(&mut self, mut session: Box<dyn StoreSession>) -> Ended {
        match session.interrupted().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(
                    items = n,
                    "the previous Bento outbox relay stopped mid-batch; those items are sent again and may reach Bento twice"
                );
                self.status.possible_duplicates(n);
            }
            Err(error) => {
                session.close().await;
                return Ended::Lost(error);
            }
        }
        tracing::info!("this instance now relays the Bento outbox");
        self.erasures = None;
        let ended = self.relay(&mut *session).await;
        // Closing the session lets another process lead at once.
        session.close().await;
        ended
    }

    async fn relay(&mut self, session: &mut dyn StoreSession) -> Ended {
        let claim = Claim::new(self.settings.claim.max(1), self.settings.claim_bytes.max(1));
        let mut prefetched: Option<Vec<StoredRow>> = None;
        loop {
            if self.stopping().is_some() {
                return Ended::Stopped;
            }
            let rows = match prefetched.take() {
                Some(rows) if !rows.is_empty() => rows,
                _ => match session.claim(claim).await {
                    Ok(rows) => rows,
                    Err(error) => return Ended::Lost(error),
                },
            };
            if rows.is_empty() {
                let poll = self.settings.poll_interval;
                let waited = tokio::select! {
                    waited = session.wait(poll) => waited,
                    _ = self.stop.changed() => return Ended::Stopped,
                };
                if let Err(error) = waited {
                    return Ended::Lost(error);
                }
                continue;
            }
            let oldest = rows.iter().map(|r| r.age).max().unwrap_or_default();
            // A claim cut by its row or byte limit: more rows wait behind it.
            let bytes: usize = rows.iter().map(StoredRow::size).sum();
            let full = rows.len() >= claim.rows || bytes >= claim.bytes / 2;
            if !full && oldest < self.config.flush_interval {
                // Not a full batch yet: let it fill for up to the flush interval.
                let wait = (self.config.flush_interval - oldest).max(Duration::from_millis(1));
                if !self.pause(wait).await {
                    return Ended::Stopped;
                }
                continue;
            }
            // With a backlog, the next claim (rows outside this one's id
            // range) runs while this one's first request is in flight.
            let range = full.then(|| {
                let ids = rows.iter().map(|r| r.id);
                (ids.clone().min().unwrap_or(0), ids.max().unwrap_or(0))
            });
            let (batches, unsendable) = self.cut(rows);
            for (reason, ids) in unsendable {
                let dead = Settle::Dead {
                    reason: &reason,
                    attempts: 0,
                };
                if let Err(error) = session.settle(&ids, dead).await {
                    return Ended::Lost(error);
                }
                self.status.failed(ids.len());
                metrics::count(metrics::FAILED, ids.len());
                let reason = FailureReason::Unsendable(reason);
                hand_to_hook(&self.config, &self.client, Vec::new(), reason, ids);
            }
            let last = batches.len().saturating_sub(1);
            for (index, mut batch) in batches.into_iter().enumerate() {
                // Rows written by a transaction that raced an erasure (it
                // checked the tombstones before the erasure committed, and
                // committed after it) are found here.
                if self.erasures == Some(0) {
                    batch.checked = Some(0);
                } else if let Err(ended) = self.leave_out_erased(session, &mut batch).await {
                    return ended;
                }
                if batch.ids.is_empty() {
                    continue;
                }
                let prefetch = range
                    .filter(|_| index == last)
                    .map(|(first, last)| claim.outside(first, last));
                match self.deliver(session, batch, prefetch).await {
                    Ok(rows) => prefetched = prefetched.or(rows),
                    Err(ended) => return ended,
                }
            }
        }
    }

    /// Groups claimed rows into batches by kind, item limit and size; also
    /// returns the rows that cannot be sent as they are, by reason (an
    /// unreadable row, a body that is not one JSON object, one over the
    /// request budget), which become dead letters rather than block the
    /// store or reach Bento as something else.
    fn cut(&self, rows: Vec<StoredRow>) -> (Vec<Claimed>, BTreeMap<String, Vec<i64>>) {
        let mut batches: Vec<Claimed> = Vec::new();
        let mut unsendable: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut open: [Option<(Claimed, usize)>; KINDS] = std::array::from_fn(|_| None);
        let now = Instant::now();
        for StoredRow { id, age, content } in rows {
            let written = now.checked_sub(age).unwrap_or(now);
            let checked = content.and_then(|(kind, json)| {
                let subject = sendable(&json, self.config.max_batch_bytes)?;
                Ok((kind, json, subject))
            });
            let (kind, json, subject) = match checked {
                Ok(item) => item,
                Err(reason) => {
                    tracing::warn!(id, %reason, "an outbox row that cannot be sent becomes a dead letter");
                    unsendable.entry(reason).or_default().push(id);
                    continue;
                }
            };
            let max_items = kind
                .fixed_max_items()
                .unwrap_or(self.api.events_per_request);
            // A deletion request names the person it erases: never left out.
            let subject = subject.filter(|_| crate::erasure::erasable(kind));
            let slot = &mut open[kind.index()];
            let full = slot.as_ref().is_some_and(|(batch, bytes)| {
                batch.ids.len() >= max_items
                    || bytes + json.len() + 1 + BODY_OVERHEAD > self.config.max_batch_bytes
            });
            if full && let Some((batch, _)) = slot.take() {
                batches.push(batch);
            }
            let (batch, bytes) = slot.get_or_insert_with(|| {
                (
                    Claimed {
                        kind,
                        ids: Vec::new(),
                        bodies: Vec::new(),
                        subjects: Vec::new(),
                        attempts: 0,
                        oldest: written,
                        checked: None,
                    },
                    0,
                )
            });
            batch.oldest = batch.oldest.min(written);
            *bytes += json.len() + 1;
            batch.ids.push(id);
            batch.bodies.push(json);
            batch.subjects.push(subject);
        }
        batches.extend(open.into_iter().flatten().map(|(batch, _)| batch));
        (batches, unsendable)
    }

    /// Sends one claimed batch until every row in it is delivered or dead
    /// (or a stop leaves the rest in the store). With `prefetch`, the id
    /// range of the whole claim, also claims the next rows during the first
    /// request and returns them.
    async fn deliver(
        &mut self,
        session: &mut dyn StoreSession,
        batch: Claimed,
        mut prefetch: Option<Claim>,
    ) -> Result<Option<Vec<StoredRow>>, Ended> {
        let mut prefetched = None;
        let mut work = VecDeque::from([batch]);
        while let Some(mut batch) = work.pop_front() {
            let Some(slot) = self.permit(batch.kind.family()).await else {
                return Err(Ended::Stopped);
            };
            let (first, last) = (
                batch.ids.first().copied().unwrap_or_default(),
                batch.ids.last().copied().unwrap_or_default(),
            );
            let fence = session.sending(first, last).await?;
            self.erasures = Some(fence.erasures);
            if batch.checked != Some(fence.erasures) {
                // Someone was erased since these rows were checked: the
                // erasure committed before the fence, so it waits for no
                // request of theirs, and their rows must not leave.
                if self.leave_out_erased(session, &mut batch).await? > 0 {
                    // Removing their rows cleared the range the fence
                    // recorded: fence again, or an erasure starting now
                    // would not see this request in flight (the fleet soak
                    // found that).
                    slot.end(crate::rate_limit::slot::Ended::NotSent);
                    if !batch.ids.is_empty() {
                        work.push_front(batch);
                    }
                    continue;
                }
            }
            batch.attempts += 1;
            let n = batch.ids.len();
            let started = Instant::now();
            let request = BatchRequest {
                kind: batch.kind,
                items: n,
                body: batch.body().into(),
                attempt: batch.attempts,
            };
            // A stop's deadline ends the request in flight: its rows stay.
            let (span, send) = send::start(
                Arc::clone(&self.api),
                self.http.clone(),
                request,
                self.api.timeout,
                self.stop.clone(),
            );
            let result = match prefetch.take() {
                Some(next) => {
                    let (result, next) = tokio::join!(send, session.claim(next));
                    prefetched = Some(next?);
                    result
                }
                None => send.await,
            };
            // The request ended: its slot counts for a window from now.
            slot.end(slot_ended(&result));
            let stopped = self
                .stopping()
                .is_some_and(|deadline| Instant::now() >= deadline);
            if stopped && result.is_err() {
                return Err(Ended::Stopped);
            }
            let age = batch.oldest.elapsed();
            let sent = (batch.kind, n, batch.attempts);
            let (verdict, retry_after) = self.judge().verdict(result, sent, age, &span);
            send::record(&span, batch.kind, send::outcome(&verdict), started);
            if let Some(delay) = retry_after {
                self.api
                    .pacer
                    .defer_everywhere(batch.kind.family(), delay, self.budget.as_deref())
                    .await;
            }
            let wait = match verdict {
                Verdict::Accepted { refused } => {
                    session.settle(&batch.ids, Settle::Delivered).await?;
                    self.status.sent(n - refused);
                    metrics::count(metrics::SENT, n - refused);
                    if refused > 0 {
                        self.status.failed(refused);
                        metrics::count(metrics::FAILED, refused);
                        let reason = FailureReason::PartlyRefused {
                            refused: refused as u64,
                        };
                        hand_to_hook(&self.config, &self.client, batch.items(), reason, batch.ids);
                    }
                    continue;
                }
                Verdict::Bisect => {
                    self.status.retried(n);
                    let (first, second) = batch.split();
                    work.push_front(second);
                    work.push_front(first);
                    continue;
                }
                Verdict::Defer(delay) => {
                    batch.attempts = batch.attempts.saturating_sub(1);
                    self.status.retried(n);
                    delay
                }
                Verdict::Retry {
                    delay,
                    ambiguous,
                    error,
                } => {
                    tracing::debug!(items = n, attempt = batch.attempts, %error, "retrying an outbox batch");
                    self.status.retried(n);
                    if ambiguous {
                        self.status.possible_duplicates(n as u64);
                    }
                    delay
                }
                Verdict::GiveUp(error) => {
                    self.bury(session, batch, FailureReason::Api(error)).await?;
                    continue;
                }
                Verdict::Expired(last) => {
                    self.bury(session, batch, FailureReason::Expired { age, last })
                        .await?;
                    continue;
                }
            };
            work.push_front(batch);
            if !self.pause(wait).await {
                return Err(Ended::Stopped);
            }
        }
        Ok(prefetched)
    }

    /// Removes from `batch` (and from the store) the rows about someone a
    /// tombstone holds, counts them and tells the hook (without the rows:
    /// they are the erased person's data); how many. Settling them clears
    /// the range the last fence recorded.
    async fn leave_out_erased(
        &mut self,
        session: &mut dyn StoreSession,
        batch: &mut Claimed,
    ) -> Result<usize, Ended> {
        let subjects: Vec<Option<&str>> = batch.subjects.iter().map(Option::as_deref).collect();
        let found = session.erased(&subjects).await?;
        if found.erased.len() != subjects.len() {
            return Err(Ended::Lost(
                "the store answered the erasure check for another number of rows".into(),
            ));
        }
        self.erasures = Some(found.count);
        batch.checked = Some(found.count);
        if !found.erased.contains(&true) {
            return Ok(0);
        }
        let mut gone = Vec::new();
        let mut keep = found.erased.iter().map(|erased| !erased);
        let mut index = 0;
        let (mut ids, mut bodies, mut subjects) = (Vec::new(), Vec::new(), Vec::new());
        for ((id, body), subject) in batch
            .ids
            .drain(..)
            .zip(batch.bodies.drain(..))
            .zip(batch.subjects.drain(..))
        {
            if keep.next().unwrap_or(true) {
                ids.push(id);
                bodies.push(body);
                subjects.push(subject);
            } else {
                gone.push(id);
            }
            index += 1;
        }
        debug_assert_eq!(index, found.erased.len());
        (batch.ids, batch.bodies, batch.subjects) = (ids, bodies, subjects);
        session.settle(&gone, Settle::Erased).await?;
        let n = gone.len();
        self.status.erased(n as u64);
        metrics::count(metrics::ERASED, n);
        tracing::info!(
            items = n,
            "outbox rows about an erased person were removed unsent"
        );
        let reason = FailureReason::Erased { count: n as u64 };
        hand_to_hook(&self.config, &self.client, Vec::new(), reason, gone);
        Ok(n)
    }

    /// Makes dead letters of a batch's rows, and hands them to the hook.
    async fn bury(
        &self,
        session: &mut dyn StoreSession,
        batch: Claimed,
        reason: FailureReason,
    ) -> Result<(), Ended> {
        let n = batch.ids.len();
        let text = reason.to_string();
        let dead = Settle::Dead {
            reason: &text,
            attempts: batch.attempts,
        };
        session.settle(&batch.ids, dead).await?;
        self.status.failed(n);
        metrics::count(metrics::FAILED, n);
        hand_to_hook(&self.config, &self.client, batch.items(), reason, batch.ids);
        Ok(())
    }

    /// Waits for a slot of `family`, here and in the shared budget (which
    /// also holds every previous leader's sends); `None` when stopped first.
    async fn permit(&mut self, family: EndpointFamily) -> Option<Slot> {
        loop {
            let budget = self.budget.clone();
            let wait = match self.api.pacer.try_slot(family, budget.as_deref()).await {
                Ok(slot) => return Some(slot),
                Err(wait) => wait,
            };
            if !self.pause(wait).await {
                return None;
            }
        }
    }
}

/// Whether a stored body can go into a batch as it is: exactly one JSON
/// object (a row written by hand may hold anything: spliced into a batch,
/// `{..}{..}` would become two items) within the request budget; and whom
/// it is about.
fn sendable(json: &str, max_batch_bytes: usize) -> Result<Option<String>, String> {
    if json.len() + BODY_OVERHEAD > max_batch_bytes {
        return Err(format!(
            "its body is {} bytes, over the {max_batch_bytes}-byte request budget",
            json.len()
        ));
    }
    if !json.trim_start().starts_with('{') {
        return Err("its body is not a JSON object".to_owned());
    }
    crate::erasure::read_subject(json.as_bytes())
        .map_err(|error| format!("its body is not one JSON object ({error})"))
}

#[cfg(test)]
mod tests {
    use super::sendable;

    #[test]
    fn only_one_json_object_within_the_budget_is_sendable() {
        assert_eq!(
            sendable(r#"{"type":"x","email":"a@example.com"}"#, 1024),
            Ok(Some("a@example.com".to_owned()))
        );
        assert_eq!(sendable(r#"{"type":"x","email":5}"#, 1024), Ok(None));
        assert!(sendable(" {\"a\":1} \n", 1024).is_ok());
        let two = sendable(r#"{"a":1}{"b":2}"#, 1024).unwrap_err();
        assert!(two.contains("not one JSON object"), "{two}");
        for not_an_object in ["[1,2]", "\"text\"", "12", "", "null"] {
            let error = sendable(not_an_object, 1024).unwrap_err();
            assert!(
                error.contains("not a JSON object"),
                "{not_an_object}: {error}"
            );
        }
        assert!(sendable(r#"{"a":"#, 1024).is_err());
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(2000));
        let error = sendable(&big, 1024).unwrap_err();
        assert!(
            error.contains("over the 1024-byte request budget"),
            "{error}"
        );
    }
}
