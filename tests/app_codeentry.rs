//! Update tests for pastes, the remove and push confirmations, and the one code-entry
//! component shared by verify, the caller check and enrollment.

mod common;

use common::*;
use crossterm::event::KeyCode;
use mfadesk::app::dialogs::Dialog;
use mfadesk::app::{Focus, Msg, PASTE_IGNORED, update};

fn paste(app: &mut mfadesk::app::App, text: &str) -> Vec<mfadesk::app::Cmd> {
    update(app, Msg::Paste(text.to_owned()))
}

#[test]
fn a_paste_with_no_text_field_focused_is_ignored_and_says_so() {
    let mut app = app_with_kelly();
    assert_eq!(app.focus, Focus::Devices);
    let cmds = paste(&mut app, "Kelly\tdy");
    assert!(cmds.is_empty(), "nothing is sent: {cmds:?}");
    assert!(app.dialogs.is_empty(), "no dialog opened");
    assert_eq!(app.status.as_ref().unwrap().text, PASTE_IGNORED);
}

#[test]
fn a_paste_goes_into_the_search_box_as_text_only() {
    let mut app = app_with_kelly();
    ch(&mut app, '/');
    let cmds = paste(&mut app, "Kel\tly\u{1b}[201~\r\nsecond line");
    assert!(cmds.is_empty(), "a paste never searches: {cmds:?}");
    assert_eq!(app.search.input.value(), "Kelly[201~");
    assert_eq!(app.focus, Focus::Search, "Tab in a paste moves no focus");
}

#[test]
fn a_paste_into_a_code_field_is_typed_text() {
    let mut app = app_with_kelly();
    // Google Authenticator takes codes directly.
    let row = app
        .user
        .as_ref()
        .unwrap()
        .devices
        .as_ref()
        .unwrap()
        .iter()
        .position(|d| !d.needs_trigger)
        .unwrap();
    app.user.as_mut().unwrap().device_sel = row;
    app.focus = Focus::Devices;
    key(&mut app, KeyCode::Char('v'));
    paste(&mut app, "288 694\n");
    let Some(Dialog::Verify(v)) = app.dialogs.last() else {
        panic!("verify dialog open: {:?}", app.dialogs);
    };
    assert_eq!(v.code.value(), "288 694");
}
