//! Response bodies exactly as OneLogin sends them, decoded tolerantly where the API is inconsistent.
//!
//! Every decoder takes the raw body bytes and returns a domain type or an [`ApiError`] of kind
//! [`ErrorKind::MalformedResponse`]; none of them panics on any input. Decoding goes through
//! `serde_json::Value` so that one odd field never sinks a whole response.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorKind};
use super::secret::Secret;
use super::types::{
    AuthFactor, DeviceId, MfaToken, OtpDevice, RateLimit, TriggerResult, User, VerifyOutcome,
};

/// How much of an undecodable body an error message keeps.
const RAW_BODY_LIMIT: usize = 200;

/// Which call a response belongs to; some status codes mean different things per call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /auth/oauth2/v2/token`.
    Token,
    /// `GET /api/1/users/{id}/auth_factors` (or the singular fallback).
    AuthFactors,
    /// `GET /api/1/users/{id}/otp_devices`.
    OtpDevices,
    /// `POST /api/1/users/{id}/otp_devices`.
    Enroll,
    /// `POST …/otp_devices/{device_id}/trigger`.
    Trigger,
    /// `POST …/otp_devices/{device_id}/verify`.
    Verify,
    /// `DELETE …/otp_devices/{device_id}`.
    Remove,
    /// `POST /api/1/users/{id}/mfa_token`.
    MfaToken,
    /// `GET /api/2/users`.
    Users,
    /// `GET /api/2/users/{id}`.
    User,
    /// `GET /auth/rate_limit`.
    RateLimit,
    /// `GET /api/2/mfa/users/{id}/factors`.
    V2Factors,
    /// `POST …/registrations`.
    V2Register,
    /// `PUT …/registrations/{id}` (the first code).
    V2VerifyRegistration,
    /// `GET …/registrations/{id}` (poll).
    V2Registration,
    /// `GET …/devices`.
    V2Devices,
    /// `DELETE …/devices/{device_id}`.
    V2Remove,
    /// `POST …/verifications` (send a push, SMS, call or email).
    V2Verify,
    /// `PUT …/verifications/{id}` or `POST …/verifications` with a code.
    V2VerifyCode,
    /// `GET …/verifications/{id}` (poll).
    V2PollVerification,
    /// `POST /api/2/mfa/users/{id}/mfa_token`.
    V2MfaToken,
    /// `PUT /api/1/users/{id}/logout`.
    Logout,
    /// `PUT /api/1/users/{id}/lock_user`.
    LockUser,
    /// `POST /api/2/users/{id}/unlock`.
    Unlock,
    /// `GET /api/1/events`.
    Events,
    /// `GET /api/1/events/types`.
    EventTypes,
}

impl Endpoint {
    /// True for the `/api/2/mfa/…` calls.
    pub fn is_v2(self) -> bool {
        matches!(
            self,
            Self::V2Factors
                | Self::V2Register
                | Self::V2VerifyRegistration
                | Self::V2Registration
                | Self::V2Devices
                | Self::V2Remove
                | Self::V2Verify
                | Self::V2VerifyCode
                | Self::V2PollVerification
                | Self::V2MfaToken
        )
    }

    /// True for the v2 calls that check a code or follow a registration or verification.
    fn is_v2_check(self) -> bool {
        matches!(
            self,
            Self::V2VerifyRegistration
                | Self::V2Registration
                | Self::V2VerifyCode
                | Self::V2PollVerification
        )
    }
}

/// A freshly issued access token (`POST /auth/oauth2/v2/token`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    /// The bearer token.
    pub access_token: Secret,
    /// When the server minted it, if it said.
    pub created_at: Option<DateTime<Utc>>,
    /// Lifetime in seconds from `created_at`, if the server said.
    pub expires_in: Option<i64>,
}

/// A malformed-response error with a short reason (never the body: it may hold a token).
pub(crate) fn malformed(what: &str) -> ApiError {
    ApiError::new(ErrorKind::MalformedResponse, what.to_owned())
}

/// Parses a body as JSON; an empty body counts as `{}` because several success replies are empty.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|_| malformed("the response is not valid JSON"))
}

