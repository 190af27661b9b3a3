//! The walkthroughs (`w`): choosing one, the reason asked once, the checklist, each step run
//! through the dialog the console already has (its own confirm), and what the audit lines carry.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::user::target;
use crate::app::caller::OverrideDialog;
use crate::app::dialogs::{Dialog, edit};
use crate::app::walk::{Mark, WALKS, WalkDialog, WalkKind, WalkStage, WalkStep};
use crate::app::*;
use crate::ops::account::AccountAction;
use crate::policy::GuardedAction;

/// What the checklist says when read-only mode stops it after step 1.
pub const READ_ONLY_REST: &str = "needs a change credential (read-only mode)";

/// The walkthrough under the top dialog (or on top), if one runs.
pub(crate) fn active(app: &App) -> Option<&WalkDialog> {
    app.dialogs.iter().rev().find_map(|d| match d {
        Dialog::Walk(w) => Some(w),
        _ => None,
    })
}

fn active_mut(app: &mut App) -> Option<&mut WalkDialog> {
    app.dialogs.iter_mut().rev().find_map(|d| match d {
        Dialog::Walk(w) => Some(w),
        _ => None,
    })
}

/// `w`: the list of walkthroughs, for the open user.
pub(super) fn open(app: &mut App) {
    if let Some(row) = app.highlighted_other() {
        let name = row.display_name();
        app.set_status(StatusKind::Info, format!("Open {name} first: Enter"));
        return;
    }
    let Some(target) = target(app) else {
        app.set_status(
            StatusKind::Info,
            "Open a user first: / to search, Enter to open.",
        );
        return;
    };
    app.dialogs.push(Dialog::Walk(WalkDialog {
        target,
        kind: WalkKind::LostDevice,
        stage: WalkStage::Choose,
        selected: 0,
        reason: Input::default(),
        case: String::new(),
        steps: Vec::new(),
        current: 0,
        lost: None,
        caller_checked: None,
        error: None,
    }));
}

/// The user's devices, as the pane has them.
fn devices(app: &App) -> Vec<crate::api::OtpDevice> {
    app.user
        .as_ref()
        .and_then(|u| u.devices.clone())
        .unwrap_or_default()
}

/// Keys while the walkthrough dialog is on top.
pub(super) fn key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let read_only = app.tenant.read_only;
    let all_devices = devices(app);
    let device_count = all_devices.len();
    let now = app.now;
    let Some(Dialog::Walk(w)) = app.dialogs.last_mut() else {
        return;
    };
    match w.stage {
        WalkStage::Choose => match key.code {
            KeyCode::Char('j') | KeyCode::Down => w.selected = (w.selected + 1) % WALKS.len(),
            KeyCode::Char('k') | KeyCode::Up => {
                w.selected = (w.selected + WALKS.len() - 1) % WALKS.len()
            }
            KeyCode::Enter => {
                w.kind = WALKS[w.selected];
                w.stage = WalkStage::Reason;
                w.selected = 0;
            }
            _ => {}
        },
        WalkStage::Reason => {
            if key.code != KeyCode::Enter {
                edit(&mut w.reason, &key);
                return;
            }
            if w.reason_text().is_empty() {
                w.error = Some(
                    "A ticket or reason is needed: every audit line of this walkthrough carries it."
                        .into(),
                );
                return;
            }
            if w.reason_text().chars().any(char::is_control) {
                w.error = Some("The reason must be one line of text.".into());
                return;
            }
            w.error = None;
            w.case = format!("w-{}-{}", now.format("%y%m%d%H%M%S"), w.target.user_id);
            w.steps = w
                .kind
                .steps()
                .iter()
                .map(|t| WalkStep {
                    title: t,
                    mark: Mark::Todo,
                    note: None,
                })
                .collect();
            if read_only {
                for s in w.steps.iter_mut().skip(1) {
                    s.mark = Mark::Skipped;
                    s.note = Some(READ_ONLY_REST.into());
                }
            }
            w.current = 0;
            w.stage = if w.kind == WalkKind::LostDevice && device_count > 0 {
                WalkStage::PickLost
            } else {
                WalkStage::Steps
            };
            if w.stage == WalkStage::Steps {
                prepare(app);
            }
        }
        WalkStage::PickLost => match key.code {
            KeyCode::Char('j') | KeyCode::Down => {
                w.selected = (w.selected + 1) % device_count.max(1)
            }
            KeyCode::Char('k') | KeyCode::Up => {
                w.selected = (w.selected + device_count.max(1) - 1) % device_count.max(1)
            }
            KeyCode::Enter => {
                w.lost = all_devices.get(w.selected).cloned();
                w.stage = WalkStage::Steps;
                prepare(app);
            }
            _ => {}
        },
        WalkStage::Steps => match key.code {
            KeyCode::Enter => run_step(app, cmds),
            KeyCode::Char('s') => {
                skip(app, "skipped by the agent");
            }
            KeyCode::Char('o') => override_check(app),
            _ => {}
        },
    }
}

