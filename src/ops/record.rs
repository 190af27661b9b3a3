//! Audit records around a check or change: the attempt must be written before anything is sent.

use crate::api::{ApiError, OtpDevice, ResponseMeta, User};
use crate::audit::{AuditAction, AuditContext, AuditEntry, AuditLog, AuditOutcome, CallerCheckRef};

use super::error::{OpsError, Refusal};
use super::gate::{Change, Gate};

/// Writes attempt and outcome lines for one session of commands.
pub struct Recorder {
    /// The trail, or why it could not be opened (every change is then refused).
    log: Result<AuditLog, String>,
    context: AuditContext,
}

impl Recorder {
    /// A recorder over an audit trail, or the reason it could not be opened.
    pub fn new(log: Result<AuditLog, String>, context: AuditContext) -> Self {
        Self { log, context }
    }

    /// The entries written so far (this process).
    pub fn entries(&self) -> &[AuditEntry] {
        match &self.log {
            Ok(log) => log.session_entries(),
            Err(_) => &[],
        }
    }

    /// The tenant the entries are about.
    pub fn base_url(&self) -> &str {
        &self.context.base_url
    }

    fn record(&mut self, entry: AuditEntry) -> Result<(), String> {
        match &mut self.log {
            Ok(log) => log.record(entry).map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        }
    }

    /// A new entry for a user and device.
    pub fn entry(
        &self,
        user: &User,
        device: Option<&OtpDevice>,
        action: AuditAction,
        outcome: AuditOutcome,
    ) -> AuditEntry {
        let mut entry = self.context.entry(user.id, action, outcome);
        entry.user_email = user.email.clone();
        if let Some(d) = device {
            entry.device_id = Some(d.id.0.clone());
            entry.factor = Some(d.auth_factor_name.clone());
        }
        entry
    }

    /// Names the signals shown with a change's confirmation on its line (none: no field).
    pub fn with_signals(mut entry: AuditEntry, signals: &[crate::ops::Signal]) -> AuditEntry {
        if !signals.is_empty() {
            entry.signals = Some(crate::ops::signals::names(signals));
        }
        entry
    }

    /// Records the attempt; if it cannot be written the change must not be sent (fail closed).
    pub fn attempt(&mut self, entry: AuditEntry) -> Result<(), OpsError> {
        self.record(entry).map_err(|e| {
            OpsError::refused(
                Refusal::AuditUnavailable,
                format!("{e}; nothing was sent, because every change must be recorded"),
            )
        })
    }

    /// Records an outcome; a write failure is reported but cannot undo what was done.
    pub fn outcome(&mut self, entry: AuditEntry) -> Option<String> {
        self.record(entry).err()
    }

    /// Records a success with the answer's status and request id.
    pub fn success(&mut self, mut entry: AuditEntry, meta: &ResponseMeta) -> Option<String> {
        entry.outcome = AuditOutcome::Success;
        entry.http_status = meta.status;
        entry.request_id = meta.request_id.clone();
        self.outcome(entry)
    }

    /// Records a failure from the API.
    pub fn failure(&mut self, entry: AuditEntry, error: &ApiError) -> Option<String> {
        self.outcome(entry.failure(error))
    }

    /// Runs the gate (read-only, reason) and the caller-check requirement's answer over a
    /// change's attempt line: the line comes back with the trimmed reason and the check it
    /// names, or the refusal is recorded and returned.
    pub fn guard(
        &mut self,
        gate: &Gate,
        change: Change,
        mut entry: AuditEntry,
        reason: Option<&str>,
        caller: Result<CallerCheckRef, OpsError>,
    ) -> Result<AuditEntry, OpsError> {
        entry.reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        let checked = gate
            .check(change, reason)
            .and_then(|reason| caller.map(|check| (reason, check)));
        match checked {
            Ok((reason, check)) => {
                entry.reason = reason;
                entry.caller_check = Some(check);
                Ok(entry)
            }
            Err(e) => {
                self.refused(entry, &e);
                Err(e)
            }
        }
    }

    /// Records a refusal (nothing was sent).
    pub fn refused(&mut self, entry: AuditEntry, why: &OpsError) -> Option<String> {
        self.outcome(
            entry
                .outcome(AuditOutcome::Refused)
                .message(why.to_string()),
        )
    }
}
