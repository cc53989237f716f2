//! The actix-web twin of `axum_app`: the same app (signup, purchase with a
//! cart, subscriber import) through `bento-actix`.
//!
//!     cargo run --example actix_app              # drives a few requests, shuts down, prints what Bento received
//!     cargo run --example actix_app -- --serve   # keeps serving on 127.0.0.1:3000 for curl
//!
//! The client is built once, outside the `HttpServer::new` closure (which
//! runs once per worker); `bento_actix::run` delivers every queued event
//! once the server has stopped.

use actix_web::{App, HttpServer};
use bento_examples::{actix_demo, demo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");
    let (client, emulator) = demo::client("bento-actix-demo")?;
    let middleware = actix_demo::middleware(client.clone());

    let served = actix_web::rt::System::new().block_on(async {
        let factory = middleware.clone();
        let address = if serve_forever {
            demo::listen_address()
        } else {
            "127.0.0.1:0".to_owned()
        };
        let server = HttpServer::new(move || {
            App::new()
                .wrap(factory.clone())
                .configure(actix_demo::routes)
        })
        .workers(2)
        // Graceful on Ctrl-C as on SIGTERM: on its own, actix-web stops at
        // once on Ctrl-C, dropping the requests in flight.
        .shutdown_signal(bento_actix::shutdown_signal())
        .bind(address)?;
        let url = format!("http://{}", server.addrs()[0]);
        println!("Serving on {url}");
        let server = server.run();
        let handle = server.handle();
        // Once the server stops, what is queued is delivered. Anything Bento
        // does not take by the deadline goes to the failure hook (which
        // spools it to a file); the report says so in plain words.
        let running = actix_web::rt::spawn(bento_actix::run(server, client).into_future());
        if serve_forever {
            println!(
                "Ctrl-C or SIGTERM stops the server (gracefully) and delivers what is queued."
            );
        } else {
            demo::drive(&url, true).await?;
            handle.stop(true).await;
        }
        Ok::<_, Box<dyn std::error::Error>>(running.await?)
    })?;
    let reported = demo::report_shutdown(served, middleware.discarded());
    if let Some(emulator) = &emulator {
        demo::print_received(emulator);
    }
    reported
}
