//! `update(App, Msg) -> Vec<Cmd>`: every change to the console goes through here.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::Input;

use super::dialogs::*;
use super::keymap::{self, Action};
use super::phone::PhoneCmd;
use super::query;
use super::validate;
use super::*;
use crate::api::{ApiError, ErrorKind, VerifyOutcome};
use crate::worker::{ApiResponse, SearchResult};

/// How often a push is polled.
const PUSH_POLL_MS: i64 = 1_500;
/// Rows from the end of the list at which the next page is fetched.
const PAGE_AHEAD: usize = 5;

/// Applies one message to the state and returns what to do next.
pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    match msg {
        Msg::Key(key) => on_key(app, key, &mut cmds),
        Msg::Resize(w, h) => app.size = (w, h),
        Msg::Tick => on_tick(app, &mut cmds),
        Msg::Api(event) => {
            if event.rate_limit.is_some() {
                app.rate_limit = event.rate_limit;
            }
            // A result nobody waits for any more (superseded, dialog closed) is dropped.
            if let Some(purpose) = app.pending.remove(&event.id) {
                app.last_meta = event.meta.clone();
                on_result(app, event.id, purpose, event.response, &mut cmds);
            }
        }
        Msg::Phone(snapshot) => app.phone = snapshot,
    }
    cmds
}

