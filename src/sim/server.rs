//! The HTTP server: configuration, routing, the request gate and our own accept loop
//! (so a fault can close a connection without answering).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use super::clock::Clock;
use super::control::SimControl;
use super::error::SimError;
use super::faults::{self, Fault, RouteKind};
use super::ratelimit::RateWindow;
use super::respond::{json_status, v1_err, v2_err};
use super::seed::{self, Seed};
use super::state::Tenant;
use super::{auth, control, mfa, mfa_v2, users};

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
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    tenant: Mutex<Tenant>,
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
        let next_device_id = m.devices.keys().max().copied().unwrap_or(100_000) + 1;
        Ok(Tenant {
            account_id: seed.account_id,
            users: m.users,
            devices: m.devices,
            next_device_id,
            clock,
            tokens: HashMap::new(),
            state_tokens: HashMap::new(),
            registrations: std::collections::BTreeMap::new(),
            outbox: Vec::new(),
            temp_tokens: Vec::new(),
            rate: RateWindow::new(rate_limit, clock.now()),
            faults: Vec::new(),
            counts: HashMap::new(),
        })
    }
}

/// Marks a response whose connection must be closed instead of answered.
#[derive(Clone, Copy, Debug)]
struct DropConnection;

/// The error that makes hyper close a connection without writing a response.
#[derive(Debug, thiserror::Error)]
#[error("connection closed by fault injection")]
struct Dropped;

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
        let seed = Seed::parse(&text).map_err(invalid)?;
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
        let app: App = Arc::new(Shared {
            tenant: Mutex::new(tenant),
            config,
            seed,
        });
        let router = router(app.clone());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, stop_rx));
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

/// Accepts connections until told to stop; each connection stops with it.
async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            _ = stopped(&mut stop) => return,
            res = listener.accept() => match res {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Usually out of file descriptors: back off briefly instead of spinning.
                    tracing::warn!("demo tenant accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let router = router.clone();
                async move {
                    let Ok(resp) = router.oneshot(req.map(Body::new)).await;
                    if resp.extensions().get::<DropConnection>().is_some() {
                        return Err(Dropped);
                    }
                    Ok(resp)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = stopped(&mut stop) => {}
            }
        });
    }
}

/// Resolves once shutdown is signalled (or the sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // Drop the borrow guard here: it is not Send.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// All routes, behind the gate.
fn router(app: App) -> Router {
    Router::new()
        .route("/auth/oauth2/v2/token", post(auth::token))
        .route("/auth/oauth2/revoke", post(auth::revoke))
        .route("/auth/rate_limit", get(auth::rate_limit))
        .route("/api/2/users", get(users::list))
        .route("/api/2/users/{id}", get(users::get_one))
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
        Fault::RevokedToken => match route {
            Some(RouteKind::Users | RouteKind::User) => {
                v2_err(401, "UnauthorizedError", "Unauthorized").into_response()
            }
            _ => v1_err(401, "Authentication Failure").into_response(),
        },
    })
}

/// Runs before every handler: counts, injects faults and latency, spends the rate
/// budget, and stamps the request id and rate-limit headers on the way out.
async fn gate(State(app): State<App>, req: Request, next: Next) -> Response {
    let is_api = !req.uri().path().starts_with("/_sim/");
    let mut resp = if is_api {
        let route = faults::classify(req.method(), req.uri().path());
        let fault = {
            let mut t = app.lock();
            *t.counts.entry(RouteKind::Any).or_default() += 1;
            if let Some(r) = route {
                *t.counts.entry(r).or_default() += 1;
            }
            faults::take(&mut t.faults, route.unwrap_or(RouteKind::Any))
        };
        let fault = fault.or_else(|| random_fault(&app.config));
        let cfg = &app.config;
        let mut delay = cfg.latency_ms;
        if cfg.jitter_ms > 0 {
            delay += rand::random_range(0..=cfg.jitter_ms);
        }
        if let Some(Fault::Delay(d)) = &fault {
            delay += u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        }
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        match fault.as_ref().and_then(|f| fault_response(f, route)) {
            Some(r) => r,
            None => {
                let allowed = {
                    let mut t = app.lock();
                    let now = t.now();
                    t.rate.try_spend(now)
                };
                if allowed {
                    next.run(req).await
                } else {
                    let mut r = v1_err(429, "Rate limit exceeded").into_response();
                    let reset = {
                        let mut t = app.lock();
                        let now = t.now();
                        t.rate.snapshot(now).2
                    };
                    r.headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(reset));
                    r
                }
            }
        }
    } else {
        next.run(req).await
    };
    let (limit, remaining, reset) = {
        let mut t = app.lock();
        let now = t.now();
        t.rate.snapshot(now)
    };
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static("x-request-id"),
        HeaderValue::from_str(&random_hex(16)).unwrap_or(HeaderValue::from_static("0")),
    );
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
    resp
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
