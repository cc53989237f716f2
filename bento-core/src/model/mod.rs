//! The models the engine carries and the client sends: events, subscriber
//! records, commands, their encoding into batch bodies, and Bento's answers.
//! Below the engine and the client; the endpoints that send them are in
//! `resources/`, above.

pub(crate) mod batch;
pub(crate) mod commands;
pub(crate) mod envelope;
pub(crate) mod events;
pub(crate) mod kind;
pub(crate) mod subscribers;
