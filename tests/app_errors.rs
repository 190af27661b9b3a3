//! Errors that explain themselves: the start-up connection, whole messages, the spent budget,
//! the tenant's clock, and the audit view.

mod common;
mod support;

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures::channel::mpsc;
use mfadesk::api::{
    ApiError, Client, ClientConfig, Credentials, ErrorKind, RateLimit, ResponseMeta, RetryPolicy,
};
use mfadesk::app::{App, Msg, TenantInfo, update};
use mfadesk::runtime::{self, Io};
use mfadesk::worker::{ApiEvent, ApiRequest, ApiResponse};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::watch;

use common::*;

const WAIT: Duration = Duration::from_secs(20);

/// The loop against any base URL, with the screen readable after each draw.
struct Loop {
    keys: mpsc::UnboundedSender<std::io::Result<Event>>,
    screen: watch::Receiver<String>,
    task: tokio::task::JoinHandle<Result<App, runtime::RunError>>,
}

impl Loop {
    fn start(base_url: &str, secret: &str) -> Loop {
        let creds = Credentials {
            client_id: "demo-manage".into(),
            client_secret: secret.into(),
        };
        let mut config = ClientConfig::new(base_url, creds);
        config.retry = RetryPolicy::none();
        config.connect_timeout = Duration::from_secs(5);
        let client = Client::new(config).expect("client");
        let tenant = TenantInfo {
            name: "acme".into(),
            base_url: base_url.into(),
            ..TenantInfo::default()
        };
        let app = App::new(tenant, chrono::Utc::now());
        let (keys, events) = mpsc::unbounded();
        let (tx, screen) = watch::channel(String::new());
        let io = Io {
            client,
            phone: None,
            audit: None,
            clipboard: Box::new(std::io::sink()),
            clock: chrono::Utc::now,
            stop: None,
            on_draw: Some(Box::new(move |_, buffer| {
                let _ = tx.send(buffer_text(buffer));
            })),
        };
        let task = tokio::spawn(async move {
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
            runtime::run(app, &mut terminal, events, io).await
        });
        Loop { keys, screen, task }
    }

    fn key(&self, code: KeyCode) {
        let _ = self
            .keys
            .unbounded_send(Ok(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))));
    }

    async fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let current = self.screen.borrow_and_update().clone();
            if pred(&current) {
                return current;
            }
            if tokio::time::timeout_at(deadline, self.screen.changed())
                .await
                .is_err()
            {
                panic!("timed out waiting for {what}; screen:\n{current}");
            }
        }
    }

    async fn quit(self) {
        let _ = self.keys.unbounded_send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        ))));
        let _ = tokio::time::timeout(WAIT, self.task).await;
    }
}

/// A screen whose dialog names the connection failure (the dialog wraps, so words are joined).
fn flat(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn connect_failure(base_url: &str, secret: &str, expect: &[&str]) {
    let mut c = Loop::start(base_url, secret);
    let screen = c
        .wait_for("the connection dialog", |s| {
            s.contains("Could not connect to acme")
        })
        .await;
    let text = flat(&screen);
    for e in expect {
        assert!(text.contains(e), "{e:?} missing from:\n{screen}");
    }
    assert!(text.contains("r tries again"), "{screen}");
    // The console stays usable: the dialog goes, help opens.
    c.key(KeyCode::Esc);
    c.wait_for("dialog closed", |s| !s.contains("Could not connect"))
        .await;
    c.key(KeyCode::Char('?'));
    c.wait_for("help", |s| s.contains("┌ Help")).await;
    c.key(KeyCode::Esc);
    c.wait_for("help closed", |s| !s.contains("┌ Help")).await;
    // r tries again: the dialog comes back with the same cause.
    c.key(KeyCode::Char('r'));
    c.wait_for("the dialog again", |s| {
        s.contains("Could not connect to acme")
    })
    .await;
    c.quit().await;
}

#[tokio::test]
async fn wrong_credentials_name_the_client_id_and_secret() {
    let sim = mfadesk::sim::DemoTenant::start(Default::default())
        .await
        .expect("sim");
    connect_failure(
        &sim.base_url(),
        "not-the-secret",
        &["refused the API credentials", "client id and secret"],
    )
    .await;
}

#[tokio::test]
async fn a_refused_connection_names_the_base_url_and_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    connect_failure(
        &format!("http://127.0.0.1:{port}"),
        "x-secret",
        &["connection refused", "base URL or subdomain", "network"],
    )
    .await;
}

