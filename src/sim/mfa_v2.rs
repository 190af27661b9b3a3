//! The MFA API v2 routes under `/api/2/mfa/users/{user_id}/` (spec §6), over the same devices,
//! state tokens and outbox as v1: a device enrolled here is listed by v1 and the other way round.
//! A v2 verification is a state token keyed by its id, so pushes and codes work alike.

use super::events::{NewEvent, caller};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::TimeDelta;
use serde_json::{Value, json};

use super::DEMO_YUBIKEY_CODE;
use super::auth::authorize_mfa_v2;
use super::clock::iso_s;
use super::mfa::{activate, new_code, send_code};
use super::respond::{
    ApiError, Reply, body_json, field_bool, field_i64, field_str, json_status, v2_err,
};
use super::seed::is_e164;
use super::server::{App, random_hex};
use super::state::{
    Channel, FactorKind, OutboxMessage, PushAnswer, RegistrationStatus, SimDevice, SimRegistration,
    StateToken, Tenant,
};
use super::totp;

/// Default and bounds of a registration's or verification's `expires_in` (spec §6: 120–900).
const EXPIRES_DEFAULT: i64 = 300;
const EXPIRES_MIN: i64 = 120;
const EXPIRES_MAX: i64 = 900;
/// The issuer an authenticator app shows for demo registrations.
const ISSUER: &str = "OneLogin";

/// A 400 in the v2 shape.
fn bad_request(message: &str) -> ApiError {
    v2_err(400, "BadRequestError", message)
}

/// A 404 in the v2 shape.
fn not_found(message: &str) -> ApiError {
    v2_err(404, "NotFound", message)
}

/// 401 for a wrong code (spec §6: InvalidCredentials).
fn wrong_code() -> ApiError {
    v2_err(401, "InvalidCredentials", "Invalid OTP code")
}

/// A 2xx JSON answer.
fn created(body: &Value) -> Response {
    json_status(201, body)
}

/// A UUID-shaped random id, as v2 registrations and verifications have.
fn uuid() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Locks the tenant, checks Manage All and the user.
fn open(t: &Tenant, headers: &HeaderMap, raw: &str) -> Result<i64, ApiError> {
    authorize_mfa_v2(t, headers)?;
    match raw.parse::<i64>() {
        Ok(id) if t.users.contains_key(&id) => Ok(id),
        _ => Err(v2_err(
            404,
            "NotFoundError",
            &format!("User with id {raw} was not found"),
        )),
    }
}

/// `expires_in` within 120–900 (422 ValidationError otherwise).
fn expires_in(body: &Value) -> Result<i64, ApiError> {
    let secs = field_i64(body, "expires_in")
        .map_err(|()| ApiError::Validation("expires_in".into()))?
        .unwrap_or(EXPIRES_DEFAULT);
    if (EXPIRES_MIN..=EXPIRES_MAX).contains(&secs) {
        Ok(secs)
    } else {
        Err(ApiError::Validation("expires_in".into()))
    }
}

/// The request body as a JSON object, or a 400 in the v2 shape.
fn v2_body(body: &Bytes) -> Result<Value, ApiError> {
    body_json(body).map_err(|_| bad_request("Request body must be a JSON object"))
}

/// The code in a body's `otp`, sent as a string or a number.
fn otp(body: &Value) -> Option<String> {
    field_str(body, "otp").map(|s| s.trim().to_owned())
}

/// `GET …/factors`: what the user can still register.
pub(crate) async fn factors(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Reply {
    let t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let have: Vec<FactorKind> = t.user_devices(uid).iter().map(|d| d.kind).collect();
    let list: Vec<Value> = FactorKind::ALL
        .into_iter()
        .filter(|k| k.registrable() && !have.contains(k))
        .map(|k| {
            json!({"factor_id": k.factor_id(), "name": k.v2_name(),
                "auth_factor_name": k.v2_auth_factor_name()})
        })
        .collect();
    Ok(json_status(200, &Value::Array(list)))
}

/// A device as `GET …/devices` lists it (ids as strings, spec §6 notes).
fn device_json(d: &SimDevice) -> Value {
    json!({
        "device_id": d.id.to_string(),
        "user_display_name": d.user_display_name,
        "type_display_name": d.type_display_name,
        "auth_factor_name": d.kind.v2_auth_factor_name(),
        "default": d.default,
        "active": d.active,
    })
}

/// `GET …/devices`.
pub(crate) async fn devices(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Reply {
    let t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let list: Vec<Value> = t.user_devices(uid).iter().map(device_json).collect();
    Ok(json_status(200, &Value::Array(list)))
}

/// `DELETE …/devices/{device_id}`: 204.
pub(crate) async fn remove(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, raw_device)): Path<(String, String)>,
) -> Reply {
    let mut t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let d = user_device(&t, uid, &raw_device)?;
    t.devices.remove(&d.id);
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(24, uid, client).device(&d));
    t.state_tokens.retain(|_, s| s.device_id != d.id);
    Ok(json_status(204, &Value::Null).map(|_| axum::body::Body::empty()))
}

