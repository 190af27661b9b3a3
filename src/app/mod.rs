//! Console state and its update function: keys and API results in, commands out.

pub mod activity;
pub mod audit_view;
pub mod caller;
pub mod code_entry;
pub mod codes;
pub mod coverage;
pub mod dialogs;
pub mod keymap;
pub mod phone;
pub mod query;
mod update;
pub mod validate;
pub mod walk;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use tui_input::Input;

use crate::api::{
    ApiError, AuthFactor, DeviceId, OtpDevice, RateLimit, Secret, User, UserId, UserQuery,
};
use crate::policy::RequiredChecks;
use crate::worker::{ApiEvent, ApiRequest, RequestId};
use dialogs::Dialog;
use keymap::Action;
use phone::{PhoneCmd, PhoneSnapshot};

pub use update::{PASTE_IGNORED, lock_reasons, paste_text, settle_on_crash, update};

/// Everything that can happen to the console.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): text for the focused field, never keys.
    Paste(String),
    /// The terminal was resized.
    Resize(u16, u16),
    /// Time passed (only while a spinner, countdown or push wait is on screen).
    Tick,
    /// An API call finished.
    Api(Box<ApiEvent>),
    /// The demo phone's contents.
    Phone(PhoneSnapshot),
    /// Stop now (a signal, or the end of input): changes in flight are settled as unknown.
    Terminate,
    /// The audit trail as read from its file (entries, lines skipped), or why it could not be.
    AuditRead(Result<(Vec<crate::audit::AuditEntry>, usize), String>),
    /// The coverage report or a background scan reported.
    Coverage(coverage::CoverageMsg),
}

/// Everything the console asks the outside world to do.
// A Cmd lives for one pass of the loop, a few at a time: an audit note inline costs less than
// a box per line, and keeps `Cmd::Audit(note)` matchable by value.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    /// Start an API call.
    Request(RequestId, ApiRequest),
    /// Abandon an API call.
    Cancel(RequestId),
    /// Copy to the clipboard (OSC 52).
    Copy(Secret),
    /// Ask the demo phone something.
    Phone(PhoneCmd),
    /// Write an audit line.
    Audit(AuditNote),
    /// Read the whole audit trail for the audit view (answered by [`Msg::AuditRead`]).
    ReadAudit,
    /// Read the coverage report or start a scan (answered by [`Msg::Coverage`]).
    Coverage(coverage::CoverageCmd),
    /// Leave.
    Quit,
}

pub use crate::audit::{AuditAction as AuditKind, AuditOutcome as AuditResult, CallerCheckRef};

/// One audit record, as the console knows it (no secret ever goes in here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditNote {
    /// When.
    pub time: DateTime<Utc>,
    /// What.
    pub action: AuditKind,
    /// How it ended.
    pub outcome: AuditResult,
    /// The user.
    pub user_id: UserId,
    /// The user's email.
    pub user_email: Option<String>,
    /// The user's name.
    pub user_name: Option<String>,
    /// The device.
    pub device_id: Option<String>,
    /// The user's name for the device.
    pub device_name: Option<String>,
    /// The factor name.
    pub factor: Option<String>,
    /// HTTP status of the answer.
    pub http_status: Option<u16>,
    /// X-Request-Id of the answer.
    pub request_id: Option<String>,
    /// The reason or ticket the agent gave.
    pub reason: Option<String>,
    /// An error message (never a secret).
    pub message: Option<String>,
    /// How a caller check was made: "push" or "code".
    pub method: Option<String>,
    /// On a change line: the caller check that preceded it.
    pub caller_check: Option<CallerCheckRef>,
    /// Enroll lines: whether the number was marked verified (not checked with a code).
    pub verified: Option<bool>,
    /// The walkthrough case id (`w-…`) when the line was written during one.
    pub case: Option<String>,
    /// Change lines: the signals on screen when the change was confirmed.
    pub signals: Option<Vec<String>>,
    /// Shared by an attempt and its outcome, so a reader can tell they belong together.
    pub id: Option<String>,
    /// A check closed while it waited: the outcome is unknown, not a failure.
    pub cancelled: Option<bool>,
}

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The search box.
    Search,
    /// The result list.
    Users,
    /// The open user's enrolled devices.
    Devices,
    /// The open user's available factors.
    Factors,
}

