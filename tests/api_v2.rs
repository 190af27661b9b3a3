//! The MFA API v2 client: the spec's sample bodies in array and object forms, what goes on the
//! wire (to a scripted loopback server), every call against the demo tenant, and `auto`.

mod api_support;

use std::sync::{Arc, Mutex};

use api_support::{CARISSA, KELLY, KELLY_AUTH, KELLY_SMS, Sim, dev, err};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mfadesk::api::{
    ApiError, Client, ClientConfig, Credentials, DeviceId, Enrollment, ErrorKind, MfaApiChoice,
    MfaVersion, RegistrationRequest, Secret, V2Status, VerifyOutcome, wire_v2,
};
use mfadesk::sim::{
    DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET, DEMO_MANAGE_CLIENT_ID,
    DEMO_MANAGE_CLIENT_SECRET, FactorKind, RegistrationStatus,
};
use mfadesk::worker::{ApiRequest, ApiResponse, execute};
use serde_json::Value;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("fixtures/v2/", $name)).as_slice()
    };
}

const PROTECT: i64 = 16284;
const AUTHENTICATOR: i64 = 16285;
const EMAIL: i64 = 16287;

// ---------------------------------------------------------------------------------------------
// The spec's sample bodies (§6), as arrays and as single objects (§7.14).

#[test]
fn factors_decode_from_an_array_or_one_object() {
    let list = wire_v2::decode_factors(fixture!("factors.json")).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].factor_id, list[0].name.as_str()),
        (58958, "OneLogin Protect")
    );
    assert_eq!(list[1].factor_id, 58959, "a factor id sent as a string");
    let one = wire_v2::decode_factors(fixture!("factors_object.json")).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].factor_id, 58958);
}

#[test]
fn a_registration_keeps_its_secrets_out_of_debug() {
    let r = wire_v2::decode_registration(fixture!("registration.json")).unwrap();
    assert_eq!(r.id, "ba4c2c9e-0f7b-4c0a-8b1a-1c3d2e4f5a6b");
    assert_eq!(r.status, V2Status::Pending);
    let uri = r.totp_url.as_ref().expect("totp_url").expose().to_owned();
    assert!(uri.starts_with("otpauth://totp/"));
    assert_eq!(
        r.verification_token.as_ref().map(Secret::expose),
        Some("vt-7f1d2c")
    );
    let debug = format!("{r:?}");
    assert!(
        !debug.contains("JBSWY3DPEHPK3PXP"),
        "seed in Debug: {debug}"
    );
    assert!(
        !debug.contains("vt-7f1d2c"),
        "verification token in Debug: {debug}"
    );
}

#[test]
fn a_verified_registration_decodes_from_an_array_or_an_object() {
    for body in [
        fixture!("registration_verified.json"),
        fixture!("registration_verified_object.json"),
    ] {
        let r = wire_v2::decode_registration(body).unwrap();
        assert_eq!(r.status, V2Status::Accepted);
        assert_eq!(
            r.device_id,
            Some(DeviceId::from("3919988")),
            "number or string"
        );
    }
}

#[test]
fn devices_decode_with_string_or_number_ids_and_trigger_by_factor() {
    let d = wire_v2::decode_devices(fixture!("devices.json")).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].id, DeviceId::from("3920360"));
    assert!(d[0].default && d[0].needs_trigger, "SMS is triggered");
    assert_eq!(d[1].id, DeviceId::from("3920361"));
    assert!(!d[1].needs_trigger, "an authenticator is not");
    assert!(d.iter().all(|x| x.active), "v2 lists enrolled devices");
}

#[test]
fn a_verification_decodes_from_an_array_or_an_object() {
    for body in [
        fixture!("verification.json"),
        fixture!("verification_object.json"),
    ] {
        let v = wire_v2::decode_verification(body).unwrap();
        assert_eq!(v.id.expose(), "6dbb0ae2-8ad1-4b2b-a3c5-8c0a9d1c2e3f");
        assert_eq!(v.device_id, Some(DeviceId::from("3920371")));
        assert!(v.expires_at.is_some());
        assert!(
            !format!("{v:?}").contains("6dbb0ae2"),
            "the id is a handle: not in Debug"
        );
    }
}

