//! `update(App, Msg) -> Vec<Cmd>`: every change to the console goes through here.
//!
//! This file routes messages, keys and API results; each flow lives in its own module.

mod account;
mod audit;
mod audit_view;
mod caller;
mod connect;
mod coverage;
mod enroll;
mod errors;
mod form;
mod history;
mod moment;
mod navigate;
mod paste;
mod register;
mod remove;
mod search;
mod token;
mod user;
mod verify;
mod walk;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::{self, Action};
use super::phone::PhoneCmd;
use super::*;
use crate::worker::ApiResponse;
use audit::{refused, settle_unknown};
use enroll::{enroll_key, on_enroll_check, on_enrolled, open_enroll};
use navigate::{move_selection, next_pane, page};
pub use paste::{PASTE_IGNORED, paste_text};
use remove::{on_removed, open_remove, remove_key};
use search::{on_search, on_search_more, search_key};
use token::{on_issued, open_token, token_key};
use user::{
    on_devices_loaded, on_factors_loaded, on_user_loaded, open_selected_user, refresh, reload_user,
};
use verify::{on_triggered, on_verified, open_trigger, open_verify, trigger_key, verify_key};

pub use account::lock_reasons;

/// Settles every change in flight as unknown, for a console stopping abnormally (a panic): the
/// audit commands to write before the process exits. Nothing is sent.
pub fn settle_on_crash(app: &mut App) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    settle_unknown(
        app,
        "mfadesk stopped on an internal error before the answer: the outcome is unknown",
        &mut cmds,
    );
    cmds.retain(|c| matches!(c, Cmd::Audit(_)));
    cmds
}

/// Applies one message to the state and returns what to do next.
pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    match msg {
        Msg::Key(key) => on_key(app, key, &mut cmds),
        Msg::Paste(text) => paste::on_paste(app, &text),
        Msg::Resize(w, h) => app.size = (w, h),
        Msg::Tick => on_tick(app, &mut cmds),
        Msg::Api(event) => {
            connect::on_event_meta(app, &event);
            if event.mfa_api.is_some() {
                app.mfa_api = event.mfa_api;
            }
            history::after_answer(app, &event.response);
            // A result nobody waits for any more (superseded, dialog closed) is dropped.
            if let Some(purpose) = app.pending.remove(&event.id) {
                app.last_meta = event.meta.clone();
                on_result(app, event.id, purpose, event.response, &mut cmds);
            }
            moment::settle_quit_warning(app);
        }
        Msg::Phone(snapshot) => app.phone = snapshot,
        Msg::AuditRead(read) => audit_view::on_read(app, read),
        Msg::Coverage(m) => coverage::on_msg(app, m, &mut cmds),
        Msg::Terminate => {
            settle_unknown(
                app,
                "mfadesk was stopped before the answer: the outcome is unknown",
                &mut cmds,
            );
            app.quit = true;
            cmds.push(Cmd::Quit);
        }
    }
    // Signals follow the clock (a burst of denied pushes ages out of its hour).
    history::refresh_signals(app);
    walk::flush(app);
    cmds
}

fn on_tick(app: &mut App, cmds: &mut Vec<Cmd>) {
    app.spinner = app.spinner.wrapping_add(1);
    if app.phone_visible {
        cmds.push(Cmd::Phone(PhoneCmd::Refresh));
    }
    verify::tick(app, cmds);
    register::tick(app, cmds);
    register::prune(app);
    register::prune(app);
}

fn on_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        if app.change_in_flight() && !app.quit_armed {
            app.quit_armed = true;
            app.set_status(StatusKind::Warning, moment::QUIT_WARNING);
        } else {
            settle_unknown(
                app,
                "the console was closed before the answer: the outcome is unknown",
                cmds,
            );
            app.quit = true;
            cmds.push(Cmd::Quit);
        }
        return;
    }
    if std::mem::take(&mut app.quit_armed) {
        // Another key disarms the second Ctrl-C: the warning would no longer be true.
        moment::drop_quit_warning(app);
    }
    if app.too_small() {
        // Nothing is visible to act on: no key may reach a hidden dialog or field.
        return;
    }
    if !app.dialogs.is_empty() {
        dialog_key(app, key, cmds);
        return;
    }
    if app.focus == Focus::Search {
        search_key(app, key, cmds);
        return;
    }
    if key.code == KeyCode::Esc {
        app.status = None;
        return;
    }
    if let Some(action) = keymap::action_for(&key) {
        run_action(app, action, cmds);
    }
}

