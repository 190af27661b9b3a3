//! Sending a code or push (the trigger dialog), verifying it, and polling a push.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::audit::{audit_note, record, settle};
use super::errors::error_dialog;
use super::form::{is_submit, is_tab};
use super::user::{reload_user, selected_device};
use crate::api::{ApiError, ErrorKind, OtpDevice, Secret, VerifyOutcome};
use crate::app::dialogs::*;
use crate::app::phone::PhoneCmd;
use crate::app::*;
use crate::app::{codes, validate};
use crate::worker::{ApiRequest, RequestId};

/// How often a push is polled.
const PUSH_POLL_MS: i64 = 1_500;

/// On a tick: expires verify dialogs whose state token ran out, and polls a push that is due.
pub(super) fn tick(app: &mut App, cmds: &mut Vec<Cmd>) {
    let now = app.now;
    let mut poll = None;
    let mut push_expired = false;
    for dialog in app.dialogs.iter_mut() {
        let Dialog::Verify(v) = dialog else { continue };
        let expired = v.expires_at.is_some_and(|t| t <= now);
        match v.stage {
            VerifyStage::AwaitPush { next_poll } if v.busy.is_none() => {
                if expired {
                    v.stage = VerifyStage::Expired;
                    v.error = Some("The push expired before it was approved.".into());
                    push_expired = true;
                } else if next_poll <= now {
                    poll = Some((v.target.user_id, v.device.id.clone(), v.state_token.clone()));
                }
            }
            VerifyStage::EnterCode if expired && v.busy.is_none() && v.state_token.is_some() => {
                v.stage = VerifyStage::Expired;
            }
            _ => {}
        }
    }
    if push_expired {
        // The push's verification is over: it ended unanswered.
        let expired = ApiError::new(
            ErrorKind::ExpiredStateToken,
            "the push expired before it was approved",
        );
        settle(
            app,
            AuditKind::Verify,
            AuditResult::Failure,
            Some(&expired),
            cmds,
        );
    }
    if let Some((user_id, device_id, state_token)) = poll {
        let (id, cmd) = app.request(
            Purpose::Verify,
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
    VerifyDialog {
        target,
        kind,
        device,
        state_token: None,
        expires_at: None,
        code: Input::default(),
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
        sends: Vec::new(),
        code_fresh: false,
    }
}

/// Opens the verify dialog, reusing a code sent moments ago, else sending one.
pub(super) fn open_verify(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some((target, device)) = selected_device(app) else {
        return;
    };
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
        dialog.sends = live.sends;
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
    let note = audit_note(
        app,
        AuditKind::Trigger,
        &v.target.clone(),
        Some(&v.device.clone()),
    );
    let (id, cmd) = app.request(Purpose::Trigger, request);
    if let Some(Dialog::Verify(v)) = app.dialogs.last_mut() {
        v.busy = Some(id);
        v.stage = VerifyStage::Sending;
        v.error = None;
    }
    record(app, note, AuditResult::Attempt, None, cmds);
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
    } else if d.kind != DeviceKind::Push
        && d.busy.is_none()
        && !replace_if_fresh(&mut d.code, &mut d.code_fresh, &key)
    {
        edit(&mut d.code, &key);
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
            d.code = Input::default();
            send_trigger(app, cmds);
        }
        VerifyStage::AwaitPush { .. } => {
            d.stage = VerifyStage::AwaitPush { next_poll: now };
        }
        VerifyStage::EnterCode => {
            // Codes are read out in groups: the spaces and dashes are not part of them.
            let code = validate::normalize_code(d.code.value());
            if code.is_empty() && matches!(d.kind, DeviceKind::Sms | DeviceKind::Voice) {
                // No code arrived: Enter on the empty field sends a new one, at most every 30 s
                // (the dialog counts down until then).
                if codes::resend_wait(&d.sends, now).is_some() {
                    // The dialog's own line counts down; a stale error would hide it.
                    d.error = None;
                    return;
                }
                send_trigger(app, cmds);
                return;
            }
            if code.is_empty() {
                d.error = Some("Type the code the user reads out.".into());
                return;
            }
            let len = code.chars().count();
            if codes::is_yubikey(&d.device) && len < codes::YUBIKEY_MIN_LEN {
                d.error = Some(codes::yubikey_short(len));
                d.code_fresh = true;
                return;
            }
            let request = ApiRequest::Verify {
                user_id: d.target.user_id,
                device_id: d.device.id.clone(),
                state_token: d.state_token.clone(),
                otp: Some(Secret::new(code)),
            };
            let (target, device) = (d.target.clone(), d.device.clone());
            let (id, cmd) = app.request(Purpose::Verify, request);
            if let Some(Dialog::Verify(d)) = app.dialogs.last_mut() {
                d.busy = Some(id);
                d.error = None;
                d.code_fresh = false;
            }
            let note = audit_note(app, AuditKind::Verify, &target, Some(&device));
            record(app, note, AuditResult::Attempt, None, cmds);
            cmds.push(cmd);
        }
    }
}

/// Takes the trigger answer: wait for the code, or for the push.
pub(super) fn on_triggered(
    app: &mut App,
    id: RequestId,
    r: Result<crate::api::TriggerResult, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let now = app.now;
    // The tenant's expiry is on its clock; the countdown runs on ours.
    let r = r.map(|mut t| {
        t.state_token_expires_at = t.state_token_expires_at.map(|x| app.tenant_time(x));
        t
    });
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
            let asked = now + Duration::seconds(lifetime);
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
            if matches!(d.kind, DeviceKind::Sms | DeviceKind::Voice) {
                d.sends.push(now);
                let live = LiveToken {
                    token: t.state_token,
                    expires_at,
                    options: d.options.clone(),
                    sends: d.sends.clone(),
                };
                let device_id = d.device.id.clone();
                app.tokens.insert(device_id, live);
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
                    d.error = Some(match d.sends.last() {
                        // The user may be reading the first code while a newer one replaced it.
                        Some(last) if d.sends.len() > 1 => format!(
                            "Wrong code. A newer code was sent at {}: ask for the latest one.",
                            codes::clock_time(*last)
                        ),
                        _ => format!(
                            "Wrong code ({}). Check it with the user and try again.",
                            e.message
                        ),
                    });
                    // Selected, as the search box is: the next code typed replaces it.
                    d.code_fresh = true;
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
