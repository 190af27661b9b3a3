//! The audit trail: one JSON line per mutating action, attempt and outcome.
//!
//! The file is append-only (O_APPEND, mode 0600 on unix); each entry is written with a single
//! `write_all` of one complete line, so lines from several processes never interleave. The
//! entries of this session are also kept in memory for the console's audit pane.
//!
//! An entry has no field for a secret, token, state token or code; the free-text fields
//! (`reason`, `message`) are additionally passed through [`crate::logging::redact`].
//!
//! When the file cannot be written, [`AuditLog::record`] still keeps the entry in memory (marked
//! as not persisted, so the pane can flag it), remembers the error for [`AuditLog::last_error`]
//! and returns it, so the console can show it. Suggested console policy: if the `Attempt` entry
//! of a change cannot be written, do not make the change.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::{ApiError, UserId};
use crate::logging;

/// The kind of mutating action an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Enroll a new factor (device) for a user.
    Enroll,
    /// Trigger an SMS, voice call or push to a device.
    Trigger,
    /// Verify a one-time code or poll a push.
    Verify,
    /// Remove a device.
    Remove,
    /// Generate a temporary MFA token.
    MfaToken,
    /// Check that the caller holds one of the user's active devices (changes nothing).
    CallerCheck,
    /// Unlock a locked user.
    Unlock,
    /// Sign a user out everywhere (OneLogin session and single sign-on).
    Logout,
    /// Lock a user.
    Lock,
}

impl AuditAction {
    /// The wire name, as written to the file (`"mfa_token"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Enroll => "enroll",
            AuditAction::Trigger => "trigger",
            AuditAction::Verify => "verify",
            AuditAction::Remove => "remove",
            AuditAction::MfaToken => "mfa_token",
            AuditAction::CallerCheck => "caller_check",
            AuditAction::Unlock => "unlock",
            AuditAction::Logout => "logout",
            AuditAction::Lock => "lock",
        }
    }
}

/// What happened to the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// About to send the request.
    Attempt,
    /// The API accepted the change.
    Success,
    /// Accepted but not finished (e.g. a push awaiting the user, an enrollment awaiting verification).
    Pending,
    /// The API or the network reported an error.
    Failure,
    /// mfadesk refused before sending (read-only profile, missing reason, audit unavailable).
    Refused,
    /// A required caller check was skipped with the operator's reason.
    Overridden,
    /// Sent, but no answer came (abandoned, superseded, or mfadesk stopped), or a check closed
    /// while it waited: whether it happened is not known; the tenant says.
    Unknown,
}

impl AuditOutcome {
    /// The wire name, as written to the file (`"attempt"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Attempt => "attempt",
            AuditOutcome::Success => "success",
            AuditOutcome::Pending => "pending",
            AuditOutcome::Failure => "failure",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Overridden => "overridden",
            AuditOutcome::Unknown => "unknown",
        }
    }
}

/// One line of the audit trail; every field is always written (absent values as `null`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened, UTC, written as RFC 3339 with milliseconds and `Z`.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub time: DateTime<Utc>,
    /// Who did it: the configured operator name or the OS user.
    pub operator: String,
    /// The profile in use, if any.
    pub profile: Option<String>,
    /// The tenant's base URL.
    pub base_url: String,
    /// The OneLogin user id acted on.
    pub user_id: UserId,
    /// The user's email, when known.
    pub user_email: Option<String>,
    /// The user's name, when known (older lines have none).
    #[serde(default)]
    pub user_name: Option<String>,
    /// The device (enrolled factor) id, when there is one.
    pub device_id: Option<String>,
    /// The user's name for the device ("Kelly's phone"), when known (older lines have none).
    #[serde(default)]
    pub device_name: Option<String>,
    /// The factor's name (e.g. "OneLogin SMS"), when known.
    pub factor: Option<String>,
    /// What was done.
    pub action: AuditAction,
    /// How it went.
    pub outcome: AuditOutcome,
    /// The HTTP status of the response, when there was one.
    pub http_status: Option<u16>,
    /// The response's X-Request-Id, when there was one.
    pub request_id: Option<String>,
    /// The ticket or reason the operator gave.
    pub reason: Option<String>,
    /// Error text or a short note; never a secret.
    pub message: Option<String>,
    /// How a caller check or verification was made: `"push"` or `"code"`.
    #[serde(default)]
    pub method: Option<String>,
    /// On a change line: which caller check preceded it (`"none"` when there was none).
    #[serde(default)]
    pub caller_check: Option<CallerCheckRef>,
    /// Enroll lines: the number was marked verified, so no code checked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Lines of a bulk run: the run and the file line the change came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk: Option<BulkRef>,
    /// The walkthrough (a call's case, `w-…`) this line belongs to, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Change lines: the signals on screen when the change was confirmed (`push_bombing`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<Vec<String>>,
    /// Ties an attempt line to its outcome line: both carry the same id (older lines have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The agent closed a check while it waited: not a failure, the outcome is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<bool>,
    /// Enroll lines under MFA v2: the registration (never a device id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
}

