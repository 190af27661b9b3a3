//! What every online command runs with: settings, client (or the demo tenant), gate, audit.

use crate::api::{Client, ClientConfig, Credentials, parse_base_url};
use crate::audit::AuditLog;
use crate::config::{self, CliOptions, Paths, Settings, Target};
use crate::logging::{self, LogGuard};
use crate::ops::{Gate, OpsError, Recorder};
use crate::sim::{self, DemoTenant, SimConfig};

use super::output::Output;

/// An open session for one command.
pub struct Context {
    /// The resolved settings.
    pub settings: Settings,
    /// The API client.
    pub client: Client,
    /// The audit recorder.
    pub recorder: Recorder,
    /// The policy gate.
    pub gate: Gate,
    /// The demo tenant, when there are no credentials or `--demo` was given.
    demo: Option<DemoTenant>,
    _log: Option<LogGuard>,
}

/// Settings from flags, environment and config, with the system account as a fallback operator.
pub fn settings(options: &CliOptions) -> Result<Settings, OpsError> {
    let paths = Paths::platform().map_err(|e| OpsError::Config(e.to_string()))?;
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| (k == "LOGNAME").then(|| whoami::username().ok()).flatten())
    };
    config::resolve(options, &env, &paths).map_err(|e| OpsError::Config(e.to_string()))
}

impl Context {
    /// Resolves settings, opens the log and audit trail, and builds the client.
    pub async fn open(options: &CliOptions, out: &Output) -> Result<Context, OpsError> {
        let settings = settings(options)?;
        let log = match logging::init(&settings.log_file, &settings.log_level) {
            Ok(guard) => Some(guard),
            Err(e) => {
                out.note(&format!("diagnostic log disabled: {e}"));
                None
            }
        };
        let (demo, config) = match &settings.target {
            Target::Demo => {
                let tenant = DemoTenant::start(SimConfig::default())
                    .await
                    .map_err(|e| OpsError::Usage(format!("demo tenant: {e}")))?;
                out.note("no credentials: using the built-in demo tenant (changes last only for this command)");
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
            } => {
                let url = parse_base_url(base_url).map_err(|e| OpsError::Config(e.to_string()))?;
                (None, ClientConfig::new(url, credentials.clone()))
            }
        };
        let mut config = config;
        config.mfa_api = settings.mfa_api;
        let base_url = config.base_url.clone();
        let client = Client::new(config).map_err(|e| OpsError::Config(e.to_string()))?;
        // A trail that cannot be opened refuses changes later, at the attempt (fail closed);
        // reading commands still work.
        let audit = AuditLog::open(&settings.audit_log).map_err(|e| e.to_string());
        if let Err(e) = &audit {
            out.note(&format!("{e}; changes will be refused"));
        }
        let recorder = Recorder::new(audit, settings.audit_context(&base_url));
        let gate = Gate {
            read_only: settings.read_only,
            require_reason: settings.require_reason,
            read_only_caller_check: settings.read_only_caller_check,
        };
        Ok(Context {
            settings,
            client,
            recorder,
            gate,
            demo,
            _log: log,
        })
    }

    /// The user's devices now, when `change` needs a caller check (which must name one of
    /// them that is active); None when no check is required.
    pub async fn devices_if_required(
        &self,
        user: &crate::api::User,
        change: crate::ops::Change,
    ) -> Result<Option<Vec<crate::api::OtpDevice>>, OpsError> {
        let required = crate::ops::caller::guarded(change)
            .is_some_and(|a| self.settings.require_caller_check.contains(a));
        if !required {
            return Ok(None);
        }
        super::show::devices(&self.client, user).await.map(Some)
    }

    /// Refuses a guarded change when the profile requires a recent caller check and there is
    /// none; else the check (or none) that the change's audit line names.
    pub fn require_caller_check(
        &self,
        user: &crate::api::User,
        devices: Option<&[crate::api::OtpDevice]>,
        change: crate::ops::Change,
    ) -> Result<crate::audit::CallerCheckRef, OpsError> {
        let entries = self.caller_trail();
        self.require_caller_check_in(
            entries.as_deref().map_err(String::as_str),
            user,
            devices,
            change,
        )
    }

