//! The emulator's shared state: its settings, its data, its faults and its
//! rate limiter, below the server and the routes that use them.

use std::sync::{Mutex, MutexGuard};

use crate::config::EmulatorBuilder;
use crate::faults::FaultQueue;
use crate::gate::Limiter;
use crate::state::State;

pub(crate) struct Shared {
    pub(crate) config: EmulatorBuilder,
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Mutex<FaultQueue>,
    pub(crate) limiter: Mutex<Limiter>,
    /// API requests whose body has arrived, counted before any fault,
    /// delay or answer: how a test knows a request is in flight.
    pub(crate) received: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// The state, with what was due by now carried out first (deletions
    /// and imports made visible after a delay), so that every route and
    /// every inspection sees the same moment.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.run_due();
        state
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
