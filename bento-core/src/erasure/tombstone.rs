//! Tombstones: the emails erased recently, as keyed hashes (HMAC-SHA-256
//! under a key of the client's), each until it expires or is lifted.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};

use crate::model::kind::ItemKind;
use sha2::Sha256;

type Digest = [u8; 32];

/// The erased emails of one client, shared by its clones and its delivery
/// thread.
pub(crate) struct Tombstones {
    key: Vec<u8>,
    ttl: Duration,
    entries: RwLock<HashMap<Digest, Instant>>,
    /// How many entries there are: `track` reads this alone while there
    /// are none.
    count: AtomicUsize,
    /// When expired entries were last dropped.
    pruned: std::sync::Mutex<Instant>,
}

/// How often expired tombstones are dropped: often enough that memory stays
/// bounded by one time-to-live of erasures, rarely enough that a million
/// erasures in a row stay linear.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Tombstones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tombstones")
            .field("count", &self.count.load(Ordering::Relaxed))
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The keyed hash of an email: HMAC-SHA-256 of it trimmed and lower-cased.
pub(crate) fn digest(key: &[u8], email: &str) -> Digest {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(email.trim().to_lowercase().as_bytes());
    mac.finalize().into_bytes().into()
}

impl Tombstones {
    /// Tombstones hashed under `key`, each kept `ttl`.
    pub(crate) fn new(key: &[u8], ttl: Duration) -> Self {
        Self {
            key: key.to_vec(),
            ttl,
            entries: RwLock::default(),
            count: AtomicUsize::new(0),
            pruned: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// The keyed hash of an email, as Bento compares them: trimmed, any case.
    fn digest(&self, email: &str) -> Digest {
        digest(&self.key, email)
    }

    /// How long a tombstone holds.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether there is no tombstone at all: one atomic read.
    pub(crate) fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Sets the tombstone of `email` for the configured time from now.
    pub(crate) fn add(&self, email: &str) {
        let digest = self.digest(email);
        let until = crate::time::after(Instant::now(), self.ttl);
        let mut entries = self.write();
        entries.insert(digest, until);
        self.count.store(entries.len(), Ordering::Release);
    }

    /// Lifts the tombstone of `email`; whether there was one.
    pub(crate) fn lift(&self, email: &str) -> bool {
        let digest = self.digest(email);
        let mut entries = self.write();
        let lifted = entries.remove(&digest).is_some();
        self.count.store(entries.len(), Ordering::Release);
        lifted
    }

    /// Whether `email` is erased (its tombstone has not expired).
    pub(crate) fn contains(&self, email: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let digest = self.digest(email);
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&digest)
            .is_some_and(|until| Instant::now() < *until)
    }

    /// Whether the JSON of an event, record or command is about an erased
    /// email.
    pub(crate) fn covers_json(&self, json: &[u8]) -> bool {
        !self.is_empty() && super::email_of(json).is_some_and(|email| self.contains(&email))
    }

    /// Whether an item of `kind` whose JSON is `json` is about an erased
    /// email; a deletion request never is (it is the erasure itself).
    pub(crate) fn covers(&self, kind: ItemKind, json: &[u8]) -> bool {
        super::erasable(kind) && self.covers_json(json)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Digest, Instant>> {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut pruned = self.pruned.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_duration_since(*pruned) >= PRUNE_EVERY {
            entries.retain(|_, until| now < *until);
            *pruned = now;
        }
        drop(pruned);
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_match_any_case_expire_and_lift() {
        let tombstones = Tombstones::new(b"key", Duration::from_secs(60));
        assert!(tombstones.is_empty());
        tombstones.add("Ada@Example.com ");
        assert!(tombstones.contains("ada@example.com"));
        assert!(!tombstones.contains("bob@example.com"));
        assert!(tombstones.covers_json(br#"{"type":"t","email":"ADA@example.com"}"#));
        let about = br#"{"email":"ADA@example.com"}"#;
        assert!(tombstones.covers(ItemKind::Command, about));
        // Bento's deletion request is the erasure itself: never covered.
        assert!(!tombstones.covers(ItemKind::Deletion, about));
        assert!(tombstones.lift("ada@example.com"));
        assert!(!tombstones.contains("ada@example.com"));
        assert!(tombstones.is_empty());

        let short = Tombstones::new(b"key", Duration::ZERO);
        short.add("ada@example.com");
        assert!(!short.contains("ada@example.com"), "expired at once");
    }

    #[test]
    fn the_address_is_not_kept_and_the_hash_depends_on_the_key() {
        let one = Tombstones::new(b"one", Duration::from_secs(60));
        let two = Tombstones::new(b"two", Duration::from_secs(60));
        assert_ne!(one.digest("ada@example.com"), two.digest("ada@example.com"));
        one.add("ada@example.com");
        assert!(!format!("{one:?}").contains("ada"));
    }
}
