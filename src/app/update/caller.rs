//! The caller check: `c`, its dialog, the push wait, the code, the override, and the gate
//! that guarded changes pass before they are sent.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::audit::{audit_note, record, settle};
use super::form::{is_submit, is_tab};
use super::user::target;
use crate::api::{ApiError, ErrorKind, OtpDevice, Secret, TriggerResult, UserId, VerifyOutcome};
use crate::app::caller::*;
use crate::app::dialogs::*;
use crate::app::phone::PhoneCmd;
use crate::app::validate;
use crate::app::*;
use crate::audit::CallerCheckRef;
use crate::policy::{self, CallerCheck, CheckMethod, CheckOutcome, GuardedAction};
use crate::worker::{ApiRequest, RequestId};

/// How often a push is polled.
const PUSH_POLL_MS: i64 = 1_500;

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
    let Some(devices) = app.user.as_ref().and_then(|u| u.devices.clone()) else {
        app.set_status(StatusKind::Info, "Still loading this user's devices…");
        return;
    };
    let devices = super::walk::checkable(app, checkable_devices(&devices));
    let (devices, no_push) = super::history::withhold_push(app, target.user_id, devices);
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
    app.dialogs.push(Dialog::CallerCheck(CallerCheckDialog {
        target,
        devices,
        selected: 0,
        stage: CheckStage::Choose,
        state_token: None,
        expires_at: None,
        code: Input::default(),
        error: no_push,
        busy: None,
        resume,
    }));
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
    if matches!(app.dialogs.last(), Some(Dialog::CallerCheck(d)) if d.busy.is_none()) {
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
            .is_some_and(|o| o.user_id == user_id && o.action == g)
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

/// A dialog was closed: a check under way ends as abandoned; an override dies with its change.
pub(super) fn closed(app: &mut App, dialog: &Dialog, cmds: &mut Vec<Cmd>) {
    match dialog {
        Dialog::CallerCheck(d) if app.open_attempts.contains_key(&AuditKind::CallerCheck) => {
            let why = "abandoned before the caller answered";
            let e = ApiError::new(ErrorKind::Cancelled, why);
            settle(
                app,
                AuditKind::CallerCheck,
                AuditResult::Failure,
                Some(&e),
                cmds,
            );
            if let Some(device) = d.device() {
                fail(app, &d.target, device, why);
            }
        }
        Dialog::Remove(_) | Dialog::Token(_) | Dialog::Enroll(_) => app.caller_override = None,
        _ => {}
    }
}

/// Keys in the check dialog.
pub(super) fn check_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let demo = app.tenant.demo;
    let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() else {
        return;
    };
    let kind = d.kind();
    match d.stage {
        CheckStage::Choose => match key.code {
            KeyCode::Char('j') | KeyCode::Down => {
                d.selected = (d.selected + 1).min(d.devices.len().saturating_sub(1))
            }
            KeyCode::Char('k') | KeyCode::Up => d.selected = d.selected.saturating_sub(1),
            KeyCode::Char('o') if d.resume.is_some() && d.devices.is_empty() => {
                // No device to check with: the override is the only way on.
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
        },
        CheckStage::Sending => {}
        CheckStage::AwaitPush { .. } => {
            if demo && matches!(key.code, KeyCode::Char('a') | KeyCode::Char('x')) {
                // The demo phone answers the push while the dialog waits for it.
                if let Some(token) = d.state_token.as_ref().map(|t| t.expose().to_owned()) {
                    cmds.push(Cmd::Phone(if key.code == KeyCode::Char('a') {
                        PhoneCmd::Approve(token)
                    } else {
                        PhoneCmd::Deny(token)
                    }));
                }
            } else if is_submit(&key) && d.busy.is_none() {
                d.stage = CheckStage::AwaitPush { next_poll: app.now };
            }
        }
        CheckStage::EnterCode => {
            if d.busy.is_some() {
                return;
            }
            if is_submit(&key) {
                submit_code(app, cmds);
            } else if is_tab(&key).is_none() && kind != Some(DeviceKind::Push) {
                edit(&mut d.code, &key);
            }
        }
    }
}

/// Starts the check with the highlighted device: trigger it, or ask for its code.
fn start(app: &mut App, cmds: &mut Vec<Cmd>) {
    if app.credential_read_only {
        app.set_status(StatusKind::Warning, NO_SCOPE);
        if let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() {
            d.error = Some(NO_SCOPE.into());
        }
        return;
    }
    let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() else {
        return;
    };
    let Some(device) = d.device().cloned() else {
        return;
    };
    d.error = None;
    d.code = Input::default();
    d.state_token = None;
    d.expires_at = None;
    let target = d.target.clone();
    if !device.needs_trigger {
        d.stage = CheckStage::EnterCode;
        return;
    }
    let request = ApiRequest::Trigger {
        user_id: target.user_id,
        device_id: device.id.clone(),
        expires_in: None,
        numeric: None,
        sms_message: None,
    };
    let (id, cmd) = app.request(Purpose::CallerTrigger, request);
    if let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() {
        d.busy = Some(id);
        d.stage = CheckStage::Sending;
    }
    attempt(app, &target, &device, cmds);
    cmds.push(cmd);
}

/// Records the check's attempt line (once per check: a retyped code after a miss is a new one).
fn attempt(app: &mut App, target: &Target, device: &OtpDevice, cmds: &mut Vec<Cmd>) {
    if app.open_attempts.contains_key(&AuditKind::CallerCheck) {
        return;
    }
    let mut note = audit_note(app, AuditKind::CallerCheck, target, Some(device));
    note.method = Some(method(device).as_str().to_owned());
    record(app, note, AuditResult::Attempt, None, cmds);
}

fn method(device: &OtpDevice) -> CheckMethod {
    if DeviceKind::of(device) == DeviceKind::Push {
        CheckMethod::Push
    } else {
        CheckMethod::Code
    }
}

fn submit_code(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() else {
        return;
    };
    let Some(device) = d.device().cloned() else {
        return;
    };
    let code = d.code.value().trim().to_owned();
    let resend = device.needs_trigger && (code.is_empty() || d.state_token.is_none());
    if resend {
        // No code arrived, or it expired: Enter sends a new one (the check stays one attempt).
        start(app, cmds);
        return;
    }
    if code.is_empty() {
        d.error = Some("Type the code the caller reads out.".into());
        return;
    }
    if code.chars().any(char::is_whitespace) {
        d.error = Some("Codes have no spaces: type it as one word.".into());
        return;
    }
    let target = d.target.clone();
    let request = ApiRequest::Verify {
        user_id: target.user_id,
        device_id: device.id.clone(),
        state_token: d.state_token.clone(),
        otp: Some(Secret::new(code)),
    };
    let (id, cmd) = app.request(Purpose::CallerVerify, request);
    if let Some(Dialog::CallerCheck(d)) = app.dialogs.last_mut() {
        d.busy = Some(id);
        d.error = None;
    }
    attempt(app, &target, &device, cmds);
    cmds.push(cmd);
}

/// On a tick: the push wait's poll and the state token's expiry.
pub(super) fn tick(app: &mut App, cmds: &mut Vec<Cmd>) {
    let now = app.now;
    let Some(pos) = app
        .dialogs
        .iter()
        .position(|d| matches!(d, Dialog::CallerCheck(_)))
    else {
        return;
    };
    let Dialog::CallerCheck(d) = &mut app.dialogs[pos] else {
        return;
    };
    if d.busy.is_some() {
        return;
    }
    let expired = d.expires_at.is_some_and(|t| t <= now);
    match d.stage {
        CheckStage::AwaitPush { next_poll } => {
            if expired {
                let (target, device) = (d.target.clone(), d.device().cloned());
                d.stage = CheckStage::Choose;
                d.state_token = None;
                d.expires_at = None;
                d.error =
                    Some("The push expired before it was approved: Enter sends another.".into());
                let e = ApiError::new(ErrorKind::ExpiredStateToken, "the push expired");
                settle(
                    app,
                    AuditKind::CallerCheck,
                    AuditResult::Failure,
                    Some(&e),
                    cmds,
                );
                if let Some(device) = device {
                    fail(app, &target, &device, "push expired");
                }
            } else if next_poll <= now
                && let Some(device_id) = d.device().map(|x| x.id.clone())
            {
                let request = ApiRequest::Verify {
                    user_id: d.target.user_id,
                    device_id,
                    state_token: d.state_token.clone(),
                    otp: None,
                };
                let (id, cmd) = app.request(Purpose::CallerVerify, request);
                if let Some(Dialog::CallerCheck(d)) = app.dialogs.get_mut(pos) {
                    d.busy = Some(id);
                }
                cmds.push(cmd);
            }
        }
        CheckStage::EnterCode if expired => {
            // The state token is spent; the countdown (and its ticks) stop.
            d.state_token = None;
            d.expires_at = None;
            d.error = Some("The code has expired: Enter sends a new one.".into());
        }
        _ => {}
    }
}

/// Takes the trigger answer: wait for the push, or for the code.
pub(super) fn on_triggered(
    app: &mut App,
    id: RequestId,
    r: Result<TriggerResult, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let now = app.now;
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::CallerCheck(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    match r {
        Ok(t) => {
            let lifetime = i64::from(validate::STATE_TOKEN_RANGE.0);
            d.expires_at = Some(
                t.state_token_expires_at
                    .unwrap_or(now + Duration::seconds(lifetime)),
            );
            d.state_token = Some(t.state_token);
            d.stage = if d.kind() == Some(DeviceKind::Push) {
                CheckStage::AwaitPush {
                    next_poll: now + Duration::milliseconds(PUSH_POLL_MS),
                }
            } else {
                CheckStage::EnterCode
            };
        }
        Err(e) => failed(app, pos, e, cmds),
    }
}

/// Takes the verify answer: checked, still waiting for the push, or failed.
pub(super) fn on_verified(
    app: &mut App,
    id: RequestId,
    r: Result<VerifyOutcome, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let now = app.now;
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::CallerCheck(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    match r {
        Ok(VerifyOutcome::Verified) => {
            let Dialog::CallerCheck(d) = app.dialogs.remove(pos) else {
                return;
            };
            let Some(device) = d.device().cloned() else {
                return;
            };
            settle(
                app,
                AuditKind::CallerCheck,
                AuditResult::Success,
                None,
                cmds,
            );
            let check = CallerCheck {
                user_id: d.target.user_id,
                at: now,
                operator: app.operator.clone(),
                device_id: device.id.to_string(),
                factor: device.auth_factor_name.clone(),
                device_name: device.user_display_name.clone(),
                method: method(&device),
                outcome: CheckOutcome::Success,
            };
            app.caller = Some(check);
            // The pane (and a guarded dialog) show the check; a status would outlive it.
            app.status = None;
        }
        Ok(VerifyOutcome::Pending { message }) => {
            if d.kind() == Some(DeviceKind::Push) {
                d.stage = CheckStage::AwaitPush {
                    next_poll: now + Duration::milliseconds(PUSH_POLL_MS),
                };
            } else {
                // A code has nothing to wait for: not a success, so the caller is not checked.
                let e = ApiError::new(ErrorKind::BadRequest, message);
                failed(app, pos, e, cmds);
            }
        }
        Err(e) => failed(app, pos, e, cmds),
    }
}

/// Short words for why a check failed.
fn why(e: &ApiError) -> String {
    match e.kind {
        ErrorKind::WrongCode => "wrong code".into(),
        ErrorKind::PushDenied => "push denied".into(),
        ErrorKind::ExpiredStateToken => "expired".into(),
        _ => e.message.clone(),
    }
}

/// A failed trigger or verify: the audit line, the pane line, and what the dialog offers next.
fn failed(app: &mut App, pos: usize, e: ApiError, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::CallerCheck(d)) = app.dialogs.get_mut(pos) else {
        return;
    };
    let (target, device) = (d.target.clone(), d.device().cloned());
    if e.kind == ErrorKind::InsufficientPermission {
        // The credential cannot trigger or verify: say so once, and send nothing from now on.
        app.credential_read_only = true;
        d.stage = CheckStage::Choose;
        d.state_token = None;
        d.expires_at = None;
        d.error = Some(NO_SCOPE.into());
        app.set_status(StatusKind::Warning, NO_SCOPE);
        settle(
            app,
            AuditKind::CallerCheck,
            AuditResult::Failure,
            Some(&e),
            cmds,
        );
        return;
    }
    let reason = why(&e);
    match e.kind {
        // A wrong code keeps the dialog on the code: the caller may have misread it.
        ErrorKind::WrongCode => {
            d.error = Some(format!(
                "Wrong code ({}). Check it with the caller and try again.",
                e.message
            ));
        }
        _ => {
            d.stage = CheckStage::Choose;
            d.state_token = None;
            d.expires_at = None;
            d.error = Some(format!("Caller check failed: {reason}. Enter tries again."));
        }
    }
    settle(
        app,
        AuditKind::CallerCheck,
        AuditResult::Failure,
        Some(&e),
        cmds,
    );
    if let Some(device) = device {
        fail(app, &target, &device, &reason);
    }
}

/// Remembers a failed check: the caller is not checked, whatever an earlier check said.
fn fail(app: &mut App, target: &Target, device: &OtpDevice, why: &str) {
    app.caller = Some(CallerCheck {
        user_id: target.user_id,
        at: app.now,
        operator: app.operator.clone(),
        device_id: device.id.to_string(),
        factor: device.auth_factor_name.clone(),
        device_name: device.user_display_name.clone(),
        method: method(device),
        outcome: CheckOutcome::Failure { why: why.into() },
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
