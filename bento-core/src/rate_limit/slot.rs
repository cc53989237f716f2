//! A granted request slot: held from its grant until its request ended,
//! counted for a window after that, here and in a shared budget.

use std::time::{Duration, Instant};

use super::budget::BoxFuture;
use super::limits::RateLimit;
use super::window::{SharedWindow, lock};

/// A slot held somewhere else than this process's window (a fleet's budget
/// in a database): told when its request ended, or that it was not used.
pub trait RemoteSlot: Send + Sync {
    /// The request ended (`used`), or never went out.
    fn end(self: Box<Self>, used: bool);

    /// Bento answered the request 429. Ends the slot as used and lowers the
    /// fleet's rate of its family for `settle` to what the whole fleet had
    /// sent in the window (less a margin), never above `before` (the rate
    /// this process paced to before the 429s) nor below half of it; resolves
    /// to that rate, which this process then paces to.
    ///
    /// By default it only ends the slot and resolves to `None`: the process
    /// lowers its own rate to what it alone had sent.
    fn refused(
        self: Box<Self>,
        before: RateLimit,
        settle: Duration,
    ) -> BoxFuture<'static, Option<u32>> {
        let _ = (before, settle);
        self.end(true);
        Box::pin(std::future::ready(None))
    }
}

/// How the request of a slot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// No connection could be made: nothing reached the server.
    NotSent,
    /// Bento answered anything but a 429, or the request may have reached it.
    Answered,
    /// Bento answered 429.
    RateLimited,
}

/// A granted request slot. It counts against the limit until it is dropped,
/// after the request's answer arrived (or it failed), and for a window after
/// that; [`unused`](Self::unused) gives it back when nothing was sent.
#[must_use = "a slot counts until it is dropped after the request ends"]
pub(crate) struct Slot {
    window: Option<SharedWindow>,
    remote: Option<Box<dyn RemoteSlot>>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("local", &self.window.is_some())
            .field("remote", &self.remote.is_some())
            .finish()
    }
}

impl Slot {
    /// A slot of an unpaced family: counts nowhere.
    pub(crate) fn free() -> Self {
        Self {
            window: None,
            remote: None,
        }
    }

    /// This slot, also held in `remote`.
    pub(crate) fn with_remote(mut self, remote: Box<dyn RemoteSlot>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// A slot of this process's window for `family`.
    pub(crate) fn local(window: SharedWindow) -> Self {
        Self {
            window: Some(window),
            remote: None,
        }
    }

    /// Ends the slot after its request ended: counted from now when the
    /// request reached the server (and a 429 lowers the family's rate),
    /// given back when nothing did (no connection could be made).
    pub(crate) fn end(mut self, ended: Ended) {
        match ended {
            Ended::NotSent => self.unused(),
            Ended::Answered => {}
            Ended::RateLimited => {
                let Some(window) = self.window.take() else {
                    return;
                };
                let (before, settle) = lock(&window).refused(Instant::now());
                let Some(remote) = self.remote.take() else {
                    return;
                };
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    remote.end(true);
                    return;
                };
                let fleet = remote.refused(before, settle);
                runtime.spawn(async move {
                    if let Some(rate) = fleet.await {
                        lock(&window).follow_fleet(rate);
                    }
                });
            }
        }
    }

    /// Gives the slot back: its request never went out.
    pub(crate) fn unused(mut self) {
        if let Some(window) = self.window.take() {
            lock(&window).cancel();
        }
        if let Some(remote) = self.remote.take() {
            remote.end(false);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(window) = self.window.take() {
            lock(&window).release(Instant::now());
        }
        if let Some(remote) = self.remote.take() {
            remote.end(true);
        }
    }
}