// ---------------------------------------------------------------------------------------------
// Lenient scalars: the API sends ids and counts as numbers or strings, and nulls everywhere.

/// The most characters kept of any text field (names, emails, messages): far beyond any real
/// value, small enough that a hostile 10 MB name cannot make every frame slow.
pub const TEXT_LIMIT: usize = 1024;

/// A string field, accepting numbers (phone numbers and ids sometimes come as numbers); cut to
/// [`TEXT_LIMIT`] characters.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(truncate(s, TEXT_LIMIT)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An integer field, accepting numeric strings.
pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A non-negative integer field.
fn uint(v: Option<&Value>) -> Option<u64> {
    int(v).and_then(|n| u64::try_from(n).ok())
}

/// A boolean field, accepting `"true"`/`"false"` and 0/1.
pub(crate) fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// A device id given as a number or a string.
pub(crate) fn device_id(v: Option<&Value>) -> Option<DeviceId> {
    text(v)
        .filter(|s| !s.trim().is_empty())
        .map(|s| DeviceId(s.trim().to_owned()))
}

/// Parses an ISO-8601 time; naive times are taken as UTC. Unparseable → None.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f UTC",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// A time field; a bad date becomes None rather than failing the whole record.
pub(crate) fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::String(s) => parse_time(s),
        _ => None,
    }
}

/// `data` as a list: a bare array, one object, or an object holding the named array.
pub(crate) fn data_items<'a>(root: &'a Value, key: &str) -> Vec<&'a Value> {
    match root.get("data") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(obj @ Value::Object(map)) => match map.get(key) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ if map.is_empty() => Vec::new(),
            _ => vec![obj],
        },
        _ => match root.get(key) {
            // Some bodies skip the envelope and put the named array at the top.
            Some(Value::Array(items)) => items.iter().collect(),
            _ => Vec::new(),
        },
    }
}

/// The v1 envelope's `status` object, if there is one.
fn status_obj(root: &Value) -> Option<&Map<String, Value>> {
    root.get("status").and_then(Value::as_object)
}

/// A 2xx body whose v1 envelope says it failed (`status.error == true` or a 4xx/5xx code).
fn enveloped_error(endpoint: Endpoint, root: &Value) -> Option<ApiError> {
    let status = status_obj(root)?;
    let code = int(status.get("code")).and_then(|c| u16::try_from(c).ok());
    let failed = flag(status.get("error")) == Some(true) || code.is_some_and(|c| c >= 400);
    if !failed {
        return None;
    }
    let message = message_of(root).unwrap_or_else(|| "request failed".to_owned());
    let effective = code.filter(|c| *c >= 400).unwrap_or(400);
    Some(ApiError {
        kind: classify(endpoint, effective, &message, None),
        status: None,
        message,
        request_id: None,
    })
}

/// Rejects 2xx bodies that are really errors in a v1 envelope.
pub(crate) fn check_envelope(endpoint: Endpoint, root: &Value) -> Result<(), ApiError> {
    match enveloped_error(endpoint, root) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Error bodies (spec §0.3).

/// The message text from `status.message`, which may be a string or `{description, attribute}`.
fn status_message(root: &Value) -> Option<String> {
    match status_obj(root)?.get("message")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => text(m.get("description"))
            .or_else(|| text(m.get("message")))
            .or_else(|| text(m.get("attribute")).map(|a| format!("invalid attribute {a}"))),
        other => text(Some(other)),
    }
}