#[tokio::test]
async fn a_tls_failure_says_it_is_not_the_tenants_https_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Plain HTTP where TLS is expected.
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    connect_failure(
        &format!("https://127.0.0.1:{port}"),
        "x-secret",
        &["TLS", "base URL or subdomain"],
    )
    .await;
}

#[tokio::test]
async fn an_unknown_host_name_says_dns() {
    connect_failure(
        "https://mfadesk-test.invalid",
        "x-secret",
        &["host name was not found", "base URL or subdomain"],
    )
    .await;
}

fn event(id: u64, response: ApiResponse) -> Msg {
    Msg::Api(Box::new(ApiEvent {
        id,
        response,
        rate_limit: None,
        meta: Default::default(),
        mfa_api: None,
    }))
}

#[test]
fn r_retries_the_connection_and_success_clears_the_dialog() {
    let mut app = new_app();
    let (id, req) = one_request(&app.startup());
    assert_eq!(req, ApiRequest::RateLimit);
    let refused = ApiError::new(
        ErrorKind::Network,
        "could not connect to the tenant: Connection refused (os error 111)",
    );
    update(&mut app, event(id, ApiResponse::RateLimit(Err(refused))));
    assert_eq!(app.dialogs.len(), 1, "the failure is a dialog at once");
    // r in the dialog retries, with no user open.
    let (id, req) = one_request(&ch(&mut app, 'r'));
    assert_eq!(req, ApiRequest::RateLimit);
    assert!(
        app.dialogs.is_empty(),
        "the old failure goes while it retries"
    );
    update(
        &mut app,
        event(
            id,
            ApiResponse::RateLimit(Ok(RateLimit {
                limit: Some(5000),
                remaining: Some(4999),
                reset_secs: Some(100),
            })),
        ),
    );
    assert!(app.connection.is_none());
    assert!(app.dialogs.is_empty());
    assert!(screen(&app, 120, 40).contains("Connected to acme"));
    // Connected: r with no user open is no longer a connection retry.
    assert!(requests(&ch(&mut app, 'r')).is_empty());
}

#[test]
fn r_at_top_level_retries_after_the_dialog_is_dismissed() {
    let mut app = new_app();
    let (id, _) = one_request(&app.startup());
    let unauthorised = api_error(ErrorKind::Unauthorized, Some(401), "Authentication Failure");
    update(
        &mut app,
        event(id, ApiResponse::RateLimit(Err(unauthorised))),
    );
    esc(&mut app);
    assert!(app.dialogs.is_empty());
    assert!(screen(&app, 120, 40).contains(" r "), "the footer offers r");
    let (_, req) = one_request(&ch(&mut app, 'r'));
    assert_eq!(req, ApiRequest::RateLimit);
}

#[test]
fn a_scope_problem_on_the_budget_call_is_not_a_connection_failure() {
    let mut app = new_app();
    let (id, _) = one_request(&app.startup());
    let e = api_error(ErrorKind::NotFound, Some(404), "Not Found");
    update(&mut app, event(id, ApiResponse::RateLimit(Err(e))));
    assert!(app.dialogs.is_empty());
    assert!(app.connection.is_none());
}

// ---- 12: whole messages, the log ---------------------------------------------------------

