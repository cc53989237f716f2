//! Checks run before a request leaves the process, so that a typo costs a
//! typed error instead of a rate-limited round trip and an opaque 400.

use crate::error::ValidationError;

/// A pragmatic syntax check: one `@`, a non-empty local part, a dotted domain,
/// no whitespace or control characters. Deliverability is Bento's business.
pub(crate) fn email(field: impl FnOnce() -> String, value: &str) -> Result<(), ValidationError> {
    if is_valid_email(value) {
        Ok(())
    } else {
        Err(ValidationError::InvalidEmail {
            field: field(),
            value: value.to_owned(),
        })
    }
}

pub(crate) fn is_valid_email(value: &str) -> bool {
    // Byte-wise for ASCII (every tracked event passes through here); a
    // non-ASCII address takes the character-wise check.
    let bytes = value.as_bytes();
    let forbidden = if value.is_ascii() {
        bytes
            .iter()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    } else {
        value.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if value.len() > 254 || forbidden {
        return false;
    }
    let Some(at) = bytes.iter().rposition(|b| *b == b'@') else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    if local.is_empty() || local.len() > 64 || local.contains(&b'@') {
        return false;
    }
    domain.contains(&b'.')
        && domain
            .split(|b| *b == b'.')
            .all(|label| !label.is_empty() && label[0] != b'-' && label[label.len() - 1] != b'-')
}

pub(crate) fn non_empty(
    field: impl FnOnce() -> String,
    value: &str,
) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::Empty { field: field() })
    } else {
        Ok(())
    }
}

pub(crate) fn non_empty_batch<T>(what: &'static str, items: &[T]) -> Result<(), ValidationError> {
    if items.is_empty() {
        Err(ValidationError::EmptyBatch { what })
    } else {
        Ok(())
    }
}

pub(crate) fn tag(field: impl FnOnce() -> String, tag: &str) -> Result<(), ValidationError> {
    if tag.contains(',') {
        return Err(ValidationError::TagContainsComma {
            field: field(),
            tag: tag.to_owned(),
        });
    }
    non_empty(|| "tag name".to_owned(), tag)
}

/// Joins tags with commas, rejecting any tag that would be split in two by it.
pub(crate) fn join_tags(field: &str, tags: &[String]) -> Result<String, ValidationError> {
    for t in tags {
        tag(|| field.to_owned(), t)?;
    }
    Ok(tags.join(","))
}

/// An id that goes into a URL path: non-empty, no characters that would change the path.
pub(crate) fn path_id(field: &'static str, id: &str) -> Result<(), ValidationError> {
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && id != "."
        && id != ".."
    {
        Ok(())
    } else {
        Err(ValidationError::Arguments(format!(
            "{field} `{id}` is not a valid id: use the id Bento returned (letters, digits, `-`, `_`, `.`)"
        )))
    }
}

/// Bento's key rule (`bento_plan::key`, shared with the derive and the
/// plan) for the run-time builders.
pub(crate) fn key(field: impl FnOnce() -> String, key: &str) -> Result<(), ValidationError> {
    if bento_plan::key::is_valid(key) {
        return Ok(());
    }
    Err(ValidationError::KeyCase {
        field: field(),
        key: key.to_owned(),
        suggestion: bento_plan::key::snake_case(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "o'neil@example.ie",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@b.",
            "a@.com",
            "a b@example.com",
            "a@b@example.com",
            "a@-b.com",
            "a\n@example.com",
        ] {
            assert!(!is_valid_email(bad), "{bad:?}");
        }
    }

    #[test]
    fn tags_with_commas_are_rejected_with_their_location() {
        let err = join_tags("subscribers[2].tags", &["a".into(), "b,c".into()]).unwrap_err();
        assert_eq!(
            err,
            ValidationError::TagContainsComma {
                field: "subscribers[2].tags".into(),
                tag: "b,c".into()
            }
        );
        assert_eq!(join_tags("t", &["a".into(), "b".into()]).unwrap(), "a,b");
    }

    #[test]
    fn an_invalid_address_is_described_never_shown() {
        for (value, expected) in [
            ("", "it is empty"),
            (" ada@shop.test", "it has spaces around it"),
            ("ada lovelace@shop.test", "it has a space inside"),
            ("ada.shop.test", "it has no @"),
            ("ada@@shop.test", "it has more than one @"),
            ("@shop.test", "nothing before the @"),
            ("ada@", "no domain after the @"),
        ] {
            let error = super::email(|| "event.email".to_owned(), value).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(expected), "{value:?}: {message}");
            assert!(
                value.is_empty() || !message.contains(value.trim()),
                "{message}"
            );
        }
    }
}