#[test]
fn checks_and_polls_map_to_outcomes() {
    assert_eq!(
        wire_v2::decode_check(fixture!("verify_success.json")).unwrap(),
        VerifyOutcome::Verified
    );
    assert!(matches!(
        wire_v2::decode_check(fixture!("poll_pending.json")).unwrap(),
        VerifyOutcome::Pending { .. }
    ));
    assert_eq!(
        wire_v2::decode_check(fixture!("poll_accepted_object.json")).unwrap(),
        VerifyOutcome::Verified
    );
    let denied = wire_v2::decode_check(fixture!("poll_rejected.json")).unwrap_err();
    assert_eq!(denied.kind, ErrorKind::PushDenied);
}

// ---------------------------------------------------------------------------------------------
// A scripted tenant on loopback: what the client sends, and the documented errors.

#[derive(Clone, Default)]
struct Script {
    seen: Arc<Mutex<Vec<(String, String, Value)>>>,
}

impl Script {
    fn body_for(&self, method: &str, path: &str) -> Option<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .rfind(|(m, p, _)| m == method && p == path)
            .map(|(_, _, b)| b.clone())
    }
}

/// Answers by method and path from the fixtures; the token endpoint always grants.
async fn scripted(script: Script, req: Request) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let body: Bytes = axum::body::to_bytes(req.into_body(), 1 << 16)
        .await
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script
        .seen
        .lock()
        .unwrap()
        .push((method.clone(), path.clone(), json));
    let base = "/api/2/mfa/users/7";
    let (status, body): (u16, &[u8]) = match (method.as_str(), path.strip_prefix(base)) {
        ("POST", None) if path == "/auth/oauth2/v2/token" => (
            200,
            br#"{"access_token":"scripted-token-1234","created_at":"2026-01-01T00:00:00Z","expires_in":36000}"#,
        ),
        ("PUT", Some("/registrations/reg-object")) => (200, fixture!("registration_verified_object.json")),
        ("PUT", Some("/registrations/reg-wrong")) => (401, fixture!("error_401_invalid_credentials.json")),
        ("POST", Some("/verifications")) => (201, fixture!("verification_object.json")),
        ("PUT", Some("/verifications/used")) => (403, fixture!("error_403_forbidden_action.json")),
        ("GET", Some("/verifications/gone")) => (404, fixture!("error_404_not_found.json")),
        ("POST", Some("/mfa_token")) => (422, fixture!("error_422_validation.json")),
        ("DELETE", Some("/devices/3920360")) => (204, b""),
        _ => (404, fixture!("error_404_not_found.json")),
    };
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_vec(),
    )
        .into_response()
}

async fn scripted_client() -> (Client, Script, tokio::task::JoinHandle<()>) {
    let script = Script::default();
    let s = script.clone();
    let app = Router::new().fallback(move |req: Request| scripted(s.clone(), req));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut config = ClientConfig::new(
        format!("http://{addr}"),
        Credentials {
            client_id: "scripted".into(),
            client_secret: Secret::new("scripted-secret"),
        },
    );
    config.retry = mfadesk::api::RetryPolicy::none();
    (Client::new(config).unwrap(), script, task)
}

#[tokio::test]
async fn the_first_code_goes_as_a_string_and_an_object_answer_is_accepted() {
    let (client, script, _task) = scripted_client().await;
    let r = client
        .verify_user_registration(7, "reg-object", &Secret::new("012345"))
        .await
        .unwrap();
    assert_eq!(r.status, V2Status::Accepted);
    assert_eq!(r.device_id, Some(DeviceId::from("3919988")));
    let sent = script
        .body_for("PUT", "/api/2/mfa/users/7/registrations/reg-object")
        .unwrap();
    assert_eq!(
        sent["otp"],
        Value::from("012345"),
        "leading zero kept: a string"
    );
}

