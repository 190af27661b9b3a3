//! The seven v1 MFA routes under `/api/1/users/{user_id}/`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::DEMO_YUBIKEY_CODE;
use super::auth::{Family, authorize};
use super::clock::iso_s;
use super::events::{NewEvent, caller};
use super::respond::{
    ApiError, Reply, body_json, field_bool, field_i64, field_str, json_status, ok, v1_err, v1_ok,
};
use super::seed::is_e164;
use super::server::{App, random_hex};
use super::state::{
    Channel, FactorKind, OutboxMessage, PushAnswer, SimDevice, StateToken, TempToken, Tenant,
};
use super::totp;

/// Default and bounds of `state_token_expires_in`.
const STATE_TOKEN_DEFAULT: i64 = 120;
const STATE_TOKEN_MAX: i64 = 900;
/// Default and maximum lifetime of a temporary MFA token (72 h).
pub(crate) const MFA_TOKEN_MAX: i64 = 259_200;
/// The SMS text when the caller sends no template.
const DEFAULT_SMS: &str = "Your OneLogin verification code is {{otp_code}}";

/// Parses the user id and checks the user exists.
pub(crate) fn user_id(t: &Tenant, raw: &str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(id) if t.users.contains_key(&id) => Ok(id),
        _ => Err(v1_err(404, &format!("User for id {raw} was not found"))),
    }
}

/// The user's device `raw`, or 400 "Factor could not be found".
pub(crate) fn device(t: &Tenant, uid: i64, raw: &str) -> Result<SimDevice, ApiError> {
    raw.parse::<i64>()
        .ok()
        .and_then(|id| t.devices.get(&id))
        .filter(|d| d.user_id == uid)
        .cloned()
        .ok_or_else(factor_not_found)
}

/// 400 "Factor could not be found".
fn factor_not_found() -> ApiError {
    v1_err(400, "Factor could not be found")
}

/// A device as `otp_devices` lists it.
pub(crate) fn device_json(d: &SimDevice, needs_trigger: bool) -> Value {
    let mut v = json!({
        "id": d.id,
        "active": d.active,
        "default": d.default,
        "needs_trigger": needs_trigger,
        "auth_factor_name": d.kind.name(),
        "type_display_name": d.type_display_name,
        "user_display_name": d.user_display_name,
    });
    if let Some(p) = &d.phone_number {
        v["phone_number"] = json!(p);
    }
    v
}

/// Factors the user could still enroll through the API.
pub(crate) fn available(t: &Tenant, uid: i64) -> Vec<FactorKind> {
    let have: Vec<FactorKind> = t.user_devices(uid).iter().map(|d| d.kind).collect();
    FactorKind::ALL
        .into_iter()
        .filter(|k| k.enrollable() && !have.contains(k))
        .collect()
}

/// `GET …/auth_factors`.
pub(crate) async fn auth_factors(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Reply {
    let t = app.lock();
    authorize(&t, &headers, Family::V1, false)?;
    let uid = user_id(&t, &raw)?;
    let list: Vec<Value> = available(&t, uid)
        .into_iter()
        .map(|k| json!({"name": k.name(), "factor_id": k.factor_id()}))
        .collect();
    Ok(v1_ok("Success", Some(json!({"auth_factors": list}))))
}

/// `GET …/otp_devices`.
pub(crate) async fn otp_devices(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Reply {
    let t = app.lock();
    authorize(&t, &headers, Family::V1, false)?;
    let uid = user_id(&t, &raw)?;
    let mut list = Vec::new();
    for d in t.user_devices(uid) {
        match d.kind {
            // Push-and-code factors are listed twice, as the docs say.
            FactorKind::Protect => {
                list.push(device_json(&d, true));
                list.push(device_json(&d, false));
            }
            FactorKind::Sms | FactorKind::Voice | FactorKind::Email => {
                list.push(device_json(&d, true))
            }
            FactorKind::Authenticator | FactorKind::Yubikey => list.push(device_json(&d, false)),
        }
    }
    Ok(v1_ok("Success", Some(json!({"otp_devices": list}))))
}

/// A random code: six digits, or six uppercase letters and digits.
pub(crate) fn new_code(numeric: bool) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..6)
        .map(|_| {
            if numeric {
                char::from(b'0' + rand::random_range(0..10u8))
            } else {
                char::from(ALNUM[rand::random_range(0..ALNUM.len())])
            }
        })
        .collect()
}