/// The tenant a base URL names: its host, with the port when there is one (demo tenants on
/// loopback differ only by port).
pub fn tenant_of(base_url: &str) -> String {
    match url::Url::parse(base_url) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => base_url.to_owned(),
        },
        Err(_) => base_url.to_owned(),
    }
}

/// True when `wanted` names this tenant: its host, or its host and port (case-insensitive).
pub fn tenant_matches(tenant: &str, wanted: &str) -> bool {
    let wanted = wanted.trim();
    tenant.eq_ignore_ascii_case(wanted)
        || tenant.rsplit_once(':').is_some_and(|(host, port)| {
            port.bytes().all(|b| b.is_ascii_digit()) && host.eq_ignore_ascii_case(wanted)
        })
}

impl AuditEntry {
    /// The tenant this line was written against (see [`tenant_of`]).
    pub fn tenant(&self) -> String {
        tenant_of(&self.base_url)
    }
}

/// A fresh id for an attempt and its outcome.
pub fn new_attempt_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The bulk run and file line an audit line belongs to (`{"run": "b-…", "line": 7}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRef {
    /// The run id.
    pub run: String,
    /// The line of the file (the header is line 1).
    pub line: u64,
}

/// The caller check a change line refers to, as written in its `caller_check` field.
///
/// On the wire: `"none"`, `{"outcome":"success","at":"<RFC 3339>","device_id":"…"}` or
/// `{"outcome":"overridden","reason":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerCheckRef {
    /// No caller check preceded the change.
    None,
    /// A successful check with this device, at this time.
    Success {
        /// When the check succeeded.
        at: DateTime<Utc>,
        /// The device the caller proved they hold.
        device_id: String,
    },
    /// A required check was skipped for this one change, with the operator's reason.
    Overridden {
        /// Why the check was skipped.
        reason: String,
    },
    /// Another session's check with the same API client (an API verify in the user's events)
    /// satisfied the requirement (profile `caller_check_shared`).
    Shared {
        /// The event that recorded it.
        event_id: String,
    },
}

/// The wire shapes of [`CallerCheckRef`]: a bare word or an object tagged by `outcome`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum CallerCheckWire {
    Word(CallerCheckWord),
    Tagged(CallerCheckTagged),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CallerCheckWord {
    None,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum CallerCheckTagged {
    Success {
        #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
        at: DateTime<Utc>,
        device_id: String,
    },
    Overridden {
        reason: String,
    },
    Shared {
        event_id: String,
    },
}

impl CallerCheckRef {
    /// The same reference with an override's free-text reason passed through the redactor.
    pub fn redacted(self) -> Self {
        match self {
            CallerCheckRef::Overridden { reason } => CallerCheckRef::Overridden {
                reason: logging::redact(&reason),
            },
            other => other,
        }
    }
}

impl Serialize for CallerCheckRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let wire = match self {
            CallerCheckRef::None => CallerCheckWire::Word(CallerCheckWord::None),
            CallerCheckRef::Success { at, device_id } => {
                CallerCheckWire::Tagged(CallerCheckTagged::Success {
                    at: *at,
                    device_id: device_id.clone(),
                })
            }
            CallerCheckRef::Overridden { reason } => {
                CallerCheckWire::Tagged(CallerCheckTagged::Overridden {
                    reason: reason.clone(),
                })
            }
            CallerCheckRef::Shared { event_id } => {
                CallerCheckWire::Tagged(CallerCheckTagged::Shared {
                    event_id: event_id.clone(),
                })
            }
        };
        wire.serialize(s)
    }
}

impl<'de> Deserialize<'de> for CallerCheckRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match CallerCheckWire::deserialize(d)? {
            CallerCheckWire::Word(CallerCheckWord::None) => CallerCheckRef::None,
            CallerCheckWire::Tagged(CallerCheckTagged::Success { at, device_id }) => {
                CallerCheckRef::Success { at, device_id }
            }
            CallerCheckWire::Tagged(CallerCheckTagged::Overridden { reason }) => {
                CallerCheckRef::Overridden { reason }
            }
            CallerCheckWire::Tagged(CallerCheckTagged::Shared { event_id }) => {
                CallerCheckRef::Shared { event_id }
            }
        })
    }
}

