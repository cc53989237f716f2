//! Pacing holds however late a granted request reaches Bento: requests go
//! through a proxy that holds each of them for a random time of up to two
//! windows between the client's grant and the server's arrival, and the
//! emulator, counting arrivals against the same limit, never answers 429.

use std::time::Duration;

use bento_core::{Client, EndpointFamily, Event, RateLimit, RateLimits};
use bento_emulator::{Emulator, Family, Limit};
use bento_tests::late::LateProxy;

const REQUESTS: u32 = 4;
const WINDOW: Duration = Duration::from_millis(500);

async fn emulator_with(family: Family) -> Emulator {
    Emulator::builder()
        .no_rate_limits()
        .rate_limit(family, Limit::new(REQUESTS, WINDOW))
        .start()
        .await
        .unwrap()
}

fn client_through(proxy: &LateProxy, emulator: &Emulator, family: EndpointFamily) -> Client {
    bento_core::testing::client_for(emulator)
        .base_url(proxy.url_for(&emulator.base_url()))
        .rate_limits(RateLimits::unlimited().set(family, RateLimit::new(REQUESTS, WINDOW)))
        .timeout(Duration::from_secs(10))
        .flush_interval(Duration::from_millis(10))
        .events_per_request(1)
        .build()
        .unwrap()
}

fn refused(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_calls_stay_under_the_limit_however_late_they_arrive() {
    let emulator = emulator_with(Family::Fetch).await;
    let upstream = emulator.addr();
    let proxy = LateProxy::start(upstream, WINDOW * 2, 7).await;
    let client = client_through(&proxy, &emulator, EndpointFamily::Fetch);
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.tags().await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        proxy.delayed() >= 16,
        "every request went through the proxy"
    );
    assert_eq!(refused(&emulator), 0, "no window saw more than {REQUESTS}");
    let fetches = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "fetch/tags")
        .count();
    assert_eq!(fetches, 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_stays_under_the_limit_however_late_its_batches_arrive() {
    let emulator = emulator_with(Family::Batch).await;
    let proxy = LateProxy::start(emulator.addr(), WINDOW * 2, 11).await;
    let client = client_through(&proxy, &emulator, EndpointFamily::Batch);
    for n in 0..16u64 {
        client
            .track(&Event::new("late.test", format!("u{n}@example.com")))
            .unwrap();
    }
    let report = client.flush(Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.stats.sent, 16, "{:?}", report.stats);
    assert_eq!(refused(&emulator), 0, "no window saw more than {REQUESTS}");
    assert_eq!(emulator.events().len(), 16);
}
