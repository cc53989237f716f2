//! `/fetch/commands`: the eight subscriber commands.

use serde_json::{Map, Value, json};

use super::Call;
use super::plan::off_plan;
use super::subscribers::render;
use crate::config::Dialect;
use crate::reply::{Handled, Reply, bad, email, is_email, member, object, string};
use crate::state::{RecordedEvent, State, StoredEvent, now};

enum Op {
    AddTag(String),
    AddTagViaEvent(String),
    RemoveTag(String),
    AddField(String, Value),
    RemoveField(String),
    Subscribe,
    Unsubscribe,
    ChangeEmail(String),
}

fn parse(command: &Map<String, Value>, path: &str) -> Result<(String, Op), Reply> {
    let name = string(command, "command", path)?;
    let address = email(command, "email", path)?.to_owned();
    let query_string = || match member(command, "query") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(_) => Err(bad(format!(
            "{path}.query must be a non-empty string for {name}"
        ))),
        None => Err(bad(format!("{path}.query is required for {name}"))),
    };
    let op = match name {
        "add_tag" => Op::AddTag(query_string()?),
        "add_tag_via_event" => Op::AddTagViaEvent(query_string()?),
        "remove_tag" => Op::RemoveTag(query_string()?),
        "add_field" => {
            let query = member(command, "query")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    bad(format!(
                        "{path}.query must be {{\"key\": ..., \"value\": ...}} for add_field"
                    ))
                })?;
            let key = string(query, "key", &format!("{path}.query"))?.to_owned();
            Op::AddField(key, query.get("value").cloned().unwrap_or(Value::Null))
        }
        "remove_field" => Op::RemoveField(query_string()?),
        "subscribe" => Op::Subscribe,
        "unsubscribe" => Op::Unsubscribe,
        "change_email" => {
            let new = query_string()?;
            if !is_email(&new) {
                return Err(bad(format!(
                    "{path}.query `{new}` is not a valid email address"
                )));
            }
            Op::ChangeEmail(new)
        }
        other => {
            return Err(bad(format!(
                "{path}.command `{other}` is unknown; use add_tag, add_tag_via_event, remove_tag, add_field, \
                 remove_field, subscribe, unsubscribe or change_email"
            )));
        }
    };
    Ok((address, op))
}

/// The command as the web UI's timeline shows it.
fn describe(op: &Op) -> String {
    match op {
        Op::AddTag(tag) => format!("add_tag {tag}"),
        Op::AddTagViaEvent(tag) => format!("add_tag_via_event {tag}"),
        Op::RemoveTag(tag) => format!("remove_tag {tag}"),
        Op::AddField(key, value) => format!("add_field {key} = {value}"),
        Op::RemoveField(key) => format!("remove_field {key}"),
        Op::Subscribe => "subscribe".to_owned(),
        Op::Unsubscribe => "unsubscribe".to_owned(),
        Op::ChangeEmail(new) => format!("change_email to {new}"),
    }
}

/// Applies one command; `false` when it could not be (change_email to a taken address).
fn apply(state: &mut State, address: &str, op: Op) -> (usize, bool) {
    let index = state.upsert(address);
    let ok = match op {
        Op::AddTag(tag) => {
            state.add_tag(index, &tag);
            true
        }
        Op::AddTagViaEvent(tag) => {
            let mut details = Map::new();
            details.insert("tag".into(), Value::String(tag));
            state.record_event(StoredEvent::from_record(RecordedEvent {
                event_type: "$tag".into(),
                email: address.to_owned(),
                fields: Map::new(),
                details,
                date: None,
                received_at: now(),
            }));
            true
        }
        Op::RemoveTag(tag) => {
            state.remove_tag(index, &tag);
            true
        }
        Op::AddField(key, value) => {
            let mut fields = Map::new();
            fields.insert(key, value);
            state.set_fields(index, &fields);
            true
        }
        Op::RemoveField(key) => {
            state.remove_field(index, &key);
            true
        }
        Op::Subscribe => {
            state.set_subscribed(index, true);
            true
        }
        Op::Unsubscribe => {
            state.set_subscribed(index, false);
            true
        }
        Op::ChangeEmail(new) => state.change_email(index, &new),
    };
    (index, ok)
}

pub(super) fn run(call: &Call<'_>) -> Handled {
    let body = call
        .body
        .as_ref()
        .ok_or_else(|| bad("a JSON body with `command` is required"))?;
    let body = object(body, "body")?;
    // Documented as an array; the multi-query guide sends a single object.
    let commands: Vec<&Value> = match member(body, "command") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(Value::Array(_)) => return Err(bad("`command` must contain at least one command")),
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => return Err(bad("`command` must be an array of command objects")),
        None => return Err(bad("`command` is required")),
    };
    let mut parsed = Vec::with_capacity(commands.len());
    for (index, command) in commands.iter().enumerate() {
        let path = format!("command[{index}]");
        let parsed_command = parse(object(command, &path)?, &path)?;
        // Nothing of the request is applied when one command is off the plan.
        off_plan(call.shared, &path, |plan| plan.check_command(command))?;
        parsed.push(parsed_command);
    }
    let count = parsed.len();
    let mut state = call.shared.state();
    let (mut failed, mut last) = (0, None);
    for (address, op) in parsed {
        state.log_command(&address, describe(&op));
        let (index, ok) = apply(&mut state, &address, op);
        failed += usize::from(!ok);
        last = Some(index);
    }
    let subscriber = last.map(|index| render(&state.subscribers[index], call.dialect(), false));
    let body = match call.dialect() {
        Dialect::Live => json!({ "results": count - failed, "failed": failed }),
        Dialect::Spec => json!({ "data": subscriber }),
    };
    Ok(Reply::ok(body).with_items(count))
}
