//! The enroll dialog: opening it, its keys, submitting, and the answer (lost answers included).

use crate::api::ResponseMeta;
use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::audit::{audit_note, record, settle};
use super::errors::{error_dialog, is_ambiguous};
use super::form::{is_submit, is_tab, reason_of};
use super::user::{reload_user, target};
use super::verify::{send_trigger, verify_dialog};
use crate::api::{ApiError, DeviceId, Enrollment, ErrorKind, OtpDevice};
use crate::app::dialogs::*;
use crate::app::validate;
use crate::app::*;
use crate::worker::{ApiRequest, RequestId};

/// Opens the enroll dialog for the open user.
pub(super) fn open_enroll(app: &mut App) {
    let Some(view) = app.user.as_ref() else {
        app.set_status(
            StatusKind::Info,
            "Open a user first: / to search, Enter to open.",
        );
        return;
    };
    let Some(factors) = view.factors.clone() else {
        app.set_status(
            StatusKind::Info,
            "Still loading the factors this user can enroll…",
        );
        return;
    };
    if factors.is_empty() {
        let text = if app.mfa_api == Some(crate::api::MfaVersion::V2) {
            "Nothing left to enroll: the user's policy offers no other factor."
        } else {
            "Nothing left to enroll: the API enrolls only OneLogin SMS and Voice, and this user has them."
        };
        app.set_status(StatusKind::Info, text);
        return;
    }
    let factor = if app.focus == Focus::Factors {
        view.factor_sel.min(factors.len() - 1)
    } else {
        0
    };
    let Some(target) = target(app) else { return };
    app.dialogs.push(Dialog::Enroll(EnrollDialog {
        target,
        factors,
        factor,
        name: Input::default(),
        phone: Input::default(),
        verified: false,
        field: EnrollField::Factor,
        error: None,
        busy: None,
        confirm: None,
    }));
}

/// Keys in the enroll dialog.
pub(super) fn enroll_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Enroll(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.busy.is_some() {
        return;
    }
    if let Some(confirm) = d.confirm.as_mut() {
        // The second confirmation: Enter enrolls, the reason field (when asked for) takes text.
        if is_submit(&key) {
            submit_enroll(app, cmds);
        } else if let Some(reason) = confirm.reason.as_mut() {
            edit(reason, &key);
        }
        return;
    }
    if let Some(back) = is_tab(&key) {
        d.field = cycle(&d.fields(), d.field, back);
    } else if is_submit(&key) {
        submit_enroll(app, cmds);
    } else {
        match d.field {
            EnrollField::Factor => match key.code {
                KeyCode::Left | KeyCode::Up => d.factor = d.factor.saturating_sub(1),
                KeyCode::Right | KeyCode::Down | KeyCode::Char(' ') => {
                    d.factor = (d.factor + 1).min(d.factors.len().saturating_sub(1))
                }
                // Typing on the factor picker starts the name: nothing typed is lost.
                KeyCode::Char(_)
                    if !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
                {
                    d.field = EnrollField::Name;
                    edit(&mut d.name, &key);
                }
                _ => {}
            },
            EnrollField::Name => {
                edit(&mut d.name, &key);
            }
            EnrollField::Phone => {
                edit(&mut d.phone, &key);
            }
            EnrollField::Verified => {
                if key.code == KeyCode::Char(' ') {
                    d.verified = !d.verified;
                }
            }
        }
    }
}