/// The change a console action makes, for the shared read-only rule.
fn console_change(action: Action) -> Option<crate::ops::Change> {
    use crate::ops::Change;
    match action {
        Action::Enroll => Some(Change::Enroll),
        Action::Trigger => Some(Change::Trigger),
        Action::Verify => Some(Change::Activate),
        Action::Remove => Some(Change::Remove),
        Action::Token => Some(Change::MfaToken),
        Action::Unlock => Some(Change::Unlock),
        Action::Logout => Some(Change::Logout),
        Action::Lock => Some(Change::Lock),
        _ => None,
    }
}

fn run_action(app: &mut App, action: Action, cmds: &mut Vec<Cmd>) {
    // Enter on an available factor enrolls it, and is refused like `e` in read-only mode.
    // Enter on an enrolled device verifies it.
    let action = match (action, app.focus) {
        (Action::Open, Focus::Factors) => Action::Enroll,
        (Action::Open, Focus::Devices) => Action::Verify,
        _ => action,
    };
    if action.acts_on_open_user()
        && let Some(row) = app.highlighted_other()
    {
        // The highlighted row is not the user whose details are shown: act on neither.
        let name = row.display_name();
        app.set_status(StatusKind::Info, format!("Open {name} first: Enter"));
        return;
    }
    let active = app
        .user
        .as_ref()
        .and_then(|u| u.selected_device())
        .is_some_and(|d| d.active);
    if action == Action::Verify && active {
        // A caller check changes nothing: read-only mode allows it (unless the profile says no).
        let before = app.dialogs.len();
        open_verify(app, cmds);
        if app.dialogs.len() > before {
            app.status = None;
        }
        return;
    }
    if app.focus == Focus::Devices
        && let Some(index) = app.selected_registration()
        && matches!(action, Action::Verify | Action::Remove)
    {
        // A pending registration: Enter resumes it, d cancels it.
        if action == Action::Verify {
            register::resume(app, index, cmds);
        } else if let Some(device) = register::cancel(app, index) {
            remove::offer(app, device);
        }
        return;
    }
    let dialogs_before = app.dialogs.len();
    let gate = crate::ops::Gate {
        read_only: app.tenant.read_only,
        ..crate::ops::Gate::default()
    };
    if console_change(action).is_some_and(|c| gate.read_only_refusal(c).is_some()) {
        // The one place that refuses writes in read-only mode (the same rule as the commands).
        let name = keymap::binding(action).map_or("that", |b| b.short);
        app.set_status(
            StatusKind::Warning,
            format!("Read-only mode: {name} is disabled for this tenant."),
        );
        refused(app, action, cmds);
        return;
    }
    run_unchecked(app, action, cmds);
    if app.dialogs.len() > dialogs_before && !matches!(app.dialogs.last(), Some(Dialog::Error(_))) {
        // A new dialog is the moment now: an older status line would be misread under it.
        app.status = None;
    }
}

fn run_unchecked(app: &mut App, action: Action, cmds: &mut Vec<Cmd>) {
    match action {
        Action::Search => {
            // Like a selected address bar: typing replaces the old query, Enter re-runs it,
            // and the arrow keys keep it for editing.
            app.search.fresh = !app.search.input.value().is_empty();
            app.focus = Focus::Search;
        }
        Action::Down => move_selection(app, 1, cmds),
        Action::Up => move_selection(app, -1, cmds),
        Action::PageDown => move_selection(app, page(app), cmds),
        Action::PageUp => move_selection(app, -page(app), cmds),
        Action::Top => move_selection(app, isize::MIN / 2, cmds),
        Action::Bottom => move_selection(app, isize::MAX / 2, cmds),
        Action::NextPane => app.focus = next_pane(app, false),
        Action::PrevPane => app.focus = next_pane(app, true),
        Action::Open => {
            if app.focus == Focus::Users {
                open_selected_user(app, cmds);
            }
        }
        Action::CallerCheck => caller::open_check(app, None, cmds),
        Action::Enroll => open_enroll(app),
        Action::Trigger => open_trigger(app),
        Action::Verify => open_verify(app, cmds),
        Action::Remove => open_remove(app),
        Action::Token => open_token(app),
        Action::Unlock => account::open_account(app, crate::ops::account::AccountAction::Unlock),
        Action::Logout => account::open_account(app, crate::ops::account::AccountAction::Logout),
        Action::Lock => account::open_account(
            app,
            crate::ops::account::AccountAction::Lock { minutes: 15 },
        ),
        Action::Walkthrough => walk::open(app),
        Action::Refresh if connect::failed(app) => connect::retry(app, cmds),
        Action::Refresh => refresh(app, cmds),
        Action::Audit => audit_view::open(app, cmds),
        Action::History => history::open(app, cmds),
        Action::Coverage => coverage::open(app, cmds),
        Action::Help => app.dialogs.push(Dialog::Help { scroll: 0 }),
        Action::Quit => {
            settle_unknown(
                app,
                "the console was closed before the answer: the outcome is unknown",
                cmds,
            );
            app.quit = true;
            cmds.push(Cmd::Quit);
        }
        Action::Phone => {
            if app.tenant.demo {
                app.phone_visible = !app.phone_visible;
                if app.phone_visible {
                    cmds.push(Cmd::Phone(PhoneCmd::Refresh));
                }
            }
        }
        Action::ApprovePush | Action::DenyPush => {
            if !(app.tenant.demo && app.phone_visible) {
                return;
            }
            let open = app.user.as_ref().map(|v| v.user.id);
            match app.phone.shown_push(open) {
                Some(push) => {
                    let token = push.state_token.clone();
                    cmds.push(Cmd::Phone(if action == Action::ApprovePush {
                        PhoneCmd::Approve(token)
                    } else {
                        PhoneCmd::Deny(token)
                    }));
                    cmds.push(Cmd::Phone(PhoneCmd::Refresh));
                }
                None => app.set_status(StatusKind::Info, "No push is waiting on the phone."),
            }
        }
    }
}

