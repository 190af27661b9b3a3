//! Answers are what was asked, or an error: only a documented success passes a verify or a
//! check, a list is a list (never `{}` read as "no devices"), and a registration's setup link
//! is an authenticator URI or nothing is drawn.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use mfadesk::api::wire;
use mfadesk::api::wire_v2::{self, NOT_AN_AUTHENTICATOR_URI, TOTP_URL_MAX, is_authenticator_uri};
use mfadesk::api::{
    ApiError, Client, ClientConfig, Credentials, DeviceId, ErrorKind, MfaApiChoice, Secret,
    VerifyOutcome,
};

fn unexpected<T: std::fmt::Debug>(r: Result<T, ApiError>, route: &str) {
    let e = r.expect_err("not a pass");
    assert_eq!(e.kind, ErrorKind::MalformedResponse, "{e:?}");
    assert_eq!(e.message, format!("unexpected response from {route}"));
}

const V1_VERIFY: &str = "POST /api/1/users/{id}/otp_devices/{device_id}/verify";
const V2_CHECK: &str = "PUT /api/2/mfa/users/{id}/verifications/{verification_id}";
const V2_POLL: &str = "GET /api/2/mfa/users/{id}/verifications/{verification_id}";

#[test]
fn only_the_documented_success_passes_a_verify_or_a_check() {
    let undocumented: [&[u8]; 8] = [
        b"",
        b"   ",
        b"{}",
        b"[]",
        b"null",
        b"\"Success\"",
        br#"{"data":{"ok":true}}"#,
        br#"{"status":{"type":"weird","code":200,"error":false}}"#,
    ];
    for body in undocumented {
        let shown = String::from_utf8_lossy(body);
        let r = wire::decode_verify(body);
        assert!(r.is_err(), "{shown}: {r:?}");
        if body.starts_with(b"{") || body.trim_ascii().is_empty() {
            unexpected(r, V1_VERIFY);
        }
        assert!(wire_v2::decode_check(body).is_err(), "{shown}");
        assert!(wire_v2::decode_poll(body).is_err(), "{shown}");
    }
    unexpected(wire_v2::decode_check(b"{}"), V2_CHECK);
    unexpected(wire_v2::decode_poll(b"{}"), V2_POLL);
    let success = br#"{"status":{"type":"success","code":200,"message":"Success","error":false}}"#;
    assert_eq!(wire::decode_verify(success), Ok(VerifyOutcome::Verified));
    assert_eq!(wire_v2::decode_check(success), Ok(VerifyOutcome::Verified));
    assert_eq!(
        wire_v2::decode_poll(br#"[{"id":"x","status":"accepted","device_id":"1"}]"#),
        Ok(VerifyOutcome::Verified)
    );
}

#[test]
fn a_list_answered_with_anything_but_its_list_is_an_error_naming_the_call() {
    let not_lists: [&[u8]; 6] = [
        b"{}",
        b"null",
        b"\"devices\"",
        br#"{"data":{}}"#,
        br#"{"status":{"type":"success","code":200,"message":"Success","error":false}}"#,
        br#"{"something":"else"}"#,
    ];
    for body in not_lists {
        let shown = String::from_utf8_lossy(body);
        unexpected(
            wire::decode_otp_devices(body),
            "GET /api/1/users/{id}/otp_devices",
        );
        unexpected(
            wire::decode_auth_factors(body),
            "GET /api/1/users/{id}/auth_factors",
        );
        unexpected(
            wire_v2::decode_devices(body),
            "GET /api/2/mfa/users/{id}/devices",
        );
        unexpected(
            wire_v2::decode_factors(body),
            "GET /api/2/mfa/users/{id}/factors",
        );
        unexpected(wire::decode_users(body), "GET /api/2/users");
        let _ = shown;
    }
    // Empty lists, as documented, are still empty lists.
    let empty_v1 = br#"{"status":{"type":"success","code":200,"message":"Success","error":false},"data":{"otp_devices":[]}}"#;
    assert_eq!(wire::decode_otp_devices(empty_v1), Ok(Vec::new()));
    assert_eq!(wire_v2::decode_devices(b"[]"), Ok(Vec::new()));
    assert_eq!(wire_v2::decode_factors(b"[]"), Ok(Vec::new()));
    assert_eq!(wire::decode_users(b"[]"), Ok(Vec::new()));
}

fn registration_with(url: &str) -> Vec<u8> {
    serde_json::json!({
        "id": "5b1f0a52-0000-4000-8000-000000000001",
        "status": "pending",
        "auth_factor_name": "Google Authenticator",
        "factor_data": {"verification_token": "vt-0123456789", "totp_url": url}
    })
    .to_string()
    .into_bytes()
}

#[test]
fn a_setup_link_must_be_an_authenticator_uri_with_a_secret_and_is_never_cut() {
    let good = "otpauth://totp/Acme:kelly?secret=JBSWY3DPEHPK3PXP&issuer=Acme";
    assert!(is_authenticator_uri(good));
    assert!(is_authenticator_uri(
        "otpauth://hotp/Acme:kelly?secret=JBSWY3DPEHPK3PXP&counter=1"
    ));
    let r = wire_v2::decode_registration(&registration_with(good)).expect("a good link");
    assert_eq!(r.totp_url.as_ref().map(Secret::expose), Some(good));

    // Exactly the limit passes whole.
    let pad = TOTP_URL_MAX - good.len();
    let longest = format!("{good}{}", "x".repeat(pad));
    assert_eq!(longest.chars().count(), TOTP_URL_MAX);
    let r = wire_v2::decode_registration(&registration_with(&longest)).expect("2,048 passes");
    assert_eq!(
        r.totp_url.as_ref().map(Secret::expose),
        Some(longest.as_str())
    );

    let too_long = format!("{longest}x");
    for bad in [
        "https://evil.example/otpauth://totp/x?secret=AAAA",
        "javascript:alert(1)//otpauth://totp/x?secret=AAAA",
        "otpauth://totp/Acme:kel",
        "otpauth://totp/Acme:kelly?issuer=Acme",
        "otpauth://totp/Acme:kelly?secret=",
        "otpauth://steam/Acme?secret=AAAA",
        "otpauth://totp/Acme kelly?secret=AAAA\u{1b}[2J",
        too_long.as_str(),
    ] {
        assert!(!is_authenticator_uri(bad), "{bad}");
        let e = wire_v2::decode_registration(&registration_with(bad)).expect_err(bad);
        assert_eq!(e.message, NOT_AN_AUTHENTICATOR_URI, "{bad}");
    }
    // A number or an object where the link should be is refused too.
    let body = br#"{"id":"r1","status":"pending","factor_data":{"totp_url":42}}"#;
    assert_eq!(
        wire_v2::decode_registration(body)
            .expect_err("a number")
            .message,
        NOT_AN_AUTHENTICATOR_URI
    );
}

/// A loopback tenant answering every call with `status` and `body`.
async fn answering(status: u16, body: &'static str) -> Client {
    let app = Router::new().fallback(move |uri: Uri| async move {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if uri.path() == "/auth/oauth2/v2/token" {
            return (
                StatusCode::OK,
                headers,
                r#"{"access_token":"shaped-access-token-1234","expires_in":36000,"token_type":"bearer"}"#,
            );
        }
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers,
            body,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let creds = Credentials {
        client_id: "shaped-id".into(),
        client_secret: "shaped-secret-0123".into(),
    };
    let mut config = ClientConfig::new(format!("http://{addr}"), creds);
    config.mfa_api = MfaApiChoice::V2;
    Client::new(config).unwrap()
}

#[tokio::test]
async fn over_http_an_empty_200_a_204_and_an_empty_object_fail_the_check_and_the_lists() {
    let device = DeviceId("7".into());
    let otp = Secret::new("123456");
    for (status, body) in [(200, ""), (204, ""), (200, "{}")] {
        let client = answering(status, body).await;
        let r = client.verify_mfa_factor(1, &device, None, Some(&otp)).await;
        unexpected(r, V1_VERIFY);
        let r = client
            .verify_user_verification(1, None, &otp, Some(&device))
            .await;
        assert!(r.is_err(), "{status} {body:?}: {r:?}");
        let r = client.get_authentication_devices(1).await;
        assert!(r.is_err(), "v2 devices {status} {body:?}: {r:?}");
        let r = client.get_enrolled_factors(1).await;
        assert!(r.is_err(), "v1 devices {status} {body:?}: {r:?}");
    }
}

#[tokio::test]
async fn over_http_a_registration_with_a_web_link_is_refused_whole() {
    let client = answering(
        201,
        r#"{"id":"5b1f0a52-0000-4000-8000-000000000001","status":"pending","auth_factor_name":"Google Authenticator","factor_data":{"verification_token":"vt-0123456789","totp_url":"https://evil.example/otpauth://totp/x?secret=AAAA"}}"#,
    )
    .await;
    let request = mfadesk::api::RegistrationRequest {
        factor_id: 3,
        display_name: "Pixel".into(),
        expires_in: None,
        verified: None,
        number: None,
        redirect_to: None,
        custom_message: None,
    };
    let e = client
        .create_factor_registration(1, &request)
        .await
        .expect_err("refused");
    assert_eq!(e.message, NOT_AN_AUTHENTICATOR_URI);
    assert!(!e.to_string().contains("evil"), "{e}");
}
