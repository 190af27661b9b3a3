//! The tenant's event log (spec §9): what the demo tenant records for everything it does,
//! `GET /api/1/events` with cursor paging, `GET /api/1/events/types`, and the demo routes
//! `POST /_sim/users/{id}/login` and `POST /_sim/events`.

use std::collections::VecDeque;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};

use super::auth::{Family, authorize, budget_owner};
use super::clock::iso_ms;
use super::respond::{ApiError, Reply, body_json, field_i64, field_str, json_status, ok, v1_err};
use super::server::App;
use super::state::{SimDevice, Tenant};

/// Most events the tenant keeps (the oldest go first).
pub(crate) const MAX_EVENTS: usize = 50_000;
/// Page size when the caller asks none.
const DEFAULT_LIMIT: usize = 50;
/// The largest page served; a bigger `limit` gets this many (collectors probe with 1000).
const MAX_LIMIT: usize = 1000;
/// Failed logins that lock a user (the demo policy's maximum).
pub(crate) const LOCK_AFTER: i64 = 5;
/// How long a lock after failed logins lasts, in minutes.
pub(crate) const LOCK_MINUTES: i64 = 30;
/// Where `next_link` points, as OneLogin writes it: never to be followed by a client.
const NEXT_LINK_BASE: &str = "https://api.us.onelogin.com/api/1/events";

/// The event types the tenant names in `GET /api/1/events/types` (spec §9).
pub const EVENT_TYPES: &[(i64, &str, &str)] = &[
    (
        5,
        "USER_LOGGED_INTO_ONELOGIN",
        "%user% logged into OneLogin",
    ),
    (
        6,
        "USER_FAILED_ONELOGIN_LOGIN",
        "%user% failed OneLogin authentication",
    ),
    (
        7,
        "USER_LOGGED_OUT_OF_ONELOGIN",
        "%user% logged out of OneLogin",
    ),
    (11, "USER_CHANGED_PASSWORD", "%user% changed password"),
    (12, "UNLOCKED_USER", "%actor_user% unlocked %user%"),
    (19, "USER_LOCKED", "%user% locked"),
    (
        22,
        "USER_ADDED_OTP_DEVICE",
        "%user% added OTP device %otp_device%",
    ),
    (
        24,
        "USER_REMOVED_OTP_DEVICE",
        "%actor_user% removed OTP device %otp_device% from %user%",
    ),
    (
        36,
        "USER_LOST_OTP_DEVICE",
        "%user% lost OTP device %otp_device%",
    ),
    (
        211,
        "ADMIN_CHANGED_USER_PASSWORD",
        "%actor_user% changed password for %user%",
    ),
    (516, "API_LOGOUT", "%user% logged out through the API"),
    (
        527,
        "API_VERIFY_FACTOR_FAILED",
        "Verify of %otp_device% for %user% failed through the API",
    ),
    (
        528,
        "API_VERIFY_FACTOR",
        "%otp_device% of %user% verified through the API",
    ),
    (
        539,
        "API_TRIGGER_FACTOR",
        "%otp_device% of %user% triggered through the API",
    ),
    (
        540,
        "API_ADDED_OTP_DEVICE",
        "OTP device %otp_device% added for %user% through the API",
    ),
    (553, "USER_LOCKED_VIA_API", "%user% locked through the API"),
    (
        554,
        "UNLOCKED_USER_VIA_API",
        "%user% unlocked through the API",
    ),
    (
        950,
        "OL_OTP_PUSH_REJECT",
        "%user% rejected a OneLogin Protect push",
    ),
    (
        1001,
        "USER_LOGIN_CHALLENGE",
        "%user% was challenged for MFA",
    ),
    (
        1002,
        "USER_LOGIN_CHALLENGE_FAILED",
        "%user% failed an MFA challenge",
    ),
    (
        1100,
        "TEMP_OTP_TOKEN_GENERATED",
        "Temporary MFA token generated for %user%",
    ),
    (
        1101,
        "TEMP_OTP_TOKEN_REVOKED",
        "Temporary MFA token revoked for %user%",
    ),
    (
        1244,
        "USER_ADDED_PHONE_NUMBER",
        "%user% added a phone number",
    ),
    (
        1245,
        "USER_UPDATED_PHONE_NUMBER",
        "%user% updated the phone number",
    ),
    (
        1400,
        "USER_VERIFIED_OTP_DEVICE",
        "%user% verified OTP device %otp_device%",
    ),
    (
        1600,
        "PROFILE_DEVICES_DELETE_DEVICE",
        "%user% deleted device %otp_device% from the profile",
    ),
    (
        1602,
        "PROFILE_DEVICES_UPDATE_DEFAULT",
        "%user% changed the default device",
    ),
    (
        1604,
        "PROFILE_SETTINGS_UPDATE_PHONE",
        "%user% updated the phone in profile settings",
    ),
];

