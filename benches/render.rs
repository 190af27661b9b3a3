//! Frame time of the main screen with a large result list and a long device list.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mfadesk::api::{AuthFactor, DeviceId, OtpDevice, RateLimit, User};
use mfadesk::app::{App, Focus, TenantInfo, UserView};
use mfadesk::ui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn users(n: i64) -> Vec<User> {
    (0..n)
        .map(|i| User {
            id: 10_000_000 + i,
            firstname: Some(format!("First{i}")),
            lastname: Some(format!("Lastname-{i}")),
            email: Some(format!("user{i}@acme.example.com")),
            status: Some([1, 1, 1, 3, 2][i as usize % 5]),
            ..User::default()
        })
        .collect()
}

fn devices(n: usize) -> Vec<OtpDevice> {
    (0..n)
        .map(|i| {
            let phone = i % 3 != 2;
            OtpDevice {
                id: DeviceId(format!("{}", 5_000 + i)),
                active: i % 4 != 0,
                default: i == 0,
                needs_trigger: phone,
                auth_factor_name: if phone {
                    "OneLogin SMS".into()
                } else {
                    "Google Authenticator".into()
                },
                type_display_name: None,
                user_display_name: Some(format!("Device {i}")),
                phone_number: phone.then(|| format!("+1415555{i:04}")),
                state_token: None,
            }
        })
        .collect()
}

fn app(selected: usize) -> App {
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
    let mut app = App::new(
        TenantInfo {
            name: "acme".into(),
            base_url: "https://acme.onelogin.com".into(),
            profile: Some("prod".into()),
            ..TenantInfo::default()
        },
        now,
    );
    let results = users(10_000);
    app.user = Some(UserView {
        user: results[selected].clone(),
        devices: Some(devices(50)),
        factors: Some(vec![AuthFactor {
            factor_id: 1,
            name: "OneLogin Voice".into(),
        }]),
        devices_error: None,
        factors_error: None,
        device_sel: 25,
        factor_sel: 0,
        select_after_load: None,
    });
    app.search.query = "last:Lastname*".into();
    app.search.results = results;
    app.search.selected = selected;
    app.search.searched = true;
    app.search.total = Some(10_000);
    app.focus = Focus::Users;
    app.rate_limit = Some(RateLimit {
        limit: Some(5_000),
        remaining: Some(4_981),
        reset_secs: None,
    });
    app.size = (120, 40);
    app
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render_main_120x40_10k_results_50_devices");
    for (name, selected) in [("selection_top", 0), ("selection_end", 9_999)] {
        let app = app(selected);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                terminal.draw(|f| view(black_box(&app), f)).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
