//! The events client (spec §9) over real HTTP: against the demo tenant, and against a small
//! scripted server on loopback for what the tenant does not do (string ids, an unknown type,
//! a `next_link` naming another host).

mod api_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_support::*;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mfadesk::api::{Client, ClientConfig, Credentials, EventQuery, RetryPolicy, Secret};
use mfadesk::sim::NewEvent;
use serde_json::json;

#[tokio::test]
async fn demo_tenant_events_follow_the_cursor_with_the_same_filters() {
    let sim = Sim::start().await;
    for i in 0..5 {
        sim.ctl.record_event(NewEvent {
            event_type_id: if i % 2 == 0 { 950 } else { 1002 },
            user_id: Some(CARISSA),
            ..NewEvent::default()
        });
    }
    sim.ctl.record_event(NewEvent {
        event_type_id: 5,
        user_id: Some(CARISSA),
        ..NewEvent::default()
    });
    let client = sim.read_only();
    // Pages of two: three requests, newest first, the type filter kept on every page.
    let q = EventQuery {
        user_id: Some(CARISSA),
        event_type_ids: vec![950, 1002],
        limit: Some(2),
        ..EventQuery::default()
    };
    let events = client.get_events(&q, 10).await.unwrap();
    let types: Vec<i64> = events.iter().map(|e| e.event_type_id).collect();
    assert_eq!(types, vec![950, 1002, 950, 1002, 950]);
    let ids: Vec<i64> = events.iter().map(|e| e.id.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert!(
        events
            .iter()
            .all(|e| e.user_name.as_deref() == Some("Carissa Moore"))
    );
    // Bounded in pages: two pages at most give four events.
    assert_eq!(client.get_events(&q, 2).await.unwrap().len(), 4);
    // A single type in the comma form.
    let only = EventQuery {
        user_id: Some(CARISSA),
        event_type_ids: vec![5],
        ..EventQuery::default()
    };
    assert_eq!(client.get_events(&only, 5).await.unwrap().len(), 1);
    let types = client.event_types().await.unwrap();
    assert_eq!(types.name(950), "OL_OTP_PUSH_REJECT");
    assert_eq!(types.name(31337), "event 31337");
}

/// What the scripted tenant saw.
#[derive(Clone, Default)]
struct Seen {
    queries: Arc<Mutex<Vec<String>>>,
    types_calls: Arc<AtomicUsize>,
    next_link: Arc<Mutex<String>>,
}

async fn token() -> impl IntoResponse {
    axum::Json(
        json!({"access_token":"scripted-events-token-1","created_at":null,"expires_in":36000,"token_type":"bearer"}),
    )
}

/// Two pages: the first names `next_link` on another host, the second ends.
async fn events(State(seen): State<Seen>, RawQuery(q): RawQuery) -> impl IntoResponse {
    let q = q.unwrap_or_default();
    seen.queries.lock().unwrap().push(q.clone());
    let link = seen.next_link.lock().unwrap().clone();
    if q.contains("after_cursor=page2") {
        axum::Json(json!({
            "status": {"error": false, "code": 200, "type": "success", "message": "Success"},
            "pagination": {"before_cursor": null, "after_cursor": null, "previous_link": null, "next_link": null},
            "data": [{"id": 41, "created_at": "2026-12-01T10:00:00.000Z", "event_type_id": 31337,
                      "user_id": 7, "ipaddr": "198.51.100.4"}]
        }))
    } else {
        axum::Json(json!({
            "status": {"error": false, "code": 200, "type": "success", "message": "Success"},
            "pagination": {"before_cursor": null, "after_cursor": "page2", "previous_link": null,
                           "next_link": link},
            "data": [{"id": "42", "created_at": "2026-12-01T11:00:00.000Z", "event_type_id": "950",
                      "user_id": "7", "otp_device_id": "900", "risk_score": "88",
                      "risk_reasons": "new country\nTor exit node"}]
        }))
    }
}

async fn types(State(seen): State<Seen>) -> impl IntoResponse {
    seen.types_calls.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({
        "status": {"error": false, "code": 200, "type": "success", "message": "Success"},
        "data": [{"id": "950", "name": "OL_OTP_PUSH_REJECT", "description": "x"}]
    }))
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn client(base: String) -> Client {
    let mut config = ClientConfig::new(
        base,
        Credentials {
            client_id: "scripted-id".into(),
            client_secret: Secret::new("scripted-secret-events"),
        },
    );
    config.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    Client::new(config).unwrap()
}

#[tokio::test]
async fn scripted_tenant_string_ids_unknown_type_and_next_link_never_followed() {
    // The host next_link names: it must never be asked anything.
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let hits = elsewhere_hits.clone();
    let elsewhere = serve(Router::new().fallback(move || {
        hits.fetch_add(1, Ordering::SeqCst);
        async { "{}" }
    }))
    .await;
    let seen = Seen::default();
    *seen.next_link.lock().unwrap() = format!("{elsewhere}/api/1/events?after_cursor=page2");
    let app = Router::new()
        .route("/auth/oauth2/v2/token", post(token))
        .route("/api/1/events", get(events))
        .route("/api/1/events/types", get(types))
        .with_state(seen.clone());
    let client = client(serve(app).await);
    let q = EventQuery {
        user_id: Some(7),
        event_type_ids: vec![950, 31337],
        ..EventQuery::default()
    };
    let events = client.get_events(&q, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    let first = &events[0];
    assert_eq!(first.id, "42");
    assert_eq!(first.event_type_id, 950);
    assert_eq!(first.user_id, Some(7));
    assert_eq!(first.otp_device_id.as_deref(), Some("900"));
    assert_eq!(first.risk_score, Some(88));
    assert_eq!(
        first.risk_reasons.as_deref(),
        Some("new country\nTor exit node")
    );
    assert_eq!(events[1].id, "41");
    // The same filters went with the cursor, in the comma form; the other host saw nothing.
    let queries = seen.queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 2);
    for q in &queries {
        assert!(q.contains("event_type_id=950%2C31337"), "{q}");
        assert!(q.contains("user_id=7"), "{q}");
    }
    assert!(queries[1].contains("after_cursor=page2"));
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
    // Type names: asked once per session, an unknown id reads `event <id>`.
    let types = client.event_types().await.unwrap();
    assert_eq!(types.name(950), "OL_OTP_PUSH_REJECT");
    assert_eq!(types.name(31337), "event 31337");
    let again = client.event_types().await.unwrap();
    assert_eq!(again.name(950), "OL_OTP_PUSH_REJECT");
    assert_eq!(seen.types_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_cursor_that_repeats_ends_the_paging() {
    async fn same_cursor() -> impl IntoResponse {
        axum::Json(json!({
            "pagination": {"after_cursor": "again"},
            "data": [{"id": 1, "event_type_id": 5}]
        }))
    }
    let app = Router::new()
        .route("/auth/oauth2/v2/token", post(token))
        .route("/api/1/events", get(same_cursor));
    let client = client(serve(app).await);
    let events = client.get_events(&EventQuery::default(), 50).await.unwrap();
    // The same id on every page is kept once.
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn the_built_in_demo_tells_its_stories() {
    use mfadesk::ops::signals::{SignalName, signals};
    let sim = Sim::start().await;
    let client = sim.read_only();
    let now = sim.ctl.now();
    let story = |id: i64| {
        let client = client.clone();
        async move {
            let user = client.get_user(id).await.unwrap();
            let q = EventQuery {
                user_id: Some(id),
                since: Some(now - chrono::TimeDelta::days(14)),
                ..EventQuery::default()
            };
            let events = client.get_events(&q, 5).await.unwrap();
            signals(&user, &events, now)
                .into_iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
        }
    };
    // Noah Garcia: being push-bombed right now, failed sign-ins from abroad.
    assert_eq!(
        story(36216802).await,
        vec![SignalName::PushBombing, SignalName::FailedLogins]
    );
    // Olivia Okafor: the phone number changed yesterday, a new device today.
    assert_eq!(
        story(36216804).await,
        vec![SignalName::DeviceChanged, SignalName::PhoneChanged]
    );
    // Liam Patel: a temporary token issued two hours ago.
    assert_eq!(story(36216801).await, vec![SignalName::TempTokenLive]);
    // Gabriel Medina: locked by the failed sign-ins that locked him.
    assert_eq!(
        story(36216770).await,
        vec![SignalName::Locked, SignalName::FailedLogins]
    );
}