/// Sends a code to an SMS or Voice device and returns a state token for it.
pub(crate) fn send_code(
    t: &mut Tenant,
    d: &SimDevice,
    expires_in: i64,
    numeric: bool,
    template: Option<&str>,
) -> Result<(String, DateTime<Utc>), ApiError> {
    let now = t.now();
    let (channel, code, body) = if d.kind == FactorKind::Email {
        let code = new_code(true);
        let body = format!(
            "Your OneLogin verification code is {code}. It expires in {} minutes.",
            (expires_in + 59) / 60
        );
        (Channel::Email, code, body)
    } else if d.kind == FactorKind::Voice {
        let code = new_code(true);
        let spoken = code.chars().map(String::from).collect::<Vec<_>>().join(" ");
        let body = format!(
            "This is OneLogin. Your verification code is {spoken}. Again, your code is {spoken}."
        );
        (Channel::Voice, code, body)
    } else {
        let code = new_code(numeric);
        let minutes = (expires_in + 59) / 60;
        let body = template
            .unwrap_or(DEFAULT_SMS)
            .replace("{{otp_code}}", &code)
            .replace("{{expiration}}", &minutes.to_string());
        if body.chars().count() > 160 {
            return Err(v1_err(
                400,
                "sms_message must be at most 160 characters after substitution",
            ));
        }
        (Channel::Sms, code, body)
    };
    let token = random_hex(20);
    let expires_at = now + TimeDelta::seconds(expires_in);
    t.deliver(OutboxMessage {
        user_id: d.user_id,
        device_id: d.id,
        channel,
        to: if d.kind == FactorKind::Email {
            t.users
                .get(&d.user_id)
                .and_then(|u| u.email.clone())
                .unwrap_or_default()
        } else {
            d.phone_number.clone().unwrap_or_default()
        },
        body,
        code: code.clone(),
        sent_at: now,
    });
    t.add_state_token(
        token.clone(),
        StateToken {
            user_id: d.user_id,
            device_id: d.id,
            code: Some(code),
            push: PushAnswer::Pending,
            created_at: now,
            expires_at,
            consumed: false,
        },
    );
    Ok((token, expires_at))
}

/// `POST …/otp_devices` (enroll).
pub(crate) async fn enroll(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V1, true)?;
    let uid = user_id(&t, &raw)?;
    let body = body_json(&body)?;
    let factor_id = field_i64(&body, "factor_id")
        .ok()
        .flatten()
        .ok_or_else(|| v1_err(400, "factor_id is required"))?;
    let display_name =
        field_str(&body, "display_name").ok_or_else(|| v1_err(400, "display_name is required"))?;
    let kind = FactorKind::from_factor_id(factor_id)
        .filter(|k| available(&t, uid).contains(k))
        .ok_or_else(|| v1_err(400, "Factor is not available for enrollment"))?;
    let number = field_str(&body, "number")
        .map(|n| n.trim().to_string())
        .filter(|n| is_e164(n))
        .ok_or_else(|| v1_err(400, "number must be an E.164 phone number"))?;
    let verified = field_bool(&body, "verified")
        .map_err(|()| v1_err(400, "verified must be a boolean"))?
        .unwrap_or(false);
    let id = t.next_device_id;
    t.next_device_id = id
        .checked_add(1)
        .ok_or_else(|| v1_err(400, "No more device ids are available"))?;
    let has_default = t.devices.values().any(|d| d.user_id == uid && d.default);
    let device = SimDevice {
        id,
        user_id: uid,
        kind,
        type_display_name: kind.name().to_string(),
        user_display_name: display_name,
        phone_number: Some(number),
        active: verified,
        default: !has_default,
        totp_secret: None,
    };
    t.devices.insert(id, device.clone());
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(540, uid, client.clone()).device(&device));
    if verified {
        t.record_event(NewEvent::api(22, uid, client).device(&device));
    }
    let mut item = device_json(&device, true);
    if !verified {
        // An unverified phone gets its first code now; the state token verifies it.
        let (token, _) = send_code(&mut t, &device, STATE_TOKEN_DEFAULT, false, None)?;
        item["state_token"] = json!(token);
    }
    Ok(v1_ok("Success", Some(json!([item]))))
}

