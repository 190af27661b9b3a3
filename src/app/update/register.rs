//! MFA v2 registrations: the QR code dialog for an authenticator or OneLogin Protect, and the
//! first code for SMS, voice and email. The enroll attempt stays open in the audit trail until
//! the registration is accepted, rejected, expires or the agent stops waiting.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::audit::settle;
use super::errors::error_dialog;
use super::form::is_submit;
use super::user::reload_user;
use crate::api::{ApiError, ErrorKind, Registration, Secret, V2Status};
use crate::app::dialogs::*;
use crate::app::phone::PhoneCmd;
use crate::app::*;
use crate::worker::{ApiRequest, RequestId};

/// How often a Protect registration is polled while the app has not answered.
const POLL_EVERY_SECS: i64 = 2;
/// A registration's lifetime when the tenant does not say (spec §6 bounds: 120–900 s).
const DEFAULT_LIFETIME_SECS: i64 = 300;

/// How a registration completes, from its factor and what the tenant handed back.
fn mode_of(r: &Registration, factor: &str) -> RegisterMode {
    let names = format!(
        "{} {} {}",
        factor,
        r.auth_factor_name.as_deref().unwrap_or(""),
        r.type_display_name.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase();
    if names.contains("protect") || r.auth_factor_name.as_deref() == Some("OneLogin") {
        RegisterMode::Protect
    } else if r.totp_url.is_some() {
        RegisterMode::Authenticator
    } else {
        RegisterMode::Code
    }
}

/// Opens the registration dialog in place of the enroll dialog at `pos`.
pub(super) fn start(
    app: &mut App,
    pos: usize,
    target: Target,
    factor: String,
    registration: Registration,
) {
    let mode = mode_of(&registration, &factor);
    let expires_at = registration
        .expires_at
        .or_else(|| Some(app.now + Duration::seconds(DEFAULT_LIFETIME_SECS)));
    let next_poll =
        (mode == RegisterMode::Protect).then(|| app.now + Duration::seconds(POLL_EVERY_SECS));
    if let Some(attempt) = app.open_attempts.get_mut(&AuditKind::Enroll) {
        attempt.message = Some("registration pending".into());
    }
    app.dialogs.remove(pos);
    app.dialogs.push(Dialog::Register(RegisterDialog {
        target,
        registration,
        factor,
        mode,
        code: Input::default(),
        show_key: false,
        error: None,
        busy: None,
        expires_at,
        next_poll,
        ended: false,
    }));
}

/// Keys in the registration dialog (Esc is handled by [`stop`]).
pub(super) fn register_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let demo = app.tenant.demo;
    let Some(Dialog::Register(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.ended {
        if is_submit(&key) {
            app.dialogs.pop();
        }
        return;
    }
    let plain = !key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match d.mode {
        RegisterMode::Protect => match key.code {
            KeyCode::Char('s') if plain => d.show_key = !d.show_key,
            // The demo phone plays the user's app: accept or deny the enrollment.
            KeyCode::Char(c @ ('a' | 'x')) if plain && demo => {
                let id = d.registration.id.clone();
                cmds.push(Cmd::Phone(if c == 'a' {
                    PhoneCmd::Approve(id)
                } else {
                    PhoneCmd::Deny(id)
                }));
                cmds.push(Cmd::Phone(PhoneCmd::Refresh));
                // Look at once rather than at the next poll.
                d.next_poll = Some(app.now);
            }
            _ => {}
        },
        RegisterMode::Authenticator | RegisterMode::Code => {
            if d.busy.is_some() {
                return;
            }
            if is_submit(&key) {
                submit_code(app, cmds);
            } else if d.mode == RegisterMode::Authenticator
                && key.code == KeyCode::Char('s')
                && plain
                && d.code.value().is_empty()
            {
                // `s` shows the setup key until a code is being typed (then it is a character).
                d.show_key = !d.show_key;
            } else {
                edit(&mut d.code, &key);
                d.error = None;
            }
        }
    }
}

/// Sends the first code.
fn submit_code(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Register(d)) = app.dialogs.last_mut() else {
        return;
    };
    let code: String = d
        .code
        .value()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if code.is_empty() {
        d.error = Some(match d.mode {
            RegisterMode::Authenticator => {
                "Type the 6-digit code the user's authenticator app shows.".into()
            }
            _ => "Type the code the user received.".into(),
        });
        return;
    }
    let request = ApiRequest::VerifyRegistration {
        user_id: d.target.user_id,
        registration_id: d.registration.id.clone(),
        otp: Secret::new(code),
    };
    let (id, cmd) = app.request(Purpose::Register, request);
    if let Some(Dialog::Register(d)) = app.dialogs.last_mut() {
        d.busy = Some(id);
        d.error = None;
    }
    cmds.push(cmd);
}

/// Ticks: the countdown, and polling a Protect registration.
pub(super) fn tick(app: &mut App, cmds: &mut Vec<Cmd>) {
    let now = app.now;
    // The dialog shows what the demo phone's app shows: keep it fresh while it is open.
    if app.tenant.demo
        && !app.phone_visible
        && matches!(app.dialogs.last(), Some(Dialog::Register(_)))
    {
        cmds.push(Cmd::Phone(PhoneCmd::Refresh));
    }
    let Some(Dialog::Register(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.ended || d.busy.is_some() {
        return;
    }
    if d.expires_at.is_some_and(|t| t <= now) {
        d.ended = true;
        d.error = Some(
            "The registration expired: nothing was enrolled. Esc closes; e starts again.".into(),
        );
        let e = ApiError::new(ErrorKind::ExpiredStateToken, "the registration expired");
        settle(app, AuditKind::Enroll, AuditResult::Failure, Some(&e), cmds);
        return;
    }
    if d.mode == RegisterMode::Protect && d.next_poll.is_some_and(|t| t <= now) {
        let request = ApiRequest::PollRegistration {
            user_id: d.target.user_id,
            registration_id: d.registration.id.clone(),
        };
        d.next_poll = Some(now + Duration::seconds(POLL_EVERY_SECS));
        let (id, cmd) = app.request(Purpose::Register, request);
        if let Some(Dialog::Register(d)) = app.dialogs.last_mut() {
            d.busy = Some(id);
        }
        cmds.push(cmd);
    }
}

/// Takes a registration answer (a code checked or a poll).
pub(super) fn on_registration(
    app: &mut App,
    id: RequestId,
    r: Result<Registration, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::Register(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    let target = d.target.clone();
    match r {
        Ok(reg) => match reg.status {
            V2Status::Accepted => {
                let label = d
                    .registration
                    .user_display_name
                    .clone()
                    .map(|n| format!("{} \"{}\"", d.factor, n))
                    .unwrap_or_else(|| d.factor.clone());
                if let Some(attempt) = app.open_attempts.get_mut(&AuditKind::Enroll) {
                    attempt.device_id = reg.device_id.as_ref().map(ToString::to_string);
                    attempt.message = None;
                }
                settle(app, AuditKind::Enroll, AuditResult::Success, None, cmds);
                app.dialogs.remove(pos);
                super::walk::registered(app, target.user_id);
                app.set_status(
                    StatusKind::Success,
                    format!("Enrolled {label} for {}: active.", target.user_label),
                );
                if let (Some(view), Some(device)) = (app.view_of(target.user_id), reg.device_id) {
                    view.select_after_load = Some(device);
                }
                reload_user(app, target.user_id, cmds);
            }
            V2Status::Rejected => {
                d.ended = true;
                d.error =
                    Some("The user's app denied the enrollment: nothing was enrolled.".into());
                let e = ApiError::new(ErrorKind::PushDenied, "the user denied the enrollment");
                settle(app, AuditKind::Enroll, AuditResult::Failure, Some(&e), cmds);
            }
            V2Status::Pending | V2Status::Other(_) => {}
        },
        Err(e) if e.kind == ErrorKind::WrongCode => {
            d.error = Some(
                "That code is not right: check it with the user (a new one shows every 30 s) and try again."
                    .into(),
            );
            d.code = Input::default();
        }
        Err(e) if e.kind == ErrorKind::ExpiredStateToken => {
            d.ended = true;
            d.error = Some(format!(
                "The registration is over ({}): nothing was enrolled. Esc closes; e starts again.",
                e.message
            ));
            settle(app, AuditKind::Enroll, AuditResult::Failure, Some(&e), cmds);
        }
        Err(e)
            if matches!(
                e.kind,
                ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Server
            ) && d.mode == RegisterMode::Protect =>
        {
            // A lost poll changes nothing: the next one asks again.
            d.error = Some(format!("Could not ask the tenant ({e}); trying again."));
        }
        Err(e) => {
            settle(app, AuditKind::Enroll, AuditResult::Failure, Some(&e), cmds);
            app.dialogs.remove(pos);
            error_dialog(app, "Completing the registration", e);
        }
    }
}

/// Esc: stops waiting and says what was left behind.
pub(super) fn stop(app: &mut App, cmds: &mut Vec<Cmd>) {
    let now = app.now;
    let Some(Dialog::Register(d)) = app.dialogs.pop() else {
        return;
    };
    app.cancel(d.busy, cmds);
    if d.ended {
        return;
    }
    let left = d
        .expires_at
        .map(|t| (t - now).num_seconds().max(0))
        .map(|s| format!(" for another {}:{:02}", s / 60, s % 60))
        .unwrap_or_default();
    let what = match d.mode {
        RegisterMode::Protect => "the user can still accept it in OneLogin Protect",
        _ => "nothing is enrolled until its first code is checked",
    };
    let e = ApiError::new(
        ErrorKind::Cancelled,
        "stopped waiting; the registration was left pending",
    );
    settle(app, AuditKind::Enroll, AuditResult::Failure, Some(&e), cmds);
    app.set_status(
        StatusKind::Warning,
        format!(
            "Stopped waiting: the {} registration stays pending{left}; {what}. Devices re-read.",
            d.factor
        ),
    );
    reload_user(app, d.target.user_id, cmds);
}
