//! Bento's API, one module per resource: the methods on
//! [`Client`](crate::Client) and their request and response models.

pub(crate) mod batch;
pub mod broadcasts;
pub mod chat;
pub mod commands;
pub mod deletion;
pub mod emails;
pub mod events;
pub mod experimental;
pub mod fields;
pub mod forms;
pub(crate) mod pages;
pub mod segments;
pub mod sequences;
pub mod stats;
pub mod subscribers;
pub mod tags;
pub mod templates;
pub mod transactional;
pub mod workflows;