#[test]
fn the_error_dialog_wraps_the_whole_message_with_status_and_request_id() {
    let mut app = app_with_kelly();
    let long = "The device could not be removed because the policy assigned to this user \
                requires at least one active factor; assign another factor first and then try \
                again. END-OF-MESSAGE";
    let (id, _) = one_request(&app.startup());
    let e = ApiError {
        kind: ErrorKind::Server,
        status: Some(503),
        message: long.into(),
        request_id: Some("req-abc-123".into()),
    };
    update(&mut app, event(id, ApiResponse::RateLimit(Err(e))));
    for (w, h) in [(80, 24), (120, 40)] {
        let text = flat(&screen(&app, w, h));
        assert!(text.contains("END-OF-MESSAGE"), "{w}×{h}: cut:\n{text}");
        assert!(text.contains("HTTP 503"), "{text}");
        assert!(text.contains("req-abc-123"), "{text}");
    }
}

#[test]
fn the_final_error_of_a_failed_call_is_logged_at_the_default_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mfadesk.log");
    let subscriber =
        mfadesk::logging::build_subscriber(&path, mfadesk::config::DEFAULT_LOG_LEVEL).expect("log");
    tracing::subscriber::with_default(subscriber, || {
        let e = api_error(ErrorKind::NotFound, Some(404), "User not found");
        mfadesk::worker::log_failure("get user", &ApiResponse::User(Err(e)));
        let ok = ApiResponse::Removed(Ok(()));
        mfadesk::worker::log_failure("remove", &ok);
    });
    let log = std::fs::read_to_string(&path).expect("read log");
    assert!(log.contains("call failed: User not found"), "{log}");
    assert!(
        log.contains("get user") && log.contains("404") && log.contains("req-7f3a9c"),
        "{log}"
    );
    assert!(
        !log.contains("remove"),
        "a success is not an error line: {log}"
    );
}

// ---- 13: the spent budget -----------------------------------------------------------------

fn budget(app: &mut App, remaining: u64, reset: u64) {
    update(
        app,
        Msg::Api(Box::new(ApiEvent {
            id: 999_999,
            response: ApiResponse::RateLimit(Ok(RateLimit::default())),
            rate_limit: Some(RateLimit {
                limit: Some(5000),
                remaining: Some(remaining),
                reset_secs: Some(reset),
            }),
            meta: ResponseMeta::default(),
            mfa_api: None,
        })),
    );
}

#[test]
fn a_spent_budget_counts_down_in_the_header_and_ticks_only_while_shown() {
    let mut app = new_app();
    budget(&mut app, 12, 600);
    assert!(!screen(&app, 120, 40).contains("resets in"));
    assert!(!app.needs_tick());
    budget(&mut app, 0, 125);
    assert!(screen(&app, 120, 40).contains("API 0/5 000 · resets in 02:05"));
    assert!(
        app.needs_tick(),
        "the countdown ticks while it is on screen"
    );
    app.now += secs(65);
    tick(&mut app);
    assert!(screen(&app, 120, 40).contains("resets in 01:00"));
    assert!(screen(&app, 80, 24).contains("resets in 01:00"));
    app.now += secs(61);
    assert!(!screen(&app, 120, 40).contains("resets in"));
    assert!(!app.needs_tick(), "no tick once it has reset");
}

#[test]
fn a_429_spends_the_budget_and_pane_errors_say_when_it_resets() {
    let mut app = new_app();
    budget(&mut app, 40, 900);
    let cmds = {
        ch(&mut app, '/');
        type_text(&mut app, "kelly");
        enter(&mut app)
    };
    let (id, _) = one_request(&cmds);
    let e = ApiError {
        kind: ErrorKind::RateLimited {
            reset_secs: Some(754),
        },
        status: Some(429),
        message: "Too Many Requests".into(),
        request_id: None,
    };
    update(&mut app, event(id, ApiResponse::Search(Err(e))));
    let s = screen(&app, 120, 40);
    assert!(s.contains("API 0/5 000 · resets in 12:34"), "{s}");
    assert!(
        app.search
            .message
            .as_deref()
            .is_some_and(|m| m.contains("resets in 12:34")),
        "{:?}",
        app.search.message
    );
}

