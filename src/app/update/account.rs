//! The account dialogs: unlock (`u`), sign out everywhere (`o`) and lock (`L`): opening them,
//! their keys, the button confirm, and the answer (the user is read again at once).

use crossterm::event::{KeyCode, KeyEvent};

use super::audit::{audit_note, record, settle};
use super::errors::error_dialog;
use super::form::{is_tab, reason_input, reason_of};
use super::user::{reload_user, target};
use crate::api::account::LOCK_MINUTES;
use crate::api::{ApiError, ErrorKind, UserId};
use crate::app::dialogs::*;
use crate::app::*;
use crate::ops::account::{AccountAction, period};
use crate::worker::RequestId;

/// What the dialog says when the credential cannot lock.
pub const LOCK_NEEDS_MANAGE_ALL: &str = "Lock needs Manage All: this API credential was refused (Manage users cannot lock). Nothing was sent.";

/// Opens the dialog for an account action on the open user, focus on Cancel.
pub(super) fn open_account(app: &mut App, action: AccountAction) {
    let Some(target) = target(app) else {
        app.set_status(
            StatusKind::Info,
            "Open a user first: / to search, Enter to open.",
        );
        return;
    };
    let why = match action {
        AccountAction::Unlock => match app.user.as_ref().map(|v| v.user.clone()) {
            Some(user) if app.is_locked(&user) => lock_reasons(app, &user),
            _ => {
                app.set_status(
                    StatusKind::Info,
                    format!("{} is not locked: nothing to unlock.", target.user_label),
                );
                return;
            }
        },
        _ => Vec::new(),
    };
    let blocked = (matches!(action, AccountAction::Lock { .. }) && app.lock_refused)
        .then(|| LOCK_NEEDS_MANAGE_ALL.to_owned());
    let reason = reason_input(app);
    app.dialogs.push(Dialog::Account(AccountDialog {
        target,
        action,
        field: AccountField::Cancel,
        reason,
        why,
        error: None,
        busy: None,
        blocked,
    }));
}

/// Why the user is locked, for the unlock dialog: the lock itself, then what led to it (the
/// failed sign-ins and their addresses, from the events read with the user).
pub fn lock_reasons(app: &App, user: &crate::api::User) -> Vec<String> {
    let mut why = Vec::new();
    match user.locked_until {
        Some(t) => {
            let left = (t - app.now).num_minutes().max(0);
            why.push(format!(
                "Locked until {} UTC ({left} min from now).",
                t.format("%Y-%m-%d %H:%M")
            ));
        }
        None => {
            why.push("Locked (status 3) with no end time: until someone unlocks the user.".into())
        }
    }
    let Some(events) = app.events_of(user.id) else {
        why.push("The user's events are not read yet: r reads them again.".into());
        return why;
    };
    let story = crate::ops::account::lock_story(events, app.now);
    if let Some((at, kind, actor)) = &story.locked {
        let how = if *kind == 553 {
            format!(
                "locked through the API by {}",
                crate::ui::text::clean(actor)
            )
        } else {
            "locked by the policy after failed sign-ins".to_owned()
        };
        why.push(format!("{} UTC: {how}.", at.format("%H:%M")));
    }
    if story.failed.is_empty() {
        why.push("No failed sign-in in the last 24 hours.".into());
    } else {
        let last = story.failed[0].0.format("%H:%M");
        why.push(format!(
            "{} failed sign-ins in the last 24 hours, the last at {last} UTC.",
            story.failed.len()
        ));
        let from: Vec<String> = story
            .addresses
            .iter()
            .map(|(ip, n)| format!("{} ({n})", crate::ui::text::clean(ip)))
            .collect();
        if !from.is_empty() {
            why.push(format!("From {}.", from.join(", ")));
        }
    }
    why
}

/// Keys in an account dialog: Tab/←/→ move between Cancel, the options and the action's
/// button; Enter presses the focused button. No printable key confirms.
pub(super) fn account_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Account(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.busy.is_some() {
        return;
    }
    if let Some(back) = is_tab(&key) {
        d.field = cycle(&d.fields(), d.field, back);
        return;
    }
    match d.field {
        AccountField::Reason => {
            // Typing a ticket: every key is text; Enter moves on to the button.
            if key.code == KeyCode::Enter {
                d.field = AccountField::Confirm;
            } else if let Some(reason) = d.reason.as_mut() {
                edit(reason, &key);
            }
        }
        AccountField::Minutes => match key.code {
            KeyCode::Left | KeyCode::Right => {
                if let AccountAction::Lock { minutes } = d.action {
                    let i = LOCK_MINUTES.iter().position(|m| *m == minutes).unwrap_or(0);
                    let n = LOCK_MINUTES.len();
                    let j = if key.code == KeyCode::Left {
                        (i + n - 1) % n
                    } else {
                        (i + 1) % n
                    };
                    d.action = AccountAction::Lock {
                        minutes: LOCK_MINUTES[j],
                    };
                }
            }
            KeyCode::Enter => d.field = AccountField::Confirm,
            _ => {}
        },
        AccountField::Cancel | AccountField::Confirm => match key.code {
            KeyCode::Left | KeyCode::Right => {
                d.field = if d.field == AccountField::Cancel {
                    AccountField::Confirm
                } else {
                    AccountField::Cancel
                };
            }
            KeyCode::Enter if d.field == AccountField::Confirm => submit(app, cmds),
            KeyCode::Enter => {
                app.dialogs.pop();
            }
            _ => {}
        },
    }
}

