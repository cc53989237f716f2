//! Request-scoped tracking, for framework integrations (`bento-axum`,
//! `bento-actix`): a [`RequestTracking`] per layer or middleware starts a
//! [`RequestEvents`] handle and a [`Settlement`] per request. Under
//! `deliver_on_success`, events a request tracks are held until its outcome
//! is known, then delivered or discarded. Everything a framework adapter
//! would otherwise write for itself lives here, so every framework gets
//! exactly the same semantics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::client::Client;
use crate::commands::Command;
use crate::delivery::{Encoded, TrackError};
use crate::events::{BentoEvent, ForSubscriber, PageView, SubscriberEvent};

/// Events held and then delivered or discarded, over many requests.
#[derive(Debug, Default)]
struct HeldStats {
    delivered: AtomicU64,
    discarded: AtomicU64,
}

impl HeldStats {
    fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    fn discarded(&self) -> u64 {
        self.discarded.load(Ordering::Relaxed)
    }
}

/// Which response statuses deliver a request's held events.
type DeliverIf = Arc<dyn Fn(u16) -> bool + Send + Sync>;

/// Which paths' page views are tracked.
type PageFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The request line of a request, as much of it as page views need.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> RequestLine<'a> {
    /// A request for `path` (such as `/pricing`) with `query` (without its
    /// `?`), by HTTP `method` (such as `GET`).
    pub fn new(method: &'a str, path: &'a str, query: Option<&'a str>) -> Self {
        Self {
            method,
            path,
            query,
        }
    }
}

/// What a page view needs of its request until the response exists.
struct PageCandidate {
    path: String,
    query: Option<String>,
}

/// A layer's or middleware's settings: the client requests get, and whether
/// their events wait for the response ([`deliver_on_success`](Self::deliver_on_success),
/// [`deliver_if`](Self::deliver_if)). Cheap to clone; clones share their counters.
#[derive(Clone)]
pub struct RequestTracking {
    client: Client,
    deliver_if: Option<DeliverIf>,
    page_views: Option<PageFilter>,
    stats: Arc<HeldStats>,
}

impl std::fmt::Debug for RequestTracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTracking")
            .field("client", &self.client)
            .field("holds_events", &self.deliver_if.is_some())
            .field("page_views", &self.page_views.is_some())
            .field("stats", &self.stats)
            .finish()
    }
}

impl RequestTracking {
    /// Requests hand tracked events to `client`'s delivery queue at once.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            deliver_if: None,
            page_views: None,
            stats: Arc::default(),
        }
    }

    /// Tracks a page view ([`PageView`], Bento's `$view`, with the path and
    /// query) for each identified request whose response is a successful
    /// (2xx) `GET` of an HTML page (`Content-Type: text/html`). Nothing is
    /// tracked for anonymous requests, other methods, other statuses or
    /// other content; the view follows the same hold policy as the events
    /// a handler tracks.
    pub fn track_page_views(self) -> Self {
        self.track_page_views_if(|_| true)
    }

    /// Like [`track_page_views`](Self::track_page_views), for the paths
    /// `filter` accepts (say, `|path| !path.starts_with("/admin")`). Leave
    /// out pages whose query carries secrets (a password-reset token), since
    /// the query is sent as is.
    pub fn track_page_views_if(
        mut self,
        filter: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.page_views = Some(Arc::new(filter));
        self
    }

    /// Holds the events a request tracks until its response exists, then
    /// delivers them if the status is below 500 and discards them otherwise.
    /// A handler that panics, or a request cancelled before its response,
    /// discards them too.
    pub fn deliver_on_success(self) -> Self {
        self.deliver_if(|status| status < 500)
    }

    /// Like [`deliver_on_success`](Self::deliver_on_success), with your own
    /// rule: the events of a request are delivered when `rule` returns true
    /// for its response's status (say, only 2xx: `|status| (200..300).contains(&status)`).
    pub fn deliver_if(mut self, rule: impl Fn(u16) -> bool + Send + Sync + 'static) -> Self {
        self.deliver_if = Some(Arc::new(rule));
        self
    }

    /// Held events that were delivered (their request succeeded).
    pub fn delivered(&self) -> u64 {
        self.stats.delivered()
    }

    /// Held events that were discarded (their request failed, panicked or
    /// was cancelled).
    pub fn discarded(&self) -> u64 {
        self.stats.discarded()
    }

    /// The client requests get.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// One request's handle, and (under `deliver_on_success`) the settlement
    /// its response path must complete.
    pub fn begin(&self) -> (RequestEvents, Option<Settlement>) {
        self.begin_request(None, None)
    }

    /// Like [`begin`](Self::begin), for the request `line` (what
    /// [`track_page_views`](Self::track_page_views) needs) and, when known,
    /// its subscriber (`identity`, from what the app's auth put in the
    /// request): events without an email of their own are tracked for them.
    /// The settlement exists when the request's events are held or it may
    /// be a page view.
    pub fn begin_request(
        &self,
        line: Option<RequestLine<'_>>,
        identity: Option<String>,
    ) -> (RequestEvents, Option<Settlement>) {
        let identity = Arc::new(Mutex::new(identity.map(Arc::from)));
        let page = match (&self.page_views, line) {
            (Some(filter), Some(line)) if line.method == "GET" && filter(line.path) => {
                Some(PageCandidate {
                    path: line.path.to_owned(),
                    query: line.query.map(str::to_owned),
                })
            }
            _ => None,
        };
        let held = self.deliver_if.as_ref().map(|_| {
            Arc::new(HeldEvents {
                state: Mutex::new(State::Holding(Vec::new())),
                stats: Arc::clone(&self.stats),
            })
        });
        let settlement = (held.is_some() || page.is_some()).then(|| Settlement {
            held: held.clone(),
            client: self.client.clone(),
            deliver_if: self.deliver_if.clone(),
            page,
            identity: Arc::clone(&identity),
        });
        let events = RequestEvents {
            client: self.client.clone(),
            held,
            identity,
        };
        (events, settlement)
    }
}

