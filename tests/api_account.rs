//! Account actions (spec §10) over real HTTP: unlock, sign out everywhere and lock against the
//! demo tenant (answers, scopes, 404s, the user's new status) and against a scripted loopback
//! server (what goes on the wire, both spellings of the unlock answer, error envelopes).

mod api_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_support::*;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use mfadesk::api::{Client, ClientConfig, Credentials, ErrorKind, RetryPolicy, Secret};
use mfadesk::sim::{DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET};
use serde_json::{Value, json};

/// Gabriel Medina: locked in the seed.
const GABRIEL: i64 = 36216770;
const NOBODY: i64 = 99999999;

fn admin(sim: &Sim) -> Client {
    Client::new(sim.config(DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET)).unwrap()
}

// ------------------------------------------------------------------------------------------
// Demo tenant

#[tokio::test]
async fn unlock_a_locked_user_makes_them_active() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let before = client.get_user(GABRIEL).await.unwrap();
    assert_eq!(before.status, Some(3));
    assert!(before.locked_until.is_some());
    client.unlock_user(GABRIEL).await.unwrap();
    let after = client.get_user(GABRIEL).await.unwrap();
    assert_eq!(after.status, Some(1));
    assert_eq!(after.locked_until, None);
}

#[tokio::test]
async fn unlock_of_a_user_not_locked_is_refused_with_onelogins_words() {
    let sim = Sim::start().await;
    let e = err(sim.manage().unlock_user(KELLY).await);
    assert_eq!(e.kind, ErrorKind::NotLocked);
    assert_eq!(e.message, "User cannot be unlocked");
    // Unlocking twice: the second one is refused the same way.
    let client = sim.manage();
    client.unlock_user(GABRIEL).await.unwrap();
    assert_eq!(
        err(client.unlock_user(GABRIEL).await).kind,
        ErrorKind::NotLocked
    );
}

#[tokio::test]
async fn unlock_needs_a_manage_scope_and_an_existing_user() {
    let sim = Sim::start().await;
    let e = err(sim.read_only().unlock_user(GABRIEL).await);
    assert_eq!(e.kind, ErrorKind::InsufficientPermission);
    assert_eq!(e.status, Some(403));
    let e = err(sim.manage().unlock_user(NOBODY).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.status, Some(404));
    // Nothing changed for the refused call.
    assert_eq!(
        sim.manage().get_user(GABRIEL).await.unwrap().status,
        Some(3)
    );
}

#[tokio::test]
async fn logout_succeeds_with_manage_users_and_is_refused_to_read_users() {
    let sim = Sim::start().await;
    sim.manage().logout_user(KELLY).await.unwrap();
    admin(&sim).logout_user(KELLY).await.unwrap();
    let e = err(sim.read_only().logout_user(KELLY).await);
    assert_eq!(e.kind, ErrorKind::InsufficientPermission);
    assert_eq!(e.status, Some(401));
    assert_eq!(e.message, "Insufficient Permission");
    let e = err(sim.manage().logout_user(NOBODY).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.message, format!("User for id {NOBODY} was not found"));
}

#[tokio::test]
async fn lock_needs_manage_all_and_sets_status_and_locked_until() {
    let sim = Sim::start().await;
    let e = err(sim.manage().lock_user(KELLY, 15).await);
    assert_eq!(e.kind, ErrorKind::InsufficientPermission);
    assert_eq!(e.status, Some(401));
    assert_eq!(sim.manage().get_user(KELLY).await.unwrap().status, Some(1));
    let client = admin(&sim);
    let before = chrono::Utc::now();
    client.lock_user(KELLY, 60).await.unwrap();
    let user = client.get_user(KELLY).await.unwrap();
    assert_eq!(user.status, Some(3));
    let until = user.locked_until.unwrap();
    let minutes = (until - before).num_minutes();
    assert!((59..=61).contains(&minutes), "locked for {minutes} minutes");
    // Locked, so unlock now works.
    client.unlock_user(KELLY).await.unwrap();
    assert_eq!(client.get_user(KELLY).await.unwrap().status, Some(1));
}

#[tokio::test]
async fn lock_with_zero_uses_the_policys_period_and_unknown_users_are_404() {
    let sim = Sim::start().await;
    let client = admin(&sim);
    client.lock_user(STEPH, 0).await.unwrap();
    let user = client.get_user(STEPH).await.unwrap();
    assert_eq!(user.status, Some(3));
    assert!(user.locked_until.unwrap() > chrono::Utc::now());
    let e = err(client.lock_user(NOBODY, 15).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.status, Some(404));
}

