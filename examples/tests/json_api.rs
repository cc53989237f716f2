//! The second example app (a JSON API with async sessions) as a real child
//! process, in both frameworks: with no `BENTO_*` set it runs dry and prints
//! what it would send; pointed at an emulator, both frameworks send Bento
//! the same events.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use bento_emulator::Emulator;

mod support;
use support::example;

/// The events the script sends, in order: `(type, email)`.
const EXPECTED: &[(&str, &str)] = &[
    ("account.signup", "ada@example.com"),
    ("account.login", "ada@example.com"),
    ("$view", "ada@example.com"),
    ("plan.upgraded", "ada@example.com"),
];

const STATUSES: &str = "200,200,200,200,401";

fn run(name: &str, env: &[(&str, String)]) -> Output {
    let mut command = Command::new(example(name));
    for var in [
        "BENTO_PUBLISHABLE_KEY",
        "BENTO_SECRET_KEY",
        "BENTO_SITE_UUID",
        "BENTO_BASE_URL",
        "BENTO_DRY_RUN",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The statuses the example printed, comma-separated.
fn statuses(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split("-> ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn without_bento_the_example_runs_dry_and_shows_each_event() {
    for name in ["json_api_axum", "json_api_actix"] {
        let output = run(name, &[]);
        assert_eq!(statuses(&output), STATUSES, "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("no BENTO_* variables set"),
            "{name}: {stderr}"
        );
        let shown: Vec<(String, String)> = stderr
            .lines()
            .filter_map(|line| line.strip_prefix("bento dry run: POST /batch/events "))
            .map(|json| {
                let event: serde_json::Value = serde_json::from_str(json).unwrap();
                (
                    event["type"].as_str().unwrap().to_owned(),
                    event["email"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = EXPECTED
            .iter()
            .map(|(t, e)| ((*t).to_owned(), (*e).to_owned()))
            .collect();
        assert_eq!(shown, expected, "{name}: {stderr}");
    }
}

#[test]
fn both_frameworks_send_bento_the_same_events() {
    let mut received = Vec::new();
    for name in ["json_api_axum", "json_api_actix"] {
        let emulator = Emulator::builder()
            .no_rate_limits()
            .start_blocking()
            .unwrap();
        let env = [
            (
                "BENTO_PUBLISHABLE_KEY",
                emulator.publishable_key().to_owned(),
            ),
            ("BENTO_SECRET_KEY", emulator.secret_key().to_owned()),
            ("BENTO_SITE_UUID", emulator.site_uuid().to_owned()),
            ("BENTO_BASE_URL", emulator.base_url()),
        ];
        let output = run(name, &env);
        assert_eq!(statuses(&output), STATUSES, "{name}");
        let mut events: Vec<(String, String, String)> = emulator
            .events()
            .into_iter()
            .map(|e| {
                (
                    e.event_type,
                    e.email,
                    serde_json::Value::Object(e.details).to_string(),
                )
            })
            .collect();
        events.sort();
        assert_eq!(events.len(), EXPECTED.len(), "{name}: {events:?}");
        assert_eq!(
            emulator.subscriber("ada@example.com").unwrap().fields["plan"],
            "team"
        );
        received.push(events);
    }
    assert_eq!(received[0], received[1], "axum and actix-web sent the same");
}
