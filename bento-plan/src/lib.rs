//! The tracking plan of a Bento account: one file, `bento-plan.toml`, that
//! names the account's custom fields with their kinds and every event type
//! with the profile fields it may write and the details it carries.
//!
//! One parser for everyone who checks against the plan: `bento-derive` at
//! compile time, `bento-core`'s `ClientBuilder::plan` at `track` time, the
//! emulator's `--plan` on every request, and `bento plan` in the CLI.
//!
//! ```
//! let plan = bento_plan::Plan::parse(r#"
//! [fields]
//! first_name = "string"
//! seats = "number"
//!
//! [events."account.signup"]
//! fields = ["first_name"]
//! details = { source = "string", referrer = "string?" }
//! "#)?;
//! let signup = plan.event("account.signup").expect("declared");
//! assert!(signup.allows_field("first_name"));
//! assert!(!signup.allows_field("seats"));
//! assert!(signup.detail("referrer").expect("declared").optional);
//! assert_eq!(plan.suggest_event("acount.signup"), Some("account.signup"));
//! # Ok::<(), bento_plan::PlanError>(())
//! ```
//!
//! The format, with what it accepts beyond the example:
//!
//! - `[fields]`: `name = "kind"`, the account's custom fields.
//! - `[events."type"]`: `fields = [..]` (the profile fields the event may
//!   write; without it, any field of `[fields]`), `details = { key = "kind" }`
//!   (the details it carries; without it, the event's details are not
//!   checked), and an optional `description = ".."`.
//! - Kinds: `string`, `number`, `boolean`, `object`, `array`, `date`, each
//!   optionally followed by `?` (the key may be left out). A `date` is a
//!   string holding an ISO 8601 date or date-time (`2026-12-06`,
//!   `2026-12-06T09:30:00Z`); any other string is refused.
//!
//! What is held to it: events (type, the fields they write, their details),
//! subscriber imports and creations (their custom fields), the commands
//! that write or remove a field (`add_field`, `remove_field`; and
//! `add_tag_via_event`, which creates a `$tag` event the plan must
//! declare), and the creation of a custom field (its key must be declared).
#![deny(missing_docs)]

mod check;
pub mod key;
mod parse;
mod suggest;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

#[cfg(feature = "json")]
pub use check::Violation;
pub use parse::{PlanError, Problem, did_you_mean};
pub use suggest::closest;

/// The file name the derive, the client and the CLI look for.
pub const FILE_NAME: &str = "bento-plan.toml";

/// The environment variable that points at a plan elsewhere.
pub const ENV: &str = "BENTO_PLAN";

/// A parsed tracking plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    fields: BTreeMap<String, Spec>,
    events: BTreeMap<String, EventPlan>,
}

/// What one event type may carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPlan {
    fields: Option<Vec<String>>,
    details: Option<BTreeMap<String, Spec>>,
    description: Option<String>,
}

/// The kind of a field or detail, and whether it may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The JSON kind its value has.
    pub kind: Kind,
    /// Written with a trailing `?`: the key may be missing.
    pub optional: bool,
}

/// The kinds a plan names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A JSON string.
    String,
    /// A JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// A date or time, sent as an ISO 8601 string.
    Date,
}

impl Kind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [Kind; 6] = [
        Kind::String,
        Kind::Number,
        Kind::Boolean,
        Kind::Object,
        Kind::Array,
        Kind::Date,
    ];

    /// The kind's name in the plan.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::Date => "date",
        }
    }

    /// The kind named `name` (without `?`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind, if self.optional { "?" } else { "" })
    }
}

impl Plan {
    /// Parses a plan, reporting every problem at once (see [`PlanError`]).
    pub fn parse(text: &str) -> Result<Plan, PlanError> {
        parse::parse(text, None)
    }

    /// Reads and parses the plan at `path`; problems name the file.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|error| PlanError::io(path, &error))?;
        parse::parse(&text, Some(path))
    }

    /// Where the plan for code in `dir` is: the file [`ENV`] names (relative
    /// to `dir`), else `bento-plan.toml` in `dir` or its nearest ancestor
    /// that holds one. `None`: there is no plan, and nothing is checked.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(ENV).filter(|path| !path.is_empty()) {
            return Some(dir.join(path));
        }
        dir.ancestors()
            .map(|dir| dir.join(FILE_NAME))
            .find(|candidate| candidate.is_file())
    }

    /// The account's custom fields, by name.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Spec)> {
        self.fields
            .iter()
            .map(|(name, spec)| (name.as_str(), *spec))
    }

    /// The custom field `name`, if the plan declares it.
    pub fn field(&self, name: &str) -> Option<Spec> {
        self.fields.get(name).copied()
    }

    /// The event types the plan declares, by name.
    pub fn events(&self) -> impl Iterator<Item = (&str, &EventPlan)> {
        self.events
            .iter()
            .map(|(name, event)| (name.as_str(), event))
    }

    /// The event type `name`, if the plan declares it.
    pub fn event(&self, name: &str) -> Option<&EventPlan> {
        self.events.get(name)
    }

    /// The declared event type closest to `typo`, if one is close.
    pub fn suggest_event(&self, typo: &str) -> Option<&str> {
        closest(typo, self.events.keys().map(String::as_str))
    }

    /// The declared custom field closest to `typo`, if one is close.
    pub fn suggest_field(&self, typo: &str) -> Option<&str> {
        closest(typo, self.fields.keys().map(String::as_str))
    }

    /// Adds the custom field `name` unless the plan has it; `true` when added.
    pub fn add_field(&mut self, name: &str, spec: Spec) -> bool {
        if self.fields.contains_key(name) {
            return false;
        }
        self.fields.insert(name.to_owned(), spec);
        true
    }
}

impl EventPlan {
    /// The profile fields it may write, when the plan lists them.
    pub fn field_list(&self) -> Option<&[String]> {
        self.fields.as_deref()
    }

    /// Whether it may write the profile field `name`: listed, or any field
    /// when the event has no list (the plan's `[fields]` still apply).
    pub fn allows_field(&self, name: &str) -> bool {
        self.fields
            .as_ref()
            .is_none_or(|list| list.iter().any(|field| field == name))
    }

    /// Whether the plan declares its details (else they are not checked).
    pub fn declares_details(&self) -> bool {
        self.details.is_some()
    }

    /// Its declared details, by key.
    pub fn details(&self) -> impl Iterator<Item = (&str, Spec)> {
        self.details
            .iter()
            .flatten()
            .map(|(key, spec)| (key.as_str(), *spec))
    }

    /// The detail `key`, if declared.
    pub fn detail(&self, key: &str) -> Option<Spec> {
        self.details.as_ref()?.get(key).copied()
    }

    /// The declared detail closest to `typo`, if one is close.
    pub fn suggest_detail(&self, typo: &str) -> Option<&str> {
        closest(typo, self.details.iter().flatten().map(|(k, _)| k.as_str()))
    }

    /// Its description, when the plan gives one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}
