//! Bento's key rule, written once for the derive (which checks it at
//! compile time), the client's run-time builders and the tracking plan: a key
//! of `fields` or `details` is lowercase ASCII letters, digits and
//! underscores, and the suggested fix of any other spelling is its
//! snake_case.

/// Whether `key` follows Bento's key rule: lowercase ASCII letters, digits
/// and underscores, not empty.
pub fn is_valid(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The spelling that follows the rule: `firstName` -> `first_name`,
/// `Plan Tier` -> `plan_tier`, `HTTPStatus` -> `http_status`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') && !name.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_and_its_suggestions() {
        for (from, to) in [
            ("first_name", "first_name"),
            ("firstName", "first_name"),
            ("FirstName", "first_name"),
            ("HTTPStatus", "http_status"),
            ("plan-tier", "plan_tier"),
            ("Plan Tier", "plan_tier"),
            ("utm.source", "utm_source"),
            ("address2", "address2"),
            ("line2Text", "line2_text"),
        ] {
            assert_eq!(snake_case(from), to, "{from}");
            assert_eq!(is_valid(from), from == to, "{from}");
        }
        assert!(!is_valid(""));
        assert!(!is_valid("café"));
    }
}
