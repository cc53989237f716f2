//! Building answers and reading JSON request bodies with errors that name the bad field.

use http::StatusCode;
use serde_json::{Map, Value, json};

/// An answer: status, JSON body, and for batch requests the item count (for the request log).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) items: Option<usize>,
    pub(crate) retry_after: Option<u64>,
    /// For a 405: the methods the path takes.
    pub(crate) allow: Option<String>,
}

pub(crate) type Handled = Result<Reply, Reply>;

impl Reply {
    pub(crate) fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            items: None,
            retry_after: None,
            allow: None,
        }
    }

    pub(crate) fn ok(body: Value) -> Self {
        Self::new(StatusCode::OK, body)
    }

    pub(crate) fn created(body: Value) -> Self {
        Self::new(StatusCode::CREATED, body)
    }

    pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, json!({ "error": message.into() }))
    }

    pub(crate) fn with_items(mut self, items: usize) -> Self {
        self.items = Some(items);
        self
    }
}

pub(crate) fn bad(message: impl Into<String>) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, message)
}

pub(crate) fn not_found(message: impl Into<String>) -> Reply {
    Reply::error(StatusCode::NOT_FOUND, message)
}

pub(crate) fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Reply> {
    value
        .as_object()
        .ok_or_else(|| bad(format!("{path} must be a JSON object")))
}

pub(crate) fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

pub(crate) fn string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, Reply> {
    match member(object, key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(bad(format!("{path}.{key} must not be empty"))),
        Some(_) => Err(bad(format!("{path}.{key} must be a string"))),
        None => Err(bad(format!("{path}.{key} is required"))),
    }
}

pub(crate) fn opt_string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, Reply> {
    match member(object, key) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{path}.{key} must be a string"))),
        None => Ok(None),
    }
}

pub(crate) fn opt_object<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, Reply> {
    match member(object, key) {
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(bad(format!("{path}.{key} must be a JSON object"))),
        None => Ok(None),
    }
}

pub(crate) fn email<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, Reply> {
    let value = string(object, key, path)?;
    if is_email(value) {
        Ok(value)
    } else {
        Err(bad(format!(
            "{path}.{key} `{value}` is not a valid email address"
        )))
    }
}

/// The array under `key`, of 1 to `max` items.
pub(crate) fn batch<'a>(
    body: Option<&'a Value>,
    key: &str,
    max: usize,
) -> Result<&'a Vec<Value>, Reply> {
    let body = body.ok_or_else(|| bad(format!("a JSON body with `{key}` is required")))?;
    let object = object(body, "body")?;
    let items = match member(object, key) {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad(format!("`{key}` must be an array"))),
        None => return Err(bad(format!("`{key}` is required"))),
    };
    if items.is_empty() {
        return Err(bad(format!(
            "`{key}` must contain between 1 and {max} items; it is empty"
        )));
    }
    if items.len() > max {
        return Err(bad(format!(
            "`{key}` must contain between 1 and {max} items; it has {}",
            items.len()
        )));
    }
    Ok(items)
}

/// The deepest nesting the emulator stores: serde_json's own limit, past
/// which a value could not be read back. Deeper bodies are a 400.
pub(crate) const MAX_DEPTH: usize = 127;

/// How deeply arrays and objects nest in a JSON text (strings skipped).
pub(crate) fn nesting(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for byte in json.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// An RFC 3339 `date-time`, as the spec's `format: date-time` requires:
/// `2024-05-01T12:00:00Z`, with optional fraction and a `Z` or `±HH:MM` offset.
pub(crate) fn is_date_time(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|d| d.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    let separators = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if !separators || day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
                && (*h1 - b'0') * 10 + (*h2 - b'0') < 24
                && (*m1 - b'0') * 10 + (*m2 - b'0') < 60
        }
        _ => false,
    }
}

pub(crate) fn is_email(value: &str) -> bool {
    match value.trim().rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A comma-separated tag list as names.
pub(crate) fn tag_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_rfc3339_date_times() {
        for good in [
            "2024-05-01T12:00:00Z",
            "2024-02-29T23:59:60.123+02:00",
            "1999-12-31t00:00:00-05:30",
        ] {
            assert!(is_date_time(good), "{good}");
        }
        for bad in [
            "three years ago",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T24:00:00Z",
            "",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn nesting_skips_strings() {
        assert_eq!(nesting(r#"{"a":[{"b":"[[[{{{"}]}"#), 3);
        assert_eq!(nesting(r#""\"[""#), 0);
        assert_eq!(nesting(&"[".repeat(1000)), 1000);
    }
}