fn on_tick(app: &mut App, cmds: &mut Vec<Cmd>) {
    app.spinner = app.spinner.wrapping_add(1);
    if app.phone_visible {
        cmds.push(Cmd::Phone(PhoneCmd::Refresh));
    }
    let now = app.now;
    let mut poll = None;
    for dialog in app.dialogs.iter_mut() {
        let Dialog::Verify(v) = dialog else { continue };
        let expired = v.expires_at.is_some_and(|t| t <= now);
        match v.stage {
            VerifyStage::AwaitPush { next_poll } if v.busy.is_none() => {
                if expired {
                    v.stage = VerifyStage::Expired;
                    v.error = Some("The push expired before it was approved.".into());
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

fn on_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        if app.change_in_flight() && !app.quit_armed {
            app.quit_armed = true;
            app.set_status(
                StatusKind::Warning,
                "A change is in flight: press Ctrl-C again to exit anyway.",
            );
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
    app.quit_armed = false;
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

fn search_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    if replace_if_fresh(&mut app.search.input, &mut app.search.fresh, &key) {
        return;
    }
    match key.code {
        KeyCode::Esc => app.focus = Focus::Users,
        KeyCode::Enter => run_search(app, cmds),
        KeyCode::Tab => app.focus = Focus::Users,
        KeyCode::Down => app.focus = Focus::Users,
        KeyCode::Up if app.search.input.value().is_empty() => {
            // Recall the last query to edit it.
            app.search.input = Input::new(app.search.query.clone());
        }
        _ => {
            edit(&mut app.search.input, &key);
        }
    }
}

fn run_search(app: &mut App, cmds: &mut Vec<Cmd>) {
    let text = app.search.input.value().to_owned();
    match query::parse(&text) {
        Err(e) => app.search.message = Some(e.to_string()),
        Ok(queries) => {
            let old = (app.search.request.take(), app.search.more.take());
            app.cancel(old.0, cmds);
            app.cancel(old.1, cmds);
            let (id, cmd) = app.request(Purpose::Search, ApiRequest::Search(queries));
            app.search.request = Some(id);
            app.search.query = text.trim().to_owned();
            app.search.message = None;
            if app
                .status
                .as_ref()
                .is_some_and(|st| st.kind == StatusKind::Info)
            {
                app.status = None;
            }
            app.focus = Focus::Users;
            cmds.push(cmd);
        }
    }
}

fn run_action(app: &mut App, action: Action, cmds: &mut Vec<Cmd>) {
    // Enter on an available factor enrolls it, and is refused like `e` in read-only mode.
    let action = if action == Action::Open && app.focus == Focus::Factors {
        Action::Enroll
    } else {
        action
    };
    if action.is_mutating() && app.tenant.read_only {
        // The one place that refuses writes in read-only mode.
        let name = keymap::binding(action).map_or("that", |b| b.short);
        app.set_status(
            StatusKind::Warning,
            format!("Read-only mode: {name} is disabled for this tenant."),
        );
        refused(app, action, cmds);
        return;
    }
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
        Action::Enroll => open_enroll(app),
        Action::Trigger => open_trigger(app),
        Action::Verify => open_verify(app, cmds),
        Action::Remove => open_remove(app),
        Action::Token => open_token(app),
        Action::Refresh => refresh(app, cmds),
        Action::Audit => app.dialogs.push(Dialog::Audit { scroll: 0 }),
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
            match app.phone.pushes.last() {
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

/// Audits a change refused in read-only mode, when it was aimed at an open user.
fn refused(app: &mut App, action: Action, cmds: &mut Vec<Cmd>) {
    let kind = match action {
        Action::Enroll => AuditKind::Enroll,
        Action::Trigger => AuditKind::Trigger,
        Action::Verify => AuditKind::Verify,
        Action::Remove => AuditKind::Remove,
        Action::Token => AuditKind::MfaToken,
        _ => return,
    };
    let Some(target) = target(app) else { return };
    let device = match kind {
        AuditKind::Trigger | AuditKind::Verify | AuditKind::Remove => {
            app.user.as_ref().and_then(|u| u.selected_device()).cloned()
        }
        _ => None,
    };
    let mut note = audit_note(app, kind, &target, device.as_ref());
    note.message = Some("refused: read-only mode".into());
    record(app, note, AuditResult::Refused, None, cmds);
}

fn page(app: &App) -> isize {
    (app.size.1 as isize - 8).max(1)
}

fn next_pane(app: &App, back: bool) -> Focus {
    let panes: &[Focus] = if app.user.is_some() {
        &[Focus::Users, Focus::Devices, Focus::Factors]
    } else {
        &[Focus::Users]
    };
    cycle(panes, app.focus, back)
}

fn step(current: usize, len: usize, delta: isize) -> usize {
    if len == 0 {
        return 0;
    }
    (current as isize)
        .saturating_add(delta)
        .clamp(0, len as isize - 1) as usize
}

fn move_selection(app: &mut App, delta: isize, cmds: &mut Vec<Cmd>) {
    match app.focus {
        Focus::Users | Focus::Search => {
            let len = app.search.results.len();
            app.search.selected = step(app.search.selected, len, delta);
            maybe_fetch_more(app, cmds);
        }
        Focus::Devices => {
            if let Some(u) = app.user.as_mut() {
                let len = u.devices.as_ref().map_or(0, Vec::len);
                u.device_sel = step(u.device_sel, len, delta);
            }
        }
        Focus::Factors => {
            if let Some(u) = app.user.as_mut() {
                let len = u.factors.as_ref().map_or(0, Vec::len);
                u.factor_sel = step(u.factor_sel, len, delta);
            }
        }
    }
}

fn maybe_fetch_more(app: &mut App, cmds: &mut Vec<Cmd>) {
    let s = &app.search;
    if s.more.is_some() || s.request.is_some() || s.next.is_empty() {
        return;
    }
    if s.selected + PAGE_AHEAD < s.results.len() {
        return;
    }
    let next = std::mem::take(&mut app.search.next);
    let (id, cmd) = app.request(Purpose::SearchMore, ApiRequest::Search(next));
    app.search.more = Some(id);
    cmds.push(cmd);
}

fn open_selected_user(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(user) = app.search.results.get(app.search.selected).cloned() else {
        return;
    };
    // Drop loads for the previous user: their results would be stale.
    cancel_loads(app, cmds);

    let user_id = user.id;
    app.user = Some(UserView {
        user,
        devices: None,
        factors: None,
        devices_error: None,
        factors_error: None,
        device_sel: 0,
        factor_sel: 0,
        select_after_load: None,
    });
    app.focus = Focus::Devices;
    load_devices(app, user_id, cmds);
    load_factors(app, user_id, cmds);
}

/// Cancels user, device and factor loads in flight (superseded by new ones).
fn cancel_loads(app: &mut App, cmds: &mut Vec<Cmd>) {
    let stale: Vec<RequestId> = app
        .pending
        .iter()
        .filter(|(_, p)| {
            matches!(
                p,
                Purpose::User(_) | Purpose::Devices(_) | Purpose::Factors(_)
            )
        })
        .map(|(id, _)| *id)
        .collect();
    for id in stale {
        app.cancel(Some(id), cmds);
    }
}

fn load_devices(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    let (_, cmd) = app.request(Purpose::Devices(user_id), ApiRequest::GetDevices(user_id));
    cmds.push(cmd);
}

fn load_factors(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    let (_, cmd) = app.request(Purpose::Factors(user_id), ApiRequest::GetFactors(user_id));
    cmds.push(cmd);
}

fn refresh(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(user_id) = app.user.as_ref().map(|u| u.user.id) else {
        // Refresh the results shown, not whatever is half-typed in the box.
        if !app.search.query.is_empty() {
            app.search.input = Input::new(app.search.query.clone());
            run_search(app, cmds);
        }
        return;
    };
    cancel_loads(app, cmds);
    let (_, cmd) = app.request(Purpose::User(user_id), ApiRequest::GetUser(user_id));
    cmds.push(cmd);
    load_devices(app, user_id, cmds);
    load_factors(app, user_id, cmds);
}

fn target(app: &App) -> Option<Target> {
    let u = &app.user.as_ref()?.user;
    Some(Target {
        user_id: u.id,
        user_label: u.display_name(),
        user_email: u.email.clone(),
    })
}

fn reason_input(app: &App) -> Option<Input> {
    app.tenant.require_reason.then(Input::default)
}

fn open_enroll(app: &mut App) {
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
        app.set_status(
            StatusKind::Info,
            "Nothing left to enroll: the API enrolls only OneLogin SMS and Voice, and this user has them.",
        );
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
    }));
}

fn selected_device(app: &mut App) -> Option<(Target, OtpDevice)> {
    let device = app.user.as_ref().and_then(|u| u.selected_device()).cloned();
    match (target(app), device) {
        (Some(t), Some(d)) => Some((t, d)),
        (None, _) => {
            app.set_status(
                StatusKind::Info,
                "Open a user first: / to search, Enter to open.",
            );
            None
        }
        (Some(_), None) => {
            app.set_status(StatusKind::Info, "This user has no device selected.");
            None
        }
    }
}

fn device_label(d: &OtpDevice) -> String {
    match &d.user_display_name {
        Some(name) if !name.is_empty() && name != &d.auth_factor_name => {
            format!("{} \"{}\"", d.auth_factor_name, name)
        }
        _ => d.auth_factor_name.clone(),
    }
}

fn open_trigger(app: &mut App) {
    let Some((target, device)) = selected_device(app) else {
        return;
    };
    if !device.needs_trigger {
        app.set_status(
            StatusKind::Info,
            format!(
                "{} takes codes directly: press v to verify.",
                device_label(&device)
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

fn verify_dialog(target: Target, device: OtpDevice, guided: bool) -> VerifyDialog {
    let kind = DeviceKind::of(&device);
    VerifyDialog {
        target,
        kind,
        device,
        state_token: None,
        expires_at: None,
        code: Input::default(),
        stage: if kind == DeviceKind::Code {
            VerifyStage::EnterCode
        } else {
            VerifyStage::Sending
        },
        error: None,
        busy: None,
        options: TriggerOptions::default(),
        guided,
    }
}

fn open_verify(app: &mut App, cmds: &mut Vec<Cmd>) {
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
fn send_trigger(app: &mut App, cmds: &mut Vec<Cmd>) {
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

fn open_remove(app: &mut App) {
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

fn open_token(app: &mut App) {
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

/// Rows the help overlay holds (its scroll stops there).
fn help_rows() -> usize {
    keymap::BINDINGS.len() + keymap::DIALOG_KEYS.len() + 1
}

fn is_submit(key: &KeyEvent) -> bool {
    key.code == KeyCode::Enter
}

fn is_tab(key: &KeyEvent) -> Option<bool> {
    match key.code {
        KeyCode::Tab => Some(key.modifiers.contains(KeyModifiers::SHIFT)),
        KeyCode::BackTab => Some(true),
        _ => None,
    }
}

fn close_top(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(dialog) = app.dialogs.pop() else {
        return;
    };
    // Closing a dialog abandons its call (and a push wait).
    app.cancel(dialog.busy(), cmds);
    let change = matches!(
        dialog,
        Dialog::Enroll(_)
            | Dialog::Trigger(_)
            | Dialog::Verify(_)
            | Dialog::Remove(_)
            | Dialog::Token(_)
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
    if key.code == KeyCode::Esc {
        close_top(app, cmds);
        return;
    }
    let Some(top) = app.dialogs.last_mut() else {
        return;
    };
    match top {
        Dialog::Help { scroll } => match key.code {
            KeyCode::Char('j') | KeyCode::Down => *scroll = (*scroll + 1).min(help_rows()),
            KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
            KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?') => {
                app.dialogs.pop();
            }
            _ => {}
        },
        Dialog::Info(_) | Dialog::Error(_) => {
            if matches!(
                key.code,
                KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?')
            ) {
                app.dialogs.pop();
            }
        }
        Dialog::Audit { scroll } => match key.code {
            KeyCode::Char('j') | KeyCode::Down => {
                *scroll = (*scroll + 1).min(app.audit.len().saturating_sub(1))
            }
            KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
            KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('A') => {
                app.dialogs.pop();
            }
            _ => {}
        },
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
        Dialog::Enroll(d) => {
            if d.busy.is_some() {
                return;
            }
            if let Some(back) = is_tab(&key) {
                d.field = cycle(&EnrollDialog::FIELDS, d.field, back);
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
        Dialog::Trigger(d) => {
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
        Dialog::Verify(d) => {
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
            } else if d.kind != DeviceKind::Push && d.busy.is_none() {
                edit(&mut d.code, &key);
            }
        }
        Dialog::Remove(d) => {
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
            match key.code {
                KeyCode::Char('y') => submit_remove(app, cmds),
                KeyCode::Char('n') => {
                    app.dialogs.pop();
                }
                KeyCode::Left | KeyCode::Right => {
                    d.button = match d.button {
                        RemoveButton::Cancel => RemoveButton::Remove,
                        _ => RemoveButton::Cancel,
                    }
                }
                KeyCode::Enter => match d.button {
                    RemoveButton::Remove => submit_remove(app, cmds),
                    _ => {
                        app.dialogs.pop();
                    }
                },
                _ => {}
            }
        }
        Dialog::Token(d) => {
            if d.issued.is_some() {
                match key.code {
                    KeyCode::Char('c') => {
                        if let Some(t) = &d.issued {
                            cmds.push(Cmd::Copy(t.mfa_token.clone()));
                            d.copied = true;
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
            if let Some(back) = is_tab(&key) {
                d.field = cycle(&d.fields(), d.field, back);
            } else if is_submit(&key) {
                submit_token(app, cmds);
            } else {
                match d.field {
                    TokenField::ExpiresIn => match key.code {
                        KeyCode::Left | KeyCode::Up | KeyCode::Char('k') | KeyCode::Char('h') => {
                            d.preset = d.preset.saturating_sub(1)
                        }
                        KeyCode::Right
                        | KeyCode::Down
                        | KeyCode::Char('j')
                        | KeyCode::Char('l')
                        | KeyCode::Char(' ') => {
                            d.preset = (d.preset + 1).min(TOKEN_PRESETS.len() - 1)
                        }
                        _ => {}
                    },
                    TokenField::Reusable => {
                        if key.code == KeyCode::Char(' ') {
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
    }
}

fn submit_enroll(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(Dialog::Enroll(d)) = app.dialogs.last_mut() else {
        return;
    };
    let name = d.name.value().trim().to_owned();
    let number = d.phone.value().trim().to_owned();
    if name.is_empty() {
        d.error =
            Some("Give the device a name the user will recognise, e.g. \"Work phone\".".into());
        d.field = EnrollField::Name;
        return;
    }
    if let Err(e) = validate::e164(&number) {
        d.error = Some(format!("Phone number: {e}."));
        d.field = EnrollField::Phone;
        return;
    }
    let Some(factor) = d.factors.get(d.factor).cloned() else {
        return;
    };
    d.error = None;
    let target = d.target.clone();
    let verified = d.verified;
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
    record(app, note, AuditResult::Attempt, None, cmds);
    cmds.push(cmd);
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
        VerifyStage::Expired | VerifyStage::Stopped => {
            d.code = Input::default();
            send_trigger(app, cmds);
        }
        VerifyStage::AwaitPush { .. } => {
            d.stage = VerifyStage::AwaitPush { next_poll: now };
        }
        VerifyStage::EnterCode => {
            let code = d.code.value().trim().to_owned();
            if code.is_empty() && matches!(d.kind, DeviceKind::Sms | DeviceKind::Voice) {
                // No code arrived: Enter on the empty field sends a new one.
                send_trigger(app, cmds);
                return;
            }
            if code.is_empty() {
                d.error = Some("Type the code the user reads out.".into());
                return;
            }
            if code.chars().any(char::is_whitespace) {
                d.error = Some("Codes have no spaces: type it as one word.".into());
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
            }
            let note = audit_note(app, AuditKind::Verify, &target, Some(&device));
            record(app, note, AuditResult::Attempt, None, cmds);
            cmds.push(cmd);
        }
    }
}

fn reason_of(input: &Option<Input>) -> Result<Option<String>, ()> {
    match input {
        None => Ok(None),
        Some(i) if i.value().trim().is_empty() => Err(()),
        Some(i) => Ok(Some(i.value().trim().to_owned())),
    }
}

fn submit_remove(app: &mut App, cmds: &mut Vec<Cmd>) {
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

fn submit_token(app: &mut App, cmds: &mut Vec<Cmd>) {
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

fn audit_note(
    app: &App,
    action: AuditKind,
    target: &Target,
    device: Option<&OtpDevice>,
) -> AuditNote {
    AuditNote {
        time: app.now,
        action,
        outcome: AuditResult::Attempt,
        user_id: target.user_id,
        user_email: target.user_email.clone(),
        device_id: device.map(|d| d.id.to_string()),
        factor: device.map(|d| d.auth_factor_name.clone()),
        http_status: None,
        request_id: None,
        reason: None,
        message: None,
    }
}

/// Records an audit line: the attempt, or its outcome (with the error's status and request id).
fn record(
    app: &mut App,
    mut note: AuditNote,
    outcome: AuditResult,
    error: Option<&ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    note.time = app.now;
    note.outcome = outcome;
    if let Some(e) = error {
        note.http_status = e.status;
        note.request_id = e.request_id.clone();
        note.message = Some(e.message.clone());
    } else if outcome == AuditResult::Success {
        // The answer that settled it: its status and X-Request-Id.
        note.http_status = app.last_meta.status.or(Some(200));
        note.request_id = app.last_meta.request_id.clone();
    }
    if outcome == AuditResult::Attempt {
        app.open_attempts.insert(note.action, note.clone());
    }
    app.audit.push(note.clone());
    cmds.push(Cmd::Audit(note));
}

/// Records the outcome of the open attempt of this action (one at a time: dialogs are modal);
/// an outcome with no open attempt is not recorded twice.
fn settle(
    app: &mut App,
    action: AuditKind,
    outcome: AuditResult,
    error: Option<&ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(attempt) = app.open_attempts.remove(&action) else {
        return;
    };
    record(app, attempt, outcome, error, cmds);
}

/// Closes every open attempt as of unknown outcome (a dialog closed or the console quit).
fn settle_unknown(app: &mut App, why: &str, cmds: &mut Vec<Cmd>) -> bool {
    let open: Vec<AuditKind> = app.open_attempts.keys().copied().collect();
    let unknown = ApiError::new(ErrorKind::Cancelled, why);
    for kind in &open {
        settle(app, *kind, AuditResult::Failure, Some(&unknown), cmds);
    }
    !open.is_empty()
}

fn error_dialog(app: &mut App, context: &str, error: ApiError) {
    if error.kind == ErrorKind::Cancelled {
        return;
    }
    if error.kind == ErrorKind::InsufficientPermission && !app.tenant.read_only {
        app.dialogs.push(Dialog::Error(ErrorDialog {
            context: context.to_owned(),
            error,
            hint: Some("This API credential is read-only (Read Users scope).".into()),
        }));
        app.dialogs
            .push(Dialog::SwitchReadOnly(SwitchReadOnlyDialog {
                context: context.to_owned(),
            }));
        return;
    }
    let hint = match error.kind {
        ErrorKind::RateLimited {
            reset_secs: Some(s),
        } => Some(format!(
            "The hourly API budget is spent; it resets in {}.",
            validate::countdown(s as i64)
        )),
        ErrorKind::Unauthorized => Some("Check the client id and secret for this tenant.".into()),
        ErrorKind::Timeout | ErrorKind::Network => {
            Some("The tenant did not answer; r refreshes once it is back.".into())
        }
        _ => None,
    };
    app.dialogs.push(Dialog::Error(ErrorDialog {
        context: context.to_owned(),
        error,
        hint,
    }));
}

fn load_error(e: &ApiError) -> String {
    // The hint first: a long message is cut at the pane's edge.
    format!("r to retry · {e}")
}

fn on_result(
    app: &mut App,
    id: RequestId,
    purpose: Purpose,
    response: ApiResponse,
    cmds: &mut Vec<Cmd>,
) {
    match (purpose, response) {
        (Purpose::Search, ApiResponse::Search(r)) => {
            app.search.request = None;
            app.search.searched = true;
            match r {
                Ok(SearchResult { users, next, total }) => {
                    app.search.message = users
                        .is_empty()
                        .then(|| format!("No users match \"{}\".", app.search.query));
                    app.search.results = users;
                    app.search.next = next;
                    app.search.total = total;
                    app.search.selected = 0;
                }
                Err(e) => {
                    app.search.message = Some(e.to_string());
                }
            }
        }
        (Purpose::SearchMore, ApiResponse::Search(r)) => {
            app.search.more = None;
            match r {
                Ok(SearchResult { users, next, total }) => {
                    for u in users {
                        if !app.search.results.iter().any(|r| r.id == u.id) {
                            app.search.results.push(u);
                        }
                    }
                    app.search.next = next;
                    app.search.total = app.search.total.max(total);
                }
                Err(e) => {
                    app.search.message = Some(format!("Could not load more results: {e}"));
                }
            }
        }
        (Purpose::User(uid), ApiResponse::User(r)) => {
            if let Some(view) = app.user.as_mut().filter(|v| v.user.id == uid) {
                match r {
                    Ok(user) => {
                        if let Some(row) = app.search.results.iter_mut().find(|u| u.id == uid) {
                            *row = user.clone();
                        }
                        view.user = user;
                    }
                    Err(e) => view.devices_error = Some(load_error(&e)),
                }
            }
        }
        (Purpose::Devices(uid), ApiResponse::Devices(r)) => {
            if let Some(view) = app.user.as_mut().filter(|v| v.user.id == uid) {
                match r {
                    Ok(devices) => {
                        view.device_sel = view.device_sel.min(devices.len().saturating_sub(1));
                        if let Some(id) = view.select_after_load.take()
                            && let Some(i) = devices.iter().position(|d| d.id == id)
                        {
                            view.device_sel = i;
                        }
                        view.devices = Some(devices);
                        view.devices_error = None;
                    }
                    Err(e) => view.devices_error = Some(load_error(&e)),
                }
            }
        }
        (Purpose::Factors(uid), ApiResponse::Factors(r)) => {
            if let Some(view) = app.user.as_mut().filter(|v| v.user.id == uid) {
                match r {
                    Ok(factors) => {
                        view.factor_sel = view.factor_sel.min(factors.len().saturating_sub(1));
                        view.factors = Some(factors);
                        view.factors_error = None;
                    }
                    Err(e) => view.factors_error = Some(load_error(&e)),
                }
            }
        }
        (Purpose::Enroll, ApiResponse::Enrolled(r)) => on_enrolled(app, id, r, cmds),
        (
            Purpose::EnrollCheck {
                display_name,
                number,
                cause,
                known,
            },
            ApiResponse::Devices(r),
        ) => on_enroll_check(app, id, (&display_name, &number, &known), &cause, r, cmds),
        (Purpose::Trigger, ApiResponse::Triggered(r)) => on_triggered(app, id, r, cmds),
        (Purpose::Verify, ApiResponse::Verified(r)) => on_verified(app, id, r, cmds),
        (Purpose::Remove, ApiResponse::Removed(r)) => on_removed(app, id, r, cmds),
        (Purpose::MfaToken, ApiResponse::MfaToken(r)) => {
            let Some(pos) = app.dialogs.iter().position(|d| d.busy() == Some(id)) else {
                return;
            };
            match r {
                Ok(token) => {
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
        (Purpose::RateLimit, ApiResponse::RateLimit(Ok(rl))) => app.rate_limit = Some(rl),
        _ => {}
    }
}

fn reload_user(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    if app.user.as_ref().is_some_and(|v| v.user.id == user_id) {
        load_devices(app, user_id, cmds);
        load_factors(app, user_id, cmds);
    }
}

fn is_ambiguous(e: &ApiError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Server | ErrorKind::MalformedResponse
    )
}

fn on_enrolled(app: &mut App, id: RequestId, r: Result<OtpDevice, ApiError>, cmds: &mut Vec<Cmd>) {
    let Some(pos) = app.dialogs.iter().position(|d| d.busy() == Some(id)) else {
        return;
    };
    let Dialog::Enroll(d) = &mut app.dialogs[pos] else {
        return;
    };
    d.busy = None;
    let target = d.target.clone();
    let verified = d.verified;
    let (name, number) = (
        d.name.value().trim().to_owned(),
        d.phone.value().trim().to_owned(),
    );
    match r {
        Ok(device) => {
            if let Some(attempt) = app.open_attempts.get_mut(&AuditKind::Enroll) {
                attempt.device_id = Some(device.id.to_string());
            }
            settle(app, AuditKind::Enroll, AuditResult::Success, None, cmds);
            reload_user(app, target.user_id, cmds);
            if verified || device.active {
                app.dialogs.remove(pos);
                app.set_status(
                    StatusKind::Success,
                    format!(
                        "Enrolled {} for {}: active.",
                        device_label(&device),
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
                if device.needs_trigger {
                    verify.expires_at = Some(expires_at);
                    app.tokens.insert(
                        device.id.clone(),
                        LiveToken {
                            token: token.clone(),
                            expires_at,
                            options: TriggerOptions::default(),
                        },
                    );
                }
            }
            if let Some(view) = app
                .user
                .as_mut()
                .filter(|v| v.user.id == verify.target.user_id)
            {
                view.select_after_load = Some(device.id.clone());
            }
            app.dialogs.remove(pos);
            app.dialogs.push(Dialog::Verify(verify));
            if device.needs_trigger && sent.is_none() {
                send_trigger(app, cmds);
            }
        }
        Err(e) if is_ambiguous(&e) => {
            settle(app, AuditKind::Enroll, AuditResult::Failure, Some(&e), cmds);
            // The device may exist even though the answer was lost: look before retrying.
            let known = app
                .user
                .as_ref()
                .filter(|v| v.user.id == target.user_id)
                .and_then(|v| v.devices.as_ref())
                .map(|d| d.iter().map(|d| d.id.clone()).collect())
                .unwrap_or_default();
            let (check, cmd) = app.request(
                Purpose::EnrollCheck {
                    display_name: name,
                    number,
                    cause: e.to_string(),
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
                    d.error = Some(e.to_string());
                }
            } else {
                error_dialog(app, "Enrolling the device", e);
            }
        }
    }
}

fn on_enroll_check(
    app: &mut App,
    id: RequestId,
    (name, number, known): (&str, &str, &[DeviceId]),
    cause: &str,
    r: Result<Vec<OtpDevice>, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(pos) = app.dialogs.iter().position(|d| d.busy() == Some(id)) else {
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
                    let label = device_label(dev);
                    app.dialogs.remove(pos);
                    // The failure recorded for the lost answer was wrong: the device exists.
                    let target = Target {
                        user_id,
                        user_label: String::new(),
                        user_email: app.user.as_ref().and_then(|v| v.user.email.clone()),
                    };
                    let mut note = audit_note(app, AuditKind::Enroll, &target, Some(dev));
                    note.message = Some("created after all: the enroll answer was lost".into());
                    record(app, note, AuditResult::Success, None, cmds);
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
                }
            }
            if let Some(view) = app.user.as_mut().filter(|v| v.user.id == user_id) {
                view.devices = Some(devices);
            }
        }
        Err(e) => {
            d.error = Some(format!(
                "The enroll call failed ({cause}) and the device list could not be read ({e}). Press r on the user before trying again."
            ));
        }
    }
}

fn on_triggered(
    app: &mut App,
    id: RequestId,
    r: Result<crate::api::TriggerResult, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let now = app.now;
    let Some(pos) = app.dialogs.iter().position(|d| d.busy() == Some(id)) else {
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
            let expires_at = t
                .state_token_expires_at
                .unwrap_or(now + Duration::seconds(lifetime));
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
                let live = LiveToken {
                    token: t.state_token,
                    expires_at,
                    options: d.options.clone(),
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

fn on_verified(
    app: &mut App,
    id: RequestId,
    r: Result<VerifyOutcome, ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let now = app.now;
    let Some(pos) = app.dialogs.iter().position(|d| d.busy() == Some(id)) else {
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
                    device_label(&device),
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
                    d.error = Some(format!(
                        "Wrong code ({}). Check it with the user and try again.",
                        e.message
                    ));
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

fn on_removed(app: &mut App, id: RequestId, r: Result<(), ApiError>, cmds: &mut Vec<Cmd>) {
    let Some(pos) = app.dialogs.iter().position(|d| d.busy() == Some(id)) else {
        return;
    };
    let Dialog::Remove(d) = app.dialogs.remove(pos) else {
        return;
    };
    match r {
        Ok(()) => {
            settle(app, AuditKind::Remove, AuditResult::Success, None, cmds);
            if let Some(view) = app.user.as_mut().filter(|v| v.user.id == d.target.user_id)
                && let Some(devices) = view.devices.as_mut()
            {
                devices.retain(|x| x.id != d.device.id);
                view.device_sel = view.device_sel.min(devices.len().saturating_sub(1));
            }
            app.tokens.remove(&d.device.id);
            app.set_status(
                StatusKind::Success,
                format!(
                    "Removed {} from {}.",
                    device_label(&d.device),
                    d.target.user_label
                ),
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
