//! The open user's activity: their recent events, the tenant's names for them, the signals
//! computed from them (by `ops::signals`), and the history view's filter.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tui_input::Input;

use crate::api::{Event, EventTypes, UserId};
use crate::ops::signals::Signal;

/// What the console knows of the open user's events.
#[derive(Clone, Debug)]
pub struct Activity {
    /// Whose events.
    pub user_id: UserId,
    /// The events read so far, newest first (None until the first answer).
    pub events: Option<Vec<Event>>,
    /// Why they could not be read.
    pub error: Option<String>,
    /// The tenant's event type names.
    pub types: Arc<EventTypes>,
    /// How far back the events go.
    pub since: DateTime<Utc>,
    /// Older events are being read (`n` in the history view).
    pub loading_more: bool,
    /// The signals that hold, newest first.
    pub signals: Vec<Signal>,
    /// The history view's filter box.
    pub filter: Input,
    /// The filter box has the keyboard.
    pub editing: bool,
}

impl Activity {
    /// Nothing read yet for this user, back to `since`.
    pub fn new(user_id: UserId, since: DateTime<Utc>) -> Self {
        Activity {
            user_id,
            events: None,
            error: None,
            types: Arc::default(),
            since,
            loading_more: false,
            signals: Vec::new(),
            filter: Input::default(),
            editing: false,
        }
    }

    /// The events the filter keeps (every field, case-insensitive), newest first.
    pub fn rows(&self) -> Vec<&Event> {
        let needle = self.filter.value().trim().to_lowercase();
        self.events
            .iter()
            .flatten()
            .filter(|e| {
                needle.is_empty()
                    || crate::ops::events::event_words(&self.types, e.event_type_id)
                        .to_lowercase()
                        .contains(&needle)
                    || e.fields
                        .values()
                        .any(|v| v.to_lowercase().contains(&needle))
            })
            .collect()
    }
}
