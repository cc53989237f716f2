//! `/fetch/subscribers` and `/fetch/search`.

use serde_json::{Map, Value, json};

use super::Call;
use super::plan::off_plan;
use crate::config::Dialect;
use crate::reply::{
    Handled, Reply, bad, email, is_email, member, object, opt_object, opt_string, tag_list,
};
use crate::state::Subscriber;

/// A subscriber as the API shows it, in the configured dialect.
pub(super) fn render(
    subscriber: &Subscriber,
    dialect: Dialect,
    with_search_members: bool,
) -> Value {
    let fields = match (dialect, subscriber.fields.is_empty()) {
        (Dialect::Spec, true) => Value::Null,
        _ => Value::Object(subscriber.fields.clone()),
    };
    let mut attributes = json!({
        "uuid": subscriber.uuid,
        "email": subscriber.email,
        "fields": fields,
        "cached_tag_ids": subscriber.tag_ids.iter().map(u64::to_string).collect::<Vec<_>>(),
    });
    if with_search_members || dialect == Dialect::Live {
        attributes["unsubscribed_at"] = subscriber
            .unsubscribed_at
            .clone()
            .map_or(Value::Null, Value::String);
    }
    if with_search_members {
        attributes["navigation_url"] =
            Value::String(format!("https://emulator.bento/visitors/{}", subscriber.id));
    }
    json!({ "id": subscriber.id.to_string(), "type": "visitors", "attributes": attributes })
}

pub(super) fn find(call: &Call<'_>) -> Handled {
    let state = call.shared.state();
    let index = match (call.param("email"), call.param("uuid")) {
        (Some(address), _) => {
            if !is_email(&address) {
                return Err(bad(format!(
                    "email `{address}` is not a valid email address"
                )));
            }
            state.find(&address)
        }
        (None, Some(uuid)) => state.find_uuid(&uuid),
        (None, None) => return Err(bad("pass `email` or `uuid` as a query parameter")),
    };
    Ok(Reply::ok(match index {
        Some(index) => json!({ "data": render(&state.subscribers[index], call.dialect(), false) }),
        None => match call.dialect() {
            Dialect::Live => json!({}),
            Dialect::Spec => json!({ "data": null }),
        },
    }))
}

pub(super) fn create(call: &Call<'_>) -> Handled {
    let body = call
        .body
        .as_ref()
        .ok_or_else(|| bad("a JSON body with `subscriber` is required"))?;
    let body = object(body, "body")?;
    // Documented: {"subscriber": {...}}; the multi-query guide posts {"email": ...}.
    let (record, path) = match opt_object(body, "subscriber", "body")? {
        Some(record) => (record, "subscriber"),
        None => (body, "body"),
    };
    let address = email(record, "email", path)?;
    let mut fields = opt_object(record, "fields", path)?
        .cloned()
        .unwrap_or_default();
    for key in ["first_name", "last_name"] {
        if let Some(value) = opt_string(record, key, path)? {
            fields.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    let tags: Vec<String> = opt_string(record, "tags", path)?
        .map(|t| tag_list(t).map(str::to_owned).collect())
        .unwrap_or_default();
    off_plan(call.shared, path, |plan| {
        plan.check_record(&Value::Object(fields.clone()))
    })?;
    let mut state = call.shared.state();
    let index = state.upsert(address);
    state.set_fields(index, &fields);
    for tag in &tags {
        state.add_tag(index, tag);
    }
    Ok(Reply::created(
        json!({ "data": render(&state.subscribers[index], call.dialect(), false) }),
    ))
}

fn range<'a>(
    filters: &'a Map<String, Value>,
    key: &str,
) -> Result<(Option<&'a str>, Option<&'a str>), Reply> {
    let Some(range) = opt_object(filters, key, "body")? else {
        return Ok((None, None));
    };
    let path = format!("body.{key}");
    let bounds = (
        opt_string(range, "gt", &path)?,
        opt_string(range, "lt", &path)?,
    );
    // The spec's bound has `gt`, `lt` or both: an empty one selects nothing
    // meaningful, and Bento refuses it.
    if bounds == (None, None) {
        return Err(crate::reply::bad(format!(
            "{path} needs `gt`, `lt` or both"
        )));
    }
    Ok(bounds)
}

fn within(value: Option<&str>, (gt, lt): (Option<&str>, Option<&str>)) -> bool {
    if gt.is_none() && lt.is_none() {
        return true;
    }
    // RFC 3339 timestamps in UTC sort as text.
    value.is_some_and(|v| gt.is_none_or(|g| v > g) && lt.is_none_or(|l| v < l))
}

/// The search's filters from both documented forms: the older spec's JSON
/// body, and the newer one's query (`page`, `tags`, `tag_ids`,
/// `segment_id`, `created_at[gt]`...), the query winning.
fn search_filters(call: &Call<'_>) -> Result<Map<String, Value>, Reply> {
    let mut filters = match call.body.as_ref() {
        Some(body) => object(body, "body")?.clone(),
        None => Map::new(),
    };
    let query = call.query;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let (key, value) = (key.into_owned(), value.into_owned());
        if let Some((name, bound)) = key
            .strip_suffix(']')
            .and_then(|k| k.split_once('['))
            .map(|(n, b)| (n.to_owned(), b.to_owned()))
        {
            let range = filters
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(range) = range {
                range.insert(bound, Value::String(value));
            }
            continue;
        }
        match key.as_str() {
            "page" => {
                let page = value
                    .parse::<u64>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| bad("page must be a whole number from 1"))?;
                filters.insert(key, json!(page));
            }
            "tags" | "tags[]" | "tag_ids" | "tag_ids[]" => {
                let list = filters
                    .entry(key.trim_end_matches("[]").to_owned())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.extend(value.split(',').map(|v| json!(v.trim())));
                }
            }
            "segment_id" => {
                filters.insert(key, Value::String(value));
            }
            _ => {}
        }
    }
    Ok(filters)
}