    /// The recent end of the audit trail the caller-check rule reads (newest first, only the
    /// window that can matter, read from the file's end), or why it cannot be read.
    pub fn caller_trail(&self) -> Result<Vec<crate::audit::AuditEntry>, String> {
        if !self.settings.audit_log.exists() {
            return Ok(Vec::new());
        }
        // The check's window and the margin an attempt may precede its success by.
        let window = i64::from(self.settings.caller_check_minutes) * 60
            + crate::policy::CHECK_ATTEMPT_MARGIN_SECS;
        let since = crate::clock::add_secs(chrono::Utc::now(), -window);
        crate::audit::read_recent(&self.settings.audit_log, since)
            .map(|r| {
                if let Some(note) = crate::audit::skipped_note(r.skipped) {
                    eprintln!("mfadesk: {}: {note}", self.settings.audit_log.display());
                }
                r.entries
            })
            .map_err(|e| e.to_string())
    }

    /// [`Self::require_caller_check`] over a trail already read (a bulk run reads it once).
    pub fn require_caller_check_in(
        &self,
        entries: Result<&[crate::audit::AuditEntry], &str>,
        user: &crate::api::User,
        devices: Option<&[crate::api::OtpDevice]>,
        change: crate::ops::Change,
    ) -> Result<crate::audit::CallerCheckRef, OpsError> {
        let policy = crate::ops::caller::CallerPolicy {
            required: &self.settings.require_caller_check,
            minutes: self.settings.caller_check_minutes,
            base_url: self.recorder.base_url(),
            operator: &self.settings.operator,
        };
        crate::ops::caller::require(&policy, change, user, devices, entries, chrono::Utc::now())
    }

    /// When this user's devices were enrolled, as far as the trail says (this run's lines
    /// included): a device enrolled within 24 h never proves the caller.
    pub fn enrolled_at(&self, user: &crate::api::User) -> Vec<crate::ops::device_age::EnrolledAt> {
        let base_url = self.recorder.base_url();
        // Only the last day can matter: read from the file's end, as the caller-check lookup does.
        let since = crate::clock::add_secs(
            chrono::Utc::now(),
            -crate::ops::device_age::MIN_DEVICE_AGE_HOURS * 3600,
        );
        let mut entries = if self.settings.audit_log.exists() {
            crate::audit::read_recent(&self.settings.audit_log, since)
                .map(|r| r.entries)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        entries.extend(self.recorder.entries().iter().cloned());
        crate::ops::device_age::enrolled_from_trail(&entries, base_url, user.id)
    }

    /// The caller check a change names, by `trail`: a fresh one, or, when the profile requires
    /// one and there is none, the operator's override, recorded as its own `overridden` line
    /// first.
    #[allow(clippy::too_many_arguments)]
    pub fn caller_check_or_override(
        &mut self,
        user: &crate::api::User,
        device: Option<&crate::api::OtpDevice>,
        devices: Option<&[crate::api::OtpDevice]>,
        change: crate::ops::Change,
        override_reason: Option<&str>,
        bulk: Option<&crate::audit::BulkRef>,
        trail: Result<&[crate::audit::AuditEntry], &str>,
    ) -> Result<crate::audit::CallerCheckRef, OpsError> {
        let refusal = match self.require_caller_check_in(trail, user, devices, change) {
            Ok(check) => return Ok(check),
            Err(e) => e,
        };
        let missing = matches!(
            &refusal,
            OpsError::Refused {
                refusal: crate::ops::Refusal::MissingCallerCheck,
                ..
            }
        );
        let Some(reason) = override_reason.filter(|_| missing) else {
            return Err(refusal);
        };
        let mut line = self.recorder.entry(
            user,
            device,
            crate::audit::AuditAction::CallerCheck,
            crate::audit::AuditOutcome::Overridden,
        );
        line.reason = Some(reason.to_owned());
        line.message = Some(format!("override for {}", change.name()));
        line.bulk = bulk.cloned();
        // The override is part of the change's record: no line, no change (fail closed).
        self.recorder.attempt(line)?;
        Ok(crate::audit::CallerCheckRef::Overridden {
            reason: reason.to_owned(),
        }
        .redacted())
    }

    /// Notes on the change's audit line which caller check preceded it.
    pub fn with_caller_check(
        &self,
        mut entry: crate::audit::AuditEntry,
        check: crate::audit::CallerCheckRef,
    ) -> crate::audit::AuditEntry {
        entry.caller_check = Some(check);
        entry
    }

    /// Stops the demo tenant, if any.
    pub async fn close(&mut self) {
        if let Some(demo) = self.demo.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), demo.shutdown()).await;
        }
    }
}
