//! The same three-way load test as `axum_load`, on actix-web: plain;
//! `BentoMiddleware`; `BentoMiddleware` + one tracked event per request.
//!
//! `cargo run --release -p bento-benches --bin actix_load [connections] [seconds] [rounds]`

use std::net::SocketAddr;

use actix_web::{App, HttpServer, web};
use bento_actix::{Bento, BentoMiddleware};
use bento_benches::load;
use bento_benches::setup::{HELLO_VIEW, client_for_sink};
use bento_benches::sink::Sink;
use bento_core::Client;

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
    Middleware,
    MiddlewareAndEvent,
}

/// Serves the variant on 2 workers (each a current-thread runtime) in its
/// own thread while the load generator runs; requests per second.
fn measure(variant: Variant, client: &Client, connections: usize, seconds: u64) -> f64 {
    let middleware = BentoMiddleware::new(client.clone());
    let (ready, addr) = std::sync::mpsc::channel::<(SocketAddr, actix_web::dev::ServerHandle)>();
    let serving = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            // One arm per variant, so that "plain" has no middleware at all.
            macro_rules! serve {
                ($factory:expr) => {{
                    let server = HttpServer::new($factory)
                        .workers(2)
                        .bind(("127.0.0.1", 0))
                        .expect("bind");
                    let bound = server.addrs()[0];
                    let server = server.run();
                    ready.send((bound, server.handle())).expect("ready");
                    server.await.expect("serve");
                }};
            }
            match variant {
                Variant::Plain => serve!(|| App::new().route("/hello", web::get().to(hello))),
                Variant::Middleware => serve!(move || App::new()
                    .wrap(middleware.clone())
                    .route("/hello", web::get().to(hello))),
                Variant::MiddlewareAndEvent => serve!(move || App::new()
                    .wrap(middleware.clone())
                    .route("/hello", web::get().to(hello_tracked))),
            }
        });
    });
    let (bound, handle) = addr.recv().expect("server address");
    let rps = load::requests_per_second(bound, connections, seconds);
    actix_web::rt::System::new().block_on(handle.stop(true));
    serving.join().expect("server thread");
    rps
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let connections = args.next().flatten().unwrap_or(64) as usize;
    let seconds = args.next().flatten().unwrap_or(5);
    let rounds = args.next().flatten().unwrap_or(3);

    let sink = Sink::start().expect("sink");
    let client = client_for_sink(&sink).build().expect("client");

    let variants = [
        Variant::Plain,
        Variant::Middleware,
        Variant::MiddlewareAndEvent,
    ];
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        for (i, variant) in variants.iter().enumerate() {
            let rps = measure(*variant, &client, connections, seconds);
            println!("round {round}: {variant:?} {rps:.0} requests/s");
            results[i].push(rps);
        }
    }
    load::report(
        "actix-web",
        &[
            "plain actix-web",
            "+ BentoMiddleware",
            "+ BentoMiddleware + 1 event/request",
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