/// Serializes a time as ISO-8601 with milliseconds.
fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iso_ms(*t))
}

/// One recorded event, as `GET /api/1/events` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimEvent {
    /// Event id (ascending in recording order).
    pub id: i64,
    /// When it happened (sim clock).
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
    /// The tenant's account id.
    pub account_id: i64,
    /// The user it concerns.
    pub user_id: Option<i64>,
    /// The user's first and last name.
    pub user_name: Option<String>,
    /// The event type (spec §9 table).
    pub event_type_id: i64,
    /// Free text.
    pub notes: Option<String>,
    /// Where the request came from.
    pub ipaddr: Option<String>,
    /// A person who acted.
    pub actor_user_id: Option<i64>,
    /// That person's first and last name.
    pub actor_user_name: Option<String>,
    /// A system that acted ("API").
    pub actor_system: Option<String>,
    /// The MFA device.
    pub otp_device_id: Option<i64>,
    /// The MFA device's name.
    pub otp_device_name: Option<String>,
    /// The API client that acted.
    pub client_id: Option<String>,
    /// 0–100.
    pub risk_score: Option<i64>,
    /// Why the risk score, one reason a line.
    pub risk_reasons: Option<String>,
}

/// What a caller says about an event to record; the recorder fills id, time, account and names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewEvent {
    /// The event type.
    pub event_type_id: i64,
    /// The user it concerns.
    pub user_id: Option<i64>,
    /// When; None = now on the sim clock.
    pub created_at: Option<DateTime<Utc>>,
    /// Free text.
    pub notes: Option<String>,
    /// Where the request came from.
    pub ipaddr: Option<String>,
    /// A person who acted (their name is filled from the users).
    pub actor_user_id: Option<i64>,
    /// A person who acted, by name (when not a tenant user).
    pub actor_user_name: Option<String>,
    /// A system that acted ("API").
    pub actor_system: Option<String>,
    /// The MFA device.
    pub otp_device_id: Option<i64>,
    /// The MFA device's name.
    pub otp_device_name: Option<String>,
    /// The API client that acted.
    pub client_id: Option<String>,
    /// 0–100.
    pub risk_score: Option<i64>,
    /// Why the risk score.
    pub risk_reasons: Option<String>,
}

impl NewEvent {
    /// An event done through the API by `client_id` to `user_id`.
    pub fn api(event_type_id: i64, user_id: i64, client_id: Option<String>) -> Self {
        NewEvent {
            event_type_id,
            user_id: Some(user_id),
            client_id,
            actor_system: Some("API".to_owned()),
            ..NewEvent::default()
        }
    }

    /// An event the user did themself (on their phone, at the login page).
    pub fn by_user(event_type_id: i64, user_id: i64) -> Self {
        NewEvent {
            event_type_id,
            user_id: Some(user_id),
            actor_user_id: Some(user_id),
            ..NewEvent::default()
        }
    }

    /// Names the MFA device.
    pub fn device(mut self, d: &SimDevice) -> Self {
        self.otp_device_id = Some(d.id);
        self.otp_device_name = Some(d.user_display_name.clone());
        self
    }
}