/// What the console knows about the tenant it talks to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TenantInfo {
    /// A short name (subdomain or "demo").
    pub name: String,
    /// The base URL.
    pub base_url: String,
    /// Running against the built-in demo tenant.
    pub demo: bool,
    /// Writes are refused.
    pub read_only: bool,
    /// The profile in use.
    pub profile: Option<String>,
    /// A label for the header ("PRODUCTION").
    pub label: Option<String>,
    /// The label's colour name.
    pub color: Option<String>,
    /// Ask for a reason before remove or temporary token.
    pub require_reason: bool,
    /// The profile's caller-check policy.
    pub caller_check: CallerCheckSettings,
}

/// The profile's caller-check policy, as the console applies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerCheckSettings {
    /// How long a successful check stays valid, in minutes.
    pub minutes: u32,
    /// Changes that need a fresh check first.
    pub required: RequiredChecks,
    /// Checks are allowed in read-only mode.
    pub read_only_allowed: bool,
}

impl Default for CallerCheckSettings {
    fn default() -> Self {
        Self {
            minutes: crate::policy::DEFAULT_CALLER_CHECK_MINUTES,
            required: RequiredChecks::none(),
            read_only_allowed: true,
        }
    }
}

/// The users pane: search box and results.
#[derive(Clone, Debug, Default)]
pub struct SearchState {
    /// The search box.
    pub input: Input,
    /// The query the results are for.
    pub query: String,
    /// Results, de-duplicated.
    pub results: Vec<User>,
    /// The selected row.
    pub selected: usize,
    /// Queries for the next page.
    pub next: Vec<UserQuery>,
    /// Total matches, when the API said.
    pub total: Option<u64>,
    /// A problem with the query or the call.
    pub message: Option<String>,
    /// The search in flight.
    pub request: Option<RequestId>,
    /// The next-page fetch in flight.
    pub more: Option<RequestId>,
    /// A search has completed at least once.
    pub searched: bool,
    /// The box was just focused: the next typed character replaces the old query.
    pub fresh: bool,
    /// The results merge several queries (a bare name): no total applies to them.
    pub merged: bool,
    /// The last search failed: its rows are gone and `r` runs it again.
    pub failed: bool,
}

/// The open user: details, devices and factors.
#[derive(Clone, Debug)]
pub struct UserView {
    /// The user.
    pub user: User,
    /// Enrolled devices (None until loaded).
    pub devices: Option<Vec<OtpDevice>>,
    /// Available factors (None until loaded).
    pub factors: Option<Vec<AuthFactor>>,
    /// Why devices could not be loaded.
    pub devices_error: Option<String>,
    /// Why factors could not be loaded.
    pub factors_error: Option<String>,
    /// Selected device row.
    pub device_sel: usize,
    /// Selected factor row.
    pub factor_sel: usize,
    /// A device to select once the list reloads (the one just enrolled).
    pub select_after_load: Option<DeviceId>,
}

impl UserView {
    /// The selected device.
    pub fn selected_device(&self) -> Option<&OtpDevice> {
        self.devices.as_ref()?.get(self.device_sel)
    }
}

/// Severity of the status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    /// Neutral.
    Info,
    /// Something worked.
    Success,
    /// Something was refused or needs attention.
    Warning,
}

/// The one-line status under the panes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The text.
    pub text: String,
    /// Severity.
    pub kind: StatusKind,
}

/// What a request in flight is for; results whose id is not here are stale and dropped.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Purpose {
    Search,
    SearchMore,
    User(UserId),
    Devices(UserId),
    Factors(UserId),
    /// The open user's recent events.
    Events(UserId),
    /// Older events of the open user (the history view's `n`).
    MoreEvents(UserId),
    Enroll,
    EnrollCheck {
        display_name: String,
        number: String,
        /// Why the enroll call failed, shown with what the check found.
        cause: String,
        /// The failure itself: the open enroll attempt is settled with it once the check is back.
        lost: ApiError,
        /// Device ids the user had before the enroll: a new one is the enrolled device.
        known: Vec<DeviceId>,
    },
    Trigger,
    Verify,
    /// A v2 registration's first code or a poll.
    Register,
    Remove,
    MfaToken,
    /// Unlock, sign out everywhere, or lock.
    Account,
    RateLimit,
    CallerTrigger,
    CallerVerify,
    /// The no-op trigger that asks whether this credential may trigger at all.
    CallerProbe,
}

/// A state token kept so `v` can verify again without a new SMS.
#[derive(Clone, Debug)]
pub struct LiveToken {
    /// The token.
    pub token: Secret,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// Trigger options it was made with.
    pub options: dialogs::TriggerOptions,
    /// When codes were sent to the device for this verification (for the re-send limit).
    pub sends: Vec<DateTime<Utc>>,
}

