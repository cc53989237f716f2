//! The command model: what a subscriber command is, and Bento's answer.
//! The endpoints are in `resources/commands.rs`.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ValidationError;
use crate::model::subscribers::Subscriber;
use crate::validate;

/// One subscriber command.
///
/// ```
/// use bento_core::Command;
/// use serde_json::json;
///
/// let cmd = Command::AddField { email: "ada@example.com".into(), key: "plan".into(), value: json!("pro") };
/// assert_eq!(
///     serde_json::to_value(&cmd).unwrap(),
///     json!({"command": "add_field", "email": "ada@example.com", "query": {"key": "plan", "value": "pro"}})
/// );
/// let cmd = Command::Unsubscribe { email: "ada@example.com".into() };
/// assert_eq!(serde_json::to_value(&cmd).unwrap(), json!({"command": "unsubscribe", "email": "ada@example.com"}));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// Adds a tag without triggering automations.
    AddTag {
        /// The subscriber.
        email: String,
        /// The tag name.
        tag: String,
    },
    /// Adds a tag by recording an event, which triggers automations.
    AddTagViaEvent {
        /// The subscriber.
        email: String,
        /// The tag name.
        tag: String,
    },
    /// Removes a tag.
    RemoveTag {
        /// The subscriber.
        email: String,
        /// The tag name.
        tag: String,
    },
    /// Sets a custom field.
    AddField {
        /// The subscriber.
        email: String,
        /// The field key.
        key: String,
        /// The value.
        value: Value,
    },
    /// Removes a custom field.
    RemoveField {
        /// The subscriber.
        email: String,
        /// The field key.
        key: String,
    },
    /// Marks the subscriber as subscribed.
    Subscribe {
        /// The subscriber.
        email: String,
    },
    /// Marks the subscriber as unsubscribed.
    Unsubscribe {
        /// The subscriber.
        email: String,
    },
    /// Changes the subscriber's email address.
    ChangeEmail {
        /// The current address.
        email: String,
        /// The new address.
        new_email: String,
    },
}

impl Command {
    /// The wire name, such as `add_tag`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::AddTag { .. } => "add_tag",
            Command::AddTagViaEvent { .. } => "add_tag_via_event",
            Command::RemoveTag { .. } => "remove_tag",
            Command::AddField { .. } => "add_field",
            Command::RemoveField { .. } => "remove_field",
            Command::Subscribe { .. } => "subscribe",
            Command::Unsubscribe { .. } => "unsubscribe",
            Command::ChangeEmail { .. } => "change_email",
        }
    }

    /// The subscriber the command applies to.
    pub fn email(&self) -> &str {
        match self {
            Command::AddTag { email, .. }
            | Command::AddTagViaEvent { email, .. }
            | Command::RemoveTag { email, .. }
            | Command::AddField { email, .. }
            | Command::RemoveField { email, .. }
            | Command::Subscribe { email }
            | Command::Unsubscribe { email }
            | Command::ChangeEmail { email, .. } => email,
        }
    }

    /// Checks the command, naming its parts after `at` (such as `command[3]`).
    pub(crate) fn validate(&self, at: &str) -> Result<(), ValidationError> {
        validate::email(|| format!("{at}.email"), self.email())?;
        match self {
            Command::AddTag { tag, .. }
            | Command::AddTagViaEvent { tag, .. }
            | Command::RemoveTag { tag, .. } => validate::tag(|| format!("{at}.query"), tag),
            Command::AddField { key, .. } | Command::RemoveField { key, .. } => {
                validate::non_empty(|| format!("{at}.query.key"), key)
            }
            Command::ChangeEmail { new_email, .. } => {
                validate::email(|| format!("{at}.query"), new_email)
            }
            Command::Subscribe { .. } | Command::Unsubscribe { .. } => Ok(()),
        }
    }
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct KeyValue<'a> {
            key: &'a str,
            value: &'a Value,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("command", self.name())?;
        map.serialize_entry("email", self.email())?;
        match self {
            Command::AddTag { tag, .. }
            | Command::AddTagViaEvent { tag, .. }
            | Command::RemoveTag { tag, .. } => map.serialize_entry("query", tag)?,
            Command::AddField { key, value, .. } => {
                map.serialize_entry("query", &KeyValue { key, value })?
            }
            Command::RemoveField { key, .. } => map.serialize_entry("query", key)?,
            Command::ChangeEmail { new_email, .. } => map.serialize_entry("query", new_email)?,
            Command::Subscribe { .. } | Command::Unsubscribe { .. } => {}
        }
        map.end()
    }
}

