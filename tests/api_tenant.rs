//! Every client call against the demo tenant over real HTTP on loopback: successes, the
//! documented errors, token reuse and refresh, paging, scopes and the MFA flows end to end.

mod api_support;

use std::collections::HashSet;

use api_support::*;
use chrono::Utc;
use mfadesk::api::{
    Client, ClientConfig, Credentials, DeviceId, ErrorKind, Secret, UserQuery, VerifyOutcome,
};
use mfadesk::sim::{
    DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET, DEMO_YUBIKEY_CODE, RouteKind,
};

// ------------------------------------------------------------------------------------------
// Token

#[tokio::test]
async fn token_is_fetched_once_and_reused() {
    let sim = Sim::start().await;
    let client = sim.manage();
    for _ in 0..3 {
        client.get_user(KELLY).await.unwrap();
        client.get_enrolled_factors(KELLY).await.unwrap();
        client.get_mfa_factors(KELLY).await.unwrap();
        client.search_users(&UserQuery::default()).await.unwrap();
        client.get_rate_limit().await.unwrap();
    }
    // Clones share the pool and the cache.
    client.clone().get_user(STEPH).await.unwrap();
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_fetch_one_token() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            async move { c.get_user(KELLY).await }
        })
        .collect();
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().id, KELLY);
    }
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 1);
}

#[tokio::test]
async fn revoked_token_is_replaced_once_and_the_call_retried_once() {
    let sim = Sim::start().await;
    let client = sim.manage();
    client.get_user(KELLY).await.unwrap();
    sim.ctl.revoke_tokens();
    assert_eq!(client.get_user(KELLY).await.unwrap().id, KELLY);
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 2);
    assert_eq!(sim.ctl.request_count(RouteKind::User), 3);

    // Also on a POST (the call was rejected before doing anything, so resending is safe).
    sim.ctl.revoke_tokens();
    client
        .activate_mfa_factors(KELLY, &dev(KELLY_SMS), None, None, None)
        .await
        .unwrap();
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 3);
    assert_eq!(sim.ctl.request_count(RouteKind::Trigger), 2);
    assert_eq!(sim.ctl.outbox().len(), 1, "one SMS, not two");
}

#[tokio::test]
async fn a_token_rejected_twice_is_an_error_not_a_loop() {
    let sim = Sim::start().await;
    let client = sim.manage();
    client.get_enrolled_factors(KELLY).await.unwrap();
    sim.ctl.set_fault(
        RouteKind::OtpDevices,
        mfadesk::sim::Fault::RevokedToken,
        None,
    );
    let e = err(client.get_enrolled_factors(KELLY).await);
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(e.status, Some(401));
    assert_eq!(e.message, "Authentication Failure");
    assert!(e.request_id.is_some());
    assert_eq!(sim.ctl.request_count(RouteKind::OtpDevices), 3);
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 2);
}

#[tokio::test]
async fn expired_token_after_ten_hours_is_replaced() {
    let sim = Sim::start().await;
    let client = sim.manage();
    client.get_user(KELLY).await.unwrap();
    sim.ctl.advance_clock(11 * 3600);
    client.get_user(KELLY).await.unwrap();
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 2);
}

#[tokio::test]
async fn bad_credentials_are_unauthorized_and_never_shown() {
    let sim = Sim::start().await;
    let client = Client::new(sim.config(DEMO_MANAGE_CLIENT_ID, "wrong-secret-value")).unwrap();
    let e = err(client.get_user(KELLY).await);
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(e.status, Some(401));
    assert_eq!(e.message, "Authentication Failure");
    assert!(e.request_id.is_some());
    assert_no_secrets(&e, &["wrong-secret-value"]);
    assert!(!format!("{client:?}").contains("wrong-secret-value"));
    // No retry of a rejected credential, and no resource call without a token.
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 1);
    assert_eq!(sim.ctl.request_count(RouteKind::User), 0);
}

