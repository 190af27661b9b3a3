//! Decoding of every sample body in the spec (quirky ones included), error-message extraction,
//! error classification, base URL parsing, secret hygiene, and no-panic properties.

use chrono::{TimeZone, Utc};
use mfadesk::api::wire::{self, Endpoint};
use mfadesk::api::{
    ApiError, AuthFactor, Client, ClientConfig, Credentials, DeviceId, ErrorKind, RateLimit,
    Secret, VerifyOutcome, parse_base_url,
};
use proptest::prelude::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("fixtures/", $name)).as_slice()
    };
}

/// Every fixture, for the sweeping tests.
const ALL_FIXTURES: &[(&str, &[u8])] = &[
    ("token_ok", fixture!("token_ok.json")),
    ("token_error_200", fixture!("token_error_200.json")),
    ("token_error_flat", fixture!("token_error_flat.json")),
    ("token_v1_enveloped", fixture!("token_v1_enveloped.json")),
    ("auth_factors", fixture!("auth_factors.json")),
    (
        "auth_factors_bare_array",
        fixture!("auth_factors_bare_array.json"),
    ),
    ("auth_factors_400", fixture!("auth_factors_400.json")),
    (
        "auth_factors_404_user",
        fixture!("auth_factors_404_user.json"),
    ),
    ("no_route_404", fixture!("no_route_404.json")),
    ("otp_devices", fixture!("otp_devices.json")),
    (
        "otp_devices_protect_twice",
        fixture!("otp_devices_protect_twice.json"),
    ),
    ("otp_devices_empty", fixture!("otp_devices_empty.json")),
    ("enroll", fixture!("enroll.json")),
    ("enroll_object", fixture!("enroll_object.json")),
    ("trigger", fixture!("trigger.json")),
    ("verify_success", fixture!("verify_success.json")),
    ("verify_pending", fixture!("verify_pending.json")),
    (
        "verify_pending_saml_v1",
        fixture!("verify_pending_saml_v1.json"),
    ),
    (
        "verify_pending_message_only",
        fixture!("verify_pending_message_only.json"),
    ),
    (
        "verify_wrong_code_401",
        fixture!("verify_wrong_code_401.json"),
    ),
    ("verify_denied_401", fixture!("verify_denied_401.json")),
    ("verify_expired_400", fixture!("verify_expired_400.json")),
    (
        "verify_invalid_state_400",
        fixture!("verify_invalid_state_400.json"),
    ),
    (
        "verify_user_missing_400",
        fixture!("verify_user_missing_400.json"),
    ),
    ("remove_ok", fixture!("remove_ok.json")),
    ("remove_400", fixture!("remove_400.json")),
    (
        "insufficient_permission_401",
        fixture!("insufficient_permission_401.json"),
    ),
    (
        "authentication_failure_401",
        fixture!("authentication_failure_401.json"),
    ),
    ("mfa_token", fixture!("mfa_token.json")),
    ("mfa_token_resuable", fixture!("mfa_token_resuable.json")),
    ("mfa_token_enveloped", fixture!("mfa_token_enveloped.json")),
    ("user", fixture!("user.json")),
    ("users", fixture!("users.json")),
    ("users_empty", fixture!("users_empty.json")),
    ("user_404_v2", fixture!("user_404_v2.json")),
    ("user_401_v2", fixture!("user_401_v2.json")),
    ("rate_limit", fixture!("rate_limit.json")),
    (
        "error_status_message_object",
        fixture!("error_status_message_object.json"),
    ),
    (
        "error_flat_validation",
        fixture!("error_flat_validation.json"),
    ),
    ("error_v2_validation", fixture!("error_v2_validation.json")),
    (
        "error_v2_unprocessable",
        fixture!("error_v2_unprocessable.json"),
    ),
    ("error_v2_field", fixture!("error_v2_field.json")),
    (
        "error_messages_array",
        fixture!("error_messages_array.json"),
    ),
    ("error_name_only", fixture!("error_name_only.json")),
];

