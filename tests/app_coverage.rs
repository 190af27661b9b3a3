//! The Coverage view (`R`) in the console: it reads the store (no API call), changes category,
//! opens a user in one round trip, and starts a background scan even in read-only mode; the
//! scan's progress feeds the header's budget. Snapshots at 80×24 and 120×40.

mod common;

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use common::*;
use crossterm::event::{KeyCode, KeyModifiers};
use mfadesk::app::coverage::{CoverageCmd, CoverageMsg};
use mfadesk::app::dialogs::Dialog;
use mfadesk::app::{App, Cmd, Msg, update};
use mfadesk::coverage::{Report, ReportUser, ScanOutcome, ScanProgress, Summary};
use mfadesk::lane::{LanePolicy, LaneStatus};
use mfadesk::store::coverage::Category;
use mfadesk::worker::ApiRequest;

fn report(category: Category) -> Report {
    let users = match category {
        Category::Weak => vec![
            ReportUser {
                id: 36216772,
                email: Some("mick.fanning@acme.example".into()),
                name: "Mick Fanning".into(),
                status: Some(4),
                last_login: Some("2026-11-26T12:00:00.000Z".into()),
                category: Category::Weak,
                factors: vec!["OneLogin SMS".into(), "OneLogin Voice".into()],
                pending: vec![],
                read_at: Some("2026-11-28T11:00:00.000Z".into()),
            },
            ReportUser {
                id: 36216790,
                email: Some("olivia.okafor@acme.example".into()),
                name: "Olivia Okafor".into(),
                status: Some(1),
                last_login: None,
                category: Category::Weak,
                factors: vec!["OneLogin SMS".into()],
                pending: vec!["Google Authenticator".into()],
                read_at: Some("2026-11-28T11:00:00.000Z".into()),
            },
        ],
        _ => vec![ReportUser {
            id: 36216769,
            email: Some("carissa.moore@acme.example".into()),
            name: "Carissa Moore".into(),
            status: Some(1),
            last_login: Some("2026-11-26T12:00:00.000Z".into()),
            category,
            factors: vec![],
            pending: vec![],
            read_at: Some("2026-11-28T11:00:00.000Z".into()),
        }],
    };
    Report {
        tenant: Some("https://acme.onelogin.com".into()),
        scanned_at: Some("2026-11-28T11:00:00.000Z".into()),
        complete: true,
        summary: Summary {
            users: 2000,
            none: 240,
            weak: 600,
            strong: 1060,
            pending_only: 100,
            by_factor: [("OneLogin SMS".to_owned(), 700u64)].into_iter().collect(),
            locked_with_devices: 51,
            stale_90d: 412,
        },
        users,
        unread: 0,
    }
}

fn coverage_app() -> App {
    let mut app = new_app();
    app.coverage.store = Some(PathBuf::from("/tmp/acme.sqlite"));
    app
}

fn shift_r(app: &mut App) -> Vec<Cmd> {
    key_mod(app, KeyCode::Char('R'), KeyModifiers::SHIFT)
}

fn loads(cmds: &[Cmd]) -> Vec<Category> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Coverage(CoverageCmd::Load { category, .. }) => Some(*category),
            _ => None,
        })
        .collect()
}

/// The view open on the weak users, as read from the store.
fn weak_view() -> App {
    let mut app = coverage_app();
    shift_r(&mut app);
    key(&mut app, KeyCode::Right);
    update(
        &mut app,
        Msg::Coverage(CoverageMsg::Report(Ok(report(Category::Weak)))),
    );
    app
}

#[test]
fn r_opens_coverage_from_the_store_without_an_api_call() {
    let mut app = coverage_app();
    let cmds = shift_r(&mut app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::Coverage)));
    assert_eq!(loads(&cmds), vec![Category::None]);
    assert!(
        requests(&cmds).is_empty(),
        "reading the report calls nothing"
    );
    update(
        &mut app,
        Msg::Coverage(CoverageMsg::Report(Ok(report(Category::None)))),
    );
    assert_eq!(app.coverage.report.as_ref().unwrap().summary.users, 2000);
    // Next category: the store is read again for its users.
    let cmds = key(&mut app, KeyCode::Right);
    assert_eq!(loads(&cmds), vec![Category::Weak]);
    let cmds = key(&mut app, KeyCode::Left);
    assert_eq!(loads(&cmds), vec![Category::None]);
    // q closes it.
    ch(&mut app, 'q');
    assert!(app.dialogs.is_empty());
}

#[test]
fn enter_opens_the_highlighted_user_in_one_round_trip() {
    let mut app = weak_view();
    ch(&mut app, 'j');
    let cmds = enter(&mut app);
    assert!(app.dialogs.is_empty(), "the normal view is back");
    assert_eq!(app.user.as_ref().unwrap().user.id, 36216790);
    let reqs: Vec<ApiRequest> = requests(&cmds).into_iter().map(|(_, r)| r).collect();
    assert!(reqs.contains(&ApiRequest::GetUser(36216790)));
    assert!(reqs.contains(&ApiRequest::GetDevices(36216790)));
    assert!(reqs.contains(&ApiRequest::GetFactors(36216790)));
    // All sent at once: nothing waits for another answer.
    assert!(reqs.len() >= 3);
}