/// `errors: [{field, message: [..] | ".."}]` flattened to "field: message; …".
fn field_errors(root: &Value) -> Option<String> {
    let errors = root.get("errors")?.as_array()?;
    let parts: Vec<String> = errors
        .iter()
        .filter_map(|e| {
            let messages = match e.get("message") {
                Some(Value::Array(ms)) => ms.iter().filter_map(|m| text(Some(m))).collect(),
                other => text(other).into_iter().collect::<Vec<_>>(),
            };
            let field = text(e.get("field"));
            match (field, messages.is_empty()) {
                (Some(f), false) => Some(format!("{f}: {}", messages.join(", "))),
                (None, false) => Some(messages.join(", ")),
                (Some(f), true) => Some(f),
                (None, true) => text(Some(e)),
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// OneLogin's message from any of its error shapes, or None when the body has none.
pub fn message_of(root: &Value) -> Option<String> {
    let base = status_message(root)
        .or_else(|| text(root.get("message")))
        .or_else(|| {
            let ms: Vec<String> = root
                .get("messages")?
                .as_array()?
                .iter()
                .filter_map(|m| text(Some(m)).or_else(|| text(m.get("message"))))
                .collect();
            (!ms.is_empty()).then(|| ms.join("; "))
        })
        .or_else(|| text(root.get("error_description")))
        .or_else(|| match root.get("error") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        })
        .or_else(|| text(root.get("name")));
    let joined = match (base, field_errors(root)) {
        (Some(b), Some(f)) => Some(format!("{b}: {f}")),
        (b, f) => b.or(f),
    };
    // Many short parts can still add up: the whole message is cut too.
    joined.map(|m| truncate(&m, TEXT_LIMIT))
}

/// The first `limit` characters of `s` (cut on a char boundary), with "…" when cut.
pub fn truncate(s: &str, limit: usize) -> String {
    match s.char_indices().nth(limit) {
        Some((idx, _)) => format!("{}…", &s[..idx]),
        None => s.to_owned(),
    }
}

/// The text of an HTML page's `<title>`, if it has a non-empty one.
fn html_title(raw: &str) -> Option<&str> {
    let lower = raw.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    // ASCII lowercasing keeps byte offsets, so they index `raw` on the same boundaries.
    let title = raw.get(start..end)?.trim();
    (!title.is_empty()).then_some(title)
}

/// The message for an error body: OneLogin's message from any known shape, else the raw body
/// trimmed to about 200 characters, else None for an empty body.
pub fn error_message(body: &[u8]) -> Option<String> {
    if let Ok(root) = serde_json::from_slice::<Value>(body)
        && let Some(m) = message_of(&root)
        && !m.trim().is_empty()
    {
        return Some(truncate(m.trim(), RAW_BODY_LIMIT * 2));
    }
    let raw = String::from_utf8_lossy(body);
    // Proxies answer 502/503 with an HTML page; its title says it all.
    if let Some(title) = html_title(&raw) {
        return Some(truncate(title, RAW_BODY_LIMIT));
    }
    // Control characters would garble a terminal; the UI sanitises too, but keep errors tidy.
    let raw: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let raw = raw.trim();
    (!raw.is_empty()).then(|| truncate(raw, RAW_BODY_LIMIT))
}

/// Maps an HTTP status and OneLogin's message to an [`ErrorKind`] for the given call.
pub fn classify(
    endpoint: Endpoint,
    status: u16,
    message: &str,
    reset_secs: Option<u64>,
) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    // A v2 check names its own failures; the bearer token's failures say "unauthorized".
    let token_problem = lower.contains("unauthorized") || lower.contains("authentication failure");
    let names_user = lower.contains("user");
    match status {
        401 if lower.contains("insufficient permission") => ErrorKind::InsufficientPermission,
        401 if endpoint.is_v2_check() && !token_problem => ErrorKind::WrongCode,
        403 if endpoint.is_v2_check() && !lower.contains("permission") => {
            ErrorKind::ExpiredStateToken
        }
        404 if endpoint.is_v2_check() && !names_user && !lower.contains("route") => {
            ErrorKind::ExpiredStateToken
        }
        401 if endpoint == Endpoint::Verify && lower.contains("denied") => ErrorKind::PushDenied,
        401 if endpoint == Endpoint::Verify && lower.contains("failed authentication") => {
            ErrorKind::WrongCode
        }
        401 => ErrorKind::Unauthorized,
        // v2 reports scope problems as 403 ForbiddenAction/ForbiddenError.
        403 => ErrorKind::InsufficientPermission,
        404 => ErrorKind::NotFound,
        400 if endpoint == Endpoint::Verify
            && (lower.contains("state token") || lower.contains("state_token")) =>
        {
            ErrorKind::ExpiredStateToken
        }
        429 => ErrorKind::RateLimited { reset_secs },
        400..=499 if endpoint == Endpoint::Unlock && lower.contains("cannot be unlocked") => {
            ErrorKind::NotLocked
        }
        400..=499 => ErrorKind::BadRequest,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::MalformedResponse,
    }
}

/// Whether a 404 on `auth_factors` means the route is missing (so try `auth_factor`) rather than
/// the user: "User for id N was not found" names the user; "No Route Exists" or an empty body does not.
pub fn is_missing_route(message: &str) -> bool {
    !message.to_ascii_lowercase().contains("user")
}

// ---------------------------------------------------------------------------------------------
// Success bodies, one decoder per call.

/// Token body: any body carrying `access_token` (top level or `data[0]`) is a grant; anything else
/// is decoded as an error, even under HTTP 200 (spec §1.1, §7.11).
pub fn decode_token(body: &[u8]) -> Result<TokenGrant, ApiError> {
    let root = parse_json(body)?;
    let grant = if root.get("access_token").is_some() {
        Some(&root)
    } else {
        data_items(&root, "access_token")
            .into_iter()
            .find(|v| v.get("access_token").is_some())
    };
    let Some(grant) = grant else {
        return Err(token_error(&root));
    };
    let access_token = text(grant.get("access_token"))
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| malformed("the token response has an empty access_token"))?;
    Ok(TokenGrant {
        access_token: Secret::new(access_token),
        created_at: time(grant.get("created_at")),
        expires_in: int(grant.get("expires_in")),
    })
}

/// The error a token body without `access_token` stands for.
fn token_error(root: &Value) -> ApiError {
    let code = status_obj(root)
        .and_then(|s| int(s.get("code")))
        .or_else(|| int(root.get("statusCode")))
        .or_else(|| int(root.get("code")))
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400);
    match (message_of(root), code) {
        (Some(message), code) => ApiError {
            kind: classify(Endpoint::Token, code.unwrap_or(401), &message, None),
            status: None,
            message,
            request_id: None,
        },
        (None, Some(code)) => ApiError {
            kind: classify(Endpoint::Token, code, "", None),
            status: None,
            message: format!("token request failed with code {code}"),
            request_id: None,
        },
        (None, None) => malformed("the token response has no access_token"),
    }
}

