//! A harness that runs the real console loop on a test backend against the demo tenant.

#![allow(dead_code)]

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures::channel::mpsc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tokio::sync::watch;

use mfadesk::api::{Client, ClientConfig, Credentials, RetryPolicy};
use mfadesk::app::{App, AuditNote, TenantInfo};
use mfadesk::console::SimPhone;
use mfadesk::runtime::{self, AuditSink, Io, PhoneSource};
use mfadesk::sim::{self, DemoTenant, SimConfig, SimControl};

/// How long a condition may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Bytes written to the "terminal" clipboard channel.
#[derive(Clone, Default)]
pub struct Sink(pub Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Audit notes the console recorded.
#[derive(Clone, Default)]
pub struct Notes(pub Arc<Mutex<Vec<AuditNote>>>);

impl AuditSink for Notes {
    fn record(&mut self, note: &AuditNote) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push(note.clone());
        Ok(())
    }
}

/// How to start a console: terminal size, tenant, credentials, client settings, audit sink.
pub struct Options {
    /// Terminal columns and rows.
    pub size: (u16, u16),
    /// The demo tenant's settings.
    pub sim: SimConfig,
    /// Client id to log in with.
    pub client_id: &'static str,
    /// Client secret to log in with.
    pub client_secret: &'static str,
    /// The client's whole-request timeout (None: the default).
    pub request_timeout: Option<Duration>,
    /// The client's GET retry policy (None: the default).
    pub retry: Option<RetryPolicy>,
    /// Audit sink instead of the in-memory notes.
    pub audit: Option<Box<dyn AuditSink>>,
    /// Which MFA API the client speaks (v1 unless a test says: most flows here are v1's).
    pub mfa_api: mfadesk::api::MfaApiChoice,
    /// Point the client at this server instead of the demo tenant (a scripted loopback server).
    pub base_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            size: (120, 40),
            sim: SimConfig::default(),
            client_id: sim::DEMO_MANAGE_CLIENT_ID,
            client_secret: sim::DEMO_MANAGE_CLIENT_SECRET,
            request_timeout: None,
            retry: None,
            audit: None,
            mfa_api: mfadesk::api::MfaApiChoice::V1,
            base_url: None,
        }
    }
}

/// A running console with scripted keys.
pub struct Console {
    keys: mpsc::UnboundedSender<io::Result<Event>>,
    screen: watch::Receiver<String>,
    /// Whether any call was in flight at the last draw, and the drawn buffer.
    drawn: watch::Receiver<(bool, Buffer)>,
    pub sim: DemoTenant,
    pub clipboard: Sink,
    pub audit: Notes,
    pub task: tokio::task::JoinHandle<Result<App, runtime::RunError>>,
}

