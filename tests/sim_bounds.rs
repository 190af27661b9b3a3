//! Demo tenant under bad input: no request panics it, sizes and filters are bounded, what
//! it keeps is bounded, budgets are per credential, and it stays on loopback.

mod sim_support;

use std::net::SocketAddr;

use mfadesk::sim::{DemoTenant, Fault, RouteKind, SimConfig, SimError};
use proptest::prelude::*;
use serde_json::{Value, json};
use sim_support::*;

/// Asserts a v2 error (`statusCode`, `name`).
async fn assert_v2_err(r: reqwest::Response, code: u16, name: &str) -> Value {
    let (status, v) = parts(r).await;
    assert_eq!(status, code, "{v}");
    assert_eq!(v["statusCode"], code, "{v}");
    assert_eq!(v["name"], name, "{v}");
    v
}

/// The tenant still answers an API call normally.
async fn still_serves(sim: &Sim, token: &str) {
    assert_eq!(sim.get(token, "/api/2/users/36216766").await.status(), 200);
}

#[tokio::test]
async fn clock_advance_with_any_value_is_a_400_and_harmless() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let control = sim.tenant.control();
    let before = control.now();
    for seconds in [
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "3162240001",
        "-3162240001",
        "abc",
        "1e9",
        "",
    ] {
        let url = sim.url(&format!("/_sim/clock/advance?seconds={seconds}"));
        let r = sim.http.post(url).send().await.unwrap();
        let (status, v) = parts(r).await;
        assert_eq!(status, 400, "{seconds}: {v}");
        assert_eq!(v["status"]["error"], true, "{v}");
        assert_eq!(v["status"]["code"], 400, "{v}");
        assert!(v["status"]["message"].as_str().unwrap().contains("seconds"));
        still_serves(&sim, &t).await;
    }
    let r = sim
        .http
        .post(sim.url("/_sim/clock/advance"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!((control.now() - before).num_seconds() < 60, "clock moved");
    // The in-process handle refuses the same moves.
    assert!(!control.advance_clock(i64::MAX));
    assert!(!control.advance_clock(i64::MIN));
    assert!(control.advance_clock(3600));
    still_serves(&sim, &t).await;
}

#[tokio::test]
async fn absurd_page_and_limit_are_answered_not_panicked() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let r = sim
        .get(&t, &format!("/api/2/users?limit=100&page={}", usize::MAX))
        .await;
    let (status, v) = parts(r).await;
    assert_eq!((status, v), (200, json!([])));
    for q in [
        "page=99999999999999999999999",
        "limit=18446744073709551616",
        "page=-1",
        "limit=abc",
    ] {
        assert_v2_err(
            sim.get(&t, &format!("/api/2/users?{q}")).await,
            400,
            "BadRequestError",
        )
        .await;
    }
    for q in ["limit=0", "limit=101", "page=0"] {
        assert_v2_err(
            sim.get(&t, &format!("/api/2/users?{q}")).await,
            422,
            "ValidationError",
        )
        .await;
    }
    let r = sim
        .http
        .get(sim.url("/_sim/totp/99999999999999999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    still_serves(&sim, &t).await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the query, the users list and the clock answer 2xx/4xx JSON, never 5xx.
    #[test]
    fn request_paths_never_answer_5xx(
        key in prop::sample::select(vec!["page", "limit", "cursor", "user_ids", "email", "seconds"]),
        value in "[-0-9a-zA-Z*%=+/ ]{0,40}|[0-9]{15,30}",
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let sim = Sim::start().await;
            let t = sim.manage().await;
            let q: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(key, &value)
                .finish();
            for r in [
                sim.get(&t, &format!("/api/2/users?{q}")).await,
                sim.http.post(sim.url(&format!("/_sim/clock/advance?{q}"))).send().await.unwrap(),
            ] {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                assert!(status < 500, "{key}={value:?}: {status} {text}");
                assert!(serde_json::from_str::<Value>(&text).is_ok(), "{text}");
            }
            still_serves(&sim, &t).await;
        });
    }
}