/// The whole console state.
#[derive(Debug)]
pub struct App {
    /// The current time (set by the runtime before each message; tests set it by hand).
    pub now: DateTime<Utc>,
    /// The tenant.
    pub tenant: TenantInfo,
    /// Who has the keyboard.
    pub focus: Focus,
    /// The users pane.
    pub search: SearchState,
    /// The open user.
    pub user: Option<UserView>,
    /// The open user's events and signals.
    pub activity: Option<activity::Activity>,
    /// The API client this session uses (to recognise its colleagues' checks in the events).
    pub client_id: Option<String>,
    /// Another session's caller check satisfies a required check (profile `caller_check_shared`).
    pub caller_check_shared: bool,
    /// Dialogs, top last.
    pub dialogs: Vec<Dialog>,
    /// The API budget.
    pub rate_limit: Option<RateLimit>,
    /// The status line.
    pub status: Option<Status>,
    /// Spinner frame.
    pub spinner: usize,
    /// Demo phone panel shown.
    pub phone_visible: bool,
    /// Demo phone contents.
    pub phone: PhoneSnapshot,
    /// Terminal size.
    pub size: (u16, u16),
    /// This session's audit records.
    pub audit: Vec<AuditNote>,
    /// Draw with colours (false under NO_COLOR).
    pub colors: bool,
    /// The console should exit.
    pub quit: bool,
    /// Ctrl-C was pressed once while a change was in flight.
    pub quit_armed: bool,
    /// Who is at the keyboard, for the caller-check line and the audit trail.
    pub operator: String,
    /// The latest caller check (of the open user; opening another user clears it).
    pub caller: Option<crate::policy::CallerCheck>,
    /// A reason to skip a required check for one change.
    pub caller_override: Option<caller::CallerOverride>,
    /// The tenant refused this credential a trigger or verify (Read Users scope).
    pub credential_read_only: bool,
    /// The credential's scope was asked once this session (the first `c`).
    pub credential_probed: bool,
    /// v2 registrations begun in this session and left pending (Esc): listed under Enrolled
    /// until they expire; their QR code stays in memory only, never on disk.
    pub registrations: Vec<dialogs::RegisterDialog>,
    /// Devices' enrollment times known to this session (its own enrollments, the trail's, the
    /// tenant's events): a device enrolled within 24 h never proves the caller.
    pub enrolled: Vec<crate::ops::device_age::EnrolledAt>,
    /// The tenant refused a lock to this credential (it needs Manage All): `L` sends nothing.
    pub lock_refused: bool,
    /// A walkthrough ended during this update: its summary becomes the status line last.
    pub(crate) walk_ended: Option<String>,
    /// The MFA API the session speaks, once the first MFA answer says (header badge).
    pub mfa_api: Option<crate::api::MfaVersion>,
    pub(crate) pending: HashMap<RequestId, Purpose>,
    pub(crate) tokens: HashMap<DeviceId, LiveToken>,
    /// Attempts recorded and not yet settled, one per action (dialogs are modal).
    pub(crate) open_attempts: HashMap<AuditKind, AuditNote>,
    /// Status and request id of the answer being handled.
    pub(crate) last_meta: crate::api::ResponseMeta,
    /// Why the tenant could not be reached at start (`r` tries again); None once it answered.
    pub connection: Option<ApiError>,
    /// When the spent API budget comes back (the header counts down to it).
    pub rate_reset_at: Option<DateTime<Utc>>,
    /// The tenant's clock minus ours, from the last answer's `Date` header. For information
    /// only: expiries arrive on our clock already (the client applies the offset, once).
    pub clock_offset: chrono::Duration,
    /// The audit view: the whole trail as read from the file, and its filter.
    pub audit_view: AuditView,
    /// The Coverage view (`R`) and a background scan.
    pub coverage: coverage::CoverageState,
    next_id: RequestId,
    /// The newest device read asked for: an older one answering late never overwrites it.
    pub(crate) latest_devices: Option<RequestId>,
}

/// The audit view (`A`): entries read from the trail file, newest first, and a filter.
#[derive(Clone, Debug, Default)]
pub struct AuditView {
    /// Entries from the file, newest first (None until read).
    pub entries: Option<Vec<crate::audit::AuditEntry>>,
    /// Why the file could not be read.
    pub error: Option<String>,
    /// The filter box (user, ticket text or operator).
    pub filter: Input,
    /// The filter box has the keyboard.
    pub editing: bool,
    /// The filter was just focused: typing replaces it, as in the search box.
    pub fresh: bool,
    /// The last filter left non-empty (Up in an empty box recalls it).
    pub last_filter: String,
    /// Lines of the file that could not be read.
    pub skipped: usize,
}

