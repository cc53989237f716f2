//! Erasure: a person removed from every copy the client holds, and their
//! data refused afterwards.
//!
//! [`Client::erase`](crate::Client::erase) sets a tombstone for the email
//! first (`tombstone.rs`: a keyed hash, never the address), so that nothing
//! about the person is accepted from then on; then the delivery engine
//! removes every queued item about them, waits for the requests in flight
//! that carry any (a retry of such a request leaves their items out), and
//! only then is Bento asked to delete the person, so that no request about
//! them queued before the call reaches Bento after the deletion.
//! `subject.rs` reads whom an encoded item is about.

use crate::model::kind::ItemKind;

mod subject;
mod tombstone;

pub(crate) use subject::{email_of, read as read_subject};
pub(crate) use tombstone::{Tombstones, digest};

/// How long a tombstone refuses an erased email by default: 30 days, longer
/// than any retry, maximum age or replay the SDK makes.
pub(crate) const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// Whether an item of `kind` whose JSON is `json` is about `email`
/// (trimmed, any case) and may be left out for it.
pub(crate) fn is_about(kind: ItemKind, json: &[u8], email: &str) -> bool {
    erasable(kind)
        && email_of(json).is_some_and(|own| own.trim().eq_ignore_ascii_case(email.trim()))
}

/// Whether an erasure leaves items of `kind` out when they are about the
/// person, in the engine and in the relay alike: every kind but Bento's
/// deletion request, which is the erasure itself.
pub(crate) fn erasable(kind: ItemKind) -> bool {
    kind != ItemKind::Deletion
}