// ---- 14: the tenant's clock ---------------------------------------------------------------

/// The client moves every expiry onto our clock, once (tests/server_values.rs checks that over
/// HTTP); the console adds no second offset and still never counts past what it asked.
#[test]
fn the_console_applies_no_second_clock_offset_and_never_counts_past_what_was_asked() {
    let mut app = app_with_kelly();
    // The tenant's clock runs five minutes ahead of ours.
    let (id, _) = one_request(&app.startup());
    update(
        &mut app,
        Msg::Api(Box::new(ApiEvent {
            id,
            response: ApiResponse::RateLimit(Ok(RateLimit::default())),
            rate_limit: None,
            meta: ResponseMeta {
                status: Some(200),
                request_id: None,
                clock_offset: Some(chrono::Duration::minutes(5)),
            },
            mfa_api: None,
        })),
    );
    // Trigger the SMS device: the tenant says the token expires 120 s after *its* now.
    let cmds = ch(&mut app, 't');
    assert!(requests(&cmds).is_empty(), "the trigger dialog opens first");
    let (id, _) = one_request(&enter(&mut app));
    let tenant_now = now() + chrono::Duration::minutes(5);
    let device_id = app
        .user
        .as_ref()
        .and_then(|u| u.selected_device())
        .map(|d| d.id.clone())
        .expect("a device");
    let r = mfadesk::api::TriggerResult {
        device_id,
        state_token: "tok-abcdef-123456".into(),
        state_token_expires_at: Some(tenant_now + secs(120)),
        message: "sent".into(),
    };
    update(&mut app, event(id, ApiResponse::Triggered(Ok(r))));
    let expires = app.dialogs.iter().find_map(|d| match d {
        mfadesk::app::dialogs::Dialog::Verify(v) => v.expires_at,
        _ => None,
    });
    assert_eq!(
        expires,
        Some(now() + secs(120)),
        "120 s from our now, not 420 s"
    );
    assert!(screen(&app, 120, 40).contains("2:00"));
    // A temporary token's expiry likewise.
    app.dialogs.clear();
    let cmds = ch(&mut app, 'm');
    assert!(requests(&cmds).is_empty());
    let (id, _) = one_request(&enter(&mut app));
    let token = mfadesk::api::MfaToken {
        mfa_token: "55647655".into(),
        reusable: false,
        expires_at: Some(tenant_now + chrono::Duration::hours(1)),
    };
    update(&mut app, event(id, ApiResponse::MfaToken(Ok(token))));
    let issued = app.dialogs.iter().find_map(|d| match d {
        mfadesk::app::dialogs::Dialog::Token(t) => t.issued.as_ref().and_then(|i| i.expires_at),
        _ => None,
    });
    assert_eq!(
        issued,
        Some(tenant_now + chrono::Duration::hours(1)),
        "taken as the client gave it"
    );
}

// ---- 20: the audit view -------------------------------------------------------------------

/// An older line (before user and device names were recorded), a current one, a torn one.
fn trail_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("audit.jsonl");
    let old = r#"{"time":"2026-11-20T09:00:00.000Z","operator":"asmith","profile":null,"base_url":"https://acme.onelogin.com","user_id":36216766,"user_email":"kelly@acme.com","device_id":"525509","factor":"OneLogin SMS","action":"remove","outcome":"success","http_status":200,"request_id":"r1","reason":"INC-41 lost phone","message":null}"#;
    let new = r#"{"time":"2026-11-27T10:00:00.000Z","operator":"jdoe","profile":"prod","base_url":"https://acme.onelogin.com","user_id":36216767,"user_email":"stephanie@acme.com","user_name":"Stephanie Gilmore","device_id":"9","device_name":"Steph's iPhone","factor":"OneLogin Protect","action":"mfa_token","outcome":"failure","http_status":422,"request_id":"r2","reason":"CHG-7 travel","message":"Validation failed"}"#;
    std::fs::write(&path, format!("{old}\n{{\"torn\n{new}\n")).expect("write trail");
    path
}

