//! Bounded memory: 1,000,000 events offered to a 10,000-event queue while
//! the server stalls every request. Peak RSS over the baseline must stay flat
//! however many events are offered, because the queue refuses (and hands
//! back) what does not fit.
//!
//! `cargo run --release -p bento-benches --bin memory [events]`

use std::time::{Duration, Instant};

use bento_benches::purchase::purchase;
use bento_benches::setup::{client_for, peak_rss, rss};
use bento_core::TrackError;
use bento_emulator::{Emulator, Fault};

fn main() {
    let events: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .expect("emulator");
    emulator.inject(Fault::delay(Duration::from_secs(3600)).times(u64::MAX));
    let event = purchase();
    let baseline = rss().expect("linux /proc");

    let client = client_for(&emulator)
        .queue_capacity(10_000)
        .drain_timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let started = Instant::now();
    let (mut accepted, mut refused) = (0u64, 0u64);
    for _ in 0..events {
        match client.track(&event) {
            Ok(()) => accepted += 1,
            Err(TrackError::QueueFull { items, .. }) => refused += items.len() as u64,
            Err(other) => panic!("{other}"),
        }
    }
    let elapsed = started.elapsed();
    let peak = peak_rss().expect("linux /proc");
    let stats = client.stats();
    println!("events offered:        {events} in {elapsed:?}");
    println!("accepted / handed back: {accepted} / {refused}");
    println!("stats:                 {stats:?}");
    println!("baseline RSS:          {:.1} MB", baseline as f64 / 1e6);
    println!("peak RSS:              {:.1} MB", peak as f64 / 1e6);
    println!(
        "peak over baseline:    {:.1} MB",
        peak.saturating_sub(baseline) as f64 / 1e6
    );
    assert_eq!(accepted + refused, events);
    assert_eq!(stats.dropped, refused);
    // Leave without waiting an hour for the stalled server.
    drop(client);
}
