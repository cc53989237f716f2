//! The endpoints, routed by method and path.

use http::Method;
use serde_json::Value;

use crate::config::Dialect;
use http::StatusCode;

use crate::query::query_param;
use crate::reply::{Handled, Reply, not_found};
use crate::shared::Shared;

mod batch;

pub(crate) use batch::fast_events as batch_fast_events;
mod chat;
mod commands;
mod deletion;
mod delivery;
mod experimental;
mod plan;
mod resources;
mod segments;
mod stats;
mod subscribers;

/// One authenticated API request.
pub(crate) struct Call<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) method: &'a Method,
    /// The path after `/api/v1/`, without a trailing slash.
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    /// The parsed JSON body, owned so that the hot endpoint can move it into
    /// storage instead of copying it.
    pub(crate) body: Option<Value>,
}

impl Call<'_> {
    /// A parameter from the query string or, as Bento's official Node SDK
    /// sends them, a member of the JSON body.
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        query_param(self.query, key)
            .or_else(|| match self.body.as_ref()?.get(key)? {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                Value::Bool(flag) => Some(flag.to_string()),
                _ => None,
            })
            .filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.shared.config.dialect
    }
}

/// An endpoint's handler; the second argument is the id in its path, if any.
type Handler = fn(&mut Call<'_>, &str) -> Handled;

/// The handler for `method` on `segments`, and the id in the path.
fn resolve<'p>(method: &str, segments: &[&'p str]) -> Option<(Handler, &'p str)> {
    let handler: Handler = match (method, segments) {
        ("POST", ["batch", "events"]) => |c, _| batch::events(c),
        ("POST", ["batch", "subscribers"]) => |c, _| batch::subscribers(c),
        ("POST", ["batch", "emails"]) => |c, _| batch::emails(c),
        ("POST", ["batch", "broadcasts"]) => |c, _| batch::broadcasts(c),
        ("GET", ["fetch", "subscribers"]) => |c, _| subscribers::find(c),
        ("POST", ["fetch", "subscribers"]) => |c, _| subscribers::create(c),
        ("GET" | "POST", ["fetch", "search"]) => |c, _| subscribers::search(c),
        ("POST", ["fetch", "commands"]) => |c, _| commands::run(c),
        ("GET", ["fetch", "tags"]) => |c, _| resources::tags(c),
        ("POST", ["fetch", "tags"]) => |c, _| resources::create_tag(c),
        ("DELETE", ["fetch", "tags", id]) => {
            return Some((|c, id| resources::delete_tag(c, id), id));
        }
        ("GET", ["fetch", "fields"]) => |c, _| resources::fields(c),
        ("POST", ["fetch", "fields"]) => |c, _| resources::create_field(c),
        ("GET", ["fetch", "broadcasts"]) => |c, _| resources::broadcasts(c),
        ("GET", ["fetch", "responses"]) => |c, _| resources::form_responses(c),
        ("GET", ["fetch", "sequences"]) => |c, _| resources::sequences(c),
        ("POST", ["fetch", "sequences", id, "emails", "templates"]) => {
            return Some((|c, id| resources::create_sequence_email(c, id), id));
        }
        ("GET", ["fetch", "emails", "templates", id]) => {
            return Some((|c, id| resources::template(c, id), id));
        }
        ("PATCH" | "PUT", ["fetch", "emails", "templates", id]) => {
            return Some((|c, id| resources::update_template(c, id), id));
        }
        ("GET", ["fetch", "workflows"]) => |c, _| resources::workflows(c),
        ("GET", ["stats", "site"]) => |c, _| stats::site(c),
        ("GET", ["stats", "segment"]) => |c, _| stats::segment(c),
        ("GET", ["stats", "report"]) => |c, _| stats::report(c),
        ("GET", ["stats", "ads"]) => |c, _| stats::ads(c),
        ("GET", ["fetch", "segments"]) => |c, _| segments::list(c),
        ("GET", ["fetch", "segments", id]) => {
            return Some((|c, id| segments::get(c, id), id));
        }
        ("POST", ["fetch", "segments", id, "match"]) => {
            return Some((|c, id| segments::matches(c, id), id));
        }
        ("POST", ["data_deletion_requests"]) => |c, _| deletion::request(c),
        ("GET", ["delivery", "report"]) => |c, _| delivery::report(c),
        ("GET", ["delivery", "events"]) => |c, _| delivery::events(c),
        ("GET", ["chat", "conversations"]) => |c, _| chat::list(c),
        ("GET", ["chat", "conversations", "by_email"]) => |c, _| chat::by_email(c),
        ("GET", ["chat", "conversations", id]) => {
            return Some((|c, id| chat::one(c, id), id));
        }
        ("POST", ["chat", "conversations", id, "messages"]) => {
            return Some((|c, id| chat::reply(c, id), id));
        }
        ("POST", ["chat", "conversations", id, "notes"]) => {
            return Some((|c, id| chat::note(c, id), id));
        }
        ("POST", ["chat", "conversations", id, "status"]) => {
            return Some((|c, id| chat::status(c, id), id));
        }
        ("GET", ["chat", "inboxes"]) => |c, _| chat::inboxes(c),
        ("POST", ["chat", "messages"]) => |c, _| chat::start(c),
        ("POST", ["experimental", "jesses_ruleset"]) => |c, _| experimental::jesses_ruleset(c),
        ("POST", ["experimental", "validation"]) => |c, _| experimental::validation(c),
        ("GET", ["experimental", "blacklist.json" | "blacklist"]) => {
            |c, _| experimental::blacklist(c)
        }
        ("POST", ["experimental", "content_moderation"]) => {
            |c, _| experimental::content_moderation(c)
        }
        ("POST", ["experimental", "gender"]) => |c, _| experimental::gender(c),
        ("GET", ["experimental", "geolocation"]) => |c, _| experimental::geolocation(c),
        _ => return None,
    };
    Some((handler, ""))
}

pub(crate) fn route(call: &mut Call<'_>) -> Handled {
    let segments: Vec<&str> = call.path.split('/').collect();
    if let Some((handler, id)) = resolve(call.method.as_str(), &segments) {
        return handler(call, id);
    }
    let allowed: Vec<&str> = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        .into_iter()
        .filter(|method| resolve(method, &segments).is_some())
        .collect();
    if allowed.is_empty() {
        return Err(not_found(format!(
            "no endpoint {} /api/v1/{}",
            call.method, call.path
        )));
    }
    let mut reply = Reply::error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "/api/v1/{} does not take {}; it takes {}",
            call.path,
            call.method,
            allowed.join(", ")
        ),
    );
    reply.allow = Some(allowed.join(", "));
    Err(reply)
}

/// Parses a numeric id from a path segment, or answers 404.
pub(crate) fn numeric_id(kind: &str, id: &str) -> Result<u64, crate::reply::Reply> {
    id.parse()
        .map_err(|_| not_found(format!("{kind} {id} not found")))
}
