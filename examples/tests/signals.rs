//! SIGTERM (how systemd, Docker and Kubernetes stop a process) delivers every
//! queued event, like Ctrl-C: each demo runs as a real child process against
//! an emulator, takes signups, and is stopped with a real signal.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bento_emulator::Emulator;

mod support;
use support::example;

const SIGNUPS: usize = 20;

fn start(name: &str, emulator: &Emulator) -> (Child, String) {
    let env = [
        (
            "BENTO_PUBLISHABLE_KEY",
            emulator.publishable_key().to_owned(),
        ),
        ("BENTO_SECRET_KEY", emulator.secret_key().to_owned()),
        ("BENTO_SITE_UUID", emulator.site_uuid().to_owned()),
        ("BENTO_BASE_URL", emulator.base_url()),
    ];
    spawn_demo(name, &env, Stdio::null())
}

/// The demo `name` serving on a free port with `env`; its address.
fn spawn_demo(name: &str, env: &[(&str, String)], stderr: Stdio) -> (Child, String) {
    let mut child = Command::new(example(name))
        .args(["--serve", "--listen", "127.0.0.1:0"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().expect("the demo printed its address").unwrap();
        if let Some(url) = line.strip_prefix("Serving on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(mut child: Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not exit within 30 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn signups(url: &str) {
    // bento-core never installs a process-wide TLS provider; a plain reqwest
    // client built with `rustls-no-provider` needs one.
    bento_tests::install_tls();
    let http = reqwest::Client::new();
    for n in 0..SIGNUPS {
        let response = http
            .post(format!("{url}/signup"))
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "email": format!("user{n}@example.com"), "first_name": "Ada", "plan": "pro"
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}

fn delivered(emulator: &Emulator) -> usize {
    emulator
        .events()
        .iter()
        .filter(|event| event.event_type == "account.signup")
        .count()
}

async fn stopping_with(name: &str, example_name: &str) {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let (child, url) = start(example_name, &emulator);
    signups(&url).await;
    // Events are still queued (the flush interval is 1 s) when the signal lands.
    signal(&child, name);
    let status = tokio::task::spawn_blocking(move || wait(child))
        .await
        .unwrap();
    assert!(status.success(), "{example_name} exited with {status}");
    assert_eq!(
        delivered(&emulator),
        SIGNUPS,
        "{example_name} after SIG{name}: every queued event delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_demo_delivers_everything_on_sigterm() {
    stopping_with("TERM", "axum_app").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_demo_delivers_everything_on_sigint() {
    stopping_with("INT", "axum_app").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_demo_delivers_everything_on_sigterm() {
    stopping_with("TERM", "actix_app").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_demo_delivers_everything_on_sigint() {
    stopping_with("INT", "actix_app").await;
}

/// With Bento unreachable at SIGTERM, the demo says in plain words what was
/// not delivered and where it went: the failure hook spools every event to
/// a JSON Lines file `bento import events` takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_bento_down_the_demo_says_what_was_lost_and_spools_it() {
    let spool = std::env::temp_dir().join(format!("bento-demo-spool-{}", std::process::id()));
    std::fs::create_dir_all(&spool).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let env = [
        ("BENTO_PUBLISHABLE_KEY", "pk".to_owned()),
        ("BENTO_SECRET_KEY", "sk".to_owned()),
        ("BENTO_SITE_UUID", "site".to_owned()),
        ("BENTO_BASE_URL", format!("http://127.0.0.1:{port}/api/v1")),
        ("BENTO_DEMO_SPOOL", spool.display().to_string()),
    ];
    let (mut child, url) = spawn_demo("axum_app", &env, Stdio::piped());
    let stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    signups(&url).await;
    signal(&child, "TERM");
    let status = tokio::task::spawn_blocking(move || wait(child))
        .await
        .unwrap();
    let said = said.join().unwrap();
    assert!(
        !status.success(),
        "undelivered events are a failure: {said}"
    );
    assert!(
        said.contains(&format!("{SIGNUPS} item(s) were not delivered")),
        "{said}"
    );
    assert!(said.contains("bento import events"), "{said}");
    let spooled = std::fs::read_to_string(spool.join("bento-undelivered-events.jsonl")).unwrap();
    assert_eq!(spooled.lines().count(), SIGNUPS, "{spooled}");
    for line in spooled.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["type"], "account.signup");
    }
    // A person asks to be forgotten: the spool loses their lines, and only
    // theirs, before anyone replays it with `bento import`.
    let removed = bento_examples::demo::erase_from_spool(&spool, "User0@Example.com").unwrap();
    assert_eq!(removed, 1);
    let kept = std::fs::read_to_string(spool.join("bento-undelivered-events.jsonl")).unwrap();
    assert_eq!(kept.lines().count(), SIGNUPS - 1, "{kept}");
    assert!(!kept.contains("user0@example.com"), "{kept}");
    std::fs::remove_dir_all(spool).unwrap();
}
