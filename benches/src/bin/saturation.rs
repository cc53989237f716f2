//! Rate-limit saturation: the emulator allows N `/batch` requests per window
//! and the client is configured with the same limit. Overloaded with events,
//! how much of the theoretical maximum (N x 1000 events per window) arrives,
//! and how many 429s does the client provoke?
//!
//! `cargo run --release -p bento-benches --bin saturation [N] [window_ms] [windows]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bento_benches::purchase::purchase;
use bento_benches::setup::client_for;
use bento_core::{EndpointFamily, RateLimit, RateLimits};
use bento_emulator::{Emulator, Family, Limit};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let n = args.next().flatten().unwrap_or(10) as u32;
    let window = Duration::from_millis(args.next().flatten().unwrap_or(2000));
    let windows = args.next().flatten().unwrap_or(6) as u32;

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emulator = Emulator::builder()
        .no_rate_limits()
        .rate_limit(Family::Batch, Some(Limit::new(n, window)))
        .start_blocking()
        .expect("emulator");
    let client = client_for(&emulator)
        .rate_limits(RateLimits::unlimited().set(EndpointFamily::Batch, RateLimit::new(n, window)))
        .queue_capacity(4 * 1000 * n as usize)
        .build()
        .expect("client");

    // Offer far more than the limit allows, from another thread.
    let event = purchase();
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let client = client.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            while !stop.load(Ordering::Relaxed) {
                if client.track(&event).is_err() {
                    // Full: wait for room rather than spin.
                    let item = bento_core::Encoded::event(&event).expect("valid");
                    runtime.block_on(client.enqueue_wait(item)).expect("queued");
                }
            }
        })
    };
    let started = Instant::now();
    let span = window * windows;
    std::thread::sleep(span);
    let measured = emulator.requests();
    stop.store(true, Ordering::Relaxed);
    producer.join().expect("producer");

    let ok: Vec<_> = measured
        .iter()
        .filter(|r| r.path == "batch/events" && r.status == 200)
        .collect();
    let delivered: usize = ok.iter().filter_map(|r| r.items).sum();
    let too_many = measured.iter().filter(|r| r.status == 429).count();
    let theoretical = u64::from(n) * 1000 * u64::from(windows);
    println!(
        "limit:                 {n} requests per {window:?}, measured over {windows} windows ({:?})",
        started.elapsed()
    );
    println!("requests accepted:     {} (max {})", ok.len(), n * windows);
    println!("events delivered:      {delivered} of a theoretical {theoretical}");
    println!(
        "share of the maximum:  {:.2}%",
        delivered as f64 * 100.0 / theoretical as f64
    );
    println!(
        "mean events/request:   {:.1}",
        delivered as f64 / ok.len().max(1) as f64
    );
    println!("429 responses:         {too_many}");
    let _ = runtime.block_on(client.shutdown(Duration::from_millis(100)));
}
