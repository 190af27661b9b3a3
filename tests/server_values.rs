//! No value a server chooses can panic the console or the client: rate-limit figures, `Date`,
//! expiries, ids and counts. The console keeps running and the trail keeps every outcome.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use crossterm::event::KeyCode;
use mfadesk::audit::{AuditContext, AuditLog};
use mfadesk::console::FileAudit;
use support::{Console, Options};

const KELLY: &str = "36216766";
const HUGE_RESET: &str = "100000000000000";

const USER: &str = r#"{"id":36216766,"username":"kellyslater","email":"kelly@acme.example","firstname":"Kelly","lastname":"Slater","status":1,"state":1}"#;

fn devices(with_sms: bool) -> String {
    let sms = r#"{"type_display_name":"OneLogin SMS","active":true,"user_display_name":"Work","default":true,"phone_number":"+14155550123","auth_factor_name":"OneLogin SMS","id":525509,"needs_trigger":true},"#;
    format!(
        r#"{{"status":{{"type":"success","code":200,"message":"Success","error":false}},"data":{{"otp_devices":[{}{}]}}}}"#,
        if with_sms { sms } else { "" },
        r#"{"type_display_name":"Google Authenticator","active":true,"user_display_name":"Pixel","default":false,"auth_factor_name":"Google Authenticator","id":525510,"needs_trigger":false}"#
    )
}