fn ser_time<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(serde::de::Error::custom)
}

impl AuditEntry {
    /// Sets the user's email.
    pub fn user_email(mut self, email: impl Into<String>) -> Self {
        self.user_email = Some(email.into());
        self
    }

    /// Sets the device id.
    pub fn device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }

    /// Sets the factor name.
    pub fn factor(mut self, factor: impl Into<String>) -> Self {
        self.factor = Some(factor.into());
        self
    }

    /// Sets the HTTP status.
    pub fn http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Sets the X-Request-Id.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets the operator's reason or ticket.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Sets how the check was made (`"push"` or `"code"`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Sets the signals on screen when the change was confirmed.
    pub fn signals(mut self, names: Vec<String>) -> Self {
        self.signals = Some(names);
        self
    }

    /// Sets which caller check preceded this change.
    pub fn caller_check(mut self, check: CallerCheckRef) -> Self {
        self.caller_check = Some(check);
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, outcome: AuditOutcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Marks the entry as a failure and copies the error's status, message and request id.
    pub fn failure(mut self, error: &ApiError) -> Self {
        self.outcome = AuditOutcome::Failure;
        self.http_status = error.status;
        self.request_id = error.request_id.clone();
        self.message = Some(error.message.clone());
        self
    }

    /// The entry as it is written: free text redacted, no trailing newline.
    pub fn to_json_line(&self) -> Result<String, AuditError> {
        let mut clean = self.clone();
        clean.reason = clean.reason.as_deref().map(logging::redact);
        clean.message = clean.message.as_deref().map(logging::redact);
        clean.caller_check = clean.caller_check.map(CallerCheckRef::redacted);
        serde_json::to_string(&clean).map_err(AuditError::Serialize)
    }
}

/// Who acts and where: the part of every entry that stays the same for a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditContext {
    /// The operator name.
    pub operator: String,
    /// The profile in use, if any.
    pub profile: Option<String>,
    /// The tenant's base URL.
    pub base_url: String,
}

impl AuditContext {
    /// A context for one session.
    pub fn new(
        operator: impl Into<String>,
        profile: Option<String>,
        base_url: impl Into<String>,
    ) -> Self {
        Self {
            operator: operator.into(),
            profile,
            base_url: base_url.into(),
        }
    }

    /// A new entry stamped with the current time; set the rest with the builder methods.
    pub fn entry(&self, user_id: UserId, action: AuditAction, outcome: AuditOutcome) -> AuditEntry {
        self.entry_at(Utc::now(), user_id, action, outcome)
    }

    /// A new entry with an explicit time (for tests and replay).
    pub fn entry_at(
        &self,
        time: DateTime<Utc>,
        user_id: UserId,
        action: AuditAction,
        outcome: AuditOutcome,
    ) -> AuditEntry {
        AuditEntry {
            time,
            operator: self.operator.clone(),
            profile: self.profile.clone(),
            base_url: self.base_url.clone(),
            user_id,
            user_email: None,
            user_name: None,
            device_id: None,
            device_name: None,
            factor: None,
            action,
            outcome,
            http_status: None,
            request_id: None,
            reason: None,
            message: None,
            method: None,
            caller_check: None,
            verified: None,
            bulk: None,
            case: None,
            signals: None,
            id: None,
            cancelled: None,
            registration_id: None,
        }
    }
}