impl App {
    /// A fresh console for a tenant.
    pub fn new(tenant: TenantInfo, now: DateTime<Utc>) -> Self {
        Self {
            now,
            tenant,
            focus: Focus::Users,
            search: SearchState::default(),
            user: None,
            activity: None,
            client_id: None,
            caller_check_shared: false,
            dialogs: Vec::new(),
            rate_limit: None,
            status: None,
            spinner: 0,
            phone_visible: false,
            phone: PhoneSnapshot::default(),
            size: (80, 24),
            audit: Vec::new(),
            colors: true,
            quit: false,
            quit_armed: false,
            operator: "unknown".to_owned(),
            caller: None,
            caller_override: None,
            credential_read_only: false,
            credential_probed: false,
            enrolled: Vec::new(),
            registrations: Vec::new(),
            lock_refused: false,
            walk_ended: None,
            mfa_api: None,
            pending: HashMap::new(),
            tokens: HashMap::new(),
            open_attempts: HashMap::new(),
            last_meta: Default::default(),
            connection: None,
            rate_reset_at: None,
            clock_offset: chrono::Duration::zero(),
            audit_view: AuditView::default(),
            coverage: coverage::CoverageState::default(),
            next_id: 1,
            latest_devices: None,
        }
    }

    /// Commands to run when the console opens: read the API budget for the header.
    pub fn startup(&mut self) -> Vec<Cmd> {
        let (_, cmd) = self.request(Purpose::RateLimit, ApiRequest::RateLimit);
        vec![cmd]
    }

    /// True while any API call is in flight (the spinner shows).
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The position of the dialog waiting for this request, if it is still open.
    pub(crate) fn dialog_waiting_for(&self, id: RequestId) -> Option<usize> {
        self.dialogs.iter().position(|d| d.busy() == Some(id))
    }

    /// The open user's view, when it is this user (results for another user are stale).
    pub(crate) fn view_of(&mut self, user_id: UserId) -> Option<&mut UserView> {
        self.user.as_mut().filter(|v| v.user.id == user_id)
    }

    /// The open user's pending registrations, as listed under Enrolled after the devices
    /// (index into [`App::registrations`], registration).
    pub fn open_registrations(&self) -> Vec<(usize, &dialogs::RegisterDialog)> {
        let Some(open) = self.user.as_ref().map(|v| v.user.id) else {
            return Vec::new();
        };
        self.registrations
            .iter()
            .enumerate()
            .filter(|(_, r)| r.target.user_id == open)
            .filter(|(_, r)| r.expires_at.is_none_or(|t| t > self.now))
            .collect()
    }

    /// The pending registration highlighted in the Enrolled list (index into `registrations`).
    pub fn selected_registration(&self) -> Option<usize> {
        let view = self.user.as_ref()?;
        let devices = view.devices.as_ref().map_or(0, Vec::len);
        let row = view.device_sel.checked_sub(devices)?;
        self.open_registrations().get(row).map(|(i, _)| *i)
    }

    /// True when the runtime should send ticks: spinner, countdown, push wait or phone panel.
    pub fn needs_tick(&self) -> bool {
        self.busy()
            || !self.open_registrations().is_empty()
            || self.phone_visible
            || self.rate_reset_shown()
            || self.dialogs.iter().any(|d| {
                matches!(d, Dialog::Verify(v) if v.expires_at.is_some()
                    || v.code.counting_down(self.now)
                    || matches!(v.stage, dialogs::VerifyStage::AwaitPush { .. }))
                    || matches!(d, Dialog::Register(r) if !r.ended && r.expires_at.is_some())
            })
    }