/// A user's first and last name, as events carry it.
pub(crate) fn full_name(t: &Tenant, user_id: i64) -> Option<String> {
    let u = t.users.get(&user_id)?;
    let name = format!(
        "{} {}",
        u.firstname.as_deref().unwrap_or(""),
        u.lastname.as_deref().unwrap_or("")
    );
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The API client behind a request's bearer token.
pub(crate) fn caller(t: &Tenant, headers: &HeaderMap) -> Option<String> {
    budget_owner(t, headers, &Bytes::new())
}

impl Tenant {
    /// Records an event (the one recorder every route uses) and returns its id; the
    /// oldest events go beyond [`MAX_EVENTS`].
    pub(crate) fn record_event(&mut self, e: NewEvent) -> i64 {
        self.next_event_id += 1;
        let id = self.next_event_id;
        let created_at = e.created_at.unwrap_or_else(|| self.now());
        let user_name = e.user_id.and_then(|u| full_name(self, u));
        let actor_user_name = e
            .actor_user_name
            .or_else(|| e.actor_user_id.and_then(|u| full_name(self, u)));
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(SimEvent {
            id,
            created_at,
            account_id: self.account_id,
            user_id: e.user_id,
            user_name,
            event_type_id: e.event_type_id,
            notes: e.notes,
            ipaddr: e.ipaddr,
            actor_user_id: e.actor_user_id,
            actor_user_name,
            actor_system: e.actor_system,
            otp_device_id: e.otp_device_id,
            otp_device_name: e.otp_device_name,
            client_id: e.client_id,
            risk_score: e.risk_score,
            risk_reasons: e.risk_reasons,
        });
        id
    }

    /// A failed (`ok` false) or successful sign-in at the login page: counts failures,
    /// locks at [`LOCK_AFTER`] (status 3, `locked_until`, event 19). Returns the event id.
    pub(crate) fn login(
        &mut self,
        user_id: i64,
        ok: bool,
        ip: Option<String>,
        risk_score: Option<i64>,
        risk_reasons: Option<String>,
    ) -> i64 {
        let now = self.now();
        let locked = self
            .users
            .get(&user_id)
            .is_some_and(|u| u.status == 3 && u.locked_until.is_none_or(|l| l > now));
        let users = std::sync::Arc::make_mut(&mut self.users);
        let Some(user) = users.get_mut(&user_id) else {
            return 0;
        };
        let mut event = NewEvent::by_user(if ok && !locked { 5 } else { 6 }, user_id);
        event.ipaddr = ip;
        if ok && !locked {
            user.invalid_login_attempts = 0;
            user.last_login = Some(now);
            event.risk_score = Some(risk_score.unwrap_or(5));
            return self.record_event(event);
        }
        event.risk_score = Some(risk_score.unwrap_or(50));
        event.risk_reasons = risk_reasons;
        if locked {
            event.notes = Some("user is locked".to_owned());
            return self.record_event(event);
        }
        user.invalid_login_attempts += 1;
        let lock = user.invalid_login_attempts >= LOCK_AFTER;
        if lock {
            user.status = 3;
            user.locked_until = Some(now + TimeDelta::minutes(LOCK_MINUTES));
            // The count returns to 0 once the user is locked (spec §10).
            user.invalid_login_attempts = 0;
        }
        let id = self.record_event(event);
        if lock {
            let mut locked = NewEvent::by_user(19, user_id);
            locked.actor_user_id = None;
            locked.actor_system = Some("Policy".to_owned());
            locked.notes = Some(format!("locked after {LOCK_AFTER} failed logins"));
            return self.record_event(locked);
        }
        id
    }
}

/// A v1 400.
fn bad(message: &str) -> ApiError {
    v1_err(400, message)
}

/// A time parameter: ISO-8601 (with or without milliseconds or an offset).
fn time_param(name: &str, v: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(v.trim())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M:%S%.f")
                .map(|n| n.and_utc())
        })
        .map_err(|_| bad(&format!("{name} must be an ISO-8601 time")))
}

/// The filters and paging of one `GET /api/1/events`.
struct EventQuery {
    user_id: Option<i64>,
    types: Vec<i64>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: usize,
    descending: bool,
    after: Option<i64>,
    raw: Vec<(String, String)>,
}