/// The user's device by id, or 404 NotFound.
fn user_device(t: &Tenant, uid: i64, raw: &str) -> Result<SimDevice, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| t.devices.get(&id))
        .filter(|d| d.user_id == uid)
        .cloned()
        .ok_or_else(|| not_found("The device with the given id could not be found"))
}

/// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER`, percent-encoded.
fn totp_url(account: &str, secret: &str) -> String {
    let account: String = url::form_urlencoded::byte_serialize(account.as_bytes()).collect();
    // form encoding writes spaces as '+'; otpauth labels want %20. The ':' stays literal.
    let label = format!("{ISSUER}:{}", account.replace('+', "%20"));
    // SHA1, 6 digits and 30 s are the defaults: leaving them out keeps the QR code small.
    format!("otpauth://totp/{label}?secret={secret}&issuer={ISSUER}")
}

/// Creates the device a registration enrolls.
fn enroll_device(t: &mut Tenant, r: &SimRegistration, client: Option<String>) -> i64 {
    let id = t.next_device_id;
    t.next_device_id += 1;
    let has_default = t
        .devices
        .values()
        .any(|d| d.user_id == r.user_id && d.default);
    let phone = matches!(r.kind, FactorKind::Sms | FactorKind::Voice)
        .then(|| r.to.clone())
        .flatten();
    t.devices.insert(
        id,
        SimDevice {
            id,
            user_id: r.user_id,
            kind: r.kind,
            type_display_name: r.kind.name().to_string(),
            user_display_name: r.display_name.clone(),
            phone_number: phone,
            active: true,
            default: !has_default,
            totp_secret: r.totp_secret.clone(),
        },
    );
    if let Some(d) = t.devices.get(&id).cloned() {
        t.record_event(NewEvent::api(540, r.user_id, client.clone()).device(&d));
        t.record_event(NewEvent::api(22, r.user_id, client).device(&d));
    }
    id
}

/// A registration as the API answers it.
fn registration_json(id: &str, r: &SimRegistration, with_secrets: bool) -> Value {
    let mut v = json!({
        "id": id,
        "status": r.status,
        "auth_factor_name": r.kind.v2_auth_factor_name(),
        "type_display_name": r.kind.name(),
        "user_display_name": r.display_name,
        "expires_at": iso_s(r.expires_at),
    });
    if let Some(device) = r.device_id {
        v["device_id"] = json!(device.to_string());
    }
    if with_secrets && r.status == RegistrationStatus::Pending {
        let mut data = serde_json::Map::new();
        if let Some(secret) = &r.totp_secret {
            data.insert(
                "totp_url".into(),
                json!(totp_url(&r.to.clone().unwrap_or_default(), secret)),
            );
        }
        if r.kind == FactorKind::Protect {
            data.insert("verification_token".into(), json!(random_hex(16)));
        }
        v["factor_data"] = Value::Object(data);
    }
    v
}