#[test]
fn the_audit_view_reads_the_file_newest_first_and_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = trail_file(dir.path());
    let mut app = new_app();
    let cmds = ch(&mut app, 'A');
    assert!(cmds.contains(&mfadesk::app::Cmd::ReadAudit), "{cmds:?}");
    let read = mfadesk::audit::read_trail(&path).map_err(|e| e.to_string());
    update(&mut app, Msg::AuditRead(read));
    for (w, h) in [(80, 24), (120, 40)] {
        let s = screen(&app, w, h);
        let steph = s
            .find("Stephanie Gilmore")
            .expect("the newer entry, by name");
        let kelly = s.find("kelly@acme.com").expect("the older entry, by email");
        assert!(steph < kelly, "newest first:\n{s}");
        assert!(s.contains("FAILED") && s.contains("success"), "{s}");
        assert!(s.contains("1 unreadable line skipped"), "{s}");
    }
    let s = screen(&app, 120, 40);
    assert!(s.contains("\"Steph's iPhone\" (OneLogin Protect)"), "{s}");
    assert!(s.contains("reason: CHG-7 travel"), "{s}");
    assert!(s.contains("by asmith"), "{s}");
    // `/` filters by ticket text…
    ch(&mut app, '/');
    type_text(&mut app, "inc-41");
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("kelly@acme.com") && !s.contains("Stephanie"),
        "{s}"
    );
    // …Esc leaves the box, not the view; the filter stays.
    esc(&mut app);
    assert!(matches!(
        app.dialogs.last(),
        Some(mfadesk::app::dialogs::Dialog::Audit { .. })
    ));
    assert!(screen(&app, 120, 40).contains("Filter: inc-41"));
    // …by operator, and by user name.
    ch(&mut app, '/');
    key_mod(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    for _ in 0..6 {
        key(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "jdoe");
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("Stephanie") && !s.contains("kelly@acme.com"),
        "{s}"
    );
    for _ in 0..4 {
        key(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "gilmore");
    assert!(screen(&app, 120, 40).contains("1 entry"));
    enter(&mut app);
    esc(&mut app);
    assert!(app.dialogs.is_empty());
}

#[test]
fn without_a_trail_file_the_view_says_it_shows_this_session() {
    let mut app = new_app();
    ch(&mut app, 'A');
    update(&mut app, Msg::AuditRead(Err("no file".into())));
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("this session only") && s.contains("no file"),
        "{s}"
    );
}

#[tokio::test]
async fn a_in_the_console_shows_entries_from_earlier_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = trail_file(dir.path());
    let log = mfadesk::audit::AuditLog::open(&path).expect("open");
    let context = mfadesk::audit::AuditContext::new("jdoe", None, "http://127.0.0.1");
    let opts = support::Options {
        audit: Some(Box::new(mfadesk::console::FileAudit { log, context })),
        ..support::Options::default()
    };
    let mut c = support::Console::start_opts(opts, |_| {}).await;
    c.wait_idle().await;
    c.key(KeyCode::Char('A'));
    let s = c.wait_text("Stephanie Gilmore").await;
    assert!(s.contains("kelly@acme.com"), "{s}");
    c.key(KeyCode::Esc);
    c.wait_for("closed", |s| !s.contains("Audit trail")).await;
    c.quit().await;
}

// ---- 18, 19, 22 ----------------------------------------------------------------------------

