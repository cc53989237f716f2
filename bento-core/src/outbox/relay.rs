//! The relay: drains the outbox table into Bento from the delivery thread.
//!
//! Every client built with an outbox runs one; among all that share the
//! database, the one holding the session advisory lock relays and the others
//! stand by. The leader keeps one batch in hand at a time: it claims the
//! oldest rows, sends them, and deletes them once Bento accepted them (or
//! marks them dead), before it claims again. So a row is never in two
//! batches, a row committed late (with a lower id) is simply found by the
//! next claim, and a crash re-sends at most the batch in hand.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, PgPool};
use tokio::sync::watch;
use tracing::Instrument;

use super::schema::RELAY_LOCK;
use super::{FleetPacer, Outbox, RelayStatus, kind_of};
use crate::client::{Api, Inner};
use crate::dispatch::types::KINDS;
use crate::dispatch::verdict::{Verdict, judge, label};
use crate::dispatch::{
    CatchUnwind, DeliveryConfig, Encoded, FailureReason, ItemKind, batch_body, hand_to_hook,
    metrics,
};
use crate::transport::rate_limit::{EndpointFamily, Slot};
use crate::transport::{ApiRequest, telemetry};

/// Rows claimed at once: Bento's largest batch.
const CLAIM: i64 = 1000;

/// `None` while running; the deadline once a shutdown asked the relay to stop.
pub(crate) type Stop = watch::Receiver<Option<Instant>>;

pub(crate) struct Relay {
    pub(crate) outbox: Outbox,
    pub(crate) api: Arc<Api>,
    pub(crate) http: reqwest::Client,
    pub(crate) config: DeliveryConfig,
    pub(crate) client: Weak<Inner>,
    /// The fleet-wide budget of the batch family.
    pub(crate) fleet: Arc<FleetPacer>,
    pub(crate) stop: Stop,
}

/// Why leading ended.
enum Ended {
    /// A shutdown asked the relay to stop.
    Stopped,
    /// The database failed or the leader's session is gone: stand by again.
    Lost(sqlx::Error),
}

impl From<sqlx::Error> for Ended {
    fn from(error: sqlx::Error) -> Self {
        Ended::Lost(error)
    }
}

/// A batch in hand: rows of one kind, in id order.
struct Claimed {
    kind: ItemKind,
    ids: Vec<i64>,
    bodies: Vec<String>,
    attempts: u32,
    /// When its oldest row was written (on this process's clock).
    oldest: Instant,
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
            attempts: 0,
            oldest: self.oldest,
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
    fn status(&self) -> &RelayStatus {
        &self.outbox.status
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
        let options = (*self.outbox.pool.connect_options())
            .clone()
            .application_name("bento-outbox-relay")
            // Losing a delete in a database crash re-sends the batch, which
            // the at-least-once contract allows: no need to wait for the disk.
            .options([("synchronous_commit", "off")]);
        let mut warned = false;
        while self.stopping().is_none() {
            let ended = match self.elect(&options).await {
                Ok(Some(conn)) => {
                    warned = false;
                    self.status().leader.store(true, Ordering::Relaxed);
                    RelayStatus::add(&self.status().takeovers, 1);
                    // A panic ends this leadership, not the relay: the
                    // connection (and with it the lock) is dropped, and
                    // the rows in hand wait in the table.
                    let ended = match CatchUnwind(Box::pin(self.lead(conn, &options))).await {
                        Ok(ended) => ended,
                        Err(_) => {
                            tracing::error!(
                                "the Bento outbox relay panicked; it stands by and leads again (please report this)"
                            );
                            Ended::Lost(sqlx::Error::WorkerCrashed)
                        }
                    };
                    self.status().leader.store(false, Ordering::Relaxed);
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
                    let interval = self.outbox.takeover_interval;
                    if !self.pause(interval).await {
                        break;
                    }
                }
            }
        }
    }

    /// Waits until this instance holds the relay lock (on a connection of its
    /// own, which holds it as long as it lives); `None` when stopped first.
    async fn elect(
        &mut self,
        options: &PgConnectOptions,
    ) -> Result<Option<PgConnection>, sqlx::Error> {
        let mut conn = options.connect().await?;
        loop {
            let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(RELAY_LOCK)
                .fetch_one(&mut conn)
                .await?;
            if leader {
                return Ok(Some(conn));
            }
            let interval = self.outbox.takeover_interval;
            if !self.pause(interval).await {
                return Ok(None);
            }
        }
    }

