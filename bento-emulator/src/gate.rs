//! What Bento checks before an endpoint runs, in its order: the User-Agent
//! (Cloudflare, 403), Basic auth (401), the body's JSON (400), `site_uuid` in
//! the query or the body (401), and the family's rate limit (429).

use std::collections::VecDeque;
use std::time::Instant;

use base64::Engine as _;
use http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use crate::config::{EmulatorBuilder, Family, Limit};
use crate::reply::Reply;

pub(crate) fn user_agent(headers: &HeaderMap) -> Result<(), Reply> {
    let present = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| !ua.trim().is_empty());
    if present {
        Ok(())
    } else {
        Err(Reply::new(
            StatusCode::FORBIDDEN,
            Value::String("BLOCKED".into()),
        ))
    }
}

pub(crate) fn basic_auth(headers: &HeaderMap, config: &EmulatorBuilder) -> Result<(), Reply> {
    let unauthorized =
        |why: &str| Reply::error(StatusCode::UNAUTHORIZED, format!("Unauthorized: {why}"));
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized("send HTTP Basic auth with your publishable key and secret key")
    })?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not ASCII"))?;
    let (scheme, encoded) = value
        .split_once(' ')
        .ok_or_else(|| unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthorized("only Basic auth is supported"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| unauthorized("the Basic credentials are not valid base64"))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| unauthorized("the Basic credentials are not UTF-8"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| unauthorized("expected publishable_key:secret_key"))?;
    if user != config.publishable_key || password != config.secret_key {
        return Err(unauthorized("invalid publishable key or secret key"));
    }
    Ok(())
}

pub(crate) fn site_uuid(
    query: Option<&str>,
    body: Option<&Value>,
    config: &EmulatorBuilder,
) -> Result<(), Reply> {
    let from_body = body
        .and_then(|b| b.get("site_uuid"))
        .and_then(Value::as_str);
    site_uuid_value(query, from_body, config)
}

/// The same check, with the body's `site_uuid` already extracted.
pub(crate) fn site_uuid_value(
    query: Option<&str>,
    from_body: Option<&str>,
    config: &EmulatorBuilder,
) -> Result<(), Reply> {
    let from_query = query.and_then(|q| crate::query::query_param(q, "site_uuid"));
    match from_query.or_else(|| from_body.map(str::to_owned)) {
        Some(uuid) if uuid == config.site_uuid => Ok(()),
        Some(_) => Err(Reply::error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: site_uuid does not match a site of these keys",
        )),
        None => Err(Reply::error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: site_uuid is required (query parameter or JSON body member)",
        )),
    }
}

/// Takes a rate-limit slot for a request to `path`, or answers 429.
pub(crate) fn admit(shared: &crate::shared::Shared, path: &str) -> Result<(), Reply> {
    match Family::of(path) {
        Some(family) => shared
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(family, std::time::Instant::now()),
        None => Ok(()),
    }
}

/// A sliding window per family: a request is admitted when fewer than N were
/// admitted within the window; otherwise the answer says when a slot frees up.
#[derive(Debug)]
pub(crate) struct Limiter {
    windows: [Option<(Limit, VecDeque<Instant>)>; 4],
    retry_after: bool,
}

impl Limiter {
    pub(crate) fn new(config: &EmulatorBuilder) -> Self {
        Self {
            windows: config
                .limits
                .map(|limit| limit.map(|l| (l, VecDeque::new()))),
            retry_after: config.retry_after,
        }
    }

    pub(crate) fn admit(&mut self, family: Family, now: Instant) -> Result<(), Reply> {
        let Some((limit, sent)) = &mut self.windows[family.index()] else {
            return Ok(());
        };
        while sent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= limit.window)
        {
            sent.pop_front();
        }
        if sent.len() < limit.requests as usize {
            sent.push_back(now);
            return Ok(());
        }
        let oldest = sent.front().copied().unwrap_or(now);
        let wait = limit.window.saturating_sub(now.duration_since(oldest));
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut reply = Reply::error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Rate limit exceeded: {} requests per {:?} on /{:?}",
                limit.requests, limit.window, family
            )
            .to_lowercase(),
        );
        if self.retry_after {
            reply.retry_after = Some(seconds.max(1));
        }
        Err(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limiter_admits_n_per_window_and_says_when_to_return() {
        let config = EmulatorBuilder::default()
            .rate_limit(Family::Batch, Limit::new(2, Duration::from_secs(10)));
        let mut limiter = Limiter::new(&config);
        let t0 = Instant::now();
        assert!(limiter.admit(Family::Batch, t0).is_ok());
        assert!(
            limiter
                .admit(Family::Batch, t0 + Duration::from_secs(1))
                .is_ok()
        );
        let refused = limiter
            .admit(Family::Batch, t0 + Duration::from_millis(2500))
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(8));
        assert!(
            limiter
                .admit(Family::Batch, t0 + Duration::from_secs(10))
                .is_ok()
        );
        // other families are counted apart
        assert!(limiter.admit(Family::Fetch, t0).is_ok());
    }

    #[test]
    fn auth_checks_both_keys() {
        let config = EmulatorBuilder::default().keys("pk", "sk");
        let mut headers = HeaderMap::new();
        assert!(basic_auth(&headers, &config).is_err());
        let encode = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        headers.insert(header::AUTHORIZATION, encode("pk:wrong").parse().unwrap());
        assert!(basic_auth(&headers, &config).is_err());
        headers.insert(header::AUTHORIZATION, encode("pk:sk").parse().unwrap());
        assert!(basic_auth(&headers, &config).is_ok());
    }

    #[test]
    fn site_uuid_in_query_or_body() {
        let config = EmulatorBuilder::default().site_uuid("s1");
        assert!(site_uuid(Some("site_uuid=s1"), None, &config).is_ok());
        assert!(site_uuid(None, Some(&serde_json::json!({"site_uuid": "s1"})), &config).is_ok());
        assert!(site_uuid(Some("site_uuid=s2"), None, &config).is_err());
        assert!(site_uuid(None, None, &config).is_err());
    }
}
