//! Sending a code or push (the trigger dialog), verifying it, and polling a push.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::audit::{audit_note, record, settle};
use super::errors::error_dialog;
use super::form::{is_submit, is_tab};
use super::user::{reload_user, selected_device};
use crate::api::{ApiError, ErrorKind, OtpDevice, Secret, VerifyOutcome};
use crate::app::code_entry::{CodeEntry, CodeFactor, Submitted};
use crate::app::dialogs::*;
use crate::app::phone::PhoneCmd;
use crate::app::validate;
use crate::app::*;
use crate::worker::{ApiRequest, RequestId};

/// How often a push is polled.
const PUSH_POLL_MS: i64 = 1_500;

/// On a tick: expires verify dialogs whose state token ran out, and polls a push that is due.
pub(super) fn tick(app: &mut App, cmds: &mut Vec<Cmd>) {
    let now = app.now;
    let mut poll = None;
    let mut push_expired = None;
    for dialog in app.dialogs.iter_mut() {
        let Dialog::Verify(v) = dialog else { continue };
        let expired = v.expires_at.is_some_and(|t| t <= now);
        match v.stage {
            VerifyStage::AwaitPush { next_poll } if v.busy.is_none() => {
                if expired {
                    v.stage = VerifyStage::Expired;
                    // Nothing left to count down to.
                    v.expires_at = None;
                    v.error = Some("The push expired before it was approved.".into());
                    push_expired = Some((v.is_check(), v.target.clone(), v.device.clone()));
                } else if next_poll <= now {
                    poll = Some((
                        v.is_check(),
                        v.target.user_id,
                        v.device.id.clone(),
                        v.state_token.clone(),
                    ));
                }
            }
            VerifyStage::EnterCode if expired && v.busy.is_none() && v.state_token.is_some() => {
                v.stage = VerifyStage::Expired;
                // The countdown (and its ticks) stop.
                v.expires_at = None;
            }
            _ => {}
        }
    }
    if let Some((check, target, device)) = push_expired {
        // The push's verification is over: it ended unanswered.
        let expired = ApiError::new(
            ErrorKind::ExpiredStateToken,
            "the push expired before it was approved",
        );
        if check {
            super::caller::check_failed(app, &target, &device, &expired, cmds);
        } else {
            settle(
                app,
                AuditKind::Verify,
                AuditResult::Failure,
                Some(&expired),
                cmds,
            );
        }
    }
    if let Some((check, user_id, device_id, state_token)) = poll {
        let (id, cmd) = app.request(
            verify_purpose(check),
            ApiRequest::Verify {
                user_id,
                device_id,
                state_token,
                otp: None,
            },
        );
        if let Some(Dialog::Verify(v)) = app.dialogs.last_mut() {
            v.busy = Some(id);
        }
        cmds.push(cmd);
    }
}

/// The purpose of a verify call: a caller check's, or an activation's.
fn verify_purpose(check: bool) -> Purpose {
    if check {
        Purpose::CallerVerify
    } else {
        Purpose::Verify
    }
}

/// Opens the trigger dialog (lifetime, numeric, SMS text) for the selected device.
pub(super) fn open_trigger(app: &mut App) {
    let Some((target, device)) = selected_device(app) else {
        return;
    };
    if !device.needs_trigger {
        app.set_status(
            StatusKind::Info,
            format!(
                "{} takes codes directly: press v to verify.",
                device.label()
            ),
        );
        return;
    }
    app.dialogs.push(Dialog::Trigger(TriggerDialog {
        target,
        device,
        expires_in: Input::new("120".into()),
        expires_fresh: true,
        numeric: false,
        template: Input::default(),
        field: TriggerField::ExpiresIn,
        error: None,
        busy: None,
    }));
}

