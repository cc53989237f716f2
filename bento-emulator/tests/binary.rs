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
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[cfg(unix)]
#[test]
fn a_subprocess_announces_itself_in_one_json_line() {
    let ready_file =
        std::env::temp_dir().join(format!("bento-emulator-ready-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_bento-emulator"))
        .args([
            "--port",
            "0",
            "--json",
            "--no-rate-limits",
            "--site-uuid",
            "my-site",
        ])
        .arg("--ready-file")
        .arg(&ready_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ready["site_uuid"], "my-site");
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
    let _ = std::fs::remove_file(plan);
}
