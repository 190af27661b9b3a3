//! The audit view's keys: scrolling, the `/` filter, and the trail read from its file.

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::audit_view::rows;
use crate::app::dialogs::{Dialog, edit, replace_if_fresh};
use crate::app::{App, Cmd};

/// Opens the audit view and asks for the whole trail (the file, not only this session).
pub(super) fn open(app: &mut App, cmds: &mut Vec<Cmd>) {
    app.audit_view.entries = None;
    app.audit_view.error = None;
    app.audit_view.editing = false;
    app.dialogs.push(Dialog::Audit { scroll: 0 });
    cmds.push(Cmd::ReadAudit);
}

/// The trail as read: newest first is the view's job; a failure falls back to this session.
pub(super) fn on_read(app: &mut App, read: Result<(Vec<crate::audit::AuditEntry>, usize), String>) {
    match read {
        Ok((mut entries, skipped)) => {
            crate::app::audit_view::newest_first(&mut entries, |e| e.time);
            app.audit_view.entries = Some(entries);
            app.audit_view.skipped = skipped;
            app.audit_view.error = None;
        }
        Err(e) => {
            app.audit_view.entries = None;
            app.audit_view.error = Some(e);
        }
    }
}

/// True when the filter box has the keyboard (Esc then leaves the box, not the view).
pub(super) fn editing(app: &App) -> bool {
    app.audit_view.editing && matches!(app.dialogs.last(), Some(Dialog::Audit { .. }))
}

/// Keys while the audit view is on top.
pub(super) fn key(app: &mut App, key: KeyEvent) {
    let count = rows(app).len();
    let page = usize::from(app.size.1.saturating_sub(8)).max(1);
    if app.audit_view.editing {
        let view = &mut app.audit_view;
        if replace_if_fresh(&mut view.filter, &mut view.fresh, &key) {
            return;
        }
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Tab | KeyCode::Down => {
                view.editing = false;
                if !view.filter.value().is_empty() {
                    view.last_filter = view.filter.value().to_owned();
                }
            }
            KeyCode::Up if view.filter.value().is_empty() => {
                view.filter = tui_input::Input::new(view.last_filter.clone());
            }
            _ => {
                edit(&mut app.audit_view.filter, &key);
                if let Some(Dialog::Audit { scroll }) = app.dialogs.last_mut() {
                    *scroll = 0;
                }
            }
        }
        return;
    }
    let Some(Dialog::Audit { scroll }) = app.dialogs.last_mut() else {
        return;
    };
    let last = count.saturating_sub(1);
    match key.code {
        KeyCode::Char('/') => {
            // Like the search box: typing replaces the filter, the arrows keep it for editing.
            app.audit_view.editing = true;
            app.audit_view.fresh = !app.audit_view.filter.value().is_empty();
        }
        KeyCode::Char('j') | KeyCode::Down => *scroll = (*scroll + 1).min(last),
        KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
        KeyCode::PageDown => *scroll = (*scroll + page).min(last),
        KeyCode::PageUp => *scroll = scroll.saturating_sub(page),
        KeyCode::Char('g') | KeyCode::Home => *scroll = 0,
        KeyCode::Char('G') | KeyCode::End => *scroll = last,
        KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('A') => {
            app.dialogs.pop();
        }
        _ => {}
    }
}
