//! Runnable examples for the Bento Rust SDK; see the `[[example]]` targets.
