//! `/batch/*`: events, subscriber imports, transactional emails, broadcasts.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::Call;
use super::plan::off_plan;
use crate::config::Dialect;
use crate::reply::{
    self, Handled, Reply, bad, batch, email, object, opt_object, opt_string, string, tag_list,
};
use crate::shared::Shared;
use crate::state::{RecordedEvent, SentEmail, StoredEvent, now};

pub(super) fn events(call: &mut Call<'_>) -> Handled {
    let max = call.shared.config.max_events_per_request;
    batch(call.body.as_ref(), "events", max)?;
    // The body is moved into storage rather than copied: this is the endpoint
    // that sees the most traffic.
    let mut items = match call.body.take() {
        Some(Value::Object(mut root)) => match root.remove("events") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    // Validate the whole batch before storing any of it: a 400 means nothing was recorded.
    for (index, item) in items.iter().enumerate() {
        let path = format!("events[{index}]");
        let event = object(item, &path)?;
        string(event, "type", &path)?;
        email(event, "email", &path)?;
        opt_object(event, "fields", &path)?;
        opt_object(event, "details", &path)?;
        off_plan(call.shared, &path, |plan| plan.check_event(item))?;
        if let Some(date) = opt_string(event, "date", &path)?
            && !reply::is_date_time(date)
        {
            return Err(bad(format!(
                "{path}.date `{date}` is not an RFC 3339 date-time such as 2024-05-01T12:00:00Z"
            )));
        }
    }
    let received_at = now();
    let parsed: Vec<RecordedEvent> = items
        .iter_mut()
        .map(|item| {
            let mut event = match item.take() {
                Value::Object(event) => event,
                _ => Map::new(),
            };
            let mut text = |key: &str| match event.remove(key) {
                Some(Value::String(s)) => Some(s),
                _ => None,
            };
            let (event_type, email, date) = (text("type"), text("email"), text("date"));
            let mut map = |key: &str| match event.remove(key) {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            RecordedEvent {
                event_type: event_type.unwrap_or_default(),
                email: email.unwrap_or_default(),
                fields: map("fields"),
                details: map("details"),
                date,
                received_at: received_at.clone(),
            }
        })
        .collect();
    let count = parsed.len();
    let mut state = call.shared.state();
    for event in parsed {
        state.record_event(StoredEvent::from_record(event));
    }
    drop(state);
    Ok(events_accepted(call.shared, count))
}

fn events_accepted(shared: &Shared, count: usize) -> Reply {
    let body = match shared.config.dialect {
        Dialect::Live => json!({ "results": count, "failed": 0 }),
        Dialect::Spec => json!({ "results": count }),
    };
    Reply::ok(body).with_items(count)
}

/// A valid `/batch/events` body taken in without building a tree of values:
/// each event's `fields` and `details` are kept as the JSON text received.
/// `None` when the body is anything but valid, so that the general path
/// answers with its precise message and in its usual order of checks.
pub(crate) fn fast_events(
    shared: &Shared,
    query: Option<&str>,
    body: &[u8],
) -> Option<Result<Reply, Reply>> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        events: Vec<&'a RawValue>,
        #[serde(default)]
        site_uuid: Option<Cow<'a, str>>,
    }
    #[derive(Deserialize)]
    struct Item<'a> {
        #[serde(rename = "type", borrow)]
        event_type: Cow<'a, str>,
        #[serde(borrow)]
        email: Cow<'a, str>,
        #[serde(default, borrow)]
        fields: Option<&'a RawValue>,
        #[serde(default, borrow)]
        details: Option<&'a RawValue>,
        #[serde(default)]
        date: Option<String>,
    }
    // Checking the plan needs the values; the general path does it.
    if shared.config.plan.is_some() {
        return None;
    }
    let parsed: Body<'_> = serde_json::from_slice(body).ok()?;
    let max = shared.config.max_events_per_request;
    if parsed.events.is_empty() || parsed.events.len() > max {
        return None;
    }
    let object = |raw: Option<&RawValue>| -> Option<Option<Box<RawValue>>> {
        match raw.map(RawValue::get) {
            None | Some("null") => Some(None),
            Some(text) if text.starts_with('{') => Some(Some(raw?.to_owned())),
            Some(_) => None,
        }
    };
    let received_at = now();
    let mut events = Vec::with_capacity(parsed.events.len());
    for raw in &parsed.events {
        let item: Item<'_> = serde_json::from_str(raw.get()).ok()?;
        // Anything the general path would refuse, or store differently,
        // goes there: it answers with the precise message.
        let too_deep = [item.fields, item.details]
            .into_iter()
            .flatten()
            .any(|raw| reply::nesting(raw.get()) > reply::MAX_DEPTH);
        let bad_date = item
            .date
            .as_deref()
            .is_some_and(|d| !reply::is_date_time(d));
        if item.event_type.trim().is_empty()
            || !reply::is_email(&item.email)
            || too_deep
            || bad_date
        {
            return None;
        }
        events.push(StoredEvent {
            event_type: item.event_type.into_owned(),
            email: item.email.into_owned(),
            fields: object(item.fields)?,
            details: object(item.details)?,
            date: item.date,
            received_at: received_at.clone(),
        });
    }
    let admitted = crate::gate::site_uuid_value(query, parsed.site_uuid.as_deref(), &shared.config)
        .and_then(|()| crate::gate::admit(shared, "batch/events"));
    if let Err(refused) = admitted {
        return Some(Err(refused));
    }
    let count = events.len();
    let mut state = shared.state();
    for event in events {
        state.record_event(event);
    }
    drop(state);
    Some(Ok(events_accepted(shared, count)))
}