fn submit_enroll(app: &mut App, cmds: &mut Vec<Cmd>) {
    let action = match app.dialogs.last() {
        Some(Dialog::Enroll(d)) if d.verified => crate::policy::GuardedAction::EnrollVerified,
        _ => crate::policy::GuardedAction::Enroll,
    };
    if super::caller::blocks(app, action) {
        return;
    }
    let Some(Dialog::Enroll(d)) = app.dialogs.last_mut() else {
        return;
    };
    let name = d.name.value().trim().to_owned();
    // A factor without a phone sends none; what was typed stays in the field, the call gets
    // the digits.
    let number = if d.needs_phone() {
        validate::normalize_phone(d.phone.value())
    } else {
        String::new()
    };
    if name.is_empty() {
        d.error =
            Some("Give the device a name the user will recognise, e.g. \"Work phone\".".into());
        d.field = EnrollField::Name;
        return;
    }
    if d.needs_phone()
        && let Err(e) = validate::e164(&number)
    {
        d.error = Some(format!("Phone number: {e}."));
        d.field = EnrollField::Phone;
        return;
    }
    let Some(factor) = d.factors.get(d.factor).cloned() else {
        return;
    };
    d.error = None;
    let mut reason = None;
    if d.verified {
        // Nobody checks a pre-verified number: the agent confirms that twice (with a reason
        // when the profile asks for one).
        let Some(confirm) = d.confirm.as_mut() else {
            d.confirm = Some(EnrollConfirm {
                reason: app.tenant.require_reason.then(Input::default),
                error: None,
            });
            return;
        };
        match reason_of(&confirm.reason) {
            Ok(r) => reason = r,
            Err(()) => {
                confirm.error = Some(
                    "This profile asks for a ticket or reason before enrolling a number unchecked."
                        .into(),
                );
                return;
            }
        }
        confirm.error = None;
    }
    let target = d.target.clone();
    let verified = d.verified && d.may_preverify();
    let (id, cmd) = app.request(
        Purpose::Enroll,
        ApiRequest::Enroll {
            user_id: target.user_id,
            factor_id: factor.factor_id,
            display_name: name,
            number,
            verified,
        },
    );
    if let Some(Dialog::Enroll(d)) = app.dialogs.last_mut() {
        d.busy = Some(id);
    }
    let mut note = audit_note(app, AuditKind::Enroll, &target, None);
    note.factor = Some(factor.name);
    note.verified = Some(verified);
    note.reason = reason;
    record(app, note, AuditResult::Attempt, None, cmds);
    cmds.push(cmd);
}