    async fn lead(&mut self, mut conn: PgConnection, options: &PgConnectOptions) -> Ended {
        // A vanished host is noticed by the server through keepalives, which
        // ends this session and frees the lock for another instance.
        for setting in [
            "SET tcp_keepalives_idle = 5",
            "SET tcp_keepalives_interval = 2",
            "SET tcp_keepalives_count = 3",
        ] {
            let _ = sqlx::query(setting).execute(&mut conn).await;
        }
        let me = format!(
            "{} pid {}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown host".to_owned()),
            std::process::id()
        );
        let left: Result<(Option<i64>, Option<i64>), sqlx::Error> = sqlx::query_as(
            "UPDATE bento_outbox_relay SET leader = $1, leader_since = now()
             RETURNING sending_first, sending_last",
        )
        .bind(&me)
        .fetch_one(&mut conn)
        .await;
        let (first, last) = match left {
            Ok(range) => range,
            Err(error) => return Ended::Lost(error),
        };
        if let (Some(first), Some(last)) = (first, last) {
            // The previous leader stopped while sending these: Bento may have them.
            let again: Result<i64, _> = sqlx::query_scalar(
                "SELECT count(*) FROM bento_outbox WHERE NOT dead AND id BETWEEN $1 AND $2",
            )
            .bind(first)
            .bind(last)
            .fetch_one(&mut conn)
            .await;
            match again {
                Ok(n) if n > 0 => {
                    tracing::warn!(
                        items = n,
                        "the previous Bento outbox relay stopped mid-batch; those items are sent again and may reach Bento twice"
                    );
                    RelayStatus::add(&self.status().possible_duplicates, n as usize);
                }
                Ok(_) => {}
                Err(error) => return Ended::Lost(error),
            }
        }
        tracing::info!("this instance now relays the Bento outbox");
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options.clone());
        let mut listener = listen(&listen_pool).await;
        let ended = self.relay(&mut conn, &mut listener, &listen_pool).await;
        // Closing the session frees the lock at once.
        drop(listener);
        let _ = sqlx::Connection::close(conn).await;
        listen_pool.close().await;
        ended
    }

    async fn relay(
        &mut self,
        conn: &mut PgConnection,
        listener: &mut Option<PgListener>,
        listen_pool: &PgPool,
    ) -> Ended {
        let mut prefetched: Option<Vec<Row>> = None;
        loop {
            if self.stopping().is_some() {
                return Ended::Stopped;
            }
            let rows = match prefetched.take() {
                Some(rows) if !rows.is_empty() => rows,
                _ => {
                    // Notifications so far are about rows this claim sees.
                    if let Some(l) = listener.as_mut() {
                        while l.next_buffered().is_some() {}
                    }
                    match claim(conn, None).await {
                        Ok(rows) => rows,
                        Err(error) => return Ended::Lost(error),
                    }
                }
            };
            if rows.is_empty() {
                if !self.wait_for_rows(listener, listen_pool).await {
                    return Ended::Stopped;
                }
                continue;
            }
            let oldest_ms = rows.iter().map(|r| r.3).fold(0.0, f64::max);
            let interval_ms = self.config.flush_interval.as_secs_f64() * 1000.0;
            let full = rows.len() as i64 >= CLAIM;
            if !full && oldest_ms < interval_ms {
                // Not a full batch yet: let it fill for up to the flush interval.
                let wait = Duration::from_secs_f64(((interval_ms - oldest_ms) / 1000.0).max(0.001));
                if !self.pause(wait).await {
                    return Ended::Stopped;
                }
                continue;
            }
            // With a backlog, the next claim (rows outside this one's id
            // range) runs while this one's first request is in flight.
            let range = full.then(|| {
                let ids = rows.iter().map(|r| r.0);
                (ids.clone().min().unwrap_or(0), ids.max().unwrap_or(0))
            });
            let (batches, unknown) = self.cut(rows);
            if !unknown.is_empty() {
                let reason = "the row's kind is neither 1 (event) nor 2 (subscriber)";
                if let Err(error) = settle(conn, &unknown, Some((reason, 0))).await {
                    return Ended::Lost(error);
                }
            }
            let last = batches.len().saturating_sub(1);
            for (index, batch) in batches.into_iter().enumerate() {
                let prefetch = range.filter(|_| index == last);
                match self.deliver(conn, batch, prefetch).await {
                    Ok(rows) => prefetched = prefetched.or(rows),
                    Err(ended) => return ended,
                }
            }
        }
    }

    /// Groups claimed rows into batches by kind, item limit and size; also
    /// returns the ids of rows of no known kind (written by hand), which
    /// become dead letters rather than block the table.
    fn cut(&self, rows: Vec<Row>) -> (Vec<Claimed>, Vec<i64>) {
        let mut batches: Vec<Claimed> = Vec::new();
        let mut unknown = Vec::new();
        let mut open: [Option<(Claimed, usize)>; KINDS] = std::array::from_fn(|_| None);
        let now = Instant::now();
        for (id, code, json, age_ms) in rows {
            let written = now
                .checked_sub(Duration::from_secs_f64(age_ms.clamp(0.0, 1e12) / 1000.0))
                .unwrap_or(now);
            let Some(kind) = kind_of(code) else {
                tracing::warn!(
                    id,
                    kind = code,
                    "an outbox row of unknown kind becomes a dead letter"
                );
                unknown.push(id);
                continue;
            };
            let max_items = match kind {
                ItemKind::Event => self.api.events_per_request,
                ItemKind::Subscriber => crate::subscribers::MAX_SUBSCRIBERS_PER_REQUEST,
                ItemKind::Command => crate::commands::MAX_COMMANDS_PER_REQUEST,
            };
            let slot = &mut open[kind.index()];
            let full = slot.as_ref().is_some_and(|(batch, bytes)| {
                batch.ids.len() >= max_items
                    || bytes + json.len() + 1 + crate::dispatch::BODY_OVERHEAD
                        > self.config.max_batch_bytes
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
                        attempts: 0,
                        oldest: written,
                    },
                    0,
                )
            });
            batch.oldest = batch.oldest.min(written);
            *bytes += json.len() + 1;
            batch.ids.push(id);
            batch.bodies.push(json);
        }
        batches.extend(open.into_iter().flatten().map(|(batch, _)| batch));
        (batches, unknown)
    }

    /// Waits for a notification, the poll interval, or a stop; false on stop.
    async fn wait_for_rows(
        &mut self,
        listener: &mut Option<PgListener>,
        listen_pool: &PgPool,
    ) -> bool {
        let poll = self.outbox.poll_interval;
        let Some(l) = listener.as_mut() else {
            let alive = self.pause(poll).await;
            // Try LISTEN again: the notification path is the fast one.
            *listener = listen(listen_pool).await;
            return alive;
        };
        tokio::select! {
            got = l.recv() => {
                if let Err(error) = got {
                    tracing::debug!(%error, "the outbox relay's LISTEN connection failed; polling until it is back");
                    *listener = None;
                }
                self.stopping().is_none()
            }
            () = tokio::time::sleep(poll) => self.stopping().is_none(),
            _ = self.stop.changed() => false,
        }
    }

    /// Sends one claimed batch until every row in it is delivered or dead
    /// (or a stop leaves the rest in the table). With `prefetch`, the id
    /// range of the whole claim, also claims the next rows during the first
    /// request and returns them.
    async fn deliver(
        &mut self,
        conn: &mut PgConnection,
        batch: Claimed,
        mut prefetch: Option<(i64, i64)>,
    ) -> Result<Option<Vec<Row>>, Ended> {
        let mut prefetched = None;
        let mut work = VecDeque::from([batch]);
        while let Some(mut batch) = work.pop_front() {
            let Some(slot) = self.permit(batch.kind.family()).await else {
                return Err(Ended::Stopped);
            };
            sqlx::query(
                "UPDATE bento_outbox_relay
                 SET sending_first = $1, sending_last = $2, sending_since = now()",
            )
            .bind(batch.ids.first())
            .bind(batch.ids.last())
            .execute(&mut *conn)
            .await?;
            batch.attempts += 1;
            let n = batch.ids.len();
            let body = batch.body();
            let span = telemetry::batch(
                &self.api,
                batch.kind.template(),
                n,
                body.len(),
                batch.attempts,
            );
            let now = Instant::now();
            let timeout = match self.stopping() {
                Some(deadline) => self
                    .api
                    .timeout
                    .min(deadline.saturating_duration_since(now)),
                None => self.api.timeout,
            }
            .max(Duration::from_millis(1));
            let request = ApiRequest::post(batch.kind.path()).json_bytes(body.into());
            let send = async {
                tokio::select! {
                    attempt = self.api.attempt(&self.http, &request, timeout).instrument(span.clone()) => Some(attempt.into_result()),
                    // A stop whose deadline passes ends the request: the rows stay.
                    () = until_deadline(&self.stop) => None,
                }
            };
            let result = match prefetch.take() {
                Some(range) => {
                    let (result, next) = tokio::join!(send, claim(conn, Some(range)));
                    prefetched = Some(next?);
                    result
                }
                None => send.await,
            };
            // The request ended: its slot counts for a window from now.
            match &result {
                Some(result) => slot.end(result),
                None => drop(slot),
            }
            let Some(result) = result else {
                return Err(Ended::Stopped);
            };
            let age = batch.oldest.elapsed();
            let expired = self.outbox.max_age.is_some_and(|max| age >= max);
            let (verdict, retry_after) = judge(
                result,
                batch.kind,
                n,
                batch.attempts,
                &self.config.retry,
                expired,
            );
            let outcome = label(&verdict);
            span.record("bento.batch.outcome", outcome);
            metrics::batch(batch.kind, outcome, now.elapsed());
            if let Some(delay) = retry_after {
                self.api.pacer.defer(batch.kind.family(), delay);
                self.fleet.defer(batch.kind.family(), delay).await;
            }
            let wait = match verdict {
                Verdict::Accepted { refused } => {
                    settle(conn, &batch.ids, None).await?;
                    RelayStatus::add(&self.status().sent, n - refused);
                    metrics::count(metrics::SENT, n - refused);
                    if refused > 0 {
                        RelayStatus::add(&self.status().failed, refused);
                        metrics::count(metrics::FAILED, refused);
                        let reason = FailureReason::PartlyRefused {
                            refused: refused as u64,
                        };
                        hand_to_hook(&self.config, &self.client, batch.items(), reason, batch.ids);
                    }
                    continue;
                }
                Verdict::Bisect => {
                    RelayStatus::add(&self.status().retried, n);
                    let (first, second) = batch.split();
                    work.push_front(second);
                    work.push_front(first);
                    continue;
                }
                Verdict::Defer(delay) => {
                    batch.attempts = batch.attempts.saturating_sub(1);
                    RelayStatus::add(&self.status().retried, n);
                    delay
                }
                Verdict::Retry {
                    delay,
                    ambiguous,
                    error,
                } => {
                    tracing::debug!(items = n, attempt = batch.attempts, %error, "retrying an outbox batch");
                    RelayStatus::add(&self.status().retried, n);
                    if ambiguous {
                        RelayStatus::add(&self.status().possible_duplicates, n);
                    }
                    delay
                }
                Verdict::GiveUp(error) => {
                    self.bury(conn, batch, FailureReason::Api(error)).await?;
                    continue;
                }
                Verdict::Expired(last) => {
                    self.bury(conn, batch, FailureReason::Expired { age, last })
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

    /// Makes dead letters of a batch's rows, and hands them to the hook.
    async fn bury(
        &self,
        conn: &mut PgConnection,
        batch: Claimed,
        reason: FailureReason,
    ) -> Result<(), Ended> {
        let n = batch.ids.len();
        let text = reason.to_string();
        settle(conn, &batch.ids, Some((&text, batch.attempts))).await?;
        RelayStatus::add(&self.status().failed, n);
        metrics::count(metrics::FAILED, n);
        hand_to_hook(&self.config, &self.client, batch.items(), reason, batch.ids);
        Ok(())
    }

    /// Waits for a slot of `family`, here and in the fleet's budget (which
    /// also holds every previous leader's sends); `None` when stopped first.
    async fn permit(&mut self, family: EndpointFamily) -> Option<Slot> {
        loop {
            let wait = match self.api.try_slot(family, Some(&self.fleet)).await {
                Ok(slot) => return Some(slot),
                Err(wait) => wait,
            };
            if !self.pause(wait).await {
                return None;
            }
        }
    }
}

/// A claimed row: id, kind, JSON, and its age in milliseconds.
type Row = (i64, i16, String, f64);

/// The oldest live rows, up to a batch's worth; with `outside`, only rows
/// outside that id range (the claim in hand).
async fn claim(
    conn: &mut PgConnection,
    outside: Option<(i64, i64)>,
) -> Result<Vec<Row>, sqlx::Error> {
    let (first, last) = outside.unwrap_or((0, -1));
    sqlx::query_as(
        "SELECT id, kind, body::text,
                extract(epoch FROM clock_timestamp() - created_at)::float8 * 1000
         FROM bento_outbox WHERE NOT dead AND (id < $1 OR id > $2)
         ORDER BY id LIMIT $3",
    )
    .bind(first)
    .bind(last)
    .bind(CLAIM)
    .fetch_all(conn)
    .await
}

/// Deletes delivered rows, or marks them dead with the reason, and clears
/// the in-flight range, in one statement.
async fn settle(
    conn: &mut PgConnection,
    ids: &[i64],
    dead: Option<(&str, u32)>,
) -> Result<(), sqlx::Error> {
    match dead {
        None => {
            // By runs of consecutive ids (a claim is mostly one run): a
            // range scan deletes three times faster than 1000 lookups.
            let (firsts, lasts) = runs(ids);
            sqlx::query(
                "WITH gone AS (
                    DELETE FROM bento_outbox o
                    USING unnest($1::bigint[], $2::bigint[]) AS r(first, last)
                    WHERE o.id BETWEEN r.first AND r.last
                 )
                 UPDATE bento_outbox_relay SET sending_first = NULL, sending_last = NULL",
            )
            .bind(&firsts)
            .bind(&lasts)
            .execute(conn)
            .await?;
        }
        Some((reason, attempts)) => {
            sqlx::query(
                "WITH marked AS (
                    UPDATE bento_outbox
                    SET dead = true, reason = $2, attempts = attempts + $3, failed_at = now()
                    WHERE id = ANY($1)
                 )
                 UPDATE bento_outbox_relay SET sending_first = NULL, sending_last = NULL",
            )
            .bind(ids)
            .bind(reason)
            .bind(attempts as i32)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Sorted ids as runs of consecutive ids: their firsts and lasts.
fn runs(ids: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let (mut firsts, mut lasts) = (Vec::new(), Vec::<i64>::new());
    for id in sorted {
        match lasts.last_mut() {
            Some(last) if last.checked_add(1) == Some(id) => *last = id,
            _ => {
                firsts.push(id);
                lasts.push(id);
            }
        }
    }
    (firsts, lasts)
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::debug!(%error, "the outbox relay cannot LISTEN; it polls instead");
            return None;
        }
    };
    match listener.listen("bento_outbox").await {
        Ok(()) => Some(listener),
        Err(error) => {
            tracing::debug!(%error, "the outbox relay cannot LISTEN; it polls instead");
            None
        }
    }
}

/// Resolves once a stop was asked for and its deadline has passed.
async fn until_deadline(stop: &Stop) {
    let mut stop = stop.clone();
    loop {
        let deadline = *stop.borrow_and_update();
        match deadline {
            Some(at) => {
                tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                return;
            }
            None => {
                if stop.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn ids_compress_to_runs_that_cover_exactly_them() {
        assert_eq!(runs(&[]), (vec![], vec![]));
        assert_eq!(runs(&[5]), (vec![5], vec![5]));
        assert_eq!(runs(&[1, 2, 3, 7, 8, 10]), (vec![1, 7, 10], vec![3, 8, 10]));
        assert_eq!(runs(&[3, 1, 2, 2]), (vec![1], vec![3]));
        assert_eq!(
            runs(&[i64::MAX - 1, i64::MAX]),
            (vec![i64::MAX - 1], vec![i64::MAX])
        );
    }
}
