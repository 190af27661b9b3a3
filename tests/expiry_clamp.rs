//! The console never counts down (or polls) past what it asked for, whatever expiry a server
//! sends: a state token "valid until 2999" lasts the requested seconds.

use chrono::{Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use mfadesk::api::{DeviceId, OtpDevice, Secret, TriggerResult, User};
use mfadesk::app::dialogs::Dialog;
use mfadesk::app::{App, Cmd, Focus, Msg, TenantInfo, UserView, update};
use mfadesk::worker::{ApiEvent, ApiRequest, ApiResponse};

fn app_with_sms() -> App {
    let mut app = App::new(TenantInfo::default(), Utc::now());
    app.user = Some(UserView {
        user: User {
            id: 7,
            firstname: Some("Kelly".into()),
            ..User::default()
        },
        devices: Some(vec![OtpDevice {
            id: DeviceId("1".into()),
            active: true,
            default: true,
            needs_trigger: true,
            auth_factor_name: "OneLogin SMS".into(),
            type_display_name: None,
            user_display_name: None,
            phone_number: Some("+14155550123".into()),
            state_token: None,
        }]),
        factors: Some(Vec::new()),
        devices_error: None,
        factors_error: None,
        device_sel: 0,
        factor_sel: 0,
        select_after_load: None,
    });
    app.focus = Focus::Devices;
    app
}

#[test]
fn a_state_token_valid_until_2999_counts_down_only_what_was_asked() {
    let mut app = app_with_sms();
    let mut cmds = update(&mut app, Msg::Key(KeyEvent::from(KeyCode::Char('t'))));
    cmds.extend(update(&mut app, Msg::Key(KeyEvent::from(KeyCode::Enter))));
    let (id, asked) = cmds
        .iter()
        .find_map(|c| match c {
            Cmd::Request(id, ApiRequest::Trigger { expires_in, .. }) => Some((*id, *expires_in)),
            _ => None,
        })
        .expect("a trigger was sent");
    let asked = i64::from(asked.unwrap_or(120));
    let far = Utc.with_ymd_and_hms(2999, 1, 1, 0, 0, 0).unwrap();
    let event = ApiEvent {
        id,
        response: ApiResponse::Triggered(Ok(TriggerResult {
            device_id: DeviceId("1".into()),
            state_token: Secret::new("state-token-abcdef"),
            state_token_expires_at: Some(far),
            message: "SMS token sent".into(),
        })),
        rate_limit: None,
        meta: Default::default(),
        mfa_api: None,
    };
    update(&mut app, Msg::Api(Box::new(event)));
    let expires = app
        .dialogs
        .iter()
        .find_map(|d| match d {
            Dialog::Verify(v) => v.expires_at,
            _ => None,
        })
        .expect("the verify dialog has a countdown");
    assert!(expires <= app.now + Duration::seconds(asked), "{expires}");
}
