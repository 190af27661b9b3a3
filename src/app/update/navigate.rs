//! Moving around: the selection in the focused list, and the focus between panes.

use super::search::maybe_fetch_more;
use crate::app::dialogs::cycle;
use crate::app::{App, Cmd, Focus};

/// Rows that one page up or down moves.
pub(super) fn page(app: &App) -> isize {
    (app.size.1 as isize - 8).max(1)
}

/// The pane after (or, going back, before) the focused one.
pub(super) fn next_pane(app: &App, back: bool) -> Focus {
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

/// Moves the selection in the focused list, fetching more results near the end.
pub(super) fn move_selection(app: &mut App, delta: isize, cmds: &mut Vec<Cmd>) {
    match app.focus {
        Focus::Users | Focus::Search => {
            let len = app.search.results.len();
            app.search.selected = step(app.search.selected, len, delta);
            maybe_fetch_more(app, cmds);
        }
        Focus::Devices => {
            // Pending registrations are listed after the devices.
            let pending = app.open_registrations().len();
            if let Some(u) = app.user.as_mut() {
                let len = u.devices.as_ref().map_or(0, Vec::len) + pending;
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
