//! Property tests: extreme rate-limit headers, `Date` headers, expiries and ids go through the
//! client (over real HTTP on loopback) and through `update` and the view without a panic.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use chrono::{DateTime, Duration, Utc};
use mfadesk::api::{
    Client, ClientConfig, Credentials, DeviceId, MfaToken, RateLimit, ResponseMeta, RetryPolicy,
    TriggerResult,
};
use mfadesk::app::{Msg, update};
use mfadesk::worker::{ApiEvent, ApiResponse};
use proptest::prelude::*;

use common::*;

/// What the scripted server answers in the current case.
#[derive(Clone, Default)]
struct Case {
    headers: Vec<(String, String)>,
    expiry: String,
    id: String,
    reset: String,
}

fn serve(case: Arc<Mutex<Case>>) -> Router {
    Router::new().fallback(move |uri: Uri| {
        let case = case.lock().map(|c| c.clone()).unwrap_or_default();
        async move {
            let mut headers = HeaderMap::new();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            for (k, v) in &case.headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    headers.insert(k, v);
                }
            }
            let path = uri.path();
            let ok = r#"{"status":{"error":false,"code":200,"type":"success","message":"Success"}"#;
            let body = if path == "/auth/oauth2/v2/token" {
                r#"{"access_token":"prop-access-token-1234","expires_in":36000,"token_type":"bearer"}"#.to_owned()
            } else if path == "/auth/rate_limit" {
                format!(
                    r#"{ok},"data":{{"X-RateLimit-Limit":{r},"X-RateLimit-Remaining":{r},"X-RateLimit-Reset":{r}}}}}"#,
                    r = case.reset
                )
            } else if path.ends_with("/trigger") {
                format!(
                    r#"{ok},"data":[{{"id":{id},"device_id":{id},"state_token":"abcdefabcdef1234","state_token_expires_at":"{e}"}}]}}"#,
                    id = case.id,
                    e = case.expiry
                )
            } else if path.ends_with("/mfa_token") {
                format!(
                    r#"{{"mfa_token":"55647655","reusable":false,"expires_at":"{}"}}"#,
                    case.expiry
                )
            } else if path.ends_with("/otp_devices") {
                format!(
                    r#"{ok},"data":{{"otp_devices":[{{"id":{},"active":true,"default":true,"needs_trigger":false,"auth_factor_name":"Google Authenticator"}}]}}}}"#,
                    case.id
                )
            } else {
                return (StatusCode::NOT_FOUND, headers, "{}".to_owned());
            };
            (StatusCode::OK, headers, body)
        }
    })
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        Just("100000000000000".to_owned()),
        Just(u64::MAX.to_string()),
        Just("-1".to_owned()),
        Just("99999999999999999999999999".to_owned()),
        "[0-9a-z ,.-]{0,24}",
    ]
}

fn date_header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        Just("Mon, 01 Jan 0001 00:00:00 GMT".to_owned()),
        (0i64..253_402_300_799).prop_map(|s| DateTime::from_timestamp(s, 0)
            .map(|d| d.to_rfc2822())
            .unwrap_or_default()),
        "[ -~]{0,40}",
    ]
}

fn expiry_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("9999-12-31T23:59:59Z".to_owned()),
        Just("0001-01-01T00:00:00Z".to_owned()),
        Just("1970-01-01T00:00:00Z".to_owned()),
        Just("+262142-01-01T00:00:00Z".to_owned()),
        (-62_135_596_800i64..253_402_300_799).prop_map(|s| DateTime::from_timestamp(s, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default()),
        "[0-9TZ:+-]{0,30}",
    ]
}

fn id_json() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("1e300".to_owned()),
        Just("-0".to_owned()),
        Just("99999999999999999999999999999".to_owned()),
        "[a-z0-9]{0,12}".prop_map(|s| format!("\"{s}\"")),
        Just("null".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_client_survives_any_figure_date_expiry_or_id(
        limit in header_value(),
        remaining in header_value(),
        reset in header_value(),
        retry_after in header_value(),
        date in date_header(),
        expiry in expiry_text(),
        id in id_json(),
        body_reset in header_value(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let case = Arc::new(Mutex::new(Case {
                headers: vec![
                    ("x-ratelimit-limit".into(), limit),
                    ("x-ratelimit-remaining".into(), remaining),
                    ("x-ratelimit-reset".into(), reset),
                    ("retry-after".into(), retry_after),
                    ("date".into(), date),
                ],
                expiry,
                id,
                reset: body_reset,
            }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let _ = axum::serve(listener, serve(case)).await;
            });
            let creds = Credentials {
                client_id: "prop-id".into(),
                client_secret: "prop-secret-0123".into(),
            };
            let mut config = ClientConfig::new(format!("http://{addr}"), creds);
            config.retry = RetryPolicy::none();
            let client = Client::new(config).unwrap();
            let sent = Utc::now();
            let _ = client.get_rate_limit().await;
            if let Ok(t) = client.activate_mfa_factors(1, &DeviceId("7".into()), Some(300), None, None).await {
                // On our clock, never past what was asked.
                if let Some(at) = t.state_token_expires_at {
                    prop_assert!(at <= Utc::now() + Duration::seconds(300));
                    prop_assert!(at >= sent - Duration::seconds(1));
                }
            }
            if let Ok(t) = client.generate_mfa_token(1, Some(600), false).await
                && let Some(at) = t.expires_at
            {
                prop_assert!(at <= Utc::now() + Duration::seconds(600));
            }
            let _ = client.get_enrolled_factors(1).await;
            let _ = client.rate_limit();
            Ok(())
        })?;
    }

    #[test]
    fn update_and_the_view_survive_any_figure_offset_or_expiry(
        limit in proptest::option::of(any::<u64>()),
        remaining in proptest::option::of(any::<u64>()),
        reset in proptest::option::of(any::<u64>()),
        offset_secs in proptest::option::of(-1_000_000_000_000i64..1_000_000_000_000),
        expiry_secs in -62_135_596_800i64..253_402_300_799,
        device in "[ -~]{0,30}",
    ) {
        let mut app = app_with_kelly();
        let (id, _) = one_request(&app.startup());
        let rate = RateLimit { limit, remaining, reset_secs: reset };
        update(
            &mut app,
            Msg::Api(Box::new(ApiEvent {
                id,
                response: ApiResponse::RateLimit(Ok(rate)),
                rate_limit: Some(rate),
                meta: ResponseMeta {
                    status: Some(200),
                    request_id: None,
                    clock_offset: offset_secs.and_then(Duration::try_seconds),
                },
                mfa_api: None,
            })),
        );
        let _ = screen(&app, 120, 40);
        let at = DateTime::from_timestamp(expiry_secs, 0);
        ch(&mut app, 't');
        if let Some((id, _)) = requests(&enter(&mut app)).into_iter().next() {
            let r = TriggerResult {
                device_id: DeviceId(device.clone()),
                state_token: "tok-abcdef-123456".into(),
                state_token_expires_at: at,
                message: "sent".into(),
            };
            answer(&mut app, id, ApiResponse::Triggered(Ok(r)));
            tick(&mut app);
            let _ = screen(&app, 80, 24);
        }
        app.dialogs.clear();
        ch(&mut app, 'm');
        if let Some((id, _)) = requests(&enter(&mut app)).into_iter().next() {
            let token = MfaToken { mfa_token: "55647655".into(), reusable: false, expires_at: at };
            answer(&mut app, id, ApiResponse::MfaToken(Ok(token)));
            let _ = screen(&app, 120, 40);
        }
        app.now = Utc::now();
        tick(&mut app);
        let _ = screen(&app, 80, 24);
    }
}
