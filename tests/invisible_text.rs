//! Invisible characters from the API (zero-width, word joiner, BOM, soft hyphen, line and
//! paragraph separators) are drawn as a visible U+FFFD: `kel\u{200B}ly` never looks like `kelly`.

mod support;

use crossterm::event::KeyCode;
use mfadesk::sim::SimConfig;
use support::{Console, Options};

const SPOOF: i64 = 36299001;
const HIDDEN: [char; 8] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{2028}', '\u{2029}', '\u{00AD}',
];

fn tenant(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let mut seed: serde_json::Value =
        serde_json::from_str(include_str!("../assets/demo-tenant.json")).unwrap();
    let users = seed["users"].as_array_mut().unwrap();
    let mut spoof = users[0].clone();
    spoof["id"] = SPOOF.into();
    spoof["firstname"] = "Kel\u{200B}ly".into();
    spoof["lastname"] = "Sla\u{00AD}ter\u{2060}".into();
    spoof["username"] = "kel\u{FEFF}ly".into();
    spoof["email"] = "kel\u{200C}ly@acme.example\u{2028}".into();
    spoof["devices"] = serde_json::json!([
        {"id": 990101, "kind": "sms", "user_display_name": "Kel\u{200D}ly's\u{2029}phone",
         "active": true, "default": true, "phone_number": "+14155550779"}
    ]);
    users.push(spoof);
    let path = dir.path().join("tenant.json");
    std::fs::write(&path, serde_json::to_string(&seed).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn invisible_characters_are_drawn_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sim: SimConfig {
            tenant: Some(tenant(&dir)),
            ..SimConfig::default()
        },
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    c.key(KeyCode::Char('/'));
    c.type_text(&format!("id:{SPOOF}"));
    c.key(KeyCode::Enter);
    c.wait_text("Kel\u{FFFD}ly").await;
    c.key(KeyCode::Enter);
    let s = c
        .wait_for("devices", |s| {
            s.contains("── Enrolled") && s.contains("active")
        })
        .await;
    assert!(s.contains("Kel\u{FFFD}ly Sla\u{FFFD}ter\u{FFFD}"), "{s}");
    assert!(s.contains("Kel\u{FFFD}ly's\u{FFFD}phone"), "{s}");
    assert!(
        !s.contains("Kelly"),
        "nothing reads as the real Kelly:\n{s}"
    );
    let buffer = c.buffer();
    for cell in buffer.content() {
        assert!(
            !cell.symbol().chars().any(|ch| HIDDEN.contains(&ch)),
            "a cell holds {:?}",
            cell.symbol()
        );
    }
    c.quit().await;
}
