//! The client over real HTTP against a small scripted server on loopback, for what the demo
//! tenant does not do: the quirky bodies of spec §7, the exact request shapes, the
//! `auth_factor` fallback, token errors under HTTP 200, redirects and secret scrubbing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use mfadesk::api::{
    ApiError, Client, ClientConfig, Credentials, DeviceId, ErrorKind, RateLimit, RetryPolicy,
    Secret, UserQuery, VerifyOutcome,
};
use serde_json::{Value, json};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("fixtures/", $name)).as_slice()
    };
}

const SECRET: &str = "scripted-client-secret";

/// A canned answer; `{authorization}` and `{request_body}` in the body are replaced by the
/// request's, so a server that echoes secrets can be imitated.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn canned(status: u16, body: &[u8]) -> Canned {
    Canned {
        status,
        headers: Vec::new(),
        body: body.to_vec(),
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Canned answers keyed by (method, path).
type Routes = HashMap<(String, String), VecDeque<Canned>>;

/// Answers per (method, path): a queue whose last entry repeats.
#[derive(Clone, Default)]
struct Script {
    routes: Arc<Mutex<Routes>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Script {
    fn on(&self, method: &str, path: &str, answer: Canned) -> &Self {
        self.routes
            .lock()
            .unwrap()
            .entry((method.to_owned(), path.to_owned()))
            .or_default()
            .push_back(answer);
        self
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

async fn answer(State(script): State<Script>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: body.clone(),
    };
    script.seen.lock().unwrap().push(seen.clone());
    let key = (seen.method.clone(), seen.path.clone());
    let found = {
        let mut routes = script.routes.lock().unwrap();
        routes.get_mut(&key).and_then(|q| {
            if q.len() > 1 {
                q.pop_front()
            } else {
                q.front().cloned()
            }
        })
    };
    let c = found.unwrap_or_else(|| canned(404, fixture!("no_route_404.json")));
    // Substituted as JSON string contents, so the canned body stays valid JSON.
    let escape = |s: &str| {
        serde_json::to_string(s)
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    let text = String::from_utf8_lossy(&c.body)
        .replace(
            "{authorization}",
            &escape(seen.header("authorization").unwrap_or("")),
        )
        .replace("{request_body}", &escape(&String::from_utf8_lossy(&body)));
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = StatusCode::from_u16(c.status).unwrap();
    for (k, v) in c.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// Starts the scripted server with a working token endpoint; returns it and a client.
async fn serve() -> (Script, Client) {
    let script = Script::default();
    script.on(
        "POST",
        "/auth/oauth2/v2/token",
        canned(
            200,
            br#"{"access_token":"scripted-access-token-0001","created_at":null,"expires_in":36000,"token_type":"bearer"}"#,
        ),
    );
    let app = Router::new().fallback(answer).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = ClientConfig::new(
        format!("http://{addr}"),
        Credentials {
            client_id: "scripted-id".into(),
            client_secret: Secret::new(SECRET),
        },
    );
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
    };
    (script, Client::new(config).unwrap())
}

fn err<T: std::fmt::Debug>(r: Result<T, ApiError>) -> ApiError {
    match r {
        Err(e) => e,
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

const USER: i64 = 35510511;
const DEVICES: &str = "/api/1/users/35510511/otp_devices";

// ------------------------------------------------------------------------------------------
// Request shapes

#[tokio::test]
async fn token_request_and_bearer_header() {
    let (script, client) = serve().await;
    script.on(
        "GET",
        DEVICES,
        canned(200, fixture!("otp_devices_empty.json")),
    );
    client.get_enrolled_factors(USER).await.unwrap();
    let token = &script.seen_at("/auth/oauth2/v2/token")[0];
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("scripted-id:{SECRET}"));
    assert_eq!(
        token.header("authorization"),
        Some(&*format!("Basic {basic}"))
    );
    assert_eq!(token.header("content-type"), Some("application/json"));
    assert_eq!(token.json(), json!({"grant_type": "client_credentials"}));
    let get = &script.seen_at(DEVICES)[0];
    assert_eq!(
        get.header("authorization"),
        Some("Bearer scripted-access-token-0001")
    );
    assert!(get.body.is_empty());
    assert_eq!(get.header("content-type"), None);
}

#[tokio::test]
async fn post_bodies_leave_out_unset_options() {
    let (script, client) = serve().await;
    let device = DeviceId::from(525509);
    let trigger = "/api/1/users/35510511/otp_devices/525509/trigger";
    let verify = "/api/1/users/35510511/otp_devices/525509/verify";
    script
        .on("POST", trigger, canned(200, fixture!("trigger.json")))
        .on("POST", verify, canned(200, fixture!("verify_success.json")))
        .on("POST", DEVICES, canned(200, fixture!("enroll.json")))
        .on(
            "POST",
            "/api/1/users/35510511/mfa_token",
            canned(201, fixture!("mfa_token.json")),
        );

    client
        .activate_mfa_factors(USER, &device, None, None, None)
        .await
        .unwrap();
    client
        .activate_mfa_factors(
            USER,
            &device,
            Some(300),
            Some(true),
            Some("Code {{otp_code}}"),
        )
        .await
        .unwrap();
    let state = Secret::new("98e008497066bc2763c52342996e06358aab2e32");
    client
        .verify_mfa_factor(USER, &device, Some(&state), None)
        .await
        .unwrap();
    client
        .verify_mfa_factor(USER, &device, None, Some(&Secret::new("012345")))
        .await
        .unwrap();
    client
        .verify_mfa_factor(USER, &device, Some(&state), Some(&Secret::new("B41832")))
        .await
        .unwrap();
    client
        .enroll_mfa_factor(USER, 16282, "Rich's Phone", "+14156456830", false)
        .await
        .unwrap();
    client.generate_mfa_token(USER, None, false).await.unwrap();
    client
        .generate_mfa_token(USER, Some(300), true)
        .await
        .unwrap();

    let bodies: Vec<Value> = script
        .seen()
        .iter()
        .filter(|s| s.method == "POST" && !s.path.starts_with("/auth"))
        .map(|s| {
            assert_eq!(
                s.header("content-type"),
                Some("application/json"),
                "{}",
                s.path
            );
            s.json()
        })
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({}),
            json!({"state_token_expires_in": 300, "numeric_sms_otp": true, "sms_message": "Code {{otp_code}}"}),
            json!({"state_token": state.expose()}),
            json!({"otp_token": "012345"}),
            json!({"state_token": state.expose(), "otp_token": "B41832"}),
            json!({"factor_id": 16282, "display_name": "Rich's Phone", "number": "+14156456830", "verified": false}),
            json!({"reusable": false}),
            json!({"expires_in": 300, "reusable": true}),
        ]
    );
}

#[tokio::test]
async fn search_query_parameters() {
    let (script, client) = serve().await;
    script.on("GET", "/api/2/users", canned(200, b"[]"));
    client
        .search_users(&UserQuery {
            email: Some("kelly*".into()),
            username: Some("ks".into()),
            firstname: Some("Kelly".into()),
            lastname: Some("Slater Jr".into()),
            user_ids: vec![1, 2],
            limit: Some(50),
            cursor: Some("bGltaXQ9MTAwMCZwYWdlPTM=".into()),
        })
        .await
        .unwrap();
    let seen = &script.seen_at("/api/2/users")[0];
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(seen.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let expect = [
        ("email", "kelly*"),
        ("username", "ks"),
        ("firstname", "Kelly"),
        ("lastname", "Slater Jr"),
        ("user_ids", "1,2"),
        ("limit", "50"),
        ("cursor", "bGltaXQ9MTAwMCZwYWdlPTM="),
    ];
    assert_eq!(
        pairs,
        expect
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn string_device_ids_are_path_encoded() {
    let (script, client) = serve().await;
    script.on(
        "DELETE",
        "/api/1/users/35510511/otp_devices/a%2Fb%3Fc",
        canned(200, b"{}"),
    );
    client
        .remove_mfa_factors(USER, &DeviceId::from("a/b?c"))
        .await
        .unwrap();
}

// ------------------------------------------------------------------------------------------
// Quirky answers

#[tokio::test]
async fn token_errors_under_http_200_and_errors_with_a_token_are_grants() {
    let (script, client) = serve().await;
    script.routes.lock().unwrap().clear();
    script.on(
        "POST",
        "/auth/oauth2/v2/token",
        canned(200, fixture!("token_error_200.json")),
    );
    let e = err(client.get_user(1).await);
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(e.status, Some(200));
    assert_eq!(e.message, "Authentication Failure");
    assert!(script.seen_at("/api/2/users/1").is_empty());

    let (script, client) = serve().await;
    script.routes.lock().unwrap().clear();
    script
        .on(
            "POST",
            "/auth/oauth2/v2/token",
            canned(200, fixture!("token_v1_enveloped.json")),
        )
        .on(
            "GET",
            "/api/2/users/36216766",
            canned(200, fixture!("user.json")),
        );
    assert_eq!(client.get_user(36216766).await.unwrap().id, 36216766);
    assert_eq!(
        script.seen_at("/api/2/users/36216766")[0].header("authorization"),
        Some("Bearer v1tokenv1tokenv1token")
    );
}

#[tokio::test]
async fn auth_factor_fallback_only_when_the_route_is_missing() {
    let (script, client) = serve().await;
    script.on(
        "GET",
        "/api/1/users/35510511/auth_factor",
        canned(200, fixture!("auth_factors.json")),
    );
    let factors = client.get_mfa_factors(USER).await.unwrap();
    assert_eq!(factors[0].factor_id, 16282);
    assert_eq!(
        script.seen_at("/api/1/users/35510511/auth_factors").len(),
        1
    );
    assert_eq!(script.seen_at("/api/1/users/35510511/auth_factor").len(), 1);

    script.on(
        "GET",
        "/api/1/users/7/auth_factors",
        canned(404, br#"{"status":{"error":true,"code":404,"type":"not found","message":"User for id 7 was not found"}}"#),
    );
    let e = err(client.get_mfa_factors(7).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(script.seen_at("/api/1/users/7/auth_factor").is_empty());
}

#[tokio::test]
async fn quirky_success_bodies_over_http() {
    let (script, client) = serve().await;
    script
        .on(
            "GET",
            DEVICES,
            canned(200, fixture!("otp_devices_protect_twice.json")),
        )
        .on(
            "POST",
            "/api/1/users/35510511/mfa_token",
            canned(201, fixture!("mfa_token_enveloped.json")),
        )
        .on(
            "POST",
            "/api/1/users/35510511/mfa_token",
            canned(200, fixture!("mfa_token_resuable.json")),
        )
        .on(
            "DELETE",
            "/api/1/users/35510511/otp_devices/1",
            canned(204, b""),
        )
        .on(
            "POST",
            "/api/1/users/35510511/otp_devices/526532/verify",
            canned(200, fixture!("verify_pending_message_only.json")),
        );
    assert_eq!(client.get_enrolled_factors(USER).await.unwrap().len(), 3);
    let t = client.generate_mfa_token(USER, None, true).await.unwrap();
    assert_eq!(t.mfa_token.expose(), "55647657");
    assert!(!t.reusable);
    let t = client.generate_mfa_token(USER, None, false).await.unwrap();
    assert!(t.reusable);
    client
        .remove_mfa_factors(USER, &DeviceId::from(1))
        .await
        .unwrap();
    let outcome = client
        .verify_mfa_factor(
            USER,
            &DeviceId::from(526532),
            Some(&Secret::new("st")),
            None,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Pending { .. }));
}

#[tokio::test]
async fn paging_headers_and_empty_cursor() {
    let (script, client) = serve().await;
    let mut page = canned(200, fixture!("users.json"));
    page.headers = vec![
        ("total-count", "3".into()),
        ("total-pages", "1".into()),
        ("current-page", "1".into()),
        ("after-cursor", "".into()),
        ("before-cursor", "".into()),
        ("x-ratelimit-limit", "5000".into()),
        ("x-ratelimit-remaining", "4321".into()),
        ("x-ratelimit-reset", "99".into()),
        ("x-request-id", "req-1".into()),
    ];
    script.on("GET", "/api/2/users", page);
    let page = client.search_users(&UserQuery::default()).await.unwrap();
    assert_eq!(page.users.len(), 3);
    assert_eq!(page.total_count, Some(3));
    assert_eq!(page.total_pages, Some(1));
    assert_eq!(page.current_page, Some(1));
    assert_eq!(page.after_cursor, None);
    assert_eq!(page.before_cursor, None);
    assert_eq!(
        client.rate_limit(),
        Some(RateLimit {
            limit: Some(5000),
            remaining: Some(4321),
            reset_secs: Some(99)
        })
    );
}

#[tokio::test]
async fn rate_limit_reset_from_x_ratelimit_reset_when_no_retry_after() {
    let (script, client) = serve().await;
    let mut limited = canned(429, br#"{"message":"Too Many Requests"}"#);
    limited.headers = vec![
        ("x-ratelimit-reset", "1200".into()),
        ("x-request-id", "req-429".into()),
    ];
    script.on("GET", "/api/2/users/5", limited);
    let e = err(client.get_user(5).await);
    assert_eq!(
        e.kind,
        ErrorKind::RateLimited {
            reset_secs: Some(1200)
        }
    );
    assert_eq!(e.request_id.as_deref(), Some("req-429"));
    assert_eq!(e.message, "Too Many Requests");
    assert_eq!(script.seen_at("/api/2/users/5").len(), 1);

    let mut no_hint = canned(429, b"");
    no_hint.headers = vec![];
    script.on("GET", "/api/2/users/6", no_hint);
    let e = err(client.get_user(6).await);
    assert_eq!(e.kind, ErrorKind::RateLimited { reset_secs: None });
    assert_eq!(e.message, "Too Many Requests");
    assert_eq!(
        script.seen_at("/api/2/users/6").len(),
        3,
        "no hint: back off and retry"
    );
}

#[tokio::test]
async fn v2_unauthorized_refreshes_the_token_once() {
    let (script, client) = serve().await;
    script
        .on(
            "GET",
            "/api/2/users/36216766",
            canned(401, fixture!("user_401_v2.json")),
        )
        .on(
            "GET",
            "/api/2/users/36216766",
            canned(200, fixture!("user.json")),
        );
    client.get_user(36216766).await.unwrap();
    assert_eq!(script.seen_at("/auth/oauth2/v2/token").len(), 2);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (script, client) = serve().await;
    let mut moved = canned(302, b"");
    moved.headers = vec![("location", "/elsewhere".into())];
    script.on("GET", "/api/2/users/1", moved);
    let e = err(client.get_user(1).await);
    assert_eq!(e.kind, ErrorKind::MalformedResponse);
    assert_eq!(e.status, Some(302));
    assert!(script.seen_at("/elsewhere").is_empty());
}

#[tokio::test]
async fn echoed_secrets_are_scrubbed_from_errors() {
    let (script, client) = serve().await;
    script.on(
        "POST",
        "/api/1/users/35510511/otp_devices/9/verify",
        canned(
            400,
            br#"{"message":"rejected {authorization} with {request_body}"}"#,
        ),
    );
    let state = Secret::new("state-token-abcdef");
    let otp = Secret::new("987654");
    let e = err(client
        .verify_mfa_factor(USER, &DeviceId::from(9), Some(&state), Some(&otp))
        .await);
    let text = format!("{e} {e:?}");
    for secret in [
        "scripted-access-token-0001",
        "state-token-abcdef",
        "987654",
        SECRET,
    ] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(
        e.message.starts_with("rejected Bearer ***"),
        "{}",
        e.message
    );
}
