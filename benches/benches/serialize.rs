//! Serializing a `$purchase` event: the derive vs a hand-written `Serialize`
//! vs a `serde_json::Value`, plus allocations per event for each.
//!
//! `cargo bench -p bento-benches --bench serialize`; figures in docs/BENCHMARKS.md.

use std::hint::black_box;

use bento_benches::alloc::{self, Counting};
use bento_benches::purchase::{Envelope, HandWritten, as_value, purchase};
use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn serialize(c: &mut Criterion) {
    let event = purchase();
    let mut buf = Vec::with_capacity(1024);

    // The three ways must agree byte for byte, or the comparison means nothing.
    let derived = bento_core::events::to_vec(&event).expect("valid event");
    let hand = serde_json::to_vec(&HandWritten(&event)).expect("serializes");
    assert_eq!(derived, hand, "the derive and the hand-written impl differ");
    let envelope = serde_json::to_vec(&Envelope(&event)).expect("serializes");
    assert_eq!(
        derived, envelope,
        "the bench's envelope and the SDK's differ"
    );
    let value = serde_json::to_vec(&as_value(&event)).expect("serializes");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&value).expect("json"),
        serde_json::from_slice::<serde_json::Value>(&derived).expect("json")
    );
    println!("event: {} bytes", derived.len());

    const RUNS: u64 = 10_000;
    let report = |name: &str, per_call: f64| println!("allocations per event, {name}: {per_call}");
    report(
        "derive + checks",
        alloc::per_call(RUNS, || {
            buf.clear();
            bento_core::events::encode_into(black_box(&event), &mut buf).expect("valid");
        }),
    );
    report(
        "derive",
        alloc::per_call(RUNS, || {
            buf.clear();
            serde_json::to_writer(&mut buf, &Envelope(black_box(&event))).expect("serializes");
        }),
    );
    report(
        "hand-written",
        alloc::per_call(RUNS, || {
            buf.clear();
            serde_json::to_writer(&mut buf, &HandWritten(black_box(&event))).expect("serializes");
        }),
    );
    report(
        "serde_json::Value",
        alloc::per_call(RUNS, || {
            buf.clear();
            serde_json::to_writer(&mut buf, &as_value(black_box(&event))).expect("serializes");
        }),
    );

    // The enum's variant writes the same bytes.
    let shop = bento_benches::purchase::shop_purchase();
    let as_enum = bento_core::events::to_vec(&shop).expect("valid event");
    assert_eq!(as_enum, derived, "the enum variant and the struct differ");

    let mut group = c.benchmark_group("purchase");
    group.bench_function("enum variant + checks", |b| {
        b.iter(|| {
            buf.clear();
            bento_core::events::encode_into(black_box(&shop), &mut buf).expect("valid");
        })
    });
    group.bench_function("derive + checks", |b| {
        b.iter(|| {
            buf.clear();
            bento_core::events::encode_into(black_box(&event), &mut buf).expect("valid");
        })
    });
    group.bench_function("derive", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, &Envelope(black_box(&event))).expect("serializes");
        })
    });
    group.bench_function("hand-written", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, &HandWritten(black_box(&event))).expect("serializes");
        })
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, &as_value(black_box(&event))).expect("serializes");
        })
    });
    group.finish();
}

criterion_group!(benches, serialize);
criterion_main!(benches);
