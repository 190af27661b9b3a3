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

#[test]
fn no_printable_key_removes_a_device() {
    use mfadesk::app::dialogs::RemoveButton;
    let mut app = app_with_kelly();
    ch(&mut app, 'd');
    let Some(Dialog::Remove(d)) = app.dialogs.last() else {
        panic!("remove dialog open");
    };
    assert_eq!(d.button, RemoveButton::Cancel, "opens on Cancel");
    for c in ['y', 'Y', 'r', ' ', 'd'] {
        assert!(requests(&ch(&mut app, c)).is_empty(), "{c:?} removed");
    }
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "Enter on Cancel keeps the device"
    );
    assert!(app.dialogs.is_empty(), "Enter on Cancel closes the dialog");
    ch(&mut app, 'd');
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Left);
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "← went back to Cancel"
    );
    ch(&mut app, 'd');
    tab(&mut app);
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, mfadesk::worker::ApiRequest::Remove { .. }));
}

#[test]
fn a_push_is_sent_only_after_the_dialog_says_where_and_enter_confirms() {
    let mut app = app_with_kelly();
    app.credential_probed = true;
    let row = app
        .user
        .as_ref()
        .unwrap()
        .devices
        .as_ref()
        .unwrap()
        .iter()
        .position(|d| d.id.0 == "1003")
        .unwrap();
    app.user.as_mut().unwrap().device_sel = row;
    assert!(requests(&enter(&mut app)).is_empty(), "Enter sends no push");
    let text = screen(&app, 100, 30);
    assert!(
        text.contains("Send a push to OneLogin Protect"),
        "the dialog names the device:\n{text}"
    );
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, mfadesk::worker::ApiRequest::Trigger { .. }));
}