/// Keys in the trigger dialog.
pub(super) fn trigger_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Trigger(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.busy.is_some() {
        return;
    }
    if let Some(back) = is_tab(&key) {
        d.expires_fresh = false;
        d.field = cycle(&d.fields(), d.field, back);
    } else if is_submit(&key) {
        submit_trigger(app, cmds);
    } else {
        match d.field {
            TriggerField::ExpiresIn => {
                if !replace_if_fresh(&mut d.expires_in, &mut d.expires_fresh, &key) {
                    edit(&mut d.expires_in, &key);
                }
            }
            TriggerField::Numeric => {
                if key.code == KeyCode::Char(' ') {
                    d.numeric = !d.numeric;
                }
            }
            TriggerField::Template => {
                edit(&mut d.template, &key);
            }
        }
    }
}

fn submit_trigger(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Trigger(d)) = app.dialogs.last_mut() else {
        return;
    };
    let expires_in = match validate::state_token_expires_in(d.expires_in.value()) {
        Ok(v) => v,
        Err(e) => {
            d.error = Some(format!("Code lifetime: {e}."));
            d.field = TriggerField::ExpiresIn;
            return;
        }
    };
    let sms = DeviceKind::of(&d.device) == DeviceKind::Sms;
    let template = d.template.value().to_owned();
    if sms && let Err(e) = validate::sms_template(&template, d.numeric, expires_in) {
        d.error = Some(format!("SMS text: {e}."));
        d.field = TriggerField::Template;
        return;
    }
    let options = TriggerOptions {
        expires_in: Some(expires_in),
        numeric: (sms && d.numeric).then_some(true),
        sms_message: (sms && !template.trim().is_empty()).then_some(template),
    };
    // The trigger dialog hands over to verify, which sends and then waits for the code.
    let mut verify = verify_dialog(d.target.clone(), d.device.clone(), false);
    verify.options = options;
    app.dialogs.pop();
    app.dialogs.push(Dialog::Verify(verify));
    send_trigger(app, cmds);
}

/// A verify dialog for this device, before anything is sent.
pub(super) fn verify_dialog(target: Target, device: OtpDevice, guided: bool) -> VerifyDialog {
    let kind = DeviceKind::of(&device);
    let factor =
        CodeFactor::of(&device, target.user_email.as_deref()).unwrap_or(CodeFactor::Authenticator);
    VerifyDialog {
        target,
        kind,
        device,
        state_token: None,
        expires_at: None,
        code: CodeEntry::new(factor),
        stage: match kind {
            DeviceKind::Code => VerifyStage::EnterCode,
            // A push buzzes a phone: the agent confirms it first.
            DeviceKind::Push => VerifyStage::Confirm,
            _ => VerifyStage::Sending,
        },
        error: None,
        busy: None,
        options: TriggerOptions::default(),
        guided,
        check: None,
    }
}

/// Opens the dialog that checks the caller with this device, and starts it: a code device
/// waits for the code, a push waits for Enter when `confirm_push`, anything else is sent.
pub(super) fn open_check_with(
    app: &mut App,
    target: Target,
    device: OtpDevice,
    resume: Option<crate::policy::GuardedAction>,
    confirm_push: bool,
    cmds: &mut Vec<Cmd>,
) {
    let mut dialog = verify_dialog(target, device, false);
    dialog.check = Some(CheckMode { resume });
    dialog.code.who = "caller";
    if dialog.stage == VerifyStage::Confirm && !confirm_push {
        dialog.stage = VerifyStage::Sending;
    }
    let send = dialog.stage == VerifyStage::Sending;
    app.dialogs.push(Dialog::Verify(dialog));
    if send {
        send_trigger(app, cmds);
    }
}

/// Opens the verify dialog, reusing a code sent moments ago, else sending one.
pub(super) fn open_verify(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some((target, device)) = selected_device(app) else {
        return;
    };
    if device.active {
        // An active device proves who holds it: that is a caller check, as `mfadesk verify`.
        super::caller::check_device(app, target, device, cmds);
        return;
    }
    let mut dialog = verify_dialog(target, device, false);
    // Only SMS and voice codes are reused: Protect's code row shares its id with the push row.
    let live = app
        .tokens
        .get(&dialog.device.id)
        .filter(|t| {
            t.expires_at > app.now && matches!(dialog.kind, DeviceKind::Sms | DeviceKind::Voice)
        })
        .cloned();
    if let Some(live) = live {
        // A code sent moments ago is still valid: verify it without a new SMS.
        dialog.state_token = Some(live.token);
        dialog.expires_at = Some(live.expires_at);
        dialog.options = live.options;
        dialog.code.sends = live.sends;
        dialog.stage = VerifyStage::EnterCode;
        app.dialogs.push(Dialog::Verify(dialog));
        return;
    }
    app.dialogs.push(Dialog::Verify(dialog));
    if let Some(Dialog::Verify(v)) = app.dialogs.last()
        && v.stage == VerifyStage::Sending
    {
        send_trigger(app, cmds);
    }
}

