//! Events end to end: the real loop with scripted keys against the demo tenant over HTTP.

mod support;

use crossterm::event::KeyCode;
use support::{Console, open_user};

const STEPHANIE: i64 = 36216767;

/// Pushes Stephanie denied on the demo phone (events 950).
fn denials(ctl: &mfadesk::sim::SimControl) -> usize {
    ctl.events()
        .iter()
        .filter(|e| e.user_id == Some(STEPHANIE) && e.event_type_id == 950)
        .count()
}

#[tokio::test]
async fn three_denied_pushes_withdraw_the_push_from_the_caller_check() {
    let mut c = Console::start().await;
    open_user(&mut c, "stephanie", "Stephanie Gilmore").await;
    for round in 1..=3 {
        c.key(KeyCode::Char('c'));
        let s = c.wait_text("Check caller").await;
        assert!(!s.contains("Push not offered"), "round {round}: {s}");
        c.key(KeyCode::Enter);
        let s = c
            .wait_text("Waiting for the caller to approve the push")
            .await;
        assert!(s.contains("Push sent to OneLogin Protect"), "{s}");
        // The demo phone's x denies it (event 950).
        c.key(KeyCode::Char('x'));
        let ctl = c.ctl();
        // Recorded by the tenant, and seen by the check (not only the pane line of the last one).
        c.wait_for("the denial seen", |s| {
            denials(&ctl) == round
                && s.contains("push denied")
                && !s.contains("Waiting for the caller")
        })
        .await;
        c.key(KeyCode::Esc);
        c.wait_idle().await;
    }
    assert_eq!(denials(&c.ctl()), 3);
    // The events were read again after each denial: the user pane says so, and the caller
    // check no longer offers the push.
    let s = c.wait_text("⚠ 3 denied pushes in the last hour").await;
    assert!(s.contains("── Signals"), "{s}");
    c.key(KeyCode::Char('c'));
    let s = c
        .wait_text("Push not offered: 3 denied pushes in the last hour. Check with a code.")
        .await;
    // The dialog's device rows: Protect's code and the voice call, no push.
    let rows: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("They prove it"))
        .take_while(|l| !l.contains("Enter checks"))
        .filter(|l| l.contains("OneLogin"))
        .collect();
    assert_eq!(rows.len(), 2, "{s}");
    assert!(
        rows.iter().all(|l| !l.contains(" push ")),
        "no push offered: {s}"
    );
    assert!(rows[0].contains("code"), "{s}");
    c.key(KeyCode::Esc);
    c.wait_for("the check closed", |s| !s.contains("┌ Check caller"))
        .await;
    c.quit().await;
}

#[tokio::test]
async fn history_view_shows_the_tenants_events() {
    let mut c = Console::start().await;
    c.ctl().login(STEPHANIE, false, Some("203.0.113.77"));
    open_user(&mut c, "stephanie", "Stephanie Gilmore").await;
    c.key(KeyCode::Char('h'));
    let s = c.wait_text("History · Stephanie Gilmore").await;
    let s = if s.contains("203.0.113.77") {
        s
    } else {
        c.wait_text("203.0.113.77").await
    };
    assert!(s.contains("User failed onelogin login"), "{s}");
    c.key(KeyCode::Enter);
    let s = c.wait_text("Event · Stephanie Gilmore").await;
    assert!(s.contains("ipaddr"), "{s}");
    c.key(KeyCode::Esc);
    c.key(KeyCode::Esc);
    c.wait_for("the history closed", |s| !s.contains("┌ History"))
        .await;
    c.quit().await;
}

/// Figures for the README (`cargo test --test e2e_events -- --ignored --nocapture`): opening a
/// user with 200 ms of tenant latency (one round trip is about 200 ms; three in a row would be
/// 600), and key to screen for `h` and `j` in the history view.
#[tokio::test]
#[ignore]
async fn figures_open_round_trip_and_key_to_screen() {
    use mfadesk::sim::SimConfig;
    let config = SimConfig {
        latency_ms: 200,
        ..SimConfig::default()
    };
    let mut c = Console::start_with(config, |_| {}).await;
    c.wait_idle().await;
    let mut opens = Vec::new();
    for (query, name) in [
        ("stephanie", "Stephanie Gilmore"),
        ("noah", "Noah Garcia"),
        ("olivia", "Olivia Okafor"),
        ("gabriel", "Gabriel Medina"),
        ("liam", "Liam Patel"),
    ] {
        c.key(KeyCode::Char('/'));
        c.type_text(query);
        c.key(KeyCode::Enter);
        c.wait_for("result", |s| {
            s.lines().any(|l| l.contains("> ") && l.contains(name))
        })
        .await;
        c.wait_idle().await;
        let start = std::time::Instant::now();
        c.key(KeyCode::Enter);
        let title = format!("┌ {name} ·");
        c.wait_for("opening", move |s| s.contains(&title)).await;
        c.wait_idle().await;
        opens.push(start.elapsed());
    }
    eprintln!("open a user (devices, factors, 14 days of events) at 200 ms latency: {opens:?}");
    let mut keys = Vec::new();
    for _ in 0..10 {
        let start = std::time::Instant::now();
        c.key(KeyCode::Char('h'));
        c.wait_text("┌ History").await;
        keys.push(start.elapsed());
        c.key(KeyCode::Esc);
        c.wait_for("closed", |s| !s.contains("┌ History")).await;
    }
    eprintln!("h to the history on screen: {keys:?}");
    c.quit().await;
}

#[tokio::test]
async fn history_and_signals_work_in_read_only_mode_with_a_read_users_credential() {
    use support::Options;
    let opts = Options {
        client_id: mfadesk::sim::DEMO_READ_CLIENT_ID,
        client_secret: mfadesk::sim::DEMO_READ_CLIENT_SECRET,
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |app| app.tenant.read_only = true).await;
    // Noah Garcia is the built-in demo's push-bombed user.
    open_user(&mut c, "noah", "Noah Garcia").await;
    let s = c.wait_text("⚠ 5 denied pushes in the last hour").await;
    assert!(s.contains("── Signals"), "{s}");
    c.key(KeyCode::Char('h'));
    let s = c.wait_text("History · Noah Garcia").await;
    assert!(s.contains("Ol otp push reject"), "{s}");
    c.key(KeyCode::Esc);
    c.wait_for("the history closed", |s| !s.contains("┌ History"))
        .await;
    c.quit().await;
}
