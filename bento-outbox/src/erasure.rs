//! Erasure in the outbox, the part both databases share: whom items are
//! about, their keyed hashes under the database's own key, and the wait for
//! the relay's request in flight.
//!
//! Each database keeps a random key (made by `migrate`, never leaving it),
//! so every process sharing it computes the same hashes, whatever Bento key
//! each uses; the tombstone table alone shows no address.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bento_core::Encoded;
use bento_core::integration::erasure::{DIGEST_LEN, digest, subject};

use crate::OutboxError;

/// A tombstone's keyed hash.
pub(crate) type Digest = [u8; DIGEST_LEN];

/// The database's erasure key, read once per outbox (its clones share it);
/// public only inside the sealed backend trait.
#[derive(Debug, Default, Clone)]
pub struct Keyring(Arc<OnceLock<Arc<[u8]>>>);

impl Keyring {
    /// The key, if read already.
    pub(crate) fn get(&self) -> Option<Arc<[u8]>> {
        self.0.get().cloned()
    }

    /// Keeps the key read from the database.
    pub(crate) fn keep(&self, key: Vec<u8>) -> Arc<[u8]> {
        Arc::clone(self.0.get_or_init(|| key.into()))
    }
}

/// The hashes of whom `items` are about (items about nobody have none).
pub(crate) fn digests(key: &[u8], items: &[Encoded]) -> Vec<Digest> {
    items
        .iter()
        .filter_map(|item| subject(item.json()))
        .map(|email| digest(key, &email))
        .collect()
}

/// The address as rows are matched against it: trimmed, lower-cased.
pub(crate) fn normalized(email: &str) -> String {
    email.trim().to_lowercase()
}

/// How often an erasure looks whether the relay's request in flight ended.
const FLIGHT_POLL: Duration = Duration::from_millis(20);

/// Waits until `landed` says the request that was in flight when the
/// erasure committed has ended (its range settled, or a later fence
/// recorded), for at most `bound`: the erasure must not return while a
/// request that may carry the person is on its way.
pub(crate) async fn wait_for_flight<F, Fut>(
    bound: Duration,
    mut landed: F,
) -> Result<(), OutboxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, OutboxError>>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if landed().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(OutboxError::Timeout {
                operation: "erase (waiting for the relay's request in flight)",
                timeout: bound,
            });
        }
        tokio::time::sleep(FLIGHT_POLL).await;
    }
}

/// The longest an erasure waits for the relay's request in flight: past
/// the longest request a relay makes, with room.
pub(crate) const FLIGHT_BOUND: Duration = Duration::from_secs(120);