/// `GET …/auth_factors`: `data.auth_factors[]` (or `data` as a bare array).
pub fn decode_auth_factors(body: &[u8]) -> Result<Vec<AuthFactor>, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::AuthFactors, &root)?;
    let mut factors = Vec::new();
    for item in data_items(&root, "auth_factors") {
        let factor_id = int(item.get("factor_id"))
            .ok_or_else(|| malformed("an auth factor has no factor_id"))?;
        let name = text(item.get("name"))
            .or_else(|| text(item.get("auth_factor_name")))
            .unwrap_or_default();
        factors.push(AuthFactor { factor_id, name });
    }
    Ok(factors)
}

/// One device object; None when it has no id (nothing could be done with it).
fn device(item: &Value) -> Option<OtpDevice> {
    let id = device_id(item.get("id")).or_else(|| device_id(item.get("device_id")))?;
    let type_display_name = text(item.get("type_display_name"));
    Some(OtpDevice {
        id,
        active: flag(item.get("active")).unwrap_or(false),
        default: flag(item.get("default")).unwrap_or(false),
        needs_trigger: flag(item.get("needs_trigger")).unwrap_or(false),
        auth_factor_name: text(item.get("auth_factor_name"))
            .or_else(|| type_display_name.clone())
            .unwrap_or_default(),
        type_display_name,
        user_display_name: text(item.get("user_display_name")),
        phone_number: text(item.get("phone_number")).filter(|p| !p.is_empty()),
        state_token: text(item.get("state_token"))
            .filter(|t| !t.is_empty())
            .map(Secret::new),
    })
}

/// Keeps the first of each (id, needs_trigger); Protect legitimately appears once per mode.
pub fn dedupe_devices(devices: Vec<OtpDevice>) -> Vec<OtpDevice> {
    let mut seen = std::collections::HashSet::new();
    devices
        .into_iter()
        .filter(|d| seen.insert((d.id.clone(), d.needs_trigger)))
        .collect()
}

