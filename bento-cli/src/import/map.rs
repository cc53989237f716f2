//! Mapping rows onto Bento's records: CSV columns by their names (with
//! `--map` renames), JSON Lines objects by their members; every item checked
//! exactly as the client will check it before sending.

use std::sync::Arc;

use bento_core::plan::Plan;
use bento_core::{Encoded, Event, SubscriberImport};
use serde_json::{Map, Value};

use super::Kind;
use super::read::capped;
use crate::failure::Failure;

/// A checked record, and the size of its JSON in a request body.
pub(crate) struct Item {
    pub(crate) record: Record,
    pub(crate) size: usize,
}

pub(crate) enum Record {
    Subscriber(SubscriberImport),
    Event(Event),
}

/// Checks a record exactly as the client will before sending it, the
/// tracking plan included.
fn checked(record: Record, plan: Option<&Plan>) -> Result<Item, String> {
    let encoded = match &record {
        Record::Subscriber(subscriber) => Encoded::subscriber(subscriber),
        Record::Event(event) => Encoded::event(event),
    };
    let encoded = encoded.map_err(|error| error.to_string())?;
    if let Some(plan) = plan {
        encoded
            .check_plan(plan)
            .map_err(|error| error.to_string())?;
    }
    Ok(Item {
        size: encoded.json().len(),
        record,
    })
}

/// How a JSON Lines row is read.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonOptions {
    /// Tags added to every subscriber.
    pub(crate) extra_tags: Vec<String>,
    /// Keys are sent as written, outside Bento's key rule.
    pub(crate) verbatim_keys: bool,
    /// The tracking plan rows are held to.
    pub(crate) plan: Option<Arc<Plan>>,
}

pub(crate) fn json_item(kind: Kind, text: &str, options: &JsonOptions) -> Result<Item, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut object) = value else {
        return Err("expected a JSON object".into());
    };
    let mut take_str = |key: &str| match object.remove(key) {
        Some(Value::String(text)) => Ok(Some(text)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(format!("`{key}` must be a string, not {other}")),
    };
    match kind {
        Kind::Events => {
            let event_type = take_str("type")?.ok_or("`type` is missing")?;
            let email = take_str("email")?.ok_or("`email` is missing")?;
            let date = take_str("date")?;
            let mut event = Event::new(event_type, email);
            for (member, is_fields) in [("fields", true), ("details", false)] {
                match object.remove(member) {
                    Some(Value::Object(map)) => {
                        for (key, value) in map {
                            event = if is_fields {
                                event.field(key, value)
                            } else {
                                event.detail(key, value)
                            };
                        }
                    }
                    None | Some(Value::Null) => {}
                    Some(other) => {
                        return Err(format!("`{member}` must be an object, not {other}"));
                    }
                }
            }
            if let Some(date) = date {
                event = event.date(date);
            }
            if options.verbatim_keys {
                event = event.verbatim_keys();
            }
            if let Some(key) = object.keys().next() {
                return Err(format!(
                    "unknown member `{key}`: an event has type, email, fields, details and date"
                ));
            }
            checked(Record::Event(event), options.plan.as_deref())
        }
        Kind::Subscribers => {
            let email = take_str("email")?.ok_or("`email` is missing")?;
            let mut record = SubscriberImport::new(email);
            if let Some(name) = take_str("first_name")? {
                record = record.first_name(name);
            }
            if let Some(name) = take_str("last_name")? {
                record = record.last_name(name);
            }
            for (member, remove) in [("tags", false), ("remove_tags", true)] {
                for tag in tag_list(object.remove(member))? {
                    record = if remove {
                        record.remove_tag(tag)
                    } else {
                        record.tag(tag)
                    };
                }
            }
            let fields = match object.remove("fields") {
                Some(Value::Object(map)) => map,
                None | Some(Value::Null) => Map::new(),
                Some(other) => return Err(format!("`fields` must be an object, not {other}")),
            };
            for (key, value) in fields.into_iter().chain(object) {
                record = record.field(key, value);
            }
            for tag in &options.extra_tags {
                record = record.tag(tag);
            }
            if options.verbatim_keys {
                record = record.verbatim_keys();
            }
            checked(Record::Subscriber(record), options.plan.as_deref())
        }
    }
}

