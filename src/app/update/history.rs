//! The open user's events: read with the user, turned into signals, and the history view (`h`).

use crossterm::event::{KeyCode, KeyEvent};

use super::errors::load_error;
use crate::api::{ApiError, ErrorKind, Event, EventBatch, OtpDevice, UserId};
use crate::app::activity::Activity;
use crate::app::dialogs::DeviceKind;
use crate::app::dialogs::{Dialog, edit};
use crate::app::{App, Cmd, Purpose, StatusKind};
use crate::app::{AuditKind, AuditNote};
use crate::ops::events::{HISTORY_STEP, history_since};
use crate::worker::ApiRequest;
use crate::worker::ApiResponse;

/// Reads the last 14 days of the user's events (alongside the other loads).
pub(super) fn load(app: &mut App, user_id: UserId, cmds: &mut Vec<Cmd>) {
    let since = history_since(app.now);
    let keep = app.activity.as_ref().is_some_and(|a| a.user_id == user_id);
    if keep {
        // A refresh keeps the filter and how far back the view reached.
        if let Some(a) = app.activity.as_mut() {
            a.since = a.since.min(since);
        }
    } else {
        app.activity = Some(Activity::new(user_id, since));
    }
    let since = app.activity.as_ref().map_or(since, |a| a.since);
    let (_, cmd) = app.request(
        Purpose::Events(user_id),
        ApiRequest::GetEvents {
            user_id,
            since,
            until: None,
        },
    );
    cmds.push(cmd);
}

/// The names of the signals a change's dialog showed (remove, temporary token, enroll as
/// verified), for its audit line; None when none held.
pub(super) fn signals_on_screen(app: &App, note: &AuditNote) -> Option<Vec<String>> {
    let shown = match note.action {
        AuditKind::Remove | AuditKind::MfaToken => true,
        AuditKind::Enroll => note.verified == Some(true),
        _ => false,
    };
    let a = app
        .activity
        .as_ref()
        .filter(|a| shown && a.user_id == note.user_id && !a.signals.is_empty())?;
    Some(crate::ops::signals::names(&a.signals))
}

/// The caller check's devices without a push while push bombing holds (the user may approve
/// anything), and what to tell the agent; the rule is `ops::signals::push_refusal`.
pub(super) fn withhold_push(
    app: &App,
    user_id: UserId,
    devices: Vec<OtpDevice>,
) -> (Vec<OtpDevice>, Option<String>) {
    let events = app
        .activity
        .as_ref()
        .filter(|a| a.user_id == user_id)
        .and_then(|a| a.events.as_deref())
        .unwrap_or(&[]);
    match crate::ops::signals::push_refusal(events, app.now) {
        Some(why) => (
            devices
                .into_iter()
                .filter(|d| DeviceKind::of(d) != DeviceKind::Push)
                .collect(),
            Some(why),
        ),
        None => (devices, None),
    }
}

/// A push denied while this session waited for it counts at once as the tenant's 950 would
/// (the next read of the events replaces it with the tenant's own), so push bombing shows
/// without another call.
pub(super) fn after_answer(app: &mut App, response: &ApiResponse) {
    let denied =
        matches!(response, ApiResponse::Verified(Err(e)) if e.kind == ErrorKind::PushDenied);
    let Some(user_id) = app.user.as_ref().map(|v| v.user.id).filter(|_| denied) else {
        return;
    };
    let now = app.now;
    let Some(events) = app
        .activity
        .as_mut()
        .filter(|a| a.user_id == user_id)
        .and_then(|a| a.events.as_mut())
    else {
        return;
    };
    let mut seen = Event {
        created_at: Some(now),
        event_type_id: crate::ops::signals::types::PUSH_DENIED,
        user_id: Some(user_id),
        notes: Some("push denied, seen by this session".to_owned()),
        ..Event::default()
    };
    seen.fields
        .insert("event_type_id".to_owned(), seen.event_type_id.to_string());
    seen.fields
        .insert("user_id".to_owned(), user_id.to_string());
    seen.fields.insert(
        "notes".to_owned(),
        "push denied, seen by this session".to_owned(),
    );
    events.insert(0, seen);
}

/// Recomputes the signals of the open user from its events (in `ops`, never here).
pub(super) fn refresh_signals(app: &mut App) {
    let Some(view) = app.user.as_ref() else {
        return;
    };
    let now = app.now;
    if let Some(a) = app.activity.as_mut().filter(|a| a.user_id == view.user.id) {
        a.signals =
            crate::ops::signals::signals(&view.user, a.events.as_deref().unwrap_or(&[]), now);
    }
}

