//! The HTTP server: configuration, routing, the request gate and our own accept loop
//! (so a fault can close a connection without answering).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::clock::Clock;
use super::conn::{DropConnection, Limits, accept_loop};
use super::control::SimControl;
use super::error::SimError;
use super::faults::{self, Fault, RouteKind};
use super::ratelimit::RateBook;
use super::respond::{json_status, v1_err, v2_err};
use super::seed::{self, Seed};
use super::state::Tenant;
use super::{account, auth, control, events, mfa, mfa_v2, users};

/// How to run the demo tenant.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Where to listen (default 127.0.0.1:0, any free port).
    pub listen: SocketAddr,
    /// A tenant file; None = the built-in demo tenant.
    pub tenant: Option<PathBuf>,
    /// Requests per hour before 429.
    pub rate_limit: u32,
    /// Added to every API response.
    pub latency_ms: u64,
    /// Up to this much more, at random.
    pub jitter_ms: u64,
    /// Share of API requests answered 500/502/503 (0..1).
    pub fail_rate: f64,
    /// Share of API connections closed without an answer (0..1).
    pub drop_rate: f64,
    /// Listen on an address outside 127.0.0.0/8 and ::1 (the demo credentials are public).
    pub allow_remote: bool,
    /// From accepting a connection to its first complete request head (10 s).
    pub header_read_timeout: Duration,
    /// For a request body once its head is in (10 s).
    pub body_timeout: Duration,
    /// From an answer to the next complete request head on a kept-alive connection (10 s;
    /// hyper's header-read timeout also runs then, so only a shorter value changes anything).
    pub idle_timeout: Duration,
    /// `--users N`: N synthetic users (and `--seed S`) instead of the seed's users.
    pub synthetic_users: Option<(usize, u64)>,
    /// Open connections at most; more are answered 503 and closed (4096).
    pub max_connections: usize,
    /// Largest request body in bytes; more is 413 (1 MiB).
    pub max_body_bytes: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tenant: None,
            rate_limit: 5000,
            latency_ms: 0,
            jitter_ms: 0,
            fail_rate: 0.0,
            drop_rate: 0.0,
            allow_remote: false,
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
            synthetic_users: None,
            max_connections: 4096,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    tenant: Mutex<Tenant>,
    /// How many connections are open, for tests to wait on.
    pub open: Arc<watch::Sender<usize>>,
    pub config: SimConfig,
    pub seed: Seed,
}

/// The handlers' state.
pub(crate) type App = Arc<Shared>;

impl Shared {
    /// Locks the tenant; a poisoned lock is still usable because every update is small.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A tenant fresh from the seed.
    pub(crate) fn fresh_tenant(seed: &Seed, rate_limit: u32) -> Result<Tenant, String> {
        let m = seed.materialize(chrono::Utc::now())?;
        let clock = Clock::default();
        let next_device_id = m
            .devices
            .keys()
            .max()
            .copied()
            .unwrap_or(100_000)
            .checked_add(1)
            .ok_or("device ids must leave room for new devices (below 9223372036854775807)")?;
        let mut tenant = Tenant {
            account_id: seed.account_id,
            users: Arc::new(m.users),
            devices: super::state::DeviceBook::new(m.devices),
            next_device_id,
            clock,
            tokens: HashMap::new(),
            state_tokens: HashMap::new(),
            registrations: std::collections::BTreeMap::new(),
            outbox: Vec::new(),
            temp_tokens: Vec::new(),
            rate: RateBook::new(rate_limit),
            faults: Vec::new(),
            counts: HashMap::new(),
            events: Default::default(),
            next_event_id: 0,
        };
        super::events::seed_events(&mut tenant, m.events);
        Ok(tenant)
    }
}

