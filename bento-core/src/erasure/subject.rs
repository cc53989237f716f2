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
    let subject: Subject<'_> = serde_json::from_slice(json).ok()?;
    subject.email.map(std::borrow::Cow::into_owned)
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
