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

/// An event's name in words: a helpdesk wording for the types the spec lists
/// (`950` → `Push denied`), else the tenant's own name made readable (`OL_FOO_BAR` → `Ol foo
/// bar`), or `event <id>` for a type the tenant does not list (raw server text: sanitise
/// before display).
pub fn event_words(types: &EventTypes, id: i64) -> String {
    let name = types.name(id);
    if name == format!("event {id}") {
        return name;
    }
    if let Some(words) = helpdesk_words(id) {
        return words.to_owned();
    }
    let lower = name.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => format!("event {id}"),
    }
}

/// Our words for the event types a helpdesk reads (spec §9); the ids are stable, the tenant's
/// names are not written for people.
fn helpdesk_words(id: i64) -> Option<&'static str> {
    Some(match id {
        5 => "Signed in",
        6 => "Sign-in failed",
        7 => "Signed out",
        11 => "Changed own password",
        211 => "Admin changed the password",
        12 => "Unlocked",
        19 => "Locked after failed sign-ins",
        22 => "Device added",
        24 => "Device removed",
        36 => "Device reported lost",
        516 => "Signed out through the API",
        527 => "Code or push failed (API verify)",
        528 => "Verified through the API",
        539 => "Code or push sent (API)",
        540 => "Device enrolled through the API",
        553 => "Locked through the API",
        554 => "Unlocked through the API",
        950 => "Push denied",
        1001 => "MFA challenge at sign-in",
        1002 => "MFA challenge failed",
        1100 => "Temporary MFA token issued",
        1101 => "Temporary MFA token revoked",
        1244 => "Phone number added",
        1245 => "Phone number changed",
        1604 => "Phone changed in profile settings",
        1400 => "Code or push accepted",
        1600 => "Device deleted by the user",
        1602 => "Default device changed by the user",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_from_the_tenant_name() {
        let types = EventTypes::new([
            (950, "OL_OTP_PUSH_REJECT".to_owned()),
            (4242, "SOME_NEW_THING".to_owned()),
        ]);
        assert_eq!(event_words(&types, 950), "Push denied");
        assert_eq!(event_words(&types, 4242), "Some new thing");
        assert_eq!(event_words(&types, 7), "event 7");
    }
}