/// The step's kind, by walkthrough and position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StepKind {
    Why,
    Caller,
    Remove,
    Logout,
    Unlock,
    Token,
    Enroll,
}

fn step_kind(kind: WalkKind, i: usize) -> Option<StepKind> {
    use StepKind::*;
    let steps = match kind {
        WalkKind::LostDevice => [Caller, Remove, Logout, Token, Enroll],
        WalkKind::LockedOut => [Why, Caller, Unlock, Logout, Token],
    };
    steps.get(i).copied()
}

/// The current step, when the checklist runs.
fn current(app: &App) -> Option<StepKind> {
    let w = active(app).filter(|w| w.stage == WalkStage::Steps)?;
    step_kind(w.kind, w.current)
}

/// The guarded change an override in this walkthrough allows.
fn override_action(kind: WalkKind) -> GuardedAction {
    match kind {
        WalkKind::LostDevice => GuardedAction::Remove,
        WalkKind::LockedOut => GuardedAction::Unlock,
    }
}

/// The devices a caller check may use: active ones, never the lost one.
pub(super) fn checkable(
    app: &App,
    devices: Vec<crate::ops::device_age::CheckDevice>,
) -> Vec<crate::ops::device_age::CheckDevice> {
    match active(app).and_then(|w| w.lost.as_ref()) {
        Some(lost) => devices
            .into_iter()
            .filter(|c| c.device.id != lost.id)
            .collect(),
        None => devices,
    }
}

/// Skips the steps that do not apply from the current one on, saying why; finishes at the end.
fn prepare(app: &mut App) {
    loop {
        let Some(w) = active(app) else { return };
        if w.current >= w.steps.len() {
            finish(app);
            return;
        }
        if w.steps[w.current].mark != Mark::Todo {
            advance_only(app);
            continue;
        }
        let why = not_applicable(app);
        match why {
            Some(why) => {
                if let Some(w) = active_mut(app) {
                    let i = w.current;
                    w.steps[i].mark = Mark::Skipped;
                    w.steps[i].note = Some(why);
                }
                advance_only(app);
            }
            None => return,
        }
    }
}

fn advance_only(app: &mut App) {
    if let Some(w) = active_mut(app) {
        w.current += 1;
        w.error = None;
    }
}

/// Why the current step does not apply, if it does not.
fn not_applicable(app: &App) -> Option<String> {
    let w = active(app)?;
    let user = app.user.as_ref().map(|v| &v.user)?;
    match step_kind(w.kind, w.current)? {
        StepKind::Remove => match &w.lost {
            None => Some("no device was chosen as lost".into()),
            Some(lost) if !devices(app).iter().any(|d| d.id == lost.id) => {
                Some("the device is gone already".into())
            }
            _ => None,
        },
        StepKind::Unlock if !app.is_locked(user) => Some("the user is not locked".into()),
        StepKind::Logout if w.kind == WalkKind::LockedOut => {
            let events = app.events_of(user.id).unwrap_or(&[]);
            let story = crate::ops::account::lock_story(events, app.now);
            story
                .addresses
                .is_empty()
                .then(|| "no failed sign-in from any address in 24 h".into())
        }
        StepKind::Token if w.kind == WalkKind::LockedOut && w.caller_checked == Some(true) => {
            Some("the caller has a working device (checked on it)".into())
        }
        _ => None,
    }
}

/// Enter: runs the current step through its own dialog.
fn run_step(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(step) = current(app) else { return };
    let before = app.dialogs.len();
    match step {
        StepKind::Why => {
            mark(app, Mark::Done, None);
            return;
        }
        StepKind::Caller => {
            let others = checkable(app, app.check_devices().unwrap_or_default());
            if others.is_empty() {
                let other = if active(app).is_some_and(|w| w.lost.is_some()) {
                    "other "
                } else {
                    ""
                };
                let text = format!(
                    "The user has no {other}active device to check the caller with: o overrides with a reason (manager callback to +1 …, at least 10 characters)."
                );
                set_error(app, &text);
                return;
            }
            super::caller::open_check(app, None, cmds);
        }
        StepKind::Remove => {
            let lost = active(app).and_then(|w| w.lost.clone());
            if let Some(lost) = lost
                && let Some(view) = app.user.as_mut()
                && let Some(i) = view
                    .devices
                    .as_ref()
                    .and_then(|d| d.iter().position(|d| d.id == lost.id))
            {
                view.device_sel = i;
                app.focus = Focus::Devices;
            }
            super::remove::open_remove(app);
        }
        StepKind::Logout => super::account::open_account(app, AccountAction::Logout),
        StepKind::Unlock => super::account::open_account(app, AccountAction::Unlock),
        StepKind::Token => super::token::open_token(app),
        StepKind::Enroll => super::enroll::open_enroll(app),
    }
    if app.dialogs.len() == before {
        // The step's dialog could not open (a status line says why): show it here too.
        let why = app.status.as_ref().map(|s| s.text.clone());
        if let Some(why) = why {
            set_error(app, &why);
        }
    }
}

