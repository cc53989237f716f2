//! Whom an encoded item is about: the `email` of its JSON. Every item the
//! engine carries (event, subscriber record, command) names its subscriber
//! there; only erasures read it, so `track` pays nothing while no tombstone
//! is set.

use serde::Deserialize;

#[derive(Deserialize)]
struct Subject<'a> {
    #[serde(borrow)]
    email: Option<std::borrow::Cow<'a, str>>,
}

/// The item's email, if its JSON names one.
pub(crate) fn email_of(json: &[u8]) -> Option<String> {
    read(json).ok().flatten()
}

/// The email of `json`, which must be one JSON value (an object naming no
/// email as a string, or any other value, has none); an error when it is
/// not one JSON value. One parse checks the value and finds its subject.
pub(crate) fn read(json: &[u8]) -> Result<Option<String>, serde_json::Error> {
    match serde_json::from_slice::<Subject<'_>>(json) {
        Ok(subject) => Ok(subject.email.map(std::borrow::Cow::into_owned)),
        // Not an object, or an `email` that is not a string: still
        // sendable when it is one JSON value.
        Err(_) => serde_json::from_slice::<serde::de::IgnoredAny>(json).map(|_| None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_email_of_every_kind() {
        assert_eq!(
            email_of(br#"{"type":"$signup","email":"ada@example.com","details":{"email":"x"}}"#)
                .as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(
            email_of(br#"{"command":"add_tag","email":"b\u0040example.com","query":"vip"}"#)
                .as_deref(),
            Some("b@example.com"),
            "escapes are decoded"
        );
        assert_eq!(email_of(br#"{"type":"x"}"#), None);
        assert_eq!(email_of(b"not json"), None);
    }
}
