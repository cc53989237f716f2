//! The end of a request: its held events decided exactly once, and its page
//! view tracked if it is one.

use std::sync::Arc;

use super::held::{DeliverIf, HeldEvents};
use super::identity::Identity;
use super::page_views::{PageCandidate, is_html};
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
    page: Option<PageCandidate>,
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
        page: Option<PageCandidate>,
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
            tracing::warn!(%error, path = %page.path, "a Bento page view could not be queued");
        }
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        // A no-op once `respond` or `fail` settled the events.
        if let Some(held) = &self.held {
            held.settle(&self.client, false, "the request ended without a response");
        }
    }
}
