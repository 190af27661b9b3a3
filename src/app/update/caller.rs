//! The caller check: `c`, its dialog, the push wait, the code, the override, and the gate
//! that guarded changes pass before they are sent.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::audit::{audit_note, record, settle};
use super::form::is_submit;
use super::user::target;
use crate::api::{ApiError, ErrorKind, OtpDevice, TriggerResult, UserId};
use crate::app::caller::*;
use crate::app::dialogs::*;
use crate::app::*;
use crate::audit::CallerCheckRef;
use crate::policy::{self, CallerCheck, CheckMethod, CheckOutcome, GuardedAction};
use crate::worker::ApiRequest;

/// `c` at the top level, or from a guarded change's dialog (`resume`).
pub(super) fn open_check(app: &mut App, resume: Option<GuardedAction>, cmds: &mut Vec<Cmd>) {
    if !app.caller_check_allowed() {
        app.set_status(
            StatusKind::Warning,
            "Read-only mode: this profile does not allow caller checks (read_only_caller_check = false).",
        );
        if let Some(target) = target(app) {
            let mut note = audit_note(app, AuditKind::CallerCheck, &target, None);
            note.message = Some("refused: read-only mode, read_only_caller_check = false".into());
            record(app, note, AuditResult::Refused, None, cmds);
        }
        return;
    }
    if app.credential_read_only {
        // Known from an earlier refusal: nothing is sent.
        app.set_status(StatusKind::Warning, NO_SCOPE);
        return;
    }
    let Some(target) = target(app) else {
        app.set_status(
            StatusKind::Info,
            "Open a user first: / to search, Enter to open.",
        );
        return;
    };
    let Some(devices) = app.check_devices() else {
        app.set_status(StatusKind::Info, "Still loading this user's devices…");
        return;
    };
    let devices = super::walk::checkable(app, devices);
    let no_push = app.push_refusal();
    if devices.is_empty() && resume.is_none() {
        app.set_status(
            StatusKind::Warning,
            no_push.as_deref().unwrap_or(NO_ACTIVE_DEVICE),
        );
        return;
    }
    // A status about the gate or an older check would be stale under the dialog.
    app.status = None;
    if !app.credential_probed {
        cmds.push(probe(app, target.user_id));
    }
    // The first device that may prove the caller is highlighted.
    let selected = devices
        .iter()
        .position(|c| c.blocked.is_none())
        .unwrap_or(0);
    app.dialogs.push(Dialog::CallerCheck(CallerCheckDialog {
        target,
        devices,
        selected,
        error: None,
        resume,
    }));
}

/// `v` (or Enter) on an active device: a caller check with that device, as `mfadesk verify`.
pub(super) fn check_device(app: &mut App, target: Target, device: OtpDevice, cmds: &mut Vec<Cmd>) {
    if !app.caller_check_allowed() || app.credential_read_only {
        open_check(app, None, cmds);
        return;
    }
    let blocked = app
        .check_devices()
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.device.id == device.id)
        .and_then(|c| c.blocked);
    if let Some(why) = blocked {
        app.set_status(
            StatusKind::Warning,
            format!("{} {why}", crate::ui::text::clean(&device.label())),
        );
        return;
    }
    app.status = None;
    if !app.credential_probed {
        cmds.push(probe(app, target.user_id));
    }
    super::verify::open_check_with(app, target, device, None, true, cmds);
}

/// Asks once whether this credential may trigger at all, without reaching any phone.
///
/// The token answer carries no scope, and a Read Users credential is refused every trigger with
/// 401 "Insufficient Permission" (spec §0.4). A trigger for device 0, which no user has, is
/// answered that refusal, or "not found" for a credential that may trigger: either way nothing is
/// sent to anyone, so the agent learns before choosing a device rather than after.
fn probe(app: &mut App, user_id: UserId) -> Cmd {
    app.credential_probed = true;
    let request = ApiRequest::Trigger {
        user_id,
        device_id: crate::api::DeviceId("0".into()),
        expires_in: None,
        numeric: None,
        sms_message: None,
    };
    app.request(Purpose::CallerProbe, request).1
}

/// The probe's answer: a scope refusal closes an idle check dialog and says why; anything else
/// leaves the check as it is.
pub(super) fn on_probed(app: &mut App, result: Result<TriggerResult, ApiError>) {
    let Err(e) = result else { return };
    if e.kind != ErrorKind::InsufficientPermission {
        return;
    }
    app.credential_read_only = true;
    let idle_check = match app.dialogs.last() {
        Some(Dialog::CallerCheck(_)) => true,
        Some(Dialog::Verify(v)) => v.is_check() && v.busy.is_none() && v.state_token.is_none(),
        _ => false,
    };
    if idle_check {
        app.dialogs.pop();
    }
    app.set_status(StatusKind::Warning, NO_SCOPE);
}

