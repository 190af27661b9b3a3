//! The search box: its keys, running a search, paging through the results.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use crate::api::ApiError;
use crate::app::dialogs::{edit, replace_if_fresh};
use crate::app::query;
use crate::app::{App, Cmd, Focus, Purpose};
use crate::worker::{ApiRequest, SearchResult};

/// The longest search sent (a longer one is refused before anything is sent).
const SEARCH_MAX_CHARS: usize = 256;

/// Rows from the end of the list at which the next page is fetched.
const PAGE_AHEAD: usize = 5;

/// Keys while the search box has focus.
pub(super) fn search_key(app: &mut App, key: KeyEvent, cmds: &mut Vec<Cmd>) {
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

/// Runs the query in the search box, replacing any search in flight.
pub(super) fn run_search(app: &mut App, cmds: &mut Vec<Cmd>) {
    let text = app.search.input.value().to_owned();
    if text.chars().count() > SEARCH_MAX_CHARS {
        // Refused here: nothing is sent, and the text stays for editing.
        app.search.message = Some(format!("Search is at most {SEARCH_MAX_CHARS} characters"));
        return;
    }
    match query::parse(&text) {
        Err(e) => app.search.message = Some(e.to_string()),
        Ok(queries) => {
            let old = (app.search.request.take(), app.search.more.take());
            app.cancel(old.0, cmds);
            app.cancel(old.1, cmds);
            app.search.merged = queries.len() > 1;
            let (id, cmd) = app.request(Purpose::Search, ApiRequest::Search(queries));
            app.search.request = Some(id);
            app.search.query = text.trim().to_owned();
            app.search.message = None;
            // A new search is the moment now: what the status said was about something else.
            if !app.quit_armed {
                app.status = None;
            }
            app.focus = Focus::Users;
            cmds.push(cmd);
        }
    }
}

/// Fetches the next page once the selection nears the end of the results.
pub(super) fn maybe_fetch_more(app: &mut App, cmds: &mut Vec<Cmd>) {
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

/// Takes the answer to a new search: the first page of results.
pub(super) fn on_search(app: &mut App, r: Result<SearchResult, ApiError>) {
    app.search.request = None;
    app.search.searched = true;
    app.search.failed = false;
    match r {
        Ok(SearchResult { users, next, total }) => {
            app.search.message = users.is_empty().then(|| query::no_match(&app.search.query));
            app.search.results = users;
            app.search.next = next;
            app.search.total = total;
            app.search.selected = 0;
        }
        Err(e) => {
            // No row of an earlier query may stay on screen or be opened under the new one.
            app.search.results.clear();
            app.search.next.clear();
            app.search.total = None;
            app.search.selected = 0;
            app.search.failed = true;
            app.search.message = Some(format!("r to retry · {e}"));
        }
    }
}

/// Appends a further page of results, skipping users already listed.
pub(super) fn on_search_more(app: &mut App, r: Result<SearchResult, ApiError>) {
    app.search.more = None;
    match r {
        Ok(SearchResult { users, next, total }) => {
            for u in users {
                if !app.search.results.iter().any(|r| r.id == u.id) {
                    app.search.results.push(u);
                }
            }
            app.search.next = next;
            // A merged search has no single total, even when only one field has more pages.
            if !app.search.merged {
                app.search.total = app.search.total.max(total);
            }
        }
        Err(e) => {
            app.search.message = Some(format!("Could not load more results: {e}"));
        }
    }
}
