//! The kinds of item the client sends in the background: the three batched
//! ones, and data deletion requests (one per request).

/// Which endpoint an [`Encoded`](crate::Encoded) item is delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemKind {
    /// An event, for `POST /batch/events`.
    Event,
    /// A subscriber record, for `POST /batch/subscribers`.
    Subscriber,
    /// A subscriber command, for `POST /fetch/commands`.
    Command,
    /// A data deletion request, for `POST /data_deletion_requests`, one per
    /// request: queued durably by an outbox's erasure (`{"email": ...}`),
    /// so that it survives a crash, is paced under its daily quota and
    /// retried under the one retry rule. Bento's "no such person" counts as
    /// done.
    Deletion,
}

/// How many kinds there are: the length of the engine's per-kind arrays.
pub(crate) const KINDS: usize = 4;

impl ItemKind {
    pub(crate) const ALL: [Self; KINDS] =
        [Self::Event, Self::Subscriber, Self::Command, Self::Deletion];

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Event => 0,
            Self::Subscriber => 1,
            Self::Command => 2,
            Self::Deletion => 3,
        }
    }

    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Event => "batch/events",
            Self::Subscriber => "batch/subscribers",
            Self::Command => "fetch/commands",
            Self::Deletion => "data_deletion_requests",
        }
    }

    /// The URL template, for spans.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Self::Event => "/batch/events",
            Self::Subscriber => "/batch/subscribers",
            Self::Command => "/fetch/commands",
            Self::Deletion => "/data_deletion_requests",
        }
    }

    pub(crate) fn body_key(self) -> &'static str {
        match self {
            Self::Event => "events",
            Self::Subscriber => "subscribers",
            Self::Command => "command",
            Self::Deletion => "data_deletion_request",
        }
    }

    /// The most items one request carries, for the kinds whose limit does
    /// not depend on the client's settings.
    pub(crate) fn fixed_max_items(self) -> Option<usize> {
        match self {
            Self::Event => None,
            Self::Subscriber => Some(crate::model::subscribers::MAX_SUBSCRIBERS_PER_REQUEST),
            Self::Command => Some(crate::model::commands::MAX_COMMANDS_PER_REQUEST),
            Self::Deletion => Some(1),
        }
    }
}
