//! The web UI's pages: emails, events, subscribers, chat, deletions, requests and faults.

use std::fmt::Write as _;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use serde_json::{Map, Value};

use super::{esc, redirect, url_encode};
use crate::faults::{Fault, FaultAction};
use crate::query::query_param;
use crate::shared::Shared;

/// Rows per page: pages stay fast with 100,000 stored events.
const PER_PAGE: usize = 50;

const TABS: [(&str, &str); 7] = [
    ("emails", "Emails"),
    ("events", "Events"),
    ("subscribers", "Subscribers"),
    ("chat", "Chat"),
    ("deletions", "Deletions"),
    ("requests", "Requests"),
    ("faults", "Faults"),
];

/// The frame of every page; `version` lets the page know when to refresh.
pub(super) fn layout(title: &str, active: &str, version: u64, body: &str) -> String {
    let mut nav = String::new();
    for (path, name) in TABS {
        let class = if path == active {
            " class=\"active\""
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"/__emulator/ui/{path}\"{class}>{name}</a>");
    }
    let live = if active.is_empty() { "" } else { " data-live" };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Bento emulator</title><link rel=\"stylesheet\" href=\"/__emulator/ui/app.css\">\
         </head><body><header><strong>Bento emulator</strong><nav>{nav}</nav></header>\
         <main{live} data-version=\"{version}\">{body}</main>\
         <script src=\"/__emulator/ui/app.js\"></script></body></html>",
        esc(title)
    )
}

pub(super) fn render(shared: &Shared, path: &str, query: &str) -> Option<String> {
    let param = |key: &str| query_param(query, key).filter(|v| !v.trim().is_empty());
    let page = param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let version = shared.state().version;
    let (title, tab, body) = match path {
        "/emails" => ("Emails", "emails", emails(shared, page)),
        "/events" => (
            "Events",
            "events",
            events(shared, param("type"), param("email"), page),
        ),
        "/subscribers" => (
            "Subscribers",
            "subscribers",
            subscribers(shared, param("q"), page),
        ),
        "/subscriber" => (
            "Subscriber",
            "subscribers",
            subscriber(shared, &param("email")?)?,
        ),
        "/chat" => ("Chat", "chat", super::chat::conversations(shared)),
        "/deletions" => (
            "Deletions",
            "deletions",
            super::deletions::deletions(shared),
        ),
        "/requests" => ("Requests", "requests", requests(shared, page)),
        "/faults" => ("Faults", "faults", faults(shared)),
        other if other.starts_with("/chat/") => {
            let id = other.strip_prefix("/chat/")?.parse::<u64>().ok()?;
            let page = super::chat::conversation(shared, id)?;
            return Some(layout("Conversation", "", version, &page));
        }
        other => {
            let index = other.strip_prefix("/emails/")?.parse::<usize>().ok()?;
            // A detail page does not refresh itself: it would reload the frame.
            return Some(layout("Email", "", version, &email(shared, index)?));
        }
    };
    Some(layout(title, tab, version, &body))
}

fn json_cell(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        return String::new();
    }
    esc(&Value::Object(map.clone()).to_string())
}

/// "Page 2 of 7" with links, keeping the other query parameters.
fn pager(base: &str, extra: &str, page: usize, total: usize) -> String {
    let pages = total.div_ceil(PER_PAGE).max(1);
    let link = |n: usize, label: &str| format!("<a href=\"{base}?page={n}{extra}\">{label}</a>");
    let mut out = format!(
        "<div class=\"pager\"><span class=\"muted\">{total} in all · page {page} of {pages}</span>"
    );
    if page > 1 {
        out.push_str(&link(page - 1, "← newer"));
    }
    if page < pages {
        out.push_str(&link(page + 1, "older →"));
    }
    out.push_str("</div>");
    out
}