/// Reads the query string (`event_type_id` as a comma list, repeated, or both).
fn parse_query(query: &str) -> Result<EventQuery, ApiError> {
    let raw: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = EventQuery {
        user_id: None,
        types: Vec::new(),
        since: None,
        until: None,
        limit: DEFAULT_LIMIT,
        descending: true,
        after: None,
        raw: Vec::new(),
    };
    for (k, v) in &raw {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.as_str() {
            "user_id" => {
                q.user_id = Some(v.parse().map_err(|_| bad("user_id must be an integer"))?)
            }
            "event_type_id" | "event_type_id[]" => {
                for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    q.types.push(
                        part.parse()
                            .map_err(|_| bad("event_type_id must be a list of integers"))?,
                    );
                }
            }
            "since" => q.since = Some(time_param("since", v)?),
            "until" => q.until = Some(time_param("until", v)?),
            "limit" => {
                let n: usize = v.parse().map_err(|_| bad("limit must be an integer"))?;
                if n == 0 {
                    return Err(bad("limit must be at least 1"));
                }
                q.limit = n.min(MAX_LIMIT);
            }
            "sort" => {
                q.descending = match v {
                    "-id" | "-created_at" => true,
                    "+id" | "id" | "+created_at" | "created_at" => false,
                    _ => return Err(bad("sort must be +id or -id")),
                }
            }
            "after_cursor" => {
                q.after = Some(decode_cursor(v).ok_or_else(|| bad("Invalid after_cursor"))?)
            }
            _ => {}
        }
    }
    q.raw = raw
        .into_iter()
        .filter(|(k, _)| k != "after_cursor")
        .collect();
    Ok(q)
}

/// A cursor names the last id served.
fn encode_cursor(id: i64) -> String {
    format!("ev{id:x}")
}

/// The id a cursor names.
fn decode_cursor(c: &str) -> Option<i64> {
    i64::from_str_radix(c.strip_prefix("ev")?, 16).ok()
}

/// The v1 success status object.
fn success_status() -> Value {
    json!({"error": false, "code": 200, "type": "success", "message": "Success"})
}

/// `GET /api/1/events`: Read Users scope and up.
pub(crate) async fn list(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    let t = app.lock();
    authorize(&t, &headers, Family::V1, false)?;
    let q = parse_query(&query.unwrap_or_default())?;
    let keep = |e: &&SimEvent| {
        q.user_id.is_none_or(|u| e.user_id == Some(u))
            && (q.types.is_empty() || q.types.contains(&e.event_type_id))
            && q.since.is_none_or(|s| e.created_at >= s)
            && q.until.is_none_or(|u| e.created_at <= u)
            && q.after
                .is_none_or(|a| if q.descending { e.id < a } else { e.id > a })
    };
    // Events are stored in id order.
    let mut page: Vec<&SimEvent> = if q.descending {
        t.events
            .iter()
            .rev()
            .filter(keep)
            .take(q.limit + 1)
            .collect()
    } else {
        t.events.iter().filter(keep).take(q.limit + 1).collect()
    };
    let more = page.len() > q.limit;
    page.truncate(q.limit);
    let after = more
        .then(|| page.last().map(|e| encode_cursor(e.id)))
        .flatten();
    let next_link = after.as_ref().map(|c| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.raw {
            ser.append_pair(k, v);
        }
        ser.append_pair("after_cursor", c);
        format!("{NEXT_LINK_BASE}?{}", ser.finish())
    });
    let data: Vec<Value> = page.iter().map(|e| json!(e)).collect();
    Ok(ok(&json!({
        "status": success_status(),
        "pagination": {
            "before_cursor": null,
            "after_cursor": after,
            "previous_link": null,
            "next_link": next_link,
        },
        "data": data,
    })))
}

/// `GET /api/1/events/types`.
pub(crate) async fn types(State(app): State<App>, headers: HeaderMap) -> Reply {
    let t = app.lock();
    authorize(&t, &headers, Family::V1, false)?;
    let data: Vec<Value> = EVENT_TYPES
        .iter()
        .map(|(id, name, description)| json!({"id": id, "name": name, "description": description}))
        .collect();
    Ok(ok(&json!({
        "status": success_status(),
        "pagination": {"before_cursor": null, "after_cursor": null, "previous_link": null, "next_link": null},
        "data": data,
    })))
}