#[tokio::test]
async fn a_verification_sends_the_device_id_as_a_number() {
    let (client, script, _task) = scripted_client().await;
    let v = client
        .create_device_verification(7, &DeviceId::from("3920371"), Some(300), None)
        .await
        .unwrap();
    assert_eq!(v.device_id, Some(DeviceId::from("3920371")));
    let sent = script
        .body_for("POST", "/api/2/mfa/users/7/verifications")
        .unwrap();
    assert_eq!(sent["device_id"], Value::from(3920371));
    assert_eq!(sent["expires_in"], Value::from(300));
}

#[tokio::test]
async fn documented_v2_errors_keep_status_and_message() {
    let (client, _script, _task) = scripted_client().await;
    let wrong = err(client
        .verify_user_registration(7, "reg-wrong", &Secret::new("999999"))
        .await);
    assert_eq!(
        (wrong.kind.clone(), wrong.status),
        (ErrorKind::WrongCode, Some(401))
    );
    assert_eq!(wrong.message, "Invalid OTP code");

    let used = err(client
        .verify_user_verification(7, Some(&Secret::new("used")), &Secret::new("123456"), None)
        .await);
    assert_eq!(
        (used.kind.clone(), used.status),
        (ErrorKind::ExpiredStateToken, Some(403))
    );

    let gone = err(client.get_user_verification(7, &Secret::new("gone")).await);
    assert_eq!(
        (gone.kind.clone(), gone.status),
        (ErrorKind::ExpiredStateToken, Some(404))
    );

    let invalid = err(client.generate_otp(7, Some(0), false).await);
    assert_eq!(
        (invalid.kind.clone(), invalid.status),
        (ErrorKind::BadRequest, Some(422))
    );
    assert!(
        invalid.message.contains("Validations failed"),
        "{}",
        invalid.message
    );

    client
        .delete_enrolled_factor(7, &DeviceId::from("3920360"))
        .await
        .expect("204 No Content is success");
}

// ---------------------------------------------------------------------------------------------
// Every call against the demo tenant.

fn admin(sim: &Sim) -> Client {
    Client::new(sim.config(DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET)).unwrap()
}