/// `POST …/registrations`.
pub(crate) async fn register(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let body = v2_body(&body)?;
    let factor_id = field_i64(&body, "factor_id")
        .map_err(|()| ApiError::Validation("factor_id".into()))?
        .ok_or_else(|| ApiError::Validation("factor_id".into()))?;
    let display_name = field_str(&body, "display_name")
        .ok_or_else(|| ApiError::Validation("display_name".into()))?;
    let expires = expires_in(&body)?;
    let verified = field_bool(&body, "verified")
        .map_err(|()| ApiError::Validation("verified".into()))?
        .unwrap_or(false);
    let have: Vec<FactorKind> = t.user_devices(uid).iter().map(|d| d.kind).collect();
    let kind = FactorKind::from_factor_id(factor_id)
        .filter(|k| k.registrable() && !have.contains(k))
        .ok_or_else(|| bad_request("Factor is not available for registration"))?;
    if verified && !kind.may_preverify() {
        return Err(bad_request(
            "verified is supported only for OneLogin SMS, Voice and Email",
        ));
    }
    let user = t.users.get(&uid).cloned();
    let to = match kind {
        FactorKind::Sms | FactorKind::Voice => {
            let number = field_str(&body, "number")
                .map(|n| n.trim().to_owned())
                .or_else(|| user.as_ref().and_then(|u| u.phone.clone()));
            match number {
                Some(n) if is_e164(&n) => Some(n),
                Some(_) => return Err(ApiError::Validation("number".into())),
                None => return Err(bad_request("The user has no phone number")),
            }
        }
        FactorKind::Email => match user.as_ref().and_then(|u| u.email.clone()) {
            Some(e) => Some(e),
            None => return Err(bad_request("The user has no email address")),
        },
        // The account name an authenticator app shows.
        _ => user
            .as_ref()
            .and_then(|u| u.email.clone().or_else(|| u.username.clone()))
            .or_else(|| Some(format!("user {uid}"))),
    };
    let now = t.now();
    let totp_secret = kind.is_totp().then(|| {
        // 80 bits, as Google Authenticator's own keys: a shorter URI, a QR code that fits 80×24.
        let bytes: Vec<u8> = (0..10).map(|_| rand::random::<u8>()).collect();
        totp::base32_encode(&bytes)
    });
    let mut r = SimRegistration {
        user_id: uid,
        kind,
        display_name,
        status: RegistrationStatus::Pending,
        created_at: now,
        expires_at: now + TimeDelta::seconds(expires),
        totp_secret,
        code: None,
        to,
        device_id: None,
    };
    if verified {
        r.status = RegistrationStatus::Accepted;
        let client = caller(&t, &headers);
        r.device_id = Some(enroll_device(&mut t, &r, client));
    } else if matches!(
        kind,
        FactorKind::Sms | FactorKind::Voice | FactorKind::Email
    ) {
        let code = new_code(true);
        let channel = match kind {
            FactorKind::Voice => Channel::Voice,
            FactorKind::Email => Channel::Email,
            _ => Channel::Sms,
        };
        t.deliver(OutboxMessage {
            user_id: uid,
            device_id: 0,
            channel,
            to: r.to.clone().unwrap_or_default(),
            body: format!("Your OneLogin enrollment code is {code}"),
            code: code.clone(),
            sent_at: now,
        });
        r.code = Some(code);
    }
    let id = uuid();
    let answer = registration_json(&id, &r, true);
    // Bounded like state tokens: the oldest registration goes first.
    while t.registrations.len() >= super::state::MAX_STATE_TOKENS {
        let oldest = t
            .registrations
            .iter()
            .min_by_key(|(_, r)| r.created_at)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => t.registrations.remove(&k),
            None => break,
        };
    }
    t.registrations.insert(id, r);
    Ok(created(&answer))
}

/// The user's live registration, or 404 (unknown or expired).
fn live_registration(t: &Tenant, uid: i64, id: &str) -> Result<SimRegistration, ApiError> {
    let now = t.now();
    t.registrations
        .get(id)
        .filter(|r| r.user_id == uid)
        .filter(|r| r.status != RegistrationStatus::Pending || r.expires_at > now)
        .cloned()
        .ok_or_else(|| not_found("The registration could not be found or has expired"))
}

/// `PUT …/registrations/{id}`: the first code.
pub(crate) async fn verify_registration(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let body = v2_body(&body)?;
    let code = otp(&body).ok_or_else(|| ApiError::Validation("otp".into()))?;
    let mut r = live_registration(&t, uid, &id)?;
    if r.status != RegistrationStatus::Pending {
        return Err(v2_err(
            403,
            "ForbiddenAction",
            "The registration is no longer pending",
        ));
    }
    let now = t.now();
    let good = match (&r.totp_secret, &r.code) {
        (Some(secret), _) if r.kind == FactorKind::Authenticator => {
            totp::base32_decode(secret).is_some_and(|s| totp::verify(&s, &code, now))
        }
        (_, Some(sent)) => sent.eq_ignore_ascii_case(&code),
        _ => {
            return Err(bad_request(
                "This registration is accepted in the OneLogin Protect app, not with a code",
            ));
        }
    };
    if !good {
        return Err(wrong_code());
    }
    r.status = RegistrationStatus::Accepted;
    let client = caller(&t, &headers);
    r.device_id = Some(enroll_device(&mut t, &r, client));
    let answer = registration_json(&id, &r, false);
    t.registrations.insert(id, r);
    // The docs show an array here (spec §7.14).
    Ok(json_status(200, &json!([answer])))
}

