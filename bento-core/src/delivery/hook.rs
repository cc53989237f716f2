//! The failure hook: where every item the engine or the relay gives up on
//! goes, with the reason (a hook that panics is caught and logged).

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Owner;
use super::config::DeliveryConfig;
use super::failure::{DeliveryFailure, FailureReason};
use super::item::Encoded;

/// Hands items given up on to the failure hook; `stored_ids` are a durable
/// store's ids for them (empty for the in-memory queue).
pub(crate) fn hand_to_hook(
    config: &DeliveryConfig,
    client: &Owner,
    items: Vec<Encoded>,
    reason: FailureReason,
    stored_ids: Vec<i64>,
) {
    tracing::warn!(items = items.len(), stored = stored_ids.len(), reason = %reason, "Bento delivery gave up on items");
    if let Some(hook) = &config.on_failure {
        let failure = DeliveryFailure {
            items,
            reason,
            client: client.clone(),
            stored_ids,
        };
        if catch_unwind(AssertUnwindSafe(|| hook(failure))).is_err() {
            tracing::error!("the Bento delivery failure hook panicked");
        }
    }
}
