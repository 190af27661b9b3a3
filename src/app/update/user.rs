//! The open user: opening it, loading its devices and factors, and what changes aim at.

use tui_input::Input;

use super::errors::load_error;
use super::search::run_search;
use crate::api::{ApiError, AuthFactor, OtpDevice, User, UserId};
use crate::app::dialogs::Target;
use crate::app::{App, Cmd, Focus, Purpose, StatusKind, UserView};
use crate::worker::{ApiRequest, RequestId};

/// Opens the selected search result and loads its devices and factors.
pub(super) fn open_selected_user(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(user) = app.search.results.get(app.search.selected).cloned() else {
        return;
    };
    open_user(app, user, false, cmds);
}

/// Opens `user` and loads its devices, factors and events (and the user itself when
/// `reload_user`: the caller had only a summary), all at once: one round trip.
pub(super) fn open_user(app: &mut App, user: User, reload_user: bool, cmds: &mut Vec<Cmd>) {
    // Drop loads for the previous user: their results would be stale.
    cancel_loads(app, cmds);
    if !app.quit_armed {
        // The status was about the previous user.
        app.status = None;
    }

    let user_id = user.id;
    super::caller::user_opened(app, user_id);
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
    if reload_user {
        let (_, cmd) = app.request(Purpose::User(user_id), ApiRequest::GetUser(user_id));
        cmds.push(cmd);
    }
    load_devices(app, user_id, cmds);
    load_factors(app, user_id, cmds);
    super::history::load(app, user_id, cmds);
}

/// Cancels user, device and factor loads in flight (superseded by new ones).
fn cancel_loads(app: &mut App, cmds: &mut Vec<Cmd>) {
    let stale: Vec<RequestId> = app
        .pending
        .iter()
        .filter(|(_, p)| {
            matches!(
                p,
                Purpose::User(_)
                    | Purpose::Devices(_)
                    | Purpose::Factors(_)
                    | Purpose::Events(_)
                    | Purpose::MoreEvents(_)
            )
        })
        .map(|(id, _)| *id)
        .collect();
    for id in stale {
        app.cancel(Some(id), cmds);
    }
}

/// Reads the user's enrolled devices.
fn load_devices(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    let (id, cmd) = app.request(Purpose::Devices(user_id), ApiRequest::GetDevices(user_id));
    app.latest_devices = Some(id);
    cmds.push(cmd);
}

/// Reads the factors the user can still enroll.
fn load_factors(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    let (_, cmd) = app.request(Purpose::Factors(user_id), ApiRequest::GetFactors(user_id));
    cmds.push(cmd);
}

/// Reads the open user again, or re-runs the last search when no user is open.
pub(super) fn refresh(app: &mut App, cmds: &mut Vec<Cmd>) {
    let retry_search = app.search.failed && app.focus == Focus::Users;
    let user_id = app
        .user
        .as_ref()
        .map(|u| u.user.id)
        .filter(|_| !retry_search);
    let Some(user_id) = user_id else {
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
    if let Some(a) = app.activity.as_mut() {
        a.loading_more = false;
    }
    super::history::load(app, user_id, cmds);
}

/// Reads the devices and factors again, if this user is still open.
pub(super) fn reload_user(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    if app.user.as_ref().is_some_and(|v| v.user.id == user_id) {
        load_devices(app, user_id, cmds);
        load_factors(app, user_id, cmds);
    }
}

/// Takes a fresh read of the open user (and its row in the results).
pub(super) fn on_user_loaded(app: &mut App, uid: UserId, r: Result<User, ApiError>) {
    if let Some(view) = app.user.as_mut().filter(|v| v.user.id == uid) {
        match r {
            Ok(user) => {
                if let Some(row) = app.search.results.iter_mut().find(|u| u.id == uid) {
                    *row = user.clone();
                }
                view.user = user;
                super::history::refresh_signals(app);
            }
            Err(e) => view.devices_error = Some(load_error(&e)),
        }
    }
}

/// Takes the open user's devices, keeping the selection in range.
pub(super) fn on_devices_loaded(app: &mut App, uid: UserId, r: Result<Vec<OtpDevice>, ApiError>) {
    if let Some(view) = app.view_of(uid) {
        match r {
            Ok(devices) => {
                view.device_sel = view.device_sel.min(devices.len().saturating_sub(1));
                let mut enrolled = false;
                if let Some(id) = view.select_after_load.take()
                    && let Some(i) = devices.iter().position(|d| d.id == id)
                {
                    view.device_sel = i;
                    enrolled = true;
                }
                let none = devices.is_empty();
                view.devices = Some(devices);
                view.devices_error = None;
                if none && app.focus == Focus::Devices {
                    // Nothing to act on in Enrolled: start where the next step is, enrolling.
                    app.focus = Focus::Factors;
                } else if enrolled && app.focus == Focus::Factors {
                    // The device just enrolled is selected: the keys act on it, so focus it.
                    app.focus = Focus::Devices;
                }
            }
            Err(e) => view.devices_error = Some(load_error(&e)),
        }
    }
}

/// Takes the factors the open user can enroll, keeping the selection in range.
pub(super) fn on_factors_loaded(app: &mut App, uid: UserId, r: Result<Vec<AuthFactor>, ApiError>) {
    if let Some(view) = app.view_of(uid) {
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

/// The open user, as the target of a change.
pub(super) fn target(app: &App) -> Option<Target> {
    let u = &app.user.as_ref()?.user;
    Some(Target {
        user_id: u.id,
        user_label: u.display_name(),
        user_email: u.email.clone(),
    })
}

/// The open user and its selected device, or a status saying which is missing.
pub(super) fn selected_device(app: &mut App) -> Option<(Target, OtpDevice)> {
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
