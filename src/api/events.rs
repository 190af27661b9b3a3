//! Events (spec §9): `GET /api/1/events` following `after_cursor` (never `next_link`, which
//! may name another host) and `GET /api/1/events/types`, read once per session.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::Value;

use super::client::{Call, Client};
use super::error::ApiError;
use super::types::UserId;
use super::wire::{self, Endpoint};

/// Events asked per page (collectors ask 1000; a tenant may answer fewer).
pub const EVENTS_PAGE_LIMIT: u32 = 1000;
/// Pages read at most for one question, so a tenant that never ends cannot hold a call.
pub const EVENTS_MAX_PAGES: usize = 20;

/// One event, decoded tolerantly (ids may arrive as strings).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Event {
    /// The event id, as text.
    pub id: String,
    /// When it happened.
    pub created_at: Option<DateTime<Utc>>,
    /// The event type (spec §9 table).
    pub event_type_id: i64,
    /// The user it concerns.
    pub user_id: Option<UserId>,
    /// The user's first and last name.
    pub user_name: Option<String>,
    /// The MFA device id, as text.
    pub otp_device_id: Option<String>,
    /// The MFA device's name.
    pub otp_device_name: Option<String>,
    /// Where the request came from.
    pub ipaddr: Option<String>,
    /// 0–100.
    pub risk_score: Option<i64>,
    /// Why the risk score, one reason a line.
    pub risk_reasons: Option<String>,
    /// A person who acted.
    pub actor_user_id: Option<i64>,
    /// That person's first and last name.
    pub actor_user_name: Option<String>,
    /// A system that acted ("API").
    pub actor_system: Option<String>,
    /// The API client that acted.
    pub client_id: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Every non-null field as text (raw server text: sanitise before display), by name.
    pub fields: BTreeMap<String, String>,
}

impl Event {
    /// Who acted, in words: a person's name, `API`, or `the user` (raw server text).
    pub fn actor(&self) -> String {
        if let Some(name) = self.actor_user_name.as_deref().filter(|n| !n.is_empty())
            && (self.actor_user_id.is_none() || self.actor_user_id != self.user_id)
        {
            return name.to_owned();
        }
        if self.actor_user_id.is_some() && self.actor_user_id == self.user_id {
            return "the user".to_owned();
        }
        if self.client_id.is_some()
            || self
                .actor_system
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("api"))
        {
            return "API".to_owned();
        }
        match self.actor_system.as_deref() {
            Some(s) if !s.is_empty() => s.to_owned(),
            _ => "the user".to_owned(),
        }
    }
}

/// What to ask `GET /api/1/events` for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventQuery {
    /// One user's events.
    pub user_id: Option<UserId>,
    /// Only these types (sent as a comma list).
    pub event_type_ids: Vec<i64>,
    /// From this time on.
    pub since: Option<DateTime<Utc>>,
    /// Up to this time.
    pub until: Option<DateTime<Utc>>,
    /// Page size (default [`EVENTS_PAGE_LIMIT`]).
    pub limit: Option<u32>,
}

/// One page of events.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventPage {
    /// The events, newest first.
    pub events: Vec<Event>,
    /// Where the next page starts; None at the end.
    pub after_cursor: Option<String>,
}

/// A user's events with the tenant's type names (what opening a user reads).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventBatch {
    /// The events, newest first.
    pub events: Vec<Event>,
    /// The tenant's names for event types (empty when they could not be read).
    pub types: Arc<EventTypes>,
}

/// The tenant's event type names (`GET /api/1/events/types`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventTypes {
    names: HashMap<i64, String>,
}

impl EventTypes {
    /// From (id, name) pairs.
    pub fn new(pairs: impl IntoIterator<Item = (i64, String)>) -> Self {
        EventTypes {
            names: pairs.into_iter().collect(),
        }
    }

    /// The tenant's name for a type (raw server text), or `event <id>` for one it does not list.
    pub fn name(&self, id: i64) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("event {id}"))
    }

    /// How many types the tenant listed.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when the tenant listed none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The query string of one page.
fn params(query: &EventQuery, after: Option<&str>) -> Vec<(&'static str, String)> {
    let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut p = Vec::new();
    if let Some(u) = query.user_id {
        p.push(("user_id", u.to_string()));
    }
    if !query.event_type_ids.is_empty() {
        let ids: Vec<String> = query.event_type_ids.iter().map(i64::to_string).collect();
        p.push(("event_type_id", ids.join(",")));
    }
    if let Some(s) = query.since {
        p.push(("since", iso(s)));
    }
    if let Some(u) = query.until {
        p.push(("until", iso(u)));
    }
    p.push((
        "limit",
        query.limit.unwrap_or(EVENTS_PAGE_LIMIT).max(1).to_string(),
    ));
    p.push(("sort", "-id".to_owned()));
    if let Some(c) = after.filter(|c| !c.is_empty()) {
        p.push(("after_cursor", c.to_owned()));
    }
    p
}

