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
    #[error("event `{event}` has no detail `{key}` in the tracking plan{}", detail_fix(suggestion.as_deref()))]
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
    /// A `date` value that is not a date.
    #[error(
        "`{at}` is `{value}`, which is not a date, but the tracking plan says date (write it as \
         2026-12-06 or 2026-12-06T09:30:00Z)"
    )]
    NotADate {
        /// Where: `fields.renews_on` or `details.when`.
        at: String,
        /// What was sent.
        value: String,
    },
    /// `add_tag_via_event` creates a `$tag` event, which the plan does not declare.
    #[error(
        "`add_tag_via_event` creates a `$tag` event, which is not in the tracking plan: declare \
         [events.\"$tag\"] in the plan, or use `add_tag`, which creates no event"
    )]
    TagEventNotPlanned,
    /// A value whose JSON kind is not the declared one.
    #[error(
        "`{at}` is {found}, but the tracking plan says {expected}{}",
        kind_fix(*expected, found)
    )]
    WrongKind {
        /// Where: `fields.seats` or `details.source`.
        at: String,
        /// The declared kind.
        expected: Spec,
        /// What was sent (`a string`, `null`, ..).
        found: &'static str,
    },
}

/// The closest declared detail, or how to declare this one.
fn detail_fix(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(_) => did_you_mean(suggestion),
        None => " (declare it in the event's `details` in the plan, or leave it out)".to_owned(),
    }
}

