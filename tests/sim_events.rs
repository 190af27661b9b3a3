//! Demo tenant over real HTTP: the event log (spec §9), sign-ins and injected events.

mod sim_support;

use serde_json::{Value, json};
use sim_support::*;

/// The event type ids of a page, in order.
fn type_ids(v: &Value) -> Vec<i64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type_id"].as_i64().unwrap())
        .collect()
}

/// Every event of a user (newest first), following `after_cursor`.
async fn all_events(sim: &Sim, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/api/1/events?{query}&after_cursor={c}"),
            None => format!("/api/1/events?{query}"),
        };
        let (status, v) = parts(sim.get(token, &path).await).await;
        assert_eq!(status, 200, "{v}");
        out.extend(v["data"].as_array().unwrap().iter().cloned());
        match v["pagination"]["after_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn every_mfa_action_records_its_event() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let c = sim.tenant.control();
    // Trigger an SMS, fail then pass its check.
    let (_, v) = parts(
        sim.post(
            &t,
            &format!("/api/1/users/{KELLY}/otp_devices/{KELLY_SMS}/trigger"),
            json!({}),
        )
        .await,
    )
    .await;
    let state = v["data"][0]["state_token"].as_str().unwrap().to_owned();
    let code = c.last_code_for(KELLY_SMS).unwrap();
    let verify = format!("/api/1/users/{KELLY}/otp_devices/{KELLY_SMS}/verify");
    let r = sim
        .post(
            &t,
            &verify,
            json!({"state_token": state, "otp_token": "000000"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = sim
        .post(
            &t,
            &verify,
            json!({"state_token": state, "otp_token": code}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Enroll a verified voice number, remove it, issue a temporary token.
    let (_, v) = parts(
        sim.post(
            &t,
            &format!("/api/1/users/{KELLY}/otp_devices"),
            json!({"factor_id": 16283, "display_name": "Desk", "number": "+14155550999", "verified": true}),
        )
        .await,
    )
    .await;
    let new_id = v["data"][0]["id"].as_i64().unwrap();
    let r = sim
        .delete(&t, &format!("/api/1/users/{KELLY}/otp_devices/{new_id}"))
        .await;
    assert_eq!(r.status(), 200);
    let r = sim
        .post(&t, &format!("/api/1/users/{KELLY}/mfa_token"), json!({}))
        .await;
    assert_eq!(r.status(), 200);

    let events = all_events(&sim, &t, &format!("user_id={KELLY}&sort=%2Bid")).await;
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e["event_type_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![539, 527, 528, 540, 22, 24, 1100], "{events:?}");
    let trigger = &events[0];
    assert_eq!(trigger["user_id"], KELLY);
    assert_eq!(trigger["user_name"], "Kelly Slater");
    assert_eq!(trigger["otp_device_id"], KELLY_SMS);
    assert_eq!(trigger["otp_device_name"], "Kelly's iPhone");
    assert_eq!(trigger["client_id"], "demo-manage");
    assert_eq!(trigger["actor_system"], "API");
    assert_eq!(events[5]["otp_device_id"], new_id);
    // created_at is ISO-8601 with milliseconds.
    let at = trigger["created_at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.contains('.'), "{at}");
}

#[tokio::test]
async fn push_answers_from_the_phone_are_events() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let c = sim.tenant.control();
    let trigger = format!("/api/1/users/{STEPH}/otp_devices/{STEPH_PROTECT}/trigger");
    for deny in [true, false] {
        let r = sim.post(&t, &trigger, json!({})).await;
        assert_eq!(r.status(), 200);
        let push = c.pushes().pop().unwrap();
        let action = if deny { "deny" } else { "approve" };
        let r = sim
            .http
            .post(sim.url(&format!("/_sim/pushes/{}/{action}", push.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let (_, v) = parts(
        sim.get(
            &t,
            &format!("/api/1/events?user_id={STEPH}&event_type_id=950,1400&sort=%2Bid"),
        )
        .await,
    )
    .await;
    assert_eq!(type_ids(&v), vec![950, 1400]);
    assert_eq!(v["data"][0]["otp_device_id"], STEPH_PROTECT);
    assert_eq!(v["data"][0]["actor_user_id"], STEPH);
}

#[tokio::test]
async fn filters_both_type_forms_sort_and_cursor_paging() {
    let sim = Sim::start().await;
    let t = sim.read().await;
    for i in 0..7 {
        let r = sim
            .http
            .post(sim.url("/_sim/events"))
            .json(
                &json!({"event_type_id": if i % 2 == 0 { 950 } else { 1002 },
                "user_id": CARISSA, "created_at": format!("now-{}m", 10 - i)}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let base = format!("user_id={CARISSA}");
    // The comma form and the repeated form select the same events.
    let (_, comma) = parts(
        sim.get(&t, &format!("/api/1/events?{base}&event_type_id=950,1002"))
            .await,
    )
    .await;
    let (_, repeated) = parts(
        sim.get(
            &t,
            &format!("/api/1/events?{base}&event_type_id=950&event_type_id=1002"),
        )
        .await,
    )
    .await;
    assert_eq!(comma["data"], repeated["data"]);
    assert_eq!(comma["data"].as_array().unwrap().len(), 7);
    let (_, only) = parts(
        sim.get(&t, &format!("/api/1/events?{base}&event_type_id=1002"))
            .await,
    )
    .await;
    assert_eq!(type_ids(&only), vec![1002, 1002, 1002]);
    // Newest first by default; +id oldest first.
    let ids = |v: &Value| -> Vec<i64> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    let desc = ids(&comma);
    assert!(desc.windows(2).all(|w| w[0] > w[1]), "{desc:?}");
    // Pages of 3 follow after_cursor to the end; next_link names OneLogin's host.
    let (_, first) = parts(sim.get(&t, &format!("/api/1/events?{base}&limit=3")).await).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    assert!(
        first["pagination"]["next_link"]
            .as_str()
            .unwrap()
            .starts_with("https://api.us.onelogin.com/")
    );
    let paged = all_events(&sim, &t, &format!("{base}&limit=3")).await;
    let paged_ids: Vec<i64> = paged.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(paged_ids, desc);
    // since/until bound created_at.
    let c = sim.tenant.control();
    let since = (c.now() - chrono::TimeDelta::seconds(390)).to_rfc3339();
    let (_, recent) = parts(
        sim.get(
            &t,
            &format!("/api/1/events?{base}&since={}", url_encode(&since)),
        )
        .await,
    )
    .await;
    assert_eq!(recent["data"].as_array().unwrap().len(), 3, "{recent}");
    let until = (c.now() - chrono::TimeDelta::seconds(450)).to_rfc3339();
    let (_, old) = parts(
        sim.get(
            &t,
            &format!("/api/1/events?{base}&until={}", url_encode(&until)),
        )
        .await,
    )
    .await;
    assert_eq!(old["data"].as_array().unwrap().len(), 3, "{old}");
    // Bad parameters are v1 400s.
    assert_v1_err(
        sim.get(&t, "/api/1/events?after_cursor=zzz").await,
        400,
        "Invalid after_cursor",
    )
    .await;
    assert_v1_err(
        sim.get(&t, "/api/1/events?since=yesterday").await,
        400,
        "since must be an ISO-8601 time",
    )
    .await;
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn types_list_and_scope() {
    let sim = Sim::start().await;
    let read = sim.read().await;
    let (status, v) = parts(sim.get(&read, "/api/1/events/types").await).await;
    assert_eq!(status, 200);
    let types = v["data"].as_array().unwrap();
    assert!(
        types
            .iter()
            .any(|t| t["id"] == 950 && t["name"] == "OL_OTP_PUSH_REJECT")
    );
    assert_v1_err(
        sim.get("not-a-token", "/api/1/events").await,
        401,
        "Authentication Failure",
    )
    .await;
}

#[tokio::test]
async fn failed_sign_ins_lock_the_user_at_five() {
    let sim = Sim::start().await;
    let t = sim.read().await;
    let login = format!("/_sim/users/{KELLY}/login");
    for i in 1..=5 {
        let (status, v) = parts(
            sim.http
                .post(sim.url(&login))
                .json(&json!({"ok": false, "ip": "203.0.113.9", "risk_score": 91}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        if i < 5 {
            assert_eq!(v["invalid_login_attempts"], i);
            assert_eq!(v["status"], 1);
        } else {
            assert_eq!(v["status"], 3);
            assert!(v["locked_until"].is_string());
        }
    }
    let (_, user) = parts(sim.get(&t, &format!("/api/2/users/{KELLY}")).await).await;
    assert_eq!(user["status"], 3);
    assert!(user["locked_until"].is_string());
    let (_, v) = parts(
        sim.get(
            &t,
            &format!("/api/1/events?user_id={KELLY}&event_type_id=6,19&sort=%2Bid"),
        )
        .await,
    )
    .await;
    assert_eq!(type_ids(&v), vec![6, 6, 6, 6, 6, 19]);
    assert_eq!(v["data"][0]["ipaddr"], "203.0.113.9");
    assert_eq!(v["data"][0]["risk_score"], 91);
    // A good sign-in on an unlocked user is event 5 and clears the count.
    let r = sim
        .http
        .post(sim.url(&format!("/_sim/users/{STEPH}/login")))
        .json(&json!({"ok": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, v) = parts(
        sim.get(
            &t,
            &format!("/api/1/events?user_id={STEPH}&event_type_id=5"),
        )
        .await,
    )
    .await;
    assert_eq!(type_ids(&v), vec![5]);
    let r = sim
        .http
        .post(sim.url(&login))
        .json(&json!({"ok": "maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