#[test]
fn help_scrolls_with_j_k_g_g_and_pages() {
    let mut app = kelly_app_small();
    ch(&mut app, '?');
    let top = screen(&app, 80, 24);
    assert!(top.contains("1–"), "{top}");
    key(&mut app, KeyCode::PageDown);
    let paged = screen(&app, 80, 24);
    assert!(!paged.contains(" 1–"), "PgDn moved: {paged}");
    ch(&mut app, 'G');
    let end = screen(&app, 80, 24);
    assert!(
        end.contains("Home / End") && end.contains("Ctrl-U"),
        "{end}"
    );
    key(&mut app, KeyCode::PageUp);
    ch(&mut app, 'g');
    assert_eq!(screen(&app, 80, 24), top, "g is the top again");
    ch(&mut app, 'j');
    assert_ne!(screen(&app, 80, 24), top);
    ch(&mut app, 'k');
    assert_eq!(screen(&app, 80, 24), top);
}

fn kelly_app_small() -> App {
    let mut app = app_with_kelly();
    update(&mut app, Msg::Resize(80, 24));
    app
}

#[test]
fn a_field_search_with_no_match_suggests_the_prefix_form() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "email:kelly");
    let (id, _) = one_request(&enter(&mut app));
    update(&mut app, event(id, search_ok(vec![])));
    for (w, h) in [(80, 24), (120, 40)] {
        let s = flat(&screen(&app, w, h));
        assert!(s.contains("try email:kelly*"), "{w}×{h}: {s}");
        assert!(s.contains("for the start"), "{w}×{h}: {s}");
    }
}

#[test]
fn two_words_search_both_orders_and_last_comma_first_one_query() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "slater kelly");
    let (_, req) = one_request(&enter(&mut app));
    let ApiRequest::Search(queries) = req else {
        panic!("a search")
    };
    assert!(
        queries
            .iter()
            .any(|q| q.firstname.as_deref() == Some("kelly*")
                && q.lastname.as_deref() == Some("slater*"))
    );
    ch(&mut app, '/');
    type_text(&mut app, "Slater, Kelly");
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Search(q) if q.len() == 1
        && q[0].firstname.as_deref() == Some("Kelly*")
        && q[0].lastname.as_deref() == Some("Slater*")));
}

#[tokio::test]
async fn slater_kelly_finds_kelly_slater_with_an_exact_count() {
    let mut c = support::Console::start().await;
    c.wait_idle().await;
    c.key(KeyCode::Char('/'));
    c.type_text("slater kelly");
    c.key(KeyCode::Enter);
    let s = c.wait_text("Kelly Slater").await;
    assert!(s.contains("1 of 1 user"), "{s}");
    c.key(KeyCode::Char('/'));
    c.type_text("Slater, Kelly");
    c.key(KeyCode::Enter);
    let s = c
        .wait_for("results", |s| {
            s.contains("Slater, Kelly") && s.contains("1 of 1 user")
        })
        .await;
    assert!(s.contains("Kelly Slater"), "{s}");
    c.quit().await;
}

#[test]
fn copying_the_token_says_it_was_sent_not_that_it_worked() {
    let mut app = app_with_kelly();
    ch(&mut app, 'm');
    let (id, _) = one_request(&enter(&mut app));
    let token = mfadesk::api::MfaToken {
        mfa_token: "55647655".into(),
        reusable: false,
        expires_at: Some(now() + chrono::Duration::hours(1)),
    };
    update(&mut app, event(id, ApiResponse::MfaToken(Ok(token))));
    let s = screen(&app, 120, 40);
    assert!(s.contains("local time") && s.contains("UTC"), "{s}");
    let cmds = ch(&mut app, 'c');
    assert!(cmds.iter().any(|c| matches!(c, mfadesk::app::Cmd::Copy(_))));
    let status = app.status.as_ref().map(|s| s.text.as_str());
    assert_eq!(status, Some("Sent to the terminal's clipboard (OSC 52)"));
}

