//! The Coverage view's keys and what the store and a background scan report.

use crossterm::event::{KeyCode, KeyEvent};

use super::user::open_user;
use crate::api::{RateLimit, User};
use crate::app::coverage::{CoverageCmd, CoverageMsg, ORDER, ScanState};
use crate::app::dialogs::Dialog;
use crate::app::{App, Cmd, StatusKind};

/// Seconds between store reads while a scan runs with the view open.
const RELOAD_SECS: i64 = 5;

/// Opens the view and reads the report from the store (no API call).
pub(super) fn open(app: &mut App, cmds: &mut Vec<Cmd>) {
    app.dialogs.push(Dialog::Coverage);
    load(app, cmds);
}

/// Reads the report again for the highlighted category.
fn load(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(store) = app.coverage.store.clone() else {
        app.coverage.error = Some("no coverage store in this session".into());
        return;
    };
    app.coverage.loading = true;
    app.coverage.loaded_at = Some(app.now);
    cmds.push(Cmd::Coverage(CoverageCmd::Load {
        store,
        category: app.coverage.category(),
    }));
}

/// Starts (or resumes) a scan in the background lane; the agent keeps working meanwhile.
fn start_scan(app: &mut App, cmds: &mut Vec<Cmd>) {
    if app.coverage.scanning() {
        app.set_status(StatusKind::Info, "A coverage scan is already running.");
        return;
    }
    let Some(store) = app.coverage.store.clone() else {
        app.set_status(StatusKind::Warning, "No coverage store in this session.");
        return;
    };
    app.coverage.scan = Some(ScanState {
        running: true,
        ..ScanState::default()
    });
    let share = app.coverage.policy.share;
    app.set_status(
        StatusKind::Info,
        format!(
            "Coverage scan started at {:.0} % of the API budget; keep working.",
            share * 100.0
        ),
    );
    cmds.push(Cmd::Coverage(CoverageCmd::Scan {
        store,
        policy: app.coverage.policy,
    }));
}

/// Keys while the view is on top (Esc is handled with the other dialogs).
pub(super) fn key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let count = app.coverage.report.as_ref().map_or(0, |r| r.users.len());
    let last = count.saturating_sub(1);
    let page = usize::from(app.size.1.saturating_sub(14)).max(1);
    let category = |app: &mut App, delta: isize, cmds: &mut Vec<Cmd>| {
        let n = ORDER.len() as isize;
        app.coverage.category = (app.coverage.category as isize + delta).rem_euclid(n) as usize;
        app.coverage.selected = 0;
        load(app, cmds);
    };
    let sel = &mut app.coverage.selected;
    match key.code {
        KeyCode::Char('j') | KeyCode::Down => *sel = (*sel + 1).min(last),
        KeyCode::Char('k') | KeyCode::Up => *sel = sel.saturating_sub(1),
        KeyCode::PageDown => *sel = (*sel + page).min(last),
        KeyCode::PageUp => *sel = sel.saturating_sub(page),
        KeyCode::Char('g') | KeyCode::Home => *sel = 0,
        KeyCode::Char('G') | KeyCode::End => *sel = last,
        KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => category(app, 1, cmds),
        KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => category(app, -1, cmds),
        KeyCode::Char('s') => start_scan(app, cmds),
        KeyCode::Char('r') => load(app, cmds),
        KeyCode::Enter => open_highlighted(app, cmds),
        KeyCode::Char('q') | KeyCode::Char('R') => {
            app.dialogs.pop();
        }
        _ => {}
    }
}

/// Opens the highlighted user in the normal view: one round trip, like opening a search row.
fn open_highlighted(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(row) = app
        .coverage
        .report
        .as_ref()
        .and_then(|r| r.users.get(app.coverage.selected))
    else {
        return;
    };
    // What the store knows stands in until the user's own answer arrives with the devices.
    let user = User {
        id: row.id,
        email: row.email.clone(),
        firstname: Some(row.name.clone()),
        status: row.status,
        last_login: row
            .last_login
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc)),
        ..User::default()
    };
    app.dialogs.retain(|d| !matches!(d, Dialog::Coverage));
    open_user(app, user, true, cmds);
}

/// The store's report or a scan's news.
pub(super) fn on_msg(app: &mut App, msg: CoverageMsg, cmds: &mut Vec<Cmd>) {
    match msg {
        CoverageMsg::Report(Ok(report)) => {
            let count = report.users.len();
            app.coverage.report = Some(report);
            app.coverage.error = None;
            app.coverage.loading = false;
            app.coverage.selected = app.coverage.selected.min(count.saturating_sub(1));
        }
        CoverageMsg::Report(Err(e)) => {
            app.coverage.error = Some(e);
            app.coverage.loading = false;
        }
        CoverageMsg::Progress(p) => {
            // The header shows what the scan leaves of the budget.
            if p.lane.limit.is_some() {
                app.rate_limit = Some(RateLimit {
                    limit: p.lane.limit,
                    remaining: p.lane.remaining,
                    reset_secs: p.lane.reset_in.map(|d| d.as_secs()),
                });
            }
            let scan = app.coverage.scan.get_or_insert_with(ScanState::default);
            scan.progress = Some(p);
            // While the view is open the bars follow the scan, a store read every few seconds.
            let due = app
                .coverage
                .loaded_at
                .is_none_or(|t| app.now - t >= chrono::Duration::seconds(RELOAD_SECS));
            if due && !app.coverage.loading && matches!(app.dialogs.last(), Some(Dialog::Coverage))
            {
                load(app, cmds);
            }
        }
        CoverageMsg::Done(outcome) => {
            let text = match &outcome {
                Ok(o) if o.complete => (
                    StatusKind::Success,
                    format!("Coverage scan complete: {} API calls.", o.calls),
                ),
                Ok(o) => (
                    StatusKind::Warning,
                    format!(
                        "Coverage scan incomplete: {} users could not be read; s resumes it.",
                        o.failed
                    ),
                ),
                Err(e) => (StatusKind::Warning, format!("Coverage scan stopped: {e}")),
            };
            app.set_status(text.0, text.1);
            let scan = app.coverage.scan.get_or_insert_with(ScanState::default);
            scan.running = false;
            scan.outcome = Some(outcome);
            if app.dialogs.iter().any(|d| matches!(d, Dialog::Coverage)) {
                load(app, cmds);
            }
        }
    }
}
