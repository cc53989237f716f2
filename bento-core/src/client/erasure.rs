//! The client's side of erasure: `erase` and `lift_erasure` (see
//! `crate::erasure` for how the engine keeps the promise).

use super::Client;
use crate::store::{StoreErasure, StoreError};

impl Client {
    /// Erases a person: from then on nothing about `email` is queued
    /// (a tombstone refuses it, [`TrackError::Erased`](crate::TrackError::Erased)),
    /// every item about them waiting in this client's queue or retry queue is
    /// removed, requests already in flight that carry any are waited for (a
    /// retry leaves their items out); with an outbox
    /// ([`ClientBuilder::outbox`](crate::ClientBuilder::outbox)), the same
    /// happens in the store for every process sharing it (rows and dead
    /// letters deleted, a tombstone set, the relay's request in flight waited
    /// for). Only then is Bento asked to delete the person
    /// (`POST /data_deletion_requests`), so that nothing queued before the
    /// call reaches Bento after the deletion: directly, or, with an outbox,
    /// by a row the relay sends (it survives a crash, waits for its daily
    /// quota, is retried under the one retry rule, and a refusal reaches
    /// the failure hook and the dead letters).
    ///
    /// The at-least-once contract allows one thing here: a request that was
    /// already in flight when `erase` was called may reach Bento (it cannot
    /// be recalled); it does so *before* the deletion request, which then
    /// removes what it wrote. The tombstone holds for
    /// [`ClientBuilder::erasure_ttl`](crate::ClientBuilder::erasure_ttl)
    /// (30 days by default) and keeps a keyed hash, never the address.
    /// Idempotent: call it again after an error.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::EraseError> {
    /// let erasure = client.erase("ada@example.com").await?;
    /// println!(
    ///     "{} queued items removed, {} waited for in flight; Bento: {:?}",
    ///     erasure.removed, erasure.in_flight, erasure.deletion
    /// );
    /// # Ok(()) }
    /// ```
    pub async fn erase(&self, email: &str) -> Result<Erasure, EraseError> {
        crate::validate::email(|| "email".to_owned(), email).map_err(EraseError::Invalid)?;
        let dispatcher = &self.inner.dispatcher;
        let local = dispatcher.erase(email).await;
        let mut erasure = Erasure {
            removed: local.removed as u64,
            in_flight: local.in_flight as u64,
            stored: None,
            deletion: None,
        };
        if let Some(store) = dispatcher.store() {
            match store.erase(email, dispatcher.erasure_ttl()).await {
                Ok(stored) => erasure.stored = Some(stored),
                Err(source) => return Err(EraseError::Store { erasure, source }),
            }
        }
        if erasure.stored.is_some_and(|stored| stored.deletion_queued) {
            // The store's relay sends it, durably, after everything it held.
            return Ok(erasure);
        }
        match self.request_data_deletion(email).await {
            Ok(deletion) => Ok(Erasure {
                deletion: Some(deletion),
                ..erasure
            }),
            Err(source) => Err(EraseError::Request {
                erasure,
                source: Box::new(source),
            }),
        }
    }

    /// Whether any tombstone holds: the direct calls encode their items
    /// for the check only then.
    pub(crate) fn erasures_active(&self) -> bool {
        !self.inner.dispatcher.tombstones().is_empty()
    }

    /// Refuses a direct call's items about someone erased (their JSON, one
    /// by one): counted, logged and told to the hook without them, as
    /// `track` refuses them; a direct call would re-create the person.
    pub(crate) fn refuse_erased<'a>(
        &self,
        items: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), crate::Error> {
        let dispatcher = &self.inner.dispatcher;
        let tombstones = dispatcher.tombstones();
        if tombstones.is_empty() {
            return Ok(());
        }
        let items = items
            .into_iter()
            .filter(|json| tombstones.covers_json(json))
            .count();
        if items == 0 {
            return Ok(());
        }
        dispatcher.refuse_erased(items);
        Err(crate::Error::Erased { items })
    }

    /// Lifts the tombstone of `email` (in this client, and in its outbox for
    /// every process sharing it), when the person signs up again with
    /// consent; whether there was one. Their earlier items stay erased.
    pub async fn lift_erasure(&self, email: &str) -> Result<bool, EraseError> {
        let dispatcher = &self.inner.dispatcher;
        let mut lifted = dispatcher.lift_erasure(email);
        if let Some(store) = dispatcher.store() {
            match store.lift_erasure(email).await {
                Ok(stored) => lifted |= stored,
                Err(source) => {
                    return Err(EraseError::Store {
                        erasure: Erasure::default(),
                        source,
                    });
                }
            }
        }
        Ok(lifted)
    }
}

/// What [`Client::erase`](crate::Client::erase) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Erasure {
    /// Items about the person removed from the queue and the retry queue
    /// before they were sent.
    pub removed: u64,
    /// Items about the person in requests already in flight, waited for
    /// (a retry of such a request leaves them out).
    pub in_flight: u64,
    /// What the durable store removed, with an outbox; `None` without one
    /// (or inside [`EraseError::Store`]).
    pub stored: Option<StoreErasure>,
    /// Bento's answer to the deletion request; `None` when the outbox
    /// queued it for its relay (`stored.deletion_queued`), and inside
    /// [`EraseError`].
    pub deletion: Option<crate::resources::deletion::Deletion>,
}

/// Why [`Client::erase`](crate::Client::erase) (or
/// [`lift_erasure`](crate::Client::lift_erasure)) did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EraseError {
    /// The address is not an email; nothing was done.
    #[error(transparent)]
    Invalid(crate::ValidationError),
    /// This client's copies are erased (its tombstone is set, its queues
    /// hold nothing about the person) but the outbox could not be: its
    /// database failed. Nothing was asked of Bento yet; call `erase` again
    /// (it is idempotent) once the database answers.
    #[error(
        "this client's copies are erased ({} removed, {} waited for in flight) but the \
         outbox's could not be: {source}; nothing was asked of Bento yet: call erase again \
         once the database answers",
        erasure.removed, erasure.in_flight
    )]
    Store {
        /// What the local erasure did.
        erasure: Erasure,
        /// The store's error.
        source: StoreError,
    },
    /// The local erasure is done (the tombstones are set and the queues and
    /// the outbox hold nothing about the person), but Bento's deletion
    /// request failed: call `erase` again (it is idempotent) once Bento
    /// answers.
    #[error(
        "the local copies are erased ({} removed, {} waited for in flight) but Bento's \
         deletion request failed: {source}; call erase again once Bento answers",
        erasure.removed, erasure.in_flight
    )]
    Request {
        /// What the local erasure did.
        erasure: Erasure,
        /// The deletion request's error.
        source: Box<crate::Error>,
    },
}