/// How to fix a value of the wrong kind, when the fix is plain.
fn kind_fix(expected: Spec, found: &str) -> String {
    match (expected.kind, found) {
        (_, "null") if !expected.optional => format!(
            " (leave the key out, or write `\"{}?\"` in the plan if it may be null)",
            expected.kind.name()
        ),
        (Kind::String | Kind::Date, "a number" | "a boolean") => {
            " (send it as a string, or change its kind in the plan)".to_owned()
        }
        (Kind::Number, "a string") => {
            " (send a number, not text, or change its kind in the plan)".to_owned()
        }
        _ => " (change the value, or its kind in the plan)".to_owned(),
    }
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

    /// Checks one subscriber command as Bento receives it (`{"command",
    /// "email", "query"}`): `add_field` and `remove_field` name a declared
    /// field (and `add_field`'s value has its kind); `add_tag_via_event`
    /// creates a `$tag` event, which the plan must declare.
    pub fn check_command(&self, command: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let query = command.get("query");
        match command.get("command").and_then(Value::as_str) {
            Some("add_field") => {
                let Some(key) = query.and_then(|q| q.get("key")).and_then(Value::as_str) else {
                    return out;
                };
                match self.field(key) {
                    None => out.push(self.unknown_field(key)),
                    Some(spec) => {
                        if let Some(value) = query.and_then(|q| q.get("value")) {
                            kind(&format!("fields.{key}"), spec, value, &mut out);
                        }
                    }
                }
            }
            Some("remove_field") => {
                if let Some(key) = query.and_then(Value::as_str)
                    && self.field(key).is_none()
                {
                    out.push(self.unknown_field(key));
                }
            }
            Some("add_tag_via_event") if self.event("$tag").is_none() => {
                out.push(Violation::TagEventNotPlanned);
            }
            _ => {}
        }
        out
    }

    /// Checks the key of a custom field about to be created: it must be one
    /// the plan declares.
    pub fn check_new_field(&self, key: &str) -> Vec<Violation> {
        if self.field(key).is_some() {
            Vec::new()
        } else {
            vec![self.unknown_field(key)]
        }
    }

    fn unknown_field(&self, field: &str) -> Violation {
        Violation::UnknownField {
            field: field.to_owned(),
            suggestion: self.suggest_field(field).map(str::to_owned),
        }
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
    if let (Kind::Date, Value::String(text)) = (spec.kind, value)
        && !is_date(text)
    {
        out.push(Violation::NotADate {
            at: at.to_owned(),
            value: text.chars().take(64).collect(),
        });
        return;
    }
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

/// Whether `text` is an ISO 8601 date (`2026-12-06`) or date-time
/// (`2026-12-06T09:30:00Z`, with a space instead of `T`, seconds and their
/// fraction optional, and `Z` or an offset optional), with a real day.
pub(crate) fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = bytes.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    let rest = &text[10..];
    if rest.is_empty() {
        return true;
    }
    let Some(time) = rest.strip_prefix(['T', 't', ' ']) else {
        return false;
    };
    let tb = time.as_bytes();
    let two = |at: usize| -> Option<u32> {
        let part = tb.get(at..at + 2)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| u32::from(part[0] - b'0') * 10 + u32::from(part[1] - b'0'))
    };
    let (Some(hour), Some(minute)) = (two(0), two(3)) else {
        return false;
    };
    if tb.get(2) != Some(&b':') || hour > 23 || minute > 59 {
        return false;
    }
    let mut at = 5;
    if tb.get(at) == Some(&b':') {
        match two(at + 1) {
            Some(second) if second <= 60 => at += 3,
            _ => return false,
        }
        if tb.get(at) == Some(&b'.') {
            let fraction = tb[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if fraction == 0 {
                return false;
            }
            at += 1 + fraction;
        }
    }
    match &time[at..] {
        "" | "Z" | "z" => true,
        zone => {
            let zb = zone.as_bytes();
            let sign = matches!(zb.first(), Some(b'+' | b'-'));
            let hh = zb
                .get(1..3)
                .is_some_and(|p| p.iter().all(u8::is_ascii_digit));
            let mm = match zb.len() {
                6 => zb[3] == b':' && zb[4..6].iter().all(u8::is_ascii_digit),
                5 => zb[3..5].iter().all(u8::is_ascii_digit),
                3 => true,
                _ => false,
            };
            sign && hh && mm
        }
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
                "`fields.plan` is a number, but the tracking plan says string (send it as a string, or change its kind in the plan)",
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
                "`seats` is a string, but the tracking plan says number (send a number, not text, or change its kind in the plan)",
            ]
        );
    }

    #[test]
    fn dates_are_checked_as_dates() {
        for good in [
            "2026-12-06",
            "2024-02-29",
            "2026-12-06T09:30:00Z",
            "2026-12-06 09:30",
            "2026-12-06T09:30:00.123+01:00",
            "2026-12-06T09:30:00-0500",
            "2026-12-06T23:59:60Z",
        ] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "whenever",
            "",
            "2026-13-01",
            "2025-02-29",
            "2026-12-6",
            "2026-12-06T25:00",
            "2026-12-06T09:30:00.Z",
            "2026-12-06T09:30Zulu",
            "12/06/2026",
            "2026-12-06é",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        let plan = Plan::parse("[fields]\nrenews_on = \"date\"\n").unwrap();
        let shown: Vec<String> = plan
            .check_record(&json!({"email": "a@b.co", "renews_on": "whenever"}))
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "`renews_on` is `whenever`, which is not a date, but the tracking plan says date (write it as 2026-12-06 or 2026-12-06T09:30:00Z)"
            ]
        );
        assert_eq!(plan.check_record(&json!({"renews_on": "2026-12-06"})), []);
    }

    #[test]
    fn commands_and_new_fields_are_held_to_the_fields() {
        let plan = plan();
        let shown = |command: serde_json::Value| -> Vec<String> {
            plan.check_command(&command)
                .iter()
                .map(|v| v.to_string())
                .collect()
        };
        assert_eq!(
            shown(
                json!({"command": "add_field", "email": "a@b.co", "query": {"key": "frist_name", "value": "Ada"}})
            ),
            [
                "field `frist_name` is not in the tracking plan's [fields] (did you mean `first_name`?)"
            ]
        );
        assert_eq!(
            shown(
                json!({"command": "add_field", "email": "a@b.co", "query": {"key": "seats", "value": "two"}})
            ),
            [
                "`fields.seats` is a string, but the tracking plan says number (send a number, not text, or change its kind in the plan)"
            ]
        );
        assert!(shown(json!({"command": "add_field", "email": "a@b.co", "query": {"key": "seats", "value": 2}})).is_empty());
        assert_eq!(
            shown(json!({"command": "remove_field", "email": "a@b.co", "query": "frist_name"}))
                .len(),
            1
        );
        assert!(
            shown(json!({"command": "remove_field", "email": "a@b.co", "query": "plan"}))
                .is_empty()
        );
        assert!(shown(json!({"command": "add_tag", "email": "a@b.co", "query": "vip"})).is_empty());
        assert_eq!(
            shown(json!({"command": "add_tag_via_event", "email": "a@b.co", "query": "vip"})),
            [
                "`add_tag_via_event` creates a `$tag` event, which is not in the tracking plan: declare [events.\"$tag\"] in the plan, or use `add_tag`, which creates no event"
            ]
        );
        assert_eq!(plan.check_new_field("frist_name").len(), 1);
        assert!(plan.check_new_field("first_name").is_empty());
    }
}
