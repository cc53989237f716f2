//! The end of a request: its subscriber looked up if something waits for
//! it, its held events decided exactly once, and its page view tracked if it
//! is one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::events::RequestEvents;
use super::held::{DeliverIf, HeldEvents};
use super::identity::Identity;
use super::page_views::{PageCandidate, PageViews};
use crate::client::Client;
use crate::events::PageView;

/// Decides a request's held events exactly once: [`respond`](Self::respond)
/// with the response's status, or, if it is dropped first (a handler that
/// panicked, a request that was cancelled), by discarding them. Tracks the
/// request's page view, if it is one.
pub struct Settlement {
    held: Option<Arc<HeldEvents>>,
    client: Client,
    deliver_if: Option<DeliverIf>,
    page: Option<(PageCandidate, PageViews)>,
    identity: Identity,
}

impl std::fmt::Debug for Settlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settlement").finish_non_exhaustive()
    }
}

impl Settlement {
    pub(crate) fn new(
        held: Option<Arc<HeldEvents>>,
        client: Client,
        deliver_if: Option<DeliverIf>,
        page: Option<(PageCandidate, PageViews)>,
        identity: Identity,
    ) -> Self {
        Self {
            held,
            client,
            deliver_if,
            page,
            identity,
        }
    }

    /// The response exists with HTTP `status` and `content_type` (its
    /// `Content-Type` header, if any): deliver the events if the layer's rule
    /// says so (below 500 for `deliver_on_success`), discard them otherwise;
    /// and track the page view of a successful HTML response. (Plain values,
    /// not typed ones, so that frameworks on any version of the `http` crate
    /// can call it.)
    ///
    /// When the request's subscriber is still to be looked up
    /// ([`RequestEvents::identify_with`]) and events wait for it (or the
    /// page view needs it), this returns the lookup and the rest of the
    /// settlement as [`Resolving`]: await it before sending the response,
    /// so that a server's graceful stop waits for it like for the request.
    /// Dropped unfinished, it still settles, without the lookup.
    #[must_use = "the request's events wait for the lookup in `Resolving`: await it"]
    pub fn respond(mut self, status: u16, content_type: Option<&str>) -> Option<Resolving> {
        let page = self
            .page
            .take()
            .filter(|(_, rule)| (200..300).contains(&status) && rule.accepts(content_type))
            .map(|(page, _)| page);
        // Events the status discards need nobody looked up.
        let delivering = self.held.is_none() || self.delivers(status);
        if self.identity.needs_lookup(page.is_some()) && delivering {
            return Some(Resolving(Box::pin(async move {
                let _ = self.events().resolve_identity().await;
                self.finish(status, page.as_ref());
            })));
        }
        self.finish(status, page.as_ref());
        None
    }

    fn delivers(&self, status: u16) -> bool {
        self.deliver_if.as_ref().is_some_and(|rule| rule(status))
    }

    /// The request's handle, for the lookup to release what waited into.
    fn events(&self) -> RequestEvents {
        RequestEvents::new(
            self.client.clone(),
            self.held.clone(),
            self.identity.clone(),
        )
    }

    /// The view, then the held events; then nothing waits any more.
    fn finish(&mut self, status: u16, page: Option<&PageCandidate>) {
        if let Some(page) = page {
            self.view(page);
        }
        let orphans = self.identity.close();
        let Some(held) = &self.held else {
            // Nothing can tell these whom they are about any more.
            self.events().release(None, orphans);
            return;
        };
        if self.delivers(status) {
            self.events().release(None, orphans);
            held.settle(&self.client, true, "");
        } else {
            held.discard(orphans.len());
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
        // Dropped now: what waits for the subscriber is settled as below.
    }

    /// Tracks the page view, held with the request's events if they are.
    fn view(&self, page: &PageCandidate) {
        let Some(email) = self.identity.get() else {
            return;
        };
        let view = PageView::new(&email, &page.path, page.query.as_deref());
        let tracked = match &self.held {
            Some(held) => held.track(&self.client, &view),
            None => self.client.track(&view),
        };
        if let Err(error) = tracked {
            // Not silent: the queue's counters record a refusal, and the log says so.
            let path = crate::privacy::mask_addresses(&page.path);
            tracing::warn!(%error, %path, "a Bento page view could not be queued");
        }
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        // A no-op once `respond` or `fail` settled the events.
        if let Some(held) = &self.held {
            held.settle(&self.client, false, "the request ended without a response");
        }
        let events = self.events();
        if self.held.is_some() {
            // Held events of a request without a response are discarded, and
            // those still waiting for the subscriber with them.
            let discarded = self.identity.close();
            if let Some(held) = &self.held {
                held.discard(discarded.len());
            }
            return;
        }
        // Without a hold policy, events tracked before a panic or a
        // cancellation are delivered like any other: the lookup runs on its
        // own, where there is a runtime to run it.
        if !self.identity.needs_lookup(false) {
            let orphans = self.identity.close();
            events.release(None, orphans);
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let identity = self.identity.clone();
                runtime.spawn(async move {
                    let _ = events.resolve_identity().await;
                    let orphans = identity.close();
                    events.release(None, orphans);
                });
            }
            Err(_) => {
                let orphans = self.identity.close();
                events.release(None, orphans);
            }
        }
    }
}

/// The rest of a request's settlement, once its subscriber is looked up:
/// await it before sending the response ([`Settlement::respond`]).
#[must_use = "the request's events wait for the lookup: await it"]
pub struct Resolving(Pin<Box<dyn Future<Output = ()> + Send>>);

impl std::fmt::Debug for Resolving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolving").finish_non_exhaustive()
    }
}

impl Future for Resolving {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}
