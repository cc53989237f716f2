//! The background delivery engine against the emulator over loopback HTTP,
//! one binary: nothing lost under faults (`delivery`), misbehaving servers
//! and extreme settings (`hardening`), pacing however late requests arrive
//! (`pacing`), the tracking plan at run time (`plan`), and the dry run
//! (`dry_run`).
//!
//! `metrics.rs` and `telemetry.rs` are binaries of their own: each installs a
//! process-wide recorder or subscriber.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod adaptive_pacing;
mod delivery;
mod dry_run;
mod erasure;
mod hardening;
mod pacing;
mod plan;
