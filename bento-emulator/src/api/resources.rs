//! `/fetch/*` resources: tags, fields, broadcasts, form responses, sequences,
//! email templates and workflows.

use serde_json::{Value, json};

use super::plan::off_plan;
use super::{Call, numeric_id};
use crate::config::Dialect;
use crate::reply::{Handled, Reply, bad, not_found, object, opt_object, opt_string, string};
use crate::state::{State, Tag, Template};

fn tag_json(tag: &Tag) -> Value {
    json!({
        "id": tag.id.to_string(), "type": "tags",
        "attributes": { "name": tag.name, "created_at": tag.created_at, "discarded_at": tag.discarded_at }
    })
}

/// Created objects: `{"data": {...}}` live, `{"data": [{...}]}` as the spec's schema says.
fn created(call: &Call<'_>, object: Value) -> Reply {
    Reply::created(match call.dialect() {
        Dialect::Live => json!({ "data": object }),
        Dialect::Spec => json!({ "data": [object] }),
    })
}

fn nested<'c>(call: &'c Call<'_>, key: &str) -> Result<&'c serde_json::Map<String, Value>, Reply> {
    let body = call
        .body
        .as_ref()
        .ok_or_else(|| bad(format!("a JSON body with `{key}` is required")))?;
    opt_object(object(body, "body")?, key, "body")?
        .ok_or_else(|| bad(format!("`{key}` is required")))
}

pub(super) fn tags(call: &Call<'_>) -> Handled {
    let state = call.shared.state();
    let data: Vec<Value> = state
        .tags
        .iter()
        .filter(|t| t.discarded_at.is_none())
        .map(tag_json)
        .collect();
    Ok(Reply::ok(json!({ "data": data })))
}

pub(super) fn create_tag(call: &Call<'_>) -> Handled {
    let name = string(nested(call, "tag")?, "name", "tag")?;
    if name.contains(',') {
        return Err(bad("tag.name must not contain a comma"));
    }
    let mut state = call.shared.state();
    let id = state.tag_id(name.trim());
    let tag = state
        .tags
        .iter()
        .find(|t| t.id == id)
        .map(tag_json)
        .unwrap_or_default();
    Ok(created(call, tag))
}

/// `DELETE /fetch/tags/{id}`: the tag is found by `tag.name` in the body
/// (the 2026-08-22 spec; the path's id when there is no body, as older
/// clients send), and the call toggles: a deleted tag is restored.
pub(super) fn delete_tag(call: &Call<'_>, id: &str) -> Handled {
    let name = call
        .body
        .as_ref()
        .and_then(|b| b.get("tag"))
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut state = call.shared.state();
    let id = match &name {
        Some(name) => state
            .tags
            .iter()
            .find(|t| t.name == *name)
            .map(|t| t.id)
            .ok_or_else(|| not_found(format!("Tag ({name}) not found")))?,
        None => numeric_id("tag", id)?,
    };
    let Some(tag) = state.tags.iter().find(|t| t.id == id) else {
        return Err(not_found(format!("tag {id} not found")));
    };
    let (label, discarded) = (tag.name.clone(), tag.discarded_at.is_some());
    if discarded {
        state.restore_tag(id);
        Ok(Reply::ok(
            json!({ "message": format!("Tag ({label}) restored successfully") }),
        ))
    } else {
        state.delete_tag(id);
        Ok(Reply::ok(
            json!({ "message": format!("Tag ({label}) deleted successfully") }),
        ))
    }
}

fn field_json(state: &State, id: u64) -> Value {
    state
        .fields
        .iter()
        .find(|f| f.id == id)
        .map(|f| {
            let name = f.key.replace('_', " ");
            json!({
                "id": f.id.to_string(), "type": "visitors-fields",
                "attributes": { "name": name, "key": f.key, "whitelisted": null, "created_at": f.created_at }
            })
        })
        .unwrap_or_default()
}

pub(super) fn fields(call: &Call<'_>) -> Handled {
    let state = call.shared.state();
    let data: Vec<Value> = state
        .fields
        .iter()
        .map(|f| field_json(&state, f.id))
        .collect();
    Ok(Reply::ok(json!({ "data": data })))
}

pub(super) fn create_field(call: &Call<'_>) -> Handled {
    let key = string(nested(call, "field")?, "key", "field")?;
    off_plan(call.shared, "field", |plan| {
        plan.check_new_field(key.trim())
    })?;
    let mut state = call.shared.state();
    let id = state.field_id(key.trim());
    let field = field_json(&state, id);
    Ok(created(call, field))
}

/// Broadcasts per page of the list.
const BROADCASTS_PER_PAGE: usize = 10;

