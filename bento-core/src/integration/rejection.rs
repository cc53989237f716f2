//! What a web framework answers when a handler's `track` is refused and the
//! handler passes the error on (`bento.track(&event)?`): the same status and
//! body in every framework, and never the program's internals.

use crate::delivery::TrackError;

/// The response for a refused `track`: the user's invalid data is theirs
/// to see (422, with what is wrong); a full or closed queue is a 503 (try
/// again); the program's mistakes are a 500 with a generic body, since the
/// client already logged them at error level, counted them and handed them
/// to the failure hook, and their text names the tracking plan's internals.
pub fn rejection(error: &TrackError) -> (u16, String) {
    match error {
        TrackError::Invalid(invalid) => (422, invalid.to_string()),
        TrackError::QueueFull { .. }
        | TrackError::Closed { .. }
        | TrackError::Unavailable { .. } => (
            503,
            "the service is busy; please try again in a moment".to_owned(),
        ),
        _ => (500, "something went wrong on our side".to_owned()),
    }
}
