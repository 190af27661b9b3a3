//! Caller-check settings: profile keys, defaults, the flag, and their checks.

use std::collections::HashMap;
use std::path::Path;

use clap::Parser;
use mfadesk::config::{
    CliOptions, ConfigError, Paths, Settings, list_profiles, load_config, resolve,
};
use mfadesk::policy::{GuardedAction, RequiredChecks};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: CliOptions,
}

fn parse(args: &[&str]) -> Result<CliOptions, clap::Error> {
    Cli::try_parse_from(std::iter::once("mfadesk").chain(args.iter().copied())).map(|c| c.options)
}

fn resolve_in(dir: &Path, config: Option<&str>, cli: CliOptions) -> Result<Settings, ConfigError> {
    let mut cli = cli;
    if let Some(text) = config {
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        cli.config = Some(path);
    }
    let env: HashMap<&str, &str> = [("SECRET_VAR", "s3cret-value")].into_iter().collect();
    resolve(
        &cli,
        &|k| env.get(k).map(|v| v.to_string()),
        &Paths::new(dir.join("cfg"), dir.join("data")),
    )
}

const PROFILE: &str = r#"
default_profile = "prod"
[profiles.prod]
subdomain = "acme"
client_id = "id"
client_secret_env = "SECRET_VAR"
caller_check_minutes = 30
require_caller_check = ["remove", "enroll_verified"]
read_only_caller_check = false
caller_check_shared = true
"#;

const BARE: &str = r#"
default_profile = "prod"
[profiles.prod]
subdomain = "acme"
client_id = "id"
client_secret_env = "SECRET_VAR"
"#;

fn set(actions: &[GuardedAction]) -> RequiredChecks {
    actions.iter().copied().collect()
}

#[test]
fn defaults_are_fifteen_minutes_nothing_required_and_allowed_read_only() {
    let dir = tempfile::tempdir().unwrap();
    for config in [None, Some(BARE)] {
        let s = resolve_in(dir.path(), config, CliOptions::default()).unwrap();
        assert_eq!(s.caller_check_minutes, 15);
        assert!(s.require_caller_check.is_empty());
        assert!(s.read_only_caller_check);
        assert!(
            !s.caller_check_shared,
            "another session's check counts only when asked"
        );
    }
}

#[test]
fn the_profile_sets_all_three_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = resolve_in(dir.path(), Some(PROFILE), CliOptions::default()).unwrap();
    assert_eq!(s.caller_check_minutes, 30);
    assert_eq!(
        s.require_caller_check,
        set(&[GuardedAction::Remove, GuardedAction::EnrollVerified])
    );
    assert!(
        s.require_caller_check
            .contains(GuardedAction::EnrollVerified)
    );
    assert!(!s.require_caller_check.contains(GuardedAction::Token));
    assert!(!s.read_only_caller_check);
    assert!(s.caller_check_shared);
}

#[test]
fn the_flag_takes_a_comma_list_and_adds_to_the_profile() {
    let cli = parse(&["--require-caller-check", "remove,token,enroll_verified"]).unwrap();
    assert_eq!(
        cli.require_caller_check,
        vec![
            GuardedAction::Remove,
            GuardedAction::Token,
            GuardedAction::EnrollVerified
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let cli = parse(&["--require-caller-check", "token"]).unwrap();
    let s = resolve_in(dir.path(), Some(PROFILE), cli).unwrap();
    assert_eq!(
        s.require_caller_check,
        set(&[
            GuardedAction::Remove,
            GuardedAction::Token,
            GuardedAction::EnrollVerified
        ])
    );
}

#[test]
fn the_flag_applies_to_the_demo_tenant_which_otherwise_requires_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = resolve_in(dir.path(), None, parse(&["--demo"]).unwrap()).unwrap();
    assert!(s.is_demo());
    assert!(s.require_caller_check.is_empty());
    let cli = parse(&["--demo", "--require-caller-check", "remove"]).unwrap();
    let s = resolve_in(dir.path(), Some(PROFILE), cli).unwrap();
    assert!(s.is_demo());
    assert_eq!(s.require_caller_check, set(&[GuardedAction::Remove]));
    assert_eq!(s.caller_check_minutes, 15);
}

#[test]
fn an_unknown_action_is_refused_by_name() {
    let err = parse(&["--require-caller-check", "remove,delete"])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("delete"), "{err}");
    assert!(err.contains("enroll_verified"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let text = BARE.replace(
        "client_secret_env",
        "require_caller_check = [\"remove\", \"reset\"]\nclient_secret_env",
    );
    let err = resolve_in(dir.path(), Some(&text), CliOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("reset") && err.contains("enroll_verified"),
        "{err}"
    );
}

#[test]
fn minutes_must_be_between_one_and_a_day() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "1441"] {
        let text = BARE.replace(
            "client_secret_env",
            &format!("caller_check_minutes = {bad}\nclient_secret_env"),
        );
        let err = resolve_in(dir.path(), Some(&text), CliOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("caller_check_minutes"), "{err}");
    }
    let text = BARE.replace(
        "client_secret_env",
        "caller_check_minutes = -5\nclient_secret_env",
    );
    assert!(resolve_in(dir.path(), Some(&text), CliOptions::default()).is_err());
}

#[test]
fn profiles_list_shows_the_caller_check_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, PROFILE).unwrap();
    let cli = CliOptions {
        config: Some(path),
        ..Default::default()
    };
    let loaded = load_config(&cli, &Paths::new(dir.path(), dir.path())).unwrap();
    let text = list_profiles(&loaded);
    assert!(
        text.contains("caller check before remove,enroll_verified"),
        "{text}"
    );
    assert!(text.contains("caller check valid 30 min"), "{text}");
    assert!(text.contains("no caller checks when read-only"), "{text}");
}