#[tokio::test]
async fn subdomain_style_base_url_is_normalised_and_http_loopback_allowed() {
    let sim = Sim::start().await;
    let creds = Credentials {
        client_id: DEMO_MANAGE_CLIENT_ID.into(),
        client_secret: Secret::new(DEMO_MANAGE_CLIENT_SECRET),
    };
    let client = Client::new(ClientConfig::new(
        format!("{}/some/path/", sim.tenant.base_url()),
        creds,
    ))
    .unwrap();
    assert_eq!(client.base_url(), sim.tenant.base_url());
    client.get_user(KELLY).await.unwrap();
}

// ------------------------------------------------------------------------------------------
// Users and rate limit

#[tokio::test]
async fn get_user_and_not_found() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let kelly = client.get_user(KELLY).await.unwrap();
    assert_eq!(kelly.display_name(), "Kelly Slater");
    assert_eq!(kelly.email.as_deref(), Some("kelly.slater@acme.example"));
    assert_eq!(kelly.status().label(), "Active");
    let layne = client.get_user(36216773).await.unwrap();
    assert_eq!(layne.username, None);
    assert_eq!(layne.last_login, None);
    let gabriel = client.get_user(36216770).await.unwrap();
    assert_eq!(gabriel.status, Some(3));
    assert!(gabriel.locked_until.is_some_and(|t| t > Utc::now()));

    let e = err(client.get_user(1).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.status, Some(404));
    assert!(!e.message.is_empty());
    assert!(e.request_id.is_some());
}

#[tokio::test]
async fn search_by_each_field() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let found = |query: UserQuery| {
        let client = client.clone();
        async move {
            let page = client.search_users(&query).await.unwrap();
            page.users.iter().map(|u| u.id).collect::<HashSet<i64>>()
        }
    };
    let q = UserQuery::default;
    assert_eq!(
        found(UserQuery {
            firstname: Some("kelly*".into()),
            ..q()
        })
        .await,
        HashSet::from([KELLY, KELLY_SMITH])
    );
    assert_eq!(
        found(UserQuery {
            email: Some("kelly.slater@acme.example".into()),
            ..q()
        })
        .await,
        HashSet::from([KELLY])
    );
    assert_eq!(
        found(UserQuery {
            lastname: Some("Gilmore".into()),
            ..q()
        })
        .await,
        HashSet::from([STEPH])
    );
    assert_eq!(
        found(UserQuery {
            user_ids: vec![JOHN, CARISSA],
            ..q()
        })
        .await,
        HashSet::from([JOHN, CARISSA])
    );
    let none = client
        .search_users(&UserQuery {
            username: Some("nobody-at-all".into()),
            ..q()
        })
        .await
        .unwrap();
    assert!(none.users.is_empty());
    assert_eq!(none.after_cursor, None);

    let e = err(client
        .search_users(&UserQuery {
            limit: Some(1000),
            ..UserQuery::default()
        })
        .await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(e.status, Some(422));
    assert_eq!(e.message, "Validations failed");
}

