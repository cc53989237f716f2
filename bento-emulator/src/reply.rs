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
}

pub(crate) type Handled = Result<Reply, Reply>;

impl Reply {
    pub(crate) fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            items: None,
            retry_after: None,
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
