//! `bento import subscribers` of a 1,000,000-row CSV against an emulator
//! limited to N batch requests per minute: the share of that ceiling the CLI
//! achieves, the 429s it collects (none expected), and its peak RSS.
//!
//! ```sh
//! cargo build --release -p bento-cli -p bento-benches
//! ./target/release/cli_import [rows] [requests-per-minute]   # default 1000000 300
//! ```

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bento_emulator::{Emulator, Family, Limit};

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let per_minute: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(300);
    let bento = std::env::current_exe()
        .expect("own path")
        .with_file_name("bento");
    assert!(
        bento.exists(),
        "build the CLI first: cargo build --release -p bento-cli"
    );
    let emulator = Emulator::builder()
        .no_rate_limits()
        .rate_limit(
            Family::Batch,
            Limit::new(per_minute, Duration::from_secs(60)),
        )
        .start_blocking()
        .expect("emulator");

    let file = std::env::temp_dir().join(format!("bento-cli-bench-{}.csv", std::process::id()));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("csv"));
        writeln!(out, "email,first_name,tags,company,plan").expect("write");
        for n in 0..rows {
            writeln!(out, "user{n}@example.com,User {n},\"lead,import\",Acme,pro").expect("write");
        }
    }
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);

    let started = Instant::now();
    let mut child = Command::new(&bento)
        .env("BENTO_PUBLISHABLE_KEY", emulator.publishable_key())
        .env("BENTO_SECRET_KEY", emulator.secret_key())
        .env("BENTO_SITE_UUID", emulator.site_uuid())
        .env("BENTO_BASE_URL", emulator.base_url())
        .args(["--requests-per-minute", &per_minute.to_string()])
        .args(["import", "subscribers"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("bento runs");
    // VmHWM is a high-water mark: its last reading before exit is the peak.
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kib) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&file);

    let requests = emulator.requests();
    let accepted = requests
        .iter()
        .filter(|r| r.path == "batch/subscribers" && r.status == 200)
        .count();
    let limited = requests.iter().filter(|r| r.status == 429).count();
    // The ceiling: N at once, then N more each minute.
    let windows = accepted.div_ceil(per_minute as usize).saturating_sub(1);
    let ideal = Duration::from_secs(60 * windows as u64);
    let share = if elapsed.is_zero() {
        1.0
    } else {
        ideal.as_secs_f64() / elapsed.as_secs_f64()
    };
    println!(
        "rows: {rows} ({:.1} MB file), ceiling {per_minute} requests/min",
        size as f64 / 1e6
    );
    println!("exit: {status}");
    println!(
        "requests accepted: {accepted}, 429s: {limited}, subscribers stored: {}",
        emulator.subscribers().len()
    );
    println!(
        "elapsed {:.1} s against an ideal {:.0} s: {:.2}% of the ceiling",
        elapsed.as_secs_f64(),
        ideal.as_secs_f64(),
        share * 100.0
    );
    println!(
        "peak RSS of bento: {:.1} MB",
        peak_kib as f64 * 1024.0 / 1e6
    );
}
