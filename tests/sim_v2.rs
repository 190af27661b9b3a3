//! The demo tenant's MFA v2 routes over raw HTTP: shapes, status codes, scopes, the demo-only
//! registration and push routes, the email outbox, and the singular `auth_factor` path.

mod sim_support;

use serde_json::{Value, json};
use sim_support::{Sim, parts};

use mfadesk::sim::{DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET};

const KELLY: i64 = 36216766;
const CARISSA: i64 = 36216769;
const STEPH: i64 = 36216767;
const STEPH_PROTECT: i64 = 525503;
const PROTECT: i64 = 16284;
const AUTHENTICATOR: i64 = 16285;
const EMAIL: i64 = 16287;

async fn admin(sim: &Sim) -> String {
    sim.token_for(DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET)
        .await
}

async fn put(sim: &Sim, token: &str, path: &str, body: Value) -> reqwest::Response {
    sim.http
        .put(sim.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn demo(sim: &Sim, method: &str, path: &str) -> (u16, Value) {
    let req = if method == "GET" {
        sim.http.get(sim.url(path))
    } else {
        sim.http.post(sim.url(path))
    };
    parts(req.send().await.unwrap()).await
}

#[tokio::test]
async fn demo_manage_is_answered_401_insufficient_permission_on_v2() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let (status, v) = parts(
        sim.get(&t, &format!("/api/2/mfa/users/{KELLY}/factors"))
            .await,
    )
    .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["message"], "Insufficient Permission");
    assert_eq!(v["statusCode"], 401);
    // The same credential still works on v1.
    let (status, _) = parts(
        sim.get(&t, &format!("/api/1/users/{KELLY}/otp_devices"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn factors_and_devices_are_bare_arrays_with_string_ids() {
    let sim = Sim::start().await;
    let t = admin(&sim).await;
    let (status, v) = parts(
        sim.get(&t, &format!("/api/2/mfa/users/{KELLY}/factors"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        names.contains(&"OneLogin Protect") && names.contains(&"OneLogin Email"),
        "{v}"
    );
    assert!(
        !names.contains(&"OneLogin SMS"),
        "Kelly has SMS already: {v}"
    );
    let (_, v) = parts(
        sim.get(&t, &format!("/api/2/mfa/users/{KELLY}/devices"))
            .await,
    )
    .await;
    let first = &v[0];
    assert!(first["device_id"].is_string(), "{v}");
    assert_eq!(first["auth_factor_name"], "SMS");
}

#[tokio::test]
async fn the_singular_auth_factor_path_answers_like_the_plural() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let plural = parts(
        sim.get(&t, &format!("/api/1/users/{KELLY}/auth_factors"))
            .await,
    )
    .await;
    let singular = parts(
        sim.get(&t, &format!("/api/1/users/{KELLY}/auth_factor"))
            .await,
    )
    .await;
    assert_eq!(plural, singular);
    assert_eq!(singular.0, 200);
}

#[tokio::test]
async fn an_authenticator_registration_lists_its_current_code_and_accepts_it() {
    let sim = Sim::start().await;
    let t = admin(&sim).await;
    let path = format!("/api/2/mfa/users/{CARISSA}/registrations");
    let (status, reg) = parts(
        sim.post(
            &t,
            &path,
            json!({"factor_id": AUTHENTICATOR, "display_name": "Pixel"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(reg["status"], "pending");
    let url = reg["factor_data"]["totp_url"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/OneLogin:carissa.moore%40acme.example?secret="),
        "{url}"
    );
    let id = reg["id"].as_str().unwrap();

    let (_, list) = demo(&sim, "GET", "/_sim/registrations").await;
    let item = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .expect("listed");
    assert_eq!(item["user_id"], CARISSA);
    assert_eq!(item["factor"], "authenticator");
    assert_eq!(item["status"], "pending");
    assert!(item["expires_at"].is_string());
    let code = item["code"].as_str().unwrap().to_owned();

    let (status, v) =
        parts(put(&sim, &t, &format!("{path}/{id}"), json!({"otp": "000000x"})).await).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["name"], "InvalidCredentials");
    // The docs type the code as a number: accepted too.
    let numeric: i64 = code.parse().unwrap();
    let otp = if code.starts_with('0') {
        json!(code)
    } else {
        json!(numeric)
    };
    let (status, v) =
        parts(put(&sim, &t, &format!("{path}/{id}"), json!({"otp": otp})).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v[0]["status"], "accepted");
    let device = v[0]["device_id"].as_str().unwrap().to_owned();
    let (_, v1) = parts(
        sim.get(&t, &format!("/api/1/users/{CARISSA}/otp_devices"))
            .await,
    )
    .await;
    assert!(
        v1["data"]["otp_devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"].as_i64() == device.parse::<i64>().ok()),
        "v1 lists the device enrolled through v2: {v1}"
    );
}

#[tokio::test]
async fn a_protect_registration_is_answered_from_the_demo_routes() {
    let sim = Sim::start().await;
    let t = admin(&sim).await;
    let path = format!("/api/2/mfa/users/{CARISSA}/registrations");
    let (_, reg) = parts(
        sim.post(
            &t,
            &path,
            json!({"factor_id": PROTECT, "display_name": "iPhone"}),
        )
        .await,
    )
    .await;
    let id = reg["id"].as_str().unwrap();
    let (status, _) = demo(&sim, "POST", "/_sim/registrations/nope/accept").await;
    assert_eq!(status, 404);
    let (status, _) = demo(&sim, "POST", &format!("/_sim/registrations/{id}/accept")).await;
    assert_eq!(status, 200);
    let (_, v) = parts(sim.get(&t, &format!("{path}/{id}")).await).await;
    assert_eq!(v["status"], "accepted");
    assert!(v["device_id"].is_string());
    assert!(
        v.get("factor_data").is_none(),
        "no secrets once accepted: {v}"
    );
    // Answered once only.
    let (status, _) = demo(&sim, "POST", &format!("/_sim/registrations/{id}/deny")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_v2_push_is_approved_by_its_id_in_the_demo_pushes() {
    let sim = Sim::start().await;
    let t = admin(&sim).await;
    let (status, v) = parts(
        sim.post(
            &t,
            &format!("/api/2/mfa/users/{STEPH}/verifications"),
            json!({"device_id": STEPH_PROTECT}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let id = v[0]["id"].as_str().unwrap().to_owned();
    let poll = format!("/api/2/mfa/users/{STEPH}/verifications/{id}");
    let (_, p) = parts(sim.get(&t, &poll).await).await;
    assert_eq!(p[0]["status"], "pending");
    let (_, pushes) = demo(&sim, "GET", "/_sim/pushes").await;
    assert!(
        pushes
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == id.as_str()),
        "{pushes}"
    );
    let (status, _) = demo(&sim, "POST", &format!("/_sim/pushes/{id}/deny")).await;
    assert_eq!(status, 200);
    let (_, p) = parts(sim.get(&t, &poll).await).await;
    assert_eq!(p[0]["status"], "rejected");
}

#[tokio::test]
async fn email_codes_go_to_the_outbox_with_channel_email() {
    let sim = Sim::start().await;
    let t = admin(&sim).await;
    let (status, reg) = parts(
        sim.post(
            &t,
            &format!("/api/2/mfa/users/{CARISSA}/registrations"),
            json!({"factor_id": EMAIL, "display_name": "Work mail"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    let (_, outbox) = demo(&sim, "GET", "/_sim/outbox").await;
    let mail = outbox
        .as_array()
        .unwrap()
        .iter()
        .rfind(|m| m["user_id"] == CARISSA)
        .expect("sent");
    assert_eq!(mail["channel"], "email");
    assert_eq!(mail["to"], "carissa.moore@acme.example");
}

#[tokio::test]
async fn expired_verifications_are_404_not_found() {
    let sim = Sim::start().await;
    let t = admin(&sim).await;
    let (_, v) = parts(
        sim.post(
            &t,
            &format!("/api/2/mfa/users/{STEPH}/verifications"),
            json!({"device_id": STEPH_PROTECT, "expires_in": 120}),
        )
        .await,
    )
    .await;
    let id = v[0]["id"].as_str().unwrap();
    sim.tenant.control().advance_clock(121);
    let (status, v) = parts(
        sim.get(&t, &format!("/api/2/mfa/users/{STEPH}/verifications/{id}"))
            .await,
    )
    .await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["name"], "NotFound");
}
