//! What the engine did: its counters, and the report of a flush.

use std::time::Duration;

/// The delivery engine's counters, in items (events and subscriber records),
/// since the client was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryStats {
    /// Accepted by `track`/`enqueue`.
    pub queued: u64,
    /// Accepted by Bento.
    pub sent: u64,
    /// Sent again after a failed attempt (an item retried twice counts twice).
    pub retried: u64,
    /// Of `retried`, those sent again after an attempt Bento may have
    /// processed (a timeout, a connection lost after sending, a 500/502/504,
    /// a 2xx whose body was not Bento's answer): at most this many duplicates
    /// reached Bento. Give purchases a `unique` key to let Bento drop them.
    pub possible_duplicates: u64,
    /// Given up on: refused by Bento, out of retries, still undelivered when
    /// a shutdown deadline passed, or counted as failed by Bento in a batch
    /// it otherwise accepted. Each went to the failure hook (in the last
    /// case inside its whole batch, with [`FailureReason::PartlyRefused`](crate::FailureReason::PartlyRefused),
    /// since Bento does not say which items it refused).
    pub failed: u64,
    /// Refused by `track`/`enqueue` (queue full, client shut down); each was
    /// handed back to the caller.
    pub dropped: u64,
    /// Refused by `track`/`enqueue` as the program's mistake (off the
    /// tracking plan, a key breaking Bento's rule, too large, an email-less
    /// event in an anonymous request): each was logged at error level and
    /// handed to the failure hook ([`FailureReason::Refused`](crate::FailureReason::Refused)).
    pub refused: u64,
    /// Accepted, then removed by an erasure
    /// ([`Client::erase`](crate::Client::erase)) before they were sent:
    /// neither delivered nor handed to the failure hook, at the person's
    /// request.
    pub erased: u64,
    /// Accepted and not yet sent, failed or erased.
    pub pending: u64,
}

/// The counters when a [`flush`](crate::Client::flush) or
/// [`shutdown`](crate::Client::shutdown) completed, and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// The counters at completion.
    pub stats: DeliveryStats,
    /// How long the call waited.
    pub waited: Duration,
}