#[tokio::test]
async fn paging_walks_every_user_once() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let total = sim.ctl.users().len();
    assert!(total > 20);

    let mut query = UserQuery {
        limit: Some(10),
        ..UserQuery::default()
    };
    let first = client.search_users(&query).await.unwrap();
    assert_eq!(first.users.len(), 10);
    assert_eq!(first.total_count, Some(total as u64));
    assert_eq!(first.total_pages, Some(total.div_ceil(10) as u64));
    assert_eq!(first.current_page, Some(1));
    assert!(first.after_cursor.is_some());

    let mut seen: Vec<i64> = first.users.iter().map(|u| u.id).collect();
    let mut pages = 1;
    query.cursor = first.after_cursor;
    while query.cursor.is_some() {
        let page = client.search_users(&query).await.unwrap();
        pages += 1;
        assert_eq!(page.current_page, Some(pages));
        assert!(page.before_cursor.is_some());
        seen.extend(page.users.iter().map(|u| u.id));
        query.cursor = page.after_cursor;
    }
    assert_eq!(pages, total.div_ceil(10) as u64);
    assert_eq!(seen.len(), total);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), total);

    let all = client
        .search_users_all(
            &UserQuery {
                limit: Some(7),
                ..UserQuery::default()
            },
            100,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), total);
    let capped = client
        .search_users_all(
            &UserQuery {
                limit: Some(7),
                ..UserQuery::default()
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(capped.len(), 14);
}

#[tokio::test]
async fn rate_limit_call_and_headers() {
    let sim = Sim::start().await;
    let client = sim.manage();
    assert_eq!(client.rate_limit(), None);
    let limit = client.get_rate_limit().await.unwrap();
    assert_eq!(limit.limit, Some(5000));
    assert!(limit.remaining.is_some_and(|r| r < 5000));
    assert!(limit.reset_secs.is_some_and(|r| r <= 3600));
    let before = client.rate_limit().and_then(|r| r.remaining).unwrap();
    client.get_user(KELLY).await.unwrap();
    let after = client.rate_limit().unwrap();
    assert_eq!(after.limit, Some(5000));
    assert_eq!(after.remaining, Some(before - 1));
}

// ------------------------------------------------------------------------------------------
// MFA reads

#[tokio::test]
async fn available_factors_and_missing_user() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let names =
        |fs: Vec<mfadesk::api::AuthFactor>| fs.into_iter().map(|f| f.factor_id).collect::<Vec<_>>();
    assert_eq!(
        names(client.get_mfa_factors(CARISSA).await.unwrap()),
        vec![SMS_FACTOR, VOICE_FACTOR]
    );
    assert_eq!(
        names(client.get_mfa_factors(KELLY).await.unwrap()),
        vec![VOICE_FACTOR]
    );
    let any_before = sim.ctl.request_count(RouteKind::Any);
    let e = err(client.get_mfa_factors(999).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.message, "User for id 999 was not found");
    // A missing user is not a missing route: no fallback to `auth_factor`.
    assert_eq!(sim.ctl.request_count(RouteKind::Any), any_before + 1);
}

#[tokio::test]
async fn enrolled_devices_keep_protect_once_per_mode() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let devices = client.get_enrolled_factors(STEPH).await.unwrap();
    let keys: HashSet<(DeviceId, bool)> = devices
        .iter()
        .map(|d| (d.id.clone(), d.needs_trigger))
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            (dev(STEPH_PROTECT), true),
            (dev(STEPH_PROTECT), false),
            (dev(STEPH_VOICE), true)
        ])
    );
    assert_eq!(devices.len(), 3);
    let kelly = client.get_enrolled_factors(KELLY).await.unwrap();
    let sms = kelly.iter().find(|d| d.id == dev(KELLY_SMS)).unwrap();
    assert!(sms.needs_trigger && sms.default && sms.active);
    assert_eq!(sms.phone_number.as_deref(), Some("+14155550101"));
    assert!(
        client
            .get_enrolled_factors(CARISSA)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        err(client.get_enrolled_factors(999).await).kind,
        ErrorKind::NotFound
    );
}

// ------------------------------------------------------------------------------------------
// Enroll, trigger, verify

#[tokio::test]
async fn enroll_sms_then_verify_with_the_enroll_state_token() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let device = client
        .enroll_mfa_factor(
            CARISSA,
            SMS_FACTOR,
            "Carissa's phone",
            "+14155550199",
            false,
        )
        .await
        .unwrap();
    assert!(!device.active && device.needs_trigger);
    assert_eq!(device.auth_factor_name, "OneLogin SMS");
    assert_eq!(device.user_display_name.as_deref(), Some("Carissa's phone"));
    let state = device.state_token.clone().unwrap();
    let id = device.id.as_i64().unwrap();
    let code = sim.ctl.last_code_for(id).unwrap();
    let outcome = client
        .verify_mfa_factor(CARISSA, &device.id, Some(&state), Some(&Secret::new(code)))
        .await
        .unwrap();
    assert_eq!(outcome, VerifyOutcome::Verified);
    assert!(
        sim.ctl
            .devices(CARISSA)
            .iter()
            .any(|d| d.id == id && d.active)
    );
    // SMS is no longer offered.
    let offered = client.get_mfa_factors(CARISSA).await.unwrap();
    assert!(offered.iter().all(|f| f.factor_id != SMS_FACTOR));
}