#[tokio::test]
async fn flags_near_integer_limits_are_clear_startup_errors() {
    for config in [
        SimConfig {
            latency_ms: u64::MAX,
            ..SimConfig::default()
        },
        SimConfig {
            jitter_ms: u64::MAX,
            ..SimConfig::default()
        },
        SimConfig {
            max_connections: 0,
            ..SimConfig::default()
        },
        SimConfig {
            idle_timeout: std::time::Duration::ZERO,
            ..SimConfig::default()
        },
    ] {
        let err = DemoTenant::start(config).await.unwrap_err();
        assert!(matches!(err, SimError::Config(_)), "{err}");
        assert!(err.to_string().starts_with("invalid setting: "), "{err}");
    }
    // The largest budget works and counts down without wrapping.
    let sim = Sim::with(SimConfig {
        rate_limit: u32::MAX,
        ..SimConfig::default()
    })
    .await;
    let t = sim.manage().await;
    let r = sim.get(&t, "/api/2/users/36216766").await;
    assert_eq!(
        r.headers()["x-ratelimit-limit"],
        u32::MAX.to_string().as_str()
    );
    assert_eq!(
        r.headers()["x-ratelimit-remaining"],
        (u32::MAX - 2).to_string().as_str()
    );
}

#[tokio::test]
async fn seed_values_near_integer_limits_are_clear_startup_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.json");
    let cases = [
        (
            r#"{"account_id": 1, "users": [{"id": 1, "status": 1, "created_at": "now+9999999999999999d"}]}"#,
            "too far",
        ),
        (
            r#"{"account_id": 1, "users": [{"id": 1, "status": 1, "devices": [{"id": 9223372036854775807, "kind": "yubikey", "user_display_name": "k"}]}]}"#,
            "device ids",
        ),
    ];
    for (text, expect) in cases {
        std::fs::write(&path, text).unwrap();
        let err = DemoTenant::start(SimConfig {
            tenant: Some(path.clone()),
            ..SimConfig::default()
        })
        .await
        .unwrap_err();
        assert!(matches!(err, SimError::TenantInvalid { .. }), "{err}");
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[tokio::test]
async fn a_handler_panic_is_a_500_and_the_tenant_goes_on() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let control = sim.tenant.control();
    control.set_fault(RouteKind::OtpDevices, Fault::Panic, Some(2));
    let path = format!("/api/1/users/{KELLY}/otp_devices");
    assert_v1_err(sim.get(&t, &path).await, 500, "Internal Server Error").await;
    let r = sim.get(&t, "/api/2/users?panic=1").await;
    assert_eq!(r.status(), 200, "only the armed route panics");
    assert_v1_err(sim.get(&t, &path).await, 500, "Internal Server Error").await;
    // Nothing is left poisoned: the same route and the state are fine afterwards.
    assert_eq!(sim.get(&t, &path).await.status(), 200);
    assert!(
        !mfadesk::sim::handling_request(),
        "only true inside a tenant request"
    );
}

