//! `mfadesk events USER`: what happened to the user (spec §9), every page.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::api::{Event, EventQuery, EventTypes};
use crate::ops::events::{event_words, history_since};
use crate::ops::{OpsError, resolve_user};

use super::context::Context;
use super::duration::parse_since;
use super::output::{Output, table};
use super::users::user_json;

/// Pages read at most (a page holds up to 1000 events).
const MAX_PAGES: usize = 100;

/// The device of an event: its name, else its id.
fn device(e: &Event) -> Option<String> {
    e.otp_device_name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| e.otp_device_id.clone())
}

/// An event as JSON.
fn event_json(e: &Event, types: &EventTypes) -> Value {
    json!({
        "id": e.id,
        "created_at": e.created_at.map(|t| t.to_rfc3339()),
        "event_type_id": e.event_type_id,
        "event": types.name(e.event_type_id),
        "device": device(e),
        "ipaddr": e.ipaddr,
        "risk_score": e.risk_score,
        "risk_reasons": e.risk_reasons,
        "actor": e.actor(),
        "notes": e.notes,
    })
}

/// Options of `events`.
pub struct EventsArgs<'a> {
    /// The user.
    pub user: &'a str,
    /// From when (default: 14 days ago).
    pub since: Option<&'a str>,
    /// Up to when (default: now).
    pub until: Option<&'a str>,
    /// Only these event types.
    pub types: &'a [i64],
}

/// A `--since`/`--until` value.
fn when(
    flag: &str,
    text: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, OpsError> {
    text.map(|t| parse_since(t, now).map_err(|e| OpsError::Usage(format!("{flag}: {e}"))))
        .transpose()
}

/// Prints the user's events, newest first.
pub async fn run(ctx: &Context, out: &Output, args: EventsArgs<'_>) -> Result<(), OpsError> {
    let now = Utc::now();
    let since = when("--since", args.since, now)?.unwrap_or_else(|| history_since(now));
    let until = when("--until", args.until, now)?;
    if until.is_some_and(|u| u < since) {
        return Err(OpsError::Usage(
            "--until must not be before --since".to_owned(),
        ));
    }
    let user = resolve_user(&ctx.client, args.user).await?;
    let query = EventQuery {
        user_id: Some(user.id),
        event_type_ids: args.types.to_vec(),
        since: Some(since),
        until,
        ..EventQuery::default()
    };
    let (events, types) = tokio::join!(
        ctx.client.get_events(&query, MAX_PAGES),
        ctx.client.event_types()
    );
    let mut events = events?;
    events.sort_by_key(|e| std::cmp::Reverse(e.created_at));
    // Without the names the events still read, as `event <id>`.
    let types = types.unwrap_or_default();
    if out.json {
        out.json(&json!({
            "user": user_json(&user),
            "events": events.iter().map(|e| event_json(e, &types)).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    out.text(&format!(
        "{} · id {} · {} event{} since {}",
        out.bold(&crate::ui::text::clean(&user.display_name())),
        user.id,
        events.len(),
        if events.len() == 1 { "" } else { "s" },
        since.format("%Y-%m-%d %H:%M UTC")
    ));
    if events.is_empty() {
        out.text("No events in this period.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.created_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default(),
                event_words(&types, e.event_type_id),
                device(e).unwrap_or_default(),
                e.ipaddr.clone().unwrap_or_default(),
                e.risk_score.map(|r| r.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    out.text(&table(&["TIME", "EVENT", "DEVICE", "IP", "RISK"], &rows));
    Ok(())
}
