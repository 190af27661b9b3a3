//! Bracketed paste: pasted text goes into the focused text field as text, never as keys.

use tui_input::{Input, InputRequest};

use crate::app::dialogs::{Dialog, EnrollField, RemoveButton, TokenField, TriggerField};
use crate::app::*;

/// What a paste with no text field to take it says.
pub const PASTE_IGNORED: &str = "Paste ignored: no text field has focus";

/// The most characters one paste adds (a field never needs more; a huge paste stays cheap).
const PASTE_MAX_CHARS: usize = 1_024;

/// The text of a paste as a field takes it: its first line, without Tab or control characters.
pub fn paste_text(pasted: &str) -> String {
    let first = pasted
        .trim_start_matches(['\r', '\n'])
        .split(['\r', '\n'])
        .next()
        .unwrap_or("");
    first
        .chars()
        .filter(|c| !c.is_control())
        .take(PASTE_MAX_CHARS)
        .collect()
}

/// Puts a paste into the focused text field, or says that none has focus.
pub(super) fn on_paste(app: &mut App, pasted: &str) {
    let text = paste_text(pasted);
    let Some((input, fresh)) = focused_input(app) else {
        app.set_status(StatusKind::Info, PASTE_IGNORED);
        return;
    };
    if let Some(fresh) = fresh
        && std::mem::take(fresh)
    {
        // A selected value is replaced by what is pasted over it, as by typing.
        input.reset();
    }
    for c in text.chars() {
        input.handle(InputRequest::InsertChar(c));
    }
}

/// The text field that has the keyboard, and its "selected, typing replaces it" flag.
fn focused_input(app: &mut App) -> Option<(&mut Input, Option<&mut bool>)> {
    if app.too_small() {
        // Nothing is visible: no field may change unseen.
        return None;
    }
    if app.dialogs.is_empty() {
        return (app.focus == Focus::Search)
            .then_some((&mut app.search.input, Some(&mut app.search.fresh)));
    }
    let editing_filter =
        app.audit_view.editing && matches!(app.dialogs.last(), Some(Dialog::Audit { .. }));
    if editing_filter {
        return Some((&mut app.audit_view.filter, Some(&mut app.audit_view.fresh)));
    }
    let dialog = app.dialogs.last_mut()?;
    if dialog.busy().is_some() {
        return None;
    }
    match dialog {
        Dialog::Enroll(d) => match d.confirm.as_mut() {
            Some(c) => c.reason.as_mut().map(|r| (r, None)),
            None => match d.field {
                EnrollField::Name => Some((&mut d.name, None)),
                EnrollField::Phone => Some((&mut d.phone, None)),
                _ => None,
            },
        },
        Dialog::Trigger(d) => match d.field {
            TriggerField::ExpiresIn => Some((&mut d.expires_in, Some(&mut d.expires_fresh))),
            TriggerField::Template => Some((&mut d.template, None)),
            TriggerField::Numeric => None,
        },
        Dialog::Remove(d) => match d.button {
            RemoveButton::Reason => d.reason.as_mut().map(|r| (r, None)),
            _ => None,
        },
        Dialog::Token(d) => match (d.field, d.issued.is_none()) {
            (TokenField::Reason, true) => d.reason.as_mut().map(|r| (r, None)),
            _ => None,
        },
        Dialog::CallerOverride(d) => Some((&mut d.reason, None)),
        dialog => code_field(dialog),
    }
}

/// The code field of a dialog that is waiting for a typed code.
fn code_field(dialog: &mut Dialog) -> Option<(&mut Input, Option<&mut bool>)> {
    use crate::app::dialogs::{DeviceKind, RegisterMode, VerifyStage};
    let entry = match dialog {
        Dialog::Verify(d) if d.kind != DeviceKind::Push && d.stage == VerifyStage::EnterCode => {
            &mut d.code
        }
        Dialog::Register(d) if !d.ended && d.mode != RegisterMode::Protect => &mut d.code,
        _ => return None,
    };
    Some((&mut entry.input, Some(&mut entry.fresh)))
}
