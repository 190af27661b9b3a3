//! Fault injection: which route a request is for, and what goes wrong with it.

use std::time::Duration;

use axum::http::Method;

/// The API routes faults and request counts are kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// `POST /auth/oauth2/v2/token`.
    Token,
    /// `POST /auth/oauth2/revoke`.
    Revoke,
    /// `GET /auth/rate_limit`.
    RateLimit,
    /// `GET /api/2/users`.
    Users,
    /// `GET /api/2/users/{id}`.
    User,
    /// `GET /api/1/users/{id}/auth_factors`.
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
    /// Every API route (for faults); every API request (for counts).
    Any,
}

/// Something that goes wrong with a request before its handler runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer this status (500/502/503 get a plausible body).
    Status(u16),
    /// Answer 429 with `Retry-After`.
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// Close the TCP connection without any response.
    ConnectionReset,
    /// Answer 200 with a truncated JSON body.
    MalformedJson,
    /// Answer 401 Authentication Failure as if the token were revoked.
    RevokedToken,
    /// The request's handler panics: the tenant answers 500 and keeps serving.
    Panic,
}

/// A fault armed for a route, with how many more times it fires (None = until cleared).
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub route: RouteKind,
    pub fault: Fault,
    pub remaining: Option<u32>,
}

/// Takes the first fault armed for `route`, counting it down.
pub(crate) fn take(rules: &mut Vec<FaultRule>, route: RouteKind) -> Option<Fault> {
    let i = rules
        .iter()
        .position(|r| r.route == route || r.route == RouteKind::Any)?;
    let fault = rules[i].fault.clone();
    if let Some(n) = rules[i].remaining.as_mut() {
        *n = n.saturating_sub(1);
        if *n == 0 {
            rules.remove(i);
        }
    }
    Some(fault)
}

/// Which API route a request is for; None for `/_sim/` and unknown paths.
pub(crate) fn classify(method: &Method, path: &str) -> Option<RouteKind> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let post = method == Method::POST;
    let get = method == Method::GET;
    match segs.as_slice() {
        ["auth", "oauth2", "v2", "token"] if post => Some(RouteKind::Token),
        ["auth", "oauth2", "revoke"] if post => Some(RouteKind::Revoke),
        ["auth", "rate_limit"] if get => Some(RouteKind::RateLimit),
        ["api", "2", "users"] if get => Some(RouteKind::Users),
        ["api", "2", "users", _] if get => Some(RouteKind::User),
        ["api", "1", "users", _, "auth_factors"] if get => Some(RouteKind::AuthFactors),
        ["api", "1", "users", _, "otp_devices"] if get => Some(RouteKind::OtpDevices),
        ["api", "1", "users", _, "otp_devices"] if post => Some(RouteKind::Enroll),
        ["api", "1", "users", _, "otp_devices", _, "trigger"] if post => Some(RouteKind::Trigger),
        ["api", "1", "users", _, "otp_devices", _, "verify"] if post => Some(RouteKind::Verify),
        ["api", "1", "users", _, "otp_devices", _] if method == Method::DELETE => {
            Some(RouteKind::Remove)
        }
        ["api", "1", "users", _, "mfa_token"] if post => Some(RouteKind::MfaToken),
        _ => None,
    }
}
