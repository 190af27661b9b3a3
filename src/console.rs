//! Starts the console for real: settings → client (or demo tenant) → terminal → loop.

use std::io;

use crossterm::event::EventStream;

use crate::api::{ApiError, Client, ClientConfig, Credentials, parse_base_url};
use crate::app::phone::{PhoneCode, PhoneMessage, PhonePush, PhoneRegistration, PhoneSnapshot};
use crate::app::{App, AuditNote, CallerCheckSettings, StatusKind, TenantInfo};
use crate::audit::{AuditContext, AuditLog};
use crate::config::{Settings, Target};
use crate::runtime::{self, AuditSink, Io, PhoneSource};
use crate::sim::{self, DemoTenant, SimConfig, SimControl};
use crate::ui::theme::Theme;

/// Why the console could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The client could not be built (bad base URL…).
    #[error("{0}")]
    Api(#[from] ApiError),
    /// The demo tenant did not start.
    #[error("demo tenant: {0}")]
    Sim(#[from] sim::SimError),
    /// The terminal failed.
    #[error("terminal: {0}")]
    Terminal(String),
}

/// The demo tenant's phone, read in process.
pub struct SimPhone(pub SimControl);

impl PhoneSource for SimPhone {
    fn snapshot(&self) -> PhoneSnapshot {
        let c = &self.0;
        let names: std::collections::HashMap<i64, String> = c
            .users()
            .into_iter()
            .map(|u| {
                let name = format!(
                    "{} {}",
                    u.firstname.as_deref().unwrap_or(""),
                    u.lastname.as_deref().unwrap_or("")
                );
                let name = name.trim();
                let name = if name.is_empty() {
                    u.email.unwrap_or_else(|| format!("user {}", u.id))
                } else {
                    name.to_owned()
                };
                (u.id, name)
            })
            .collect();
        let who = |id: i64| {
            names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("user {id}"))
        };
        let code = |t: sim::TotpCode, touch: bool| PhoneCode {
            label: t.label,
            device_id: t.device_id,
            user_id: t.user_id,
            code: t.code,
            seconds_left: u64::from(t.seconds_left),
            touch,
        };
        PhoneSnapshot {
            messages: c
                .outbox()
                .into_iter()
                .map(|m| PhoneMessage {
                    user_id: m.user_id,
                    who: who(m.user_id),
                    channel: match m.channel {
                        sim::Channel::Sms => "SMS".into(),
                        sim::Channel::Voice => "Voice".into(),
                        sim::Channel::Email => "Email".into(),
                    },
                    to: m.to,
                    body: m.body,
                    code: m.code,
                    sent_at: m.sent_at,
                })
                .collect(),
            pushes: c
                .pushes()
                .into_iter()
                .map(|p| {
                    let device = c
                        .devices(p.user_id)
                        .into_iter()
                        .find(|d| d.id == p.device_id)
                        .map(|d| d.user_display_name);
                    PhonePush {
                        who: match device {
                            Some(d) => format!("{} · {d}", who(p.user_id)),
                            None => who(p.user_id),
                        },
                        state_token: p.state_token,
                        user_id: p.user_id,
                        device_id: p.device_id,
                        expires_at: p.expires_at,
                    }
                })
                .collect(),
            codes: c
                .totp_codes()
                .into_iter()
                .map(|t| code(t, false))
                .chain(c.yubikey_codes().into_iter().map(|t| code(t, true)))
                .chain(pending_registration_codes(c))
                .collect(),
            registrations: c
                .registrations()
                .into_iter()
                .filter(|r| {
                    r.status == sim::RegistrationStatus::Pending
                        && r.factor == sim::FactorKind::Protect
                        && r.expires_at > c.now()
                })
                .map(|r| PhoneRegistration {
                    id: r.id,
                    user_id: r.user_id,
                    label: format!("{} \"{}\"", r.factor_name, r.display_name),
                    expires_at: r.expires_at,
                })
                .collect(),
        }
    }

    // The demo phone answers a push or, by the same key, a Protect enrollment.
    fn approve(&self, id: &str) -> bool {
        self.0.approve_push(id) || self.0.accept_registration(id)
    }

    fn deny(&self, id: &str) -> bool {
        self.0.deny_push(id) || self.0.deny_registration(id)
    }
}

/// The codes an authenticator app shows for registrations it has "scanned" but not yet confirmed.
fn pending_registration_codes(c: &SimControl) -> Vec<PhoneCode> {
    let now = c.now();
    c.registrations()
        .into_iter()
        .filter(|r| r.status == sim::RegistrationStatus::Pending && r.expires_at > now)
        .filter_map(|r| {
            Some(PhoneCode {
                label: format!("{} (new) · {}", r.factor_name, r.display_name),
                device_id: 0,
                user_id: r.user_id,
                code: r.code?,
                seconds_left: u64::from(30 - (now.timestamp().rem_euclid(30)) as u32),
                touch: false,
            })
        })
        .collect()
}

