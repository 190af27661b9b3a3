//! Account actions (spec §10): `PUT /api/1/users/{id}/logout`, `PUT /api/1/users/{id}/lock_user`
//! and `POST /api/2/users/{id}/unlock`, with OneLogin's answers, errors and scopes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::TimeDelta;
use serde_json::{Value, json};

use super::auth::{Family, authorize, authorize_manage_all};
use super::events::{LOCK_MINUTES, NewEvent, caller};
use super::mfa::user_id;
use super::respond::{Reply, body_json, ok, v1_err, v1_ok, v2_err};
use super::server::App;
use super::state::Tenant;

/// Status 3: locked.
const LOCKED: i64 = 3;
/// Status 1: active.
const ACTIVE: i64 = 1;

/// The user in the v2 shape's 404 when it does not exist.
fn v2_user(t: &Tenant, raw: &str) -> Result<i64, super::respond::ApiError> {
    match raw.parse::<i64>() {
        Ok(id) if t.users.contains_key(&id) => Ok(id),
        _ => Err(v2_err(
            404,
            "NotFoundError",
            "The resource with the given id could not be found",
        )),
    }
}

/// True when the user is locked now: status 3, or a lock that has not ended.
pub(crate) fn is_locked(t: &Tenant, uid: i64) -> bool {
    let now = t.now();
    t.users
        .get(&uid)
        .is_some_and(|u| u.status == LOCKED || u.locked_until.is_some_and(|until| until > now))
}

/// `PUT /api/1/users/{id}/logout`: Manage users or Manage All.
pub(crate) async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V1, true)?;
    let uid = user_id(&t, &raw)?;
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(516, uid, client));
    Ok(v1_ok("Success", None))
}

/// `PUT /api/1/users/{id}/lock_user` `{"locked_until": minutes}`: Manage All only.
pub(crate) async fn lock(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Reply {
    let mut t = app.lock();
    authorize_manage_all(&t, &headers, Family::V1)?;
    let uid = user_id(&t, &raw)?;
    let minutes = body_json(&body)?
        .get("locked_until")
        .and_then(Value::as_i64)
        .filter(|m| *m >= 0)
        .ok_or_else(|| v1_err(400, "locked_until should be -> integer"))?;
    let minutes = if minutes == 0 {
        LOCK_MINUTES
    } else {
        minutes.min(i64::from(u32::MAX))
    };
    let until = t.now() + TimeDelta::minutes(minutes);
    if let Some(u) = Arc::make_mut(&mut t.users).get_mut(&uid) {
        u.status = LOCKED;
        u.locked_until = Some(until);
    }
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(553, uid, client));
    Ok(v1_ok("Success", None))
}

/// `POST /api/2/users/{id}/unlock`: Manage users or Manage All; a user who is not locked is
/// answered `User cannot be unlocked`.
pub(crate) async fn unlock(
    State(app): State<App>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Reply {
    let mut t = app.lock();
    authorize(&t, &headers, Family::V2, true)?;
    let uid = v2_user(&t, &raw)?;
    if !is_locked(&t, uid) {
        return Ok(ok(&json!({"message": "User cannot be unlocked"})));
    }
    if let Some(u) = Arc::make_mut(&mut t.users).get_mut(&uid) {
        u.status = ACTIVE;
        u.locked_until = None;
        u.invalid_login_attempts = 0;
    }
    let client = caller(&t, &headers);
    t.record_event(NewEvent::api(554, uid, client));
    Ok(ok(&json!({"message": "User unlocked"})))
}