#[test]
fn one_marker_on_screen_and_the_count_matches_the_rows() {
    let mut app = new_app();
    search_with(&mut app, result_users());
    open_user(
        &mut app,
        kelly(),
        vec![protect_push(), sms_device(), protect_code()],
        vec![sms_factor()],
    );
    for focus in [
        mfadesk::app::Focus::Users,
        mfadesk::app::Focus::Devices,
        mfadesk::app::Focus::Factors,
    ] {
        app.focus = focus;
        let s = screen(&app, 120, 40);
        let marks = s
            .lines()
            .filter(|l| l.contains("│> ") || l.contains("│>  "))
            .count();
        assert_eq!(marks, 1, "{focus:?}:\n{s}");
        assert!(s.contains("· 3 factors"), "{s}");
    }
}

#[test]
fn masked_numbers_keep_the_country_code() {
    assert_eq!(
        mfadesk::app::validate::mask_phone("+61412345678"),
        "+61 ••••• 5678"
    );
}

// ---- 21: the demo phone -------------------------------------------------------------------

#[tokio::test]
async fn the_demo_phone_shows_yubikey_codes_and_names_people() {
    let mut c = support::Console::start().await;
    c.wait_idle().await;
    support::open_user(&mut c, "john", "John Florence").await;
    c.key(KeyCode::Char('p'));
    let s = c.wait_text(mfadesk::sim::DEMO_YUBIKEY_CODE).await;
    // The open user's codes come first, people by name, the key's code whole under its owner.
    let codes_at = s
        .find("Authenticator and YubiKey codes")
        .expect("codes heading");
    let mut rows = s[codes_at..].lines().skip(1);
    let owner = rows.next().unwrap_or_default();
    assert!(
        owner.contains("John Florence") && owner.contains("touch"),
        "{s}"
    );
    let code = rows.next().unwrap_or_default();
    assert!(code.contains(mfadesk::sim::DEMO_YUBIKEY_CODE), "{s}");
    assert!(!s.contains("Push for user "), "{s}");
    c.quit().await;
}

#[test]
fn approve_answers_the_push_the_panel_shows() {
    use mfadesk::app::phone::{PhoneCmd, PhonePush, PhoneSnapshot};
    let mut app = App::new(
        TenantInfo {
            demo: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), vec![protect_push()], vec![]);
    ch(&mut app, 'p');
    let push = |token: &str, user_id: i64, who: &str| PhonePush {
        state_token: token.into(),
        user_id,
        who: who.into(),
        device_id: 1,
        expires_at: now() + secs(100),
    };
    // The newest push is someone else's; the panel shows Kelly's, and `a` answers that one.
    app.phone = PhoneSnapshot {
        pushes: vec![
            push("kelly-push", kelly().id, "Kelly Slater · Pixel 8"),
            push("other-push", 36216767, "Stephanie Gilmore · iPhone"),
        ],
        ..PhoneSnapshot::default()
    };
    assert!(screen(&app, 120, 40).contains("Kelly Slater · Pixel 8"));
    let cmds = ch(&mut app, 'a');
    assert!(
        cmds.contains(&mfadesk::app::Cmd::Phone(PhoneCmd::Approve(
            "kelly-push".into()
        ))),
        "{cmds:?}"
    );
}

#[tokio::test]
async fn a_failed_call_in_a_running_console_leaves_its_final_error_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mfadesk.log");
    let subscriber =
        mfadesk::logging::build_subscriber(&path, mfadesk::config::DEFAULT_LOG_LEVEL).expect("log");
    // The test runtime is single-threaded: the worker's tasks log through this default.
    let _guard = tracing::subscriber::set_default(subscriber);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut c = Loop::start(&format!("http://127.0.0.1:{port}"), "x-secret-value");
    c.wait_for("the connection dialog", |s| s.contains("Could not connect"))
        .await;
    c.quit().await;
    let log = std::fs::read_to_string(&path).expect("read log");
    let line = log
        .lines()
        .find(|l| l.contains("call failed"))
        .unwrap_or_else(|| panic!("no final error in:\n{log}"));
    assert!(
        line.contains("WARN") && line.contains("Connection refused"),
        "{line}"
    );
    assert!(!log.contains("x-secret-value"), "{log}");
}