/// A running demo tenant; shuts down when dropped.
#[derive(Debug)]
pub struct DemoTenant {
    addr: SocketAddr,
    control: SimControl,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl DemoTenant {
    /// Loads the tenant, binds and starts serving.
    pub async fn start(config: SimConfig) -> Result<DemoTenant, SimError> {
        let limits = check(&config)?;
        for (name, p) in [
            ("fail rate", config.fail_rate),
            ("drop rate", config.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(SimError::Config(format!("{name} must be between 0 and 1")));
            }
        }
        let (name, text) = match &config.tenant {
            None => (
                "built-in demo tenant".to_string(),
                seed::BUILTIN.to_string(),
            ),
            Some(path) => {
                let text = tokio::fs::read_to_string(path).await.map_err(|source| {
                    SimError::TenantRead {
                        path: path.clone(),
                        source,
                    }
                })?;
                (path.display().to_string(), text)
            }
        };
        let invalid = |problem: String| SimError::TenantInvalid {
            name: name.clone(),
            problem,
        };
        let mut seed = Seed::parse(&text).map_err(invalid)?;
        if let Some((users, s)) = config.synthetic_users {
            seed = seed.with_synthetic(users, s);
        }
        let tenant = Shared::fresh_tenant(&seed, config.rate_limit).map_err(invalid)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let open = Arc::new(watch::Sender::new(0));
        let app: App = Arc::new(Shared {
            tenant: Mutex::new(tenant),
            open: open.clone(),
            config,
            seed,
        });
        let router = router(app.clone());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, limits, open, stop_rx));
        Ok(DemoTenant {
            addr,
            control: SimControl::new(app),
            stop,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An in-process handle on the tenant state.
    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DemoTenant {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Largest `--latency-ms` / `--jitter-ms` (10 minutes): more is surely a typo.
const MAX_DELAY_MS: u64 = 600_000;

/// Checks the settings that a flag could push to absurd values, and the listen address.
fn check(c: &SimConfig) -> Result<Limits, SimError> {
    for (name, ms) in [
        ("latency (--latency-ms)", c.latency_ms),
        ("jitter (--jitter-ms)", c.jitter_ms),
    ] {
        if ms > MAX_DELAY_MS {
            return Err(SimError::Config(format!(
                "{name} must be at most {MAX_DELAY_MS} ms"
            )));
        }
    }
    if !c.allow_remote && !is_loopback(c.listen.ip()) {
        return Err(SimError::Remote(c.listen));
    }
    let timeouts = [
        ("header read timeout", c.header_read_timeout),
        ("body timeout", c.body_timeout),
        ("idle timeout", c.idle_timeout),
    ];
    for (name, d) in timeouts {
        if d.is_zero() || d > Duration::from_secs(3600) {
            return Err(SimError::Config(format!(
                "{name} must be between 1 ms and 1 hour"
            )));
        }
    }
    // tokio's semaphore has a ceiling far above any sane connection count.
    if c.max_connections == 0 || c.max_connections > 1 << 20 {
        return Err(SimError::Config(
            "max connections must be between 1 and 1048576".to_string(),
        ));
    }
    if c.max_body_bytes == 0 {
        return Err(SimError::Config(
            "max body bytes must be at least 1".to_string(),
        ));
    }
    Ok(Limits {
        header_read: c.header_read_timeout,
        body: c.body_timeout,
        idle: c.idle_timeout,
        max_connections: c.max_connections,
        max_body_bytes: c.max_body_bytes,
    })
}

/// 127.0.0.0/8, ::1, or an IPv4-mapped loopback address.
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// All routes, behind the gate.
fn router(app: App) -> Router {
    Router::new()
        .route("/auth/oauth2/v2/token", post(auth::token))
        .route("/auth/oauth2/revoke", post(auth::revoke))
        .route("/auth/rate_limit", get(auth::rate_limit))
        .route("/api/2/users", get(users::list))
        .route("/api/2/users/{id}", get(users::get_one))
        .route("/api/1/events", get(events::list))
        .route("/api/1/events/types", get(events::types))
        .route("/api/1/users/{id}/auth_factors", get(mfa::auth_factors))
        .route(
            "/api/1/users/{id}/otp_devices",
            get(mfa::otp_devices).post(mfa::enroll),
        )
        .route(
            "/api/1/users/{id}/otp_devices/{device}",
            delete(mfa::remove),
        )
        .route(
            "/api/1/users/{id}/otp_devices/{device}/trigger",
            post(mfa::trigger),
        )
        .route(
            "/api/1/users/{id}/otp_devices/{device}/verify",
            post(mfa::verify),
        )
        .route("/api/1/users/{id}/mfa_token", post(mfa::mfa_token))
        // OneLogin's generated SDK calls the singular path (spec §7.1): answered the same.
        .route("/api/1/users/{id}/auth_factor", get(mfa::auth_factors))
        .route("/api/2/mfa/users/{id}/factors", get(mfa_v2::factors))
        .route("/api/2/mfa/users/{id}/devices", get(mfa_v2::devices))
        .route(
            "/api/2/mfa/users/{id}/devices/{device}",
            delete(mfa_v2::remove),
        )
        .route(
            "/api/2/mfa/users/{id}/registrations",
            post(mfa_v2::register),
        )
        .route(
            "/api/2/mfa/users/{id}/registrations/{registration}",
            get(mfa_v2::get_registration).put(mfa_v2::verify_registration),
        )
        .route(
            "/api/2/mfa/users/{id}/verifications",
            post(mfa_v2::create_verification),
        )
        .route(
            "/api/2/mfa/users/{id}/verifications/{verification}",
            get(mfa_v2::get_verification).put(mfa_v2::verify_code),
        )
        .route("/api/2/mfa/users/{id}/mfa_token", post(mfa_v2::mfa_token))
        .route("/api/1/users/{id}/logout", put(account::logout))
        .route("/api/1/users/{id}/lock_user", put(account::lock))
        .route("/api/2/users/{id}/unlock", post(account::unlock))
        .merge(control::routes())
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(middleware::from_fn_with_state(app.clone(), gate))
        .with_state(app)
}

/// Unknown path or method: 404 in the shape of the API family.
async fn no_route(req: Request) -> Response {
    if req.uri().path().starts_with("/api/2/") {
        v2_err(404, "NotFoundError", "No Route Exists").into_response()
    } else {
        v1_err(404, "No Route Exists").into_response()
    }
}

/// The answer a fault gives instead of the handler's (None: go on to the handler).
fn fault_response(fault: &Fault, route: Option<RouteKind>) -> Option<Response> {
    Some(match fault {
        Fault::Delay(_) => return None,
        Fault::Status(code @ (502 | 503)) => {
            let text = if *code == 502 {
                "502 Bad Gateway"
            } else {
                "503 Service Temporarily Unavailable"
            };
            let mut r = json_status(*code, &serde_json::Value::Null);
            *r.body_mut() = Body::from(format!(
                "<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n<center><h1>{text}</h1></center>\r\n</body>\r\n</html>\r\n"
            ));
            r.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/html"),
            );
            r
        }
        Fault::Status(code) => v1_err(*code, "Internal Server Error").into_response(),
        Fault::TooManyRequests { retry_after_secs } => {
            let mut r = v1_err(429, "Rate limit exceeded").into_response();
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(*retry_after_secs),
            );
            r
        }
        Fault::ConnectionReset => {
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(DropConnection);
            r
        }
        Fault::MalformedJson => {
            let mut r = json_status(200, &serde_json::Value::Null);
            *r.body_mut() = Body::from(r#"{"status":{"error":false,"code":200,"type":"succ"#);
            r
        }
        // Deliberate, to prove a handler panic is answered 500 and goes no further.
        Fault::Panic => panic!("demo tenant fault: handler panic"),
        Fault::RevokedToken => match route {
            Some(RouteKind::Users | RouteKind::User) => {
                v2_err(401, "UnauthorizedError", "Unauthorized").into_response()
            }
            _ => v1_err(401, "Authentication Failure").into_response(),
        },
    })
}

/// Runs before every handler: counts, injects faults and latency, spends the budget
/// of the request's credential (requests without valid credentials spend nothing), and
/// stamps the request id and that credential's rate-limit headers on the way out.
async fn gate(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sim/") {
        let mut resp = next.run(req).await;
        stamp_request_id(&mut resp);
        return resp;
    }
    let route = faults::classify(req.method(), req.uri().path());
    // The token endpoint may carry its credentials in the body (already read in full).
    // Bodies are already in memory (read under the size limit before routing).
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let creds_body = if route == Some(RouteKind::Token) {
        bytes.clone()
    } else {
        Bytes::new()
    };
    let (fault, owner) = {
        let mut t = app.lock();
        *t.counts.entry(RouteKind::Any).or_default() += 1;
        if let Some(r) = route {
            *t.counts.entry(r).or_default() += 1;
        }
        let fault = faults::take(&mut t.faults, route.unwrap_or(RouteKind::Any));
        (fault, auth::budget_owner(&t, &parts.headers, &creds_body))
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    let fault = fault.or_else(|| random_fault(&app.config));
    let cfg = &app.config;
    let mut delay = cfg.latency_ms;
    if cfg.jitter_ms > 0 {
        delay = delay.saturating_add(rand::random_range(0..=cfg.jitter_ms));
    }
    if let Some(Fault::Delay(d)) = &fault {
        delay = delay.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    }
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut resp = match fault.as_ref().and_then(|f| fault_response(f, route)) {
        Some(r) => r,
        // No valid credentials: the handler answers 401 and nothing is spent.
        None if owner.is_none() => next.run(req).await,
        None => {
            let allowed = owner.as_deref().is_some_and(|id| {
                let mut t = app.lock();
                let now = t.now();
                t.rate.try_spend(id, now)
            });
            if allowed {
                next.run(req).await
            } else {
                let mut r = v1_err(429, "Rate limit exceeded").into_response();
                let reset = owner.as_deref().map_or(0, |id| {
                    let mut t = app.lock();
                    let now = t.now();
                    t.rate.snapshot(id, now).2
                });
                r.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(reset));
                r
            }
        }
    };
    stamp_request_id(&mut resp);
    if let Some(id) = owner {
        let (limit, remaining, reset) = {
            let mut t = app.lock();
            let now = t.now();
            t.rate.snapshot(&id, now)
        };
        let h = resp.headers_mut();
        h.insert(
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderValue::from(limit),
        );
        h.insert(
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from(remaining),
        );
        h.insert(
            HeaderName::from_static("x-ratelimit-reset"),
            HeaderValue::from(reset),
        );
    }
    resp
}

/// Adds a random `X-Request-Id`, as OneLogin does.
fn stamp_request_id(resp: &mut Response) {
    resp.headers_mut().insert(
        HeaderName::from_static("x-request-id"),
        HeaderValue::from_str(&random_hex(16)).unwrap_or(HeaderValue::from_static("0")),
    );
}

/// The `--fail-rate` / `--drop-rate` dice.
fn random_fault(cfg: &SimConfig) -> Option<Fault> {
    if cfg.drop_rate > 0.0 && rand::random::<f64>() < cfg.drop_rate {
        return Some(Fault::ConnectionReset);
    }
    if cfg.fail_rate > 0.0 && rand::random::<f64>() < cfg.fail_rate {
        let codes = [500, 502, 503];
        return Some(Fault::Status(codes[rand::random_range(0..codes.len())]));
    }
    None
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}
