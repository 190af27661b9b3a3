//! Demo tenant over real HTTP: the seven v1 MFA routes end to end.

mod sim_support;

use mfadesk::sim::{Channel, DEMO_YUBIKEY_CODE};
use serde_json::{Value, json};
use sim_support::*;

fn devices_path(user: i64) -> String {
    format!("/api/1/users/{user}/otp_devices")
}

#[tokio::test]
async fn auth_factors_and_the_singular_route() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let (status, v) = parts(
        sim.get(&t, &format!("/api/1/users/{KELLY}/auth_factors"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["status"]["type"], "success");
    // Kelly has SMS already: only Voice is left.
    assert_eq!(
        v["data"]["auth_factors"],
        json!([{"name": "OneLogin Voice", "factor_id": 16283}])
    );
    let (_, v) = parts(
        sim.get(&t, &format!("/api/1/users/{CARISSA}/auth_factors"))
            .await,
    )
    .await;
    assert_eq!(v["data"]["auth_factors"].as_array().unwrap().len(), 2);
    // The generated SDK's singular path is answered like the plural (issue 11); the client's
    // fallback to it is proven against a scripted server in api_quirks.rs.
    let (status, singular) = parts(
        sim.get(&t, &format!("/api/1/users/{KELLY}/auth_factor"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        singular["data"]["auth_factors"],
        json!([{"name": "OneLogin Voice", "factor_id": 16283}])
    );
    assert_v1_err(
        sim.get(&t, "/api/1/users/1/auth_factors").await,
        404,
        "User for id 1 was not found",
    )
    .await;
}

#[tokio::test]
async fn otp_devices_lists_protect_twice() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let (_, v) = parts(sim.get(&t, &devices_path(STEPH)).await).await;
    let list = v["data"]["otp_devices"].as_array().unwrap();
    let protect: Vec<&Value> = list.iter().filter(|d| d["id"] == STEPH_PROTECT).collect();
    assert_eq!(protect.len(), 2);
    assert_ne!(protect[0]["needs_trigger"], protect[1]["needs_trigger"]);
    assert!(protect[0].get("phone_number").is_none());
    let voice = list.iter().find(|d| d["id"] == STEPH_VOICE).unwrap();
    assert_eq!(voice["needs_trigger"], true);
    assert!(voice["phone_number"].as_str().unwrap().starts_with('+'));
    let (_, v) = parts(sim.get(&t, &devices_path(KELLY)).await).await;
    let sms = &v["data"]["otp_devices"][0];
    assert_eq!(sms["auth_factor_name"], "OneLogin SMS");
    assert_eq!(sms["default"], true);
    assert_eq!(sms["active"], true);
    let (_, v) = parts(sim.get(&t, &devices_path(CARISSA)).await).await;
    assert_eq!(v["data"]["otp_devices"], json!([]));
}

#[tokio::test]
async fn enroll_validations() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let p = devices_path(CARISSA);
    let cases = [
        (
            json!({"display_name": "x", "number": "+14155550100"}),
            "factor_id is required",
        ),
        (
            json!({"factor_id": 16282, "number": "+14155550100"}),
            "display_name is required",
        ),
        (
            json!({"factor_id": 16282, "display_name": "x", "number": "4155550100"}),
            "number must be an E.164 phone number",
        ),
        (
            json!({"factor_id": 16282, "display_name": "x", "number": "+0415555010"}),
            "number must be an E.164 phone number",
        ),
        (
            json!({"factor_id": 16285, "display_name": "x", "number": "+14155550100"}),
            "Factor is not available for enrollment",
        ),
        (
            json!({"factor_id": 1, "display_name": "x", "number": "+14155550100"}),
            "Factor is not available for enrollment",
        ),
    ];
    for (body, message) in cases {
        assert_v1_err(sim.post(&t, &p, body).await, 400, message).await;
    }
    // SMS is taken for Kelly already.
    let body = json!({"factor_id": 16282, "display_name": "x", "number": "+14155550100"});
    assert_v1_err(
        sim.post(&t, &devices_path(KELLY), body).await,
        400,
        "Factor is not available for enrollment",
    )
    .await;
    // Verified Voice is active at once, and it becomes the default.
    let body = json!({"factor_id": "16283", "display_name": "Desk", "number": "+14155550100", "verified": true});
    let (status, v) = parts(sim.post(&t, &p, body).await).await;
    assert_eq!(status, 200);
    let d = &v["data"][0];
    assert_eq!(d["active"], true);
    assert_eq!(d["default"], true);
    assert!(d.get("state_token").is_none());
    assert_eq!(d["auth_factor_name"], "OneLogin Voice");
}

#[tokio::test]
async fn sms_enroll_trigger_verify_replay() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let body = json!({"factor_id": 16282, "display_name": "Carissa's phone", "number": "+14155550177", "verified": false});
    let (status, v) = parts(sim.post(&t, &devices_path(CARISSA), body).await).await;
    assert_eq!(status, 200);
    let d = &v["data"][0];
    assert_eq!(d["active"], false);
    assert_eq!(d["needs_trigger"], true);
    assert_eq!(d["phone_number"], "+14155550177");
    assert!(d["state_token"].is_string());
    let device = d["id"].as_i64().unwrap();
    assert!(!control.devices(CARISSA)[0].active);

    // Numeric code with a template.
    let template = "ABC Co code {{otp_code}}. It expires in {{expiration}} minutes.";
    let trig = format!("{}/{device}/trigger", devices_path(CARISSA));
    let body =
        json!({"numeric_sms_otp": true, "sms_message": template, "state_token_expires_in": 300});
    let (status, v) = parts(sim.post(&t, &trig, body).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        v["status"]["message"],
        "SMS token sent to your mobile device. Authentication pending."
    );
    let item = &v["data"][0];
    assert_eq!(item["id"], CARISSA);
    assert_eq!(item["device_id"], device);
    assert!(
        item["state_token_expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let state = item["state_token"].as_str().unwrap().to_string();
    let msg = control.outbox().into_iter().last().unwrap();
    assert_eq!(msg.channel, Channel::Sms);
    assert_eq!(msg.to, "+14155550177");
    assert!(msg.code.chars().all(|c| c.is_ascii_digit()) && msg.code.len() == 6);
    assert_eq!(
        msg.body,
        format!("ABC Co code {}. It expires in 5 minutes.", msg.code)
    );
    assert_eq!(control.last_code_for(device).unwrap(), msg.code);

    let verify = format!("{}/{device}/verify", devices_path(CARISSA));
    let wrong = if msg.code == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_v1_err(
        sim.post(
            &t,
            &verify,
            json!({"state_token": state, "otp_token": wrong}),
        )
        .await,
        401,
        "Failed authentication with this factor",
    )
    .await;
    assert_v1_err(
        sim.post(&t, &verify, json!({"otp_token": msg.code})).await,
        400,
        "state_token is required",
    )
    .await;
    let (status, v) = parts(
        sim.post(
            &t,
            &verify,
            json!({"state_token": state, "otp_token": msg.code}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"status": {"type": "success", "code": 200, "message": "Success", "error": false}})
    );
    assert!(control.devices(CARISSA)[0].active);
    assert_v1_err(
        sim.post(
            &t,
            &verify,
            json!({"state_token": state, "otp_token": msg.code}),
        )
        .await,
        400,
        "Invalid state token",
    )
    .await;

    // Default alphanumeric code with the default text.
    let (_, v) = parts(sim.post(&t, &trig, json!({})).await).await;
    assert!(v["data"][0]["state_token"].is_string());
    let msg = control.outbox().into_iter().last().unwrap();
    assert!(
        msg.code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(
        msg.body,
        format!("Your OneLogin verification code is {}", msg.code)
    );

    // Trigger validations.
    for n in [119, 901] {
        assert_v1_err(
            sim.post(&t, &trig, json!({"state_token_expires_in": n}))
                .await,
            400,
            "state_token_expires_in must be between 120 and 900",
        )
        .await;
    }
    assert_v1_err(
        sim.post(
            &t,
            &trig,
            json!({"sms_message": "x".repeat(155) + "{{otp_code}}"}),
        )
        .await,
        400,
        "sms_message must be at most 160 characters after substitution",
    )
    .await;
    for dev in [KELLY_AUTH, 42] {
        assert_v1_err(
            sim.post(
                &t,
                &format!("{}/{dev}/trigger", devices_path(KELLY)),
                json!({}),
            )
            .await,
            400,
            "Factor could not be found",
        )
        .await;
    }
}

#[tokio::test]
async fn state_token_expires_with_the_sim_clock() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let base = devices_path(KELLY);
    let (_, v) = parts(
        sim.post(&t, &format!("{base}/{KELLY_SMS}/trigger"), json!({}))
            .await,
    )
    .await;
    let state = v["data"][0]["state_token"].as_str().unwrap().to_string();
    let code = control.last_code_for(KELLY_SMS).unwrap();
    control.advance_clock(121);
    assert_v1_err(
        sim.post(
            &t,
            &format!("{base}/{KELLY_SMS}/verify"),
            json!({"state_token": state, "otp_token": code}),
        )
        .await,
        400,
        "State token has expired",
    )
    .await;
    assert_v1_err(
        sim.post(
            &t,
            &format!("{base}/{KELLY_SMS}/verify"),
            json!({"state_token": "nope", "otp_token": code}),
        )
        .await,
        400,
        "Invalid state token",
    )
    .await;
}

#[tokio::test]
async fn voice_trigger_reads_a_digit_code() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let base = devices_path(STEPH);
    let (status, v) = parts(
        sim.post(&t, &format!("{base}/{STEPH_VOICE}/trigger"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        v["status"]["message"]
            .as_str()
            .unwrap()
            .ends_with("pending.")
    );
    let msg = control.outbox().pop().unwrap();
    assert_eq!(msg.channel, Channel::Voice);
    assert!(msg.code.chars().all(|c| c.is_ascii_digit()));
    let state = v["data"][0]["state_token"].as_str().unwrap();
    let r = sim
        .post(
            &t,
            &format!("{base}/{STEPH_VOICE}/verify"),
            json!({"state_token": state, "otp_token": msg.code}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn totp_and_yubikey_verify() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let verify = format!("{}/{KELLY_AUTH}/verify", devices_path(KELLY));
    // Start at the top of a 30 s step so real time cannot roll the step mid-test.
    let left = control.totp_codes()[0].seconds_left;
    control.advance_clock(i64::from(left));
    let code = control.totp_code(KELLY_AUTH).unwrap();
    assert_eq!(code.len(), 6);
    assert!(
        control
            .totp_codes()
            .iter()
            .any(|c| c.device_id == KELLY_AUTH && c.code == code)
    );
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_v1_err(
        sim.post(&t, &verify, json!({"otp_token": wrong})).await,
        401,
        "Failed authentication with this factor",
    )
    .await;
    assert_v1_err(
        sim.post(&t, &verify, json!({})).await,
        400,
        "otp_token is required",
    )
    .await;
    let (status, v) = parts(sim.post(&t, &verify, json!({"otp_token": code})).await).await;
    assert_eq!(
        (status, v["status"]["message"].clone()),
        (200, json!("Success"))
    );
    // One step of drift is accepted, two are not.
    control.advance_clock(30);
    assert_eq!(
        sim.post(&t, &verify, json!({"otp_token": code}))
            .await
            .status(),
        200
    );
    control.advance_clock(60);
    assert_eq!(
        sim.post(&t, &verify, json!({"otp_token": code}))
            .await
            .status(),
        401
    );

    // The /_sim/totp route agrees with the control handle.
    let r = sim
        .http
        .get(sim.url(&format!("/_sim/totp/{KELLY_AUTH}")))
        .send()
        .await
        .unwrap();
    let (_, v) = parts(r).await;
    assert_eq!(v["code"], control.totp_code(KELLY_AUTH).unwrap());

    // Protect without a state token is a TOTP code device.
    let code = control.totp_code(STEPH_PROTECT).unwrap();
    let r = sim
        .post(
            &t,
            &format!("{}/{STEPH_PROTECT}/verify", devices_path(STEPH)),
            json!({"otp_token": code}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let yk = format!("{}/{JOHN_YUBIKEY}/verify", devices_path(JOHN));
    assert_eq!(
        sim.post(&t, &yk, json!({"otp_token": DEMO_YUBIKEY_CODE}))
            .await
            .status(),
        200
    );
    assert_eq!(
        sim.post(&t, &yk, json!({"otp_token": "cccccc"}))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn push_pending_approve_and_deny() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let base = devices_path(STEPH);
    let trig = format!("{base}/{STEPH_PROTECT}/trigger");
    let verify = format!("{base}/{STEPH_PROTECT}/verify");

    let (_, v) = parts(sim.post(&t, &trig, json!({})).await).await;
    assert!(v["status"]["message"].as_str().unwrap().contains("pending"));
    let state = v["data"][0]["state_token"].as_str().unwrap().to_string();
    let pushes = control.pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].state_token, state);
    assert_eq!(pushes[0].device_id, STEPH_PROTECT);
    let (status, v) = parts(sim.post(&t, &verify, json!({"state_token": state})).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"status": {"type": "pending", "code": 200, "message": "Authentication pending on OL Protect", "error": false}})
    );
    // Approve through the HTTP demo route.
    let r = sim
        .http
        .post(sim.url(&format!("/_sim/pushes/{state}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(control.pushes().is_empty());
    let (_, v) = parts(sim.post(&t, &verify, json!({"state_token": state})).await).await;
    assert_eq!(v["status"]["message"], "Success");

    let (_, v) = parts(sim.post(&t, &trig, json!({})).await).await;
    let state = v["data"][0]["state_token"].as_str().unwrap().to_string();
    assert!(control.deny_push(&state));
    assert!(!control.approve_push(&state));
    assert_v1_err(
        sim.post(&t, &verify, json!({"state_token": state})).await,
        401,
        "Push notification was denied",
    )
    .await;
}

#[tokio::test]
async fn remove_device() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let r = sim
        .delete(&t, &format!("{}/{KELLY_SMS}", devices_path(KELLY)))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "{}");
    let left = control.devices(KELLY);
    assert_eq!(left.len(), 1);
    assert!(left.iter().all(|d| !d.default));
    assert_v1_err(
        sim.delete(&t, &format!("{}/{KELLY_SMS}", devices_path(KELLY)))
            .await,
        400,
        "Factor could not be found",
    )
    .await;
    // Another user's device is not found either.
    assert_v1_err(
        sim.delete(&t, &format!("{}/{JOHN_YUBIKEY}", devices_path(KELLY)))
            .await,
        400,
        "Factor could not be found",
    )
    .await;
    // SMS is available again.
    let (_, v) = parts(
        sim.get(&t, &format!("/api/1/users/{KELLY}/auth_factors"))
            .await,
    )
    .await;
    assert_eq!(v["data"]["auth_factors"].as_array().unwrap().len(), 2);
    control.reset();
    assert_eq!(control.devices(KELLY).len(), 2);
}

#[tokio::test]
async fn mfa_token_shape_limits_and_device_zero() {
    let sim = Sim::start().await;
    let control = sim.tenant.control();
    let t = sim.manage().await;
    let p = format!("/api/1/users/{CARISSA}/mfa_token");
    let (status, v) = parts(
        sim.post(&t, &p, json!({"expires_in": "300", "reusable": false}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(v.get("status").is_none());
    let token = v["mfa_token"].as_str().unwrap().to_string();
    assert!(token.len() == 8 && token.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(v["reusable"], false);
    let expires: chrono::DateTime<chrono::Utc> = v["expires_at"].as_str().unwrap().parse().unwrap();
    let left = (expires - control.now()).num_seconds();
    assert!((298..=300).contains(&left), "{left}");

    let (_, v) = parts(sim.post(&t, &p, json!({})).await).await;
    let expires: chrono::DateTime<chrono::Utc> = v["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((expires - control.now()).num_seconds() > 259_190);
    assert_v1_err(
        sim.post(&t, &p, json!({"expires_in": 259_201})).await,
        400,
        "expires_in must be at most 259200",
    )
    .await;

    let verify = format!("{}/0/verify", devices_path(CARISSA));
    assert_eq!(
        sim.post(&t, &verify, json!({"otp_token": token}))
            .await
            .status(),
        200
    );
    // Single use.
    assert_eq!(
        sim.post(&t, &verify, json!({"otp_token": token}))
            .await
            .status(),
        401
    );
}