#[tokio::test]
async fn enroll_verified_voice_and_enroll_errors() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let voice = client
        .enroll_mfa_factor(CARISSA, VOICE_FACTOR, "Desk", "+14155550198", true)
        .await
        .unwrap();
    assert!(voice.active);
    assert_eq!(voice.state_token, None);
    assert!(
        sim.ctl.outbox().is_empty(),
        "a verified number gets no code"
    );

    let e = err(client
        .enroll_mfa_factor(CARISSA, SMS_FACTOR, "Bad", "555-0101", false)
        .await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(e.status, Some(400));
    assert!(e.message.contains("E.164"), "{}", e.message);
    let e = err(client
        .enroll_mfa_factor(KELLY, SMS_FACTOR, "Second", "+14155550197", false)
        .await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    let e = err(client
        .enroll_mfa_factor(999, SMS_FACTOR, "x", "+14155550197", false)
        .await);
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn sms_wrong_code_then_right_code_then_replay() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let t = client
        .activate_mfa_factors(KELLY, &dev(KELLY_SMS), None, None, None)
        .await
        .unwrap();
    assert_eq!(
        t.device_id,
        dev(KELLY_SMS),
        "device_id, not the user id in data[0].id"
    );
    assert!(t.message.contains("pending"), "{}", t.message);
    let expires = t.state_token_expires_at.unwrap();
    let lifetime = (expires - sim.ctl.now()).num_seconds();
    assert!((100..=120).contains(&lifetime), "{lifetime}");
    let code = sim.ctl.last_code_for(KELLY_SMS).unwrap();
    let wrong = Secret::new(if code == "ZZZZZZ" { "YYYYYY" } else { "ZZZZZZ" });

    let e = err(client
        .verify_mfa_factor(KELLY, &dev(KELLY_SMS), Some(&t.state_token), Some(&wrong))
        .await);
    assert_eq!(e.kind, ErrorKind::WrongCode);
    assert_eq!(e.status, Some(401));
    assert_eq!(e.message, "Failed authentication with this factor");
    assert_no_secrets(&e, &[t.state_token.expose(), wrong.expose(), &code]);
    // A wrong code is not a token problem: no token refetch.
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 1);

    let right = Secret::new(code.to_lowercase());
    assert_eq!(
        client
            .verify_mfa_factor(KELLY, &dev(KELLY_SMS), Some(&t.state_token), Some(&right))
            .await,
        Ok(VerifyOutcome::Verified)
    );
    let e = err(client
        .verify_mfa_factor(KELLY, &dev(KELLY_SMS), Some(&t.state_token), Some(&right))
        .await);
    assert_eq!(e.kind, ErrorKind::ExpiredStateToken);
    assert_eq!(e.status, Some(400));
    assert_eq!(e.message, "Invalid state token");
    assert_no_secrets(&e, &[t.state_token.expose(), right.expose()]);
}