/// `GET …/registrations/{id}`: poll.
pub(crate) async fn get_registration(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, id)): Path<(String, String)>,
) -> Reply {
    let t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let r = live_registration(&t, uid, &id)?;
    Ok(json_status(200, &registration_json(&id, &r, false)))
}

/// Accepts or denies a pending Protect registration as the user's app; false if none.
pub(crate) fn answer_registration(t: &mut Tenant, id: &str, accept: bool) -> bool {
    let now = t.now();
    let Some(r) = t
        .registrations
        .get(id)
        .filter(|r| {
            r.status == RegistrationStatus::Pending
                && r.expires_at > now
                && r.kind == FactorKind::Protect
        })
        .cloned()
    else {
        return false;
    };
    let mut r = r;
    if accept {
        r.status = RegistrationStatus::Accepted;
        // Accepted in the user's app: no API client acted.
        r.device_id = Some(enroll_device(t, &r, None));
    } else {
        r.status = RegistrationStatus::Rejected;
    }
    t.registrations.insert(id.to_owned(), r);
    true
}

/// A verification as `POST …/verifications` answers it (an array, as the docs show).
fn verification_json(id: &str, d: &SimDevice, expires_at: chrono::DateTime<chrono::Utc>) -> Value {
    json!([{
        "id": id,
        "user_id": d.user_id.to_string(),
        "device_id": d.id.to_string(),
        "auth_factor_name": d.kind.v2_auth_factor_name(),
        "type_display_name": d.type_display_name,
        "user_display_name": d.user_display_name,
        "expires_at": iso_s(expires_at),
    }])
}

/// The verify success body (v1-style, as the docs show for v2 too).
fn success() -> Response {
    json_status(
        200,
        &json!({"status": {"type": "success", "code": 200, "message": "Success", "error": false}}),
    )
}

/// Checks a code against a device that needs no trigger (authenticator, Protect code, YubiKey).
fn direct_code_ok(t: &Tenant, d: &SimDevice, code: &str) -> bool {
    if d.kind == FactorKind::Yubikey {
        return code == DEMO_YUBIKEY_CODE;
    }
    t.totp_secret(d.id)
        .is_some_and(|secret| totp::verify(&secret, code, t.now()))
}

/// `POST …/verifications`: sends a push, SMS, call or email; with `otp`, checks it at once.
pub(crate) async fn create_verification(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let body = v2_body(&body)?;
    let raw_device =
        field_str(&body, "device_id").ok_or_else(|| ApiError::Validation("device_id".into()))?;
    let d = user_device(&t, uid, &raw_device)?;
    let client = caller(&t, &headers);
    if let Some(code) = otp(&body) {
        // Verify without activation (spec §6): a code from an app or key.
        if !direct_code_ok(&t, &d, &code) {
            t.record_event(NewEvent::api(527, uid, client).device(&d));
            return Err(wrong_code());
        }
        activate(&mut t, d.id);
        t.record_event(NewEvent::api(528, uid, client).device(&d));
        return Ok(success());
    }
    t.record_event(NewEvent::api(539, uid, client).device(&d));
    let expires = expires_in(&body)?;
    let now = t.now();
    let id = uuid();
    let expires_at = now + TimeDelta::seconds(expires);
    let code = match d.kind {
        FactorKind::Sms | FactorKind::Voice | FactorKind::Email => {
            let template = field_str(&body, "custom_message")
                .map(|m| m.replace("{{otp_expiry}}", &((expires + 59) / 60).to_string()));
            let (token, _) = send_code(&mut t, &d, expires, false, template.as_deref())
                .map_err(|_| bad_request("custom_message is too long"))?;
            // The code went out under a v1 token; move it to the verification's id.
            let st = t.state_tokens.remove(&token);
            st.and_then(|s| s.code)
        }
        // A push for Protect; nothing is sent for an authenticator or key (the user reads it).
        _ => None,
    };
    let push = d.kind == FactorKind::Protect;
    if code.is_none() && !push && !d.kind.is_totp() && d.kind != FactorKind::Yubikey {
        return Err(bad_request("This factor cannot be verified"));
    }
    t.add_state_token(
        id.clone(),
        StateToken {
            user_id: uid,
            device_id: d.id,
            // An app's code is checked against the seed, not a sent code: marked by an empty one.
            code: if push {
                None
            } else {
                Some(code.unwrap_or_default())
            },
            push: PushAnswer::Pending,
            created_at: now,
            expires_at,
            consumed: false,
        },
    );
    Ok(created(&verification_json(&id, &d, expires_at)))
}