/// Takes the user's events (`more`: older ones, added after those already read).
pub(super) fn on_loaded(app: &mut App, uid: UserId, more: bool, r: Result<EventBatch, ApiError>) {
    let Some(a) = app.activity.as_mut().filter(|a| a.user_id == uid) else {
        return;
    };
    match r {
        Ok(batch) => {
            let mut events = batch.events;
            if more {
                a.loading_more = false;
                let mut all = a.events.take().unwrap_or_default();
                events.retain(|e| e.id.is_empty() || !all.iter().any(|x| x.id == e.id));
                all.extend(events);
                events = all;
            }
            events.sort_by_key(|e| std::cmp::Reverse(e.created_at));
            if !batch.types.is_empty() || a.types.is_empty() {
                a.types = batch.types;
            }
            a.events = Some(events);
            a.error = None;
        }
        Err(e) => {
            a.loading_more = false;
            a.error = Some(load_error(&e));
        }
    }
    refresh_signals(app);
}

/// `h`: the open user's history.
pub(super) fn open(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(user_id) = app.user.as_ref().map(|v| v.user.id) else {
        app.set_status(
            StatusKind::Info,
            "Open a user first: / to search, Enter to open.",
        );
        return;
    };
    if app.activity.as_ref().is_none_or(|a| a.user_id != user_id) {
        load(app, user_id, cmds);
    }
    if let Some(a) = app.activity.as_mut() {
        a.editing = false;
    }
    app.dialogs.push(Dialog::History {
        selected: 0,
        detail: false,
    });
}

/// True when the history filter box has the keyboard (Esc then leaves the box).
pub(super) fn editing(app: &App) -> bool {
    matches!(app.dialogs.last(), Some(Dialog::History { .. }))
        && app.activity.as_ref().is_some_and(|a| a.editing)
}

/// `n`: 14 days more, before what is already read.
fn more(app: &mut App, cmds: &mut Vec<Cmd>) {
    let Some(a) = app.activity.as_mut() else {
        return;
    };
    if a.loading_more {
        return;
    }
    a.loading_more = true;
    let until = a.since;
    let since = until - HISTORY_STEP;
    a.since = since;
    let user_id = a.user_id;
    let (_, cmd) = app.request(
        Purpose::MoreEvents(user_id),
        ApiRequest::GetEvents {
            user_id,
            since,
            until: Some(until),
        },
    );
    cmds.push(cmd);
}

/// Keys while the history view is on top.
pub(super) fn key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
    let count = app.activity.as_ref().map_or(0, |a| a.rows().len());
    let page = usize::from(app.size.1.saturating_sub(8)).max(1);
    if let Some(a) = app.activity.as_mut().filter(|a| a.editing) {
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Tab | KeyCode::Down => a.editing = false,
            _ => {
                edit(&mut a.filter, &key);
                if let Some(Dialog::History { selected, detail }) = app.dialogs.last_mut() {
                    *selected = 0;
                    *detail = false;
                }
            }
        }
        return;
    }
    let Some(Dialog::History { selected, detail }) = app.dialogs.last_mut() else {
        return;
    };
    let last = count.saturating_sub(1);
    if *detail {
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') | KeyCode::Backspace => {
                *detail = false
            }
            KeyCode::Char('j') | KeyCode::Down => *selected = (*selected + 1).min(last),
            KeyCode::Char('k') | KeyCode::Up => *selected = selected.saturating_sub(1),
            _ => {}
        }
        return;
    }
    match key.code {
        KeyCode::Char('/') => {
            if let Some(a) = app.activity.as_mut() {
                a.editing = true;
            }
        }
        KeyCode::Char('j') | KeyCode::Down => *selected = (*selected + 1).min(last),
        KeyCode::Char('k') | KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::PageDown => *selected = (*selected + page).min(last),
        KeyCode::PageUp => *selected = selected.saturating_sub(page),
        KeyCode::Char('g') | KeyCode::Home => *selected = 0,
        KeyCode::Char('G') | KeyCode::End => *selected = last,
        KeyCode::Enter if count > 0 => *detail = true,
        KeyCode::Char('n') => more(app, cmds),
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('h') => {
            app.dialogs.pop();
        }
        _ => {}
    }
}
