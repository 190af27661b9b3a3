//! Retries, rate limiting, timeouts, malformed answers and cancellation, against the demo
//! tenant's fault injection. Request counts on the tenant prove what went over the wire.

mod api_support;

use std::time::{Duration, Instant};

use api_support::*;
use mfadesk::api::{Client, ErrorKind, RetryPolicy, Secret, UserQuery};
use mfadesk::sim::{DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET, Fault, RouteKind};

#[tokio::test]
async fn get_is_retried_on_503_until_it_succeeds() {
    let sim = Sim::start().await;
    let client = sim.manage();
    sim.ctl
        .set_fault(RouteKind::Users, Fault::Status(503), Some(2));
    let page = client.search_users(&UserQuery::default()).await.unwrap();
    assert!(!page.users.is_empty());
    assert_eq!(sim.ctl.request_count(RouteKind::Users), 3);
}

#[tokio::test]
async fn get_gives_up_after_max_attempts_with_a_server_error() {
    let sim = Sim::start().await;
    let client = sim.manage();
    sim.ctl.set_fault(RouteKind::User, Fault::Status(503), None);
    let e = err(client.get_user(KELLY).await);
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.status, Some(503));
    assert_eq!(e.message, "503 Service Temporarily Unavailable");
    assert!(e.request_id.is_some());
    assert_eq!(sim.ctl.request_count(RouteKind::User), 3);

    sim.ctl.clear_faults();
    sim.ctl.set_fault(RouteKind::User, Fault::Status(500), None);
    let e = err(client.get_user(KELLY).await);
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.message, "Internal Server Error");
    assert_eq!(sim.ctl.request_count(RouteKind::User), 6);
}

#[tokio::test]
async fn retries_can_be_switched_off() {
    let sim = Sim::start().await;
    let mut config = sim.config(DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET);
    config.retry = RetryPolicy::none();
    let client = Client::new(config).unwrap();
    sim.ctl
        .set_fault(RouteKind::User, Fault::Status(502), Some(1));
    assert_eq!(err(client.get_user(KELLY).await).kind, ErrorKind::Server);
    assert_eq!(sim.ctl.request_count(RouteKind::User), 1);
}

#[tokio::test]
async fn get_is_retried_after_a_connection_reset() {
    let sim = Sim::start().await;
    let client = sim.manage();
    client.get_user(KELLY).await.unwrap();
    sim.ctl
        .set_fault(RouteKind::OtpDevices, Fault::ConnectionReset, Some(1));
    let devices = client.get_enrolled_factors(KELLY).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(sim.ctl.request_count(RouteKind::OtpDevices), 2);

    sim.ctl
        .set_fault(RouteKind::OtpDevices, Fault::ConnectionReset, None);
    let e = err(client.get_enrolled_factors(KELLY).await);
    assert_eq!(e.kind, ErrorKind::Network);
    assert_eq!(e.status, None);
    assert!(!e.message.contains("127.0.0.1"), "{}", e.message);
    assert_eq!(sim.ctl.request_count(RouteKind::OtpDevices), 5);
}

#[tokio::test]
async fn get_honours_a_short_retry_after() {
    let sim = Sim::start().await;
    let client = sim.manage();
    sim.ctl.set_fault(
        RouteKind::AuthFactors,
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
        Some(2),
    );
    client.get_mfa_factors(KELLY).await.unwrap();
    assert_eq!(sim.ctl.request_count(RouteKind::AuthFactors), 3);
}

