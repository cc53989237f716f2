//! Personal data kept out of messages: the SDK's errors, logs and spans
//! name what is wrong and where, never an address (messages reach logs,
//! error trackers and, for a 422, end users). The typed errors keep the
//! values in their fields for the application's own code.

use std::borrow::Cow;

/// What is wrong with an address that is not one, in words that do not
/// repeat it.
pub(crate) fn what_is_wrong(value: &str) -> &'static str {
    let trimmed = value.trim();
    let ats = trimmed.matches('@').count();
    if trimmed.is_empty() {
        "it is empty"
    } else if trimmed.len() != value.len() {
        "it has spaces around it"
    } else if trimmed.chars().any(char::is_whitespace) {
        "it has a space inside"
    } else if ats == 0 {
        "it has no @"
    } else if ats > 1 {
        "it has more than one @"
    } else if trimmed.starts_with('@') {
        "nothing before the @"
    } else if trimmed.ends_with('@') {
        "no domain after the @"
    } else {
        "its local part or domain is malformed"
    }
}

/// `text` with every email address in it replaced by `<email>`: for what
/// a server says, which may echo the address it refused.
pub(crate) fn mask_addresses(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let bound = |c: char| c.is_whitespace() || "\"'`<>()[]{},;:".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let start = rest[..at].rfind(bound).map_or(0, |i| {
            i + rest[i..].chars().next().map_or(1, char::len_utf8)
        });
        let end = rest[at + 1..]
            .find(bound)
            .map_or(rest.len(), |i| at + 1 + i);
        out.push_str(&rest[..start]);
        if start < at && end > at + 1 {
            out.push_str("<email>");
        } else {
            out.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_and_the_rest_kept() {
        assert_eq!(
            mask_addresses("events[0].email `ada@example.com` is not valid"),
            "events[0].email `<email>` is not valid"
        );
        assert_eq!(
            mask_addresses("ada@example.com, bob@x.io; and @handles or a@"),
            "<email>, <email>; and @handles or a@"
        );
        assert_eq!(mask_addresses("no address here"), "no address here");
        assert_eq!(mask_addresses("é@ü.de said"), "<email> said");
    }
}
