//! The demo: an axum app (signup, purchase with a cart, subscriber import)
//! that tracks derived events through `bento-axum` while it serves.
//!
//! With no `BENTO_*` variables set it starts the Bento emulator in-process;
//! with `BENTO_PUBLISHABLE_KEY`, `BENTO_SECRET_KEY` and `BENTO_SITE_UUID` set
//! it talks to your Bento account.
//!
//!     cargo run --example axum_app              # drives a few requests, shuts down, prints what Bento received
//!     cargo run --example axum_app -- --serve   # keeps serving on 127.0.0.1:3000 for curl
//!     cargo run --example axum_app -- --serve --listen 127.0.0.1:8080
//!
//! Shutdown is graceful, on Ctrl-C or SIGTERM (how systemd, Docker and
//! Kubernetes stop a process): `bento_axum::serve` stops taking requests,
//! finishes the ones in flight, then delivers every queued event. The app
//! itself is in `src/app.rs` and `src/axum_demo.rs`.

use bento_examples::{axum_demo, demo};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");
    let (client, emulator) = demo::client("bento-axum-demo")?;
    let layer = axum_demo::layer(client.clone());
    let (listener, url) = axum_demo::listen(serve_forever).await?;
    let server = bento_axum::serve(listener, axum_demo::router(layer.clone()), client);

    // Graceful: stop taking requests, finish those in flight, then deliver.
    // Anything Bento does not take by the deadline goes to the failure hook
    // (which spools it to a file); the report says so in plain words.
    let served = if serve_forever {
        println!("Ctrl-C or SIGTERM stops the server and delivers what is queued.");
        server.await
    } else {
        let (done, stop) = tokio::sync::oneshot::channel::<()>();
        let server = server.with_graceful_shutdown(async {
            let _ = stop.await;
        });
        let running = tokio::spawn(server.into_future());
        demo::drive(&url, true).await?;
        let _ = done.send(());
        running.await?
    };
    let reported = demo::report_shutdown(served, layer.discarded());
    if let Some(emulator) = &emulator {
        demo::print_received(emulator);
    }
    reported
}