/// `GET …/otp_devices`: `data.otp_devices[]`, de-duplicated by (id, needs_trigger).
pub fn decode_otp_devices(body: &[u8]) -> Result<Vec<OtpDevice>, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::OtpDevices, &root)?;
    let devices = data_items(&root, "otp_devices")
        .into_iter()
        .filter_map(device)
        .collect();
    Ok(dedupe_devices(devices))
}

/// `POST …/otp_devices`: `data[0]` is the new device (an object `data` is accepted too).
pub fn decode_enroll(body: &[u8]) -> Result<OtpDevice, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::Enroll, &root)?;
    data_items(&root, "otp_devices")
        .into_iter()
        .find_map(device)
        .ok_or_else(|| malformed("the enroll response has no device"))
}

/// `POST …/trigger`: `data[0].state_token`; `data[0].id` is the USER id, `device_id` the device.
/// `requested` fills in the device when the body leaves it out.
pub fn decode_trigger(body: &[u8], requested: &DeviceId) -> Result<TriggerResult, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::Trigger, &root)?;
    let item = data_items(&root, "otp_devices")
        .into_iter()
        .find(|v| v.get("state_token").is_some())
        .ok_or_else(|| malformed("the trigger response has no state token"))?;
    let state_token = text(item.get("state_token"))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed("the trigger response has an empty state token"))?;
    Ok(TriggerResult {
        device_id: device_id(item.get("device_id")).unwrap_or_else(|| requested.clone()),
        state_token: Secret::new(state_token),
        state_token_expires_at: time(item.get("state_token_expires_at")),
        message: message_of(&root).unwrap_or_default(),
    })
}

/// `POST …/verify` success bodies: `{"status":{"type":"success",…}}` (no data) is Verified;
/// a "pending" type or message (and not "Success") is Pending; an envelope saying error is an error.
pub fn decode_verify(body: &[u8]) -> Result<VerifyOutcome, ApiError> {
    let root = parse_json(body)?;
    if !root.is_object() {
        return Err(malformed("the verify response is not a JSON object"));
    }
    let kind = status_obj(&root)
        .and_then(|s| text(s.get("type")))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let message = message_of(&root).unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let pending = (kind == "pending" || lower.contains("pending")) && lower.trim() != "success";
    if pending {
        return Ok(VerifyOutcome::Pending { message });
    }
    if let Some(err) = enveloped_error(Endpoint::Verify, &root) {
        return Err(err);
    }
    if let Some(status) = text(root.get("status")) {
        // A v2-style `{"status":"rejected"}` means the push was denied.
        match status.to_ascii_lowercase().as_str() {
            "pending" => return Ok(VerifyOutcome::Pending { message: status }),
            "rejected" | "denied" => {
                return Err(ApiError::new(ErrorKind::PushDenied, "the push was denied"));
            }
            _ => {}
        }
    }
    Ok(VerifyOutcome::Verified)
}

/// `DELETE …/otp_devices/{id}`: the documented body is `{}`; any 2xx is success unless an
/// envelope says otherwise.
pub fn decode_remove(body: &[u8]) -> Result<(), ApiError> {
    // A non-JSON 2xx body still means the device is gone; only an explicit error envelope fails.
    match serde_json::from_slice::<Value>(body) {
        Ok(root) => check_envelope(Endpoint::Remove, &root),
        Err(_) => Ok(()),
    }
}

/// The longest temporary MFA token accepted (OneLogin's are 8–12 characters).
pub const MFA_TOKEN_MAX: usize = 64;