/// One event from its JSON object; None when it has no usable type id.
fn event(item: &Value) -> Option<Event> {
    let obj = item.as_object()?;
    let get = |k: &str| obj.get(k);
    let event_type_id = wire::int(get("event_type_id"))?;
    let fields = obj
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null => return None,
                Value::String(_) | Value::Number(_) | Value::Bool(_) => wire::text(Some(v))?,
                other => wire::truncate(&other.to_string(), wire::TEXT_LIMIT),
            };
            Some((wire::truncate(k, 64), text))
        })
        .take(100)
        .collect();
    Some(Event {
        id: wire::text(get("id")).unwrap_or_default(),
        created_at: wire::time(get("created_at")),
        event_type_id,
        user_id: wire::int(get("user_id")),
        user_name: wire::text(get("user_name")),
        otp_device_id: wire::text(get("otp_device_id")),
        otp_device_name: wire::text(get("otp_device_name")),
        ipaddr: wire::text(get("ipaddr")),
        risk_score: wire::int(get("risk_score")),
        risk_reasons: wire::text(get("risk_reasons")),
        actor_user_id: wire::int(get("actor_user_id")),
        actor_user_name: wire::text(get("actor_user_name")),
        actor_system: wire::text(get("actor_system")),
        client_id: wire::text(get("client_id")),
        notes: wire::text(get("notes")),
        fields,
    })
}

/// Decodes a page of `GET /api/1/events`.
pub fn decode_events(body: &[u8]) -> Result<EventPage, ApiError> {
    let root = wire::parse_json(body)?;
    wire::check_envelope(Endpoint::Events, &root)?;
    if !root.is_object() {
        return Err(wire::malformed("the events answer is not an object"));
    }
    let events = wire::data_items(&root, "events")
        .into_iter()
        .filter_map(event)
        .collect();
    let after_cursor = root
        .get("pagination")
        .and_then(|p| wire::text(p.get("after_cursor")))
        .filter(|c| !c.trim().is_empty());
    Ok(EventPage {
        events,
        after_cursor,
    })
}

/// Decodes `GET /api/1/events/types`.
pub fn decode_event_types(body: &[u8]) -> Result<EventTypes, ApiError> {
    let root = wire::parse_json(body)?;
    wire::check_envelope(Endpoint::EventTypes, &root)?;
    Ok(EventTypes::new(
        wire::data_items(&root, "types")
            .into_iter()
            .filter_map(|t| Some((wire::int(t.get("id"))?, wire::text(t.get("name"))?))),
    ))
}

impl Client {
    /// `GET /api/1/events`: one page, starting at `after` when given.
    pub async fn get_events_page(
        &self,
        query: &EventQuery,
        after: Option<&str>,
    ) -> Result<EventPage, ApiError> {
        let url = self.url(&["api", "1", "events"])?;
        let call = Call::new(Endpoint::Events, Method::GET, url).query(params(query, after));
        self.execute(&call).await?.decode(decode_events)
    }

    /// Every page of events, re-sending the same filters with `after_cursor` (never following
    /// `next_link`), up to `max_pages` requests; stops if the tenant repeats a cursor.
    /// Events are de-duplicated by id.
    pub async fn get_events(
        &self,
        query: &EventQuery,
        max_pages: usize,
    ) -> Result<Vec<Event>, ApiError> {
        let mut out = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut seen_cursors = HashSet::new();
        let mut after: Option<String> = None;
        for _ in 0..max_pages.max(1) {
            let page = self.get_events_page(query, after.as_deref()).await?;
            out.extend(
                page.events
                    .into_iter()
                    .filter(|e| e.id.is_empty() || seen_ids.insert(e.id.clone())),
            );
            match page.after_cursor {
                Some(c) if seen_cursors.insert(c.clone()) => after = Some(c),
                _ => break,
            }
        }
        Ok(out)
    }

    /// `GET /api/1/events/types`, asked once per session and then served from memory.
    pub async fn event_types(&self) -> Result<Arc<EventTypes>, ApiError> {
        self.event_types_cell()
            .get_or_try_init(|| async {
                let url = self.url(&["api", "1", "events", "types"])?;
                let call = Call::new(Endpoint::EventTypes, Method::GET, url);
                let types = self.execute(&call).await?.decode(decode_event_types)?;
                Ok(Arc::new(types))
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_use_the_comma_form_and_newest_first() {
        let q = EventQuery {
            user_id: Some(7),
            event_type_ids: vec![950, 1002],
            ..EventQuery::default()
        };
        let p = params(&q, Some("abc"));
        assert!(p.contains(&("event_type_id", "950,1002".to_owned())));
        assert!(p.contains(&("sort", "-id".to_owned())));
        assert!(p.contains(&("after_cursor", "abc".to_owned())));
    }

    #[test]
    fn string_ids_and_unknown_types() {
        let page = decode_events(
            br#"{"data":[{"id":"88","event_type_id":"950","user_id":"5","otp_device_id":"12","risk_score":"70"}],
                "pagination":{"after_cursor":null}}"#,
        )
        .unwrap();
        let e = &page.events[0];
        assert_eq!(
            (e.id.as_str(), e.event_type_id, e.user_id, e.risk_score),
            ("88", 950, Some(5), Some(70))
        );
        assert_eq!(e.otp_device_id.as_deref(), Some("12"));
        assert_eq!(page.after_cursor, None);
        let types = EventTypes::new([(950, "OL_OTP_PUSH_REJECT".to_owned())]);
        assert_eq!(types.name(950), "OL_OTP_PUSH_REJECT");
        assert_eq!(types.name(4242), "event 4242");
    }

    #[test]
    fn actor_in_words() {
        let by_user = Event {
            user_id: Some(1),
            actor_user_id: Some(1),
            actor_user_name: Some("Kelly Slater".into()),
            ..Event::default()
        };
        assert_eq!(by_user.actor(), "the user");
        let admin = Event {
            user_id: Some(1),
            actor_user_id: Some(2),
            actor_user_name: Some("Ada Admin".into()),
            ..Event::default()
        };
        assert_eq!(admin.actor(), "Ada Admin");
        let api = Event {
            client_id: Some("x".into()),
            actor_system: Some("API".into()),
            ..Event::default()
        };
        assert_eq!(api.actor(), "API");
    }
}
