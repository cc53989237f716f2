//! `Client::track` on the hot path, against `serde_json::to_vec` of the same
//! event alone. The queue is flushed between samples (not timed), so every
//! timed call takes the accepting path, never the queue-full one.
//!
//! `cargo bench -p bento-benches --bench track`; figures in docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bento_benches::alloc::{self, Counting};
use bento_benches::purchase::{HandWritten, purchase};
use bento_core::{Client, RateLimits};
use bento_emulator::Emulator;
use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn track(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .expect("emulator");
    let client = Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .rate_limits(RateLimits::unlimited())
        .queue_capacity(4_000_000)
        .build()
        .expect("client");
    let event = purchase();
    let flush = |client: &Client| {
        runtime
            .block_on(client.flush(Duration::from_secs(600)))
            .expect("flushed");
        emulator.reset();
    };

    // Warm the delivery thread and its connections, then count allocations.
    client.track(&event).expect("tracked");
    flush(&client);
    println!(
        "allocations per call, track: {}",
        alloc::per_call(10_000, || client.track(black_box(&event)).expect("tracked"))
    );
    flush(&client);
    println!(
        "allocations per call, serde_json::to_vec: {}",
        alloc::per_call(10_000, || {
            black_box(serde_json::to_vec(&HandWritten(black_box(&event))).expect("serializes"));
        })
    );

    let mut group = c.benchmark_group("track");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("serde_json::to_vec (same event, alone)", |b| {
        b.iter(|| serde_json::to_vec(&HandWritten(black_box(&event))).expect("serializes"))
    });
    group.bench_function("Client::track", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                client.track(black_box(&event)).expect("tracked");
            }
            let elapsed = started.elapsed();
            flush(&client);
            elapsed
        })
    });
    group.finish();
}

criterion_group!(benches, track);
criterion_main!(benches);
