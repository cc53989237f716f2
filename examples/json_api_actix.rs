//! The actix-web twin of `json_api_axum`: the same JSON API, sessions in an
//! async store. With no `BENTO_*` set, a debug build runs dry.
//!
//!     cargo run --example json_api_actix                 # drives a few requests, then stops
//!     cargo run --example json_api_actix -- --serve      # serves on 127.0.0.1:3000 until Ctrl-C or SIGTERM

use actix_web::{App, HttpServer, web};
use bento_examples::json_api::{self, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    actix_web::rt::System::new().block_on(async {
        let bento = bento_core::Client::from_env()?;
        let store = Store::default();
        let middleware = json_api::actix::middleware(&store, &bento);
        let serve_forever = std::env::args().any(|a| a == "--serve");
        let address = if serve_forever {
            bento_examples::demo::listen_address()
        } else {
            "127.0.0.1:0".to_owned()
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(store.clone()))
                .wrap(middleware.clone())
                .configure(json_api::actix::routes)
        })
        .workers(2)
        .shutdown_signal(bento_actix::shutdown_signal())
        .bind(address)?;
        let url = format!("http://{}", server.addrs()[0]);
        println!("Serving on {url}");
        let server = server.run();
        let handle = server.handle();
        let running = actix_web::rt::spawn(bento_actix::run(server, bento).into_future());
        if !serve_forever {
            json_api::drive(&url).await?;
            handle.stop(true).await;
        }
        running.await??;
        Ok(())
    })
}