/// `POST …/otp_devices/{device_id}/trigger`.
pub(crate) async fn trigger(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, raw_device)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V1, true)?;
    let uid = user_id(&t, &raw)?;
    let body = body_json(&body)?;
    let d = device(&t, uid, &raw_device)?;
    if !matches!(
        d.kind,
        FactorKind::Sms | FactorKind::Voice | FactorKind::Protect | FactorKind::Email
    ) {
        return Err(factor_not_found());
    }
    let range_msg = "state_token_expires_in must be between 120 and 900";
    let expires_in = field_i64(&body, "state_token_expires_in")
        .map_err(|()| v1_err(400, range_msg))?
        .unwrap_or(STATE_TOKEN_DEFAULT);
    if !(STATE_TOKEN_DEFAULT..=STATE_TOKEN_MAX).contains(&expires_in) {
        return Err(v1_err(400, range_msg));
    }
    let numeric = field_bool(&body, "numeric_sms_otp")
        .map_err(|()| v1_err(400, "numeric_sms_otp must be a boolean"))?
        .unwrap_or(false);
    let template = field_str(&body, "sms_message");
    let (token, expires_at, message) = match d.kind {
        FactorKind::Protect => {
            let now = t.now();
            let token = random_hex(20);
            let expires_at = now + TimeDelta::seconds(expires_in);
            t.add_state_token(
                token.clone(),
                StateToken {
                    user_id: uid,
                    device_id: d.id,
                    code: None,
                    push: PushAnswer::Pending,
                    created_at: now,
                    expires_at,
                    consumed: false,
                },
            );
            let msg = "Push notification sent to OneLogin Protect. Authentication pending.";
            (token, expires_at, msg)
        }
        FactorKind::Voice => {
            let (token, at) = send_code(&mut t, &d, expires_in, true, None)?;
            (
                token,
                at,
                "Voice call placed to your phone. Authentication pending.",
            )
        }
        _ => {
            let (token, at) = send_code(&mut t, &d, expires_in, numeric, template.as_deref())?;
            let msg = "SMS token sent to your mobile device. Authentication pending.";
            (token, at, msg)
        }
    };
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(539, uid, client).device(&d));
    let item = json!({
        "id": uid,
        "device_id": d.id,
        "state_token": token,
        "state_token_expires_at": iso_s(expires_at),
        "active": d.active,
        "auth_factor_name": d.kind.name(),
        "type_display_name": d.type_display_name,
        "user_display_name": d.user_display_name,
    });
    Ok(v1_ok(message, Some(json!([item]))))
}

/// Marks a device verified.
pub(crate) fn activate(t: &mut Tenant, device_id: i64) {
    let Some(d) = t.devices.get_mut(&device_id) else {
        return;
    };
    if d.active {
        return;
    }
    d.active = true;
    // The device became usable: OneLogin logs it as added (22).
    let d = d.clone();
    t.record_event(NewEvent::by_user(22, d.user_id).device(&d));
}

/// 401 for a wrong code.
fn wrong_code() -> ApiError {
    v1_err(401, "Failed authentication with this factor")
}

/// `POST …/otp_devices/{device_id}/verify`.
pub(crate) async fn verify(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, raw_device)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V1, true)?;
    let uid = user_id(&t, &raw)?;
    let body = body_json(&body)?;
    let otp = field_str(&body, "otp_token").map(|s| s.trim().to_string());
    let state = field_str(&body, "state_token");
    let client = caller(&t, &headers);
    if raw_device.trim() == "0" {
        let result = verify_temp_token(&mut t, uid, otp);
        record_verify(&mut t, uid, None, client, &result);
        return result;
    }
    let d = device(&t, uid, &raw_device)?;
    let result = check_device(&mut t, uid, &d, otp, state);
    record_verify(&mut t, uid, Some(&d), client, &result);
    result
}

/// Records a verify's outcome: 528 on success, 527 on a wrong code or a denied push
/// (a pending push and a bad request record nothing).
fn record_verify(
    t: &mut Tenant,
    uid: i64,
    d: Option<&SimDevice>,
    client: Option<String>,
    result: &Reply,
) {
    let event_type = match result {
        Ok(r) if r.status().is_success() && !is_pending(r) => 528,
        Err(ApiError::V1 { code: 401, .. }) => 527,
        _ => return,
    };
    let mut e = NewEvent::api(event_type, uid, client);
    if let Some(d) = d {
        e = e.device(d);
    }
    t.record_event(e);
}

/// Whether a verify answer is "push pending".
fn is_pending(r: &Response) -> bool {
    r.extensions().get::<Pending>().is_some()
}

/// Marks the "authentication pending" answer, so no event is recorded for it.
#[derive(Clone, Copy, Debug)]
struct Pending;

