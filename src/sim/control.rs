//! The in-process handle on the tenant ([`SimControl`]) and the `/_sim/` routes
//! the demo "phone" uses.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::faults::{Fault, FaultRule, RouteKind};
use super::ratelimit::RateBook;
use super::respond::{Reply, json_status, ok, v1_err};
use super::server::{App, Shared};
use super::state::{
    OutboxMessage, PendingPush, PushAnswer, RegistrationInfo, RegistrationStatus, SimDevice,
    SimUser, TotpCode,
};
use super::totp;

/// An in-process handle on the running tenant; cheap to clone.
#[derive(Clone, Debug)]
pub struct SimControl {
    app: App,
}

impl SimControl {
    /// Wraps the shared state.
    pub(crate) fn new(app: App) -> Self {
        SimControl { app }
    }

    /// Every SMS and voice call delivered, oldest first.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.app.lock().outbox.clone()
    }

    /// The code most recently sent to a device.
    pub fn last_code_for(&self, device_id: i64) -> Option<String> {
        let t = self.app.lock();
        t.outbox
            .iter()
            .rev()
            .find(|m| m.device_id == device_id)
            .map(|m| m.code.clone())
    }

    /// Pushes waiting for an answer.
    pub fn pushes(&self) -> Vec<PendingPush> {
        self.app.lock().pending_pushes()
    }

    /// Approves a pending push; false if there is none with that token.
    pub fn approve_push(&self, state_token: &str) -> bool {
        self.app
            .lock()
            .answer_push(state_token, PushAnswer::Approved)
    }

    /// Denies a pending push; false if there is none with that token.
    pub fn deny_push(&self, state_token: &str) -> bool {
        self.app.lock().answer_push(state_token, PushAnswer::Denied)
    }

    /// The current code of an authenticator or Protect device.
    pub fn totp_code(&self, device_id: i64) -> Option<String> {
        let t = self.app.lock();
        let secret = t.totp_secret(device_id)?;
        Some(totp::code_at(&secret, t.now()))
    }

    /// Current codes of every TOTP device, for the demo phone panel.
    pub fn totp_codes(&self) -> Vec<TotpCode> {
        let t = self.app.lock();
        let now = t.now();
        t.devices
            .values()
            .filter_map(|d| {
                let secret = t.totp_secret(d.id)?;
                let who = t
                    .users
                    .get(&d.user_id)
                    .map(|u| {
                        format!(
                            "{} {}",
                            u.firstname.as_deref().unwrap_or(""),
                            u.lastname.as_deref().unwrap_or("")
                        )
                        .trim()
                        .to_string()
                    })
                    .unwrap_or_default();
                Some(TotpCode {
                    user_id: d.user_id,
                    device_id: d.id,
                    label: format!("{who} · {}", d.user_display_name),
                    code: totp::code_at(&secret, now),
                    seconds_left: totp::seconds_left(now),
                })
            })
            .collect()
    }

    /// Every YubiKey with the code it accepts (the demo keys all "type" the same OTP).
    pub fn yubikey_codes(&self) -> Vec<TotpCode> {
        let t = self.app.lock();
        t.devices
            .values()
            .filter(|d| d.kind == super::state::FactorKind::Yubikey)
            .map(|d| {
                let who = t
                    .users
                    .get(&d.user_id)
                    .map(|u| {
                        format!(
                            "{} {}",
                            u.firstname.as_deref().unwrap_or(""),
                            u.lastname.as_deref().unwrap_or("")
                        )
                        .trim()
                        .to_string()
                    })
                    .unwrap_or_default();
                TotpCode {
                    user_id: d.user_id,
                    device_id: d.id,
                    label: format!("{who} · {}", d.user_display_name),
                    code: super::DEMO_YUBIKEY_CODE.to_owned(),
                    seconds_left: 0,
                }
            })
            .collect()
    }

    /// A user's devices as the tenant holds them.
    /// Every v2 registration, oldest first; an authenticator's carries the code its seed gives now.
    pub fn registrations(&self) -> Vec<RegistrationInfo> {
        let t = self.app.lock();
        let now = t.now();
        let mut list: Vec<(chrono::DateTime<Utc>, RegistrationInfo)> = t
            .registrations
            .iter()
            .map(|(id, r)| {
                let code = r
                    .totp_secret
                    .as_deref()
                    .filter(|_| r.status == RegistrationStatus::Pending)
                    .and_then(totp::base32_decode)
                    .map(|s| totp::code_at(&s, now));
                (
                    r.created_at,
                    RegistrationInfo {
                        id: id.clone(),
                        user_id: r.user_id,
                        factor: r.kind,
                        factor_name: r.kind.name().to_owned(),
                        display_name: r.display_name.clone(),
                        status: r.status,
                        expires_at: r.expires_at,
                        code,
                        device_id: r.device_id,
                    },
                )
            })
            .collect();
        list.sort_by_key(|(at, _)| *at);
        list.into_iter().map(|(_, r)| r).collect()
    }

    /// Accepts a pending Protect registration as the user's app would; false if there is none.
    pub fn accept_registration(&self, id: &str) -> bool {
        super::mfa_v2::answer_registration(&mut self.app.lock(), id, true)
    }

    /// Denies a pending Protect registration as the user's app would; false if there is none.
    pub fn deny_registration(&self, id: &str) -> bool {
        super::mfa_v2::answer_registration(&mut self.app.lock(), id, false)
    }

    pub fn devices(&self, user_id: i64) -> Vec<SimDevice> {
        self.app.lock().user_devices(user_id)
    }

    /// All users, by id.
    pub fn users(&self) -> Vec<SimUser> {
        self.app.lock().users.values().cloned().collect()
    }

    /// Moves the sim clock forward by `seconds` (negative moves it back). A move that
    /// would take the clock more than about 100 years from real time is refused: false.
    pub fn advance_clock(&self, seconds: i64) -> bool {
        self.app.lock().clock.advance(seconds).is_ok()
    }

    /// The sim time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.app.lock().now()
    }

    /// Back to the seed: users, devices, clock, rate budget, outbox, pushes, faults and
    /// counters. Issued access tokens stay valid so a connected console carries on.
    pub fn reset(&self) {
        let shared: &Shared = &self.app;
        match Shared::fresh_tenant(&shared.seed, shared.config.rate_limit) {
            Ok(fresh) => {
                let mut t = shared.lock();
                let tokens = std::mem::take(&mut t.tokens);
                *t = fresh;
                t.tokens = tokens;
            }
            // The seed was validated at start, so this only happens if time itself is odd.
            Err(e) => tracing::error!("demo tenant reset failed: {e}"),
        }
    }

    /// Every issued access token stops working.
    pub fn revoke_tokens(&self) {
        self.app.lock().tokens.clear();
    }

    /// Sets every credential's hourly budget and starts fresh windows.
    pub fn set_rate_limit(&self, per_hour: u32) {
        self.app.lock().rate = RateBook::new(per_hour);
    }

    /// Arms a fault for a route, `times` times (None = until cleared).
    pub fn set_fault(&self, route: RouteKind, fault: Fault, times: Option<u32>) {
        if times == Some(0) {
            return;
        }
        self.app.lock().faults.push(FaultRule {
            route,
            fault,
            remaining: times,
        });
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.app.lock().faults.clear();
    }

    /// Connections open right now (each holds one of `max_connections`).
    pub fn open_connections(&self) -> usize {
        *self.app.open.borrow()
    }

    /// Follows the number of open connections, so a test can wait for a count.
    pub fn watch_connections(&self) -> tokio::sync::watch::Receiver<usize> {
        self.app.open.subscribe()
    }

    /// A credential's budget as the headers report it: (limit, remaining, seconds to reset).
    pub fn rate_budget(&self, client_id: &str) -> (u32, u32, i64) {
        let mut t = self.app.lock();
        let now = t.now();
        t.rate.snapshot(client_id, now)
    }

    /// Records an event (as the tenant's own routes do) and returns its id.
    pub fn record_event(&self, event: super::events::NewEvent) -> i64 {
        self.app.lock().record_event(event)
    }

    /// Every event recorded, oldest first.
    pub fn events(&self) -> Vec<super::events::SimEvent> {
        self.app.lock().events.iter().cloned().collect()
    }

    /// A sign-in at the login page: `ok` false counts a failure (and locks at 5).
    pub fn login(&self, user_id: i64, ok: bool, ip: Option<&str>) -> i64 {
        self.app
            .lock()
            .login(user_id, ok, ip.map(str::to_owned), None, None)
    }

    /// How many requests reached a route (`Any`: every API request).
    pub fn request_count(&self, route: RouteKind) -> u64 {
        self.app.lock().counts.get(&route).copied().unwrap_or(0)
    }
}