fn set_error(app: &mut App, text: &str) {
    if let Some(w) = active_mut(app) {
        w.error = Some(text.to_owned());
    }
}

/// `o` on a caller-check step: the console's own override, with a reason.
fn override_check(app: &mut App) {
    if current(app) != Some(StepKind::Caller) {
        return;
    }
    let Some(w) = active(app) else { return };
    let (target, action) = (w.target.clone(), override_action(w.kind));
    app.dialogs.push(Dialog::CallerOverride(OverrideDialog {
        target,
        action,
        reason: Input::default(),
        error: None,
    }));
}

/// Marks the current step and moves on (done or skipped) or stays (failed).
fn mark(app: &mut App, mark: Mark, note: Option<String>) {
    let Some(w) = active_mut(app) else { return };
    let i = w.current;
    let Some(step) = w.steps.get_mut(i) else {
        return;
    };
    step.mark = mark.clone();
    step.note = note;
    if mark == Mark::Failed {
        return;
    }
    advance_only(app);
    prepare(app);
}

fn skip(app: &mut App, why: &str) {
    if current(app).is_some() {
        mark(app, Mark::Skipped, Some(why.to_owned()));
    }
}

/// The walkthrough ends: the checklist closes and the status line says what was done.
fn finish(app: &mut App) {
    let Some(pos) = app
        .dialogs
        .iter()
        .rposition(|d| matches!(d, Dialog::Walk(_)))
    else {
        return;
    };
    let Dialog::Walk(w) = app.dialogs.remove(pos) else {
        return;
    };
    let mut text = format!(
        "{} finished (case {}): {}.",
        w.kind.title(),
        w.case,
        w.summary()
    );
    if app.tenant.read_only {
        text.push_str(" The rest needs a change credential.");
    }
    // The step's own dialog may still set its status in this update: the summary comes last.
    app.walk_ended = Some(text);
}

/// After an update: a walkthrough that ended says so on the status line.
pub(super) fn flush(app: &mut App) {
    if let Some(text) = app.walk_ended.take() {
        app.set_status(StatusKind::Success, text);
    }
}

/// Esc on the checklist: leave at this step; the status line says what was done.
pub(super) fn leave(app: &mut App) {
    let Some(pos) = app
        .dialogs
        .iter()
        .rposition(|d| matches!(d, Dialog::Walk(_)))
    else {
        return;
    };
    let Dialog::Walk(w) = app.dialogs.remove(pos) else {
        return;
    };
    let text = if w.running() {
        format!(
            "Left {} (case {}): {}.",
            w.kind.title(),
            w.case,
            w.summary()
        )
    } else {
        "Left the walkthroughs: nothing was done.".to_owned()
    };
    app.set_status(StatusKind::Info, text);
}

/// Every audit line written during a walkthrough for its user carries its case and reason.
pub(super) fn stamp(app: &App, note: &mut AuditNote) {
    let Some(w) = active(app).filter(|w| w.running() && w.target.user_id == note.user_id) else {
        return;
    };
    note.case.get_or_insert_with(|| w.case.clone());
    let reason = w.reason_text();
    note.reason = match note.reason.take() {
        None => Some(reason),
        Some(r) if r.contains(&reason) => Some(r),
        Some(r) => Some(format!("{reason} · {r}")),
    };
}

/// An audit line was written: the current step is done, or failed, when it is its change.
pub(super) fn on_audit(app: &mut App, note: &AuditNote) {
    let Some(step) = current(app) else { return };
    if active(app).is_none_or(|w| w.target.user_id != note.user_id) {
        return;
    }
    let expected = match step {
        StepKind::Why => return,
        StepKind::Caller => AuditKind::CallerCheck,
        StepKind::Remove => AuditKind::Remove,
        StepKind::Logout => AuditKind::Logout,
        StepKind::Unlock => AuditKind::Unlock,
        StepKind::Token => AuditKind::MfaToken,
        StepKind::Enroll => AuditKind::Verify,
    };
    match (note.action, note.outcome) {
        (AuditKind::CallerCheck, AuditResult::Overridden) if step == StepKind::Caller => {
            if let Some(w) = active_mut(app) {
                w.caller_checked = Some(false);
            }
            mark(app, Mark::Done, Some("overridden with a reason".into()));
        }
        (a, AuditResult::Success) if a == expected => {
            if step == StepKind::Caller
                && let Some(w) = active_mut(app)
            {
                w.caller_checked = Some(true);
            }
            mark(app, Mark::Done, None);
        }
        (a, AuditResult::Failure) if a == expected => {
            let why = note.message.clone();
            mark(app, Mark::Failed, why);
        }
        _ => {}
    }
}

/// A v2 registration was accepted: the new device is enrolled and verified on the call.
pub(super) fn registered(app: &mut App, user_id: crate::api::UserId) {
    if current(app) == Some(StepKind::Enroll)
        && active(app).is_some_and(|w| w.target.user_id == user_id)
    {
        mark(
            app,
            Mark::Done,
            Some("enrolled and verified (registration accepted)".into()),
        );
    }
}