/// One request's handle on Bento: what a framework's `Bento` extractor wraps.
/// Clones share the request's held events and its subscriber.
#[derive(Clone)]
pub struct RequestEvents {
    client: Client,
    held: Option<Arc<HeldEvents>>,
    /// Whom the request is about, once known.
    identity: Arc<Mutex<Option<Arc<str>>>>,
}

impl std::fmt::Debug for RequestEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestEvents")
            .field("client", &self.client)
            .field("deliver_on_success", &self.held.is_some())
            .field("identified", &self.identity().is_some())
            .finish()
    }
}

impl RequestEvents {
    /// A handle that queues events at once, for a request that did not go
    /// through a layer (a client found in the app's state, say).
    pub fn direct(client: Client) -> Self {
        Self {
            client,
            held: None,
            identity: Arc::default(),
        }
    }

    /// Checks and encodes the event, and queues it for background delivery,
    /// or holds it until the response exists under `deliver_on_success`.
    /// Never blocks.
    ///
    /// An event with its own email is about that subscriber; one without is
    /// about the request's ([`identify`](Self::identify)), and a typed
    /// [`TrackError::Anonymous`] when the request has none: nothing is sent.
    pub fn track<E: SubscriberEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        if event.own_email().is_some() {
            return self.send(&ForSubscriber::new("", event));
        }
        match self.identity() {
            Some(email) => self.send(&ForSubscriber::new(&email, event)),
            None => Err(TrackError::Anonymous {
                event_type: event.event_type().to_owned(),
            }),
        }
    }

    fn send<E: BentoEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        match &self.held {
            None => self.client.track(event),
            Some(held) => held.track(&self.client, event),
        }
    }

    /// Checks and encodes a subscriber command, and queues it for background
    /// delivery like an event ([`Client::enqueue_command`]), or holds it
    /// until the response exists under `deliver_on_success`. Never blocks.
    pub fn enqueue_command(&self, command: Command) -> Result<(), TrackError> {
        let item = Encoded::command(&command)?;
        match &self.held {
            None => self.client.enqueue(item),
            Some(held) => held.hold(&self.client, item),
        }
    }

    /// Makes `email` the subscriber this request is about (at login or
    /// signup, say): events without an email tracked from now on, by this
    /// handle or its clones, are about them.
    pub fn identify(&self, email: impl Into<String>) {
        let email: Arc<str> = Arc::from(email.into());
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = Some(email);
    }

    /// The subscriber this request is about, if known.
    pub fn identity(&self) -> Option<Arc<str>> {
        self.identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The client, for every other Bento call.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

enum State {
    Holding(Vec<Encoded>),
    /// Settled: events tracked from now on (by a task the handler spawned,
    /// say) go straight to the queue.
    Settled,
}

/// The events one request tracked, held until [`Settlement`] decides.
struct HeldEvents {
    state: Mutex<State>,
    stats: Arc<HeldStats>,
}

impl HeldEvents {
    /// Checks and encodes `event` now, then holds it, or queues it when the
    /// request is already settled.
    fn track<E: BentoEvent + ?Sized>(&self, client: &Client, event: &E) -> Result<(), TrackError> {
        let item = Encoded::event(event)?;
        // Held or not, an event is held to the tracking plan when it is tracked.
        client.check_plan(crate::ItemKind::Event, item.json(), || "event".to_owned())?;
        self.hold(client, item)
    }

    /// Holds an encoded item, or queues it when the request is already settled.
    fn hold(&self, client: &Client, item: Encoded) -> Result<(), TrackError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            State::Holding(items) => {
                items.push(item);
                Ok(())
            }
            State::Settled => {
                drop(state);
                client.enqueue(item)
            }
        }
    }

    fn settle(&self, client: &Client, deliver: bool, why: &'static str) {
        let items = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match std::mem::replace(&mut *state, State::Settled) {
                State::Holding(items) => items,
                State::Settled => return,
            }
        };
        if items.is_empty() {
            return;
        }
        let n = items.len() as u64;
        if !deliver {
            self.stats.discarded.fetch_add(n, Ordering::Relaxed);
            tracing::debug!(
                events = n,
                why,
                "Bento events of a failed request discarded"
            );
            return;
        }
        self.stats.delivered.fetch_add(n, Ordering::Relaxed);
        for item in items {
            if let Err(error) = client.enqueue(item) {
                // Not silent: the queue's counters record it, and the log says so.
                tracing::warn!(%error, "a Bento event held for a request could not be queued");
            }
        }
    }
}

