//! Fixtures shared by the update and render tests: a fixed clock, users, devices, key helpers.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mfadesk::api::{
    ApiError, AuthFactor, DeviceId, ErrorKind, OtpDevice, Secret, TriggerResult, User,
};
use mfadesk::app::{App, Cmd, Msg, TenantInfo, update};
use mfadesk::worker::{ApiEvent, ApiRequest, ApiResponse, RequestId, SearchResult};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use unicode_width::UnicodeWidthStr;

/// The fixed "now" of every test: snapshots and countdowns depend on it.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

pub fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

pub fn tenant() -> TenantInfo {
    TenantInfo {
        name: "acme".into(),
        base_url: "https://acme.onelogin.com".into(),
        demo: false,
        read_only: false,
        profile: Some("prod".into()),
        label: None,
        color: None,
        require_reason: false,
        caller_check: Default::default(),
    }
}

pub fn new_app() -> App {
    App::new(tenant(), now())
}

// ---- keys -------------------------------------------------------------------------------

pub fn key(app: &mut App, code: KeyCode) -> Vec<Cmd> {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn key_mod(app: &mut App, code: KeyCode, mods: KeyModifiers) -> Vec<Cmd> {
    update(app, Msg::Key(KeyEvent::new(code, mods)))
}

pub fn ch(app: &mut App, c: char) -> Vec<Cmd> {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    key_mod(app, KeyCode::Char(c), mods)
}

pub fn enter(app: &mut App) -> Vec<Cmd> {
    key(app, KeyCode::Enter)
}

pub fn esc(app: &mut App) -> Vec<Cmd> {
    key(app, KeyCode::Esc)
}

pub fn tab(app: &mut App) -> Vec<Cmd> {
    key(app, KeyCode::Tab)
}

/// Shift-Tab as crossterm reports it.
pub fn back_tab(app: &mut App) -> Vec<Cmd> {
    key_mod(app, KeyCode::BackTab, KeyModifiers::SHIFT)
}

pub fn ctrl_c(app: &mut App) -> Vec<Cmd> {
    key_mod(app, KeyCode::Char('c'), KeyModifiers::CONTROL)
}

/// Types text key by key; returns every command emitted on the way.
pub fn type_text(app: &mut App, text: &str) -> Vec<Cmd> {
    text.chars().flat_map(|c| ch(app, c)).collect()
}

pub fn backspace(app: &mut App, n: usize) {
    for _ in 0..n {
        key(app, KeyCode::Backspace);
    }
}

pub fn tick(app: &mut App) -> Vec<Cmd> {
    update(app, Msg::Tick)
}

// ---- commands ---------------------------------------------------------------------------

pub fn requests(cmds: &[Cmd]) -> Vec<(RequestId, ApiRequest)> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Request(id, r) => Some((*id, r.clone())),
            _ => None,
        })
        .collect()
}

/// The one request among the commands (panics when there is not exactly one).
pub fn one_request(cmds: &[Cmd]) -> (RequestId, ApiRequest) {
    let r = requests(cmds);
    assert_eq!(r.len(), 1, "expected exactly one request in {cmds:?}");
    r.into_iter().next().unwrap()
}

pub fn cancels(cmds: &[Cmd]) -> Vec<RequestId> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Cancel(id) => Some(*id),
            _ => None,
        })
        .collect()
}

pub fn answer(app: &mut App, id: RequestId, response: ApiResponse) -> Vec<Cmd> {
    update(
        app,
        Msg::Api(Box::new(ApiEvent {
            id,
            response,
            rate_limit: None,
            meta: Default::default(),
            mfa_api: None,
        })),
    )
}

pub fn api_error(kind: ErrorKind, status: Option<u16>, message: &str) -> ApiError {
    ApiError {
        kind,
        status,
        message: message.into(),
        request_id: status.map(|_| "req-7f3a9c".into()),
    }
}

// ---- users, devices, factors ------------------------------------------------------------

pub fn user(id: i64, first: &str, last: &str, email: &str, status: i64) -> User {
    User {
        id,
        firstname: Some(first.into()),
        lastname: Some(last.into()),
        email: Some(email.into()),
        status: Some(status),
        last_login: Some(now() - Duration::days(2)),
        ..User::default()
    }
}

pub fn kelly() -> User {
    User {
        username: Some("kslater".into()),
        ..user(36216766, "Kelly", "Slater", "kelly@acme.com", 1)
    }
}

/// A mix of statuses, a very long name, and an email that tries to clear the screen.
pub fn result_users() -> Vec<User> {
    vec![
        kelly(),
        user(36216767, "Kelly", "Smith", "ksmith@acme.com", 3),
        user(
            36216768,
            "Maximiliana Theodora Wolfeschlegelsteinhausen",
            "Bergerdorff-Vandersteen",
            "max.w@acme.com",
            1,
        ),
        user(36216769, "Kel", "Evil", "evil\x1b[2J@acme.com", 2),
        User {
            last_login: None,
            ..user(36216770, "Kelvin", "New", "kelvin@acme.com", 0)
        },
        user(36216771, "Kellan", "Reset", "kellan@acme.com", 5),
    ]
}

