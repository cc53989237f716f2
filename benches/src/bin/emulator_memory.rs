//! The emulator's memory under a million requests: with the request log
//! bounded (`--keep-requests`, default 10,000), its peak RSS stays flat
//! however long it runs.
//!
//! ```sh
//! cargo build --release -p bento-emulator -p bento-benches
//! ./target/release/emulator_memory [requests] [connections]   # default 1000000 8
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn vm(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let connections: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(8);
    let binary = std::env::current_exe()
        .expect("own path")
        .with_file_name("bento-emulator");
    assert!(
        binary.exists(),
        "cargo build --release -p bento-emulator first"
    );
    let mut child = Command::new(binary)
        .args(["--port", "0", "--json", "--no-rate-limits"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
    let pid = child.id();
    let url = format!(
        "{}/fetch/tags?site_uuid={}",
        ready["base_url"].as_str().unwrap_or_default(),
        ready["site_uuid"].as_str().unwrap_or_default()
    );
    let (user, password) = (
        ready["publishable_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ready["secret_key"].as_str().unwrap_or_default().to_owned(),
    );
    let baseline = vm(pid, "VmRSS:");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut samples = Vec::new();
    runtime.block_on(async {
        #[allow(deprecated)] // ring lacks post-quantum key exchange; loopback needs none
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent("emulator-memory-bench")
            .build()
            .expect("client");
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (http, url, user, password, sent) = (
                http.clone(),
                url.clone(),
                user.clone(),
                password.clone(),
                Arc::clone(&sent),
            );
            tasks.push(tokio::spawn(async move {
                while sent.fetch_add(1, Ordering::Relaxed) < total {
                    let response = http
                        .get(&url)
                        .basic_auth(&user, Some(&password))
                        .send()
                        .await
                        .expect("request");
                    let _ = response.bytes().await;
                }
            }));
        }
        let mut next = 0u64;
        while tasks.iter().any(|t| !t.is_finished()) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let done = sent.load(Ordering::Relaxed).min(total);
            if done >= next {
                samples.push((done, vm(pid, "VmRSS:")));
                next += total / 10;
            }
        }
    });
    let elapsed = started.elapsed();
    let peak = vm(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{total} requests over {connections} connections in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "emulator RSS: baseline {:.1} MB, peak {:.1} MB",
        baseline as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    for (done, rss) in samples {
        println!("  after {done:>8} requests: {:.1} MB", rss as f64 / 1024.0);
    }
}
