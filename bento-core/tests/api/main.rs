//! bento-core against the emulator over real loopback HTTP.
#![allow(clippy::unwrap_used)]

mod common;
mod contract;
mod derive;
mod endpoints;
mod errors;
mod mailer;
mod newer;
mod secrets;
