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
        PhoneSnapshot {
            messages: c
                .outbox()
                .into_iter()
                .map(|m| PhoneMessage {
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
                .map(|p| PhonePush {
                    state_token: p.state_token,
                    user_id: p.user_id,
                    device_id: p.device_id,
                    expires_at: p.expires_at,
                })
                .collect(),
            codes: c
                .totp_codes()
                .into_iter()
                .map(|t| PhoneCode {
                    label: t.label,
                    device_id: t.device_id,
                    user_id: t.user_id,
                    code: t.code,
                    seconds_left: u64::from(t.seconds_left),
                })
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
        entry.device_id = note.device_id.clone();
        entry.factor = note.factor.clone();
        entry.http_status = note.http_status;
        entry.request_id = note.request_id.clone();
        entry.reason = note.reason.clone();
        entry.message = note.message.clone();
        entry.method = note.method.clone();
        entry.caller_check = note.caller_check.clone();
        self.log.record(entry).map_err(|e| e.to_string())
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
    app.colors = Theme::from_env().color;
    app.operator = settings.operator.clone();
    let context = settings.audit_context(&base_url);
    let log = match AuditLog::open(&settings.audit_log) {
        Ok(log) => log,
        Err(e) => {
            app.set_status(
                StatusKind::Warning,
                format!(
                    "Audit trail unavailable ({e}); changes are recorded in this session only."
                ),
            );
            AuditLog::in_memory()
        }
    };
    if is_demo && app.status.is_none() {
        app.set_status(
            StatusKind::Info,
            "Demo tenant: try / kelly, Enter, then e to enroll a phone; p shows the demo phone.",
        );
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

/// Watches for SIGTERM, SIGHUP and SIGINT from now on (handlers are installed at once, before the
/// terminal changes); the future resolves on the first. It never resolves if they can't be watched.
fn termination() -> runtime::StopSignal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return Box::pin(std::future::pending());
        };
        Box::pin(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Box::pin(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Runs the console in the real terminal; the terminal is restored on every exit path.
pub async fn run(settings: &Settings) -> Result<(), ConsoleError> {
    let session = prepare(settings).await?;
    let stop = termination();
    // ratatui's init installs a panic hook that restores the terminal before the message prints.
    let mut terminal = ratatui::try_init().map_err(|e| ConsoleError::Terminal(e.to_string()))?;
    let result = async {
        if std::env::var_os("MFADESK_DEBUG_PANIC").is_some() && cfg!(debug_assertions) {
            panic!("forced panic (MFADESK_DEBUG_PANIC, debug builds only)");
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
    Ok(())
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
