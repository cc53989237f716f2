//! A layer's or middleware's settings, and the start of each request.

use std::sync::Arc;

use super::events::RequestEvents;
use super::held::{DeliverIf, HeldEvents, HeldStats};
use super::identity::Identity;
use super::page_views::{PageCandidate, PageViews, RequestLine};
use super::settlement::Settlement;
use crate::client::Client;
#[cfg(doc)]
use crate::events::PageView;

/// A layer's or middleware's settings: the client requests get, and whether
/// their events wait for the response ([`deliver_on_success`](Self::deliver_on_success),
/// [`deliver_if`](Self::deliver_if)). Cheap to clone; clones share their counters.
#[derive(Clone)]
pub struct RequestTracking {
    client: Client,
    deliver_if: Option<DeliverIf>,
    page_views: Option<PageViews>,
    /// Requests may be given a lookup of their subscriber.
    looks_up: bool,
    stats: Arc<HeldStats>,
}

impl std::fmt::Debug for RequestTracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTracking")
            .field("client", &self.client)
            .field("holds_events", &self.deliver_if.is_some())
            .field("page_views", &self.page_views.is_some())
            .field("looks_up", &self.looks_up)
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
            looks_up: false,
            stats: Arc::default(),
        }
    }

    /// Tracks a page view ([`PageView`], Bento's `$view`, with the path and
    /// query) for each identified request whose response is a successful
    /// (2xx) `GET` of an HTML page (`Content-Type: text/html`). Nothing is
    /// tracked for anonymous requests, other methods, other statuses or
    /// other content; the view follows the same hold policy as the events
    /// a handler tracks. [`track_page_views_with`](Self::track_page_views_with)
    /// takes JSON or every `GET` instead.
    pub fn track_page_views(self) -> Self {
        self.track_page_views_with(PageViews::html())
    }

    /// Like [`track_page_views`](Self::track_page_views), for the paths
    /// `filter` accepts (say, `|path| !path.starts_with("/admin")`). Leave
    /// out pages whose query carries secrets (a password-reset token), since
    /// the query is sent as is.
    pub fn track_page_views_if(
        self,
        filter: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.track_page_views_with(PageViews::html().paths(filter))
    }

    /// Tracks page views under `rule`: the successful `GET`s whose response
    /// has one of its content types (JSON for an API, say), or every one,
    /// on the paths it accepts.
    pub fn track_page_views_with(mut self, rule: PageViews) -> Self {
        self.page_views = Some(rule);
        self
    }

    /// Requests whose subscriber is not known at the start may be given a
    /// lookup ([`RequestEvents::identify_with`]): each such request then
    /// gets a [`Settlement`], which runs the lookup when the response exists
    /// if events wait for it. A framework whose layer takes a lookup sets
    /// this; without it, events tracked before the lookup ran are
    /// [`Anonymous`](crate::TrackError::Anonymous).
    pub fn looks_up_identity(mut self) -> Self {
        self.looks_up = true;
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
        let lookup = self.looks_up && identity.is_none();
        let page = PageCandidate::of(self.page_views.as_ref(), line).zip(self.page_views.clone());
        let held = self
            .deliver_if
            .as_ref()
            .map(|_| Arc::new(HeldEvents::new(Arc::clone(&self.stats))));
        let settles = held.is_some() || page.is_some() || lookup;
        let identity = Identity::new(identity, settles);
        let settlement = settles.then(|| {
            Settlement::new(
                held.clone(),
                self.client.clone(),
                self.deliver_if.clone(),
                page,
                identity.clone(),
            )
        });
        let events = RequestEvents::new(self.client.clone(), held, identity);
        (events, settlement)
    }
}