/// Secret values that appear in the fixtures.
const FIXTURE_SECRETS: &[&str] = &[
    "xx508xx63817x752xx74004x30705xx92x58349x5x78f5xx34xxxxx51",
    "v1tokenv1tokenv1token",
    "f2402de2b446abd86ea5aa1f79b3fa72b4befacd",
    "98e008497066bc2763c52342996e06358aab2e32",
    "55647655",
    "55647656",
    "55647657",
];

fn kind<T: std::fmt::Debug>(r: Result<T, ApiError>) -> ErrorKind {
    match r {
        Err(e) => e.kind,
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// Runs every decoder on `body`, returning the error texts (Display and Debug) it produced.
fn all_decoder_errors(body: &[u8]) -> Vec<String> {
    let dev = DeviceId::from("1");
    let mut out = Vec::new();
    let mut push = |e: Option<ApiError>| {
        if let Some(e) = e {
            out.push(format!("{e} {e:?}"));
        }
    };
    push(wire::decode_token(body).err());
    push(wire::decode_auth_factors(body).err());
    push(wire::decode_otp_devices(body).err());
    push(wire::decode_enroll(body).err());
    push(wire::decode_trigger(body, &dev).err());
    push(wire::decode_verify(body).err());
    push(wire::decode_remove(body).err());
    push(wire::decode_mfa_token(body, false).err());
    push(wire::decode_users(body).err());
    push(wire::decode_user(body).err());
    push(wire::decode_rate_limit(body).err());
    out
}

// ------------------------------------------------------------------------------------------
// Token

#[test]
fn token_success_body() {
    let grant = wire::decode_token(fixture!("token_ok.json")).unwrap();
    assert_eq!(
        grant.access_token.expose(),
        "xx508xx63817x752xx74004x30705xx92x58349x5x78f5xx34xxxxx51"
    );
    assert_eq!(grant.expires_in, Some(36000));
    assert_eq!(
        grant.created_at,
        Utc.with_ymd_and_hms(2015, 11, 11, 3, 36, 18)
            .single()
            .map(|t| t + chrono::Duration::milliseconds(714))
    );
    assert!(!format!("{grant:?}").contains("xx508"));
}

#[test]
fn token_errors_under_http_200_are_errors() {
    let err = wire::decode_token(fixture!("token_error_200.json")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert_eq!(err.message, "Authentication Failure");
    let err = wire::decode_token(fixture!("token_error_flat.json")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert_eq!(err.message, "Request Failure");
    assert_eq!(
        kind(wire::decode_token(b"{}")),
        ErrorKind::MalformedResponse
    );
    assert_eq!(
        kind(wire::decode_token(b"<html>")),
        ErrorKind::MalformedResponse
    );
    assert_eq!(
        kind(wire::decode_token(br#"{"access_token":""}"#)),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn token_in_legacy_envelope_is_accepted() {
    let grant = wire::decode_token(fixture!("token_v1_enveloped.json")).unwrap();
    assert_eq!(grant.access_token.expose(), "v1tokenv1tokenv1token");
}

// ------------------------------------------------------------------------------------------
// MFA v1

#[test]
fn auth_factors_object_and_array() {
    assert_eq!(
        wire::decode_auth_factors(fixture!("auth_factors.json")).unwrap(),
        vec![AuthFactor {
            factor_id: 16282,
            name: "OneLogin SMS".into()
        }]
    );
    let many = wire::decode_auth_factors(fixture!("auth_factors_bare_array.json")).unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(many[0].factor_id, 16282, "a numeric string id is accepted");
    assert_eq!(many[1].name, "OneLogin Voice");
}

#[test]
fn enrolled_devices_docs_sample() {
    let devices = wire::decode_otp_devices(fixture!("otp_devices.json")).unwrap();
    // The third sample entry has no id: nothing can be done with it, so it is left out.
    assert_eq!(devices.len(), 2);
    let sms = &devices[0];
    assert_eq!(sms.id, DeviceId::from(525509));
    assert!(sms.active && sms.default && sms.needs_trigger);
    assert_eq!(sms.phone_number.as_deref(), Some("+1xxxxxxxxx"));
    assert_eq!(sms.user_display_name.as_deref(), Some("Rich's Phone"));
    assert_eq!(sms.auth_factor_name, "OneLogin SMS");
    assert_eq!(devices[1].id, DeviceId::from("526532"));
    assert!(!devices[1].needs_trigger);
    assert!(
        wire::decode_otp_devices(fixture!("otp_devices_empty.json"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn protect_appears_once_per_mode_after_dedupe() {
    let devices = wire::decode_otp_devices(fixture!("otp_devices_protect_twice.json")).unwrap();
    let keys: Vec<(String, bool)> = devices
        .iter()
        .map(|d| (d.id.0.clone(), d.needs_trigger))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("526532".into(), true),
            ("526532".into(), false),
            ("777".into(), false)
        ]
    );
    assert_eq!(devices[2].user_display_name, None);
    assert_eq!(devices[2].phone_number, None);
}

#[test]
fn enroll_array_and_object() {
    let d = wire::decode_enroll(fixture!("enroll.json")).unwrap();
    assert_eq!(d.id, DeviceId::from(525509));
    assert!(!d.active && d.needs_trigger && d.default);
    assert_eq!(
        d.state_token.as_ref().map(Secret::expose),
        Some("f2402de2b446abd86ea5aa1f79b3fa72b4befacd")
    );
    assert!(!format!("{d:?}").contains("f2402de2"));
    let d = wire::decode_enroll(fixture!("enroll_object.json")).unwrap();
    assert_eq!(d.id, DeviceId::from("525510"));
    assert_eq!(d.state_token, None);
    assert_eq!(
        kind(wire::decode_enroll(fixture!("verify_success.json"))),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn trigger_reads_device_id_not_user_id() {
    let t = wire::decode_trigger(fixture!("trigger.json"), &DeviceId::from(1)).unwrap();
    assert_eq!(
        t.device_id,
        DeviceId::from(525509),
        "data[0].id is the user"
    );
    assert_eq!(
        t.state_token.expose(),
        "98e008497066bc2763c52342996e06358aab2e32"
    );
    assert_eq!(
        t.state_token_expires_at,
        Utc.with_ymd_and_hms(2019, 10, 25, 16, 29, 42).single()
    );
    assert!(t.message.contains("Authentication pending"));
    assert!(!format!("{t:?}").contains("98e0084970"));
    // Without device_id in the body, the requested device stands in.
    let body = br#"{"status":{"type":"success","code":200,"message":"sent","error":false},
                   "data":[{"state_token":"abcd1234abcd","id":35510511}]}"#;
    let t = wire::decode_trigger(body, &DeviceId::from(42)).unwrap();
    assert_eq!(t.device_id, DeviceId::from(42));
    assert_eq!(
        kind(wire::decode_trigger(
            fixture!("verify_success.json"),
            &DeviceId::from(1)
        )),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn verify_success_pending_and_enveloped_errors() {
    assert_eq!(
        wire::decode_verify(fixture!("verify_success.json")),
        Ok(VerifyOutcome::Verified)
    );
    // An empty body is not the documented success: never a pass.
    assert_eq!(kind(wire::decode_verify(b"")), ErrorKind::MalformedResponse);
    assert_eq!(
        wire::decode_verify(fixture!("verify_pending.json")),
        Ok(VerifyOutcome::Pending {
            message: "Authentication pending on OL Protect".into()
        })
    );
    for body in [
        fixture!("verify_pending_saml_v1.json"),
        fixture!("verify_pending_message_only.json"),
    ] {
        assert!(matches!(
            wire::decode_verify(body),
            Ok(VerifyOutcome::Pending { .. })
        ));
    }
    // A "pending" message under type success still means pending.
    let body =
        br#"{"status":{"type":"success","code":200,"message":"Push PENDING","error":false}}"#;
    assert!(matches!(
        wire::decode_verify(body),
        Ok(VerifyOutcome::Pending { .. })
    ));
    // Error envelopes that arrive with a 2xx are still errors, classified for verify.
    assert_eq!(
        kind(wire::decode_verify(fixture!("verify_wrong_code_401.json"))),
        ErrorKind::WrongCode
    );
    assert_eq!(
        kind(wire::decode_verify(fixture!("verify_denied_401.json"))),
        ErrorKind::PushDenied
    );
    assert_eq!(
        kind(wire::decode_verify(fixture!("verify_expired_400.json"))),
        ErrorKind::ExpiredStateToken
    );
    assert_eq!(
        kind(wire::decode_verify(b"[1,2]")),
        ErrorKind::MalformedResponse
    );
    assert_eq!(
        kind(wire::decode_verify(b"nope")),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn remove_accepts_empty_object_and_any_body() {
    assert_eq!(wire::decode_remove(fixture!("remove_ok.json")), Ok(()));
    assert_eq!(wire::decode_remove(b""), Ok(()));
    assert_eq!(wire::decode_remove(b"OK"), Ok(()));
    assert_eq!(
        kind(wire::decode_remove(fixture!("remove_400.json"))),
        ErrorKind::BadRequest
    );
}

#[test]
fn mfa_token_bare_typo_and_enveloped() {
    let t = wire::decode_mfa_token(fixture!("mfa_token.json"), false).unwrap();
    assert_eq!(t.mfa_token.expose(), "55647655");
    assert!(t.reusable);
    assert_eq!(
        t.expires_at,
        Utc.with_ymd_and_hms(2019, 1, 16, 22, 16, 38).single()
    );
    let t = wire::decode_mfa_token(fixture!("mfa_token_resuable.json"), false).unwrap();
    assert_eq!(
        t.mfa_token.expose(),
        "55647656",
        "a numeric token is kept as text"
    );
    assert!(t.reusable, "read from the `resuable` spelling");
    let t = wire::decode_mfa_token(fixture!("mfa_token_enveloped.json"), true).unwrap();
    assert_eq!(t.mfa_token.expose(), "55647657");
    assert!(!t.reusable);
    let t = wire::decode_mfa_token(br#"{"mfa_token":"1234"}"#, true).unwrap();
    assert!(
        t.reusable,
        "the requested flag stands in when the body omits it"
    );
    assert_eq!(t.expires_at, None);
    assert!(!format!("{t:?}").contains("1234"));
    assert_eq!(
        kind(wire::decode_mfa_token(
            fixture!("verify_success.json"),
            false
        )),
        ErrorKind::MalformedResponse
    );
}

// ------------------------------------------------------------------------------------------
// Users and rate limit

#[test]
fn user_docs_sample() {
    let u = wire::decode_user(fixture!("user.json")).unwrap();
    assert_eq!(u.id, 36216766);
    assert_eq!(u.username.as_deref(), Some("kellyslater"));
    assert_eq!(u.email.as_deref(), Some("kelly+preprod@onelogin.com"));
    assert_eq!(u.display_name(), "Kelly Slater");
    assert_eq!(u.status, Some(3));
    assert_eq!(u.status().label(), "Locked");
    assert_eq!(u.state, Some(1));
    assert_eq!(u.phone.as_deref(), Some("+64272001122"));
    assert_eq!(u.title.as_deref(), Some("Surfer"));
    assert_eq!(u.department.as_deref(), Some("Waves"));
    assert_eq!(u.invalid_login_attempts, Some(0));
    let locked = Utc
        .with_ymd_and_hms(2020, 7, 8, 21, 59, 56)
        .single()
        .map(|t| t + chrono::Duration::milliseconds(811));
    assert_eq!(u.locked_until, locked);
    assert!(u.last_login.is_some());
    // Enveloped and one-element-array forms are accepted too.
    let enveloped = format!(
        r#"{{"status":{{"error":false,"code":200,"type":"success","message":"Success"}},"data":[{}]}}"#,
        String::from_utf8_lossy(fixture!("user.json"))
    );
    assert_eq!(
        wire::decode_user(enveloped.as_bytes()).unwrap().id,
        36216766
    );
    assert_eq!(
        kind(wire::decode_user(br#"{"username":"x"}"#)),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn users_tolerate_nulls_types_and_unknown_fields() {
    let users = wire::decode_users(fixture!("users.json")).unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(users[1].id, 36216767, "a string id is accepted");
    assert_eq!(users[1].username, None);
    assert_eq!(users[1].last_login, None);
    assert_eq!(users[1].status().label(), "Suspended");
    assert_eq!(users[2].display_name(), "ghost");
    assert!(
        wire::decode_users(fixture!("users_empty.json"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        kind(wire::decode_users(b"<html>oops</html>")),
        ErrorKind::MalformedResponse
    );
    assert_eq!(
        kind(wire::decode_users(b"[{\"id\":null}]")),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn rate_limit_body() {
    assert_eq!(
        wire::decode_rate_limit(fixture!("rate_limit.json")),
        Ok(RateLimit {
            limit: Some(5000),
            remaining: Some(4988),
            reset_secs: Some(832)
        })
    );
    assert_eq!(
        kind(wire::decode_rate_limit(fixture!("verify_success.json"))),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn times_in_several_iso_forms() {
    let expect = Utc.with_ymd_and_hms(2019, 1, 16, 22, 16, 38).single();
    for s in [
        "2019-01-16T22:16:38Z",
        "2019-01-16T22:16:38.000Z",
        "2019-01-16T23:16:38+01:00",
        "2019-01-16T22:16:38",
        "2019-01-16 22:16:38 UTC",
    ] {
        assert_eq!(wire::parse_time(s), expect, "{s}");
    }
    assert_eq!(wire::parse_time("yesterday"), None);
}

// ------------------------------------------------------------------------------------------
// Error bodies

#[test]
fn error_messages_from_every_shape() {
    let cases: &[(&[u8], &str)] = &[
        (
            fixture!("auth_factors_400.json"),
            "Authorization Information is incorrect",
        ),
        (
            fixture!("auth_factors_404_user.json"),
            "User for id 123456789 was not found",
        ),
        (fixture!("remove_400.json"), "Factor could not be found"),
        (
            fixture!("insufficient_permission_401.json"),
            "Insufficient Permission",
        ),
        (
            fixture!("user_404_v2.json"),
            "The resource with the given id could not be found",
        ),
        (fixture!("user_401_v2.json"), "Unauthorized"),
        (fixture!("token_error_flat.json"), "Request Failure"),
        (
            fixture!("error_status_message_object.json"),
            "last is not a valid attribute for user model",
        ),
        (
            fixture!("error_flat_validation.json"),
            "Validation Failed: enabled: Required field is missing",
        ),
        (fixture!("error_v2_validation.json"), "Validations failed"),
        (
            fixture!("error_v2_unprocessable.json"),
            "Validation failed: Phone is invalid",
        ),
        (
            fixture!("error_v2_field.json"),
            "Invalid sort field: created_at",
        ),
        (
            fixture!("error_messages_array.json"),
            "Phone number is invalid; Display name is required",
        ),
        (fixture!("error_name_only.json"), "ForbiddenAction"),
        (
            br#"{"error":"invalid_client","error_description":"Bad client"}"#,
            "Bad client",
        ),
        (b"Service Unavailable", "Service Unavailable"),
        (
            b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head></html>",
            "503 Service Temporarily Unavailable",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            wire::error_message(body).as_deref(),
            Some(*expected),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(wire::error_message(b""), None);
    assert_eq!(wire::error_message(b"   "), None);
}

#[test]
fn raw_bodies_are_truncated_on_a_char_boundary() {
    let body = "é".repeat(500);
    let msg = wire::error_message(body.as_bytes()).unwrap();
    assert_eq!(msg.chars().count(), 201);
    assert!(msg.ends_with('…'));
    let html = format!("<html><body>{}</body></html>\n\x1b[31m", "x".repeat(1000));
    let msg = wire::error_message(html.as_bytes()).unwrap();
    assert!(msg.chars().count() <= 201);
    assert!(!msg.contains('\x1b'), "control characters are removed");
}

#[test]
fn classification_per_endpoint() {
    use Endpoint::*;
    let c = |e, s, m: &str| wire::classify(e, s, m, Some(9));
    assert_eq!(
        c(Remove, 401, "Insufficient Permission"),
        ErrorKind::InsufficientPermission
    );
    assert_eq!(
        c(Verify, 401, "Insufficient Permission"),
        ErrorKind::InsufficientPermission
    );
    assert_eq!(
        c(OtpDevices, 401, "Authentication Failure"),
        ErrorKind::Unauthorized
    );
    assert_eq!(
        c(Verify, 401, "Failed authentication with this factor"),
        ErrorKind::WrongCode
    );
    assert_eq!(
        c(Verify, 401, "Push notification was denied"),
        ErrorKind::PushDenied
    );
    assert_eq!(
        c(Verify, 401, "Authentication Failure"),
        ErrorKind::Unauthorized
    );
    assert_eq!(
        c(Trigger, 401, "Failed authentication with this factor"),
        ErrorKind::Unauthorized,
        "WrongCode only on verify"
    );
    assert_eq!(
        c(Verify, 400, "State token has expired"),
        ErrorKind::ExpiredStateToken
    );
    assert_eq!(
        c(Verify, 400, "Invalid state token"),
        ErrorKind::ExpiredStateToken
    );
    assert_eq!(c(Verify, 400, "User does not exist"), ErrorKind::BadRequest);
    assert_eq!(
        c(Trigger, 400, "Invalid state token"),
        ErrorKind::BadRequest
    );
    assert_eq!(c(Users, 422, "Validations failed"), ErrorKind::BadRequest);
    assert_eq!(c(User, 404, "not found"), ErrorKind::NotFound);
    assert_eq!(
        c(Users, 403, "ForbiddenAction"),
        ErrorKind::InsufficientPermission
    );
    assert_eq!(
        c(Users, 429, ""),
        ErrorKind::RateLimited {
            reset_secs: Some(9)
        }
    );
    assert_eq!(c(Users, 500, ""), ErrorKind::Server);
    assert_eq!(c(Users, 503, ""), ErrorKind::Server);
    assert_eq!(c(Users, 302, ""), ErrorKind::MalformedResponse);
}

#[test]
fn missing_route_is_told_apart_from_missing_user() {
    assert!(wire::is_missing_route("No Route Exists"));
    assert!(wire::is_missing_route("Not Found"));
    assert!(!wire::is_missing_route(
        "User for id 123456789 was not found"
    ));
}

// ------------------------------------------------------------------------------------------
// Base URLs

#[test]
fn base_urls_accepted() {
    let ok = |input: &str, expected: &str| {
        assert_eq!(parse_base_url(input).as_deref(), Ok(expected), "{input}");
    };
    ok("acme", "https://acme.onelogin.com");
    ok("  ACME-corp ", "https://acme-corp.onelogin.com");
    ok("https://acme.onelogin.com", "https://acme.onelogin.com");
    ok("https://acme.onelogin.com/", "https://acme.onelogin.com");
    ok(
        "https://api.us.onelogin.com/api/1/users?x=1#f",
        "https://api.us.onelogin.com",
    );
    ok("HTTPS://Api.EU.OneLogin.com", "https://api.eu.onelogin.com");
    ok("acme.onelogin.com", "https://acme.onelogin.com");
    ok(
        "https://acme.onelogin.com:8443/",
        "https://acme.onelogin.com:8443",
    );
    ok("http://127.0.0.1:8080", "http://127.0.0.1:8080");
    ok("http://127.1.2.3:9", "http://127.1.2.3:9");
    ok("http://localhost:3000/", "http://localhost:3000");
    ok("http://[::1]:3000", "http://[::1]:3000");
}

#[test]
fn base_urls_rejected_with_config_errors() {
    for input in [
        "",
        "   ",
        "http://acme.onelogin.com",
        "http://10.0.0.1",
        "http://128.0.0.1",
        "ftp://acme.onelogin.com",
        "https://",
        "acme corp",
        "-acme",
        "acme_corp",
        "https://admin:hunter2@acme.onelogin.com",
        "mailto:someone@example.com",
    ] {
        match parse_base_url(input) {
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::Config, "{input}");
                assert!(!e.message.is_empty());
                assert!(!e.to_string().contains("hunter2"), "{e}");
            }
            Ok(url) => panic!("{input:?} should be rejected, got {url}"),
        }
    }
    let e = parse_base_url("http://acme.onelogin.com").unwrap_err();
    assert!(e.message.contains("https"), "{}", e.message);
}

// ------------------------------------------------------------------------------------------
// Secrets

#[test]
fn no_secret_in_config_client_or_decoder_errors() {
    let creds = Credentials {
        client_id: "client-id-1".into(),
        client_secret: Secret::new("top-secret-value"),
    };
    let config = ClientConfig::new("acme", creds.clone());
    let client = Client::new(config.clone()).unwrap();
    for text in [
        format!("{creds:?}"),
        format!("{config:?}"),
        format!("{client:?}"),
    ] {
        assert!(!text.contains("top-secret-value"), "{text}");
    }
    assert_eq!(client.base_url(), "https://acme.onelogin.com");
    assert_eq!(client.rate_limit(), None);
    for (name, body) in ALL_FIXTURES {
        for text in all_decoder_errors(body) {
            for secret in FIXTURE_SECRETS {
                assert!(!text.contains(secret), "{name}: {text}");
            }
        }
    }
}

#[test]
fn client_rejects_bad_base_url() {
    let creds = Credentials {
        client_id: "id".into(),
        client_secret: Secret::new("s"),
    };
    let err = Client::new(ClientConfig::new("http://example.com", creds)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
}

// ------------------------------------------------------------------------------------------
// Properties

/// Arbitrary JSON values, to reach deeper into the decoders than random bytes do.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9 _-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("pending"),
            Just("Success"),
            Just("2019-01-16T22:16:38Z")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    let keys = prop_oneof![
        Just("status".to_owned()),
        Just("data".to_owned()),
        Just("message".to_owned()),
        Just("id".to_owned()),
        Just("device_id".to_owned()),
        Just("state_token".to_owned()),
        Just("access_token".to_owned()),
        Just("mfa_token".to_owned()),
        Just("otp_devices".to_owned()),
        Just("auth_factors".to_owned()),
        Just("factor_id".to_owned()),
        Just("errors".to_owned()),
        Just("code".to_owned()),
        Just("type".to_owned()),
        Just("error".to_owned()),
        Just("X-RateLimit-Limit".to_owned()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn decoders_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = all_decoder_errors(&body);
        let _ = wire::error_message(&body);
    }

    #[test]
    fn decoders_never_panic_on_json(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap_or_default();
        let _ = all_decoder_errors(&body);
        let _ = wire::error_message(&body);
    }

    #[test]
    fn parse_base_url_never_panics(input in any::<String>()) {
        let _ = parse_base_url(&input);
    }

    #[test]
    fn parsed_base_urls_are_stable_and_safe(
        input in prop_oneof![
            "[a-zA-Z0-9-]{1,20}",
            "(http|https|ftp)://[a-z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-z]{0,5})?",
            "http://127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(:[0-9]{1,5})?",
        ]
    ) {
        if let Ok(url) = parse_base_url(&input) {
            prop_assert_eq!(parse_base_url(&url), Ok(url.clone()));
            prop_assert!(url.starts_with("https://") || url.starts_with("http://127.")
                || url.starts_with("http://localhost") || url.starts_with("http://[::1]"));
            prop_assert!(!url.ends_with('/'));
        }
    }
}

/// The console's worker may spawn these futures on a multi-threaded runtime.
#[test]
fn client_and_its_futures_are_send_and_sync() {
    fn send<T: Send>(_: &T) {}
    fn send_sync_static<T: Send + Sync + 'static>(_: &T) {}
    let client = Client::new(ClientConfig::new(
        "acme",
        Credentials {
            client_id: "id".into(),
            client_secret: Secret::new("s"),
        },
    ))
    .unwrap();
    send_sync_static(&client);
    let d = DeviceId::from(1);
    let s = Secret::new("x");
    let q = mfadesk::api::UserQuery::default();
    send(&client.get_mfa_factors(1));
    send(&client.get_enrolled_factors(1));
    send(&client.enroll_mfa_factor(1, 1, "n", "+1", false));
    send(&client.activate_mfa_factors(1, &d, None, None, None));
    send(&client.verify_mfa_factor(1, &d, Some(&s), Some(&s)));
    send(&client.remove_mfa_factors(1, &d));
    send(&client.generate_mfa_token(1, None, false));
    send(&client.search_users(&q));
    send(&client.search_users_all(&q, 2));
    send(&client.get_user(1));
    send(&client.get_rate_limit());
}