pub(super) fn subscribers(call: &Call<'_>) -> Handled {
    let items = batch(call.body.as_ref(), "subscribers", 1000)?;
    struct Import<'a> {
        email: &'a str,
        tags: Vec<&'a str>,
        remove_tags: Vec<&'a str>,
        fields: Map<String, Value>,
    }
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("subscribers[{index}]");
        let record = object(item, &path)?;
        let mut fields = Map::new();
        for (key, value) in record {
            match key.as_str() {
                "email" | "tags" | "remove_tags" | "site_uuid" => {}
                // The documented nested form: {"fields": {...}}
                "fields" => fields.extend(
                    opt_object(record, "fields", &path)?
                        .cloned()
                        .unwrap_or_default(),
                ),
                _ if value.is_null() => {}
                _ => {
                    fields.insert(key.clone(), value.clone());
                }
            }
        }
        // The spec's custom field values are scalars (or lists of them).
        if let Some((key, _)) = fields.iter().find(|(_, v)| v.is_object()) {
            return Err(bad(format!(
                "{path}.{key} is an object; a custom field holds a string, number, boolean or list"
            )));
        }
        off_plan(call.shared, &path, |plan| {
            plan.check_record(&Value::Object(fields.clone()))
        })?;
        parsed.push(Import {
            email: email(record, "email", &path)?,
            tags: opt_string(record, "tags", &path)?
                .map(|t| tag_list(t).collect())
                .unwrap_or_default(),
            remove_tags: opt_string(record, "remove_tags", &path)?
                .map(|t| tag_list(t).collect())
                .unwrap_or_default(),
            fields,
        });
    }
    let count = parsed.len();
    let records: Vec<crate::state::PendingImport> = parsed
        .into_iter()
        .map(|import| crate::state::PendingImport {
            email: import.email.to_owned(),
            tags: import.tags.into_iter().map(str::to_owned).collect(),
            remove_tags: import.remove_tags.into_iter().map(str::to_owned).collect(),
            fields: import.fields,
        })
        .collect();
    let mut state = call.shared.state();
    let delay = call.shared.config.import_delay;
    if delay.is_zero() {
        state.apply_imports(records);
    } else {
        // Live Bento processes imports in the background: accepted now,
        // visible later.
        state
            .pending_imports
            .push_back((std::time::Instant::now() + delay, records));
    }
    let body = match call.dialect() {
        Dialect::Live => json!({ "results": count, "failed": 0 }),
        Dialect::Spec => json!({ "result": count }),
    };
    Ok(Reply::ok(body).with_items(count))
}

fn check_author(call: &Call<'_>, from: &str) -> Result<(), Reply> {
    let allowed = &call.shared.config.authorized_senders;
    if allowed.is_empty() || allowed.iter().any(|a| a.eq_ignore_ascii_case(from)) {
        Ok(())
    } else {
        Err(bad("Author not authorized to send on this account"))
    }
}

pub(super) fn emails(call: &Call<'_>) -> Handled {
    let items = batch(call.body.as_ref(), "emails", 60)?;
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("emails[{index}]");
        let mail = object(item, &path)?;
        let from = email(mail, "from", &path)?;
        check_author(call, from)?;
        let transactional = match reply::member(mail, "transactional") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad(format!("{path}.transactional must be true or false"))),
        };
        parsed.push(SentEmail {
            to: email(mail, "to", &path)?.to_owned(),
            from: from.to_owned(),
            subject: string(mail, "subject", &path)?.to_owned(),
            html_body: string(mail, "html_body", &path)?.to_owned(),
            transactional,
            personalizations: match mail.get("personalizations") {
                // The spec's `personalizations` is an object, never null.
                Some(Value::Null) => {
                    return Err(bad(format!(
                        "{path}.personalizations is null; leave it out or send an object"
                    )));
                }
                _ => opt_object(mail, "personalizations", &path)?
                    .cloned()
                    .unwrap_or_default(),
            },
            cc: opt_string(mail, "cc", &path)?.map(str::to_owned),
            bcc: opt_string(mail, "bcc", &path)?.map(str::to_owned),
            sent_at: now(),
        });
    }
    let count = parsed.len();
    call.shared.state().emails.extend(parsed);
    Ok(Reply::ok(json!({ "results": count })).with_items(count))
}

