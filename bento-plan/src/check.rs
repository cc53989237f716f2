//! Checking an event or a subscriber record, as JSON, against the plan: what
//! the client does at `track` time and the emulator on every request.
#![cfg(feature = "json")]

use serde_json::{Map, Value};

use crate::parse::did_you_mean;
use crate::{Kind, Plan, Spec};

/// How an event or record is off the plan. The message names the event type,
/// field or key, and the plan's closest name when one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// The plan does not declare the event type.
    #[error("event type `{event}` is not in the tracking plan{}", did_you_mean(suggestion.as_deref()))]
    UnknownEvent {
        /// The type sent.
        event: String,
        /// The plan's closest event type.
        suggestion: Option<String>,
    },
    /// A profile field the plan's `[fields]` does not declare.
    #[error("field `{field}` is not in the tracking plan's [fields]{}", did_you_mean(suggestion.as_deref()))]
    UnknownField {
        /// The field sent.
        field: String,
        /// The plan's closest field.
        suggestion: Option<String>,
    },
    /// A declared field the event's `fields` list leaves out.
    #[error(
        "event `{event}` may not write field `{field}`: add it to the event's `fields` in the tracking plan"
    )]
    FieldNotListed {
        /// The event type.
        event: String,
        /// The field sent.
        field: String,
    },
    /// A details key the event does not declare.
    #[error("event `{event}` has no detail `{key}` in the tracking plan{}", did_you_mean(suggestion.as_deref()))]
    UnknownDetail {
        /// The event type.
        event: String,
        /// The key sent.
        key: String,
        /// The closest declared detail.
        suggestion: Option<String>,
    },
    /// A declared, non-optional detail is missing.
    #[error(
        "event `{event}` is missing detail `{key}`, which the tracking plan requires (write `{key} = \"{spec}?\"` in the plan if it may be left out)"
    )]
    MissingDetail {
        /// The event type.
        event: String,
        /// The key the plan requires.
        key: String,
        /// Its declared kind.
        spec: Spec,
    },
    /// A value whose JSON kind is not the declared one.
    #[error("`{at}` is {found}, but the tracking plan says {expected}")]
    WrongKind {
        /// Where: `fields.seats` or `details.source`.
        at: String,
        /// The declared kind.
        expected: Spec,
        /// What was sent (`a string`, `null`, ..).
        found: &'static str,
    },
}

/// Keys of an import record that are not custom fields.
const RECORD_KEYS: [&str; 3] = ["email", "tags", "remove_tags"];

impl Plan {
    /// Checks one event as Bento receives it (`{"type", "email", "fields",
    /// "details", "date"}`), returning every way it is off the plan.
    pub fn check_event(&self, event: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let Some(name) = event.get("type").and_then(Value::as_str) else {
            return out;
        };
        let Some(planned) = self.event(name) else {
            out.push(Violation::UnknownEvent {
                event: name.to_owned(),
                suggestion: self.suggest_event(name).map(str::to_owned),
            });
            return out;
        };
        if let Some(fields) = event.get("fields").and_then(Value::as_object) {
            for (field, value) in fields {
                match self.field(field) {
                    None => out.push(Violation::UnknownField {
                        field: field.clone(),
                        suggestion: self.suggest_field(field).map(str::to_owned),
                    }),
                    Some(_) if !planned.allows_field(field) => {
                        out.push(Violation::FieldNotListed {
                            event: name.to_owned(),
                            field: field.clone(),
                        });
                    }
                    Some(spec) => kind(&format!("fields.{field}"), spec, value, &mut out),
                }
            }
        }
        if planned.declares_details() {
            let empty = Map::new();
            let details = event
                .get("details")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            for (key, value) in details {
                match planned.detail(key) {
                    None => out.push(Violation::UnknownDetail {
                        event: name.to_owned(),
                        key: key.clone(),
                        suggestion: planned.suggest_detail(key).map(str::to_owned),
                    }),
                    Some(spec) => kind(&format!("details.{key}"), spec, value, &mut out),
                }
            }
            for (key, spec) in planned.details() {
                if !spec.optional && !details.contains_key(key) {
                    out.push(Violation::MissingDetail {
                        event: name.to_owned(),
                        key: key.to_owned(),
                        spec,
                    });
                }
            }
        }
        out
    }