/// True for what a temporary MFA token looks like: 1 to 64 ASCII letters and digits.
pub fn is_token_shaped(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MFA_TOKEN_MAX
        && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `POST …/mfa_token`: the un-enveloped `{mfa_token, reusable|resuable, expires_at}`, or the same
/// inside `data`. `requested_reusable` is used when the body omits the flag.
pub fn decode_mfa_token(body: &[u8], requested_reusable: bool) -> Result<MfaToken, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::MfaToken, &root)?;
    let item = if root.get("mfa_token").is_some() {
        &root
    } else {
        data_items(&root, "mfa_token")
            .into_iter()
            .find(|v| v.get("mfa_token").is_some())
            .ok_or_else(|| malformed("the response has no mfa_token"))?
    };
    let token = text(item.get("mfa_token"))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed("the response has an empty mfa_token"))?;
    if !is_token_shaped(&token) {
        // The value itself is never echoed: it may be a real token, or bytes aimed at a shell.
        return Err(malformed(&format!(
            "the temporary MFA token is not letters and digits of at most {MFA_TOKEN_MAX} characters; it was refused and not copied"
        )));
    }
    Ok(MfaToken {
        mfa_token: Secret::new(token),
        reusable: flag(item.get("reusable"))
            .or_else(|| flag(item.get("resuable")))
            .unwrap_or(requested_reusable),
        expires_at: time(item.get("expires_at")),
    })
}

/// One v2 user object (spec §4.3); unknown fields are ignored.
fn user(item: &Value) -> Result<User, ApiError> {
    if !item.is_object() {
        return Err(malformed("a user is not a JSON object"));
    }
    let id = int(item.get("id")).ok_or_else(|| malformed("a user has no id"))?;
    Ok(User {
        id,
        username: text(item.get("username")),
        email: text(item.get("email")),
        firstname: text(item.get("firstname")),
        lastname: text(item.get("lastname")),
        status: int(item.get("status")),
        state: int(item.get("state")),
        locked_until: time(item.get("locked_until")),
        last_login: time(item.get("last_login")),
        phone: text(item.get("phone")),
        invalid_login_attempts: int(item.get("invalid_login_attempts")),
        title: text(item.get("title")),
        department: text(item.get("department")),
    })
}

/// `GET /api/2/users`: a bare array of users (an enveloped `data` array is accepted too).
pub fn decode_users(body: &[u8]) -> Result<Vec<User>, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::Users, &root)?;
    match &root {
        Value::Array(items) => items.iter().map(user).collect(),
        Value::Object(map) if map.contains_key("data") => {
            data_items(&root, "users").into_iter().map(user).collect()
        }
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        _ => Err(malformed("the user list is not a JSON array")),
    }
}

/// `GET /api/2/users/{id}`: a bare user object (or one inside `data`, or a one-element array).
pub fn decode_user(body: &[u8]) -> Result<User, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::User, &root)?;
    match &root {
        Value::Object(map) if !map.contains_key("id") && map.contains_key("data") => {
            data_items(&root, "users")
                .first()
                .map_or_else(|| Err(malformed("the response has no user")), |u| user(u))
        }
        Value::Array(items) => items
            .first()
            .map_or_else(|| Err(malformed("the response has no user")), user),
        _ => user(&root),
    }
}

/// `GET /auth/rate_limit`: `data` with `X-RateLimit-Limit/-Remaining/-Reset`.
pub fn decode_rate_limit(body: &[u8]) -> Result<RateLimit, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::RateLimit, &root)?;
    let data = match root.get("data") {
        Some(Value::Array(items)) => items.first(),
        Some(obj) => Some(obj),
        None => Some(&root),
    }
    .and_then(Value::as_object)
    .ok_or_else(|| malformed("the rate limit response has no data"))?;
    // Header-style keys per the docs; plain keys accepted in case a variant drops the prefix.
    let pick = |names: &[&str]| {
        names.iter().find_map(|n| {
            data.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .and_then(|(_, v)| uint(Some(v)))
        })
    };
    let limit = RateLimit {
        limit: pick(&["X-RateLimit-Limit", "limit"]),
        remaining: pick(&["X-RateLimit-Remaining", "remaining"]),
        reset_secs: pick(&["X-RateLimit-Reset", "reset"]),
    };
    if limit == RateLimit::default() {
        return Err(malformed("the rate limit response has no figures"));
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_cuts_on_char_boundary() {
        assert_eq!(truncate("ééé", 2), "éé…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn lenient_scalars() {
        assert_eq!(int(Some(&Value::from("42"))), Some(42));
        assert_eq!(int(Some(&Value::from(42.0))), Some(42));
        assert_eq!(flag(Some(&Value::from("true"))), Some(true));
        assert_eq!(
            device_id(Some(&Value::from(525509))),
            Some(DeviceId("525509".into()))
        );
    }
}