/// Broadcasts per request: 15 in the 2026-08-22 spec (older sources said 100).
const BROADCASTS_PER_REQUEST: usize = 15;

/// Whether a broadcast's `approved` is set (`true`, or `1` as some SDKs send).
fn approved(broadcast: &Map<String, Value>) -> bool {
    match broadcast.get("approved") {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

/// Why Bento refuses one item of a valid request (answered inside the 200).
fn item_failure(broadcast: &Map<String, Value>) -> Option<String> {
    match broadcast.get("batch_size_per_hour") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| (10..=250_000).contains(&n)) => {}
        Some(_) => return Some("batch_size_per_hour must be between 10 and 250000".into()),
    }
    if approved(broadcast) && broadcast.get("send_at").is_none_or(Value::is_null) {
        return Some("send_at is required when approved is true".into());
    }
    None
}

pub(super) fn broadcasts(call: &Call<'_>) -> Handled {
    let items = batch(call.body.as_ref(), "broadcasts", BROADCASTS_PER_REQUEST)?;
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("broadcasts[{index}]");
        let broadcast = object(item, &path)?;
        let from = opt_object(broadcast, "from", &path)?
            .ok_or_else(|| bad(format!("{path}.from is required")))?;
        let sender = email(from, "email", &format!("{path}.from"))?;
        check_author(call, sender)?;
        let style = opt_string(broadcast, "type", &path)?.unwrap_or("plain");
        if !matches!(style, "plain" | "raw" | "layout" | "html" | "markdown") {
            return Err(bad(format!(
                "{path}.type must be plain, raw or layout (html and markdown are accepted too), not \"{style}\""
            )));
        }
        if style == "layout" && opt_string(broadcast, "layout_id", &path)?.is_none() {
            return Err(bad(format!("{path}.layout_id is required for type layout")));
        }
        parsed.push((
            string(broadcast, "name", &path)?.to_owned(),
            string(broadcast, "subject", &path)?.to_owned(),
            string(broadcast, "content", &path)?.to_owned(),
            broadcast.clone(),
        ));
    }
    let count = parsed.len();
    let mut state = call.shared.state();
    let mut created = Vec::with_capacity(count);
    let mut failures = Vec::new();
    for (index, (name, subject, content, original)) in parsed.into_iter().enumerate() {
        if let Some(error) = item_failure(&original) {
            failures.push(json!({ "index": index, "name": name, "error": error }));
            continue;
        }
        let template_id = state.new_template(&name, &subject, &content);
        let id = template_id + 1_000_000;
        // Created through the API: a draft, or scheduled once approved.
        let status = if approved(&original) {
            "scheduled"
        } else {
            "draft"
        };
        state.broadcasts.push(json!({
            "id": id.to_string(), "type": "broadcasts",
            "attributes": {
                "name": name, "share_url": format!("https://emulator.bento/broadcasts/{id}"),
                "template": {"template_id": template_id, "subject": subject, "to": "{{ visitor.email }}", "html": content},
                "created_at": now(),
                "status": status,
                "stats": {"recipients": 0, "total_opens": 0, "total_clicks": 0, "click_breakdown": {}, "unsubscribes": 0, "spam": 0}
            }
        }));
        // What was not given (an unsent broadcast's `send_at`) is left out, never `null`.
        if let Some(attributes) = state
            .broadcasts
            .last_mut()
            .and_then(|b| b.get_mut("attributes"))
            .and_then(Value::as_object_mut)
        {
            for key in ["send_at", "inclusive_tags"] {
                if let Some(value) = original.get(key).filter(|v| !v.is_null()) {
                    attributes.insert(key.into(), value.clone());
                }
            }
        }
        created.push(json!({ "id": id, "template_id": template_id, "name": name, "dashboard_url": format!("https://emulator.bento/broadcasts/{id}/edit") }));
    }
    let ok = created.len();
    let body = match call.dialect() {
        Dialect::Live => {
            json!({ "results": ok, "failed": failures.len(), "broadcasts": created, "failures": failures })
        }
        Dialect::Spec => json!({ "results": ok }),
    };
    Ok(Reply::ok(body).with_items(count))
}
