//! OAuth2 client credentials: the token and revoke endpoints, and the bearer check
//! every resource route makes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use base64::Engine;
use chrono::TimeDelta;
use serde_json::{Value, json};

use super::clock::iso_ms;
use super::respond::{ApiError, Reply, flat_err, ok, v1_err, v1_ok, v2_err};
use super::server::{App, random_hex};
use super::state::{AccessToken, Scope, Tenant};
use super::{
    DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET, DEMO_MANAGE_CLIENT_ID,
    DEMO_MANAGE_CLIENT_SECRET, DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET,
};

/// Access token lifetime, as OneLogin documents it (10 h).
const TOKEN_LIFETIME_SECS: i64 = 36000;

/// Which error shape a route answers auth failures in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `/api/1/...` and `/auth/rate_limit`: v1 envelope.
    V1,
    /// `/api/2/...`: `{statusCode, name, message}`.
    V2,
}

/// The scope a client id/secret pair has, if the pair is right.
fn client_scope(id: &str, secret: &str) -> Option<Scope> {
    match (id, secret) {
        (DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET) => Some(Scope::ManageAll),
        (DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET) => Some(Scope::ManageUsers),
        (DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET) => Some(Scope::ReadUsers),
        _ => None,
    }
}

/// Client credentials from `Authorization` (Basic, or `client_id:…, client_secret:…`).
fn header_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    if let Some((scheme, rest)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("basic")
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        return Some((id.to_string(), secret.to_string()));
    }
    // `client_id:<id>, client_secret:<secret>` (the docs) or without the space (Ruby SDK).
    let (mut id, mut secret) = (None, None);
    for part in value.split(',') {
        let (k, v) = part.trim().split_once(':')?;
        match k.trim() {
            "client_id" => id = Some(v.trim().to_string()),
            "client_secret" => secret = Some(v.trim().to_string()),
            _ => {}
        }
    }
    Some((id?, secret?))
}

/// Whether the request's body is form-encoded.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The request body as string fields, from JSON or a form.
fn body_fields(headers: &HeaderMap, body: &Bytes) -> Value {
    if is_form(headers) {
        let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(map)
    } else {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    }
}

/// `POST /auth/oauth2/v2/token`.
pub(crate) async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Reply {
    let fields = body_fields(&headers, &body);
    let text = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_string);
    let creds =
        header_credentials(&headers).or_else(|| Some((text("client_id")?, text("client_secret")?)));
    let Some((id, secret)) = creds else {
        return Err(flat_err(401, "Authentication Failure"));
    };
    let Some(scope) = client_scope(&id, &secret) else {
        return Err(flat_err(401, "Authentication Failure"));
    };
    if text("grant_type").as_deref() != Some("client_credentials") {
        return Err(flat_err(400, "grant_type is incorrect/absent"));
    }
    let mut t = app.lock();
    let now = t.now();
    // Expired tokens are never served again; forget them.
    t.tokens.retain(|_, tok| tok.expires_at > now);
    let existing = t
        .tokens
        .iter()
        .find(|(_, tok)| tok.client_id == id && tok.expires_at > now)
        .map(|(k, tok)| (k.clone(), tok.clone()));
    let (access, tok) = match existing {
        Some(found) => found,
        None => {
            let tok = AccessToken {
                client_id: id,
                scope,
                created_at: now,
                expires_at: now + TimeDelta::seconds(TOKEN_LIFETIME_SECS),
            };
            let access = random_hex(32);
            t.tokens.insert(access.clone(), tok.clone());
            (access, tok)
        }
    };
    Ok(ok(&json!({
        "access_token": access,
        "created_at": iso_ms(tok.created_at),
        "expires_in": TOKEN_LIFETIME_SECS,
        "refresh_token": "deprecated",
        "token_type": "bearer",
        "account_id": t.account_id,
    })))
}

