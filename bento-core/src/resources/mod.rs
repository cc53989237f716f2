//! Bento's API, one module per resource: the methods on
//! [`Client`](crate::Client) and their request and response models.

pub(crate) mod batch;
pub mod broadcasts;
pub mod commands;
pub mod emails;
pub mod events;
pub mod experimental;
pub mod fields;
pub mod forms;
pub mod sequences;
pub mod stats;
pub mod subscribers;
pub mod tags;
pub mod templates;
pub mod workflows;