/// Triggers the device of the top verify dialog with its options.
pub(super) fn send_trigger(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Verify(v)) = app.dialogs.last() else {
        return;
    };
    let request = ApiRequest::Trigger {
        user_id: v.target.user_id,
        device_id: v.device.id.clone(),
        expires_in: v.options.expires_in,
        numeric: v.options.numeric,
        sms_message: v.options.sms_message.clone(),
    };
    let purpose = if v.is_check() {
        Purpose::CallerTrigger
    } else {
        Purpose::Trigger
    };
    send(app, purpose, request, AuditKind::Trigger, cmds);
    if let Some(Dialog::Verify(v)) = app.dialogs.last_mut()
        && v.busy.is_some()
    {
        v.stage = VerifyStage::Sending;
    }
}

/// Sends a trigger or verify for the top verify dialog, which waits for it, with its attempt
/// line: the check's one `caller_check` line, or the activation's `kind` line.
fn send(
    app: &mut App,
    purpose: Purpose,
    request: ApiRequest,
    kind: AuditKind,
    cmds: &mut Vec<Cmd>,
) {
    if refused_scope(app) {
        return;
    }
    let Some(Dialog::Verify(v)) = app.dialogs.last() else {
        return;
    };
    let (check, target, device) = (v.is_check(), v.target.clone(), v.device.clone());
    let (id, cmd) = app.request(purpose, request);
    if let Some(Dialog::Verify(v)) = app.dialogs.last_mut() {
        v.busy = Some(id);
        v.error = None;
    }
    if check {
        super::caller::attempt(app, &target, &device, cmds);
    } else {
        let note = audit_note(app, kind, &target, Some(&device));
        record(app, note, AuditResult::Attempt, None, cmds);
    }
    cmds.push(cmd);
}

/// Keys in the verify dialog.
pub(super) fn verify_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Verify(d)) = app.dialogs.last_mut() else {
        return;
    };
    let demo_phone = app.tenant.demo && d.kind == DeviceKind::Push;
    if demo_phone && matches!(key.code, KeyCode::Char('a') | KeyCode::Char('x')) {
        // The demo phone answers the push while the dialog waits for it.
        let approve = key.code == KeyCode::Char('a');
        let token = d.state_token.as_ref().map(|t| t.expose().to_owned());
        if let Some(token) = token {
            cmds.push(Cmd::Phone(if approve {
                PhoneCmd::Approve(token)
            } else {
                PhoneCmd::Deny(token)
            }));
        }
    } else if is_submit(&key) {
        submit_verify(app, cmds);
    } else if d.kind != DeviceKind::Push && d.busy.is_none() && d.stage == VerifyStage::EnterCode {
        d.code.key(&key);
    }
}

