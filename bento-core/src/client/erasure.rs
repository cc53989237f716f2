//! The client's side of erasure: `erase` and `lift_erasure` (see
//! `crate::erasure` for how the engine keeps the promise).

use super::Client;

impl Client {
    /// Erases a person: from then on nothing about `email` is queued
    /// (a tombstone refuses it, [`TrackError::Erased`](crate::TrackError::Erased)),
    /// every item about them waiting in this client's queue or retry queue is
    /// removed, requests already in flight that carry any are waited for (a
    /// retry leaves their items out), and only then is Bento asked to delete
    /// the person (`POST /data_deletion_requests`), so that nothing queued
    /// before the call reaches Bento after the deletion.
    ///
    /// The at-least-once contract allows one thing here: a request that was
    /// already in flight when `erase` was called may reach Bento (it cannot
    /// be recalled); it does so *before* the deletion request, which then
    /// removes what it wrote. The tombstone holds for
    /// [`ClientBuilder::erasure_ttl`](crate::ClientBuilder::erasure_ttl)
    /// (30 days by default) and keeps a keyed hash, never the address.
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
        let local = self.inner.dispatcher.erase(email).await;
        let erasure = Erasure {
            removed: local.removed as u64,
            in_flight: local.in_flight as u64,
            deletion: None,
        };
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

    /// Lifts the tombstone of `email`, when the person signs up again with
    /// consent; whether there was one. Their earlier items stay erased.
    pub fn lift_erasure(&self, email: &str) -> bool {
        self.inner.dispatcher.lift_erasure(email)
    }
}

/// What [`Client::erase`](crate::Client::erase) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Erasure {
    /// Items about the person removed from the queue and the retry queue
    /// before they were sent.
    pub removed: u64,
    /// Items about the person in requests already in flight, waited for
    /// (a retry of such a request leaves them out).
    pub in_flight: u64,
    /// Bento's answer to the deletion request; `None` only inside
    /// [`EraseError::Request`].
    pub deletion: Option<crate::resources::deletion::Deletion>,
}

/// Why [`Client::erase`](crate::Client::erase) did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EraseError {
    /// The address is not an email; nothing was done.
    #[error(transparent)]
    Invalid(crate::ValidationError),
    /// The local erasure is done (the tombstone is set and the queues hold
    /// nothing about the person), but Bento's deletion request failed: call
    /// `erase` again (it is idempotent) once Bento answers.
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
