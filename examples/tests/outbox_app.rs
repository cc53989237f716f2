//! The outbox demo runs as one command: it starts its own throwaway
//! PostgreSQL and the emulator, commits two signups, rolls back two, and
//! prints what Bento received.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::process::Command;

mod support;

#[test]
fn the_outbox_demo_delivers_what_committed_and_nothing_else() {
    let output = Command::new(support::example("outbox_app"))
        .env_remove("DATABASE_URL")
        .env_remove("BENTO_SECRET_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let received: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Bento received "))
        .collect();
    assert_eq!(
        received,
        [
            "account.signup for ada@example.com",
            "account.signup for grace@example.com"
        ],
        "{stdout}"
    );
    assert!(
        stdout.contains("0 still in the outbox table, 0 dead letters"),
        "{stdout}"
    );
    for status in ["201 Created", "409 Conflict", "422 Unprocessable Entity"] {
        assert!(stdout.contains(&format!("-> {status}")), "{stdout}");
    }
}
