//! Stopping a service without losing what it tracked: the signals that ask
//! a service to stop, and the drain once its server has stopped. The
//! frameworks' `serve`/`run` are built on these; a server of your own can
//! call them the same way.

use std::time::Duration;

use crate::Client;
use crate::delivery::{DeliveryReport, FlushError};

/// How long [`drain`] waits by default: within the 30 s Kubernetes, Docker
/// and systemd wait between SIGTERM and SIGKILL, with room for the server's
/// own graceful stop before it.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) or SIGTERM,
/// which is how systemd, Docker and Kubernetes stop a service. Listening for
/// Ctrl-C alone would lose every queued event on a `docker stop`.
///
/// Called inside a tokio runtime (as `serve` and `main` are), it listens
/// from the call on, before the future is first polled: a SIGTERM that
/// comes right after a server announced itself is not the default
/// "terminate at once". A signal that cannot be listened for (no signal
/// support on the platform) never resolves, rather than stopping the
/// service at once.
///
/// ```no_run
/// # async fn run() {
/// bento_core::integration::shutdown::signal().await;
/// println!("stopping");
/// # }
/// ```
pub fn signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let in_runtime = tokio::runtime::Handle::try_current().is_ok();
        let listen = |kind| in_runtime.then(|| signal(kind).ok()).flatten();
        let (early_term, early_interrupt) = (
            listen(SignalKind::terminate()),
            listen(SignalKind::interrupt()),
        );
        async move {
            let mut term = early_term.or_else(|| signal(SignalKind::terminate()).ok());
            let mut interrupt = early_interrupt.or_else(|| signal(SignalKind::interrupt()).ok());
            let term = async {
                match &mut term {
                    Some(term) => {
                        term.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let interrupt = async {
                match &mut interrupt {
                    Some(interrupt) => {
                        interrupt.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupt => {}
                () = term => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Why serving ended in an error: the server failed, or it stopped cleanly
/// but Bento did not get everything by the drain's deadline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The server itself failed (binding, accepting).
    #[error("the server failed: {0}")]
    Server(#[source] std::io::Error),
    /// The server stopped, and the drain left items undelivered: they went
    /// to the failure hook (or stay in the durable store, for an outbox).
    #[error(transparent)]
    Undelivered(#[from] FlushError),
}

/// Delivers what `client` still holds, for at most `timeout`, once the
/// server has stopped taking requests, and says how it went: the report at
/// info level, anything left undelivered at error level (it went to the
/// failure hook). Every clone of `client` stops accepting items.
///
/// ```no_run
/// # async fn run(client: bento_core::Client) {
/// use bento_core::integration::shutdown;
/// shutdown::signal().await;
/// // ... stop your server, then:
/// let report = shutdown::drain(&client, shutdown::DEFAULT_DRAIN_TIMEOUT).await;
/// # let _ = report;
/// # }
/// ```
pub async fn drain(client: &Client, timeout: Duration) -> Result<DeliveryReport, FlushError> {
    let drained = client.shutdown(timeout).await;
    match &drained {
        Ok(report) => tracing::info!(
            sent = report.stats.sent,
            retried = report.stats.retried,
            failed = report.stats.failed,
            refused = report.stats.refused,
            waited_ms = report.waited.as_millis() as u64,
            "Bento: delivered everything queued before shutdown"
        ),
        Err(FlushError::Timeout { pending, timeout }) => tracing::error!(
            pending,
            timeout_ms = timeout.as_millis() as u64,
            "Bento: items still undelivered at the shutdown deadline were handed to the failure hook"
        ),
    }
    drained
}
