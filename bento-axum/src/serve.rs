//! `axum::serve` with a graceful stop on SIGINT and SIGTERM, then the
//! client's drain: the whole of a service's `main` after its router.

use std::convert::Infallible;
use std::fmt::Debug;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use bento_core::Client;
use bento_core::delivery::DeliveryReport;
use bento_core::integration::shutdown::{self, DEFAULT_DRAIN_TIMEOUT, ServeError};
use tower_service::Service;

type Signal = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Serves `make_service` on `listener` like [`axum::serve`] until the
/// process gets SIGINT (Ctrl-C) or SIGTERM (how systemd, Docker and
/// Kubernetes stop a service); then stops taking connections, finishes the
/// requests in flight, and delivers what `client` still holds (for at most
/// 10 s, [`Serve::drain_timeout`]).
///
/// Resolves to what was delivered, or to [`ServeError::Undelivered`] when
/// items were still pending at the deadline (they went to the failure hook);
/// both are also logged. The drain runs even when the server fails.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use bento_axum::BentoLayer;
/// use bento_core::Client;
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let bento = Client::from_env()?;
///     let app = Router::new().route("/", get(|| async { "hi" })).layer(BentoLayer::new(bento.clone()));
///     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
///     bento_axum::serve(listener, app, bento).await?;
///     Ok(())
/// }
/// ```
pub fn serve<L, M, S>(listener: L, make_service: M, client: Client) -> Serve<L, M, S>
where
    L: Listener,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S>,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    Serve {
        listener,
        make_service,
        client,
        signal: None,
        drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        _service: PhantomData,
    }
}

/// A server that stops gracefully and then drains the client; await it.
/// Made by [`serve`].
#[must_use = "a server does nothing until awaited"]
pub struct Serve<L, M, S> {
    listener: L,
    make_service: M,
    client: Client,
    signal: Option<Signal>,
    drain_timeout: Duration,
    _service: PhantomData<fn() -> S>,
}

impl<L, M, S> Debug for Serve<L, M, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("client", &self.client)
            .field("custom_signal", &self.signal.is_some())
            .field("drain_timeout", &self.drain_timeout)
            .finish_non_exhaustive()
    }
}

impl<L, M, S> Serve<L, M, S> {
    /// Stops when `signal` resolves instead of on SIGINT or SIGTERM, as
    /// axum's `with_graceful_shutdown` (tests, or a stop of your own).
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.signal = Some(Box::pin(signal));
        self
    }

    /// How long the drain after the server stopped may take (default 10 s);
    /// what is still undelivered then goes to the failure hook.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }
}

impl<L, M, S> IntoFuture for Serve<L, M, S>
where
    L: Listener,
    L::Addr: Debug,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S> + Send + 'static,
    for<'a> <M as Service<IncomingStream<'a, L>>>::Future: Send,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Output = Result<DeliveryReport, ServeError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let Self {
            listener,
            make_service,
            client,
            signal,
            drain_timeout,
            _service,
        } = self;
        let signal = signal.unwrap_or_else(|| Box::pin(shutdown::signal()));
        Box::pin(async move {
            let served = axum::serve(listener, make_service)
                .with_graceful_shutdown(signal)
                .await;
            // Drained even when the server failed: what it tracked is not lost.
            let drained = shutdown::drain(&client, drain_timeout).await;
            served.map_err(ServeError::Server)?;
            Ok(drained?)
        })
    }
}