#[test]
fn s_scans_in_the_background_even_read_only_and_the_header_shows_what_it_leaves() {
    let mut app = coverage_app();
    app.tenant.read_only = true;
    app.coverage.policy = LanePolicy::new(0.25, Some(500)).unwrap();
    shift_r(&mut app);
    let cmds = ch(&mut app, 's');
    let scans: Vec<&CoverageCmd> = cmds
        .iter()
        .filter_map(|c| match c {
            Cmd::Coverage(c @ CoverageCmd::Scan { .. }) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(
        scans,
        vec![&CoverageCmd::Scan {
            store: PathBuf::from("/tmp/acme.sqlite"),
            policy: LanePolicy::new(0.25, Some(500)).unwrap(),
        }]
    );
    assert!(app.coverage.scanning());
    // A second s does not start another scan.
    let cmds = ch(&mut app, 's');
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Cmd::Coverage(CoverageCmd::Scan { .. })))
    );

    update(
        &mut app,
        Msg::Coverage(CoverageMsg::Progress(ScanProgress {
            read: 500,
            total: 2000,
            listed: 2000,
            calls: 520,
            lane: LaneStatus {
                limit: Some(5000),
                remaining: Some(3100),
                spent: 520,
                allowance: Some(1250),
                reserve: Some(500),
                reset_in: Some(StdDuration::from_secs(1200)),
                paused_for: None,
            },
            refresh: false,
        })),
    );
    let rl = app.rate_limit.unwrap();
    assert_eq!((rl.limit, rl.remaining), (Some(5000), Some(3100)));
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("API 3 100/5 000"), "{shown}");
    assert!(shown.contains("scan 500/2000 users"), "{shown}");

    // The agent keeps working meanwhile: the view closes, search still goes out at once.
    key(&mut app, KeyCode::Esc);
    assert!(app.dialogs.is_empty());
    ch(&mut app, '/');
    type_text(&mut app, "kelly");
    let cmds = enter(&mut app);
    assert_eq!(requests(&cmds).len(), 1);

    let cmds = update(
        &mut app,
        Msg::Coverage(CoverageMsg::Done(Ok(ScanOutcome {
            pass: 1,
            complete: true,
            calls: 2020,
            failed: 0,
            last_error: None,
            refresh: false,
        }))),
    );
    assert!(!app.coverage.scanning());
    assert!(app.status.as_ref().unwrap().text.contains("2020 API calls"));
    // The view is closed: nothing to reload.
    assert!(loads(&cmds).is_empty());
}

#[test]
fn a_store_error_is_shown_not_swallowed() {
    let mut app = coverage_app();
    shift_r(&mut app);
    update(
        &mut app,
        Msg::Coverage(CoverageMsg::Report(Err(
            "cannot open the store x: denied".into()
        ))),
    );
    assert!(screen(&app, 80, 24).contains("cannot open the store"));
}

#[test]
fn coverage_view_snapshots() {
    let mut app = weak_view();
    insta::assert_snapshot!("coverage_80x24", screen(&app, 80, 24));
    insta::assert_snapshot!("coverage_120x40", screen(&app, 120, 40));
    ch(&mut app, 's');
    update(
        &mut app,
        Msg::Coverage(CoverageMsg::Progress(ScanProgress {
            read: 1500,
            total: 2000,
            listed: 2000,
            calls: 1520,
            lane: LaneStatus {
                limit: Some(5000),
                remaining: Some(2480),
                ..LaneStatus::default()
            },
            refresh: false,
        })),
    );
    insta::assert_snapshot!("coverage_scanning_80x24", screen(&app, 80, 24));
    insta::assert_snapshot!("coverage_scanning_120x40", screen(&app, 120, 40));
}

#[test]
fn the_open_view_follows_a_running_scan_every_few_seconds() {
    let mut app = weak_view();
    ch(&mut app, 's');
    let progress = |read| {
        Msg::Coverage(CoverageMsg::Progress(ScanProgress {
            read,
            total: 2000,
            ..ScanProgress::default()
        }))
    };
    // Just read: no second store read yet.
    assert!(loads(&update(&mut app, progress(10))).is_empty());
    app.now = now() + secs(6);
    assert_eq!(loads(&update(&mut app, progress(20))), vec![Category::Weak]);
    // One read at a time.
    assert!(loads(&update(&mut app, progress(30))).is_empty());
    // Closed view: nothing is read.
    update(
        &mut app,
        Msg::Coverage(CoverageMsg::Report(Ok(report(Category::Weak)))),
    );
    key(&mut app, KeyCode::Esc);
    app.now = now() + secs(60);
    assert!(loads(&update(&mut app, progress(40))).is_empty());
}
