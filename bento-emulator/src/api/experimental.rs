//! `/experimental/*`, with deterministic stand-ins for Bento's heuristics so
//! tests can predict the answers: addresses at `.invalid` domains are invalid,
//! domains or IPs containing `spam` are listed, text with links or scripts is
//! flagged, and geolocation answers `{}` as Bento's now does.

use serde_json::json;

use super::Call;
use crate::reply::{Handled, Reply, bad, is_email};

fn required(call: &Call<'_>, key: &str) -> Result<String, Reply> {
    call.param(key).ok_or_else(|| {
        bad(format!(
            "the `{key}` parameter is required (in the query or the JSON body)"
        ))
    })
}

pub(super) fn validation(call: &Call<'_>) -> Handled {
    let email = required(call, "email")?;
    let valid = is_email(&email) && !email.to_ascii_lowercase().ends_with(".invalid");
    Ok(Reply::ok(json!({ "valid": valid })))
}

pub(super) fn blacklist(call: &Call<'_>) -> Handled {
    let target = match (call.param("domain"), call.param("ip")) {
        (Some(_), Some(_)) => return Err(bad("pass either `domain` or `ip`, not both")),
        (Some(domain), None) => {
            if domain.contains("://") {
                return Err(bad("`domain` must not include a protocol"));
            }
            domain
        }
        (None, Some(ip)) => ip,
        (None, None) => return Err(bad("pass `domain` or `ip`")),
    };
    let listed = target.to_ascii_lowercase().contains("spam");
    Ok(Reply::ok(json!({
        "query": target,
        "description": if listed { "Listed on one or more blacklists." } else { "Not listed on any blacklist." },
        "results": {
            "just_registered": false, "spamhaus": listed, "nordspam": listed,
            "spfbl": false, "sorbs": false, "abusix": false
        }
    })))
}

pub(super) fn content_moderation(call: &Call<'_>) -> Handled {
    let content = required(call, "content")?;
    let lower = content.to_ascii_lowercase();
    let mut reasons = Vec::new();
    if ["http://", "https://", "www."]
        .iter()
        .any(|l| lower.contains(l))
    {
        reasons.push("contains a link");
    }
    if lower.contains("<script") || lower.contains("javascript:") {
        reasons.push("contains a script");
    }
    let safe = content
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Ok(Reply::ok(
        json!({ "valid": reasons.is_empty(), "reasons": reasons, "safe_original_content": safe }),
    ))
}

pub(super) fn gender(call: &Call<'_>) -> Handled {
    let name = required(call, "name")?;
    let first = name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let (gender, confidence) = match first.as_str() {
        "ada" | "grace" | "mary" | "jane" | "emma" | "olivia" => ("female", 0.97),
        "john" | "james" | "bob" | "jesse" | "alan" | "liam" => ("male", 0.96),
        _ => ("unknown", 0.0),
    };
    Ok(Reply::ok(
        json!({ "gender": gender, "confidence": confidence }),
    ))
}

/// `GET /experimental/geolocation`: Bento disabled the lookup; the legacy
/// endpoint answers `{}` whatever the `ip` (the 2026-08-22 spec).
pub(super) fn geolocation(_call: &Call<'_>) -> Handled {
    Ok(Reply::ok(json!({})))
}

/// Free providers, for `block_free_providers`.
const FREE_PROVIDERS: [&str; 6] = [
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "aol.com",
    "icloud.com",
];

/// Role addresses, which the ruleset refuses unless `wiggleroom` is set.
const ROLES: [&str; 6] = ["admin", "info", "support", "noreply", "no-reply", "sales"];

/// "Jesse's ruleset": deterministic reasons the tests can predict.
/// Addresses at `.invalid` domains or containing `disposable` are refused;
/// role addresses unless `wiggleroom`; free providers when
/// `block_free_providers`.
pub(super) fn jesses_ruleset(call: &Call<'_>) -> Handled {
    let body = call.body.as_ref();
    let email = body
        .and_then(|b| b.get("email"))
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| bad("`email` is required"))?
        .to_ascii_lowercase();
    let flag = |key: &str| {
        body.and_then(|b| b.get(key))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    let mut reasons = Vec::new();
    if !is_email(&email) {
        reasons.push("Email is not valid".to_owned());
    }
    let (local, domain) = email.split_once('@').unwrap_or((&email, ""));
    if domain.ends_with(".invalid") || domain.contains("disposable") {
        reasons.push("Email provider is disposable".to_owned());
    }
    if !flag("wiggleroom") && ROLES.contains(&local) {
        reasons.push("Email is a role address".to_owned());
    }
    if flag("block_free_providers") && FREE_PROVIDERS.contains(&domain) {
        reasons.push("Email provider is free".to_owned());
    }
    Ok(Reply::ok(
        json!({ "valid": reasons.is_empty(), "reasons": reasons }),
    ))
}
