//! The shell commands print nothing raw: names, emails, ids and messages from a server are
//! cleaned as the console cleans them (control characters, escape sequences, invisible
//! characters → U+FFFD) in table form, `--json` stays lossless, and names from a config file
//! (profiles, client ids, variable names) are shown escaped.

use std::process::{Command, Output, Stdio};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use mfadesk::ui::text::{clean, escape_hidden, is_hidden};

const BIN: &str = env!("CARGO_BIN_EXE_mfadesk");

/// A name with an escape sequence, a bell, an invisible operator and a tag character.
const HOSTILE: &str = "Kel\u{2061}ly \u{1b}]0;owned\u{7}\u{1b}[31mSlater\u{E0041}";

#[test]
fn the_invisible_set_covers_what_the_attack_run_found() {
    for c in [
        '\u{2061}',
        '\u{2062}',
        '\u{2063}',
        '\u{2064}',
        '\u{180E}',
        '\u{034F}',
        '\u{115F}',
        '\u{1160}',
        '\u{3164}',
        '\u{FFA0}',
        '\u{FE00}',
        '\u{FE0F}',
        '\u{E0000}',
        '\u{E0041}',
        '\u{E007F}',
    ] {
        assert!(is_hidden(c), "U+{:04X}", u32::from(c));
    }
    assert_ne!(clean("kel\u{2061}ly"), "kelly");
    assert_eq!(clean("kel\u{2061}ly"), "kel\u{FFFD}ly");
    assert_eq!(escape_hidden("pr\u{1b}od\u{2061}"), "pr\\u{1b}od\\u{2061}");
    assert_eq!(escape_hidden("two\nlines"), "two\nlines");
    assert!(!is_hidden('é') && !is_hidden('李'));
}

async fn tenant() -> String {
    let app = Router::new().fallback(|uri: Uri| async move {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let user = serde_json::json!({
            "id": 36216766, "username": HOSTILE, "email": format!("k\u{200B}{HOSTILE}@acme.example"),
            "firstname": HOSTILE, "lastname": "Slater\u{1b}[2J", "status": 1
        });
        let body = match uri.path() {
            "/auth/oauth2/v2/token" => serde_json::json!({
                "access_token": "sanitise-access-token-1234", "expires_in": 36000, "token_type": "bearer"
            }),
            "/api/2/users" => serde_json::json!([user]),
            "/api/2/users/36216766" => user,
            p if p.ends_with("/otp_devices") => serde_json::json!({
                "status": {"type": "success", "code": 200, "message": "Success", "error": false},
                "data": {"otp_devices": [{"id": 7, "active": true, "default": true, "needs_trigger": false,
                    "auth_factor_name": HOSTILE, "user_display_name": HOSTILE}]}
            }),
            p if p.ends_with("/auth_factors") => serde_json::json!({
                "status": {"type": "success", "code": 200, "message": "Success", "error": false},
                "data": {"auth_factors": [{"factor_id": 1, "name": HOSTILE}]}
            }),
            _ => {
                return (
                    StatusCode::NOT_FOUND,
                    headers,
                    serde_json::json!({"statusCode": 404, "name": "NotFound", "message": HOSTILE})
                        .to_string(),
                );
            }
        };
        (StatusCode::OK, headers, body.to_string())
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn run(home: &std::path::Path, base: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("USER", "agent-tests")
        .env("ONELOGIN_CLIENT_ID", "sanitise-id")
        .env("ONELOGIN_CLIENT_SECRET", "sanitise-secret-0123")
        .env("ONELOGIN_BASE_URL", base)
        .args(args)
        .args(["--mfa-api", "v1"])
        .arg("--audit-log")
        .arg(home.join("audit.jsonl"))
        .arg("--log-file")
        .arg(home.join("mfadesk.log"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && is_hidden(c))
        .collect();
    assert!(raw.is_empty(), "{what} printed {raw:?}:\n{text}");
}

#[test]
fn tables_sentences_and_errors_are_cleaned_and_json_is_lossless() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = rt.block_on(tenant());
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["users", "kelly*"][..],
        &["show", "36216766"][..],
        &["verify", "36216766", "nothing-like-this"][..],
    ] {
        let o = run(home.path(), &base, args);
        assert_clean(&format!("{args:?} stdout"), &o.stdout);
        assert_clean(&format!("{args:?} stderr"), &o.stderr);
    }
    let o = run(home.path(), &base, &["show", "36216766"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Kel\u{FFFD}ly"),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // --json: the very characters, escaped as JSON requires.
    let o = run(home.path(), &base, &["show", "36216766", "--json"]);
    let raw = String::from_utf8_lossy(&o.stdout);
    assert!(raw.contains("\\u001b"), "{raw}");
    assert!(!raw.contains('\u{1b}'), "no raw ESC even in JSON");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["user"]["username"], HOSTILE);
}

#[test]
fn profile_names_client_ids_and_variable_names_are_shown_escaped() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        "[profiles.\"pr\\u001b[31mod\"]\nsubdomain = \"acme\"\nclient_id = \"id\\u2061x\"\nclient_secret_env = \"SEC\\u0007RET\"\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .env_clear()
        .env("HOME", home.path())
        .args(["profiles", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_clean("profiles", &o.stdout);
    assert!(out.contains("pr\\u{1b}[31mod"), "{out}");
    let o = Command::new(BIN)
        .env_clear()
        .env("HOME", home.path())
        .args(["users", "x", "--profile", "pr\u{1b}[31mod", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_clean("config error", &o.stderr);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\\u{1b}") || err.contains("\\u{7}"), "{err}");
}
