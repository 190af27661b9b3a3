//! MFA API v2 bodies (spec §6), decoded tolerantly: one object or an array of one (§7.14),
//! ids as numbers or strings, errors in any of the shapes of §0.3.

use serde_json::Value;

use super::error::ApiError;
use super::secret::Secret;
use super::types::{AuthFactor, OtpDevice, Registration, V2Status, Verification, VerifyOutcome};
use super::wire::{
    self, Endpoint, check_envelope, data_items, device_id, flag, int, malformed, parse_json, text,
    time,
};

/// The items of a v2 body: a bare array, one object, an object naming the array, or `data`.
fn items<'a>(root: &'a Value, key: &str) -> Vec<&'a Value> {
    match root {
        Value::Array(list) => list.iter().collect(),
        Value::Object(map) if map.is_empty() => Vec::new(),
        Value::Object(map) => match map.get(key) {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ if map.contains_key("data") => data_items(root, key),
            _ => vec![root],
        },
        _ => Vec::new(),
    }
}

/// The list a v2 answer carries: a bare array (documented), an object naming the list or
/// holding it in `data`, or one item alone (an object with `item_key`). `{}`, `null`, a string
/// or any other object is an error naming the call, never an empty list.
fn listed<'a>(
    endpoint: Endpoint,
    root: &'a Value,
    key: &str,
    item_key: &str,
) -> Result<Vec<&'a Value>, ApiError> {
    match root {
        Value::Array(list) => Ok(list.iter().collect()),
        Value::Object(map) => match map.get(key) {
            Some(Value::Array(list)) => Ok(list.iter().collect()),
            _ if map.contains_key("data") => wire::listed(endpoint, root, key),
            _ if map.contains_key(item_key) => Ok(vec![root]),
            _ => Err(wire::unexpected(endpoint)),
        },
        _ => Err(wire::unexpected(endpoint)),
    }
}

/// The first object of a one-or-many body.
fn single<'a>(root: &'a Value, what: &str) -> Result<&'a Value, ApiError> {
    items(root, "data")
        .into_iter()
        .find(|v| v.is_object())
        .ok_or_else(|| malformed(&format!("the {what} response is empty")))
}

/// A non-empty secret string field.
fn secret(v: Option<&Value>) -> Option<Secret> {
    text(v).filter(|s| !s.trim().is_empty()).map(Secret::new)
}

/// `GET …/factors`: `[{factor_id, name, auth_factor_name}]` (one object accepted too).
pub fn decode_factors(body: &[u8]) -> Result<Vec<AuthFactor>, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::V2Factors, &root)?;
    listed(Endpoint::V2Factors, &root, "factors", "factor_id")?
        .into_iter()
        .map(|item| {
            let factor_id = int(item.get("factor_id"))
                .or_else(|| int(item.get("id")))
                .ok_or_else(|| malformed("a factor has no factor_id"))?;
            let name = text(item.get("name"))
                .or_else(|| text(item.get("auth_factor_name")))
                .unwrap_or_default();
            Ok(AuthFactor { factor_id, name })
        })
        .collect()
}

/// The longest setup link accepted, in characters: longer is refused whole, never cut.
pub const TOTP_URL_MAX: usize = 2048;

/// What the agent is told when a registration's `totp_url` is not an authenticator URI.
pub const NOT_AN_AUTHENTICATOR_URI: &str =
    "The tenant sent a setup link that is not an authenticator URI";

/// True for an `otpauth://totp/…` or `otpauth://hotp/…` URI with a non-empty `secret`, at most
/// [`TOTP_URL_MAX`] characters, with no spaces or control characters: nothing else becomes a
/// QR code an authenticator app (or a phone's browser) would act on.
pub fn is_authenticator_uri(uri: &str) -> bool {
    if uri.chars().count() > TOTP_URL_MAX || uri.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    let scheme_and_type = uri.get(..15).map(str::to_ascii_lowercase);
    if !matches!(
        scheme_and_type.as_deref(),
        Some("otpauth://totp/" | "otpauth://hotp/")
    ) {
        return false;
    }
    url::Url::parse(uri).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, v)| k.eq_ignore_ascii_case("secret") && !v.trim().is_empty())
    })
}

/// A registration object; its secrets are registered with the log's redactor at once.
fn registration(item: &Value) -> Result<Registration, ApiError> {
    let id = text(item.get("id"))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| malformed("the registration has no id"))?;
    let data = item.get("factor_data");
    let pick = |key: &str| secret(data.and_then(|d| d.get(key))).or_else(|| secret(item.get(key)));
    // Read whole (never cut to the text limit): a cut link would be a wrong QR code.
    let raw_url = data
        .and_then(|d| d.get("totp_url"))
        .or_else(|| item.get("totp_url"));
    let totp_url = match raw_url {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if is_authenticator_uri(s.trim()) => {
            Some(Secret::new(s.trim().to_owned()))
        }
        Some(_) => return Err(malformed(NOT_AN_AUTHENTICATOR_URI)),
    };
    let verification_token = pick("verification_token");
    for s in totp_url.iter().chain(verification_token.iter()) {
        crate::logging::register_secret(s.expose());
    }
    Ok(Registration {
        id: id.trim().to_owned(),
        status: text(item.get("status")).map_or(V2Status::Pending, |s| V2Status::parse(&s)),
        device_id: device_id(item.get("device_id")),
        auth_factor_name: text(item.get("auth_factor_name")),
        type_display_name: text(item.get("type_display_name")),
        user_display_name: text(item.get("user_display_name")),
        expires_at: time(item.get("expires_at")),
        totp_url,
        verification_token,
    })
}

