//! Requests per second of a hello-world axum route, three ways, in one run:
//! plain axum; axum + `BentoLayer`; axum + `BentoLayer` + one tracked event
//! per request. The load generator (keep-alive HTTP/1.1 over loopback, a fixed
//! number of connections) runs in this process on its own runtime; rounds
//! alternate between the variants so that drift hits all three alike.
//!
//! `cargo run --release -p bento-benches --bin axum_load [connections] [seconds] [rounds]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use bento_axum::{Bento, BentoLayer};
use bento_benches::sink::Sink;
use bento_core::{BentoEvent, Client, RateLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(BentoEvent)]
#[bento(event = "page.view")]
struct PageView {
    email: &'static str,
    path: &'static str,
}

async fn hello() -> &'static str {
    "hello"
}

async fn hello_tracked(bento: Bento) -> &'static str {
    let _ = bento.track(&PageView {
        email: "visitor@example.com",
        path: "/hello",
    });
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

/// Requests per second over `seconds`, after a one-second warm-up.
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

    let load = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("load runtime");
    let counting = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let rps = load.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..connections {
            let (counting, done, count) = (counting.clone(), done.clone(), count.clone());
            clients.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut buf = vec![0u8; 4096];
                while !done.load(Ordering::Relaxed) {
                    stream
                        .write_all(b"GET /hello HTTP/1.1\r\nhost: bench\r\n\r\n")
                        .await
                        .expect("write");
                    read_response(&mut stream, &mut buf).await;
                    if counting.load(Ordering::Relaxed) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        counting.store(true, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let served = count.load(Ordering::Relaxed);
        let elapsed = started.elapsed();
        done.store(true, Ordering::Relaxed);
        for client in clients {
            let _ = client.await;
        }
        served as f64 / elapsed.as_secs_f64()
    });
    let _ = stop.send(());
    let _ = server.block_on(serving);
    rps
}

/// Reads one response: headers, then `content-length` bytes of body.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) {
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        filled += n;
        let head = &buf[..filled];
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            let length: usize = headers
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if filled >= end + 4 + length {
                return;
            }
        }
    }
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
    let client = Client::builder()
        .base_url(sink.base_url())
        .publishable_key("pk")
        .secret_key("sk")
        .site_uuid("site")
        .rate_limits(RateLimits::unlimited())
        .queue_capacity(1_000_000)
        .build()
        .expect("client");

    let variants = [Variant::Plain, Variant::Layer, Variant::LayerAndEvent];
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        for (i, variant) in variants.iter().enumerate() {
            let rps = measure(&server, app(*variant, &client), connections, seconds);
            println!("round {round}: {variant:?} {rps:.0} requests/s");
            results[i].push(rps);
        }
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let plain = median(&mut results[0]);
    let layer = median(&mut results[1]);
    let tracked = median(&mut results[2]);
    let stats = client.stats();
    println!(
        "\n{connections} connections, {seconds} s per measurement, median of {rounds} rounds:"
    );
    println!("  plain axum:                    {plain:.0} requests/s");
    println!(
        "  + BentoLayer:                  {layer:.0} requests/s ({:.3}x)",
        layer / plain
    );
    println!(
        "  + BentoLayer + 1 event/request: {tracked:.0} requests/s ({:.3}x)",
        tracked / plain
    );
    println!(
        "  events tracked {} / refused {} / sink requests {}",
        stats.queued,
        stats.dropped,
        sink.requests()
    );
}