/// `POST /_sim/users/{id}/login` with `{"ok": false, "ip": "…", "risk_score": n}`.
pub(crate) async fn login(State(app): State<App>, Path(raw): Path<String>, body: Bytes) -> Reply {
    let body = body_json(&body)?;
    let success = match body.get("ok") {
        Some(Value::Bool(b)) => *b,
        _ => return Err(bad("ok must be true or false")),
    };
    let risk = field_i64(&body, "risk_score").map_err(|()| bad("risk_score must be 0-100"))?;
    if risk.is_some_and(|r| !(0..=100).contains(&r)) {
        return Err(bad("risk_score must be 0-100"));
    }
    let mut t = app.lock();
    let uid = super::mfa::user_id(&t, &raw)?;
    let id = t.login(
        uid,
        success,
        field_str(&body, "ip"),
        risk,
        field_str(&body, "risk_reasons"),
    );
    let user = t.users.get(&uid).cloned();
    Ok(ok(&json!({
        "ok": true,
        "event_id": id,
        "status": user.as_ref().map(|u| u.status),
        "invalid_login_attempts": user.as_ref().map(|u| u.invalid_login_attempts),
        "locked_until": user.and_then(|u| u.locked_until).map(iso_ms),
    })))
}

/// `POST /_sim/events`: records any event (`event_type_id` required; `created_at` may be
/// ISO-8601 or relative like `now-20m`).
pub(crate) async fn inject(State(app): State<App>, body: Bytes) -> Reply {
    let body = body_json(&body)?;
    let mut t = app.lock();
    let now = t.now();
    let e = new_event_from_json(&body, now)?;
    let id = t.record_event(e);
    Ok(json_status(201, &json!({"ok": true, "id": id})))
}

/// An event described in JSON (the `/_sim/events` body and the seed's `events`).
pub(crate) fn new_event_from_json(body: &Value, now: DateTime<Utc>) -> Result<NewEvent, ApiError> {
    let int = |k: &str| field_i64(body, k).map_err(|()| bad(&format!("{k} must be an integer")));
    let event_type_id = int("event_type_id")?.ok_or_else(|| bad("event_type_id is required"))?;
    let created_at = match field_str(body, "created_at") {
        None => None,
        Some(s) => Some(match super::seed::resolve_time(&s, now) {
            Ok(Some(t)) => time_param("created_at", &t)?,
            Ok(None) => time_param("created_at", &s)?,
            Err(e) => return Err(bad(&e)),
        }),
    };
    Ok(NewEvent {
        event_type_id,
        user_id: int("user_id")?,
        created_at,
        notes: field_str(body, "notes"),
        ipaddr: field_str(body, "ipaddr"),
        actor_user_id: int("actor_user_id")?,
        actor_user_name: field_str(body, "actor_user_name"),
        actor_system: field_str(body, "actor_system"),
        otp_device_id: int("otp_device_id")?,
        otp_device_name: field_str(body, "otp_device_name"),
        client_id: field_str(body, "client_id"),
        risk_score: int("risk_score")?,
        risk_reasons: field_str(body, "risk_reasons"),
    })
}

/// Seed events sorted by time, so ids ascend with `created_at`.
pub(crate) fn seed_events(t: &mut Tenant, mut events: Vec<NewEvent>) {
    events.sort_by_key(|e| e.created_at);
    for e in events {
        t.record_event(e);
    }
}

/// Keeps the events buffer type in one place.
pub(crate) type EventLog = VecDeque<SimEvent>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(12345)), Some(12345));
        assert_eq!(decode_cursor("12345"), None);
    }

    #[test]
    fn both_type_forms_parse() {
        let q = parse_query("event_type_id=8,13&event_type_id=950&sort=%2Bid").unwrap();
        assert_eq!(q.types, vec![8, 13, 950]);
        assert!(!q.descending);
        assert!(parse_query("event_type_id=x").is_err());
        assert_eq!(parse_query("limit=5000").unwrap().limit, MAX_LIMIT);
    }
}