#[tokio::test]
async fn oversized_requests_get_onelogin_json_errors() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let path = format!("/api/1/users/{KELLY}/otp_devices/{KELLY_SMS}/trigger");
    let big = "x".repeat(2 * 1024 * 1024);
    let r = sim
        .http
        .post(sim.url(&path))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_v1_err(r, 413, "Request Entity Too Large").await;
    // Chunked, with no Content-Length to refuse up front: the tenant stops reading at
    // the cap (without a cap this body, not JSON, would get a 400 after 2.5 MiB).
    let mut raw = tokio::net::TcpStream::connect(sim.tenant.addr())
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let (mut rd, mut wr) = raw.split();
    let write = async {
        use tokio::io::AsyncWriteExt;
        let _ = wr.write_all(head.as_bytes()).await;
        for _ in 0..40 {
            let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
            if wr.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
    };
    let read = async {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let ((), out) = tokio::join!(write, read);
    let text = String::from_utf8_lossy(&out);
    // A reset may swallow the answer, but whatever arrived must be the 413.
    if !text.is_empty() {
        assert!(text.starts_with("HTTP/1.1 413"), "{text}");
        assert!(
            text.contains(r#""message":"Request Entity Too Large""#),
            "{text}"
        );
    }
    let huge = "y".repeat(20 * 1024);
    let r = sim
        .http
        .get(sim.url("/api/1/users/1/otp_devices"))
        .header("x-big", &huge)
        .send()
        .await
        .unwrap();
    assert_v1_err(r, 431, "Request Header Fields Too Large").await;
    let r = sim
        .http
        .get(sim.url("/api/2/users"))
        .header("x-big", &huge)
        .send()
        .await
        .unwrap();
    assert_v2_err(r, 431, "RequestHeaderFieldsTooLargeError").await;
    let long = format!("/api/2/users?email={}", "a".repeat(9 * 1024));
    let r = sim.get(&t, &long).await;
    assert_v2_err(r, 414, "URITooLongError").await;
    still_serves(&sim, &t).await;
}

#[tokio::test]
async fn long_filters_are_refused() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    for key in ["email", "username", "firstname", "lastname"] {
        let long = format!("/api/2/users?{key}={}", "*a".repeat(129));
        let v = assert_v2_err(sim.get(&t, &long).await, 400, "BadRequestError").await;
        assert!(v["message"].as_str().unwrap().contains("256"), "{v}");
    }
    let ok = format!("/api/2/users?email={}", "*".repeat(256));
    let (status, v) = parts(sim.get(&t, &ok).await).await;
    assert_eq!(status, 200);
    assert!(!v.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_outbox_keeps_only_recent_messages() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let control = sim.tenant.control();
    let path = format!("/api/1/users/{KELLY}/otp_devices/{KELLY_SMS}/trigger");
    for _ in 0..1005 {
        assert_eq!(sim.post(&t, &path, json!({})).await.status(), 200);
    }
    let last = sim.post(&t, &path, json!({})).await;
    let (_, v) = parts(last).await;
    let token = v["data"][0]["state_token"].as_str().unwrap().to_string();
    let outbox = control.outbox();
    assert_eq!(outbox.len(), 1000);
    // The newest message is kept and its state token still verifies.
    let code = control.last_code_for(KELLY_SMS).unwrap();
    assert_eq!(outbox.last().unwrap().code, code);
    let verify = format!("/api/1/users/{KELLY}/otp_devices/{KELLY_SMS}/verify");
    let r = sim
        .post(
            &t,
            &verify,
            json!({"state_token": token, "otp_token": code}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn unauthenticated_requests_do_not_spend_a_credentials_budget() {
    let sim = Sim::start().await;
    sim.tenant.control().set_rate_limit(3);
    for _ in 0..10 {
        let r = sim.get("not-a-token", "/api/2/users").await;
        assert_eq!(r.status(), 401);
        assert!(!r.headers().contains_key("x-ratelimit-remaining"));
        let r = sim
            .http
            .get(sim.url("/api/1/users/1/otp_devices"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = sim
            .http
            .post(sim.url("/auth/oauth2/v2/token"))
            .basic_auth("demo-manage", Some("wrong"))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // The manage credential still has its whole budget: token + 2 calls, then 429.
    let t = sim.manage().await;
    let r = sim.get(&t, "/api/2/users/36216766").await;
    assert_eq!(r.headers()["x-ratelimit-remaining"], "1");
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
    let r = sim.get(&t, "/api/2/users/36216766").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // The read credential has a budget of its own.
    let read = sim.read().await;
    let r = sim.get(&read, "/api/2/users/36216766").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "1");
    let (status, v) = parts(sim.get(&read, "/auth/rate_limit").await).await;
    assert_eq!(status, 200);
    assert_eq!(v["data"]["X-RateLimit-Remaining"], 0);
}

#[tokio::test]
async fn listening_off_loopback_needs_allow_remote() {
    for listen in ["0.0.0.0:0", "192.0.2.1:0", "[::]:0"] {
        let listen: SocketAddr = listen.parse().unwrap();
        let err = DemoTenant::start(SimConfig {
            listen,
            ..SimConfig::default()
        })
        .await
        .unwrap_err();
        assert!(matches!(err, SimError::Remote(_)), "{err}");
        assert!(err.to_string().contains("--allow-remote"), "{err}");
    }
    // Anywhere in 127.0.0.0/8 is loopback.
    let listen: SocketAddr = "127.0.0.2:0".parse().unwrap();
    let tenant = DemoTenant::start(SimConfig {
        listen,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(tenant.addr().ip().to_string(), "127.0.0.2");
}

#[test]
fn sim_command_refuses_a_remote_listen_address() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfadesk"))
        .args(["sim", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--allow-remote") && err.contains("0.0.0.0:0"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing was served");
}