/// A v1 tenant on loopback whose every answer carries the rate-limit figures given, and whose
/// DELETE answers with `X-RateLimit-Reset: 100000000000000`.
async fn scripted_tenant(extra: Vec<(&'static str, String)>) -> String {
    scripted_tenant_with(extra, false).await
}

/// The same tenant; with `hang_delete`, a DELETE is never answered.
async fn scripted_tenant_with(extra: Vec<(&'static str, String)>, hang_delete: bool) -> String {
    let removed = Arc::new(AtomicBool::new(false));
    let extra = Arc::new(extra);
    let app = Router::new().fallback(move |method: Method, uri: Uri| {
        let removed = removed.clone();
        let extra = extra.clone();
        async move {
            let path = uri.path().to_owned();
            let mut headers = HeaderMap::new();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("4000"));
            for (k, v) in extra.iter() {
                if let Ok(v) = HeaderValue::from_str(v) {
                    headers.insert(*k, v);
                }
            }
            let body = if path == "/auth/oauth2/v2/token" {
                r#"{"access_token":"scripted-access-token-1234","expires_in":36000,"token_type":"bearer"}"#
                    .to_owned()
            } else if path == "/auth/rate_limit" {
                format!(
                    r#"{{"status":{{"error":false,"code":200,"type":"success","message":"Success"}},"data":{{"X-RateLimit-Limit":5000,"X-RateLimit-Remaining":4000,"X-RateLimit-Reset":{HUGE_RESET}}}}}"#
                )
            } else if path == format!("/api/2/users/{KELLY}") {
                USER.to_owned()
            } else if path == "/api/2/users" {
                format!("[{USER}]")
            } else if path.ends_with("/otp_devices") {
                devices(!removed.load(Ordering::SeqCst))
            } else if path.ends_with("/auth_factors") {
                r#"{"status":{"error":false,"code":200,"type":"success","message":"Success"},"data":{"auth_factors":[]}}"#
                    .to_owned()
            } else if method == Method::DELETE && path.ends_with("/otp_devices/525509") {
                if hang_delete {
                    std::future::pending::<()>().await;
                }
                removed.store(true, Ordering::SeqCst);
                headers.insert("x-ratelimit-reset", HeaderValue::from_static(HUGE_RESET));
                headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
                "{}".to_owned()
            } else {
                return (
                    StatusCode::NOT_FOUND,
                    headers,
                    r#"{"status":{"error":true,"code":404,"type":"not found","message":"No Route Exists"}}"#
                        .to_owned(),
                );
            };
            (StatusCode::OK, headers, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn trail(path: &Path) -> FileAudit {
    FileAudit {
        log: AuditLog::open(path).expect("trail opens"),
        context: AuditContext::new("agent", None, "http://127.0.0.1"),
    }
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn open_kelly(c: &mut Console) {
    c.key(KeyCode::Char('/'));
    c.type_text(KELLY);
    c.key(KeyCode::Enter);
    c.wait_text("Kelly Slater").await;
    c.key(KeyCode::Enter);
    c.wait_for("devices loaded", |s| {
        s.contains("Work") && s.contains("Pixel") && !s.contains("Loading devices")
    })
    .await;
}

#[tokio::test]
async fn a_delete_answered_with_a_reset_in_three_million_years_leaves_the_console_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let base = scripted_tenant(Vec::new()).await;
    let opts = Options {
        base_url: Some(base),
        audit: Some(Box::new(trail(&path))),
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    open_kelly(&mut c).await;
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove device").await;
    // Focus starts on Cancel: move to Remove, confirm.
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_for("the removal's answer and the devices read again", |s| {
        s.contains("Removed OneLogin SMS") && s.contains("1 factor")
    })
    .await;
    assert!(!c.task.is_finished(), "the console is still running");
    // It still answers keys.
    c.key(KeyCode::Char('?'));
    c.wait_text("Help ·").await;
    c.key(KeyCode::Esc);
    let entries = lines(&path);
    let removes: Vec<_> = entries
        .iter()
        .filter(|e| e["action"] == "remove")
        .map(|e| e["outcome"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(removes, ["attempt", "success"], "{entries:?}");
    c.quit().await;
}

#[tokio::test]
async fn dates_of_1970_and_9999_and_huge_limits_on_every_answer_panic_nothing() {
    for date in [
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "not a date",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let base = scripted_tenant(vec![
            ("date", date.to_owned()),
            ("x-ratelimit-limit", u64::MAX.to_string()),
            ("x-ratelimit-reset", HUGE_RESET.to_owned()),
        ])
        .await;
        let opts = Options {
            base_url: Some(base),
            audit: Some(Box::new(trail(&path))),
            ..Options::default()
        };
        let mut c = Console::start_opts(opts, |_| {}).await;
        open_kelly(&mut c).await;
        assert!(!c.task.is_finished(), "{date}");
        c.quit().await;
    }
}

/// A panic in the loop while a removal is on its way (here: the draw hook panicking) still
/// leaves the removal's outcome, `unknown`, in the trail before the panic goes on.
#[tokio::test]
async fn a_panic_while_a_removal_is_in_flight_settles_it_as_unknown_in_the_trail() {
    use futures::channel::mpsc;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let base = scripted_tenant_with(Vec::new(), true).await;
    let creds = mfadesk::api::Credentials {
        client_id: "scripted-id".into(),
        client_secret: "scripted-secret-0123".into(),
    };
    let mut config = mfadesk::api::ClientConfig::new(base.clone(), creds);
    config.mfa_api = mfadesk::api::MfaApiChoice::V1;
    let client = mfadesk::api::Client::new(config).expect("client");
    let tenant = mfadesk::app::TenantInfo {
        name: "scripted".into(),
        base_url: base,
        ..Default::default()
    };
    let app = mfadesk::app::App::new(tenant, chrono::Utc::now());
    let (keys, events) = mpsc::unbounded();
    let (screen_tx, mut screen) = tokio::sync::watch::channel(String::new());
    let io = mfadesk::runtime::Io {
        client,
        phone: None,
        audit: Some(Box::new(trail(&path))),
        clipboard: Box::new(std::io::sink()),
        clock: chrono::Utc::now,
        stop: None,
        on_draw: Some(Box::new(move |app, buffer| {
            if app.change_in_flight() {
                panic!("forced panic while a change is in flight");
            }
            let text: String = buffer.content().iter().map(|c| c.symbol()).collect();
            let _ = screen_tx.send(text);
        })),
    };
    let task = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        mfadesk::runtime::run(app, &mut terminal, events, io).await
    });
    let press = |code: KeyCode| {
        let _ = keys.unbounded_send(Ok(crossterm::event::Event::Key(
            crossterm::event::KeyEvent::from(code),
        )));
    };
    let wait = |screen: &mut tokio::sync::watch::Receiver<String>, what: &'static str| {
        let mut screen = screen.clone();
        async move {
            tokio::time::timeout(support::WAIT, screen.wait_for(|s| s.contains(what)))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .map(|_| ())
                .expect("screen");
        }
    };
    press(KeyCode::Char('/'));
    for c in KELLY.chars() {
        press(KeyCode::Char(c));
    }
    press(KeyCode::Enter);
    wait(&mut screen, "1 user").await;
    press(KeyCode::Enter);
    wait(&mut screen, "Pixel").await;
    press(KeyCode::Char('d'));
    wait(&mut screen, "Remove device").await;
    press(KeyCode::Right);
    press(KeyCode::Enter);
    let ended = tokio::time::timeout(support::WAIT, task)
        .await
        .expect("the loop ends");
    assert!(ended.is_err_and(|e| e.is_panic()), "the panic went on");
    let removes: Vec<_> = lines(&path)
        .into_iter()
        .filter(|e| e["action"] == "remove")
        .collect();
    let outcomes: Vec<_> = removes.iter().map(|e| e["outcome"].clone()).collect();
    assert_eq!(outcomes, ["attempt", "unknown"], "{removes:?}");
    assert!(
        removes[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("outcome is unknown")),
        "{removes:?}"
    );
    assert_eq!(removes[1]["device_id"], "525509");
}

/// A tenant whose `Date` says `date` and whose expiries are `expiry_after` its own now.
async fn dated_tenant(
    tenant_now: chrono::DateTime<chrono::Utc>,
    expiry_after: i64,
) -> mfadesk::api::Client {
    let date = tenant_now.to_rfc2822().replace("+0000", "GMT");
    let expiry = (tenant_now + chrono::Duration::seconds(expiry_after)).to_rfc3339();
    let app = Router::new().fallback(move |uri: Uri| {
        let (date, expiry) = (date.clone(), expiry.clone());
        async move {
            let mut headers = HeaderMap::new();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(d) = HeaderValue::from_str(&date) {
                headers.insert("date", d);
            }
            let body = match uri.path() {
                "/auth/oauth2/v2/token" => r#"{"access_token":"dated-access-token-1234","expires_in":36000,"token_type":"bearer"}"#.to_owned(),
                p if p.ends_with("/trigger") => format!(
                    r#"{{"status":{{"error":false,"code":200,"type":"success","message":"Success"}},"data":[{{"id":1,"device_id":7,"state_token":"abcdefabcdef1234","state_token_expires_at":"{expiry}"}}]}}"#
                ),
                p if p.ends_with("/mfa_token") => format!(
                    r#"{{"mfa_token":"55647655","reusable":false,"expires_at":"{expiry}"}}"#
                ),
                p if p.ends_with("/verifications") => format!(
                    r#"[{{"id":"5b1f0a52-0000-4000-8000-000000000001","device_id":"7","expires_at":"{expiry}"}}]"#
                ),
                _ => "{}".to_owned(),
            };
            (StatusCode::OK, headers, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let creds = mfadesk::api::Credentials {
        client_id: "dated-id".into(),
        client_secret: "dated-secret-0123".into(),
    };
    mfadesk::api::Client::new(mfadesk::api::ClientConfig::new(
        format!("http://{addr}"),
        creds,
    ))
    .expect("client")
}

/// Seconds from now to `at`, on our clock.
fn left(at: Option<chrono::DateTime<chrono::Utc>>) -> i64 {
    (at.expect("an expiry") - chrono::Utc::now()).num_seconds()
}

#[tokio::test]
async fn expiries_reach_our_clock_once_and_within_what_was_asked_whatever_the_tenants_date() {
    use chrono::{Duration, TimeZone, Utc};
    let device = mfadesk::api::DeviceId("7".into());
    // 10 minutes behind and ahead: the tenant's "120 s from my now" is 120 s from ours.
    for skew in [Duration::minutes(-10), Duration::minutes(10)] {
        let client = dated_tenant(Utc::now() + skew, 120).await;
        let t = client
            .activate_mfa_factors(1, &device, None, None, None)
            .await
            .expect("trigger");
        let l = left(t.state_token_expires_at);
        assert!((115..=120).contains(&l), "{skew}: {l}");
        let v = client
            .create_device_verification(1, &device, None, None)
            .await
            .expect("v2 verification");
        let l = left(v.expires_at);
        assert!((115..=120).contains(&l), "{skew}: {l}");
        let token = client
            .generate_mfa_token(1, Some(600), false)
            .await
            .expect("token");
        let l = left(token.expires_at);
        assert!((115..=120).contains(&l), "{skew}: {l}");
    }
    // A Date of 1970 or 9999 is a broken header, not a clock: no countdown moves by years.
    for year in [1970, 9999] {
        let broken = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
        let client = dated_tenant(broken, 120).await;
        let t = client
            .activate_mfa_factors(1, &device, Some(300), None, None)
            .await
            .expect("trigger");
        let l = left(t.state_token_expires_at);
        assert!((0..=300).contains(&l), "{year}: {l}");
        let token = client
            .generate_mfa_token(1, Some(600), false)
            .await
            .expect("token");
        let l = left(token.expires_at);
        assert!((0..=600).contains(&l), "{year}: {l}");
    }
}
