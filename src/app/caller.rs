//! Caller-check state: the check dialog, the override dialog, and what the console remembers.

use chrono::{DateTime, Utc};
use tui_input::Input;

use super::AuditKind;
use super::dialogs::{DeviceKind, Dialog, RemoveButton, Target, TokenField};
use crate::api::{OtpDevice, UserId};
pub use crate::ops::device_age::{CheckDevice, NO_OLD_DEVICE};
use crate::policy::{CallerCheck, Freshness, GuardedAction};

/// What `c` says when the API credential has been refused a trigger or verify.
pub const NO_SCOPE: &str =
    "This API credential cannot check callers: it needs the Manage users scope";

/// What the check dialog says for a user with no active device.
pub const NO_ACTIVE_DEVICE: &str = "No active device to check the caller with";

/// What a guarded dialog says until the caller is checked or the check overridden.
pub const NOT_CHECKED: &str = "Caller not checked: c checks the caller, o overrides with a reason";

/// How a device checks the caller, as the dialog lists it.
pub fn method_word(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Push => crate::ops::device_age::PUSH_LABEL,
        DeviceKind::Sms => "SMS code",
        DeviceKind::Voice => "call",
        DeviceKind::Email => "emailed code",
        DeviceKind::Code => "code",
    }
}

/// How a device checks the caller, as the list says it (a YubiKey types its code).
pub fn method_label(device: &OtpDevice) -> &'static str {
    if crate::ops::code::is_yubikey(device) {
        "code typed by the YubiKey"
    } else {
        method_word(DeviceKind::of(device))
    }
}

/// The caller-check dialog: which device proves the caller. Choosing one hands over to the
/// verify dialog in check mode, which takes the code or waits for the push.
#[derive(Clone, Debug)]
pub struct CallerCheckDialog {
    /// The user the caller claims to be.
    pub target: Target,
    /// The active devices, codes first, each with why it may not prove the caller.
    pub devices: Vec<CheckDevice>,
    /// The highlighted device.
    pub selected: usize,
    /// What went wrong last.
    pub error: Option<String>,
    /// Opened from this guarded change's dialog: success returns to it.
    pub resume: Option<GuardedAction>,
}

impl CallerCheckDialog {
    /// The highlighted device, when it may prove the caller.
    pub fn device(&self) -> Option<&OtpDevice> {
        self.devices
            .get(self.selected)
            .filter(|c| c.blocked.is_none())
            .map(|c| &c.device)
    }

    /// True when some device may prove the caller (else only the override is left).
    pub fn offered(&self) -> bool {
        crate::ops::device_age::any_offered(&self.devices)
    }
}

/// The override dialog: a reason for skipping the check for one change.
#[derive(Clone, Debug)]
pub struct OverrideDialog {
    /// Whose change.
    pub target: Target,
    /// The change it allows.
    pub action: GuardedAction,
    /// The reason (at least 10 characters).
    pub reason: Input,
    /// Why the reason was refused.
    pub error: Option<String>,
}

/// A reason to skip the check, good for one change of one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerOverride {
    /// The user.
    pub user_id: UserId,
    /// The change it allows.
    pub action: GuardedAction,
    /// The operator's reason.
    pub reason: String,
}