#[tokio::test]
async fn lock_with_a_bad_body_is_answered_like_onelogin() {
    let sim = Sim::start().await;
    let token = admin_token(&sim).await;
    let url = format!("{}/api/1/users/{KELLY}/lock_user", sim.tenant.base_url());
    let resp = reqwest::Client::new()
        .put(url)
        .bearer_auth(token)
        .json(&json!({"locked_until": "soon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["status"]["message"],
        "locked_until should be -> integer"
    );
}

/// A Manage All access token for raw requests.
async fn admin_token(sim: &Sim) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/auth/oauth2/v2/token", sim.tenant.base_url()))
        .basic_auth(DEMO_ADMIN_CLIENT_ID, Some(DEMO_ADMIN_CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

// ------------------------------------------------------------------------------------------
// Scripted loopback server

/// What the scripted server saw: method, path, body.
type Seen = Arc<Mutex<Vec<(String, String, Bytes)>>>;

#[derive(Clone)]
struct Script {
    status: u16,
    body: &'static str,
    seen: Seen,
}

async fn answer(State(script): State<Script>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 16)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    script
        .seen
        .lock()
        .unwrap()
        .push((parts.method.to_string(), path.clone(), body));
    let (status, text) = if path == "/auth/oauth2/v2/token" {
        (
            200,
            r#"{"access_token":"scripted-access-token","expires_in":36000,"token_type":"bearer"}"#,
        )
    } else {
        (script.status, script.body)
    };
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    resp
}

async fn scripted(status: u16, body: &'static str) -> (Client, Seen) {
    let seen: Seen = Arc::default();
    let script = Script {
        status,
        body,
        seen: seen.clone(),
    };
    let app = Router::new().fallback(answer).with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = ClientConfig::new(
        format!("http://{addr}"),
        Credentials {
            client_id: "scripted-id".into(),
            client_secret: Secret::new("scripted-secret"),
        },
    );
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
    };
    (Client::new(config).unwrap(), seen)
}

fn last(seen: &Seen) -> (String, String, Value) {
    let seen = seen.lock().unwrap();
    let (m, p, b) = seen.last().unwrap().clone();
    (m, p, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_three_calls_send_onelogins_methods_paths_and_bodies() {
    let ok = r#"{"status":{"error":false,"code":200,"type":"success","message":"Success"}}"#;
    let (client, seen) = scripted(200, ok).await;
    client.logout_user(42).await.unwrap();
    assert_eq!(
        last(&seen),
        ("PUT".into(), "/api/1/users/42/logout".into(), Value::Null)
    );
    client.lock_user(42, 240).await.unwrap();
    assert_eq!(
        last(&seen),
        (
            "PUT".into(),
            "/api/1/users/42/lock_user".into(),
            json!({"locked_until": 240})
        )
    );
    let (client, seen) = scripted(200, r#"{"messsage":"User unlocked"}"#).await;
    client.unlock_user(42).await.unwrap();
    assert_eq!(last(&seen).0, "POST");
    assert_eq!(last(&seen).1, "/api/2/users/42/unlock");
}

#[tokio::test]
async fn scripted_not_locked_under_200_and_under_400() {
    let (client, _) = scripted(200, r#"{"message":"User cannot be unlocked"}"#).await;
    let e = err(client.unlock_user(42).await);
    assert_eq!(e.kind, ErrorKind::NotLocked);
    assert_eq!(e.status, Some(200));
    let (client, _) = scripted(
        400,
        r#"{"statusCode":400,"name":"BadRequestError","message":"User cannot be unlocked"}"#,
    )
    .await;
    assert_eq!(err(client.unlock_user(42).await).kind, ErrorKind::NotLocked);
}

#[tokio::test]
async fn scripted_scope_and_404_answers() {
    let (client, seen) = scripted(
        401,
        r#"{"status":{"error":true,"code":401,"type":"Unauthorized","message":"Insufficient Permission"}}"#,
    )
    .await;
    let e = err(client.lock_user(42, 15).await);
    assert_eq!(e.kind, ErrorKind::InsufficientPermission);
    // A change is never retried.
    let puts = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, _, _)| m == "PUT")
        .count();
    assert_eq!(puts, 1);
    let (client, _) = scripted(
        404,
        r#"{"status":{"error":true,"code":404,"type":"not found","message":"User for id 42 was not found"}}"#,
    )
    .await;
    assert_eq!(err(client.logout_user(42).await).kind, ErrorKind::NotFound);
    let (client, _) = scripted(
        404,
        r#"{"statusCode":404,"name":"NotFoundError","message":"The resource with the given id could not be found"}"#,
    )
    .await;
    assert_eq!(err(client.unlock_user(42).await).kind, ErrorKind::NotFound);
    // An error envelope under 200 is still an error.
    let (client, _) = scripted(
        200,
        r#"{"status":{"error":true,"code":400,"type":"bad request","message":"locked_until should be -> integer"}}"#,
    )
    .await;
    assert_eq!(
        err(client.lock_user(42, 15).await).kind,
        ErrorKind::BadRequest
    );
}

/// The event type ids the tenant holds for a user, oldest first.
async fn event_types(sim: &Sim, token: &str, user: i64) -> Vec<i64> {
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/api/1/events?user_id={user}&sort=%2Bid&limit=1000",
            sim.tenant.base_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event_type_id"].as_i64())
        .collect()
}

#[tokio::test]
async fn the_tenant_records_logout_lock_and_unlock_events() {
    let sim = Sim::start().await;
    let token = admin_token(&sim).await;
    let client = admin(&sim);
    client.logout_user(CARISSA).await.unwrap();
    client.lock_user(CARISSA, 15).await.unwrap();
    client.unlock_user(CARISSA).await.unwrap();
    let types = event_types(&sim, &token, CARISSA).await;
    let ours: Vec<i64> = types
        .into_iter()
        .filter(|t| [516, 553, 554].contains(t))
        .collect();
    assert_eq!(ours, vec![516, 553, 554]);
    // A refused unlock records nothing.
    let _ = client.unlock_user(CARISSA).await;
    let again = event_types(&sim, &token, CARISSA).await;
    assert_eq!(again.iter().filter(|t| **t == 554).count(), 1);
}

#[tokio::test]
async fn five_failed_sign_ins_lock_a_user_and_unlock_clears_it() {
    let sim = Sim::start().await;
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let resp = http
            .post(format!("{}/_sim/users/{MICK}/login", sim.tenant.base_url()))
            .json(&json!({"ok": false, "ip": "203.0.113.9"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let client = sim.manage();
    let user = client.get_user(MICK).await.unwrap();
    assert_eq!(user.status, Some(3));
    assert!(user.locked_until.is_some());
    client.unlock_user(MICK).await.unwrap();
    let user = client.get_user(MICK).await.unwrap();
    assert_eq!(user.status, Some(1));
    assert_eq!(user.locked_until, None);
}
