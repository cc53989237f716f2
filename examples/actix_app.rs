//! The actix-web twin of `axum_app`: the same app (signup, purchase with a
//! cart, subscriber import) through `bento-actix`.
//!
//!     cargo run --example actix_app              # drives a few requests, shuts down, prints what Bento received
//!     cargo run --example actix_app -- --serve   # keeps serving on 127.0.0.1:3000 for curl
//!
//! The client is built once, outside the `HttpServer::new` closure (which
//! runs once per worker); after `run().await` returns, `client.shutdown`
//! delivers every queued event.

use std::time::Duration;

use actix_web::{App, HttpServer};
use bento_examples::{actix_demo, demo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");
    let (client, emulator) = demo::client("bento-actix-demo")?;
    let middleware = actix_demo::middleware(client.clone());

    actix_web::rt::System::new().block_on(async {
        let factory = middleware.clone();
        let address = if serve_forever {
            demo::listen_address()
        } else {
            "127.0.0.1:0".to_owned()
        };
        // actix-web's own signal handling is off: the demo stops on Ctrl-C
        // and SIGTERM alike, always gracefully, then delivers what is queued.
        let server = HttpServer::new(move || {
            App::new()
                .wrap(factory.clone())
                .configure(actix_demo::routes)
        })
        .workers(2)
        .disable_signals()
        .bind(address)?;
        let url = format!("http://{}", server.addrs()[0]);
        println!("Serving on {url}");
        let server = server.run();
        let handle = server.handle();
        let running = actix_web::rt::spawn(server);
        if serve_forever {
            println!(
                "Ctrl-C or SIGTERM stops the server (gracefully) and delivers what is queued."
            );
            demo::shutdown_signal().await;
        } else {
            demo::drive(&url, true).await?;
        }
        handle.stop(true).await;
        running.await??;

        // Anything Bento does not take by the deadline goes to the failure
        // hook (which spools it to a file); the report says so in plain words.
        let shutdown = client.shutdown(Duration::from_secs(10)).await;
        demo::report_shutdown(shutdown, middleware.discarded())
    })?;
    if let Some(emulator) = &emulator {
        demo::print_received(emulator);
    }
    Ok(())
}