fn submit(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Account(d)) = app.dialogs.last() else {
        return;
    };
    if d.action == AccountAction::Unlock
        && super::caller::blocks(app, crate::policy::GuardedAction::Unlock)
    {
        return;
    }
    let Some(Dialog::Account(d)) = app.dialogs.last_mut() else {
        return;
    };
    if d.blocked.is_some() {
        // Known refused: sending again would only be refused again.
        return;
    }
    let Ok(reason) = reason_of(&d.reason) else {
        d.error = Some(format!(
            "This profile asks for a ticket or reason before {}.",
            d.verb().to_lowercase()
        ));
        d.field = AccountField::Reason;
        return;
    };
    let (target, action) = (d.target.clone(), d.action);
    let (id, cmd) = app.request(Purpose::Account, action_request(action, target.user_id));
    if let Some(Dialog::Account(d)) = app.dialogs.last_mut() {
        d.busy = Some(id);
        d.error = None;
    }
    let mut note = audit_note(app, action.audit_action(), &target, None);
    note.reason = reason;
    note.message = action.note();
    record(app, note, AuditResult::Attempt, None, cmds);
    cmds.push(cmd);
}

fn action_request(action: AccountAction, user_id: UserId) -> crate::worker::ApiRequest {
    action.request(&crate::api::User {
        id: user_id,
        ..crate::api::User::default()
    })
}

/// Takes the answer: say what was done and read the user again, or keep the dialog open
/// with why not.
pub(super) fn on_account(
    app: &mut App,
    id: RequestId,
    r: Result<(), ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(pos) = app.dialog_waiting_for(id) else {
        return;
    };
    let Dialog::Account(d) = app.dialogs.remove(pos) else {
        return;
    };
    let kind = d.action.audit_action();
    let user_id = d.target.user_id;
    match r {
        Ok(()) => {
            settle(app, kind, AuditResult::Success, None, cmds);
            apply_locally(app, user_id, d.action);
            app.set_status(StatusKind::Success, done_text(&d));
            reread_user(app, user_id, cmds);
        }
        Err(e) => {
            settle(app, kind, AuditResult::Failure, Some(&e), cmds);
            let scope = e.kind == ErrorKind::InsufficientPermission
                && matches!(d.action, AccountAction::Lock { .. });
            if scope {
                // The credential cannot lock: say so, and send nothing on later tries.
                app.lock_refused = true;
                app.dialogs.insert(
                    pos,
                    Dialog::Account(AccountDialog {
                        busy: None,
                        field: AccountField::Cancel,
                        blocked: Some(LOCK_NEEDS_MANAGE_ALL.to_owned()),
                        ..d
                    }),
                );
            } else if e.kind == ErrorKind::NotLocked {
                app.set_status(
                    StatusKind::Warning,
                    format!(
                        "Not unlocked: the tenant says \"{}\" ({} is not locked now).",
                        crate::ui::text::clean(&e.message),
                        d.target.user_label
                    ),
                );
            } else {
                if d.reason.as_ref().is_some_and(|r| !r.value().is_empty()) {
                    // A typed ticket survives the failure: the dialog stays under the error.
                    app.dialogs.insert(
                        pos,
                        Dialog::Account(AccountDialog {
                            busy: None,
                            error: Some(format!("Not done: {}", e.message)),
                            ..d.clone()
                        }),
                    );
                }
                error_dialog(app, context(d.action), e);
            }
            reread_user(app, user_id, cmds);
        }
    }
}

fn context(action: AccountAction) -> &'static str {
    match action {
        AccountAction::Unlock => "Unlocking the user",
        AccountAction::Logout => "Signing the user out",
        AccountAction::Lock { .. } => "Locking the user",
    }
}

fn done_text(d: &AccountDialog) -> String {
    match d.action {
        AccountAction::Unlock => format!("Unlocked {}.", d.target.user_label),
        AccountAction::Logout => format!(
            "Signed {} out everywhere. Apps already open keep their own sessions.",
            d.target.user_label
        ),
        AccountAction::Lock { minutes } => {
            format!("Locked {} for {}.", d.target.user_label, period(minutes))
        }
    }
}

/// Shows the change on the pane at once; the re-read then brings the tenant's own fields.
fn apply_locally(app: &mut App, user_id: UserId, action: AccountAction) {
    let now = app.now;
    let Some(view) = app.view_of(user_id) else {
        return;
    };
    match action {
        AccountAction::Unlock => {
            view.user.status = Some(1);
            view.user.locked_until = None;
            view.user.invalid_login_attempts = Some(0);
        }
        AccountAction::Lock { minutes } => {
            view.user.status = Some(3);
            if minutes > 0 {
                view.user.locked_until = Some(now + chrono::Duration::minutes(i64::from(minutes)));
            }
        }
        AccountAction::Logout => {}
    }
    super::history::refresh_signals(app);
}

/// Reads the user again (status, `locked_until`) with the devices and factors.
pub(super) fn reread_user(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    if app.view_of(user_id).is_none() {
        return;
    }
    let (_, cmd) = app.request(
        Purpose::User(user_id),
        crate::worker::ApiRequest::GetUser(user_id),
    );
    cmds.push(cmd);
    reload_user(app, user_id, cmds);
    super::history::load(app, user_id, cmds);
}
