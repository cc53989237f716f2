//! The tracking plan (`--plan`) on every write of a field: events and
//! imports (`batch`), commands, subscriber creation and field creation.

use crate::reply::{Reply, bad};
use crate::shared::Shared;

/// A 400 naming every way the item at `path` is off the tracking plan; no
/// plan, no check.
pub(super) fn off_plan(
    shared: &Shared,
    path: &str,
    check: impl FnOnce(&bento_plan::Plan) -> Vec<bento_plan::Violation>,
) -> Result<(), Reply> {
    let Some(plan) = &shared.config.plan else {
        return Ok(());
    };
    let violations = check(plan);
    if violations.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = violations.iter().map(ToString::to_string).collect();
    Err(bad(format!(
        "{path} is off the tracking plan: {}",
        shown.join("; ")
    )))
}