/// Rows the help overlay holds (its scroll stops there).
fn help_rows() -> usize {
    keymap::help_len()
}

fn close_top(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(dialog) = app.dialogs.pop() else {
        return;
    };
    // Closing a dialog abandons its call (and a push wait).
    app.cancel(dialog.busy(), cmds);
    caller::closed(app, &dialog, cmds);
    if let Dialog::Verify(v) = &dialog
        && (moment::closed_verify(app, v, cmds) || v.is_check())
    {
        return;
    }
    let change = matches!(
        dialog,
        Dialog::Enroll(_)
            | Dialog::Trigger(_)
            | Dialog::Verify(_)
            | Dialog::Remove(_)
            | Dialog::Token(_)
            | Dialog::Account(_)
    );
    // A change already sent cannot be recalled: the trail says the outcome is unknown, and
    // the device list is read again so the screen shows what the tenant has.
    if change
        && settle_unknown(
            app,
            "abandoned before the answer came: the outcome is unknown",
            cmds,
        )
    {
        app.set_status(
            StatusKind::Warning,
            "Stopped waiting: the tenant may still have made the change; devices re-read.",
        );
        if let Some(user_id) = app.user.as_ref().map(|v| v.user.id) {
            reload_user(app, user_id, cmds);
        }
    }
}

fn dialog_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    if app.tenant.demo
        && key.code == KeyCode::Char('p')
        && key.modifiers.contains(KeyModifiers::CONTROL)
    {
        // The demo phone can be opened while a dialog waits for its code.
        run_action(app, Action::Phone, cmds);
        return;
    }
    if audit_view::editing(app) {
        // The filter box takes every key, Esc included (it leaves the box, not the view).
        audit_view::key(app, key);
        return;
    }
    if history::editing(app)
        || (key.code == KeyCode::Esc
            && matches!(
                app.dialogs.last(),
                Some(Dialog::History { detail: true, .. })
            ))
    {
        // The filter box takes Esc, and Esc on one event goes back to the list.
        history::key(app, key, cmds);
        return;
    }
    if key.code == KeyCode::Esc {
        if let Some(Dialog::Enroll(d)) = app.dialogs.last_mut()
            && d.busy.is_none()
            && d.confirm.take().is_some()
        {
            // Esc on the second confirmation goes back to the form, nothing typed is lost.
            return;
        }
        if matches!(app.dialogs.last(), Some(Dialog::Register(_))) {
            register::stop(app, cmds);
        } else if matches!(app.dialogs.last(), Some(Dialog::Walk(_))) {
            walk::leave(app);
        } else {
            close_top(app, cmds);
        }
        return;
    }
    if caller::gate_key(app, &key, cmds) {
        return;
    }
    let Some(top) = app.dialogs.last_mut() else {
        return;
    };
    match top {
        Dialog::Help { scroll } => match key.code {
            KeyCode::Char('j') | KeyCode::Down => *scroll = (*scroll + 1).min(help_rows()),
            KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
            KeyCode::PageDown => {
                *scroll = (*scroll + usize::from(app.size.1.saturating_sub(6))).min(help_rows())
            }
            KeyCode::PageUp => {
                *scroll = scroll.saturating_sub(usize::from(app.size.1.saturating_sub(6)))
            }
            KeyCode::Char('g') | KeyCode::Home => *scroll = 0,
            KeyCode::Char('G') | KeyCode::End => *scroll = help_rows(),
            KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?') => {
                app.dialogs.pop();
            }
            _ => {}
        },
        Dialog::Error(e)
            if key.code == KeyCode::Char('r') && Some(&e.error) == app.connection.as_ref() =>
        {
            connect::retry(app, cmds);
        }
        Dialog::Info(_) | Dialog::Error(_) => {
            if matches!(
                key.code,
                KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?')
            ) {
                app.dialogs.pop();
            }
        }
        Dialog::Audit { .. } => audit_view::key(app, key),
        Dialog::Coverage => coverage::key(app, key, cmds),
        Dialog::History { .. } => history::key(app, key, cmds),
        Dialog::SwitchReadOnly(_) => match key.code {
            KeyCode::Char('y') | KeyCode::Enter => {
                app.dialogs.clear();
                app.tenant.read_only = true;
                app.set_status(
                    StatusKind::Info,
                    "Read-only mode: lookups only, every change is refused.",
                );
            }
            KeyCode::Char('n') => {
                app.dialogs.pop();
            }
            _ => {}
        },
        Dialog::Enroll(_) => enroll_key(app, key, cmds),
        Dialog::Trigger(_) => trigger_key(app, key, cmds),
        Dialog::Verify(_) => verify_key(app, key, cmds),
        Dialog::Remove(_) => remove_key(app, key, cmds),
        Dialog::Token(_) => token_key(app, key, cmds),
        Dialog::Account(_) => account::account_key(app, key, cmds),
        Dialog::Walk(_) => walk::key(app, key, cmds),
        Dialog::CallerCheck(_) => caller::check_key(app, key, cmds),
        Dialog::CallerOverride(_) => caller::override_key(app, key, cmds),
        Dialog::Register(_) => register::register_key(app, key, cmds),
    }
}