/// What `/fetch/commands` answered.
///
/// The spec documents the affected subscriber; the live service sends counts.
/// Whichever arrives is decoded, and both when both do.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct CommandResult {
    /// Commands Bento applied, when it says.
    #[serde(default, alias = "result")]
    pub results: Option<u64>,
    /// Commands Bento refused, when it says.
    #[serde(default)]
    pub failed: Option<u64>,
    /// The subscriber after the commands ran, when Bento sends it.
    #[serde(default, rename = "data")]
    pub subscriber: Option<Subscriber>,
}

impl CommandResult {
    /// Decodes Bento's answer: an object with counts, the subscriber, or
    /// both. Anything else (an empty object, an array, a proxy's page) is not
    /// Bento's answer, and an error rather than a silent success.
    pub(crate) fn decode(body: &[u8]) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_slice(body)?;
        let known = value.as_object().is_some_and(|object| {
            ["results", "result", "failed", "data"]
                .iter()
                .any(|key| object.contains_key(*key))
        });
        if !known {
            return Err(serde::de::Error::custom(
                "expected `results`/`failed` counts or the subscriber as `data`",
            ));
        }
        serde_json::from_value(value)
    }
}

/// How many commands one queued request carries at most. Bento documents no
/// limit for `/fetch/commands`; this keeps a request small (and a 400's
/// bisection short) while one request still replaces a hundred.
pub const MAX_COMMANDS_PER_REQUEST: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_command_has_its_documented_shape() {
        let email = || "a@b.co".to_owned();
        let cases = [
            (
                Command::AddTag {
                    email: email(),
                    tag: "t".into(),
                },
                json!({"command": "add_tag", "email": "a@b.co", "query": "t"}),
            ),
            (
                Command::AddTagViaEvent {
                    email: email(),
                    tag: "t".into(),
                },
                json!({"command": "add_tag_via_event", "email": "a@b.co", "query": "t"}),
            ),
            (
                Command::RemoveTag {
                    email: email(),
                    tag: "t".into(),
                },
                json!({"command": "remove_tag", "email": "a@b.co", "query": "t"}),
            ),
            (
                Command::AddField {
                    email: email(),
                    key: "k".into(),
                    value: json!(3),
                },
                json!({"command": "add_field", "email": "a@b.co", "query": {"key": "k", "value": 3}}),
            ),
            (
                Command::RemoveField {
                    email: email(),
                    key: "k".into(),
                },
                json!({"command": "remove_field", "email": "a@b.co", "query": "k"}),
            ),
            (
                Command::Subscribe { email: email() },
                json!({"command": "subscribe", "email": "a@b.co"}),
            ),
            (
                Command::Unsubscribe { email: email() },
                json!({"command": "unsubscribe", "email": "a@b.co"}),
            ),
            (
                Command::ChangeEmail {
                    email: email(),
                    new_email: "n@b.co".into(),
                },
                json!({"command": "change_email", "email": "a@b.co", "query": "n@b.co"}),
            ),
        ];
        for (command, expected) in cases {
            assert_eq!(serde_json::to_value(&command).unwrap(), expected);
            assert!(command.validate("command[0]").is_ok());
        }
    }

    #[test]
    fn decodes_both_answer_shapes() {
        let counts: CommandResult = serde_json::from_str(r#"{"results": 2, "failed": 0}"#).unwrap();
        assert_eq!(
            (counts.results, counts.failed, counts.subscriber.is_none()),
            (Some(2), Some(0), true)
        );
        let subscriber: CommandResult = serde_json::from_str(
            r#"{"data": {"id": "1", "type": "visitors", "attributes": {"uuid": "u", "email": "a@b.co", "fields": null, "cached_tag_ids": ["233"]}}}"#,
        )
        .unwrap();
        assert_eq!(subscriber.subscriber.unwrap().tag_ids, vec!["233"]);
    }

    #[test]
    fn rejects_bad_commands() {
        assert!(
            Command::AddTag {
                email: "a@b.co".into(),
                tag: "a,b".into()
            }
            .validate("command[0]")
            .is_err()
        );
        assert!(
            Command::ChangeEmail {
                email: "a@b.co".into(),
                new_email: "nope".into()
            }
            .validate("command[0]")
            .is_err()
        );
        assert!(
            Command::RemoveField {
                email: "a@b.co".into(),
                key: "".into()
            }
            .validate("command[0]")
            .is_err()
        );
    }
}
