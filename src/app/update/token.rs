//! The temporary MFA token dialog: opening it, its keys, submitting, and the token issued.

use crossterm::event::{KeyCode, KeyEvent};

use super::audit::{audit_note, record, settle};
use super::errors::error_dialog;
use super::form::{is_submit, is_tab, reason_input, reason_of};
use super::user::target;
use crate::api::{ApiError, MfaToken};
use crate::app::dialogs::*;
use crate::app::*;
use crate::worker::{ApiRequest, RequestId};

/// Opens the token dialog for the open user.
pub(super) fn open_token(app: &mut App) {
    let Some(target) = target(app) else {
        app.set_status(
            StatusKind::Info,
            "Open a user first: / to search, Enter to open.",
        );
        return;
    };
    let reason = reason_input(app);
    app.dialogs.push(Dialog::Token(TokenDialog {
        target,
        preset: 1,
        reusable: false,
        field: TokenField::ExpiresIn,
        reason,
        error: None,
        busy: None,
        issued: None,
        copied: false,
    }));
}

/// Keys in the token dialog (and, once issued, copying the token).
/// What the console can truthfully say after an OSC 52 copy.
pub(crate) const COPIED: &str = "Sent to the terminal's clipboard (OSC 52)";

pub(super) fn token_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Token(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.issued.is_some() {
        match key.code {
            KeyCode::Char('c') => {
                if let Some(t) = &d.issued {
                    cmds.push(Cmd::Copy(t.mfa_token.clone()));
                    d.copied = true;
                    // The terminal never says whether it accepted the sequence: claim no more.
                    app.set_status(StatusKind::Info, COPIED);
                }
            }
            KeyCode::Enter | KeyCode::Char('q') => {
                // The token leaves memory with its dialog.
                app.dialogs.pop();
            }
            _ => {}
        }
        return;
    }
    if d.busy.is_some() {
        return;
    }
    let typing = d.field == TokenField::Reason;
    // Moving between fields never changes a value; in the reason field j and k are letters.
    let step = match key.code {
        KeyCode::Tab | KeyCode::BackTab => is_tab(&key),
        KeyCode::Down => Some(false),
        KeyCode::Up => Some(true),
        KeyCode::Char('j') if !typing => Some(false),
        KeyCode::Char('k') if !typing => Some(true),
        _ => None,
    };
    if let Some(back) = step {
        d.field = cycle(&d.fields(), d.field, back);
    } else if is_submit(&key) {
        submit_token(app, cmds);
    } else {
        match d.field {
            TokenField::ExpiresIn => match key.code {
                KeyCode::Left => d.preset = d.preset.saturating_sub(1),
                KeyCode::Right => d.preset = (d.preset + 1).min(TOKEN_PRESETS.len() - 1),
                // Space steps through the lifetimes and starts again after the longest.
                KeyCode::Char(' ') => d.preset = (d.preset + 1) % TOKEN_PRESETS.len(),
                _ => {}
            },
            TokenField::Reusable => {
                if matches!(
                    key.code,
                    KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
                ) {
                    d.reusable = !d.reusable;
                }
            }
            TokenField::Reason => {
                if let Some(r) = d.reason.as_mut() {
                    edit(r, &key);
                }
            }
        }
    }
}

fn submit_token(app: &mut App, cmds: &mut Vec<Cmd>) {
    if super::caller::blocks(app, crate::policy::GuardedAction::Token) {
        return;
    }
    let Some(Dialog::Token(d)) = app.dialogs.last_mut() else {
        return;
    };
    let Ok(reason) = reason_of(&d.reason) else {
        d.error = Some("This profile asks for a ticket or reason before issuing a token.".into());
        d.field = TokenField::Reason;
        return;
    };
    let expires_in = TOKEN_PRESETS.get(d.preset).map_or(3_600, |p| p.1);
    let target = d.target.clone();
    let reusable = d.reusable;
    let (id, cmd) = app.request(
        Purpose::MfaToken,
        ApiRequest::MfaToken {
            user_id: target.user_id,
            expires_in,
            reusable,
        },
    );
    if let Some(Dialog::Token(d)) = app.dialogs.last_mut() {
        d.busy = Some(id);
        d.error = None;
    }
    let mut note = audit_note(app, AuditKind::MfaToken, &target, None);
    note.reason = reason;
    record(app, note, AuditResult::Attempt, None, cmds);
    cmds.push(cmd);
}

/// Takes the token answer: show the token, or the error.
pub(super) fn on_issued(
    app: &mut App,
    id: RequestId,
    r: Result<MfaToken, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    match r {
        Ok(token) => {
            // The client already moved the expiry onto our clock (crate::clock::local_expiry).
            settle(app, AuditKind::MfaToken, AuditResult::Success, None, cmds);
            if let Dialog::Token(d) = &mut app.dialogs[pos] {
                d.busy = None;
                d.issued = Some(token);
            }
        }
        Err(e) => {
            settle(
                app,
                AuditKind::MfaToken,
                AuditResult::Failure,
                Some(&e),
                cmds,
            );
            if let Dialog::Token(d) = &mut app.dialogs[pos] {
                d.busy = None;
            }
            error_dialog(app, "Issuing a temporary MFA token", e);
        }
    }
}
