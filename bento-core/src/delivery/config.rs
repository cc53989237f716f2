//! The delivery engine's settings, set through `ClientBuilder`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::failure::DeliveryFailure;
use crate::error::ConfigError;
use crate::transport::retry::Backoff;

pub(crate) type FailureHook = Arc<dyn Fn(DeliveryFailure) + Send + Sync>;

#[derive(Clone)]
pub(crate) struct DeliveryConfig {
    pub(crate) queue_capacity: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) max_batch_bytes: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) backoff: Backoff,
    pub(crate) max_age: Option<Duration>,
    pub(crate) drain_timeout: Duration,
    pub(crate) on_failure: Option<FailureHook>,
    /// The durable store the engine also drains, when there is one.
    pub(crate) store: Option<Arc<dyn crate::store::DurableStore>>,
    /// The emails erased recently: nothing about them is queued or resent.
    pub(crate) tombstones: Arc<crate::erasure::Tombstones>,
    /// Tests only: panic in the worker's loop / in the next request's task.
    #[cfg(test)]
    pub(crate) inject_panic: Arc<std::sync::atomic::AtomicBool>,
    #[cfg(test)]
    pub(crate) inject_request_panic: Arc<std::sync::atomic::AtomicBool>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            flush_interval: Duration::from_secs(1),
            max_batch_bytes: crate::model::envelope::DEFAULT_MAX_BATCH_BYTES,
            max_in_flight: 2,
            backoff: Backoff::default(),
            max_age: None,
            drain_timeout: Duration::from_secs(5),
            on_failure: None,
            store: None,
            tombstones: Arc::new(crate::erasure::Tombstones::new(
                &fastrand::u64(..).to_le_bytes(),
                crate::erasure::DEFAULT_TTL,
            )),
            #[cfg(test)]
            inject_panic: Arc::default(),
            #[cfg(test)]
            inject_request_panic: Arc::default(),
        }
    }
}

impl DeliveryConfig {
    pub(crate) fn has_outbox(&self) -> bool {
        self.store.is_some()
    }

    pub(crate) fn validate(self) -> Result<Self, ConfigError> {
        let invalid = |setting: &'static str, reason: &str| ConfigError::Invalid {
            setting,
            reason: reason.to_owned(),
        };
        if self.queue_capacity == 0 {
            return Err(invalid("queue_capacity", "must be at least 1"));
        }
        if self.flush_interval.is_zero() {
            return Err(invalid("flush_interval", "must be longer than zero"));
        }
        if self.max_batch_bytes < 1024 {
            return Err(invalid("max_batch_bytes", "must be at least 1024"));
        }
        if self.max_in_flight == 0 {
            return Err(invalid("max_in_flight", "must be at least 1"));
        }
        Ok(self)
    }
}

impl fmt::Debug for DeliveryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryConfig")
            .field("queue_capacity", &self.queue_capacity)
            .field("flush_interval", &self.flush_interval)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("max_in_flight", &self.max_in_flight)
            .field("backoff", &self.backoff)
            .field("max_age", &self.max_age)
            .field("drain_timeout", &self.drain_timeout)
            .field("outbox", &self.has_outbox())
            .field(
                "on_failure",
                &self.on_failure.as_ref().map(|_| "Fn(DeliveryFailure)"),
            )
            .finish()
    }
}