/// Why the audit trail could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file (or its directory) could not be created or opened.
    #[error("cannot open audit log {path}: {source} (use --audit-log PATH to choose another)")]
    Open {
        /// The audit file path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// An entry could not be appended; it is kept in this session's memory only.
    #[error("cannot write to audit log {path}: {source}; the entry is kept in this session only")]
    Write {
        /// The audit file path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The audit file could not be read back.
    #[error("cannot read audit log {path}: {source}")]
    Read {
        /// The audit file path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// A line of the audit file is not a valid entry.
    #[error("audit log {path}, line {line}: {reason}")]
    Corrupt {
        /// The audit file path.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What the JSON parser said.
        reason: String,
    },
    /// The trail could not be opened at start, so nothing can be written to it.
    #[error("{0}")]
    Unavailable(String),
    /// An entry could not be turned into JSON (should not happen).
    #[error("cannot encode audit entry: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// An entry of this session, and whether it reached the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEntry {
    /// The entry as recorded.
    pub entry: AuditEntry,
    /// False when writing it to the file failed (or the log is in-memory only).
    pub persisted: bool,
}

/// The audit trail: an append-only file plus this session's entries in memory.
#[derive(Debug)]
pub struct AuditLog {
    /// The open file and its path; `None` for the in-memory log.
    file: Option<(File, PathBuf)>,
    /// Why the trail could not be opened: every write fails with this (fail closed).
    broken: Option<String>,
    entries: Vec<AuditEntry>,
    persisted: Vec<bool>,
    last_error: Option<String>,
}

impl AuditLog {
    /// Opens (creating with mode 0600, and creating parent directories) the audit file for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<AuditLog, AuditError> {
        let path = path.as_ref();
        let file = logging::open_private_append(path).map_err(|source| AuditError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(AuditLog {
            file: Some((file, path.to_owned())),
            broken: None,
            entries: Vec::new(),
            persisted: Vec::new(),
            last_error: None,
        })
    }

    /// A log that keeps entries in memory only (tests, and demo mode if desired).
    pub fn in_memory() -> AuditLog {
        AuditLog {
            file: None,
            broken: None,
            entries: Vec::new(),
            persisted: Vec::new(),
            last_error: None,
        }
    }

    /// A trail that could not be opened: every record fails with `error`, so the console sends
    /// no change while it cannot be written.
    pub fn unavailable(error: &AuditError) -> AuditLog {
        AuditLog {
            broken: Some(error.to_string()),
            ..Self::in_memory()
        }
    }

    /// Same as [`AuditLog::in_memory`]: nothing is written to disk.
    pub fn disabled() -> AuditLog {
        Self::in_memory()
    }

    /// The file entries are appended to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(_, p)| p.as_path())
    }

    /// True when entries go to a file.
    pub fn is_persistent(&self) -> bool {
        self.file.is_some()
    }

    /// Appends one entry as one JSON line, and keeps it in memory even if the write fails.
    pub fn record(&mut self, entry: AuditEntry) -> Result<(), AuditError> {
        let result = self.write_line(&entry);
        // The pane shows the redacted form too, so what is on screen matches the file.
        let mut shown = entry;
        shown.reason = shown.reason.as_deref().map(logging::redact);
        shown.message = shown.message.as_deref().map(logging::redact);
        shown.caller_check = shown.caller_check.map(CallerCheckRef::redacted);
        self.entries.push(shown);
        self.persisted.push(result.is_ok() && self.file.is_some());
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "audit entry not written");
                self.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    fn write_line(&mut self, entry: &AuditEntry) -> Result<(), AuditError> {
        if let Some(why) = &self.broken {
            return Err(AuditError::Unavailable(why.clone()));
        }
        let mut line = entry.to_json_line()?;
        line.push('\n');
        let Some((file, path)) = self.file.as_mut() else {
            return Ok(());
        };
        let write_err = |source| AuditError::Write {
            path: path.clone(),
            source,
        };
        // Other mfadesk processes append to the same trail: while one is mid-write its line's
        // end is not yet there, so the tail check and the write hold the file's lock together.
        let _lock = TrailLock::take(file);
        let before = file.metadata().map_err(write_err)?.len();
        // A torn last line (a write cut short elsewhere) would swallow this one: start afresh.
        if before > 0 && !ends_with_newline(file, before) {
            line.insert(0, '\n');
        }
        // One write_all of the whole line on an O_APPEND file: lines never interleave.
        let written = file.write_all(line.as_bytes()).and_then(|()| file.flush());
        if let Err(source) = written {
            // Whole or not at all: a part written before the failure (a full disk) is cut off
            // again, unless someone else has appended since.
            if let Ok(now) = file.metadata().map(|m| m.len())
                && now > before
                && now - before < line.len() as u64
            {
                let _ = file.set_len(before);
            }
            return Err(write_err(source));
        }
        Ok(())
    }

    /// This session's entries, oldest first.
    pub fn session_entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    /// This session's entries with whether each reached the file.
    pub fn session_entries_with_status(&self) -> Vec<SessionEntry> {
        self.entries
            .iter()
            .zip(&self.persisted)
            .map(|(entry, &persisted)| SessionEntry {
                entry: entry.clone(),
                persisted,
            })
            .collect()
    }

    /// The most recent write error, for the console to show until the next successful write.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Forgets the last write error (after the console has shown it).
    pub fn clear_error(&mut self) {
        self.last_error = None;
    }
}

/// An exclusive advisory lock on the trail for one line's check and write; released on drop.
/// Where locks are not available the write goes on unlocked (O_APPEND still keeps lines whole).
struct TrailLock {
    #[cfg(unix)]
    fd: std::os::unix::io::RawFd,
}

impl TrailLock {
    fn take(file: &File) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            let fd = file.as_raw_fd();
            // SAFETY: flock on a descriptor this File owns for the lock's lifetime.
            let taken = unsafe { libc::flock(fd, libc::LOCK_EX) } == 0;
            taken.then_some(Self { fd })
        }
        #[cfg(not(unix))]
        {
            let _ = file;
            None
        }
    }
}