/// Decides a request's held events exactly once: [`respond`](Self::respond)
/// with the response's status, or, if it is dropped first (a handler that
/// panicked, a request that was cancelled), by discarding them. Tracks the
/// request's page view, if it is one.
pub struct Settlement {
    held: Option<Arc<HeldEvents>>,
    client: Client,
    deliver_if: Option<DeliverIf>,
    page: Option<PageCandidate>,
    identity: Arc<Mutex<Option<Arc<str>>>>,
}

impl std::fmt::Debug for Settlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settlement").finish_non_exhaustive()
    }
}

impl Settlement {
    /// The response exists with HTTP `status` and `content_type` (its
    /// `Content-Type` header, if any): deliver the events if the layer's rule
    /// says so (below 500 for `deliver_on_success`), discard them otherwise;
    /// and track the page view of a successful HTML response. (Plain values,
    /// not typed ones, so that frameworks on any version of the `http` crate
    /// can call it.)
    pub fn respond(mut self, status: u16, content_type: Option<&str>) {
        if let Some(page) = self.page.take()
            && (200..300).contains(&status)
            && content_type.is_some_and(is_html)
        {
            self.view(&page);
        }
        let Some(held) = &self.held else {
            return;
        };
        if self.deliver_if.as_ref().is_some_and(|rule| rule(status)) {
            held.settle(&self.client, true, "");
        } else {
            held.settle(
                &self.client,
                false,
                "the response's status does not deliver them",
            );
        }
    }

    /// The service failed without a response: discard the events.
    pub fn fail(self) {
        if let Some(held) = &self.held {
            held.settle(&self.client, false, "the service failed");
        }
    }

    /// Tracks the page view, held with the request's events if they are.
    fn view(&self, page: &PageCandidate) {
        let identity = self
            .identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(email) = identity else {
            return;
        };
        let view = PageView::new(&email, &page.path, page.query.as_deref());
        let tracked = match &self.held {
            Some(held) => held.track(&self.client, &view),
            None => self.client.track(&view),
        };
        if let Err(error) = tracked {
            // Not silent: the queue's counters record a refusal, and the log says so.
            tracing::warn!(%error, path = %page.path, "a Bento page view could not be queued");
        }
    }
}

/// Whether a `Content-Type` is an HTML page's (`text/html; charset=utf-8`).
fn is_html(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/html")
}

impl Drop for Settlement {
    fn drop(&mut self) {
        // A no-op once `respond` or `fail` settled the events.
        if let Some(held) = &self.held {
            held.settle(&self.client, false, "the request ended without a response");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_html;

    #[test]
    fn html_is_recognised_by_its_essence() {
        assert!(is_html("text/html"));
        assert!(is_html("text/html; charset=utf-8"));
        assert!(is_html(" Text/HTML ;charset=utf-8"));
        assert!(!is_html("application/json"));
        assert!(!is_html("text/htmlx"));
        assert!(!is_html(""));
    }
}