#[tokio::test]
async fn get_waits_the_retry_after_seconds() {
    let sim = Sim::start().await;
    let mut config = sim.config(DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET);
    config.retry.max_delay = Duration::from_secs(2);
    let client = Client::new(config).unwrap();
    sim.ctl.set_fault(
        RouteKind::User,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        Some(1),
    );
    let started = Instant::now();
    client.get_user(KELLY).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(sim.ctl.request_count(RouteKind::User), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_returned_at_once() {
    let sim = Sim::start().await;
    let client = sim.manage();
    sim.ctl.set_fault(
        RouteKind::User,
        Fault::TooManyRequests {
            retry_after_secs: 30,
        },
        Some(1),
    );
    let e = err(client.get_user(KELLY).await);
    assert_eq!(
        e.kind,
        ErrorKind::RateLimited {
            reset_secs: Some(30)
        }
    );
    assert_eq!(e.status, Some(429));
    assert_eq!(sim.ctl.request_count(RouteKind::User), 1);
}

#[tokio::test]
async fn spent_hourly_budget_is_rate_limited_with_the_reset_time() {
    let sim = Sim::start().await;
    let client = sim.manage();
    sim.ctl.set_rate_limit(3);
    // The token request spends one call of the budget too.
    client.get_user(KELLY).await.unwrap();
    client.get_user(STEPH).await.unwrap();
    assert_eq!(client.rate_limit().and_then(|r| r.remaining), Some(0));
    let e = err(client.get_user(JOHN).await);
    let ErrorKind::RateLimited {
        reset_secs: Some(reset),
    } = e.kind
    else {
        panic!("expected RateLimited with a reset, got {e:?}");
    };
    assert!(reset > 3000 && reset <= 3600, "{reset}");
    assert_eq!(e.status, Some(429));
    assert_eq!(e.title(), "Rate limited");
    // An hour is far beyond the back-off cap: no retry burns more of the budget.
    assert_eq!(sim.ctl.request_count(RouteKind::User), 3);
    let limit = client.rate_limit().unwrap();
    assert_eq!(limit.limit, Some(3));
    assert_eq!(limit.remaining, Some(0));

    // The window rolls over on the tenant clock.
    sim.ctl.advance_clock(3601);
    client.get_user(JOHN).await.unwrap();
}

#[tokio::test]
async fn posts_and_deletes_are_never_retried() {
    let sim = Sim::start().await;
    let client = sim.manage();
    client.get_user(KELLY).await.unwrap();
    let code = Secret::new("123456");

    for fault in [Fault::Status(503), Fault::ConnectionReset] {
        sim.ctl.clear_faults();
        for route in [
            RouteKind::Enroll,
            RouteKind::Trigger,
            RouteKind::Verify,
            RouteKind::Remove,
            RouteKind::MfaToken,
        ] {
            sim.ctl.set_fault(route, fault.clone(), None);
        }
        let expected = match fault {
            Fault::ConnectionReset => ErrorKind::Network,
            _ => ErrorKind::Server,
        };
        let results = [
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
        for e in results {
            assert_eq!(e.kind, expected, "{e}");
        }
    }
    for route in [
        RouteKind::Enroll,
        RouteKind::Trigger,
        RouteKind::Verify,
        RouteKind::Remove,
        RouteKind::MfaToken,
    ] {
        assert_eq!(sim.ctl.request_count(route), 2, "{route:?}");
    }
    assert!(sim.ctl.outbox().is_empty());
    assert_eq!(sim.ctl.devices(KELLY).len(), 2);
}

#[tokio::test]
async fn a_post_answered_429_is_not_retried() {
    let sim = Sim::start().await;
    let client = sim.manage();
    sim.ctl.set_fault(
        RouteKind::Trigger,
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
        Some(1),
    );
    let e = err(client
        .activate_mfa_factors(KELLY, &dev(KELLY_SMS), None, None, None)
        .await);
    assert_eq!(
        e.kind,
        ErrorKind::RateLimited {
            reset_secs: Some(0)
        }
    );
    assert_eq!(sim.ctl.request_count(RouteKind::Trigger), 1);
}

#[tokio::test]
async fn malformed_json_is_a_malformed_response_and_not_retried() {
    let sim = Sim::start().await;
    let client = sim.manage();
    for route in [
        RouteKind::Users,
        RouteKind::User,
        RouteKind::OtpDevices,
        RouteKind::AuthFactors,
        RouteKind::RateLimit,
        RouteKind::Trigger,
        RouteKind::Verify,
        RouteKind::MfaToken,
        RouteKind::Enroll,
    ] {
        sim.ctl.set_fault(route, Fault::MalformedJson, Some(1));
    }
    let code = Secret::new("123456");
    let results = [
        err(client.search_users(&UserQuery::default()).await),
        err(client.get_user(KELLY).await),
        err(client.get_enrolled_factors(KELLY).await),
        err(client.get_mfa_factors(KELLY).await),
        err(client.get_rate_limit().await),
        err(client
            .activate_mfa_factors(KELLY, &dev(KELLY_SMS), None, None, None)
            .await),
        err(client
            .verify_mfa_factor(KELLY, &dev(KELLY_AUTH), None, Some(&code))
            .await),
        err(client.generate_mfa_token(KELLY, None, false).await),
        err(client
            .enroll_mfa_factor(CARISSA, SMS_FACTOR, "x", "+14155550100", false)
            .await),
    ];
    for e in results {
        assert_eq!(e.kind, ErrorKind::MalformedResponse, "{e}");
        assert_eq!(e.status, Some(200));
        assert!(e.request_id.is_some());
    }
    assert_eq!(sim.ctl.request_count(RouteKind::Users), 1);
    assert_eq!(sim.ctl.request_count(RouteKind::User), 1);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_not_retried() {
    let sim = Sim::start().await;
    let mut config = sim.config(DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET);
    config.request_timeout = Duration::from_millis(200);
    let client = Client::new(config).unwrap();
    client.get_user(KELLY).await.unwrap();
    sim.ctl.set_fault(
        RouteKind::User,
        Fault::Delay(Duration::from_secs(5)),
        Some(1),
    );
    let started = Instant::now();
    let e = err(client.get_user(KELLY).await);
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert_eq!(e.title(), "Timed out");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(sim.ctl.request_count(RouteKind::User), 2);
    // The client is fine afterwards.
    client.get_user(STEPH).await.unwrap();
}

#[tokio::test]
async fn a_dropped_call_leaves_the_client_usable() {
    let sim = Sim::start().await;
    let client = sim.manage();
    // Cancel while the token fetch is in flight (the cache lock is held then).
    sim.ctl.set_fault(
        RouteKind::Token,
        Fault::Delay(Duration::from_secs(5)),
        Some(1),
    );
    let cancelled = tokio::time::timeout(Duration::from_millis(100), client.get_user(KELLY)).await;
    assert!(cancelled.is_err());
    let user = tokio::time::timeout(Duration::from_secs(3), client.get_user(KELLY))
        .await
        .expect("the next call is not stuck behind the cancelled one")
        .unwrap();
    assert_eq!(user.id, KELLY);
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 2);
}

#[tokio::test]
async fn token_endpoint_failures_surface_and_are_retried_for_gets() {
    let sim = Sim::start().await;
    let client = sim.manage();
    sim.ctl
        .set_fault(RouteKind::Token, Fault::Status(503), Some(1));
    client.get_user(KELLY).await.unwrap();
    assert_eq!(sim.ctl.request_count(RouteKind::Token), 2);

    let fresh = sim.manage();
    sim.ctl
        .set_fault(RouteKind::Token, Fault::Status(503), Some(1));
    let e = err(fresh.generate_mfa_token(KELLY, None, false).await);
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(sim.ctl.request_count(RouteKind::MfaToken), 0);
}

#[tokio::test]
async fn nothing_listening_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let sim = Sim::start().await;
    let mut config = sim.config(DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET);
    config.base_url = format!("http://{addr}");
    let client = Client::new(config).unwrap();
    let e = err(client.get_user(KELLY).await);
    assert_eq!(e.kind, ErrorKind::Network);
    assert!(e.message.starts_with("could not connect"), "{}", e.message);
    assert_no_secrets(&e, &[DEMO_MANAGE_CLIENT_SECRET]);
}
