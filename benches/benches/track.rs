//! `Client::track` on the hot path, against `serde_json::to_vec` of the same
//! event alone.
//!
//! The client delivers to a sink (`benches/src/sink.rs`) that answers every
//! request without parsing it, standing in for the remote Bento. Two settings:
//! - `caller alone`: the sink holds its answers while calls are timed, so the
//!   delivery thread only takes items off the queue; between runs of 5,000
//!   calls the sink answers and the queue is flushed (untimed). This is what a
//!   request handler pays.
//! - `while delivering`: the sink answers at once and the delivery thread
//!   sends batches during the timed calls. Calls are offered far faster than
//!   any real app tracks, so the delivery work competes with the caller for
//!   this machine's two cores.
//!
//! `cargo bench -p bento-benches --bench track`; figures in docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::Instant;

use bento_benches::alloc::{self, Counting};
use bento_benches::purchase::HandWritten;
use bento_benches::setup::TrackingSink;
use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn track(c: &mut Criterion) {
    let tracking = TrackingSink::start();
    let (sink, client) = (&tracking.sink, &tracking.client);
    let event = tracking.event.clone();
    let flush = || tracking.flush();

    // Allocations on the caller's path: 900 calls stay under one batch, so
    // the delivery thread sleeps and allocates nothing meanwhile.
    println!(
        "allocations per call, track: {}",
        alloc::per_call(900, || client.track(black_box(&event)).expect("tracked"))
    );
    flush();
    println!(
        "allocations per call, serde_json::to_vec: {}",
        alloc::per_call(10_000, || {
            black_box(serde_json::to_vec(&HandWritten(black_box(&event))).expect("serializes"));
        })
    );

    let mut group = c.benchmark_group("track");
    group.sample_size(50);
    group.bench_function("serde_json::to_vec (same event, alone)", |b| {
        b.iter(|| serde_json::to_vec(&HandWritten(black_box(&event))).expect("serializes"))
    });
    group.bench_function("Client::track, caller alone", |b| {
        b.iter_custom(|iters| {
            sink.time_held(
                iters,
                |n| {
                    for _ in 0..n {
                        client.track(black_box(&event)).expect("tracked");
                    }
                },
                flush,
            )
        })
    });
    group.bench_function("Client::track, while delivering", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                client.track(black_box(&event)).expect("tracked");
            }
            let elapsed = started.elapsed();
            if client.stats().pending > 1_000_000 {
                flush();
            }
            elapsed
        })
    });
    group.finish();
    println!("sink requests: {}", sink.requests());
}

criterion_group!(benches, track);
criterion_main!(benches);
