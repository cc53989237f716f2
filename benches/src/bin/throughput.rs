//! End-to-end delivery rate: `track` on one thread, the delivery thread
//! sending 1000-event batches to the in-process emulator on loopback, until
//! `flush` says everything arrived.
//!
//! `cargo run --release -p bento-benches --bin throughput [events] [kept]`
//!
//! `kept` is how many recent events the emulator keeps in memory (default
//! 10,000; 0 keeps all, which measures the emulator's heap growth as much as
//! delivery).

use std::time::{Duration, Instant};

use bento_benches::purchase::purchase;
use bento_benches::setup::client_for;
use bento_core::TrackError;
use bento_emulator::Emulator;

fn main() {
    let events: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300_000);
    let kept: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut emulator = Emulator::builder().no_rate_limits();
    if kept > 0 {
        emulator = emulator.keep_events(kept);
    }
    let emulator = emulator.start_blocking().expect("emulator");
    let client = client_for(&emulator)
        .queue_capacity(50_000)
        .max_in_flight(2)
        .build()
        .expect("client");
    let event = purchase();
    // Warm up: start the delivery thread and open its connections.
    client.track(&event).expect("tracked");
    runtime
        .block_on(client.flush(Duration::from_secs(10)))
        .expect("flushed");
    emulator.reset();

    let started = Instant::now();
    let mut full = 0u64;
    for _ in 0..events {
        if let Err(TrackError::QueueFull { mut items, .. }) = client.track(&event) {
            // Offer as fast as the engine drains (parking, not spinning, so
            // the producer does not steal the delivery thread's core): this
            // measures delivery, not the queue.
            full += 1;
            runtime
                .block_on(client.enqueue_wait(items.remove(0)))
                .expect("queued");
        }
    }
    let tracked = started.elapsed();
    let report = runtime
        .block_on(client.flush(Duration::from_secs(600)))
        .expect("flushed");
    let elapsed = started.elapsed();

    let batches: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "batch/events" && r.status == 200)
        .collect();
    let received = batches.iter().filter_map(|r| r.items).sum::<usize>() as u64;
    let requests = batches.len() as u64;
    println!("events tracked:          {events} ({full} waited for room)");
    println!("events received:         {received}");
    println!("time to track all:       {tracked:?}");
    println!("time until all received: {elapsed:?}");
    println!(
        "end-to-end rate:         {:.0} events/s",
        events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "HTTP requests per 100k:  {:.1}",
        requests as f64 * 100_000.0 / events as f64
    );
    println!("delivery stats:          {:?}", report.stats);
    assert_eq!(received, events, "every event arrived");
}
