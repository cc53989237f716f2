//! What the outbox table's rows hold: the kind codes, and dead letters.

use bento_core::ItemKind;

/// A dead letter: a row the relay gave up on (Bento refused it for good, it
/// outlived `max_age`, or it cannot be sent as it is), kept in the table.
///
/// It holds personal data (the item's email and fields): purge dead letters
/// you no longer need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Its row id.
    pub id: i64,
    /// Where it was going; `None` for a row whose `kind` is none the SDK
    /// knows (written by hand).
    pub kind: Option<ItemKind>,
    /// Its JSON as stored (a body that is not UTF-8 is shown with
    /// replacement characters).
    pub json: String,
    /// Requests that carried it.
    pub attempts: i64,
    /// Why it failed.
    pub reason: String,
}

/// The code a row's `kind` column holds.
pub(crate) fn kind_code(kind: ItemKind) -> i16 {
    match kind {
        ItemKind::Event => 1,
        ItemKind::Subscriber => 2,
        ItemKind::Command => 3,
        ItemKind::Deletion => 4,
        // A kind a newer bento-core added: no code yet, and nothing writes it.
        _ => 0,
    }
}

/// The kind of a row's `kind` code; `None` for a code written by hand.
pub(crate) fn kind_of(code: i64) -> Option<ItemKind> {
    match code {
        1 => Some(ItemKind::Event),
        2 => Some(ItemKind::Subscriber),
        3 => Some(ItemKind::Command),
        4 => Some(ItemKind::Deletion),
        _ => None,
    }
}

/// Why a row of an unknown kind cannot be sent.
pub(crate) fn unknown_kind(code: impl std::fmt::Display) -> String {
    format!("its kind {code} is none the SDK knows (1 event, 2 subscriber, 3 command, 4 deletion)")
}