impl Drop for TrailLock {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: the descriptor is still open: the lock never outlives the write.
        unsafe {
            libc::flock(self.fd, libc::LOCK_UN);
        }
    }
}

/// True when the file's last byte (at `len - 1`) is a newline, or it cannot be read (then no
/// newline is added: the file is being written by someone who knows).
fn ends_with_newline(file: &File, len: u64) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let mut last = [0u8; 1];
        match file.read_at(&mut last, len - 1) {
            Ok(1) => last[0] == b'\n',
            _ => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, len);
        true
    }
}

/// The longest line a reader takes: far beyond any entry mfadesk writes; a longer one is
/// malformed (skipped and counted), so no line can make a reader hold a file in memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How a reader says it skipped lines: `1 unreadable line skipped`, `3 unreadable lines skipped`.
pub fn skipped_note(skipped: usize) -> Option<String> {
    match skipped {
        0 => None,
        1 => Some("1 unreadable line skipped".to_owned()),
        n => Some(format!("{n} unreadable lines skipped")),
    }
}

/// Calls `each` with every line of `reader` (without its newline), at most [`MAX_LINE_BYTES`]
/// long; a longer line is passed as `None` and its bytes are never held.
fn each_line(reader: impl io::Read, mut each: impl FnMut(Option<&[u8]>)) -> Result<(), io::Error> {
    let mut reader = BufReader::new(reader);
    let mut line: Vec<u8> = Vec::new();
    let mut overlong = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let (used, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let content = &buf[..if ended { used - 1 } else { used }];
        if !overlong {
            if line.len() + content.len() > MAX_LINE_BYTES {
                overlong = true;
                line.clear();
            } else {
                line.extend_from_slice(content);
            }
        }
        reader.consume(used);
        if ended {
            each((!overlong).then_some(line.as_slice()));
            line.clear();
            overlong = false;
        }
    }
    if overlong || !line.is_empty() {
        each((!overlong).then_some(line.as_slice()));
    }
    Ok(())
}

/// One line's entry: `Ok(None)` for a blank line, `Err(())` for a malformed one.
fn parse_line(line: Option<&[u8]>) -> Result<Option<AuditEntry>, ()> {
    let line = line.ok_or(())?;
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(line).map(Some).map_err(|_| ())
}

/// Opens a trail for reading: a regular file only, opened without blocking (a FIFO must not
/// hang a reader), checked with `fstat` on the open descriptor.
fn open_for_read(path: &Path) -> Result<File, AuditError> {
    let read_err = |source| AuditError::Read {
        path: path.to_owned(),
        source,
    };
    let file = logging::open_regular_read(path).map_err(read_err)?;
    Ok(file)
}