    /// Checks one subscriber import record (`{"email", "tags", .., custom
    /// fields}`): every custom field declared, with its kind.
    pub fn check_record(&self, record: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let Some(record) = record.as_object() else {
            return out;
        };
        for (field, value) in record {
            if RECORD_KEYS.contains(&field.as_str()) {
                continue;
            }
            match self.field(field) {
                None => out.push(Violation::UnknownField {
                    field: field.clone(),
                    suggestion: self.suggest_field(field).map(str::to_owned),
                }),
                Some(spec) => kind(field, spec, value, &mut out),
            }
        }
        out
    }
}

fn kind(at: &str, spec: Spec, value: &Value, out: &mut Vec<Violation>) {
    let matches = match (spec.kind, value) {
        (_, Value::Null) => spec.optional,
        (Kind::String | Kind::Date, Value::String(_)) => true,
        (Kind::Number, Value::Number(_)) => true,
        (Kind::Boolean, Value::Bool(_)) => true,
        (Kind::Object, Value::Object(_)) => true,
        (Kind::Array, Value::Array(_)) => true,
        _ => false,
    };
    if !matches {
        out.push(Violation::WrongKind {
            at: at.to_owned(),
            expected: spec,
            found: match value {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        Plan::parse(
            r#"
[fields]
first_name = "string"
plan = "string"
seats = "number"

[events."account.signup"]
fields = ["first_name", "plan"]
details = { source = "string", referrer = "string?" }

[events."free.form"]
"#,
        )
        .unwrap()
    }

    #[test]
    fn a_planned_event_passes_and_every_drift_is_named() {
        let plan = plan();
        let good = json!({"type": "account.signup", "email": "a@b.co",
            "fields": {"first_name": "Ada"}, "details": {"source": "ad"}});
        assert_eq!(plan.check_event(&good), []);
        let typo = json!({"type": "acount.signup", "email": "a@b.co"});
        assert_eq!(
            plan.check_event(&typo)[0].to_string(),
            "event type `acount.signup` is not in the tracking plan (did you mean `account.signup`?)"
        );
        let bad = json!({"type": "account.signup", "email": "a@b.co",
            "fields": {"frist_name": "Ada", "seats": 3, "plan": 7},
            "details": {"sourse": "ad", "referrer": null}});
        let shown: Vec<String> = plan
            .check_event(&bad)
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "field `frist_name` is not in the tracking plan's [fields] (did you mean `first_name`?)",
                "`fields.plan` is a number, but the tracking plan says string",
                "event `account.signup` may not write field `seats`: add it to the event's `fields` in the tracking plan",
                "event `account.signup` has no detail `sourse` in the tracking plan (did you mean `source`?)",
                "event `account.signup` is missing detail `source`, which the tracking plan requires (write `source = \"string?\"` in the plan if it may be left out)",
            ]
        );
        let free = json!({"type": "free.form", "email": "a@b.co", "details": {"any": 1}});
        assert_eq!(plan.check_event(&free), []);
    }

    #[test]
    fn records_are_held_to_the_fields() {
        let plan = plan();
        assert_eq!(
            plan.check_record(&json!({"email": "a@b.co", "tags": "x", "seats": 2})),
            []
        );
        let shown: Vec<String> = plan
            .check_record(&json!({"email": "a@b.co", "seats": "two", "nickname": "A"}))
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "field `nickname` is not in the tracking plan's [fields]",
                "`seats` is a string, but the tracking plan says number",
            ]
        );
    }
}
