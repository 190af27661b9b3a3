//! Reading a user's events for both faces: how far back, and an event's name in words.

use chrono::{DateTime, TimeDelta, Utc};

use crate::api::{ApiError, Client, Event, EventTypes, User};
use crate::worker::{self, ApiRequest, ApiResponse};

use super::signals::Signal;

/// How much history opening a user reads, and how much more `n` (or `--since`) adds.
pub const HISTORY_STEP: TimeDelta = TimeDelta::days(14);

/// Where the history of a user opened `now` starts.
pub fn history_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - HISTORY_STEP
}

/// The user's last 14 days of events, read as opening a user reads them.
pub async fn recent_events(
    client: &Client,
    user: &User,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, ApiError> {
    let request = ApiRequest::GetEvents {
        user_id: user.id,
        since: history_since(now),
        until: None,
    };
    match worker::execute(client, request).await {
        ApiResponse::Events(r) => r.map(|batch| batch.events),
        _ => Ok(Vec::new()),
    }
}

/// The signals that hold for a user now, from their recent events (the shell commands' way;
/// the console keeps the events it read with the user).
pub async fn recent_signals(
    client: &Client,
    user: &User,
    now: DateTime<Utc>,
) -> Result<Vec<Signal>, ApiError> {
    let events = recent_events(client, user, now).await?;
    Ok(super::signals::signals(user, &events, now))
}

/// The tenant's name for an event type in words (`OL_OTP_PUSH_REJECT` → `Ol otp push
/// reject`), or `event <id>` for a type the tenant does not list (raw server text: sanitise
/// before display).
pub fn event_words(types: &EventTypes, id: i64) -> String {
    let name = types.name(id);
    if name == format!("event {id}") {
        return name;
    }
    let lower = name.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => format!("event {id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_from_the_tenant_name() {
        let types = EventTypes::new([(950, "OL_OTP_PUSH_REJECT".to_owned())]);
        assert_eq!(event_words(&types, 950), "Ol otp push reject");
        assert_eq!(event_words(&types, 7), "event 7");
    }
}
