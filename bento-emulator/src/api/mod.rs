//! The endpoints, routed by method and path.

use http::Method;
use serde_json::Value;

use crate::config::Dialect;
use crate::reply::{Handled, not_found};
use crate::server::{Shared, query_param};

mod batch;

pub(crate) use batch::fast_events as batch_fast_events;
mod commands;
mod experimental;
mod resources;
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
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        query_param(self.query, key).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.shared.config.dialect
    }
}

pub(crate) fn route(call: &mut Call<'_>) -> Handled {
    let segments: Vec<&str> = call.path.split('/').collect();
    match (call.method.as_str(), segments.as_slice()) {
        ("POST", ["batch", "events"]) => batch::events(call),
        ("POST", ["batch", "subscribers"]) => batch::subscribers(call),
        ("POST", ["batch", "emails"]) => batch::emails(call),
        ("POST", ["batch", "broadcasts"]) => batch::broadcasts(call),
        ("GET", ["fetch", "subscribers"]) => subscribers::find(call),
        ("POST", ["fetch", "subscribers"]) => subscribers::create(call),
        ("GET" | "POST", ["fetch", "search"]) => subscribers::search(call),
        ("POST", ["fetch", "commands"]) => commands::run(call),
        ("GET", ["fetch", "tags"]) => resources::tags(call),
        ("POST", ["fetch", "tags"]) => resources::create_tag(call),
        ("DELETE", ["fetch", "tags", id]) => resources::delete_tag(call, id),
        ("GET", ["fetch", "fields"]) => resources::fields(call),
        ("POST", ["fetch", "fields"]) => resources::create_field(call),
        ("GET", ["fetch", "broadcasts"]) => resources::broadcasts(call),
        ("GET", ["fetch", "responses"]) => resources::form_responses(call),
        ("GET", ["fetch", "sequences"]) => resources::sequences(call),
        ("POST", ["fetch", "sequences", id, "emails", "templates"]) => {
            resources::create_sequence_email(call, id)
        }
        ("GET", ["fetch", "emails", "templates", id]) => resources::template(call, id),
        ("PATCH" | "PUT", ["fetch", "emails", "templates", id]) => {
            resources::update_template(call, id)
        }
        ("GET", ["fetch", "workflows"]) => resources::workflows(call),
        ("GET", ["stats", "site"]) => stats::site(call),
        ("GET", ["stats", "segment"]) => stats::segment(call),
        ("GET", ["stats", "report"]) => stats::report(call),
        ("POST", ["experimental", "validation"]) => experimental::validation(call),
        ("GET", ["experimental", "blacklist.json" | "blacklist"]) => experimental::blacklist(call),
        ("POST", ["experimental", "content_moderation"]) => experimental::content_moderation(call),
        ("POST", ["experimental", "gender"]) => experimental::gender(call),
        ("GET", ["experimental", "geolocation"]) => experimental::geolocation(call),
        (method, _) => Err(not_found(format!(
            "no endpoint {method} /api/v1/{}",
            call.path
        ))),
    }
}

/// Parses a numeric id from a path segment, or answers 404.
pub(crate) fn numeric_id(kind: &str, id: &str) -> Result<u64, crate::reply::Reply> {
    id.parse()
        .map_err(|_| not_found(format!("{kind} {id} not found")))
}