fn strings(filters: &Map<String, Value>, key: &str) -> Vec<String> {
    filters
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn search(call: &Call<'_>) -> Handled {
    let filters = &search_filters(call)?;
    let page = match member(filters, "page") {
        Some(page) => page
            .as_u64()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad("body.page must be a whole number from 1"))?,
        None => call.param("page").and_then(|p| p.parse().ok()).unwrap_or(1),
    } as usize;
    let created = range(filters, "created_at")?;
    let updated = range(filters, "updated_at")?;
    let unsubscribed = range(filters, "unsubscribed_at")?;
    let last_event = range(filters, "last_event_at")?;
    let tags = strings(filters, "tags");
    let tag_ids = strings(filters, "tag_ids");
    let state = call.shared.state();
    let segment = match filters.get("segment_id") {
        Some(id) => {
            let id = id
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| id.to_string());
            let found = state
                .segments
                .iter()
                .find(|s| s.id.to_string() == id)
                .ok_or_else(|| bad(format!("segment_id {id} is not a segment of this site")))?;
            Some(state.segment_members(found))
        }
        None => None,
    };
    let tag_name = |id: u64| {
        state
            .tags
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let matches: Vec<Value> = state
        .subscribers
        .iter()
        .enumerate()
        .filter(|(index, s)| {
            let names: Vec<String> = s.tag_ids.iter().map(|id| tag_name(*id)).collect();
            tags.iter()
                .all(|tag| names.iter().any(|n| n.eq_ignore_ascii_case(tag)))
                && tag_ids
                    .iter()
                    .all(|id| s.tag_ids.iter().any(|t| t.to_string() == *id))
                && segment
                    .as_ref()
                    .is_none_or(|members| members.contains(index))
        })
        .map(|(_, s)| s)
        .filter(|s| {
            let last = state
                .events
                .iter()
                .rev()
                .find(|e| e.email.eq_ignore_ascii_case(&s.email))
                .map(|e| e.received_at.as_str());
            within(Some(&s.created_at), created)
                && within(Some(&s.created_at), updated)
                && within(s.unsubscribed_at.as_deref(), unsubscribed)
                && within(last, last_event)
        })
        .rev()
        .skip((page - 1) * 100)
        .take(100)
        .map(|s| render(s, call.dialect(), true))
        .collect();
    Ok(Reply::ok(
        json!({ "data": matches, "meta": { "page": page, "query": filters } }),
    ))
}
