//! A running actix-web server, then the client's drain: the whole of a
//! service's `main` after its `HttpServer`.

use std::fmt::Debug;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Server;
use bento_core::Client;
use bento_core::delivery::DeliveryReport;
use bento_core::integration::shutdown::{self, DEFAULT_DRAIN_TIMEOUT, ServeError};

/// Runs `server` (from [`HttpServer::run`](actix_web::HttpServer::run))
/// until it stops, then delivers what `client` still holds (for at most
/// 10 s, [`Run::drain_timeout`]).
///
/// The server stops as actix-web decides: on SIGTERM it stops taking
/// connections and finishes the requests in flight (for its
/// `shutdown_timeout`, 30 s by default); on SIGINT (Ctrl-C) and SIGQUIT it
/// stops at once, dropping requests in flight. To stop gracefully on Ctrl-C
/// too, give the server [`shutdown_signal`](crate::shutdown_signal):
/// `HttpServer::new(..).shutdown_signal(bento_actix::shutdown_signal())`.
/// Either way, what handlers had tracked is delivered.
///
/// Resolves to what was delivered, or to [`ServeError::Undelivered`] when
/// items were still pending at the deadline (they went to the failure hook);
/// both are also logged. The drain runs even when the server fails.
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use bento_actix::BentoMiddleware;
///
/// # async fn main_body() -> Result<(), Box<dyn std::error::Error>> {
/// // in `#[actix_web::main] async fn main()`:
/// let bento = bento_core::Client::from_env()?;
/// let middleware = BentoMiddleware::new(bento.clone());
/// let server = HttpServer::new(move || App::new().wrap(middleware.clone()).route("/", web::get().to(|| async { "hi" })))
///     .bind(("0.0.0.0", 3000))?
///     .run();
/// bento_actix::run(server, bento).await?;
/// # Ok(()) }
/// ```
pub fn run(server: Server, client: Client) -> Run {
    Run {
        server,
        client,
        drain_timeout: DEFAULT_DRAIN_TIMEOUT,
    }
}

/// A server whose stop is followed by the client's drain; await it. Made by
/// [`run`].
#[must_use = "a server does nothing until awaited"]
pub struct Run {
    server: Server,
    client: Client,
    drain_timeout: Duration,
}

impl Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("client", &self.client)
            .field("drain_timeout", &self.drain_timeout)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// How long the drain after the server stopped may take (default 10 s);
    /// what is still undelivered then goes to the failure hook.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }
}

impl IntoFuture for Run {
    type Output = Result<DeliveryReport, ServeError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let Self {
            server,
            client,
            drain_timeout,
        } = self;
        Box::pin(async move {
            let served = server.await;
            // Drained even when the server failed: what it tracked is not lost.
            let drained = shutdown::drain(&client, drain_timeout).await;
            served.map_err(ServeError::Server)?;
            Ok(drained?)
        })
    }
}