/// The `/_sim/` routes.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/_sim/outbox", get(outbox))
        .route("/_sim/pushes", get(pushes))
        .route("/_sim/pushes/{token}/approve", post(approve))
        .route("/_sim/pushes/{token}/deny", post(deny))
        .route("/_sim/registrations", get(registrations))
        .route("/_sim/registrations/{id}/accept", post(accept_registration))
        .route("/_sim/registrations/{id}/deny", post(deny_registration))
        .route("/_sim/totp", get(totp_all))
        .route("/_sim/totp/{device_id}", get(totp_one))
        .route("/_sim/clock/advance", post(advance))
        .route("/_sim/reset", post(reset))
        .route("/_sim/users/{id}/login", post(super::events::login))
        .route("/_sim/events", post(super::events::inject))
}

/// `GET /_sim/outbox`.
async fn outbox(State(app): State<App>) -> Response {
    ok(&json!(SimControl::new(app).outbox()))
}

/// `GET /_sim/pushes`.
async fn pushes(State(app): State<App>) -> Response {
    ok(&json!(SimControl::new(app).pushes()))
}

/// The answer to approve/deny.
fn answered(done: bool) -> Response {
    if done {
        ok(&json!({"ok": true}))
    } else {
        json_status(
            404,
            &json!({"ok": false, "error": "no pending push with that state token"}),
        )
    }
}

