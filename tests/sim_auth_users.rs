//! Demo tenant over real HTTP: tokens, bearer checks, scopes, user lookup, rate limit.

mod sim_support;

use base64::Engine;
use mfadesk::sim::{DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET, RouteKind};
use serde_json::{Value, json};
use sim_support::*;

#[tokio::test]
async fn token_via_all_three_credential_forms_is_reused() {
    let sim = Sim::start().await;
    let basic = sim.manage().await;

    let r = sim
        .http
        .post(sim.url("/auth/oauth2/v2/token"))
        .header(
            "Authorization",
            "client_id:demo-manage, client_secret:demo-manage-secret",
        )
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-request-id"));
    let (status, docs) = parts(r).await;
    assert_eq!(status, 200);
    assert_eq!(docs["access_token"], basic.as_str());
    assert_eq!(docs["expires_in"], 36000);
    assert_eq!(docs["token_type"], "bearer");
    assert_eq!(docs["refresh_token"], "deprecated");
    assert!(docs["account_id"].is_i64());
    let created = docs["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");

    let r = sim
        .http
        .post(sim.url("/auth/oauth2/v2/token"))
        .header(
            "Authorization",
            "client_id:demo-manage,client_secret:demo-manage-secret",
        )
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(parts(r).await.1["access_token"], basic.as_str());

    let r = sim
        .http
        .post(sim.url("/auth/oauth2/v2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_MANAGE_CLIENT_ID),
            ("client_secret", DEMO_MANAGE_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(parts(r).await.1["access_token"], basic.as_str());

    // The read credential gets a different token.
    assert_ne!(sim.read().await, basic);

    // After expiry (sim clock) a new token is minted and the old one fails.
    sim.tenant.control().advance_clock(36001);
    let fresh = sim.manage().await;
    assert_ne!(fresh, basic);
    let r = sim.get(&basic, "/api/2/users/36216766").await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn bad_credentials_and_grant_type() {
    let sim = Sim::start().await;
    let r = sim
        .http
        .post(sim.url("/auth/oauth2/v2/token"))
        .basic_auth("demo-manage", Some("wrong"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let (status, v) = parts(r).await;
    assert_eq!(status, 401);
    assert_eq!(
        v,
        json!({"error": true, "code": 401, "type": "Unauthorized", "message": "Authentication Failure"})
    );

    let r = sim
        .http
        .post(sim.url("/auth/oauth2/v2/token"))
        .basic_auth("demo-manage", Some("demo-manage-secret"))
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    let (status, v) = parts(r).await;
    assert_eq!(status, 400);
    assert_eq!(v["code"], 400);
    assert_eq!(v["error"], true);
}

#[tokio::test]
async fn revoke_and_revoke_tokens() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let r = sim
        .http
        .post(sim.url("/auth/oauth2/revoke"))
        .header(
            "Authorization",
            "client_id:demo-manage, client_secret:demo-manage-secret",
        )
        .json(&json!({"access_token": t}))
        .send()
        .await
        .unwrap();
    let (status, v) = parts(r).await;
    assert_eq!(
        (status, v["status"]["message"].clone()),
        (200, json!("Success"))
    );
    assert_v1_err(
        sim.get(&t, "/api/1/users/36216766/otp_devices").await,
        401,
        "Authentication Failure",
    )
    .await;

    let r = sim
        .http
        .post(sim.url("/auth/oauth2/revoke"))
        .header(
            "Authorization",
            "client_id:demo-manage, client_secret:demo-manage-secret",
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_v1_err(r, 400, "Access Token Missing").await;

    let t = sim.manage().await;
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
    sim.tenant.control().revoke_tokens();
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 401);
}

#[tokio::test]
async fn bearer_missing_gives_401_in_both_shapes_and_variants_work() {
    let sim = Sim::start().await;
    let r = sim.http.get(sim.url("/api/2/users")).send().await.unwrap();
    let (status, v) = parts(r).await;
    assert_eq!(status, 401);
    assert_eq!(
        v,
        json!({"statusCode": 401, "name": "UnauthorizedError", "message": "Unauthorized"})
    );
    let r = sim
        .http
        .get(sim.url("/api/1/users/36216766/otp_devices"))
        .send()
        .await
        .unwrap();
    assert_v1_err(r, 401, "Authentication Failure").await;
    let r = sim
        .http
        .get(sim.url("/auth/rate_limit"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_v1_err(r, 401, "Authentication Failure").await;

    let t = sim.manage().await;
    for header in [
        format!("bearer {t}"),
        format!("BEARER {t}"),
        format!("bearer:{t}"),
        format!("bearer: {t}"),
    ] {
        let r = sim
            .http
            .get(sim.url("/api/2/users/36216766"))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn read_only_credential_cannot_write() {
    let sim = Sim::start().await;
    let t = sim.read().await;
    assert_eq!(
        sim.get(&t, "/api/1/users/36216766/otp_devices")
            .await
            .status(),
        200
    );
    assert_eq!(
        sim.get(&t, "/api/1/users/36216766/auth_factors")
            .await
            .status(),
        200
    );
    let base = format!("/api/1/users/{KELLY}");
    let writes = [
        (
            "POST",
            format!("{base}/otp_devices"),
            json!({"factor_id": 16283, "display_name": "x", "number": "+14155550100"}),
        ),
        (
            "POST",
            format!("{base}/otp_devices/{KELLY_SMS}/trigger"),
            json!({}),
        ),
        (
            "POST",
            format!("{base}/otp_devices/{KELLY_AUTH}/verify"),
            json!({"otp_token": "123456"}),
        ),
        (
            "DELETE",
            format!("{base}/otp_devices/{KELLY_SMS}"),
            json!({}),
        ),
        ("POST", format!("{base}/mfa_token"), json!({})),
    ];
    for (method, path, body) in writes {
        let r = if method == "POST" {
            sim.post(&t, &path, body).await
        } else {
            sim.delete(&t, &path).await
        };
        assert_v1_err(r, 401, "Insufficient Permission").await;
    }
    assert_eq!(sim.tenant.control().devices(KELLY).len(), 2);
}

#[tokio::test]
async fn pages_through_all_users_with_after_cursor() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let total = sim.tenant.control().users().len();
    assert!(total >= 60);
    let mut seen = Vec::new();
    let mut path = "/api/2/users".to_string();
    let mut pages = 0;
    loop {
        let r = sim.get(&t, &path).await;
        assert_eq!(r.status(), 200);
        let h = r.headers().clone();
        let header = |n: &str| h.get(n).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(header("total-count").unwrap(), total.to_string());
        assert_eq!(
            header("total-pages").unwrap(),
            total.div_ceil(50).to_string()
        );
        assert!(header("link").unwrap().contains("rel=\"first\""));
        let users: Vec<Value> = r.json().await.unwrap();
        assert_eq!(header("page-items").unwrap(), users.len().to_string());
        pages += 1;
        assert_eq!(header("current-page").unwrap(), pages.to_string());
        seen.extend(users.iter().map(|u| u["id"].as_i64().unwrap()));
        match header("after-cursor") {
            Some(c) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(&c)
                    .unwrap();
                assert!(
                    String::from_utf8(decoded)
                        .unwrap()
                        .starts_with("limit=50&page=")
                );
                assert!(header("link").unwrap().contains("rel=\"next\""));
                let enc: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
                path = format!("/api/2/users?cursor={enc}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert!(seen.len() == total);
    seen.dedup();
    assert_eq!(seen.len(), total);

    // page/limit work too; bad limit is a v2 error.
    let r = sim.get(&t, "/api/2/users?limit=10&page=3").await;
    let users: Vec<Value> = r.json().await.unwrap();
    assert_eq!(users.len(), 10);
    let (status, v) = parts(sim.get(&t, "/api/2/users?limit=abc").await).await;
    assert_eq!(status, 400);
    assert_eq!(v["statusCode"], 400);
    let (status, v) = parts(sim.get(&t, "/api/2/users?limit=1000").await).await;
    assert_eq!(status, 422);
    assert_eq!(v["name"], "ValidationError");
}

#[tokio::test]
async fn wildcard_and_field_search() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let (_, v) = parts(sim.get(&t, "/api/2/users?email=KELLY*").await).await;
    let emails: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["kelly.slater@acme.example", "kelly.smith@acme.example"]
    );
    let (_, v) = parts(
        sim.get(&t, "/api/2/users?email=kelly.slater@acme.example")
            .await,
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = parts(sim.get(&t, "/api/2/users?lastname=*ATER").await).await;
    assert_eq!(v[0]["id"], KELLY);
    let (_, v) = parts(
        sim.get(&t, "/api/2/users?firstname=kelly&lastname=smith")
            .await,
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = parts(
        sim.get(&t, &format!("/api/2/users?user_ids={KELLY},{JOHN}"))
            .await,
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (_, v) = parts(
        sim.get(&t, "/api/2/users?email=*@acme.example&limit=100")
            .await,
    )
    .await;
    assert_eq!(
        v.as_array().unwrap().len(),
        sim.tenant.control().users().len()
    );
    let (_, v) = parts(sim.get(&t, "/api/2/users?username=nobody*").await).await;
    assert_eq!(v, json!([]));
}

#[tokio::test]
async fn user_by_id_and_404s() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let (status, u) = parts(sim.get(&t, &format!("/api/2/users/{KELLY}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(u["email"], "kelly.slater@acme.example");
    assert_eq!(u["firstname"], "Kelly");
    assert!(u.get("manager_user_id").unwrap().is_null());
    assert!(u["custom_attributes"].is_object());
    let (status, v) = parts(sim.get(&t, "/api/2/users/999").await).await;
    assert_eq!(status, 404);
    assert_eq!(
        v,
        json!({"statusCode": 404, "name": "NotFoundError", "message": "The resource with the given id could not be found"})
    );
    let r = sim.get(&t, "/api/1/users/999/otp_devices").await;
    let (status, v) = parts(r).await;
    assert_eq!(status, 404);
    assert_eq!(v["status"]["type"], "not found");
    assert_eq!(v["status"]["message"], "User for id 999 was not found");
}

#[tokio::test]
async fn rate_limit_headers_endpoint_and_429() {
    let sim = Sim::start().await;
    let t = sim.manage().await;
    let r = sim.get(&t, "/auth/rate_limit").await;
    let h = r.headers().clone();
    assert_eq!(h["x-ratelimit-limit"], "5000");
    assert_eq!(h["x-ratelimit-remaining"], "4998");
    let (_, v) = parts(r).await;
    assert_eq!(v["data"]["X-RateLimit-Limit"], 5000);
    assert_eq!(v["data"]["X-RateLimit-Remaining"], 4998);
    let reset = v["data"]["X-RateLimit-Reset"].as_i64().unwrap();
    assert!((3590..=3600).contains(&reset), "{reset}");

    let control = sim.tenant.control();
    control.set_rate_limit(3);
    for _ in 0..3 {
        assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
    }
    let r = sim.get(&t, "/api/2/users/36216766").await;
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let (status, v) = parts(r).await;
    assert_eq!(status, 429);
    assert_eq!(
        v,
        json!({"status": {"error": true, "code": 429, "type": "Too Many Requests", "message": "Rate limit exceeded"}})
    );
    // /_sim is not rate-limited; the window ends with the sim hour.
    let r = sim.http.get(sim.url("/_sim/outbox")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    control.advance_clock(3600);
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
    assert_eq!(control.request_count(RouteKind::User), 5);
    // Reset restores the seed budget.
    control.set_rate_limit(1);
    control.reset();
    assert_eq!(
        sim.get(&t, "/auth/rate_limit").await.headers()["x-ratelimit-remaining"],
        "4999"
    );
}
