//! The second example: a JSON API whose sessions live in an async store,
//! on axum. With no `BENTO_*` set, a debug build runs dry: nothing is sent,
//! and each event it would send is printed.
//!
//!     cargo run --example json_api_axum                  # drives a few requests, then stops
//!     cargo run --example json_api_axum -- --serve       # serves on 127.0.0.1:3000 until Ctrl-C or SIGTERM
//!
//! The app is in `src/json_api/`; its Bento code is counted in the README.

use bento_examples::json_api::{self, axum::AppState};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bento = bento_core::Client::from_env()?;
    let app = json_api::axum::router(AppState::default(), &bento);
    let serve_forever = std::env::args().any(|a| a == "--serve");
    let (listener, url) = bento_examples::axum_demo::listen(serve_forever).await?;
    let server = bento_axum::serve(listener, app, bento);
    if serve_forever {
        server.await?;
    } else {
        let (done, stop) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(
            server
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .into_future(),
        );
        json_api::drive(&url).await?;
        let _ = done.send(());
        running.await??;
    }
    Ok(())
}