fn tag_list(value: Option<Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(split_tags(&text)),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(tag) => Ok(tag),
                other => Err(format!("a tag must be a string, not {other}")),
            })
            .collect(),
        Some(other) => Err(format!("tags must be a string or a list, not {other}")),
    }
}

fn split_tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `First Name` -> `first_name`: Bento's keys are lowercase and underscored.
fn normalize(header: &str) -> String {
    let mut key = String::with_capacity(header.len());
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}

/// Which CSV column becomes what.
pub(crate) struct Mapping {
    email: usize,
    first_name: Option<usize>,
    last_name: Option<usize>,
    /// Columns of tags: a comma-separated list (`tags`) or one tag each (`tag`, `tag_2`).
    tags: Vec<(usize, bool)>,
    remove_tags: Option<usize>,
    fields: Vec<(usize, String)>,
    extra_tags: Vec<String>,
    plan: Option<Arc<Plan>>,
}

impl Mapping {
    pub(crate) fn new(
        headers: &csv::StringRecord,
        renames: &[(String, String)],
        extra_tags: &[String],
    ) -> Result<Self, Failure> {
        let names: Vec<String> = headers
            .iter()
            .map(|header| {
                renames
                    .iter()
                    .find(|(column, _)| column == header || normalize(column) == normalize(header))
                    .map_or_else(|| normalize(header), |(_, field)| normalize(field))
            })
            .collect();
        // Two columns that name the same key would each overwrite the
        // other in every row: refuse the header once, naming both.
        for (index, name) in names.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if let Some(earlier) = names[..index].iter().position(|n| n == name) {
                return Err(Failure::Usage(format!(
                    "columns {} (`{}`) and {} (`{}`) both become `{name}`: rename one, or pass --map \"COLUMN=other_name\"",
                    earlier + 1,
                    capped(&headers[earlier]),
                    index + 1,
                    capped(&headers[index]),
                )));
            }
        }
        for (column, _) in renames {
            if !headers
                .iter()
                .any(|h| h == column || normalize(h) == normalize(column))
            {
                return Err(Failure::Usage(format!("--map names no column `{column}`")));
            }
        }
        let find = |candidates: &[&str]| {
            names
                .iter()
                .position(|name| candidates.contains(&name.as_str()))
        };
        let email = find(&["email", "email_address", "e_mail", "e_mail_address", "mail"])
            .ok_or_else(|| {
                let columns: Vec<String> = headers.iter().take(20).map(capped).collect();
                let more = headers.len().saturating_sub(20);
                Failure::Usage(format!(
                    "no email column among the header's {} ({}{}): name one `email`, or pass --map \"COLUMN=email\"",
                    headers.len(),
                    columns.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() },
                ))
            })?;
        let first_name = find(&["first_name", "firstname"]);
        let last_name = find(&["last_name", "lastname"]);
        let remove_tags = find(&["remove_tags"]);
        let is_single_tag = |name: &str| {
            name == "tag"
                || name
                    .strip_prefix("tag")
                    .map(|rest| rest.trim_start_matches('_'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        let mut tags = Vec::new();
        let mut fields = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let special = [Some(email), first_name, last_name, remove_tags].contains(&Some(index));
            if special {
                continue;
            }
            if name == "tags" {
                tags.push((index, true));
            } else if is_single_tag(name) {
                tags.push((index, false));
            } else if !name.is_empty() {
                fields.push((index, name.clone()));
            }
        }
        Ok(Self {
            email,
            first_name,
            last_name,
            tags,
            remove_tags,
            fields,
            extra_tags: extra_tags.to_vec(),
            plan: None,
        })
    }

    /// Holds every row to `plan`.
    pub(crate) fn with_plan(mut self, plan: Option<Arc<Plan>>) -> Self {
        self.plan = plan;
        self
    }

    pub(crate) fn subscriber(&self, record: &csv::StringRecord) -> Result<Item, String> {
        let cell = |index: usize| record.get(index).map(str::trim).unwrap_or_default();
        let email = cell(self.email);
        if email.is_empty() {
            return Err("the email is empty".into());
        }
        let mut subscriber = SubscriberImport::new(email);
        if let Some(index) = self.first_name.filter(|&i| !cell(i).is_empty()) {
            subscriber = subscriber.first_name(cell(index));
        }
        if let Some(index) = self.last_name.filter(|&i| !cell(i).is_empty()) {
            subscriber = subscriber.last_name(cell(index));
        }
        for &(index, list) in &self.tags {
            let value = cell(index);
            if list {
                subscriber = subscriber.tags(split_tags(value));
            } else if !value.is_empty() {
                subscriber = subscriber.tag(value);
            }
        }
        if let Some(index) = self.remove_tags {
            for tag in split_tags(cell(index)) {
                subscriber = subscriber.remove_tag(tag);
            }
        }
        for (index, key) in &self.fields {
            let value = cell(*index);
            if !value.is_empty() {
                subscriber = subscriber.field(key, value);
            }
        }
        for tag in &self.extra_tags {
            subscriber = subscriber.tag(tag);
        }
        checked(Record::Subscriber(subscriber), self.plan.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_bento_keys() {
        assert_eq!(normalize(" First Name "), "first_name");
        assert_eq!(normalize("E-Mail Address"), "e_mail_address");
        assert_eq!(normalize("Plan (2024)"), "plan_2024");
    }

    #[test]
    fn columns_are_mapped_by_name() {
        let headers = csv::StringRecord::from(vec![
            "E-Mail Address",
            "First Name",
            "Tags",
            "tag_2",
            "Company",
            "remove_tags",
        ]);
        let mapping = Mapping::new(
            &headers,
            &[("E-Mail Address".into(), "email".into())],
            &["imported".into()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mapping.email, 0);
        assert_eq!(mapping.first_name, Some(1));
        assert_eq!(mapping.tags, vec![(2, true), (3, false)]);
        assert_eq!(mapping.fields, vec![(4, "company".to_owned())]);
        let row = csv::StringRecord::from(vec![
            "ada@example.com",
            "Ada",
            "lead, mql",
            "vip",
            "Acme",
            "old",
        ]);
        let Ok(Item {
            record: Record::Subscriber(record),
            ..
        }) = mapping.subscriber(&row)
        else {
            panic!("valid row")
        };
        let json: Value = serde_json::from_slice(
            Encoded::subscriber(&record)
                .unwrap_or_else(|e| panic!("{e}"))
                .json(),
        )
        .unwrap_or_default();
        assert_eq!(json["email"], "ada@example.com");
        assert_eq!(json["first_name"], "Ada");
        assert_eq!(json["tags"], "lead,mql,vip,imported");
        assert_eq!(json["remove_tags"], "old");
        assert_eq!(json["company"], "Acme");
    }

    #[test]
    fn a_duplicate_column_fails_once_on_the_header() {
        let headers = csv::StringRecord::from(vec!["email", "Name", "Email"]);
        let error = Mapping::new(&headers, &[], &[])
            .err()
            .map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(
            error.contains("columns 1 (`email`) and 3 (`Email`) both become `email`"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_email_column_lists_a_few_columns() {
        let many: Vec<String> = (0..100).map(|n| format!("c{n}")).collect();
        let headers = csv::StringRecord::from(many);
        let error = Mapping::new(&headers, &[], &[])
            .err()
            .map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(error.contains("header's 100 (c0, c1"), "{error}");
        assert!(error.contains("and 80 more"), "{error}");
    }
}
