//! The tombstone check on `Client::track`: the same client with no
//! tombstone, then with 1,000,000 (a million people erased), tracking an
//! event about someone who was not erased. Both against the sink
//! (`benches/src/sink.rs`) with its answers held, as `track`'s `caller
//! alone` setting.
//!
//! `cargo bench -p bento-benches --bench erasure`; figures in docs/BENCHMARKS.md.

use bento_benches::setup::TrackingSink;
use criterion::{Criterion, criterion_group, criterion_main};

/// How many people are erased before the second measurement
/// (`BENTO_BENCH_ERASED` to change it).
fn erased() -> usize {
    std::env::var("BENTO_BENCH_ERASED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

fn erasure(c: &mut Criterion) {
    let tracking = TrackingSink::start();
    let client = &tracking.client;
    let mut group = c.benchmark_group("track");
    group.sample_size(50);
    group.bench_function("no tombstone", |b| {
        b.iter_custom(|iters| tracking.timed(iters))
    });

    // A million erasures (each also asks the sink to delete the person).
    let erased = erased();
    let started = std::time::Instant::now();
    tracking.runtime.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let client = client.clone();
                tokio::spawn(async move {
                    for n in (task..erased).step_by(8) {
                        let _ = client.erase(&format!("erased{n}@example.com")).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("erasures");
        }
    });
    println!(
        "{erased} tombstones set in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    group.bench_function(format!("{erased} tombstones"), |b| {
        b.iter_custom(|iters| tracking.timed(iters))
    });
    group.finish();
}

criterion_group!(benches, erasure);
criterion_main!(benches);