/// Whether a guarded dialog may confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateState {
    /// No check is required for this change.
    NotRequired,
    /// A fresh successful check.
    Checked(CallerCheck),
    /// Overridden for this change, with this reason.
    Overridden(String),
    /// Required and missing (or the last check failed).
    Missing,
    /// Required and the last success is too old.
    Expired(CallerCheck),
    /// Another session's check (an API verify in the events), allowed by the profile.
    Shared {
        /// The event that recorded it.
        event_id: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl GateState {
    /// True when the change may go ahead.
    pub fn allows(&self) -> bool {
        matches!(
            self,
            GateState::NotRequired
                | GateState::Checked(_)
                | GateState::Overridden(_)
                | GateState::Shared { .. }
        )
    }
}

/// The guarded change a dialog would confirm, and for whom (None: not guarded right now).
pub fn guarded(dialog: &Dialog) -> Option<(GuardedAction, UserId)> {
    match dialog {
        Dialog::Remove(d) => Some((GuardedAction::Remove, d.target.user_id)),
        Dialog::Token(d) if d.issued.is_none() => Some((GuardedAction::Token, d.target.user_id)),
        Dialog::Enroll(d) if d.verified => Some((GuardedAction::EnrollVerified, d.target.user_id)),
        Dialog::Enroll(d) => Some((GuardedAction::Enroll, d.target.user_id)),
        Dialog::Account(d) if d.action == crate::ops::account::AccountAction::Unlock => {
            Some((GuardedAction::Unlock, d.target.user_id))
        }
        _ => None,
    }
}

/// True when the dialog's focused field takes typed text (so `c` and `o` are letters there).
pub fn typing(dialog: &Dialog) -> bool {
    match dialog {
        Dialog::Remove(d) => d.button == RemoveButton::Reason,
        Dialog::Token(d) => d.field == TokenField::Reason,
        Dialog::Account(d) => d.field == super::dialogs::AccountField::Reason,
        // Only the Verified box is not text: letters on the factor picker start the name.
        Dialog::Enroll(d) => d.field != super::dialogs::EnrollField::Verified,
        _ => true,
    }
}

impl super::App {
    /// The latest caller check of the open user (a check never outlives opening another user).
    pub fn caller_check(&self) -> Option<&CallerCheck> {
        let open = self.user.as_ref()?.user.id;
        self.caller.as_ref().filter(|c| c.user_id == open)
    }

    /// Whether `action` for `user_id` may go ahead now.
    pub fn caller_gate(&self, action: GuardedAction, user_id: UserId) -> GateState {
        let policy = &self.tenant.caller_check;
        if !policy.required.contains(action) {
            return GateState::NotRequired;
        }
        if let Some(o) = &self.caller_override
            && o.user_id == user_id
            && o.action.same_change(action)
        {
            return GateState::Overridden(o.reason.clone());
        }
        let check = self.caller.as_ref().filter(|c| c.user_id == user_id);
        let own = match check {
            Some(c) => match c.freshness(self.now, policy.minutes) {
                Freshness::Fresh => GateState::Checked(c.clone()),
                Freshness::Expired => GateState::Expired(c.clone()),
                Freshness::None => GateState::Missing,
            },
            None => GateState::Missing,
        };
        match self.shared_check(user_id) {
            Some((event_id, at)) if self.caller_check_shared && !own.allows() => {
                GateState::Shared { event_id, at }
            }
            _ => own,
        }
    }

    /// A caller check another session made with this API client: an API verify (528) of the
    /// user within the check's lifetime, seen in the events (the rule is in `ops::signals`).
    /// This session's own verifies are not counted.
    pub fn shared_check(&self, user_id: UserId) -> Option<(String, DateTime<Utc>)> {
        let a = self.activity.as_ref().filter(|a| a.user_id == user_id)?;
        let client = self.client_id.as_deref()?;
        let minutes = i64::from(self.tenant.caller_check.minutes);
        let mine = |at: DateTime<Utc>| {
            self.audit.iter().any(|n| {
                n.user_id == user_id
                    && matches!(n.action, AuditKind::CallerCheck | AuditKind::Verify)
                    && (n.time - at).num_seconds().abs() <= 30
            })
        };
        let events: Vec<crate::api::Event> = a
            .events
            .as_deref()?
            .iter()
            .filter(|e| e.created_at.is_some_and(|at| !mine(at)))
            .cloned()
            .collect();
        let e =
            crate::ops::signals::shared_caller_check(&events, user_id, client, minutes, self.now)?;
        Some((e.id.clone(), e.created_at?))
    }

    /// The gate of the top dialog, when it is a guarded change.
    pub fn top_gate(&self) -> Option<GateState> {
        let (action, user_id) = guarded(self.dialogs.last()?)?;
        Some(self.caller_gate(action, user_id))
    }

    /// True when caller checks may run under the mode and profile (the credential aside).
    pub fn caller_check_allowed(&self) -> bool {
        crate::policy::check_allowed(
            self.tenant.read_only,
            self.tenant.caller_check.read_only_allowed,
        )
    }

    /// The open user's devices as a caller check offers them: the one place the list is made
    /// (codes first, devices too new to prove the caller greyed). None until they are loaded.
    pub fn check_devices(&self) -> Option<Vec<CheckDevice>> {
        let view = self.user.as_ref()?;
        let devices = view.devices.as_ref()?;
        // This session's enrollments (its audit notes), and whatever else is known.
        let mut enrolled = self.enrolled.clone();
        enrolled.extend(
            self.audit
                .iter()
                .filter(|n| {
                    n.action == super::AuditKind::Enroll
                        && n.user_id == view.user.id
                        && matches!(
                            n.outcome,
                            super::AuditResult::Success | super::AuditResult::Pending
                        )
                })
                .filter_map(|n| Some((crate::api::DeviceId(n.device_id.clone()?), n.time))),
        );
        // …and the tenant's events 22/540 (another session's or the portal's enrollments).
        let events = self.open_user_events();
        enrolled.extend(
            crate::ops::signals::device_enrolled_at(events)
                .into_iter()
                .map(|(id, at)| (crate::api::DeviceId(id), at)),
        );
        let mut list = crate::ops::device_age::check_devices(devices, &enrolled, self.now);
        // While the real user is being push-bombed they may approve anything: no push.
        if let Some(why) = self.push_refusal() {
            for c in list
                .iter_mut()
                .filter(|c| DeviceKind::of(&c.device) == DeviceKind::Push)
            {
                c.blocked.get_or_insert(why.clone());
            }
        }
        Some(list)
    }

    /// A user's events as read so far; None before the first answer (or for another user).
    pub fn events_of(&self, user_id: UserId) -> Option<&[crate::api::Event]> {
        self.activity
            .as_ref()
            .filter(|a| a.user_id == user_id)
            .and_then(|a| a.events.as_deref())
    }

    /// The open user's events as read so far (none before the first answer).
    fn open_user_events(&self) -> &[crate::api::Event] {
        self.user
            .as_ref()
            .and_then(|view| self.events_of(view.user.id))
            .unwrap_or(&[])
    }

    /// `Push not offered: …` while the open user's events show push bombing.
    pub fn push_refusal(&self) -> Option<String> {
        crate::ops::signals::push_refusal(self.open_user_events(), self.now)
    }

    /// When the open user's fresh check expires: the console wakes then to say so.
    pub fn caller_check_expiry(&self) -> Option<DateTime<Utc>> {
        let c = self.caller_check()?;
        let minutes = self.tenant.caller_check.minutes;
        (c.freshness(self.now, minutes) == Freshness::Fresh)
            .then(|| c.at + chrono::Duration::minutes(i64::from(minutes)))
    }
}

/// How another session's check reads: `Caller checked HH:MM through the API (another session)`.
pub fn shared_line(at: DateTime<Utc>) -> String {
    format!(
        "Caller checked {} through the API (another session)",
        at.with_timezone(&chrono::Local).format("%H:%M")
    )
}

/// How the pane and dialogs describe the latest check, and whether it is good news.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLine {
    /// The text, e.g. `✓ Caller checked 10:04 by jdoe (OneLogin Protect "Pixel")`.
    pub text: String,
    /// True for a fresh success.
    pub ok: bool,
}

/// The line for a check at `now` with a validity of `minutes` (times in UTC, as in the trail).
pub fn check_line(check: &CallerCheck, now: DateTime<Utc>, minutes: u32) -> CheckLine {
    let at = check.at.format("%H:%M");
    match &check.outcome {
        crate::policy::CheckOutcome::Failure { why } => CheckLine {
            text: format!("✗ Caller check failed {at}: {why}"),
            ok: false,
        },
        crate::policy::CheckOutcome::Success => match check.freshness(now, minutes) {
            Freshness::Fresh => {
                let device = match check.device_name.as_deref() {
                    Some(name) if !name.is_empty() && name != check.factor => {
                        format!("{} \"{name}\"", check.factor)
                    }
                    _ => check.factor.clone(),
                };
                CheckLine {
                    text: format!("✓ Caller checked {at} by {} ({device})", check.operator),
                    ok: true,
                }
            }
            _ => CheckLine {
                text: "Caller check expired".into(),
                ok: false,
            },
        },
    }
}
