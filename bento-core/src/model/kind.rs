//! The three kinds of item the client sends in batches.

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
}

/// How many kinds there are: the length of the engine's per-kind arrays.
pub(crate) const KINDS: usize = 3;

impl ItemKind {
    pub(crate) const ALL: [Self; KINDS] = [Self::Event, Self::Subscriber, Self::Command];

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Event => 0,
            Self::Subscriber => 1,
            Self::Command => 2,
        }
    }

    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Event => "batch/events",
            Self::Subscriber => "batch/subscribers",
            Self::Command => "fetch/commands",
        }
    }

    /// The URL template, for spans.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Self::Event => "/batch/events",
            Self::Subscriber => "/batch/subscribers",
            Self::Command => "/fetch/commands",
        }
    }

    pub(crate) fn body_key(self) -> &'static str {
        match self {
            Self::Event => "events",
            Self::Subscriber => "subscribers",
            Self::Command => "command",
        }
    }
}
