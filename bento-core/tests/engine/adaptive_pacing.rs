//! Pacing that holds however Bento counts: the emulator is set to a limit
//! the client does not know, and the client finds it. A window of 2 s stands
//! for Bento's minute (60 and 100 per window for its 60 and 100 a minute).
//!
//! - Bento allows less than the client assumes: a handful of 429s in the
//!   first window, none after, and at least 90% of Bento's capacity used;
//!   with `Retry-After` (direct calls) and without it (the engine).
//! - Bento allows more than an estimate: the client probes up, finds the
//!   limit with a handful of 429s, none after, and uses at least 90% of it.
//!
//! What counts is what the emulator saw: the time each request arrived, from
//! its request log.

use std::time::Duration;

use bento_core::{Client, EndpointFamily, Event, RateLimit, RateLimits};
use bento_emulator::{Emulator, Family, Limit};
use bento_tests::arrivals::{Seen, fetch_tags_for};

const WINDOW: Duration = Duration::from_secs(2);
/// Direct calls in flight at once.
const CALLERS: usize = 8;

async fn emulator(family: Family, requests: u32, retry_after: bool) -> Emulator {
    Emulator::builder()
        .no_rate_limits()
        .rate_limit(family, Limit::new(requests, WINDOW))
        .rate_limit_retry_after(retry_after)
        .start()
        .await
        .unwrap()
}

fn client(emulator: &Emulator, family: EndpointFamily, limit: RateLimit) -> Client {
    bento_core::testing::client_for(emulator)
        .rate_limits(RateLimits::unlimited().set(family, limit))
        .timeout(Duration::from_secs(10))
        .flush_interval(Duration::from_millis(5))
        .events_per_request(1)
        .build()
        .unwrap()
}

/// A handful: at most one per request in flight when the first 429 came.
const HANDFUL: usize = CALLERS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bento_stricter_than_assumed_costs_a_handful_of_429s_in_the_first_window() {
    let emulator = emulator(Family::Fetch, 60, true).await;
    let client = client(
        &emulator,
        EndpointFamily::Fetch,
        RateLimit::new(100, WINDOW),
    );
    fetch_tags_for(&client, CALLERS, WINDOW * 8).await;
    let seen = Seen::of(&emulator, "fetch/tags", WINDOW);
    seen.report("stricter");
    seen.found_the_limit_at_once(HANDFUL, 60, 2, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_finds_a_stricter_bento_without_retry_after() {
    let emulator = emulator(Family::Batch, 60, false).await;
    let client = client(
        &emulator,
        EndpointFamily::Batch,
        RateLimit::new(100, WINDOW),
    );
    // More than eight windows can carry, one event per request.
    for n in 0..800u32 {
        client
            .track(&Event::new("paced.test", format!("u{n}@example.com")))
            .unwrap();
    }
    // The measurement runs for eight windows: a span of time, not a wait
    // for a condition.
    tokio::time::sleep(WINDOW * 8).await;
    let seen = Seen::of(&emulator, "batch/events", WINDOW);
    seen.report("engine");
    seen.found_the_limit_at_once(HANDFUL, 60, 2, 7);
    // Hundreds of events are still queued on purpose: they are not measured.
    let _ = client.shutdown(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estimate_below_bento_probes_up_to_its_limit() {
    let emulator = emulator(Family::Fetch, 100, true).await;
    let client = client(
        &emulator,
        EndpointFamily::Fetch,
        RateLimit::new(60, WINDOW).estimate(),
    );
    fetch_tags_for(&client, CALLERS, WINDOW * 13).await;
    let seen = Seen::of(&emulator, "fetch/tags", WINDOW);
    seen.report("estimate");
    assert!(
        !seen.refused.is_empty() && seen.refused.len() <= HANDFUL,
        "the probe found the limit with a handful of 429s: {:?}",
        seen.refused
    );
    let first = seen.refused[0];
    assert!(
        seen.refused.iter().all(|&at| at < first + WINDOW),
        "none after the window of the first: {:?}",
        seen.refused
    );
    let settled = (first.as_secs_f64() / WINDOW.as_secs_f64()).ceil() as u32 + 1;
    assert!(
        settled <= 10,
        "found within ten windows: first 429 at {first:?}"
    );
    let used = seen.accepted_in(settled, 13);
    let capacity = 100 * (13 - settled) as usize;
    assert!(
        used >= capacity * 9 / 10,
        "{used} of Bento's {capacity} requests after the 429 at {first:?}"
    );
}
