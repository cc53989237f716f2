//! Items checked and encoded as `Client::track` does: valid, on the plan
//! when there is one, and within one request's budget.

use bento_core::plan::Plan;
use bento_core::{BentoEvent, BentoSubscriber, Encoded, ValidationError};

use crate::OutboxError;

/// One item, held to the plan and the size limit.
pub(crate) fn checked(
    item: Result<Encoded, ValidationError>,
    plan: Option<&Plan>,
    max_bytes: usize,
) -> Result<Encoded, OutboxError> {
    let item = item?;
    if let Some(plan) = plan {
        item.check_plan(plan)?;
    }
    // The engine adds a batch envelope around each body.
    let size = item.json().len();
    if size + 32 > max_bytes {
        return Err(OutboxError::TooLarge {
            kind: item.kind(),
            size,
            limit: max_bytes,
        });
    }
    Ok(item)
}

/// Events, all or none, a bad one named by its index.
pub(crate) fn events<E: BentoEvent>(
    events: &[E],
    plan: Option<&Plan>,
    max_bytes: usize,
) -> Result<Vec<Encoded>, OutboxError> {
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let item = Encoded::event(event).map_err(|e| e.within(&format!("events[{index}]")));
            checked(item, plan, max_bytes).map_err(|e| within(e, "events", index))
        })
        .collect()
}

/// Subscriber records, all or none, a bad one named by its index.
pub(crate) fn records<S: BentoSubscriber>(
    records: &[S],
    plan: Option<&Plan>,
    max_bytes: usize,
) -> Result<Vec<Encoded>, OutboxError> {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let item =
                Encoded::subscriber(record).map_err(|e| e.within(&format!("subscribers[{index}]")));
            checked(item, plan, max_bytes).map_err(|e| within(e, "subscribers", index))
        })
        .collect()
}

/// A plan violation found after encoding, named by the item's index.
fn within(error: OutboxError, list: &str, index: usize) -> OutboxError {
    match error {
        OutboxError::Bug(invalid @ ValidationError::OffPlan { .. }) => {
            OutboxError::Bug(invalid.within(&format!("{list}[{index}]")))
        }
        other => other,
    }
}