/// `POST /_sim/pushes/{state_token}/approve`.
async fn approve(State(app): State<App>, Path(token): Path<String>) -> Response {
    answered(SimControl::new(app).approve_push(&token))
}

/// `POST /_sim/pushes/{state_token}/deny`.
async fn deny(State(app): State<App>, Path(token): Path<String>) -> Response {
    answered(SimControl::new(app).deny_push(&token))
}

/// `GET /_sim/totp`: every authenticator code.
/// `GET /_sim/registrations`.
async fn registrations(State(app): State<App>) -> Response {
    ok(&json!(SimControl::new(app).registrations()))
}

/// 200 when a pending Protect registration was answered, else 404.
fn registration_answered(done: bool) -> Response {
    if done {
        ok(&json!({"ok": true}))
    } else {
        json_status(
            404,
            &json!({"ok": false, "error": "no pending OneLogin Protect registration with that id"}),
        )
    }
}

/// `POST /_sim/registrations/{id}/accept`.
async fn accept_registration(State(app): State<App>, Path(id): Path<String>) -> Response {
    registration_answered(SimControl::new(app).accept_registration(&id))
}

/// `POST /_sim/registrations/{id}/deny`.
async fn deny_registration(State(app): State<App>, Path(id): Path<String>) -> Response {
    registration_answered(SimControl::new(app).deny_registration(&id))
}

async fn totp_all(State(app): State<App>) -> Response {
    ok(&json!(SimControl::new(app).totp_codes()))
}

/// `GET /_sim/totp/{device_id}`.
async fn totp_one(State(app): State<App>, Path(raw): Path<String>) -> Response {
    // A non-numeric id matches nothing: the same 404 as an unknown one.
    let device_id = raw.trim().parse::<i64>().unwrap_or(0);
    let found = SimControl::new(app)
        .totp_codes()
        .into_iter()
        .find(|c| c.device_id == device_id);
    match found {
        Some(c) => ok(&json!(c)),
        None => json_status(
            404,
            &json!({"error": "no authenticator device with that id"}),
        ),
    }
}

/// `POST /_sim/clock/advance?seconds=N`: a bad or out-of-range N is a v1 400.
async fn advance(State(app): State<App>, RawQuery(query): RawQuery) -> Reply {
    let query = query.unwrap_or_default();
    let seconds = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "seconds")
        .and_then(|(_, v)| v.trim().parse::<i64>().ok())
        .ok_or_else(|| v1_err(400, "seconds must be an integer"))?;
    let mut t = app.lock();
    t.clock.advance(seconds).map_err(|m| v1_err(400, &m))?;
    Ok(ok(&json!({"now": t.now()})))
}

/// `POST /_sim/reset`.
async fn reset(State(app): State<App>) -> Response {
    SimControl::new(app).reset();
    ok(&json!({"ok": true}))
}