pub fn device(id: &str, factor: &str) -> OtpDevice {
    OtpDevice {
        id: DeviceId(id.into()),
        active: true,
        default: false,
        needs_trigger: false,
        auth_factor_name: factor.into(),
        type_display_name: None,
        user_display_name: None,
        phone_number: None,
        state_token: None,
    }
}

pub fn sms_device() -> OtpDevice {
    OtpDevice {
        default: true,
        needs_trigger: true,
        user_display_name: Some("Kelly's phone".into()),
        phone_number: Some("+14156456830".into()),
        ..device("1001", "OneLogin SMS")
    }
}

pub fn voice_device() -> OtpDevice {
    OtpDevice {
        active: false,
        needs_trigger: true,
        user_display_name: Some("Desk phone".into()),
        phone_number: Some("+14155550199".into()),
        ..device("1002", "OneLogin Voice")
    }
}

/// OneLogin Protect is listed twice with one id: once for push, once for its code.
pub fn protect_push() -> OtpDevice {
    OtpDevice {
        needs_trigger: true,
        user_display_name: Some("Pixel 8".into()),
        ..device("1003", "OneLogin Protect")
    }
}

pub fn protect_code() -> OtpDevice {
    OtpDevice {
        user_display_name: Some("Pixel 8".into()),
        ..device("1003", "OneLogin Protect")
    }
}

pub fn google_auth() -> OtpDevice {
    OtpDevice {
        user_display_name: Some("Pixel".into()),
        ..device("1004", "Google Authenticator")
    }
}

pub fn yubikey() -> OtpDevice {
    OtpDevice {
        user_display_name: Some("YubiKey 5 NFC".into()),
        ..device("1005", "YubiKey")
    }
}

pub fn all_devices() -> Vec<OtpDevice> {
    vec![
        sms_device(),
        voice_device(),
        protect_push(),
        protect_code(),
        google_auth(),
        yubikey(),
    ]
}

pub fn sms_factor() -> AuthFactor {
    AuthFactor {
        factor_id: 7001,
        name: "OneLogin SMS".into(),
    }
}

pub fn voice_factor() -> AuthFactor {
    AuthFactor {
        factor_id: 7002,
        name: "OneLogin Voice".into(),
    }
}

pub fn trigger_ok(device_id: &str, token: &str) -> ApiResponse {
    ApiResponse::Triggered(Ok(TriggerResult {
        device_id: DeviceId(device_id.into()),
        state_token: Secret::new(token),
        state_token_expires_at: None,
        message: "SMS token sent. Authentication pending.".into(),
    }))
}

pub fn search_ok(users: Vec<User>) -> ApiResponse {
    ApiResponse::Search(Ok(SearchResult {
        users,
        next: Vec::new(),
        total: None,
    }))
}

// ---- driving the console ----------------------------------------------------------------

/// Searches for "kelly" and answers with these users; focus ends on the results.
pub fn search_with(app: &mut App, users: Vec<User>) {
    ch(app, '/');
    type_text(app, "kelly");
    let (id, _) = one_request(&enter(app));
    answer(app, id, search_ok(users));
}

/// Searches, opens `user` (first in the results) and answers the loads (no events).
pub fn open_user(app: &mut App, user: User, devices: Vec<OtpDevice>, factors: Vec<AuthFactor>) {
    open_user_with_events(app, user, devices, factors, Vec::new());
}

/// Searches, opens `user` and answers the loads, events included.
pub fn open_user_with_events(
    app: &mut App,
    user: User,
    devices: Vec<OtpDevice>,
    factors: Vec<AuthFactor>,
    events: Vec<mfadesk::api::Event>,
) {
    search_with(app, vec![user]);
    let loads = requests(&enter(app));
    assert_eq!(loads.len(), 3);
    for (id, req) in loads {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Ok(devices.clone())),
            ApiRequest::GetFactors(_) => ApiResponse::Factors(Ok(factors.clone())),
            ApiRequest::GetEvents { .. } => ApiResponse::Events(Ok(mfadesk::api::EventBatch {
                events: events.clone(),
                types: Default::default(),
            })),
            other => panic!("unexpected load {other:?}"),
        };
        answer(app, id, response);
    }
}

/// Kelly open with every kind of device and both phone factors available.
pub fn app_with_kelly() -> App {
    let mut app = new_app();
    open_user(
        &mut app,
        kelly(),
        all_devices(),
        vec![sms_factor(), voice_factor()],
    );
    app
}

// ---- rendering --------------------------------------------------------------------------

pub fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| mfadesk::ui::view(app, f)).unwrap();
    terminal
}

/// The buffer as text rows (trailing blanks trimmed); wide characters take their columns.
pub fn buffer_text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut row = String::new();
        let mut x = area.left();
        while x < area.right() {
            let symbol = buffer[(x, y)].symbol();
            row.push_str(symbol);
            x += (symbol.width() as u16).max(1);
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

/// The screen as text, with the cursor position when it is shown.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    let terminal = draw(app, width, height);
    let backend = terminal.backend();
    let mut text = buffer_text(backend.buffer());
    if backend.cursor_visible() {
        let p = backend.cursor_position();
        text.push_str(&format!("[cursor at column {}, row {}]\n", p.x, p.y));
    }
    text
}