/// `POST /auth/oauth2/revoke`.
pub(crate) async fn revoke(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Reply {
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_ct {
        return Err(v1_err(
            400,
            "Content Type is not specified or specified incorrectly. Content-Type header must be set to application/json",
        ));
    }
    let Some((id, secret)) = header_credentials(&headers) else {
        return Err(v1_err(400, "The authorization information is missing"));
    };
    if client_scope(&id, &secret).is_none() {
        return Err(v1_err(401, "Authentication Failure"));
    }
    let fields: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(access) = fields.get("access_token").and_then(Value::as_str) else {
        return Err(v1_err(400, "Access Token Missing"));
    };
    let mut t = app.lock();
    match t.tokens.get(access) {
        Some(tok) if tok.client_id != id => return Err(v1_err(401, "Authentication Failure")),
        Some(_) => {
            t.tokens.remove(access);
        }
        // Revoking an unknown token is a no-op, as RFC 7009 has it.
        None => {}
    }
    Ok(v1_ok("Success", None))
}

/// The bearer token in `Authorization` (`Bearer x`, `bearer x`, `bearer:x`).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let rest = value[6..].trim_start_matches([':', ' ']).trim();
    (!rest.is_empty()).then_some(rest)
}

/// Checks the bearer token (and, for writes, the Manage scope).
pub(crate) fn authorize(
    t: &Tenant,
    headers: &HeaderMap,
    family: Family,
    write: bool,
) -> Result<(), ApiError> {
    let now = t.now();
    let tok = bearer(headers)
        .and_then(|b| t.tokens.get(b))
        .filter(|tok| tok.expires_at > now);
    let Some(tok) = tok else {
        return Err(match family {
            Family::V1 => v1_err(401, "Authentication Failure"),
            Family::V2 => v2_err(401, "UnauthorizedError", "Unauthorized"),
        });
    };
    if write && tok.scope == Scope::ReadUsers {
        return Err(match family {
            Family::V1 => v1_err(401, "Insufficient Permission"),
            Family::V2 => v2_err(403, "ForbiddenError", "Insufficient Permission"),
        });
    }
    Ok(())
}

/// Checks the bearer token for an `/api/2/mfa/…` call: Manage All only (spec §0.4). Other
/// scopes are answered 401 "Insufficient Permission", as v1 answers scope problems.
pub(crate) fn authorize_mfa_v2(t: &Tenant, headers: &HeaderMap) -> Result<(), ApiError> {
    authorize(t, headers, Family::V2, false)?;
    let now = t.now();
    let manage_all = bearer(headers)
        .and_then(|b| t.tokens.get(b))
        .is_some_and(|tok| tok.expires_at > now && tok.scope == Scope::ManageAll);
    if manage_all {
        Ok(())
    } else {
        Err(v2_err(401, "UnauthorizedError", "Insufficient Permission"))
    }
}

/// Checks the bearer token for a call only Manage All may make (`lock_user`, spec §10);
/// other scopes are answered 401 "Insufficient Permission" in the route's shape.
pub(crate) fn authorize_manage_all(
    t: &Tenant,
    headers: &HeaderMap,
    family: Family,
) -> Result<(), ApiError> {
    authorize(t, headers, family, true)?;
    let now = t.now();
    let manage_all = bearer(headers)
        .and_then(|b| t.tokens.get(b))
        .is_some_and(|tok| tok.expires_at > now && tok.scope == Scope::ManageAll);
    match (manage_all, family) {
        (true, _) => Ok(()),
        (false, Family::V1) => Err(v1_err(401, "Insufficient Permission")),
        (false, Family::V2) => Err(v2_err(401, "UnauthorizedError", "Insufficient Permission")),
    }
}

/// The client id behind a request's valid credentials, whose budget it spends: the
/// bearer token's client, or (token and revoke endpoints) a right id/secret pair.
/// None when the request has no valid credentials; it then spends nothing.
pub(crate) fn budget_owner(t: &Tenant, headers: &HeaderMap, body: &Bytes) -> Option<String> {
    let now = t.now();
    if let Some(tok) = bearer(headers)
        .and_then(|b| t.tokens.get(b))
        .filter(|tok| tok.expires_at > now)
    {
        return Some(tok.client_id.clone());
    }
    let fields = body_fields(headers, body);
    let text = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_string);
    let (id, secret) = header_credentials(headers)
        .or_else(|| Some((text("client_id")?, text("client_secret")?)))?;
    client_scope(&id, &secret).map(|_| id)
}

/// `GET /auth/rate_limit`: the caller's own budget.
pub(crate) async fn rate_limit(State(app): State<App>, headers: HeaderMap) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V1, false)?;
    let now = t.now();
    let owner = budget_owner(&t, &headers, &Bytes::new()).unwrap_or_default();
    let (limit, remaining, reset) = t.rate.snapshot(&owner, now);
    Ok(v1_ok(
        "Success",
        Some(
            json!({"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset}),
        ),
    ))
}
