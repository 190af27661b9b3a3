//! Hostile input: validators, the query parser and the text helpers never panic on any string,
//! and API text holding escape sequences or absurd lengths draws harmlessly on the real console.

mod support;

use std::path::PathBuf;

use crossterm::event::KeyCode;
use proptest::prelude::*;
use ratatui::buffer::Buffer;
use unicode_width::UnicodeWidthStr;

use mfadesk::app::{query, validate};
use mfadesk::sim::SimConfig;
use mfadesk::ui::text::{clean, fit, pad};
use support::{Console, Options};

/// Strings rich in what breaks terminals and width arithmetic.
fn nasty() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "\x1b]52;c;ZXZpbA==\x07",
        "\x1b[2J",
        "\x1b[31m",
        "\u{9b}",
        "\r\n",
        "\t",
        "\u{0}",
        "\u{7f}",
        "\u{200b}",
        "\u{202e}",
        "\u{200d}",
        "\u{fe0f}",
        "\u{301}",
        "❤",
        "👩‍👩‍👧",
        "🇳🇿",
        "日本",
        "ｶ",
        "e\u{301}",
        "a",
        " ",
        ":",
        "*",
        "@",
        ",",
        "+",
        "0",
        "9",
        "{{otp_code}}",
        "{{expiration}}",
        "email:",
        "id:",
    ]);
    prop_oneof![
        prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat()),
        any::<String>(),
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn query_parse_never_panics(text in nasty()) {
        if let Ok(queries) = query::parse(&text) {
            prop_assert!(!queries.is_empty());
            prop_assert!(queries.iter().all(|q| q.limit == Some(query::PAGE_SIZE)));
        }
    }

    #[test]
    fn e164_accepts_only_e164(text in nasty()) {
        if validate::e164(&text).is_ok() {
            let t = text.trim();
            let digits = &t[1..];
            prop_assert!(t.starts_with('+'));
            prop_assert!((8..=15).contains(&digits.len()));
            prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0'));
        }
    }

    #[test]
    fn e164_accepts_every_valid_number(cc in 1u8..=9, rest in "[0-9]{7,14}") {
        let number = format!("+{cc}{rest}");
        prop_assert!(validate::e164(&number).is_ok(), "{} refused", number);
    }

    #[test]
    fn state_token_lifetime_is_in_range(text in nasty(), n in any::<i64>()) {
        for t in [text, n.to_string()] {
            if let Ok(secs) = validate::state_token_expires_in(&t) {
                prop_assert!((120..=900).contains(&secs));
            }
        }
    }

    #[test]
    fn sms_checks_never_panic(template in nasty(), numeric in any::<bool>(), secs in any::<u32>()) {
        let len = validate::sms_length(&template, numeric, secs);
        match validate::sms_template(&template, numeric, secs) {
            Ok(()) => prop_assert!(len <= validate::SMS_MAX),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn mask_phone_hides_the_middle(text in nasty()) {
        let masked = validate::mask_phone(&text);
        let n = text.chars().count();
        prop_assert_eq!(masked.chars().count(), n);
        if n > 6 {
            let tail: String = text.chars().skip(n - 4).collect();
            prop_assert!(masked.ends_with(&tail));
        }
    }

    #[test]
    fn clean_leaves_no_control_character(text in nasty()) {
        prop_assert!(!clean(&text).chars().any(char::is_control));
    }

    #[test]
    fn fit_never_exceeds_the_width(text in nasty(), width in 0usize..50) {
        let out = fit(&text, width);
        prop_assert!(out.width() <= width, "{:?} → {:?} is {} wide, limit {}", text, out, out.width(), width);
        prop_assert!(!out.chars().any(char::is_control));
        if clean(&text).width() <= width {
            prop_assert_eq!(out, clean(&text));
        } else if width > 0 {
            prop_assert!(out.ends_with('…'));
        }
    }

    #[test]
    fn pad_is_exactly_the_width(text in nasty(), width in 0usize..50) {
        let out = pad(&text, width);
        prop_assert_eq!(out.width(), width, "{:?} → {:?}", text, out);
    }
}

// ----- API text on the real console.

const EVIL: i64 = 99_000_001;
const LONG: i64 = 99_000_002;

fn long_name() -> String {
    "Bartholomew-Maximilian ".repeat(12) + "日本語テキスト"
}

/// The demo tenant plus a user whose names carry escape sequences and one with a huge name.
fn hostile_tenant(dir: &tempfile::TempDir) -> PathBuf {
    let mut seed: serde_json::Value =
        serde_json::from_str(include_str!("../assets/demo-tenant.json")).unwrap();
    let users = seed["users"].as_array_mut().unwrap();
    let template = users[0].clone();
    let mut evil = template.clone();
    evil["id"] = EVIL.into();
    evil["firstname"] = "\x1b]52;c;ZXZpbA==\x07Evil".into();
    evil["lastname"] = "\x1b[2JWiper\x1b[31m".into();
    evil["username"] = "evil\x1b[?1049l".into();
    evil["email"] = "evil@acme.example\x07".into();
    evil["devices"] = serde_json::json!([
        {"id": 990001, "kind": "sms", "user_display_name": "\x1b[2J\x1b]0;pwned\x07phone",
         "active": true, "default": true, "phone_number": "+14155550777"},
        {"id": 990002, "kind": "authenticator", "user_display_name": "tab\there\nnewline\r",
         "active": false}
    ]);
    let mut long = template;
    long["id"] = LONG.into();
    long["firstname"] = long_name().into();
    long["lastname"] = "Z".repeat(300).into();
    long["email"] = format!("{}@acme.example", "very.long.address".repeat(10)).into();
    long["devices"] = serde_json::json!([
        {"id": 990003, "kind": "voice", "user_display_name": "W".repeat(500),
         "active": true, "default": true, "phone_number": "+14155550778"}
    ]);
    users.push(evil);
    users.push(long);
    let path = dir.path().join("tenant.json");
    std::fs::write(&path, serde_json::to_string(&seed).unwrap()).unwrap();
    path
}

/// Fails if any cell of the drawn screen holds a control character.
fn assert_no_control(buffer: &Buffer, what: &str) {
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            let sym = buffer[(x, y)].symbol();
            assert!(
                !sym.chars().any(char::is_control),
                "{what}: cell ({x},{y}) holds {sym:?}"
            );
        }
    }
}

