//! For durable stores that erase people fleet-wide: whom an item is about,
//! and the keyed hash a tombstone keeps instead of the address.
//!
//! A store keeps its own key (`bento-outbox` keeps a random one in its
//! database, so every process sharing it computes the same hashes, and a
//! rotated Bento key forgets no erasure); the tombstone table then shows
//! no address to whoever reads it alone (a log of it, a support export).

/// How long a tombstone holds by default: 30 days, longer than any retry,
/// maximum age or replay the SDK makes.
pub const DEFAULT_TTL: std::time::Duration = crate::erasure::DEFAULT_TTL;

/// The length of a [`digest`].
pub const DIGEST_LEN: usize = 32;

/// Whom the item whose JSON is `json` is about: its `email`, if it names one.
///
/// ```
/// use bento_core::integration::erasure::subject;
/// assert_eq!(
///     subject(br#"{"type":"$signup","email":"ada@example.com"}"#).as_deref(),
///     Some("ada@example.com")
/// );
/// assert_eq!(subject(br#"{"type":"$signup"}"#), None);
/// ```
pub fn subject(json: &[u8]) -> Option<String> {
    crate::erasure::email_of(json)
}

/// The keyed hash of `email` under `key`, as tombstones keep it:
/// HMAC-SHA-256 of the address trimmed and lower-cased (Bento compares
/// addresses in any case).
///
/// ```
/// use bento_core::integration::erasure::digest;
/// assert_eq!(digest(b"key", " Ada@Example.com"), digest(b"key", "ada@example.com"));
/// assert_ne!(digest(b"key", "ada@example.com"), digest(b"other", "ada@example.com"));
/// ```
pub fn digest(key: &[u8], email: &str) -> [u8; DIGEST_LEN] {
    crate::erasure::digest(key, email)
}

/// Checks that `email` is an address, as [`Client::erase`](crate::Client::erase)
/// does before it erases anything.
///
/// ```
/// use bento_core::integration::erasure::check_email;
/// assert!(check_email("ada@example.com").is_ok());
/// assert!(check_email("not an address").is_err());
/// ```
pub fn check_email(email: &str) -> Result<(), crate::ValidationError> {
    crate::validate::email(|| "email".to_owned(), email)
}
