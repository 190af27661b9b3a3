//! The in-process handle on the tenant ([`SimControl`]) and the `/_sim/` routes
//! the demo "phone" uses.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::faults::{Fault, FaultRule, RouteKind};
use super::ratelimit::RateWindow;
use super::respond::{json_status, ok};
use super::server::{App, Shared};
use super::state::{OutboxMessage, PendingPush, PushAnswer, SimDevice, SimUser, TotpCode};
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
    pub fn devices(&self, user_id: i64) -> Vec<SimDevice> {
        self.app.lock().user_devices(user_id)
    }

    /// All users, by id.
    pub fn users(&self) -> Vec<SimUser> {
        self.app.lock().users.values().cloned().collect()
    }

    /// Moves the sim clock forward by `seconds` (negative moves it back).
    pub fn advance_clock(&self, seconds: i64) {
        self.app.lock().clock.advance(seconds);
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

    /// Sets the hourly budget and starts a fresh window.
    pub fn set_rate_limit(&self, per_hour: u32) {
        let mut t = self.app.lock();
        let now = t.now();
        t.rate = RateWindow::new(per_hour, now);
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
        .route("/_sim/totp", get(totp_all))
        .route("/_sim/totp/{device_id}", get(totp_one))
        .route("/_sim/clock/advance", post(advance))
        .route("/_sim/reset", post(reset))
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
async fn totp_all(State(app): State<App>) -> Response {
    ok(&json!(SimControl::new(app).totp_codes()))
}

/// `GET /_sim/totp/{device_id}`.
async fn totp_one(State(app): State<App>, Path(device_id): Path<i64>) -> Response {
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

/// Query of `/_sim/clock/advance`.
#[derive(Deserialize)]
struct Advance {
    seconds: Option<String>,
}

/// `POST /_sim/clock/advance?seconds=N`.
async fn advance(State(app): State<App>, Query(q): Query<Advance>) -> Response {
    let Some(seconds) = q.seconds.and_then(|s| s.trim().parse::<i64>().ok()) else {
        return json_status(400, &json!({"error": "seconds must be an integer"}));
    };
    let control = SimControl::new(app);
    control.advance_clock(seconds);
    ok(&json!({"now": control.now()}))
}

/// `POST /_sim/reset`.
async fn reset(State(app): State<App>) -> Response {
    SimControl::new(app).reset();
    ok(&json!({"ok": true}))
}