fn submit_verify(app: &mut App, cmds: &mut Vec<Cmd>) {
    let now = app.now;
    let Some(Dialog::Verify(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.busy.is_some() {
        return;
    }
    match d.stage {
        VerifyStage::Sending => {}
        VerifyStage::Confirm => send_trigger(app, cmds),
        VerifyStage::Expired | VerifyStage::Stopped => {
            d.code.clear();
            send_trigger(app, cmds);
        }
        VerifyStage::AwaitPush { .. } => {
            d.stage = VerifyStage::AwaitPush { next_poll: now };
        }
        VerifyStage::EnterCode => {
            let resend = d.device.needs_trigger;
            match d.code.submit(now, resend) {
                // The field's own line counts down; a stale error would hide it.
                Submitted::Wait(_) => d.error = None,
                Submitted::Resend => send_trigger(app, cmds),
                Submitted::Problem(why) => d.error = Some(why),
                Submitted::Code(code) => check_code(app, code, cmds),
            }
        }
    }
}

/// True (and says so) when the top dialog is a caller check this credential may not make.
fn refused_scope(app: &mut App) -> bool {
    let read_only = app.credential_read_only;
    match app.dialogs.last_mut() {
        Some(Dialog::Verify(d)) if d.is_check() && read_only => {
            d.error = Some(crate::app::caller::NO_SCOPE.into());
            true
        }
        _ => false,
    }
}

/// Sends the typed code of the top verify dialog.
fn check_code(app: &mut App, code: Secret, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Verify(d)) = app.dialogs.last() else {
        return;
    };
    let request = ApiRequest::Verify {
        user_id: d.target.user_id,
        device_id: d.device.id.clone(),
        state_token: d.state_token.clone(),
        otp: Some(code),
    };
    let purpose = verify_purpose(d.is_check());
    send(app, purpose, request, AuditKind::Verify, cmds);
}

/// Takes the trigger answer: wait for the code, or for the push.
pub(super) fn on_triggered(
    app: &mut App,
    id: RequestId,
    r: Result<crate::api::TriggerResult, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let now = app.now;
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::Verify(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    match r {
        Ok(t) => {
            let lifetime = i64::from(
                d.options
                    .expires_in
                    .unwrap_or(validate::STATE_TOKEN_RANGE.0),
            );
            // Never later than asked, whatever the server says.
            let asked = crate::clock::add_secs(now, lifetime);
            let expires_at = t.state_token_expires_at.map_or(asked, |t| t.min(asked));
            d.state_token = Some(t.state_token.clone());
            d.expires_at = Some(expires_at);
            d.error = None;
            d.stage = if d.kind == DeviceKind::Push {
                VerifyStage::AwaitPush {
                    next_poll: now + Duration::milliseconds(PUSH_POLL_MS),
                }
            } else {
                VerifyStage::EnterCode
            };
            if d.kind != DeviceKind::Push && d.code.factor.is_sent() {
                d.code.sent(now);
            }
            if matches!(d.kind, DeviceKind::Sms | DeviceKind::Voice) && !d.is_check() {
                let live = LiveToken {
                    token: t.state_token,
                    expires_at,
                    options: d.options.clone(),
                    sends: d.code.sends.clone(),
                };
                let device_id = d.device.id.clone();
                app.tokens.insert(device_id, live);
            }
            if d.is_check() {
                // The check's one attempt line stays open until the caller answers.
                return;
            }
            let push = (d.kind == DeviceKind::Push).then(|| (d.target.clone(), d.device.clone()));
            settle(app, AuditKind::Trigger, AuditResult::Success, None, cmds);
            if let Some((target, device)) = push {
                // A push is a verification under way: its outcome comes from the polls.
                let note = audit_note(app, AuditKind::Verify, &target, Some(&device));
                record(app, note, AuditResult::Attempt, None, cmds);
            }
        }
        Err(e) => {
            d.stage = VerifyStage::Stopped;
            let retry = "Enter sends again.";
            d.error = Some(format!("Could not send: {e}. {retry}"));
            if d.is_check() {
                let (target, device) = (d.target.clone(), d.device.clone());
                super::caller::check_failed(app, &target, &device, &e, cmds);
                return;
            }
            let bad_request = e.kind == ErrorKind::BadRequest;
            settle(
                app,
                AuditKind::Trigger,
                AuditResult::Failure,
                Some(&e),
                cmds,
            );
            if !bad_request {
                error_dialog(app, "Sending the code", e);
            }
        }
    }
}

/// Takes the verify answer: done, still waiting, or what went wrong.
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
    let Dialog::Verify(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    let push = d.kind == DeviceKind::Push;
    if d.is_check() {
        on_checked(app, pos, r, cmds);
        return;
    }
    match r {
        Ok(VerifyOutcome::Verified) => {
            let (target, device) = (d.target.clone(), d.device.clone());
            let guided = d.guided;
            app.dialogs.remove(pos);
            app.tokens.remove(&device.id);
            settle(app, AuditKind::Verify, AuditResult::Success, None, cmds);
            let what = if guided {
                "Enrolled and verified"
            } else {
                "Verified"
            };
            app.set_status(
                StatusKind::Success,
                format!(
                    "✓ {what} {} for {}: the device is active.",
                    device.label(),
                    target.user_label
                ),
            );
            reload_user(app, target.user_id, cmds);
        }
        Ok(VerifyOutcome::Pending { message }) => {
            if push {
                d.stage = VerifyStage::AwaitPush {
                    next_poll: now + Duration::milliseconds(PUSH_POLL_MS),
                };
            } else {
                // A code check has nothing to wait for: say what the tenant said, keep the code.
                d.error = Some(format!("The tenant answered \"{message}\"; try again."));
                settle(app, AuditKind::Verify, AuditResult::Pending, None, cmds);
            }
        }
        Err(e) => {
            match e.kind {
                ErrorKind::WrongCode => {
                    // Selected, as the search box is: the next code typed replaces it.
                    d.error = Some(d.code.wrong());
                }
                ErrorKind::ExpiredStateToken => {
                    d.stage = VerifyStage::Expired;
                    d.error = Some(format!("{}. Enter sends a new code.", e.message));
                }
                ErrorKind::PushDenied => {
                    d.stage = VerifyStage::Stopped;
                    d.error = Some("The user denied the push. Enter sends another.".into());
                }
                _ => {
                    if push {
                        d.stage = VerifyStage::Stopped;
                    }
                    d.error = Some(e.to_string());
                }
            }
            settle(app, AuditKind::Verify, AuditResult::Failure, Some(&e), cmds);
            if !matches!(
                e.kind,
                ErrorKind::WrongCode
                    | ErrorKind::ExpiredStateToken
                    | ErrorKind::PushDenied
                    | ErrorKind::BadRequest
            ) {
                error_dialog(app, "Verifying the device", e);
            }
        }
    }
}

/// A caller check's verify answer: checked, still waiting for the push, or failed.
fn on_checked(app: &mut App, pos: usize, r: Result<VerifyOutcome, ApiError>, cmds: &mut Vec<Cmd>) {
    let now = app.now;
    let Some(Dialog::Verify(d)) = app.dialogs.get_mut(pos) else {
        return;
    };
    let (target, device) = (d.target.clone(), d.device.clone());
    match r {
        Ok(VerifyOutcome::Verified) => {
            app.dialogs.remove(pos);
            super::caller::checked(app, &target, &device, cmds);
        }
        Ok(VerifyOutcome::Pending { .. }) if d.kind == DeviceKind::Push => {
            d.stage = VerifyStage::AwaitPush {
                next_poll: now + Duration::milliseconds(PUSH_POLL_MS),
            };
        }
        Ok(VerifyOutcome::Pending { message }) => {
            // A code has nothing to wait for: not a success, so the caller is not checked.
            d.error = Some(format!("The tenant answered \"{message}\"; try again."));
            let e = ApiError::new(ErrorKind::BadRequest, message);
            super::caller::check_failed(app, &target, &device, &e, cmds);
        }
        Err(e) => {
            match e.kind {
                ErrorKind::WrongCode => d.error = Some(d.code.wrong()),
                ErrorKind::ExpiredStateToken => {
                    d.stage = VerifyStage::Expired;
                    d.error = Some(format!("{}. Enter sends a new code.", e.message));
                }
                ErrorKind::PushDenied => {
                    d.stage = VerifyStage::Stopped;
                    d.error = Some("The push was denied. Enter sends another.".into());
                }
                _ => {
                    if d.kind == DeviceKind::Push {
                        d.stage = VerifyStage::Stopped;
                    }
                    d.error = Some(format!("Caller check failed: {e}. Enter tries again."));
                }
            }
            super::caller::check_failed(app, &target, &device, &e, cmds);
        }
    }
}
