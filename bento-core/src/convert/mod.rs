//! The value types the derives (and the hand-written [`Event`](crate::Event) and
//! [`SubscriberImport`](crate::SubscriberImport)) accept in the places where
//! Bento expects something specific.
//!
//! | role | trait | implemented for |
//! |---|---|---|
//! | `#[bento(email)]` | [`EmailAddress`] | `String`, `str`, `Cow<str>`, `Box<str>`, `Rc<str>`, `Arc<str>` |
//! | `#[bento(date)]` | [`EventDate`] | `SystemTime`, RFC 3339 strings, [`Timestamp`], `chrono::DateTime` (feature `chrono`), `time::OffsetDateTime` (feature `time`) |
//! | `#[bento(tags)]`, `#[bento(remove_tags)]` | [`TagList`] | `Vec`, slices, arrays, `VecDeque`, `BTreeSet`, `HashSet` of string-like items |
//! | `#[bento(flatten)]` | [`FlattenMap`] | `HashMap`, `BTreeMap` with string keys, `serde_json::Map` |
//!
//! Each is also implemented for references and for `Option` of an
//! implementing type (an absent value is simply left out). Implement them for
//! your own types (a validated `Email` newtype, say) to use those types directly.

mod date;
mod email;
mod flatten;
pub(crate) mod tags;

pub use date::{DateError, EventDate, Timestamp};
pub use email::EmailAddress;
pub use flatten::FlattenMap;
pub use tags::TagList;