fn text_of(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

impl Console {
    /// Starts a demo tenant and the console on it (size 120×40).
    pub async fn start() -> Console {
        Self::start_with(SimConfig::default(), |_| {}).await
    }

    /// Starts with a tenant config and a tweak to the initial state.
    pub async fn start_with(config: SimConfig, tweak: impl FnOnce(&mut App)) -> Console {
        let opts = Options {
            sim: config,
            ..Options::default()
        };
        Self::start_opts(opts, tweak).await
    }

    /// Starts with every option and a tweak to the initial state.
    pub async fn start_opts(opts: Options, tweak: impl FnOnce(&mut App)) -> Console {
        let sim = DemoTenant::start(opts.sim)
            .await
            .expect("demo tenant starts");
        let creds = Credentials {
            client_id: opts.client_id.into(),
            client_secret: opts.client_secret.into(),
        };
        let base_url = opts.base_url.clone().unwrap_or_else(|| sim.base_url());
        let mut config = ClientConfig::new(base_url, creds);
        config.mfa_api = opts.mfa_api;
        if let Some(t) = opts.request_timeout {
            config.request_timeout = t;
        }
        if let Some(r) = opts.retry {
            config.retry = r;
        }
        let client = Client::new(config).expect("client");
        let tenant = TenantInfo {
            name: "demo".into(),
            base_url: sim.base_url(),
            demo: true,
            ..TenantInfo::default()
        };
        let mut app = App::new(tenant, chrono::Utc::now());
        tweak(&mut app);
        let (keys, events) = mpsc::unbounded();
        let (screen_tx, screen) = watch::channel(String::new());
        let (drawn_tx, drawn) = watch::channel((true, Buffer::empty(Default::default())));
        let clipboard = Sink::default();
        let audit = Notes::default();
        let sink: Box<dyn AuditSink> = match opts.audit {
            Some(sink) => sink,
            None => Box::new(audit.clone()),
        };
        let io = Io {
            client,
            phone: Some(Box::new(SimPhone(sim.control())) as Box<dyn PhoneSource>),
            audit: Some(sink),
            clipboard: Box::new(clipboard.clone()),
            clock: chrono::Utc::now,
            stop: None,
            on_draw: Some(Box::new(move |app, buffer| {
                let _ = drawn_tx.send((app.busy(), buffer.clone()));
                let _ = screen_tx.send(text_of(buffer));
            })),
        };
        let (w, h) = opts.size;
        let task = tokio::spawn(async move {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            runtime::run(app, &mut terminal, events, io).await
        });
        Console {
            keys,
            screen,
            drawn,
            sim,
            clipboard,
            audit,
            task,
        }
    }

    /// The tenant's control handle.
    pub fn ctl(&self) -> SimControl {
        self.sim.control()
    }

    /// Presses one key.
    pub fn key(&self, code: KeyCode) {
        self.key_with(code, KeyModifiers::NONE);
    }

    /// Presses one key with modifiers.
    pub fn key_with(&self, code: KeyCode, mods: KeyModifiers) {
        let _ = self
            .keys
            .unbounded_send(Ok(Event::Key(KeyEvent::new(code, mods))));
    }

    /// Types text, one key per character.
    pub fn type_text(&self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// The last drawn screen.
    pub fn screen(&self) -> String {
        self.screen.borrow().clone()
    }

    /// Waits until the screen satisfies a condition; fails with the screen on timeout.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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
                panic!("timed out waiting for {what}; screen:\n{}", self.screen());
            }
        }
    }

    /// True while a call was in flight at the last draw.
    pub fn busy(&self) -> bool {
        self.drawn.borrow().0
    }

    /// The last drawn buffer (symbols and styles).
    pub fn buffer(&self) -> Buffer {
        self.drawn.borrow().1.clone()
    }

    /// Waits until no call is in flight (the header spinner is gone); fails on timeout.
    pub async fn wait_idle(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if !self.drawn.borrow_and_update().0 {
                return self.screen();
            }
            if tokio::time::timeout_at(deadline, self.drawn.changed())
                .await
                .is_err()
            {
                panic!(
                    "timed out waiting for calls to finish; screen:\n{}",
                    self.screen()
                );
            }
        }
    }

    /// Waits until the screen contains a text.
    pub async fn wait_text(&mut self, text: &str) -> String {
        let t = text.to_owned();
        self.wait_for(&format!("\"{text}\""), move |s| s.contains(&t))
            .await
    }

    /// Closes any dialog with Esc, then quits.
    pub async fn quit_from_dialog(mut self) -> App {
        for _ in 0..5 {
            if !self.screen().contains("┌ Help") {
                break;
            }
            self.key(KeyCode::Esc);
            self.wait_for("dialog closed", |s| !s.contains("┌ Help"))
                .await;
        }
        self.quit().await
    }

    /// Quits with `q` and returns the final state.
    pub async fn quit(self) -> App {
        self.key(KeyCode::Char('q'));
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("console exits")
            .expect("task")
            .expect("loop ok")
    }
}

/// The row of the screen holding a text.
pub fn line_with<'a>(screen: &'a str, text: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(text))
}

/// Searches for a user, opens the first match and waits until devices and factors are loaded.
pub async fn open_user(c: &mut Console, query: &str, name: &str) {
    c.key(KeyCode::Char('/'));
    c.type_text(query);
    c.key(KeyCode::Enter);
    c.wait_for(&format!("{name} in results"), |s| {
        s.lines().any(|l| l.contains("> ") && l.contains(name))
    })
    .await;
    c.key(KeyCode::Enter);
    c.wait_for("devices loaded", |s| {
        s.contains("── Enrolled")
            && !s.contains("Loading devices")
            && !s.contains("Loading factors")
    })
    .await;
}
