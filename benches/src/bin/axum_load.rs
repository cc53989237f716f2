//! Requests per second of a hello-world axum route, three ways, in one run:
//! plain axum; axum + `BentoLayer`; axum + `BentoLayer` + one tracked event
//! per request. The load generator (keep-alive HTTP/1.1 over loopback, a fixed
//! number of connections) runs in this process on its own runtime; rounds
//! alternate between the variants so that drift hits all three alike.
//!
//! `cargo run --release -p bento-benches --bin axum_load [connections] [seconds] [rounds]`

use axum::Router;
use axum::routing::get;
use bento_axum::{Bento, BentoLayer};
use bento_benches::load;
use bento_benches::setup::{HELLO_VIEW, client_for_sink};
use bento_benches::sink::Sink;
use bento_core::Client;
use tokio::net::TcpListener;

async fn hello() -> &'static str {
    "hello"
}

async fn hello_tracked(bento: Bento) -> &'static str {
    let _ = bento.track(&HELLO_VIEW);
    "hello"
}

#[derive(Clone, Copy, Debug)]
enum Variant {
    Plain,
    Layer,
    LayerAndEvent,
}

fn app(variant: Variant, client: &Client) -> Router {
    match variant {
        Variant::Plain => Router::new().route("/hello", get(hello)),
        Variant::Layer => Router::new()
            .route("/hello", get(hello))
            .layer(BentoLayer::new(client.clone())),
        Variant::LayerAndEvent => Router::new()
            .route("/hello", get(hello_tracked))
            .layer(BentoLayer::new(client.clone())),
    }
}

/// Serves `app` while the load generator runs; requests per second.
fn measure(server: &tokio::runtime::Runtime, app: Router, connections: usize, seconds: u64) -> f64 {
    let listener = server
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = server.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
    });
    let rps = load::requests_per_second(addr, connections, seconds);
    let _ = stop.send(());
    let _ = server.block_on(serving);
    rps
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let connections = args.next().flatten().unwrap_or(64) as usize;
    let seconds = args.next().flatten().unwrap_or(5);
    let rounds = args.next().flatten().unwrap_or(3);

    let sink = Sink::start().expect("sink");
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("server runtime");
    let client = client_for_sink(&sink).build().expect("client");

    let variants = [Variant::Plain, Variant::Layer, Variant::LayerAndEvent];
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        for (i, variant) in variants.iter().enumerate() {
            let rps = measure(&server, app(*variant, &client), connections, seconds);
            println!("round {round}: {variant:?} {rps:.0} requests/s");
            results[i].push(rps);
        }
    }
    load::report(
        "axum",
        &[
            "plain axum",
            "+ BentoLayer",
            "+ BentoLayer + 1 event/request",
        ],
        results,
        connections,
        seconds,
    );
    let stats = client.stats();
    println!(
        "  events tracked {} / refused {} / sink requests {}",
        stats.queued,
        stats.dropped,
        sink.requests()
    );
}