/// `GET /fetch/broadcasts`: one status (`sent` unless asked; an unknown
/// status falls back to `sent`, as Bento's does), ten per page.
pub(super) fn broadcasts(call: &Call<'_>) -> Handled {
    let status = match call.param("status").as_deref() {
        Some("draft" | "drafted") => "draft",
        Some("sending") => "sending",
        Some("scheduled") => "scheduled",
        Some("paused") => "paused",
        Some("canceled" | "cancelled") => "canceled",
        _ => "sent",
    };
    let page: usize = call
        .param("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let state = call.shared.state();
    let data: Vec<&Value> = state
        .broadcasts
        .iter()
        .filter(|b| b["attributes"]["status"].as_str().unwrap_or("sent") == status)
        .skip((page - 1) * BROADCASTS_PER_PAGE)
        .take(BROADCASTS_PER_PAGE)
        .collect();
    Ok(Reply::ok(json!({ "data": data })))
}

pub(super) fn form_responses(call: &Call<'_>) -> Handled {
    let form = call
        .param("id")
        .ok_or_else(|| bad("the `id` query parameter (the form's id) is required"))?;
    let state = call.shared.state();
    let data: Vec<Value> = state
        .form_responses
        .iter()
        .enumerate()
        .filter(|(_, (id, _))| *id == form)
        .map(|(index, (_, data))| json!({ "id": (index + 1).to_string(), "type": "form_responses", "attributes": { "data": data } }))
        .collect();
    Ok(Reply::ok(json!({ "data": data })))
}

fn template_json(template: &Template) -> Value {
    json!({
        "id": template.id.to_string(), "type": "email_templates",
        "attributes": {
            "name": template.name, "subject": template.subject, "html": template.html,
            "created_at": template.created_at, "stats": { "opened": 0, "clicked": 0 }
        }
    })
}

fn summaries(state: &State, ids: &[u64]) -> Vec<Value> {
    ids.iter()
        .filter_map(|id| state.templates.iter().find(|t| t.id == *id))
        .map(|t| json!({ "id": t.id, "subject": t.subject, "stats": { "opened": 0 } }))
        .collect()
}

/// Pages of 25, from 1.
fn page<T>(call: &Call<'_>, items: &[T]) -> Result<std::ops::Range<usize>, Reply> {
    let page: usize = match call.param("page") {
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad("`page` must be a whole number from 1"))?,
        None => 1,
    };
    let start = ((page - 1) * 25).min(items.len());
    Ok(start..(start + 25).min(items.len()))
}

pub(super) fn sequences(call: &Call<'_>) -> Handled {
    let state = call.shared.state();
    let range = page(call, &state.sequences)?;
    let data: Vec<Value> = state.sequences[range]
        .iter()
        .map(|s| {
            json!({
                "id": s.id.to_string(), "type": "sequences",
                "attributes": { "name": s.name, "created_at": s.created_at, "email_templates": summaries(&state, &s.template_ids) }
            })
        })
        .collect();
    Ok(Reply::ok(json!({ "data": data })))
}

pub(super) fn create_sequence_email(call: &Call<'_>, id: &str) -> Handled {
    let sequence_id = numeric_id("sequence", id)?;
    let template = nested(call, "email_template")?;
    let subject = string(template, "subject", "email_template")?;
    let html = string(template, "html", "email_template")?;
    if let Some(interval) = opt_string(template, "delay_interval", "email_template")?
        && !matches!(interval, "minutes" | "hours" | "days" | "months")
    {
        {
            return Err(bad(format!(
                "email_template.delay_interval must be minutes, hours, days or months, not `{interval}`"
            )));
        }
    }
    let mut state = call.shared.state();
    if !state.sequences.iter().any(|s| s.id == sequence_id) {
        return Err(not_found(format!("sequence {sequence_id} not found")));
    }
    let template_id = state.new_template(subject, subject, html);
    if let Some(sequence) = state.sequences.iter_mut().find(|s| s.id == sequence_id) {
        sequence.template_ids.push(template_id);
    }
    let body = state
        .templates
        .iter()
        .find(|t| t.id == template_id)
        .map(template_json)
        .unwrap_or_default();
    Ok(Reply::created(json!({ "data": body })))
}

pub(super) fn template(call: &Call<'_>, id: &str) -> Handled {
    let id = numeric_id("email template", id)?;
    let state = call.shared.state();
    let template = state
        .templates
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| not_found(format!("email template {id} not found")))?;
    Ok(Reply::ok(json!({ "data": template_json(template) })))
}

pub(super) fn update_template(call: &Call<'_>, id: &str) -> Handled {
    let id = numeric_id("email template", id)?;
    let changes = nested(call, "email_template")?;
    let subject = opt_string(changes, "subject", "email_template")?.map(str::to_owned);
    let html = opt_string(changes, "html", "email_template")?.map(str::to_owned);
    if subject.is_none() && html.is_none() {
        return Err(bad("email_template must change `subject` and/or `html`"));
    }
    let mut state = call.shared.state();
    let template = state
        .template_mut(id)
        .ok_or_else(|| not_found(format!("email template {id} not found")))?;
    if let Some(subject) = subject {
        template.subject = subject;
    }
    if let Some(html) = html {
        template.html = html;
    }
    Ok(Reply::ok(json!({ "data": template_json(template) })))
}

pub(super) fn workflows(call: &Call<'_>) -> Handled {
    let state = call.shared.state();
    let range = page(call, &state.workflows)?;
    let data: Vec<Value> = state.workflows[range]
        .iter()
        .map(|w| {
            json!({
                "id": w.id.to_string(), "type": "workflows",
                "attributes": {
                    "name": w.name, "status": w.status, "created_at": w.created_at,
                    "email_templates": summaries(&state, &w.template_ids)
                }
            })
        })
        .collect();
    Ok(Reply::ok(json!({ "data": data })))
}
