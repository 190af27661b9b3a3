//! Demo tenant over real HTTP: fault injection, request counts, demo routes, start-up errors.

mod sim_support;

use std::time::{Duration, Instant};

use mfadesk::sim::{DemoTenant, Fault, RouteKind, SimConfig, SimError};
use serde_json::{Value, json};
use sim_support::*;

#[tokio::test]
async fn status_faults_count_down_and_are_counted() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let path = format!("/api/1/users/{KELLY}/otp_devices");
    control.set_fault(RouteKind::OtpDevices, Fault::Status(503), Some(2));
    let r = sim.get(&t, &path).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(sim.get(&t, &path).await.status(), 503);
    assert_eq!(sim.get(&t, &path).await.status(), 200);
    // Other routes are untouched.
    control.set_fault(RouteKind::OtpDevices, Fault::Status(500), None);
    assert_eq!(
        sim.get(&t, &format!("/api/2/users/{KELLY}")).await.status(),
        200
    );
    let (status, v) = parts(sim.get(&t, &path).await).await;
    assert_eq!(status, 500);
    assert_eq!(v["status"]["code"], 500);
    assert_eq!(sim.get(&t, &path).await.status(), 500);
    control.clear_faults();
    assert_eq!(sim.get(&t, &path).await.status(), 200);
    assert_eq!(control.request_count(RouteKind::OtpDevices), 6);
    assert_eq!(control.request_count(RouteKind::User), 1);
    assert_eq!(control.request_count(RouteKind::Token), 1);
    assert_eq!(control.request_count(RouteKind::Any), 8);
    // /_sim is neither counted nor faulted.
    control.set_fault(RouteKind::Any, Fault::Status(502), None);
    let r = sim.http.get(sim.url("/_sim/pushes")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = sim.get(&t, "/auth/rate_limit").await;
    assert_eq!(r.status(), 502);
    assert_eq!(control.request_count(RouteKind::Any), 9);
    control.reset();
    assert_eq!(control.request_count(RouteKind::Any), 0);
    assert_eq!(sim.get(&t, "/auth/rate_limit").await.status(), 200);
}

#[tokio::test]
async fn too_many_requests_fault_has_retry_after() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    control.set_fault(
        RouteKind::Users,
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        Some(1),
    );
    let r = sim.get(&t, "/api/2/users").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(sim.get(&t, "/api/2/users").await.status(), 200);
}

#[tokio::test]
async fn connection_reset_closes_without_response() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    control.set_fault(RouteKind::User, Fault::ConnectionReset, Some(1));
    let err = sim
        .http
        .get(sim.url(&format!("/api/2/users/{KELLY}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    eprintln!("reset error: {err:?}");
    // The server carries on.
    assert_eq!(
        sim.get(&t, &format!("/api/2/users/{KELLY}")).await.status(),
        200
    );
    assert_eq!(control.request_count(RouteKind::User), 2);
}

#[tokio::test]
async fn malformed_json_revoked_token_and_delay() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let path = format!("/api/1/users/{KELLY}/otp_devices");
    control.set_fault(RouteKind::OtpDevices, Fault::MalformedJson, Some(1));
    let r = sim.get(&t, &path).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.is_err());

    control.set_fault(RouteKind::OtpDevices, Fault::RevokedToken, Some(1));
    assert_v1_err(sim.get(&t, &path).await, 401, "Authentication Failure").await;
    control.set_fault(RouteKind::Users, Fault::RevokedToken, Some(1));
    let (status, v) = parts(sim.get(&t, "/api/2/users").await).await;
    assert_eq!(status, 401);
    assert_eq!(v["name"], "UnauthorizedError");
    // The token itself still works.
    assert_eq!(sim.get(&t, &path).await.status(), 200);

    control.set_fault(
        RouteKind::OtpDevices,
        Fault::Delay(Duration::from_millis(200)),
        Some(1),
    );
    let started = Instant::now();
    assert_eq!(sim.get(&t, &path).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn cli_rates_fail_and_drop_every_request() {
    let sim = Sim::with(SimConfig {
        fail_rate: 1.0,
        ..SimConfig::default()
    })
    .await;
    for _ in 0..5 {
        let r = sim.http.get(sim.url("/api/2/users")).send().await.unwrap();
        assert!([500, 502, 503].contains(&r.status().as_u16()));
    }
    // Demo routes are exempt.
    let r = sim.http.get(sim.url("/_sim/outbox")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let sim = Sim::with(SimConfig {
        drop_rate: 1.0,
        latency_ms: 20,
        ..SimConfig::default()
    })
    .await;
    let started = Instant::now();
    assert!(sim.http.get(sim.url("/api/2/users")).send().await.is_err());
    assert!(started.elapsed() >= Duration::from_millis(20));
}

#[tokio::test]
async fn demo_routes_outbox_clock_and_reset() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let before = control.now();
    let r = sim
        .http
        .post(sim.url("/_sim/clock/advance?seconds=3600"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!((control.now() - before).num_seconds() >= 3600);

    let trig = format!("/api/1/users/{KELLY}/otp_devices/{KELLY_SMS}/trigger");
    assert_eq!(sim.post(&t, &trig, json!({})).await.status(), 200);
    let (_, v) = parts(sim.http.get(sim.url("/_sim/outbox")).send().await.unwrap()).await;
    assert_eq!(v[0]["device_id"], KELLY_SMS);
    assert_eq!(v[0]["channel"], "sms");
    assert_eq!(v[0]["to"], "+14155550101");

    let r = sim.http.post(sim.url("/_sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(control.outbox().is_empty());
    assert!((control.now() - before).num_seconds() < 60);
    // Tokens survive a reset.
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
    let r = sim.http.get(sim.url("/_sim/totp/1")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bad_tenant_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.json");
    std::fs::write(&path, r#"{"account_id": 1, "users": [{"id": 1, "status": 1, "devices": [{"id": 5, "kind": "sms", "user_display_name": "x"}]}]}"#).unwrap();
    let err = DemoTenant::start(SimConfig {
        tenant: Some(path.clone()),
        ..SimConfig::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, SimError::TenantInvalid { .. }));
    let text = err.to_string();
    assert!(
        text.contains("tenant.json") && text.contains("phone_number"),
        "{text}"
    );

    let missing = dir.path().join("missing.json");
    let err = DemoTenant::start(SimConfig {
        tenant: Some(missing),
        ..SimConfig::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, SimError::TenantRead { .. }), "{err}");

    std::fs::write(&path, "{not json").unwrap();
    let err = DemoTenant::start(SimConfig {
        tenant: Some(path),
        ..SimConfig::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("tenant.json"), "{err}");
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = Sim::start().await;
    let url = sim.url("/_sim/outbox");
    assert_eq!(sim.http.get(&url).send().await.unwrap().status(), 200);
    let Sim { tenant, .. } = sim;
    tenant.shutdown().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err());
}