/// The user's verification, or 404 NotFound (unknown or expired).
fn live_verification(t: &Tenant, uid: i64, id: &str) -> Result<StateToken, ApiError> {
    let now = t.now();
    t.state_tokens
        .get(id)
        .filter(|s| s.user_id == uid && (s.consumed || s.expires_at > now))
        .cloned()
        .ok_or_else(|| not_found("The verification could not be found or has expired"))
}

/// `PUT …/verifications/{id}`: checks the code.
pub(crate) async fn verify_code(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let body = v2_body(&body)?;
    let code = otp(&body).ok_or_else(|| ApiError::Validation("otp".into()))?;
    let st = live_verification(&t, uid, &id)?;
    if st.consumed {
        return Err(v2_err(
            403,
            "ForbiddenAction",
            "The verification was already used",
        ));
    }
    let d = t
        .devices
        .get(&st.device_id)
        .cloned()
        .ok_or_else(|| not_found("The device with the given id could not be found"))?;
    let good = match &st.code {
        None => {
            return Err(bad_request(
                "OneLogin Protect pushes are answered in the app: poll the verification",
            ));
        }
        Some(sent) if sent.is_empty() => direct_code_ok(&t, &d, &code),
        Some(sent) => sent.eq_ignore_ascii_case(&code),
    };
    let client = caller(&t, &headers);
    if !good {
        t.record_event(NewEvent::api(527, uid, client).device(&d));
        return Err(wrong_code());
    }
    if let Some(s) = t.state_tokens.get_mut(&id) {
        s.consumed = true;
    }
    activate(&mut t, d.id);
    t.record_event(NewEvent::api(528, uid, client).device(&d));
    Ok(success())
}

/// `GET …/verifications/{id}`: poll a push.
pub(crate) async fn get_verification(
    State(app): State<App>,
    headers: HeaderMap,
    Path((raw, id)): Path<(String, String)>,
) -> Reply {
    let mut t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let st = live_verification(&t, uid, &id)?;
    let status = match (st.consumed, st.push) {
        (true, _) | (_, PushAnswer::Approved) => "accepted",
        (_, PushAnswer::Denied) => "rejected",
        _ => "pending",
    };
    if status == "accepted" && !st.consumed {
        if let Some(s) = t.state_tokens.get_mut(&id) {
            s.consumed = true;
        }
        activate(&mut t, st.device_id);
        let client = caller(&t, &headers);
        let mut e = NewEvent::api(528, uid, client);
        if let Some(d) = t.devices.get(&st.device_id) {
            e = e.device(d);
        }
        t.record_event(e);
    }
    Ok(json_status(
        200,
        &json!([{"id": id, "status": status, "device_id": st.device_id.to_string()}]),
    ))
}

/// `POST …/mfa_token` (v2): same token store as v1.
pub(crate) async fn mfa_token(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    let uid = open(&t, &headers, &raw)?;
    let body = v2_body(&body)?;
    let expires = field_i64(&body, "expires_in")
        .map_err(|()| ApiError::Validation("expires_in".into()))?
        .unwrap_or(super::mfa::MFA_TOKEN_MAX);
    if !(1..=super::mfa::MFA_TOKEN_MAX).contains(&expires) {
        return Err(ApiError::Validation("expires_in".into()));
    }
    let reusable = field_bool(&body, "reusable")
        .map_err(|()| ApiError::Validation("reusable".into()))?
        .unwrap_or(false);
    let token: String = (0..8)
        .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
        .collect();
    let expires_at = t.now() + TimeDelta::seconds(expires);
    t.add_temp_token(super::state::TempToken {
        user_id: uid,
        token: token.clone(),
        reusable,
        expires_at,
        used: false,
    });
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(1100, uid, client));
    Ok(created(&json!({
        "mfa_token": token,
        "reusable": reusable,
        "expires_at": iso_s(expires_at),
        "device_id": format!("user_temp_otp_{uid}"),
    })))
}