#[tokio::test]
async fn every_v2_call_against_the_demo_tenant() {
    let sim = Sim::start().await;
    let c = admin(&sim);

    let factors = c.get_auth_factors(CARISSA).await.unwrap();
    let ids: Vec<i64> = factors.iter().map(|f| f.factor_id).collect();
    for id in [PROTECT, AUTHENTICATOR, EMAIL] {
        assert!(ids.contains(&id), "factor {id} offered: {factors:?}");
    }

    // Authenticator: registration with a seed, first code, device listed by v2 and v1.
    let reg = c
        .create_factor_registration(
            CARISSA,
            &RegistrationRequest {
                factor_id: AUTHENTICATOR,
                display_name: "Pixel".into(),
                ..RegistrationRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(reg.status, V2Status::Pending);
    assert!(reg.totp_url.is_some());
    let polled = c.get_user_registration(CARISSA, &reg.id).await.unwrap();
    assert_eq!(polled.status, V2Status::Pending);
    let code = sim
        .ctl
        .registrations()
        .into_iter()
        .find(|r| r.id == reg.id)
        .and_then(|r| r.code)
        .unwrap();
    let done = c
        .verify_user_registration(CARISSA, &reg.id, &Secret::new(code))
        .await
        .unwrap();
    assert_eq!(done.status, V2Status::Accepted);
    let device = done.device_id.expect("device id");
    let v2_devices = c.get_authentication_devices(CARISSA).await.unwrap();
    assert!(v2_devices.iter().any(|d| d.id == device));
    let v1_devices = c.get_enrolled_factors(CARISSA).await.unwrap();
    assert!(
        v1_devices.iter().any(|d| d.id == device),
        "v1 lists the v2 device"
    );

    // Check the authenticator without activation (POST verifications with otp).
    let now_code = sim.ctl.totp_code(device.as_i64().unwrap()).unwrap();
    assert_eq!(
        c.verify_user_verification(CARISSA, None, &Secret::new(now_code), Some(&device))
            .await
            .unwrap(),
        VerifyOutcome::Verified
    );

    // SMS verification on a v1-enrolled device: sent, wrong code, right code.
    let v = c
        .create_device_verification(KELLY, &dev(KELLY_SMS), None, None)
        .await
        .unwrap();
    let wrong = err(c
        .verify_user_verification(KELLY, Some(&v.id), &Secret::new("nope00"), None)
        .await);
    assert_eq!(wrong.kind, ErrorKind::WrongCode);
    let sent = sim.ctl.last_code_for(KELLY_SMS).unwrap();
    assert_eq!(
        c.verify_user_verification(KELLY, Some(&v.id), &Secret::new(sent), None)
            .await
            .unwrap(),
        VerifyOutcome::Verified
    );
    let again = err(c
        .verify_user_verification(KELLY, Some(&v.id), &Secret::new("x"), None)
        .await);
    assert_eq!(again.status, Some(403), "a used verification is refused");

    // Protect push: pending, approved on the demo phone by the verification's id.
    let steph = api_support::STEPH;
    let push = c
        .create_device_verification(steph, &dev(api_support::STEPH_PROTECT), None, None)
        .await
        .unwrap();
    assert!(matches!(
        c.get_user_verification(steph, &push.id).await.unwrap(),
        VerifyOutcome::Pending { .. }
    ));
    let listed = sim.ctl.pushes();
    assert!(
        listed.iter().any(|p| p.id == push.id.expose()),
        "in /_sim/pushes by id"
    );
    assert!(sim.ctl.approve_push(push.id.expose()));
    assert_eq!(
        c.get_user_verification(steph, &push.id).await.unwrap(),
        VerifyOutcome::Verified
    );

    // Temporary token and removal.
    let token = c.generate_otp(KELLY, Some(600), false).await.unwrap();
    assert!(!token.mfa_token.is_empty());
    c.delete_enrolled_factor(KELLY, &dev(KELLY_AUTH))
        .await
        .unwrap();
    assert!(sim.ctl.devices(KELLY).iter().all(|d| d.id != KELLY_AUTH));
    let missing = err(c.delete_enrolled_factor(KELLY, &dev(KELLY_AUTH)).await);
    assert_eq!(
        (missing.kind, missing.status),
        (ErrorKind::NotFound, Some(404))
    );
}

#[tokio::test]
async fn protect_registration_is_accepted_or_denied_by_the_app_and_expires() {
    let sim = Sim::start().await;
    let c = admin(&sim);
    let req = RegistrationRequest {
        factor_id: PROTECT,
        display_name: "iPhone".into(),
        expires_in: Some(120),
        ..RegistrationRequest::default()
    };
    let reg = c.create_factor_registration(CARISSA, &req).await.unwrap();
    assert!(sim.ctl.deny_registration(&reg.id));
    assert_eq!(
        c.get_user_registration(CARISSA, &reg.id)
            .await
            .unwrap()
            .status,
        V2Status::Rejected
    );
    let reg = c.create_factor_registration(CARISSA, &req).await.unwrap();
    sim.ctl.advance_clock(121);
    let gone = err(c.get_user_registration(CARISSA, &reg.id).await);
    assert_eq!(gone.status, Some(404), "an expired registration is gone");
    assert!(!sim.ctl.accept_registration(&reg.id), "too late to accept");
    let reg = c.create_factor_registration(CARISSA, &req).await.unwrap();
    assert!(sim.ctl.accept_registration(&reg.id));
    let done = c.get_user_registration(CARISSA, &reg.id).await.unwrap();
    assert_eq!(done.status, V2Status::Accepted);
    assert!(
        sim.ctl
            .registrations()
            .iter()
            .any(|r| r.id == reg.id && r.status == RegistrationStatus::Accepted)
    );
    assert!(
        sim.ctl
            .devices(CARISSA)
            .iter()
            .any(|d| d.kind == FactorKind::Protect)
    );
}

#[tokio::test]
async fn registration_errors_use_the_v2_shapes() {
    let sim = Sim::start().await;
    let c = admin(&sim);
    let bad_expiry = err(c
        .create_factor_registration(
            CARISSA,
            &RegistrationRequest {
                factor_id: EMAIL,
                display_name: "Mail".into(),
                expires_in: Some(60),
                ..RegistrationRequest::default()
            },
        )
        .await);
    assert_eq!(
        (bad_expiry.kind, bad_expiry.status),
        (ErrorKind::BadRequest, Some(422))
    );
    let preverified_app = err(c
        .create_factor_registration(
            CARISSA,
            &RegistrationRequest {
                factor_id: AUTHENTICATOR,
                display_name: "Pixel".into(),
                verified: Some(true),
                ..RegistrationRequest::default()
            },
        )
        .await);
    assert_eq!(preverified_app.status, Some(400));
    assert!(
        preverified_app.message.contains("verified"),
        "{}",
        preverified_app.message
    );
    let no_user = err(c.get_auth_factors(999).await);
    assert_eq!(
        (no_user.kind, no_user.status),
        (ErrorKind::NotFound, Some(404))
    );
}

#[tokio::test]
async fn demo_manage_is_refused_v2_with_insufficient_permission() {
    let sim = Sim::start().await;
    let e: ApiError = err(sim.manage().get_auth_factors(KELLY).await);
    assert_eq!(
        (e.kind, e.status),
        (ErrorKind::InsufficientPermission, Some(401))
    );
    assert_eq!(e.message, "Insufficient Permission");
}

#[tokio::test]
async fn auto_settles_on_v2_with_demo_admin_and_v1_with_demo_manage() {
    let sim = Sim::start().await;
    let c = admin(&sim);
    assert_eq!(c.mfa_api(), MfaApiChoice::Auto);
    assert_eq!(c.mfa_version(), None, "nothing asked yet");
    let ApiResponse::Factors(Ok(f)) = execute(&c, ApiRequest::GetFactors(CARISSA)).await else {
        panic!("factors");
    };
    assert!(f.iter().any(|x| x.factor_id == EMAIL), "v2's list");
    assert_eq!(c.mfa_version(), Some(MfaVersion::V2));

    let m = Client::new(sim.config(DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET)).unwrap();
    let ApiResponse::Factors(Ok(f)) = execute(&m, ApiRequest::GetFactors(CARISSA)).await else {
        panic!("factors");
    };
    assert!(f.iter().all(|x| x.factor_id != EMAIL), "v1's list");
    assert_eq!(
        m.mfa_version(),
        Some(MfaVersion::V1),
        "settled for the session"
    );

    // An enroll through the one seam gives a registration on v2, a device on v1.
    let enroll = |number: &str| ApiRequest::Enroll {
        user_id: CARISSA,
        factor_id: api_support::SMS_FACTOR,
        display_name: "Phone".into(),
        number: number.into(),
        verified: true,
    };
    let ApiResponse::Enrolled(Ok(Enrollment::Device(d))) =
        execute(&m, enroll("+14155550199")).await
    else {
        panic!("v1 enroll gives a device");
    };
    assert!(d.active);
}

#[tokio::test]
async fn a_bad_secret_does_not_pass_for_a_missing_scope() {
    let sim = Sim::start().await;
    let c = Client::new(sim.config(DEMO_ADMIN_CLIENT_ID, "wrong-secret")).unwrap();
    let ApiResponse::Devices(Err(e)) = execute(&c, ApiRequest::GetDevices(KELLY)).await else {
        panic!("the token fails");
    };
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(c.mfa_version(), None, "auto has not settled on anything");
}
