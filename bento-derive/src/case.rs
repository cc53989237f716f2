//! Key naming: Bento's keys are lowercase and underscored (`first_name`), so
//! that is what every key must be after renaming, and the only renaming rules
//! offered are the ones that produce such keys.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RenameRule {
    /// `firstName` -> `first_name`.
    SnakeCase,
    /// `firstName` -> `firstname`.
    Lowercase,
}

pub(crate) const RENAME_RULES: &[&str] = &["snake_case", "lowercase"];

impl RenameRule {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "snake_case" => Some(Self::SnakeCase),
            "lowercase" => Some(Self::Lowercase),
            _ => None,
        }
    }

    pub(crate) fn apply(self, name: &str) -> String {
        match self {
            Self::SnakeCase => to_snake_case(name),
            Self::Lowercase => name.to_lowercase(),
        }
    }
}

/// Whether `key` is lowercase ASCII letters, digits and underscores.
pub(crate) fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The snake_case spelling of an identifier or a free-form key.
pub(crate) fn to_snake_case(name: &str) -> String {
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
    fn snake_case_spellings() {
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
            assert_eq!(to_snake_case(from), to, "{from}");
        }
    }

    #[test]
    fn valid_keys() {
        assert!(is_valid_key("first_name"));
        assert!(is_valid_key("address2"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("firstName"));
        assert!(!is_valid_key("plan-tier"));
        assert!(!is_valid_key("café"));
    }

    #[test]
    fn rules() {
        assert_eq!(RenameRule::parse("camelCase"), None);
        assert_eq!(RenameRule::SnakeCase.apply("orderId"), "order_id");
        assert_eq!(RenameRule::Lowercase.apply("orderId"), "orderid");
    }
}
