//! bento-core against the emulator over real loopback HTTP.

mod common;
mod endpoints;
mod errors;
mod secrets;