/// Takes the enroll answer: done, on to verify, or a check whether a lost answer created the device.
pub(super) fn on_enrolled(
    app: &mut App,
    id: RequestId,
    r: Result<Enrollment, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::Enroll(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    let factor = d
        .factors
        .get(d.factor)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    // A v2 registration waits for the user's first code or app: its own dialog.
    let r = match r {
        Ok(Enrollment::Registration(reg)) => {
            let target = d.target.clone();
            super::register::start(app, pos, target, factor, reg);
            return;
        }
        Ok(Enrollment::Device(device)) => Ok(device),
        Err(e) => Err(e),
    };
    let target = d.target.clone();
    let verified = d.verified;
    let (name, number) = (
        d.name.value().trim().to_owned(),
        validate::normalize_phone(d.phone.value()),
    );
    match r {
        Ok(device) => {
            if let Some(attempt) = app.open_attempts.get_mut(&AuditKind::Enroll) {
                attempt.device_id = Some(device.id.to_string());
            }
            settle(app, AuditKind::Enroll, AuditResult::Success, None, cmds);
            reload_user(app, target.user_id, cmds);
            if verified || device.active {
                if let Some(view) = app.view_of(target.user_id) {
                    view.select_after_load = Some(device.id.clone());
                }
                app.dialogs.remove(pos);
                app.set_status(
                    StatusKind::Success,
                    format!(
                        "Enrolled {} for {}: active.",
                        device.label(),
                        target.user_label
                    ),
                );
                return;
            }
            // The guided enrollment: verify with the code enroll already sent when the tenant
            // says so (its state token), else trigger with defaults first; then verify.
            let mut verify = verify_dialog(target, device.clone(), true);
            let sent = device.state_token.clone();
            if let Some(token) = &sent {
                let expires_at =
                    app.now + Duration::seconds(i64::from(validate::STATE_TOKEN_RANGE.0));
                verify.state_token = Some(token.clone());
                verify.stage = VerifyStage::EnterCode;
                verify.code.sends.push(app.now);
                if device.needs_trigger {
                    verify.expires_at = Some(expires_at);
                    app.tokens.insert(
                        device.id.clone(),
                        LiveToken {
                            token: token.clone(),
                            expires_at,
                            options: TriggerOptions::default(),
                            sends: vec![app.now],
                        },
                    );
                }
            }
            if let Some(view) = app.view_of(verify.target.user_id) {
                view.select_after_load = Some(device.id.clone());
            }
            app.dialogs.remove(pos);
            app.dialogs.push(Dialog::Verify(verify));
            if device.needs_trigger && sent.is_none() {
                send_trigger(app, cmds);
            }
        }
        Err(e) if is_ambiguous(&e) => {
            // The device may exist even though the answer was lost: look before retrying. The
            // attempt stays open until the check says how it ended.
            let known = app
                .view_of(target.user_id)
                .and_then(|v| v.devices.as_ref())
                .map(|d| d.iter().map(|d| d.id.clone()).collect())
                .unwrap_or_default();
            let (check, cmd) = app.request(
                Purpose::EnrollCheck {
                    display_name: name,
                    number,
                    cause: e.to_string(),
                    lost: e.clone(),
                    known,
                },
                ApiRequest::GetDevices(target.user_id),
            );
            if let Dialog::Enroll(d) = &mut app.dialogs[pos] {
                d.busy = Some(check);
                d.error = Some(format!("{e}. Checking whether the device was created…"));
            }
            cmds.push(cmd);
        }
        Err(e) => {
            settle(app, AuditKind::Enroll, AuditResult::Failure, Some(&e), cmds);
            if matches!(e.kind, ErrorKind::BadRequest) {
                if let Dialog::Enroll(d) = &mut app.dialogs[pos] {
                    // Back to the form, where the refused value can be fixed.
                    d.confirm = None;
                    d.error = Some(e.to_string());
                }
            } else {
                error_dialog(app, "Enrolling the device", e);
            }
        }
    }
}

/// Takes the device list read after an enroll answer was lost.
pub(super) fn on_enroll_check(
    app: &mut App,
    id: RequestId,
    (name, number, known): (&str, &str, &[DeviceId]),
    (cause, lost): (&str, &ApiError),
    r: Result<Vec<OtpDevice>, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::Enroll(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    let user_id = d.target.user_id;
    let tail: String = number
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    match r {
        Ok(devices) => {
            // A device that was not there before, with the name and number typed.
            let found = devices.iter().find(|dev| {
                !known.contains(&dev.id)
                    && dev.user_display_name.as_deref() == Some(name)
                    && dev
                        .phone_number
                        .as_deref()
                        .is_none_or(|p| p.ends_with(&tail))
            });
            match found {
                Some(dev) => {
                    let state = if dev.active {
                        "active"
                    } else {
                        "pending: press v to verify it"
                    };
                    let label = dev.label();
                    app.dialogs.remove(pos);
                    // The enrollment happened: the attempt ends in success, with what was known of
                    // the lost answer (not the device check's status and request id).
                    if let Some(attempt) = app.open_attempts.get_mut(&AuditKind::Enroll) {
                        attempt.device_id = Some(dev.id.to_string());
                        attempt.message = Some("created; the enroll answer was lost".into());
                    }
                    app.last_meta = ResponseMeta {
                        status: lost.status,
                        request_id: lost.request_id.clone(),
                        ..ResponseMeta::default()
                    };
                    settle(app, AuditKind::Enroll, AuditResult::Success, None, cmds);
                    app.dialogs.push(Dialog::Info(InfoDialog {
                        title: "The device was created after all".into(),
                        lines: vec![
                            "The enroll call failed on the way back, but the tenant has the device:".into(),
                            format!("{label}, {state}."),
                        ],
                    }));
                }
                None => {
                    d.error = Some(format!(
                        "The enroll call failed ({cause}) and no such device exists: nothing was created. Enter tries again."
                    ));
                    settle(
                        app,
                        AuditKind::Enroll,
                        AuditResult::Failure,
                        Some(lost),
                        cmds,
                    );
                }
            }
            if let Some(view) = app.view_of(user_id) {
                view.devices = Some(devices);
            }
        }
        Err(e) => {
            d.error = Some(format!(
                "The enroll call failed ({cause}) and the device list could not be read ({e}). Press r on the user before trying again."
            ));
            let unknown = ApiError {
                message: format!(
                    "outcome unknown: {} (the device list could not be read: {})",
                    lost.message, e.message
                ),
                ..lost.clone()
            };
            settle(
                app,
                AuditKind::Enroll,
                AuditResult::Failure,
                Some(&unknown),
                cmds,
            );
        }
    }
}
