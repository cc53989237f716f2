//! Whom a request is about: the subscriber its email-less events are
//! tracked for, shared by the request's handle, its clones and its
//! settlement, set by the layer from the request or later by the handler.

use std::sync::{Arc, Mutex};

/// The request's subscriber, once known.
#[derive(Clone, Default)]
pub(crate) struct Identity(Arc<Mutex<Option<Arc<str>>>>);

impl Identity {
    pub(crate) fn new(email: Option<String>) -> Self {
        Self(Arc::new(Mutex::new(email.map(Arc::from))))
    }

    pub(crate) fn set(&self, email: impl Into<String>) {
        let email: Arc<str> = Arc::from(email.into());
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(email);
    }

    pub(crate) fn get(&self) -> Option<Arc<str>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
