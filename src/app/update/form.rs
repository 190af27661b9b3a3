//! Helpers the dialog forms share: their keys and the ticket or reason field.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use crate::app::App;

/// Enter submits a dialog.
pub(super) fn is_submit(key: &KeyEvent) -> bool {
    key.code == KeyCode::Enter
}

/// Tab moves forward (`Some(false)`), Shift-Tab and BackTab back (`Some(true)`).
pub(super) fn is_tab(key: &KeyEvent) -> Option<bool> {
    match key.code {
        KeyCode::Tab => Some(key.modifiers.contains(KeyModifiers::SHIFT)),
        KeyCode::BackTab => Some(true),
        _ => None,
    }
}

/// A ticket or reason field, when the tenant profile asks for one.
pub(super) fn reason_input(app: &App) -> Option<Input> {
    // A walkthrough asked once at its start: its dialogs carry that reason.
    let asked = super::walk::active(app)
        .filter(|w| w.running())
        .map(|w| Input::new(w.reason_text()));
    app.tenant.require_reason.then(|| asked.unwrap_or_default())
}

/// The reason typed: none when not asked for, an error when asked for and blank.
pub(super) fn reason_of(input: &Option<Input>) -> Result<Option<String>, ()> {
    match input {
        None => Ok(None),
        Some(i) if i.value().trim().is_empty() => Err(()),
        Some(i) => Ok(Some(i.value().trim().to_owned())),
    }
}