/// `POST …/registrations`, `PUT`/`GET …/registrations/{id}`: one registration, object or array.
pub fn decode_registration(body: &[u8]) -> Result<Registration, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::V2Register, &root)?;
    registration(single(&root, "registration")?)
}

/// `GET …/devices`: `[{device_id, user_display_name, type_display_name, auth_factor_name, default}]`.
pub fn decode_devices(body: &[u8]) -> Result<Vec<OtpDevice>, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::V2Devices, &root)?;
    let devices = listed(Endpoint::V2Devices, &root, "devices", "device_id")?
        .into_iter()
        .filter_map(|item| {
            let id = device_id(item.get("device_id")).or_else(|| device_id(item.get("id")))?;
            let type_display_name = text(item.get("type_display_name"));
            let raw_name = text(item.get("auth_factor_name")).unwrap_or_default();
            let needs_trigger = flag(item.get("needs_trigger"))
                .unwrap_or_else(|| triggered_factor(&raw_name, type_display_name.as_deref()));
            // v2's auth_factor_name is terse ("SMS", "OneLogin"): people read the type's name.
            let auth_factor_name = type_display_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(raw_name);
            Some(OtpDevice {
                id,
                // v2 lists enrolled devices only: a pending one is a registration, not a device.
                active: flag(item.get("active")).unwrap_or(true),
                default: flag(item.get("default")).unwrap_or(false),
                needs_trigger,
                auth_factor_name,
                type_display_name,
                user_display_name: text(item.get("user_display_name")),
                phone_number: text(item.get("phone_number")).filter(|p| !p.is_empty()),
                state_token: None,
            })
        })
        .collect();
    Ok(wire::dedupe_devices(devices))
}

/// Whether a v2 device is checked after a verification is sent (SMS, voice, email, Protect
/// push) rather than with a code the user reads off an app or key. v2 lists no
/// `needs_trigger`, so the factor's names decide (spec §3.3).
pub fn triggered_factor(auth_factor_name: &str, type_display_name: Option<&str>) -> bool {
    let names = format!(
        "{} {}",
        auth_factor_name.to_ascii_lowercase(),
        type_display_name.unwrap_or("").to_ascii_lowercase()
    );
    ["sms", "voice", "email", "protect", "duo"]
        .iter()
        .any(|n| names.contains(n))
        || auth_factor_name.trim().eq_ignore_ascii_case("onelogin")
}

/// `POST …/verifications`: the new verification, object or array of one.
pub fn decode_verification(body: &[u8]) -> Result<Verification, ApiError> {
    let root = parse_json(body)?;
    check_envelope(Endpoint::V2Verify, &root)?;
    let item = single(&root, "verification")?;
    let id = secret(item.get("id")).ok_or_else(|| malformed("the verification has no id"))?;
    crate::logging::register_secret(id.expose());
    if let Some(token) = secret(
        item.get("factor_data")
            .and_then(|d| d.get("verification_token")),
    ) {
        crate::logging::register_secret(token.expose());
    }
    Ok(Verification {
        id,
        status: text(item.get("status")).map(|s| V2Status::parse(&s)),
        device_id: device_id(item.get("device_id")),
        auth_factor_name: text(item.get("auth_factor_name")),
        expires_at: time(item.get("expires_at")),
    })
}

/// `PUT …/verifications/{id}`, `POST …/verifications` with a code, `GET …/verifications/{id}`:
/// a v1-style `{"status":{…"Success"}}`, or `[{"status":"pending"|"accepted"|"rejected"}]`;
/// anything else is `unexpected response from` the call, never a pass.
pub fn decode_check(body: &[u8]) -> Result<VerifyOutcome, ApiError> {
    check_outcome(Endpoint::V2VerifyCode, body)
}

/// `GET …/verifications/{id}`: as [`decode_check`], naming the poll in its errors.
pub fn decode_poll(body: &[u8]) -> Result<VerifyOutcome, ApiError> {
    check_outcome(Endpoint::V2PollVerification, body)
}

fn check_outcome(endpoint: Endpoint, body: &[u8]) -> Result<VerifyOutcome, ApiError> {
    let root = parse_json(body)?;
    if let Some(item) = items(&root, "data")
        .into_iter()
        .find(|v| v.get("status").is_some_and(Value::is_string))
    {
        let raw = text(item.get("status")).unwrap_or_default();
        return match V2Status::parse(&raw) {
            V2Status::Accepted => Ok(VerifyOutcome::Verified),
            V2Status::Pending => Ok(VerifyOutcome::Pending {
                message: "Waiting for the user".into(),
            }),
            V2Status::Rejected => Err(ApiError::new(
                super::error::ErrorKind::PushDenied,
                "the user rejected it",
            )),
            V2Status::Other(other) => Err(malformed(&format!(
                "the verification has an unknown status \"{}\"",
                wire::truncate(&other, 40)
            ))),
        };
    }
    wire::verify_outcome(endpoint, body)
}

/// `DELETE …/devices/{id}`: 204 with no body; any 2xx without an error envelope is success.
pub fn decode_remove(body: &[u8]) -> Result<(), ApiError> {
    wire::decode_remove(body)
}