/// Reads every entry a viewer can use: lines that do not parse (a torn write, another
/// version's record, a line beyond [`MAX_LINE_BYTES`]) are skipped and counted rather than
/// hiding the rest of the trail.
pub fn read_trail(path: impl AsRef<Path>) -> Result<(Vec<AuditEntry>, usize), AuditError> {
    let path = path.as_ref();
    let file = open_for_read(path)?;
    let mut entries = Vec::new();
    let mut skipped = 0;
    each_line(file, |line| match parse_line(line) {
        Ok(Some(entry)) => entries.push(entry),
        Ok(None) => {}
        Err(()) => skipped += 1,
    })
    .map_err(|source| AuditError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok((entries, skipped))
}

/// Reads every entry of an audit file, skipping malformed lines (see [`read_trail`], which
/// also says how many).
pub fn read_entries(path: impl AsRef<Path>) -> Result<Vec<AuditEntry>, AuditError> {
    read_trail(path).map(|(entries, _)| entries)
}

/// The recent end of a trail, read backwards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecentEntries {
    /// Entries at or after the cut-off time, newest first.
    pub entries: Vec<AuditEntry>,
    /// Malformed lines met on the way.
    pub skipped: usize,
    /// Bytes read from the file: bounded by the window, not by the file's size.
    pub bytes_read: u64,
}

/// How much of the file is read at a time, from the end.
const BACK_CHUNK: usize = 64 * 1024;

/// Reads the trail from its end until the first entry older than `since`: a 300 MB trail
/// costs what a small one does (one chunk, one partial line, the window's entries).
pub fn read_recent(
    path: impl AsRef<Path>,
    since: DateTime<Utc>,
) -> Result<RecentEntries, AuditError> {
    use std::io::{Read, Seek, SeekFrom};
    let path = path.as_ref();
    let read_err = |source| AuditError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = open_for_read(path)?;
    let mut pos = file.metadata().map_err(read_err)?.len();
    let mut out = RecentEntries::default();
    // The start of the earliest line seen so far, whose beginning is still further back.
    let mut carry: Vec<u8> = Vec::new();
    let mut overlong = false;
    let mut chunk = vec![0u8; BACK_CHUNK];
    // Returns false once a line older than `since` is met: nothing further back can matter.
    let take = |line: Option<&[u8]>, out: &mut RecentEntries| -> bool {
        match parse_line(line) {
            Ok(Some(entry)) if entry.time < since => return false,
            Ok(Some(entry)) => out.entries.push(entry),
            Ok(None) => {}
            Err(()) => out.skipped += 1,
        }
        true
    };
    while pos > 0 {
        let n = usize::try_from(pos.min(BACK_CHUNK as u64)).unwrap_or(BACK_CHUNK);
        pos -= n as u64;
        file.seek(SeekFrom::Start(pos)).map_err(read_err)?;
        file.read_exact(&mut chunk[..n]).map_err(read_err)?;
        out.bytes_read += n as u64;
        let piece = &chunk[..n];
        let Some(first_nl) = piece.iter().position(|&b| b == b'\n') else {
            // Still inside one line.
            if !overlong && carry.len() + n > MAX_LINE_BYTES {
                overlong = true;
                carry = Vec::new();
            } else if !overlong {
                let mut joined = piece.to_vec();
                joined.extend_from_slice(&carry);
                carry = joined;
            }
            continue;
        };
        // The line that ends where the carry ends: its start is in this chunk.
        let last_nl = piece.iter().rposition(|&b| b == b'\n').unwrap_or(first_nl);
        let tail = &piece[last_nl + 1..];
        let keep_going = if overlong || tail.len() + carry.len() > MAX_LINE_BYTES {
            take(None, &mut out)
        } else if tail.is_empty() && carry.is_empty() {
            true
        } else {
            let mut line = tail.to_vec();
            line.extend_from_slice(&carry);
            take(Some(&line), &mut out)
        };
        if !keep_going {
            return Ok(out);
        }
        overlong = false;
        // Whole lines between the first and last newline, newest first.
        if last_nl > first_nl {
            for line in piece[first_nl + 1..last_nl].rsplit(|&b| b == b'\n') {
                if !take(Some(line), &mut out) {
                    return Ok(out);
                }
            }
        }
        carry = piece[..first_nl].to_vec();
    }
    if overlong {
        take(None, &mut out);
    } else if !carry.is_empty() {
        take(Some(&carry), &mut out);
    }
    Ok(out)
}