/// Clears what belongs to the previous user when another user is opened.
pub(super) fn user_opened(app: &mut App, user_id: UserId) {
    if app.caller.as_ref().is_some_and(|c| c.user_id != user_id) {
        app.caller = None;
        // The status may still speak of the previous user's check.
        app.status = None;
    }
    if app
        .caller_override
        .as_ref()
        .is_some_and(|o| o.user_id != user_id)
    {
        app.caller_override = None;
    }
}

/// Keys of a guarded dialog while its gate is shut: `c` checks, `o` overrides, confirm waits.
/// Returns true when the key was used here.
pub(super) fn gate_key(app: &mut App, key: &KeyEvent, cmds: &mut Vec<Cmd>) -> bool {
    let Some(top) = app.dialogs.last() else {
        return false;
    };
    let Some((action, _)) = guarded(top) else {
        return false;
    };
    if top.busy().is_some() || typing(top) || app.top_gate().is_none_or(|g| g.allows()) {
        return false;
    }
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return false;
    }
    match key.code {
        KeyCode::Char('c') => {
            open_check(app, Some(action), cmds);
            true
        }
        KeyCode::Char('o') => {
            if let Some(target) = target(app) {
                app.dialogs.push(Dialog::CallerOverride(OverrideDialog {
                    target,
                    action,
                    reason: Input::default(),
                    error: None,
                }));
            }
            true
        }
        _ => false,
    }
}

/// True (and says why) when `action` must wait for a caller check: call before sending.
pub(super) fn blocks(app: &mut App, action: GuardedAction) -> bool {
    let Some(user_id) = app.dialogs.last().and_then(guarded).map(|(_, u)| u) else {
        return false;
    };
    if app.caller_gate(action, user_id).allows() {
        return false;
    }
    app.set_status(StatusKind::Warning, NOT_CHECKED);
    true
}

/// What a change line records: the override for this change (used up), else the open
/// user's fresh check, else `"none"`.
pub(super) fn reference(app: &mut App, user_id: UserId, action: AuditKind) -> CallerCheckRef {
    let guarded = match action {
        AuditKind::Remove => Some(GuardedAction::Remove),
        AuditKind::MfaToken => Some(GuardedAction::Token),
        AuditKind::Enroll => Some(GuardedAction::EnrollVerified),
        AuditKind::Unlock => Some(GuardedAction::Unlock),
        _ => None,
    };
    if let Some(g) = guarded
        && app
            .caller_override
            .as_ref()
            .is_some_and(|o| o.user_id == user_id && o.action.same_change(g))
        && let Some(o) = app.caller_override.take()
    {
        return CallerCheckRef::Overridden { reason: o.reason };
    }
    let check = app.caller.as_ref().filter(|c| c.user_id == user_id);
    let own = policy::reference_for(check, app.now, app.tenant.caller_check.minutes);
    match app.shared_check(user_id) {
        Some((event_id, _)) if app.caller_check_shared && own == CallerCheckRef::None => {
            CallerCheckRef::Shared { event_id }
        }
        _ => own,
    }
}

/// A dialog was closed: a check under way ends as unknown (cancelled, never a failure, and an
/// earlier success stands); an override dies with its change.
pub(super) fn closed(app: &mut App, dialog: &Dialog, cmds: &mut Vec<Cmd>) {
    match dialog {
        Dialog::Verify(v) if v.is_check() => {
            cancel_check(app, "closed before the caller answered", cmds);
        }
        Dialog::Remove(_) | Dialog::Token(_) | Dialog::Enroll(_) => app.caller_override = None,
        _ => {}
    }
}

/// Settles an open caller check as cancelled: outcome unknown, `"cancelled": true`.
pub(super) fn cancel_check(app: &mut App, why: &str, cmds: &mut Vec<Cmd>) -> bool {
    let Some(mut attempt) = app.open_attempts.remove(&AuditKind::CallerCheck) else {
        return false;
    };
    attempt.cancelled = Some(true);
    let e = ApiError::new(ErrorKind::Cancelled, why);
    record(app, attempt, AuditResult::Unknown, Some(&e), cmds);
    true
}

/// Keys in the check dialog: pick a device, Enter checks with it.
pub(super) fn check_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() else {
        return;
    };
    match key.code {
        KeyCode::Char('j') | KeyCode::Down => {
            d.selected = (d.selected + 1).min(d.devices.len().saturating_sub(1))
        }
        KeyCode::Char('k') | KeyCode::Up => d.selected = d.selected.saturating_sub(1),
        KeyCode::Char('o') if d.resume.is_some() && !d.offered() => {
            // No device may check the caller: the override is the only way on.
            let (target, resume) = (d.target.clone(), d.resume);
            app.dialogs.pop();
            if let Some(action) = resume {
                app.dialogs.push(Dialog::CallerOverride(OverrideDialog {
                    target,
                    action,
                    reason: Input::default(),
                    error: None,
                }));
            }
        }
        KeyCode::Enter => start(app, cmds),
        _ => {}
    }
}