#[tokio::test]
async fn trigger_options_reach_the_tenant_and_bad_ones_are_rejected() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let t = client
        .activate_mfa_factors(
            KELLY,
            &dev(KELLY_SMS),
            Some(300),
            Some(true),
            Some("ACME code {{otp_code}}, {{expiration}} min"),
        )
        .await
        .unwrap();
    let sms = sim.ctl.outbox().pop().unwrap();
    assert!(sms.code.chars().all(|c| c.is_ascii_digit()), "{}", sms.code);
    assert_eq!(sms.body, format!("ACME code {}, 5 min", sms.code));
    let lifetime = (t.state_token_expires_at.unwrap() - sim.ctl.now()).num_seconds();
    assert!((280..=300).contains(&lifetime), "{lifetime}");

    let e = err(client
        .activate_mfa_factors(KELLY, &dev(KELLY_SMS), Some(1000), None, None)
        .await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert!(e.message.contains("state_token_expires_in"));
    let e = err(client
        .activate_mfa_factors(KELLY, &dev(999_999), None, None, None)
        .await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(e.message, "Factor could not be found");
    let e = err(client
        .activate_mfa_factors(999, &dev(KELLY_SMS), None, None, None)
        .await);
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn state_token_expires_on_the_tenant_clock() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let t = client
        .activate_mfa_factors(KELLY, &dev(KELLY_SMS), None, None, None)
        .await
        .unwrap();
    let code = Secret::new(sim.ctl.last_code_for(KELLY_SMS).unwrap());
    sim.ctl.advance_clock(121);
    let e = err(client
        .verify_mfa_factor(KELLY, &dev(KELLY_SMS), Some(&t.state_token), Some(&code))
        .await);
    assert_eq!(e.kind, ErrorKind::ExpiredStateToken);
    assert_eq!(e.message, "State token has expired");
    assert_eq!(e.title(), "Verification expired");
}

#[tokio::test]
async fn voice_call_code_verifies() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let t = client
        .activate_mfa_factors(STEPH, &dev(STEPH_VOICE), None, None, None)
        .await
        .unwrap();
    let code = Secret::new(sim.ctl.last_code_for(STEPH_VOICE).unwrap());
    assert_eq!(
        client
            .verify_mfa_factor(STEPH, &dev(STEPH_VOICE), Some(&t.state_token), Some(&code))
            .await,
        Ok(VerifyOutcome::Verified)
    );
}

#[tokio::test]
async fn push_pending_then_approved() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let t = client
        .activate_mfa_factors(STEPH, &dev(STEPH_PROTECT), None, None, None)
        .await
        .unwrap();
    assert_eq!(t.device_id, dev(STEPH_PROTECT));
    let protect = dev(STEPH_PROTECT);
    let poll = || client.verify_mfa_factor(STEPH, &protect, Some(&t.state_token), None);
    assert_eq!(
        poll().await,
        Ok(VerifyOutcome::Pending {
            message: "Authentication pending on OL Protect".into()
        })
    );
    assert_eq!(
        poll().await.map(|o| o == VerifyOutcome::Verified),
        Ok(false)
    );
    assert!(sim.ctl.approve_push(t.state_token.expose()));
    assert_eq!(poll().await, Ok(VerifyOutcome::Verified));
}

#[tokio::test]
async fn push_denied() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let t = client
        .activate_mfa_factors(STEPH, &dev(STEPH_PROTECT), Some(120), None, None)
        .await
        .unwrap();
    assert!(sim.ctl.deny_push(t.state_token.expose()));
    let e = err(client
        .verify_mfa_factor(STEPH, &dev(STEPH_PROTECT), Some(&t.state_token), None)
        .await);
    assert_eq!(e.kind, ErrorKind::PushDenied);
    assert_eq!(e.status, Some(401));
    assert_eq!(e.message, "Push notification was denied");
    assert_no_secrets(&e, &[t.state_token.expose()]);
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 1);
}

