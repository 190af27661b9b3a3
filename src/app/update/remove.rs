//! The remove dialog: opening it, its keys, submitting, and the answer.

use crossterm::event::{KeyCode, KeyEvent};

use super::audit::{audit_note, record, settle};
use super::errors::error_dialog;
use super::form::{is_tab, reason_input, reason_of};
use super::user::{reload_user, selected_device};
use crate::api::{ApiError, DeviceId};
use crate::app::dialogs::*;
use crate::app::*;
use crate::worker::{ApiRequest, RequestId};

/// Opens the remove dialog for the selected device, focus on Cancel.
pub(super) fn open_remove(app: &mut App) {
    let Some((target, device)) = selected_device(app) else {
        return;
    };
    let mut ids: Vec<&DeviceId> = app
        .user
        .as_ref()
        .and_then(|u| u.devices.as_ref())
        .map(|d| d.iter().map(|d| &d.id).collect())
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    let last = ids.len() <= 1;
    let reason = reason_input(app);
    // Safe first focus: Cancel (Tab reaches the ticket field when the profile asks for one).
    let button = RemoveButton::Cancel;
    app.dialogs.push(Dialog::Remove(RemoveDialog {
        target,
        device,
        last,
        button,
        reason,
        error: None,
        busy: None,
    }));
}

/// Offers the removal of this device of the open user (selected first, when it is listed).
pub(super) fn offer(app: &mut App, device: DeviceId) {
    let row = app
        .user
        .as_ref()
        .and_then(|u| u.devices.as_ref())
        .and_then(|d| d.iter().position(|x| x.id == device));
    if let (Some(row), Some(view)) = (row, app.user.as_mut()) {
        view.device_sel = row;
        open_remove(app);
    }
}

/// Keys in the remove dialog.
pub(super) fn remove_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Remove(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.busy.is_some() {
        return;
    }
    if let Some(back) = is_tab(&key) {
        d.button = cycle(&d.fields(), d.button, back);
        return;
    }
    if d.button == RemoveButton::Reason {
        // Typing a ticket: every key is text; Enter removes (the reason is the intent).
        if key.code == KeyCode::Enter {
            submit_remove(app, cmds);
        } else if let Some(reason) = d.reason.as_mut() {
            edit(reason, &key);
        }
        return;
    }
    // No printable key removes: only Enter on the Remove button does.
    match key.code {
        KeyCode::Char('n') => {
            app.dialogs.pop();
        }
        // The buttons sit side by side: Cancel on the left, Remove on the right.
        KeyCode::Left => d.button = RemoveButton::Cancel,
        KeyCode::Right => d.button = RemoveButton::Remove,
        KeyCode::Enter => match d.button {
            RemoveButton::Remove => submit_remove(app, cmds),
            _ => {
                app.dialogs.pop();
            }
        },
        _ => {}
    }
}

fn submit_remove(app: &mut App, cmds: &mut Vec<Cmd>) {
    if super::caller::blocks(app, crate::policy::GuardedAction::Remove) {
        return;
    }
    let Some(Dialog::Remove(d)) = app.dialogs.last_mut() else {
        return;
    };
    let Ok(reason) = reason_of(&d.reason) else {
        d.error = Some("This profile asks for a ticket or reason before removing a device.".into());
        d.button = RemoveButton::Reason;
        return;
    };
    let (target, device) = (d.target.clone(), d.device.clone());
    let (id, cmd) = app.request(
        Purpose::Remove,
        ApiRequest::Remove {
            user_id: target.user_id,
            device_id: device.id.clone(),
        },
    );
    if let Some(Dialog::Remove(d)) = app.dialogs.last_mut() {
        d.busy = Some(id);
        d.error = None;
    }
    let mut note = audit_note(app, AuditKind::Remove, &target, Some(&device));
    note.reason = reason;
    record(app, note, AuditResult::Attempt, None, cmds);
    cmds.push(cmd);
}

/// Takes the remove answer: drop the device from the list, or show why not.
pub(super) fn on_removed(
    app: &mut App,
    id: RequestId,
    r: Result<(), ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::Remove(d) = app.dialogs.remove(pos) else {
        return;
    };
    match r {
        Ok(()) => {
            settle(app, AuditKind::Remove, AuditResult::Success, None, cmds);
            if let Some(view) = app.view_of(d.target.user_id)
                && let Some(devices) = view.devices.as_mut()
            {
                devices.retain(|x| x.id != d.device.id);
                view.device_sel = view.device_sel.min(devices.len().saturating_sub(1));
            }
            app.tokens.remove(&d.device.id);
            app.set_status(
                StatusKind::Success,
                format!("Removed {} from {}.", d.device.label(), d.target.user_label),
            );
            reload_user(app, d.target.user_id, cmds);
        }
        Err(e) => {
            settle(app, AuditKind::Remove, AuditResult::Failure, Some(&e), cmds);
            let user_id = d.target.user_id;
            // A typed ticket or reason survives the failure: the dialog stays under the error.
            if d.reason.as_ref().is_some_and(|r| !r.value().is_empty()) {
                app.dialogs.insert(
                    pos,
                    Dialog::Remove(RemoveDialog {
                        busy: None,
                        error: Some(format!("Not removed: {}", e.message)),
                        ..d
                    }),
                );
            }
            error_dialog(app, "Removing the device", e);
            reload_user(app, user_id, cmds);
        }
    }
}
