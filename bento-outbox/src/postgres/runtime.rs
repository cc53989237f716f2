//! The application's runtime, where the relay's database work runs so that
//! every connection it uses comes from (and may go back to) the
//! application's own pool, inside its `max_connections`.
//!
//! A connection belongs to the runtime that opened it: the relay runs on
//! the client's delivery thread, whose runtime is its own, so a connection
//! the relay opened there and handed back to the application's pool would
//! break once that thread stopped. Work spawned on the application's
//! runtime opens its connections there instead; the relay then uses them
//! from its own thread, which tokio allows.

use std::future::Future;

use tokio::runtime::Handle;

/// The runtime the outbox was built on, when it was built on one.
#[derive(Clone, Debug, Default)]
pub struct AppRuntime(Option<Handle>);

impl AppRuntime {
    /// The runtime of the caller, if any.
    pub(crate) fn current() -> Self {
        Self(Handle::try_current().ok())
    }

    /// Runs `work` on the application's runtime (or here, without one).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, String> {
        match &self.0 {
            Some(handle) => handle.spawn(work).await.map_err(|error| {
                format!("the application's runtime did not run the outbox's work: {error}")
            }),
            None => Ok(work.await),
        }
    }
}