fn on_result(
    app: &mut App,
    id: RequestId,
    purpose: Purpose,
    response: ApiResponse,
    cmds: &mut Vec<Cmd>,
) {
    match (purpose, response) {
        (Purpose::Search, ApiResponse::Search(r)) => on_search(app, r),
        (Purpose::SearchMore, ApiResponse::Search(r)) => on_search_more(app, r),
        (Purpose::User(uid), ApiResponse::User(r)) => on_user_loaded(app, uid, r),
        // Two reads in flight (a reload after a change, then another): the older answer may
        // arrive last and would show a device as it was before the change.
        (Purpose::Devices(_), ApiResponse::Devices(_))
            if app.latest_devices.is_some_and(|latest| id < latest) => {}
        (Purpose::Devices(uid), ApiResponse::Devices(r)) => on_devices_loaded(app, uid, r),
        (Purpose::Factors(uid), ApiResponse::Factors(r)) => on_factors_loaded(app, uid, r),
        (Purpose::Events(uid), ApiResponse::Events(r)) => history::on_loaded(app, uid, false, r),
        (Purpose::MoreEvents(uid), ApiResponse::Events(r)) => history::on_loaded(app, uid, true, r),
        (Purpose::Enroll, ApiResponse::Enrolled(r)) => on_enrolled(app, id, r, cmds),
        (
            Purpose::EnrollCheck {
                display_name,
                number,
                cause,
                lost,
                known,
            },
            ApiResponse::Devices(r),
        ) => on_enroll_check(
            app,
            id,
            (&display_name, &number, &known),
            (&cause, &lost),
            r,
            cmds,
        ),
        (Purpose::Trigger, ApiResponse::Triggered(r)) => on_triggered(app, id, r, cmds),
        (Purpose::Verify, ApiResponse::Verified(r)) => on_verified(app, id, r, cmds),
        (Purpose::Register, ApiResponse::Registration(r)) => {
            register::on_registration(app, id, r, cmds)
        }
        (Purpose::Remove, ApiResponse::Removed(r)) => on_removed(app, id, r, cmds),
        (Purpose::MfaToken, ApiResponse::MfaToken(r)) => on_issued(app, id, r, cmds),
        (Purpose::Account, ApiResponse::Account(r)) => account::on_account(app, id, r, cmds),
        (Purpose::RateLimit, ApiResponse::RateLimit(r)) => connect::on_rate_limit(app, r),
        (Purpose::CallerTrigger, ApiResponse::Triggered(r)) => on_triggered(app, id, r, cmds),
        (Purpose::CallerVerify, ApiResponse::Verified(r)) => on_verified(app, id, r, cmds),
        (Purpose::CallerProbe, ApiResponse::Triggered(r)) => caller::on_probed(app, r),
        _ => {}
    }
}
