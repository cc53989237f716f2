//! Peak memory against bodies that never end or claim to be huge: with the
//! response cap, reading stops at the limit, so RSS stays flat whatever the
//! server sends.
//!
//! `cargo run --release -p bento-benches --bin hostile_memory`
//!
//! Each scenario runs in a child process of its own (`hostile_memory
//! <scenario>`), so each peak RSS is that scenario's alone.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bento_benches::setup::{peak_rss, rss};
use bento_core::{Client, Event, RateLimits, RetryPolicy};
use bento_tests::hostile::{Hostile, Script, Step};

const SCENARIOS: [(&str, &str); 5] = [
    ("baseline", "a well-formed answer"),
    ("endless-200", "endless chunked 200, direct call"),
    (
        "declared-2gb-200",
        "200 with Content-Length 2 GB, direct call",
    ),
    (
        "declared-2gb-503",
        "503 with Content-Length 2 GB, direct call",
    ),
    (
        "endless-engine",
        "endless chunked 200, delivery engine (3 attempts)",
    ),
];

fn script(name: &str) -> Script {
    match name {
        "baseline" => Script::status(200, &[], r#"{"data":[]}"#),
        "endless-200" | "endless-engine" => {
            let mut chunk = b"10000\r\n".to_vec();
            chunk.extend(std::iter::repeat_n(b' ', 0x10000));
            chunk.extend_from_slice(b"\r\n");
            Script(vec![
                Step::Write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec()),
                Step::Endless {
                    chunk,
                    limit: 16 << 30,
                },
            ])
        }
        status => {
            let status = if status.ends_with("503") { 503 } else { 200 };
            Script(vec![
                Step::Write(
                    format!("HTTP/1.1 {status} X\r\ncontent-length: 2147483648\r\n\r\n")
                        .into_bytes(),
                ),
                Step::Endless {
                    chunk: vec![b'x'; 1 << 16],
                    limit: 2 << 30,
                },
            ])
        }
    }
}

fn run(name: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let answer = script(name);
        let server = Hostile::start(move |_, _| answer.clone()).await;
        let failed = Arc::new(AtomicU64::new(0));
        let hook = Arc::clone(&failed);
        let client = Client::builder()
            .base_url(server.base_url())
            .publishable_key("pk")
            .secret_key("sk")
            .site_uuid("site")
            .rate_limits(RateLimits::unlimited())
            .timeout(Duration::from_secs(60))
            .retry(RetryPolicy::never())
            .delivery_backoff(bento_core::delivery::Backoff::new(
                Duration::from_millis(1),
                Duration::from_millis(250),
            ))
            .on_delivery_failure(move |failure| {
                hook.fetch_add(failure.items.len() as u64, Ordering::SeqCst);
            })
            .build()
            .expect("client");
        let baseline = rss().expect("linux /proc");
        let started = Instant::now();
        let outcome = if name == "endless-engine" {
            for n in 0..100 {
                client
                    .track(&Event::new("x", "ada@example.com").detail("n", n))
                    .expect("queued");
            }
            let report = client.flush(Duration::from_secs(60)).await;
            format!(
                "{report:?}; {} items to the hook",
                failed.load(Ordering::SeqCst)
            )
        } else {
            match client.tags().await {
                Ok(tags) => format!("Ok({} tags)", tags.len()),
                Err(error) => format!("{error}"),
            }
        };
        let elapsed = started.elapsed();
        let peak = peak_rss().expect("linux /proc");
        println!(
            "{name}\t{:.1}\t{:.1}\t{:.0}\t{outcome}",
            baseline as f64 / 1e6,
            peak as f64 / 1e6,
            elapsed.as_secs_f64() * 1000.0
        );
    });
}

fn main() {
    if let Some(name) = std::env::args().nth(1) {
        run(&name);
        return;
    }
    let me = std::env::current_exe().expect("own path");
    println!("| scenario | baseline RSS | peak RSS | time | outcome |");
    println!("|---|---|---|---|---|");
    for (name, what) in SCENARIOS {
        let output = Command::new(&me).arg(name).output().expect("child runs");
        let line = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = line.trim().split('\t').collect();
        if fields.len() < 5 {
            println!(
                "| {what} | failed: {} |",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            continue;
        }
        println!(
            "| {what} | {} MB | {} MB | {} ms | {} |",
            fields[1], fields[2], fields[3], fields[4]
        );
    }
}
