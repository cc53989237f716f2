//! The outbox demo runs as one command: on an embedded SQLite file when no
//! `DATABASE_URL` is set, on PostgreSQL (a throwaway server the test starts)
//! when one is; it commits two signups, rolls back two, and prints what
//! Bento received.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::process::Command;

mod support;

fn check(database_url: Option<&str>) {
    let mut command = Command::new(support::example("outbox_app"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("BENTO_SECRET_KEY");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().unwrap();
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

#[test]
fn the_outbox_demo_runs_on_sqlite_by_default() {
    check(None);
}

#[test]
fn the_outbox_demo_runs_on_postgres_when_database_url_is_set() {
    let server = bento_tests::postgres::Postgres::start();
    check(Some(&server.url()));
}