/// Writes the console's audit notes as JSON lines.
pub struct FileAudit {
    /// The trail.
    pub log: AuditLog,
    /// Operator, profile and base URL.
    pub context: AuditContext,
}

impl AuditSink for FileAudit {
    fn record(&mut self, note: &AuditNote) -> Result<(), String> {
        let mut entry = self
            .context
            .entry_at(note.time, note.user_id, note.action, note.outcome);
        entry.user_email = note.user_email.clone();
        entry.verified = note.verified;
        entry.user_name = note.user_name.clone();
        entry.device_id = note.device_id.clone();
        entry.device_name = note.device_name.clone();
        entry.factor = note.factor.clone();
        entry.http_status = note.http_status;
        entry.request_id = note.request_id.clone();
        entry.reason = note.reason.clone();
        entry.message = note.message.clone();
        entry.method = note.method.clone();
        entry.caller_check = note.caller_check.clone();
        entry.case = note.case.clone();
        entry.signals = note.signals.clone();
        self.log.record(entry).map_err(|e| e.to_string())
    }

    fn trail_path(&self) -> Option<std::path::PathBuf> {
        self.log.path().map(std::path::Path::to_path_buf)
    }
}

/// The tenant's short name: the first label of the host, or "demo".
fn tenant_name(base_url: &str, demo: bool) -> String {
    if demo {
        return "demo".into();
    }
    let Ok(url) = url::Url::parse(base_url) else {
        return base_url.to_owned();
    };
    // A tenant's subdomain names it; a bare address needs its port to be told apart.
    match url.host() {
        Some(url::Host::Domain(d)) if d != "localhost" => {
            d.split('.').next().unwrap_or(d).to_owned()
        }
        Some(host) => match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        },
        None => base_url.to_owned(),
    }
}

/// Everything the console runs with, built from settings; the demo tenant lives as long as this.
pub struct Session {
    /// The initial console state.
    pub app: App,
    /// The loop's outside world.
    pub io: Io,
    /// The demo tenant, when running in demo mode.
    pub demo: Option<DemoTenant>,
}

/// Builds the client, starts the demo tenant if needed, opens the audit trail.
pub async fn prepare(settings: &Settings) -> Result<Session, ConsoleError> {
    let (demo, config) = match &settings.target {
        Target::Demo => {
            let tenant = DemoTenant::start(SimConfig::default()).await?;
            let creds = Credentials {
                client_id: sim::DEMO_ADMIN_CLIENT_ID.into(),
                client_secret: sim::DEMO_ADMIN_CLIENT_SECRET.into(),
            };
            let config = ClientConfig::new(tenant.base_url(), creds);
            (Some(tenant), config)
        }
        Target::Tenant {
            base_url,
            credentials,
        } => (
            None,
            ClientConfig::new(parse_base_url(base_url)?, credentials.clone()),
        ),
    };
    let mut config = config;
    config.mfa_api = settings.mfa_api;
    let base_url = config.base_url.clone();
    let client_id = config.credentials.client_id.clone();
    let client = Client::new(config)?;
    let is_demo = demo.is_some();
    let tenant = TenantInfo {
        name: tenant_name(&base_url, is_demo),
        base_url: base_url.clone(),
        demo: is_demo,
        read_only: settings.read_only,
        profile: settings.profile.clone(),
        label: settings.label.clone(),
        color: settings.color.clone(),
        require_reason: settings.require_reason,
        caller_check: CallerCheckSettings {
            minutes: settings.caller_check_minutes,
            required: settings.require_caller_check.clone(),
            read_only_allowed: settings.read_only_caller_check,
        },
    };
    let mut app = App::new(tenant, chrono::Utc::now());
    app.client_id = Some(client_id);
    app.caller_check_shared = settings.caller_check_shared;
    app.colors = Theme::from_env().color;
    // One store per tenant; the demo's port changes every run, so it has one of its own.
    app.coverage.store = crate::config::Paths::platform()
        .ok()
        .map(|p| crate::store::default_path(&p.data_dir, if is_demo { "demo" } else { &base_url }));
    app.coverage.policy =
        crate::lane::LanePolicy::new(settings.coverage_share, settings.coverage_reserve)
            .unwrap_or_default();
    app.operator = settings.operator.clone();
    let context = settings.audit_context(&base_url);
    let log = match AuditLog::open(&settings.audit_log) {
        Ok(log) => log,
        Err(e) => {
            // Fail closed: lookups work, but no change is sent while the trail cannot be written.
            app.set_status(
                StatusKind::Warning,
                format!("The audit trail cannot be written ({e}): changes are refused."),
            );
            AuditLog::unavailable(&e)
        }
    };
    let warnings = crate::logging::take_open_warnings();
    if app.status.is_none() && !warnings.is_empty() {
        app.set_status(StatusKind::Warning, warnings.join(" "));
    }
    if app.status.is_none()
        && let Some(hint) = app.first_run_hint()
    {
        app.set_status(StatusKind::Info, hint);
    }
    let io = Io {
        client,
        phone: demo
            .as_ref()
            .map(|d| Box::new(SimPhone(d.control())) as Box<dyn PhoneSource>),
        audit: Some(Box::new(FileAudit { log, context })),
        clipboard: Box::new(io::stdout()),
        clock: chrono::Utc::now,
        on_draw: None,
        stop: None,
    };
    Ok(Session { app, io, demo })
}

