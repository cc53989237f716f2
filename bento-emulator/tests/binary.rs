//! The `bento-emulator` binary as another language's test suite would use it:
//! started as a subprocess, found through the JSON line it prints, stopped
//! with SIGTERM.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn help_lists_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_bento-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--port",
        "--addr",
        "--publishable-key",
        "--secret-key",
        "--site-uuid",
        "--dialect",
        "--no-rate-limits",
        "--keep-events",
        "--keep-requests",
        "--max-connections",
        "--header-timeout-ms",
        "--json",
        "--ready-file",
        "--plan",
        "--authorized-sender",
        "--deletion-delay-ms",
        "--deletion-quota",
        "--no-transactional",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[cfg(unix)]
#[test]
fn a_subprocess_announces_itself_in_one_json_line() {
    let ready_file =
        std::env::temp_dir().join(format!("bento-emulator-ready-{}", std::process::id()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_bento-emulator"));
    command
        .args(["--site-uuid", "my-site", "--ready-file"])
        .arg(&ready_file);
    let (mut child, ready) = announced(command);
    assert_eq!(ready["site_uuid"], "my-site");
    assert!(ready["plan"].is_null(), "no plan given: {ready}");
    let from_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ready_file).unwrap()).unwrap();
    assert_eq!(from_file, ready);
    let base_url = ready["base_url"].as_str().unwrap();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    // A plain HTTP call with what the line said.
    let address = ready["addr"].as_str().unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /__emulator/config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("my-site"), "{answer}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "stops cleanly on SIGTERM: {exit}");
    let _ = std::fs::remove_file(ready_file);
}

#[test]
fn a_malformed_plan_is_refused_with_its_line() {
    let plan = std::env::temp_dir().join(format!("bento-plan-{}.toml", std::process::id()));
    std::fs::write(&plan, "[fields]\nseats = \"numbr\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_bento-emulator"))
        .args(["--port", "0", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(":2: unknown kind `numbr` for `seats` (did you mean `number`?)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("OPTIONS:"),
        "a bad plan is named, not answered with the usage text: {stderr}"
    );
    let _ = std::fs::remove_file(plan);
}

#[cfg(unix)]
#[test]
fn with_a_plan_it_answers_400_off_the_plan_over_http() {
    use std::io::{Read, Write};
    let plan = std::env::temp_dir().join(format!("bento-plan-ok-{}.toml", std::process::id()));
    std::fs::write(
        &plan,
        "[events.\"account.signup\"]\ndetails = { source = \"string\" }\n",
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_bento-emulator"));
    command.arg("--plan").arg(&plan);
    let (mut child, ready) = announced(command);
    assert_eq!(
        ready["plan"].as_str(),
        plan.to_str(),
        "the plan it holds requests to is announced"
    );
    let post = |body: &str| {
        let auth = base64_basic(
            ready["publishable_key"].as_str().unwrap(),
            ready["secret_key"].as_str().unwrap(),
        );
        let mut stream = std::net::TcpStream::connect(ready["addr"].as_str().unwrap()).unwrap();
        write!(
            stream,
            "POST /api/v1/batch/events?site_uuid={} HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\
             Authorization: Basic {auth}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            ready["site_uuid"].as_str().unwrap(),
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let off =
        post(r#"{"events":[{"type":"acount.signup","email":"a@b.co","details":{"source":"ad"}}]}"#);
    assert!(off.starts_with("HTTP/1.1 400"), "{off}");
    assert!(off.contains("did you mean `account.signup`"), "{off}");
    let on = post(
        r#"{"events":[{"type":"account.signup","email":"a@b.co","details":{"source":"ad"}}]}"#,
    );
    assert!(on.starts_with("HTTP/1.1 200"), "{on}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(plan);
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Starts `command` (the binary with its own flags) on a free port, and
/// reads the JSON line it announces itself with.
fn announced(mut command: Command) -> (std::process::Child, serde_json::Value) {
    let mut child = command
        .args(["--port", "0", "--json", "--no-rate-limits"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, serde_json::from_str(&line).unwrap())
}