#[tokio::test]
async fn codes_without_trigger_totp_protect_and_yubikey() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let code = sim.ctl.totp_code(KELLY_AUTH).unwrap();
    assert_eq!(
        client
            .verify_mfa_factor(
                KELLY,
                &dev(KELLY_AUTH),
                None,
                Some(&Secret::new(code.clone()))
            )
            .await,
        Ok(VerifyOutcome::Verified)
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let e = err(client
        .verify_mfa_factor(KELLY, &dev(KELLY_AUTH), None, Some(&Secret::new(wrong)))
        .await);
    assert_eq!(e.kind, ErrorKind::WrongCode);

    let protect_code = Secret::new(sim.ctl.totp_code(STEPH_PROTECT).unwrap());
    assert_eq!(
        client
            .verify_mfa_factor(STEPH, &dev(STEPH_PROTECT), None, Some(&protect_code))
            .await,
        Ok(VerifyOutcome::Verified)
    );
    assert_eq!(
        client
            .verify_mfa_factor(
                JOHN,
                &dev(JOHN_YUBIKEY),
                None,
                Some(&Secret::new(DEMO_YUBIKEY_CODE))
            )
            .await,
        Ok(VerifyOutcome::Verified)
    );
    let e = err(client
        .verify_mfa_factor(KELLY, &dev(999_999), None, Some(&Secret::new("123456")))
        .await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(e.message, "Factor could not be found");
}

// ------------------------------------------------------------------------------------------
// Remove and temporary tokens

#[tokio::test]
async fn remove_then_remove_again() {
    let sim = Sim::start().await;
    let client = sim.manage();
    client
        .remove_mfa_factors(KELLY, &dev(KELLY_AUTH))
        .await
        .unwrap();
    assert!(sim.ctl.devices(KELLY).iter().all(|d| d.id != KELLY_AUTH));
    let listed = client.get_enrolled_factors(KELLY).await.unwrap();
    assert!(listed.iter().all(|d| d.id != dev(KELLY_AUTH)));
    let e = err(client.remove_mfa_factors(KELLY, &dev(KELLY_AUTH)).await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(e.message, "Factor could not be found");
    let e = err(client.remove_mfa_factors(999, &dev(KELLY_AUTH)).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn temporary_mfa_token_issued_and_usable_once() {
    let sim = Sim::start().await;
    let client = sim.manage();
    let token = client
        .generate_mfa_token(CARISSA, Some(300), false)
        .await
        .unwrap();
    assert!(!token.reusable);
    let left = (token.expires_at.unwrap() - sim.ctl.now()).num_seconds();
    assert!((280..=300).contains(&left), "{left}");
    assert!(!format!("{token:?}").contains(token.mfa_token.expose()));
    let zero = DeviceId::from(0);
    assert_eq!(
        client
            .verify_mfa_factor(CARISSA, &zero, None, Some(&token.mfa_token))
            .await,
        Ok(VerifyOutcome::Verified)
    );
    let e = err(client
        .verify_mfa_factor(CARISSA, &zero, None, Some(&token.mfa_token))
        .await);
    assert_eq!(e.kind, ErrorKind::WrongCode);
    assert_no_secrets(&e, &[token.mfa_token.expose()]);

    let reusable = client
        .generate_mfa_token(CARISSA, None, true)
        .await
        .unwrap();
    assert!(reusable.reusable);
    let left = (reusable.expires_at.unwrap() - sim.ctl.now()).num_hours();
    assert!((71..=72).contains(&left), "{left}");

    let e = err(client
        .generate_mfa_token(CARISSA, Some(999_999), false)
        .await);
    assert_eq!(e.kind, ErrorKind::BadRequest);
    let e = err(client.generate_mfa_token(999, None, false).await);
    assert_eq!(e.kind, ErrorKind::NotFound);
}

// ------------------------------------------------------------------------------------------
// Scopes

#[tokio::test]
async fn read_only_credential_reads_and_every_write_is_refused() {
    let sim = Sim::start().await;
    let client = sim.read_only();
    client.get_user(KELLY).await.unwrap();
    client.search_users(&UserQuery::default()).await.unwrap();
    client.get_enrolled_factors(KELLY).await.unwrap();
    client.get_mfa_factors(KELLY).await.unwrap();
    client.get_rate_limit().await.unwrap();

    let code = Secret::new("123456");
    let errors = vec![
        err(client
            .enroll_mfa_factor(CARISSA, SMS_FACTOR, "x", "+14155550100", false)
            .await),
        err(client
            .activate_mfa_factors(KELLY, &dev(KELLY_SMS), None, None, None)
            .await),
        err(client
            .verify_mfa_factor(KELLY, &dev(KELLY_AUTH), None, Some(&code))
            .await),
        err(client.remove_mfa_factors(KELLY, &dev(KELLY_AUTH)).await),
        err(client.generate_mfa_token(KELLY, None, false).await),
    ];
    for e in errors {
        assert_eq!(e.kind, ErrorKind::InsufficientPermission, "{e}");
        assert_eq!(e.status, Some(401));
        assert_eq!(e.message, "Insufficient Permission");
    }
    // Insufficient Permission is not a token problem: the one token is kept.
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 1);
    assert_eq!(sim.ctl.devices(KELLY).len(), 2, "nothing was removed");
}