/// Checks a code or a push answer against a device.
fn check_device(
    t: &mut Tenant,
    uid: i64,
    d: &SimDevice,
    otp: Option<String>,
    state: Option<String>,
) -> Reply {
    let now = t.now();
    let push = d.kind == FactorKind::Protect && state.is_some();
    if matches!(
        d.kind,
        FactorKind::Sms | FactorKind::Voice | FactorKind::Email
    ) || push
    {
        let token = state.ok_or_else(|| v1_err(400, "state_token is required"))?;
        let st = t
            .state_tokens
            .get(&token)
            .filter(|s| !s.consumed && s.device_id == d.id && s.user_id == uid)
            .cloned()
            .ok_or_else(|| v1_err(400, "Invalid state token"))?;
        if st.expires_at <= now {
            return Err(v1_err(400, "State token has expired"));
        }
        if let Some(code) = &st.code {
            let otp = otp.ok_or_else(|| v1_err(400, "otp_token is required"))?;
            if !otp.eq_ignore_ascii_case(code) {
                return Err(wrong_code());
            }
        } else {
            match st.push {
                PushAnswer::Pending => {
                    let mut r = json_status(
                        200,
                        &json!({"status": {"type": "pending", "code": 200,
                            "message": "Authentication pending on OL Protect", "error": false}}),
                    );
                    r.extensions_mut().insert(Pending);
                    return Ok(r);
                }
                PushAnswer::Denied => return Err(v1_err(401, "Push notification was denied")),
                PushAnswer::Approved => {}
            }
        }
        if let Some(s) = t.state_tokens.get_mut(&token) {
            s.consumed = true;
        }
    } else {
        let otp = otp.ok_or_else(|| v1_err(400, "otp_token is required"))?;
        let good = if d.kind == FactorKind::Yubikey {
            otp == DEMO_YUBIKEY_CODE
        } else {
            t.totp_secret(d.id)
                .is_some_and(|secret| totp::verify(&secret, &otp, now))
        };
        if !good {
            return Err(wrong_code());
        }
    }
    activate(t, d.id);
    Ok(success())
}

/// The verify success body (no data).
pub(crate) fn success() -> Response {
    ok(&json!({"status": {"type": "success", "code": 200, "message": "Success", "error": false}}))
}

/// `device_id` 0: checks a temporary MFA token.
pub(crate) fn verify_temp_token(t: &mut Tenant, uid: i64, otp: Option<String>) -> Reply {
    let otp = otp.ok_or_else(|| v1_err(400, "otp_token is required"))?;
    let now = t.now();
    let found = t
        .temp_tokens
        .iter_mut()
        .find(|tt| tt.user_id == uid && tt.token == otp && tt.expires_at > now && !tt.used);
    match found {
        Some(tt) => {
            tt.used = !tt.reusable;
            Ok(success())
        }
        None => Err(wrong_code()),
    }
}

/// `DELETE …/otp_devices/{device_id}`.
pub(crate) async fn remove(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, raw_device)): Path<(String, String)>,
) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V1, true)?;
    let uid = user_id(&t, &raw)?;
    let d = device(&t, uid, &raw_device)?;
    t.devices.remove(&d.id);
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(24, uid, client).device(&d));
    // Outstanding state tokens and pushes die with the device.
    t.state_tokens.retain(|_, s| s.device_id != d.id);
    Ok(ok(&json!({})))
}

/// `POST …/mfa_token`.
pub(crate) async fn mfa_token(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V1, true)?;
    let uid = user_id(&t, &raw)?;
    let body = body_json(&body)?;
    let expires_in = field_i64(&body, "expires_in")
        .map_err(|()| v1_err(400, "expires_in must be a number of seconds"))?
        .unwrap_or(MFA_TOKEN_MAX);
    if expires_in > MFA_TOKEN_MAX {
        return Err(v1_err(400, "expires_in must be at most 259200"));
    }
    if expires_in < 1 {
        return Err(v1_err(400, "expires_in must be at least 1"));
    }
    let reusable = field_bool(&body, "reusable")
        .map_err(|()| v1_err(400, "reusable must be a boolean"))?
        .unwrap_or(false);
    let token: String = (0..8)
        .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
        .collect();
    let expires_at = t.now() + TimeDelta::seconds(expires_in);
    t.add_temp_token(TempToken {
        user_id: uid,
        token: token.clone(),
        reusable,
        expires_at,
        used: false,
    });
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(1100, uid, client));
    Ok(ok(&json!({
        "mfa_token": token,
        "reusable": reusable,
        "expires_at": iso_s(expires_at),
    })))
}
