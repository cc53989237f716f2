//! What [`NewSubscriber`](super::NewSubscriber) and
//! [`SubscriberImport`](super::SubscriberImport) share: a subscriber's
//! profile (email, names, tags, custom fields) and the builder methods that
//! fill it, written once (`profile_builder!`) so the two keep the same
//! signatures. Field values are anything `Serialize`, checked as
//! [`Event::field`](crate::Event::field) checks them.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ValidationError;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Profile {
    pub(crate) email: String,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) fields: Map<String, Value>,
    pub(crate) verbatim_keys: bool,
    /// A value that could not become JSON (NaN, a failing `Serialize`),
    /// reported when the record is checked.
    pub(crate) invalid: Option<Box<ValidationError>>,
}

impl Profile {
    pub(crate) fn new(email: String) -> Self {
        Self {
            email,
            ..Self::default()
        }
    }

    pub(crate) fn field(&mut self, key: String, value: &impl Serialize) {
        match crate::wire::finite::to_value(value, &format!("fields.{key}")) {
            Ok(value) => {
                self.fields.insert(key, value);
            }
            Err(error) => {
                self.invalid.get_or_insert(Box::new(error));
            }
        }
    }

    /// The first value that could not become JSON, if any.
    pub(crate) fn check_values(&self) -> Result<(), ValidationError> {
        match &self.invalid {
            Some(error) => Err((**error).clone()),
            None => Ok(()),
        }
    }
}

/// The builder methods both subscriber builders have, with one signature.
macro_rules! profile_builder {
    () => {
        /// The first name.
        pub fn first_name(mut self, name: impl Into<String>) -> Self {
            self.profile.first_name = Some(name.into());
            self
        }

        /// The last name.
        pub fn last_name(mut self, name: impl Into<String>) -> Self {
            self.profile.last_name = Some(name.into());
            self
        }

        /// Adds one tag (created in Bento if new).
        pub fn tag(mut self, tag: impl Into<String>) -> Self {
            self.profile.tags.push(tag.into());
            self
        }

        /// Adds several tags.
        pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
            self.profile.tags.extend(tags.into_iter().map(Into::into));
            self
        }

        /// Sets a custom field. `key` follows Bento's key rule
        /// (`first_name`, not `firstName`), as [`Event::field`](crate::Event::field)
        /// does, unless [`verbatim_keys`](Self::verbatim_keys). `value` is
        /// anything `Serialize`; one that cannot become JSON (NaN, an
        /// infinite number) makes the subscriber invalid, naming the key.
        pub fn field(mut self, key: impl Into<String>, value: impl serde::Serialize) -> Self {
            self.profile.field(key.into(), &value);
            self
        }

        /// Sends the field keys as written, for an account whose fields were
        /// named before Bento's key rule (`firstName`).
        pub fn verbatim_keys(mut self) -> Self {
            self.profile.verbatim_keys = true;
            self
        }

        /// The email.
        pub fn email(&self) -> &str {
            &self.profile.email
        }
    };
}

pub(crate) use profile_builder;