    /// Whether an action makes sense right now (drives the footer and help).
    pub fn available(&self, action: Action) -> bool {
        // `v` on an active device is a caller check, which changes nothing: it stays offered
        // in read-only mode where checks are allowed.
        let verify_checks = action == Action::Verify
            && self
                .user
                .as_ref()
                .and_then(|u| u.selected_device())
                .is_some_and(|d| d.active)
            && self.caller_check_allowed()
            && !self.credential_read_only;
        if action.is_mutating() && self.tenant.read_only && !verify_checks {
            return false;
        }
        if action.acts_on_open_user() && self.highlighted_other().is_some() {
            return false;
        }
        let device = self.user.as_ref().and_then(|u| u.selected_device());
        match action {
            Action::Enroll
            | Action::Token
            | Action::Logout
            | Action::Lock
            | Action::Walkthrough => self.user.is_some(),
            Action::Unlock => self.user.as_ref().is_some_and(|v| self.is_locked(&v.user)),
            // After a failed start, r tries to reach the tenant again; after a failed search, the
            // search.
            Action::Refresh => {
                self.user.is_some()
                    || self.connection.is_some()
                    || (self.search.failed && !self.search.query.is_empty())
            }
            Action::Trigger => device.is_some_and(|d| d.needs_trigger),
            Action::Verify | Action::Remove => device.is_some(),
            Action::Open => match self.focus {
                Focus::Users => !self.search.results.is_empty(),
                Focus::Factors => !self.tenant.read_only && self.user.is_some(),
                Focus::Devices => !self.tenant.read_only && device.is_some(),
                Focus::Search => false,
            },
            Action::CallerCheck => {
                self.user.is_some() && self.caller_check_allowed() && !self.credential_read_only
            }
            Action::Phone => self.tenant.demo,
            Action::ApprovePush | Action::DenyPush => {
                self.tenant.demo && self.phone_visible && !self.phone.pushes.is_empty()
            }
            Action::Quit => self.dialogs.is_empty(),
            _ => true,
        }
    }

    /// True when the user is locked: status 3, or a `locked_until` still ahead.
    pub fn is_locked(&self, user: &User) -> bool {
        user.status == Some(3) || user.locked_until.is_some_and(|t| t > self.now)
    }

    /// The highlighted search result while the users list has focus, when it is not the open
    /// user: keys that act on the open user would otherwise act on someone not highlighted.
    pub fn highlighted_other(&self) -> Option<&User> {
        if self.focus != Focus::Users {
            return None;
        }
        let row = self.search.results.get(self.search.selected)?;
        match &self.user {
            Some(view) if view.user.id == row.id => None,
            _ => Some(row),
        }
    }

    /// What Enter does in the focused pane, as the footer says it.
    pub fn enter_label(&self) -> &'static str {
        match self.focus {
            Focus::Factors => "enroll",
            Focus::Devices => "verify",
            _ => "open",
        }
    }

    /// True while the terminal is below the smallest usable size (the "too small" screen).
    pub fn too_small(&self) -> bool {
        self.size.0 < crate::ui::MIN_SIZE.0 || self.size.1 < crate::ui::MIN_SIZE.1
    }

    /// The hint shown when the console opens, offering only what works in this mode.
    pub fn first_run_hint(&self) -> Option<&'static str> {
        match (self.tenant.demo, self.tenant.read_only) {
            (true, false) => Some(
                "Demo tenant: try / kelly, Enter, then e to enroll a phone; p shows the demo phone.",
            ),
            (true, true) => {
                Some("Read-only demo: / kelly, Enter shows the devices; p shows the demo phone.")
            }
            (false, true) => {
                Some("Read-only mode: / searches, Enter opens a user; changes are refused.")
            }
            (false, false) => None,
        }
    }

    pub(crate) fn request(&mut self, purpose: Purpose, request: ApiRequest) -> (RequestId, Cmd) {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, purpose);
        (id, Cmd::Request(id, request))
    }

    pub(crate) fn cancel(&mut self, id: Option<RequestId>, cmds: &mut Vec<Cmd>) {
        if let Some(id) = id
            && self.pending.remove(&id).is_some()
        {
            cmds.push(Cmd::Cancel(id));
        }
    }

    /// True while a change (enroll, trigger, verify, remove, token) is in flight.
    pub fn change_in_flight(&self) -> bool {
        self.pending.values().any(|p| {
            matches!(
                p,
                Purpose::Enroll
                    | Purpose::Trigger
                    | Purpose::Verify
                    | Purpose::Register
                    | Purpose::Remove
                    | Purpose::MfaToken
                    | Purpose::Account
            )
        })
    }

    /// Seconds until the spent API budget resets, while the header shows it (budget at 0).
    pub fn rate_reset_in(&self) -> Option<i64> {
        let spent = self.rate_limit.is_some_and(|r| r.remaining == Some(0));
        let at = self.rate_reset_at?;
        (spent && at > self.now).then(|| (at - self.now).num_seconds().max(0))
    }

    fn rate_reset_shown(&self) -> bool {
        self.rate_reset_in().is_some()
    }

    /// Sets the status line.
    pub fn set_status(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            kind,
        });
    }
}