fn is_box(s: &str) -> bool {
    matches!(s, "│" | "┌" | "┐" | "└" | "┘" | "─")
}

/// The pane frames: outer edges on every body row, and the two inner edges unless a dialog or the
/// phone panel covers them.
fn assert_borders(buffer: &Buffer, dialog: bool, what: &str) {
    let (w, h) = (buffer.area.width, buffer.area.height);
    let row = |y: u16| -> String { (0..w).map(|x| buffer[(x, y)].symbol()).collect() };
    let top = row(1);
    let split = top
        .chars()
        .collect::<Vec<_>>()
        .windows(2)
        .position(|p| p == ['┐', '┌']);
    let split = match split {
        Some(x) => x as u16,
        None if dialog => 0,
        None => panic!("{what}: no pane split on the top row: {top}"),
    };
    for y in 1..h - 2 {
        let edges = if dialog {
            vec![0, w - 1]
        } else {
            vec![0, split, split + 1, w - 1]
        };
        for x in edges {
            assert!(
                is_box(buffer[(x, y)].symbol()),
                "{what}: border broken at ({x},{y}):\n{}",
                (1..h - 2).map(row).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

async fn check_screen(c: &mut Console, what: &str, dialog: bool) {
    c.wait_idle().await;
    let buffer = c.buffer();
    assert_no_control(&buffer, what);
    assert_borders(&buffer, dialog, what);
}

async fn hostile_names_draw_harmlessly(size: (u16, u16)) {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        size,
        sim: SimConfig {
            tenant: Some(hostile_tenant(&dir)),
            ..SimConfig::default()
        },
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    let at = format!("{}×{}", size.0, size.1);
    c.key(KeyCode::Char('/'));
    c.type_text(&format!("id:{EVIL},{LONG}"));
    c.key(KeyCode::Enter);
    c.wait_text("2 users").await;
    check_screen(&mut c, &format!("{at} results"), false).await;
    let s = c.screen();
    assert!(s.contains("�]52;c;") && s.contains("Bartholome"), "{s}");
    assert!(s.contains('…'), "long names are cut with an ellipsis:\n{s}");

    // The escape-laden user, its devices, dialogs and the demo phone.
    c.key(KeyCode::Enter);
    c.wait_text("── Enrolled").await;
    c.wait_for("devices", |s| s.contains("active") && s.contains("pending"))
        .await;
    check_screen(&mut c, &format!("{at} evil user"), false).await;
    for (key, title) in [('d', "Remove device"), ('t', "Send to"), ('?', "Help")] {
        c.key(KeyCode::Char(key));
        c.wait_text(title).await;
        check_screen(&mut c, &format!("{at} dialog {title}"), true).await;
        c.key(KeyCode::Esc);
        c.wait_for("closed", |s| !s.contains(title)).await;
    }
    c.key(KeyCode::Char('p'));
    c.wait_text("Demo phone").await;
    check_screen(&mut c, &format!("{at} phone panel"), true).await;
    c.key(KeyCode::Char('p'));

    // The long user.
    c.key(KeyCode::BackTab);
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Enter);
    c.wait_for("long user open", |s| {
        s.contains("── Enrolled") && s.contains("\"WW") && s.contains("┌ Bartholomew")
    })
    .await;
    check_screen(&mut c, &format!("{at} long user"), false).await;
    // `v` on an active device checks the caller with it.
    c.key(KeyCode::Char('v'));
    c.wait_text("Check caller").await;
    check_screen(&mut c, &format!("{at} verify long"), true).await;
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary").await;
    check_screen(&mut c, &format!("{at} token long"), true).await;
    c.key(KeyCode::Esc);
    c.wait_for("closed", |s| !s.contains("Issue a temporary"))
        .await;
    c.quit().await;
}

#[tokio::test]
async fn hostile_names_draw_harmlessly_at_80x24() {
    hostile_names_draw_harmlessly((80, 24)).await;
}

#[tokio::test]
async fn hostile_names_draw_harmlessly_at_120x40() {
    hostile_names_draw_harmlessly((120, 40)).await;
}