fn emails(shared: &Shared, page: usize) -> String {
    let state = shared.state();
    let mut out = String::from("<h1>Transactional emails</h1>");
    out.push_str(&pager(
        "/__emulator/ui/emails",
        "",
        page,
        state.emails.len(),
    ));
    out.push_str("<table><thead><tr><th>Sent</th><th>To</th><th>From</th><th>Subject</th><th>Cc</th></tr></thead><tbody>");
    for (index, mail) in state
        .emails
        .iter()
        .enumerate()
        .rev()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
    {
        let _ = write!(
            out,
            "<tr><td class=\"muted\">{}</td><td>{}</td><td>{}</td>\
             <td><a href=\"/__emulator/ui/emails/{index}\">{}</a></td><td>{}</td></tr>",
            esc(&mail.sent_at),
            esc(&mail.to),
            esc(&mail.from),
            esc(if mail.subject.is_empty() {
                "(no subject)"
            } else {
                &mail.subject
            }),
            esc(mail.cc.as_deref().unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table><h2>Broadcasts</h2><table><thead><tr><th>Created</th><th>Name</th><th>Subject</th></tr></thead><tbody>");
    for broadcast in state.broadcasts.iter().rev().take(PER_PAGE) {
        let attributes = &broadcast["attributes"];
        let _ = write!(
            out,
            "<tr><td class=\"muted\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(attributes["created_at"].as_str().unwrap_or_default()),
            esc(attributes["name"].as_str().unwrap_or_default()),
            esc(attributes["template"]["subject"]
                .as_str()
                .unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn email(shared: &Shared, index: usize) -> Option<String> {
    let state = shared.state();
    let mail = state.emails.get(index)?;
    let mut out = format!(
        "<p><a href=\"/__emulator/ui/emails\">← all emails</a></p><h1>{}</h1><dl>\
         <dt>To</dt><dd>{}</dd><dt>From</dt><dd>{}</dd><dt>Cc</dt><dd>{}</dd><dt>Bcc</dt><dd>{}</dd>\
         <dt>Sent</dt><dd>{}</dd><dt>Transactional</dt><dd>{}</dd><dt>Personalizations</dt><dd class=\"json\">{}</dd></dl>",
        esc(&mail.subject),
        esc(&mail.to),
        esc(&mail.from),
        esc(mail.cc.as_deref().unwrap_or("—")),
        esc(mail.bcc.as_deref().unwrap_or("—")),
        esc(&mail.sent_at),
        mail.transactional,
        json_cell(&mail.personalizations),
    );
    // The body is untrusted HTML: a sandboxed frame with no script rights and
    // no access to this origin; `srcdoc` is an escaped attribute.
    let _ = write!(
        out,
        "<h2>Body</h2><iframe class=\"email\" sandbox=\"\" referrerpolicy=\"no-referrer\" \
         title=\"Email body\" srcdoc=\"{}\"></iframe><h2>Raw JSON</h2><pre>{}</pre>",
        esc(&mail.html_body),
        esc(&serde_json::to_string_pretty(mail).unwrap_or_default()),
    );
    Some(out)
}

fn events(shared: &Shared, kind: Option<String>, email: Option<String>, page: usize) -> String {
    let state = shared.state();
    let matches = |event: &&crate::state::StoredEvent| {
        kind.as_deref().is_none_or(|k| event.event_type == k)
            && email
                .as_deref()
                .is_none_or(|e| event.email.eq_ignore_ascii_case(e.trim()))
    };
    let total = state.events.iter().filter(matches).count();
    let mut extra = String::new();
    if let Some(k) = &kind {
        let _ = write!(extra, "&type={}", url_encode(k));
    }
    if let Some(e) = &email {
        let _ = write!(extra, "&email={}", url_encode(e));
    }
    let mut out = format!(
        "<h1>Events</h1><form class=\"inline\" method=\"get\">\
         <label>Type<input name=\"type\" value=\"{}\" placeholder=\"account.signup\"></label>\
         <label>Email<input name=\"email\" value=\"{}\" placeholder=\"ada@example.com\"></label>\
         <button type=\"submit\">Filter</button></form>",
        esc(kind.as_deref().unwrap_or_default()),
        esc(email.as_deref().unwrap_or_default()),
    );
    out.push_str(&pager("/__emulator/ui/events", &extra, page, total));
    out.push_str("<table><thead><tr><th>Received</th><th>Type</th><th>Email</th><th>Date</th><th>Fields</th><th>Details</th></tr></thead><tbody>");
    for event in state
        .events
        .iter()
        .rev()
        .filter(matches)
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
    {
        let record = event.to_record();
        let _ = write!(
            out,
            "<tr><td class=\"muted\">{}</td><td>{}</td>\
             <td><a href=\"/__emulator/ui/subscriber?email={}\">{}</a></td><td>{}</td>\
             <td class=\"json\">{}</td><td class=\"json\">{}</td></tr>",
            esc(&record.received_at),
            esc(&record.event_type),
            url_encode(&record.email),
            esc(&record.email),
            esc(record.date.as_deref().unwrap_or_default()),
            json_cell(&record.fields),
            json_cell(&record.details),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn subscribers(shared: &Shared, search: Option<String>, page: usize) -> String {
    let state = shared.state();
    let needle = search.as_deref().map(str::to_ascii_lowercase);
    let found: Vec<_> = state
        .subscribers
        .iter()
        .rev()
        .filter(|s| needle.as_deref().is_none_or(|n| s.email.contains(n)))
        .collect();
    let extra = search
        .as_deref()
        .map(|q| format!("&q={}", url_encode(q)))
        .unwrap_or_default();
    let mut out = format!(
        "<h1>Subscribers</h1><form class=\"inline\" method=\"get\">\
         <label>Email contains<input name=\"q\" value=\"{}\"></label><button type=\"submit\">Search</button></form>",
        esc(search.as_deref().unwrap_or_default())
    );
    out.push_str(&pager(
        "/__emulator/ui/subscribers",
        &extra,
        page,
        found.len(),
    ));
    out.push_str("<table><thead><tr><th>Email</th><th>State</th><th>Tags</th><th>Fields</th></tr></thead><tbody>");
    for subscriber in found.into_iter().skip((page - 1) * PER_PAGE).take(PER_PAGE) {
        let record = state.record(subscriber);
        let tags: String = record
            .tags
            .iter()
            .map(|t| format!("<span class=\"tag\">{}</span>", esc(t)))
            .collect();
        let _ = write!(
            out,
            "<tr><td><a href=\"/__emulator/ui/subscriber?email={}\">{}</a></td><td>{}</td><td>{tags}</td><td class=\"json\">{}</td></tr>",
            url_encode(&record.email),
            esc(&record.email),
            if record.subscribed {
                "subscribed"
            } else {
                "unsubscribed"
            },
            json_cell(&record.fields),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn subscriber(shared: &Shared, email: &str) -> Option<String> {
    let state = shared.state();
    let record = state.record(&state.subscribers[state.find(email)?]);
    let tags: String = record
        .tags
        .iter()
        .map(|t| format!("<span class=\"tag\">{}</span>", esc(t)))
        .collect();
    let mut out = format!(
        "<p><a href=\"/__emulator/ui/subscribers\">← all subscribers</a></p><h1>{}</h1><dl>\
         <dt>UUID</dt><dd>{}</dd><dt>State</dt><dd>{}</dd><dt>Tags</dt><dd>{tags}</dd>\
         <dt>Fields</dt><dd class=\"json\">{}</dd><dt>Created</dt><dd>{}</dd></dl>",
        esc(&record.email),
        esc(&record.uuid),
        if record.subscribed {
            "subscribed"
        } else {
            "unsubscribed"
        },
        json_cell(&record.fields),
        esc(&record.created_at),
    );
    // Their own timeline: events, commands and emails, newest first.
    let mut timeline: Vec<(String, String, String)> = state
        .events
        .iter()
        .filter(|e| e.email.eq_ignore_ascii_case(email))
        .map(|e| {
            let r = e.to_record();
            (
                r.received_at.clone(),
                format!("event {}", r.event_type),
                json_cell(&r.details),
            )
        })
        .collect();
    timeline.extend(
        state
            .emails
            .iter()
            .filter(|m| m.to.eq_ignore_ascii_case(email))
            .map(|m| (m.sent_at.clone(), "email".to_owned(), esc(&m.subject))),
    );
    timeline.extend(
        state
            .commands
            .iter()
            .filter(|(address, _, _)| address.eq_ignore_ascii_case(email))
            .map(|(_, what, when)| (when.clone(), format!("command {what}"), String::new())),
    );
    timeline.sort_by(|a, b| b.0.cmp(&a.0));
    out.push_str("<h2>Timeline</h2><table><thead><tr><th>When</th><th>What</th><th></th></tr></thead><tbody>");
    for (when, what, detail) in timeline.into_iter().take(200) {
        let _ = write!(
            out,
            "<tr><td class=\"muted\">{}</td><td>{}</td><td class=\"json\">{detail}</td></tr>",
            esc(&when),
            esc(&what)
        );
    }
    out.push_str("</tbody></table>");
    Some(out)
}

fn requests(shared: &Shared, page: usize) -> String {
    let state = shared.state();
    let mut out = String::from(
        "<h1>Requests</h1><p class=\"muted\">The API requests the emulator answered, newest first, \
         with its error message on each failure. Authorization is never recorded.</p>",
    );
    out.push_str(&pager(
        "/__emulator/ui/requests",
        "",
        page,
        state.requests.len(),
    ));
    out.push_str("<table><thead><tr><th>At</th><th>Method</th><th>Path</th><th>Status</th><th>ms</th><th>User-Agent</th><th>Error</th></tr></thead><tbody>");
    for request in state
        .requests
        .iter()
        .rev()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
    {
        let class = if (200..300).contains(&request.status) {
            "status-ok"
        } else {
            "status-bad"
        };
        let _ = write!(
            out,
            "<tr><td class=\"muted\">{}</td><td>{}</td><td>/api/v1/{}</td><td class=\"{class}\">{}</td>\
             <td>{}</td><td class=\"muted\">{}</td><td class=\"error\">{}</td></tr>",
            esc(&request.at),
            esc(&request.method),
            esc(&request.path),
            request.status,
            request.latency_ms,
            esc(request.user_agent.as_deref().unwrap_or("(none)")),
            esc(request.error.as_deref().unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn faults(shared: &Shared) -> String {
    let mut out = String::from(
        "<h1>Faults</h1><form class=\"inline\" method=\"post\" action=\"/__emulator/ui/faults\">\
         <label>Status<input name=\"status\" value=\"503\" size=\"4\"></label>\
         <label>Retry-After (s)<input name=\"retry_after\" size=\"4\"></label>\
         <label>Times<input name=\"times\" value=\"1\" size=\"4\"></label>\
         <label>Path prefix<input name=\"path\" placeholder=\"/batch/events\"></label>\
         <button type=\"submit\">Add fault</button></form>\
         <table><thead><tr><th>Action</th><th>Path</th><th>Remaining</th><th>Ratio</th><th>Body contains</th></tr></thead><tbody>",
    );
    for (fault, remaining) in shared
        .faults
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .list()
    {
        let action = match &fault.action {
            FaultAction::Status {
                status,
                retry_after,
                ..
            } => match retry_after {
                Some(s) => format!("answer {status}, Retry-After {s}"),
                None => format!("answer {status}"),
            },
            FaultAction::Delay { millis } => format!("delay {millis} ms"),
            FaultAction::Drop { .. } => "drop the connection".to_owned(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&action),
            esc(fault.path.as_deref().unwrap_or("every path")),
            remaining.map_or("unlimited".to_owned(), |n| n.to_string()),
            fault.ratio.map_or(String::new(), |r| r.to_string()),
            esc(fault.body_contains.as_deref().unwrap_or_default()),
        );
    }
    out.push_str(
        "</tbody></table><p><form class=\"inline\" method=\"post\" action=\"/__emulator/ui/faults/clear\">\
         <button type=\"submit\">Clear faults</button></form>\
         <form class=\"inline\" method=\"post\" action=\"/__emulator/ui/reset\">\
         <button type=\"submit\" class=\"danger\">Reset all state</button></form></p>",
    );
    out
}

/// Form posts: add or clear faults, reset state; then back to the page.
pub(super) fn act(shared: &Shared, path: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let form = String::from_utf8_lossy(body).into_owned();
    let field = |key: &str| query_param(&form, key).filter(|v| !v.trim().is_empty());
    match path {
        "/faults" => {
            let status = field("status").and_then(|s| s.trim().parse::<u16>().ok());
            let Some(status) = status else {
                return super::text(http::StatusCode::BAD_REQUEST, "status must be a number");
            };
            let mut fault = Fault::status(status);
            if let Some(after) = field("retry_after").and_then(|s| s.trim().parse().ok()) {
                fault = fault.retry_after(after);
            }
            if let Some(times) = field("times").and_then(|s| s.trim().parse().ok()) {
                fault = fault.times(times);
            }
            if let Some(prefix) = field("path") {
                fault = fault.on(prefix.trim());
            }
            if let Err(problem) = fault.check() {
                return super::text(http::StatusCode::BAD_REQUEST, &problem);
            }
            shared
                .faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(fault);
            redirect("/__emulator/ui/faults")
        }
        "/faults/clear" => {
            shared
                .faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            redirect("/__emulator/ui/faults")
        }
        "/reset" => {
            shared.state().reset();
            redirect("/__emulator/ui/faults")
        }
        _ => super::text(http::StatusCode::NOT_FOUND, "no such action"),
    }
}