/// The signal that stopped the console, if one did (0: none yet).
type StoppedBy = std::sync::Arc<std::sync::atomic::AtomicI32>;

/// Watches for SIGTERM, SIGHUP, SIGINT and SIGQUIT from now on (handlers are installed at once,
/// before the terminal changes); the future resolves on the first and notes its number in
/// `stopped_by`. It never resolves if they can't be watched.
fn termination(stopped_by: StoppedBy) -> runtime::StopSignal {
    #[cfg(unix)]
    {
        use std::sync::atomic::Ordering;
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup), Ok(mut int), Ok(mut quit)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            return Box::pin(std::future::pending());
        };
        Box::pin(async move {
            let number = tokio::select! {
                _ = term.recv() => libc::SIGTERM,
                _ = hup.recv() => libc::SIGHUP,
                _ = int.recv() => libc::SIGINT,
                _ = quit.recv() => libc::SIGQUIT,
            };
            stopped_by.store(number, Ordering::SeqCst);
        })
    }
    #[cfg(not(unix))]
    {
        Box::pin(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            // SIGINT's number, as on unix.
            stopped_by.store(2, std::sync::atomic::Ordering::SeqCst);
        })
    }
}

/// Makes the terminal-restore panic hook act only for panics on the calling (console) thread.
///
/// The demo tenant and the API worker run on other threads of the same runtime: a panic there
/// must neither hand the terminal back while the console keeps drawing, nor print over the
/// screen. It is logged instead, and the console carries on (or reports the stopped worker).
pub fn confine_panic_hook() {
    let console = std::thread::current().id();
    let inner = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == console {
            inner(info);
        } else {
            tracing::error!(panic = %info, "a background task panicked; the console carries on");
        }
    }));
}

/// How the console ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The agent quit.
    Quit,
    /// A signal stopped it (its number); the process should exit with 128 + it.
    Signal(i32),
}

impl Exit {
    /// The process exit status: 0, or 128 + the signal's number.
    pub fn code(self) -> u8 {
        match self {
            Exit::Quit => 0,
            Exit::Signal(n) => u8::try_from(128 + n).unwrap_or(u8::MAX),
        }
    }
}

/// Runs the console in the real terminal; the terminal is restored on every exit path.
pub async fn run(settings: &Settings) -> Result<Exit, ConsoleError> {
    let session = prepare(settings).await?;
    let stopped_by = StoppedBy::default();
    let stop = termination(stopped_by.clone());
    // ratatui's init installs a panic hook that restores the terminal before the message prints.
    let mut terminal = ratatui::try_init().map_err(|e| ConsoleError::Terminal(e.to_string()))?;
    confine_panic_hook();
    let result = async {
        if cfg!(debug_assertions) {
            if std::env::var_os("MFADESK_DEBUG_PANIC").is_some() {
                panic!("forced panic (MFADESK_DEBUG_PANIC, debug builds only)");
            }
            if std::env::var_os("MFADESK_DEBUG_BACKGROUND_PANIC").is_some() {
                // Stands in for a panicking demo-tenant handler on another thread.
                let _ = std::thread::spawn(|| {
                    panic!("forced background panic (debug builds only)");
                })
                .join();
            }
        }
        let mut io = session.io;
        // Killed or hung up: the loop settles open changes and returns, so the terminal is restored.
        io.stop = Some(stop);
        runtime::run(session.app, &mut terminal, EventStream::new(), io)
            .await
            .map(|_| ())
    }
    .await;
    let restored = ratatui::try_restore();
    if let Some(demo) = session.demo {
        // Bounded: the terminal is already back, the process should leave promptly.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), demo.shutdown()).await;
    }
    result.map_err(|e| ConsoleError::Terminal(e.to_string()))?;
    restored.map_err(|e| ConsoleError::Terminal(e.to_string()))?;
    Ok(match stopped_by.load(std::sync::atomic::Ordering::SeqCst) {
        0 => Exit::Quit,
        n => Exit::Signal(n),
    })
}

#[cfg(test)]
mod tests {
    use super::tenant_name;

    #[test]
    fn tenant_names_are_short_but_telling() {
        assert_eq!(tenant_name("https://acme.onelogin.com", false), "acme");
        assert_eq!(tenant_name("https://api.us.onelogin.com", false), "api");
        assert_eq!(
            tenant_name("http://127.0.0.1:8080", false),
            "127.0.0.1:8080"
        );
        assert_eq!(
            tenant_name("http://localhost:8080", false),
            "localhost:8080"
        );
        assert_eq!(tenant_name("http://127.0.0.1:8080", true), "demo");
    }
}