/// Starts the check with the highlighted device: the verify dialog takes over in check mode.
fn start(app: &mut App, cmds: &mut Vec<Cmd>) {
    let read_only = app.credential_read_only;
    let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() else {
        return;
    };
    if read_only {
        d.error = Some(NO_SCOPE.into());
        app.set_status(StatusKind::Warning, NO_SCOPE);
        return;
    }
    let Some(device) = d.device().cloned() else {
        if let Some(why) = d.devices.get(d.selected).and_then(|c| c.blocked.clone()) {
            d.error = Some(format!("This device was {why}: choose another."));
        }
        return;
    };
    let (target, resume) = (d.target.clone(), d.resume);
    app.dialogs.pop();
    // Choosing the device was the confirmation: a push is sent at once.
    super::verify::open_check_with(app, target, device, resume, false, cmds);
}

/// Records the check's attempt line (once per check: a retyped code after a miss is a new one).
pub(super) fn attempt(app: &mut App, target: &Target, device: &OtpDevice, cmds: &mut Vec<Cmd>) {
    if app.open_attempts.contains_key(&AuditKind::CallerCheck) {
        return;
    }
    let mut note = audit_note(app, AuditKind::CallerCheck, target, Some(device));
    note.method = Some(method(device).as_str().to_owned());
    record(app, note, AuditResult::Attempt, None, cmds);
}

/// How a device checks: only a push is a push (an emailed code is a code).
fn method(device: &OtpDevice) -> CheckMethod {
    if DeviceKind::of(device) == DeviceKind::Push {
        CheckMethod::Push
    } else {
        CheckMethod::Code
    }
}

/// The caller proved they hold the device: the audit line, and the check the pane shows.
pub(super) fn checked(app: &mut App, target: &Target, device: &OtpDevice, cmds: &mut Vec<Cmd>) {
    settle(
        app,
        AuditKind::CallerCheck,
        AuditResult::Success,
        None,
        cmds,
    );
    remember(app, target, device, CheckOutcome::Success);
    // The pane (and a guarded dialog) show the check; a status would outlive it.
    app.status = None;
}

/// A check's trigger or verify failed: the audit line; a wrong code, a denied push or an
/// expiry also mark the caller as not checked (an error of the tenant or the network does not).
pub(super) fn check_failed(
    app: &mut App,
    target: &Target,
    device: &OtpDevice,
    e: &ApiError,
    cmds: &mut Vec<Cmd>,
) {
    if e.kind == ErrorKind::InsufficientPermission {
        // The credential cannot trigger or verify: say so once, and send nothing from now on.
        app.credential_read_only = true;
        app.set_status(StatusKind::Warning, NO_SCOPE);
    }
    settle(
        app,
        AuditKind::CallerCheck,
        AuditResult::Failure,
        Some(e),
        cmds,
    );
    let why = match e.kind {
        ErrorKind::WrongCode => "wrong code",
        ErrorKind::PushDenied => "push denied",
        ErrorKind::ExpiredStateToken if DeviceKind::of(device) == DeviceKind::Push => {
            "push expired"
        }
        ErrorKind::ExpiredStateToken => "expired",
        _ => return,
    };
    fail(app, target, device, why);
}

/// Remembers a failed check: the caller is not checked, whatever an earlier check said.
fn fail(app: &mut App, target: &Target, device: &OtpDevice, why: &str) {
    let outcome = CheckOutcome::Failure { why: why.into() };
    remember(app, target, device, outcome);
}

/// The latest check of the open user, as the pane and the gate read it.
fn remember(app: &mut App, target: &Target, device: &OtpDevice, outcome: CheckOutcome) {
    app.caller = Some(CallerCheck {
        user_id: target.user_id,
        at: app.now,
        operator: app.operator.clone(),
        device_id: device.id.to_string(),
        factor: device.auth_factor_name.clone(),
        device_name: device.user_display_name.clone(),
        method: method(device),
        outcome,
    });
}

/// Keys in the override dialog.
pub(super) fn override_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::CallerOverride(d)) = app.dialogs.last_mut() else {
        return;
    };
    if !is_submit(&key) {
        edit(&mut d.reason, &key);
        return;
    }
    let reason = match policy::validate_override_reason(d.reason.value()) {
        Ok(r) => r,
        Err(e) => {
            d.error = Some(e);
            return;
        }
    };
    let (target, action) = (d.target.clone(), d.action);
    app.dialogs.pop();
    // The device the change aims at, when it aims at one.
    let device = match app.dialogs.last() {
        Some(Dialog::Remove(r)) => Some(r.device.clone()),
        _ => None,
    };
    let mut note = audit_note(app, AuditKind::CallerCheck, &target, device.as_ref());
    note.reason = Some(reason.clone());
    note.message = Some(format!("override for {action}"));
    record(app, note, AuditResult::Overridden, None, cmds);
    app.caller_override = Some(CallerOverride {
        user_id: target.user_id,
        action,
        reason,
    });
    app.set_status(
        StatusKind::Info,
        format!("Caller check overridden for this {action}: the reason is in the audit trail."),
    );
}
