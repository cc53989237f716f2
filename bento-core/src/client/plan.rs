//! Holding items to the tracking plan (`ClientBuilder::plan`), for the
//! client's own calls and for stores that write items themselves.

use bento_plan::Plan;

use crate::ValidationError;
use crate::delivery::{Encoded, ItemKind};

/// Every way the encoded `json` of a `kind` item is off `plan`, as an error
/// naming the item (`item()`): events, subscriber records and commands.
pub(crate) fn check(
    plan: &Plan,
    kind: ItemKind,
    json: &[u8],
    item: impl FnOnce() -> String,
) -> Result<(), ValidationError> {
    // The client's own encoding: always one JSON object.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Ok(());
    };
    let violations = match kind {
        ItemKind::Event => plan.check_event(&value),
        ItemKind::Subscriber => plan.check_record(&value),
        ItemKind::Command => plan.check_command(&value),
        // A deletion request carries no data a plan describes.
        ItemKind::Deletion => Vec::new(),
    };
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::OffPlan {
            item: item(),
            violations,
        })
    }
}

impl Encoded {
    /// Holds this event, subscriber record or command to `plan`, as a
    /// client built with [`ClientBuilder::plan`](crate::ClientBuilder::plan)
    /// does when it is tracked: for stores and integrations that queue items
    /// themselves (bento-outbox's `Outbox::plan`). A command is checked for
    /// the fields it writes or removes, and `add_tag_via_event` for the
    /// `$tag` event it creates.
    ///
    /// ```
    /// use bento_core::{Encoded, Event, plan::Plan};
    ///
    /// let plan = Plan::parse("[events.\"account.signup\"]")?;
    /// assert!(Encoded::event(&Event::new("account.signup", "ada@example.com"))?.check_plan(&plan).is_ok());
    /// let typo = Encoded::event(&Event::new("acount.signup", "ada@example.com"))?;
    /// assert!(typo.check_plan(&plan).unwrap_err().to_string().contains("did you mean"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_plan(&self, plan: &Plan) -> Result<(), ValidationError> {
        let what = match self.kind() {
            ItemKind::Event => "event",
            ItemKind::Subscriber => "subscriber",
            ItemKind::Command => "command",
            ItemKind::Deletion => "deletion request",
        };
        check(plan, self.kind(), self.json(), || what.to_owned())
    }
}

/// Holds a field about to be created to `plan`: it must be declared.
pub(crate) fn check_new_field(plan: &Plan, key: &str) -> Result<(), ValidationError> {
    let violations = plan.check_new_field(key);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::OffPlan {
            item: "field".to_owned(),
            violations,
        })
    }
}
