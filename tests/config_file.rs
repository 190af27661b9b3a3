//! The config file: syntax and unknown keys, inline-secret permissions, secret sources, listing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mfadesk::config::{
    CliOptions, ConfigError, ConfigFile, LoadedConfig, Paths, Settings, Target, list_profiles,
    load_config, resolve,
};

fn write_config(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join("custom.toml");
    std::fs::write(&path, text).unwrap();
    set_mode(&path, mode);
    path
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

fn paths(dir: &Path) -> Paths {
    Paths::new(dir.join("no-config-dir"), dir.join("data"))
}

fn resolve_with(path: &Path, profile: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cli = CliOptions {
        config: Some(path.to_owned()),
        profile: Some(profile.to_owned()),
        ..Default::default()
    };
    let dir = path.parent().unwrap();
    resolve(&cli, &|k| map.get(k).cloned(), &paths(dir))
}

fn secret_of(s: &Settings) -> String {
    match &s.target {
        Target::Tenant { credentials, .. } => credentials.client_secret.expose().to_owned(),
        Target::Demo => panic!("expected a tenant"),
    }
}

const INLINE: &str = r#"
[profiles.inline]
subdomain = "acme"
client_id = "id"
client_secret = "inline-secret-value"
"#;

#[cfg(unix)]
#[test]
fn inline_secret_in_a_world_readable_file_is_refused_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), INLINE, 0o644);
    let err = resolve_with(&path, "inline", &[]).unwrap_err();
    assert!(
        matches!(err, ConfigError::InsecurePermissions { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("chmod 600 {}", path.display())),
        "{msg}"
    );
    assert!(msg.contains("client_secret_env"), "{msg}");
    assert!(!msg.contains("inline-secret-value"), "{msg}");

    // Group-readable is refused too.
    set_mode(&path, 0o640);
    assert!(resolve_with(&path, "inline", &[]).is_err());
}

#[test]
fn inline_secret_in_an_owner_only_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), INLINE, 0o600);
    let s = resolve_with(&path, "inline", &[]).unwrap();
    assert_eq!(secret_of(&s), "inline-secret-value");
}

#[test]
fn a_world_readable_file_without_inline_secrets_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[profiles.p]\nsubdomain = \"acme\"\nclient_id = \"id\"\nclient_secret_env = \"P_SECRET\"\n";
    let path = write_config(dir.path(), text, 0o644);
    let s = resolve_with(&path, "p", &[("P_SECRET", "from-env-var")]).unwrap();
    assert_eq!(secret_of(&s), "from-env-var");
}

#[test]
fn missing_secret_variable_names_the_variable_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[profiles.prod]\nsubdomain = \"acme\"\nclient_id = \"id\"\nclient_secret_env = \"ONELOGIN_PROD_SECRET\"\n";
    let path = write_config(dir.path(), text, 0o644);
    let err = resolve_with(&path, "prod", &[]).unwrap_err();
    assert!(
        matches!(err, ConfigError::SecretEnvMissing { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("ONELOGIN_PROD_SECRET") && msg.contains("'prod'"),
        "{msg}"
    );
}

fn command_profile(command: &str) -> String {
    format!(
        "[profiles.cmd]\nsubdomain = \"acme\"\nclient_id = \"id\"\nclient_secret_command = {}\n",
        toml_string(command)
    )
}

/// A TOML basic string; Rust's Debug escaping is compatible for ASCII.
fn toml_string(s: &str) -> String {
    format!("{s:?}")
}

#[test]
fn secret_command_output_is_the_secret_without_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &command_profile(r#"printf "cmd-secret-value\n""#),
        0o644,
    );
    let s = resolve_with(&path, "cmd", &[]).unwrap();
    assert_eq!(secret_of(&s), "cmd-secret-value");

    let path = write_config(
        dir.path(),
        &command_profile("printf cmd-secret-no-newline"),
        0o644,
    );
    let s = resolve_with(&path, "cmd", &[]).unwrap();
    assert_eq!(secret_of(&s), "cmd-secret-no-newline");
}

#[test]
fn failing_secret_command_names_the_profile_and_hides_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &command_profile("echo leaked-stdout-text; exit 3"),
        0o644,
    );
    let err = resolve_with(&path, "cmd", &[]).unwrap_err();
    assert!(
        matches!(err, ConfigError::SecretCommandFailed { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("'cmd'") && msg.contains('3'), "{msg}");
    assert!(!msg.contains("leaked-stdout-text"), "{msg}");
    assert!(!format!("{err:?}").contains("leaked-stdout-text"));
}

#[test]
fn empty_secret_command_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &command_profile("printf '\\n'"), 0o644);
    let err = resolve_with(&path, "cmd", &[]).unwrap_err();
    assert!(
        matches!(err, ConfigError::SecretCommandOutput { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("'cmd'"));
}

#[test]
fn unknown_keys_are_named_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[profiles.p]\nsubdomain = \"acme\"\nclient_idd = \"id\"\n";
    let path = write_config(dir.path(), text, 0o600);
    let err = resolve_with(&path, "p", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("client_idd"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");

    let path = write_config(dir.path(), "colour = \"red\"\n", 0o600);
    let msg = resolve_with(&path, "p", &[]).unwrap_err().to_string();
    assert!(msg.contains("colour"), "{msg}");
}

#[test]
fn syntax_errors_show_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = "operator = \"x\"\n[profiles.p]\nsubdomain = acme\n";
    let path = write_config(dir.path(), text, 0o600);
    let err = resolve_with(&path, "p", &[]).unwrap_err();
    match &err {
        ConfigError::Parse { line, column, .. } => {
            assert_eq!(*line, Some(3));
            assert_eq!(*column, Some(13));
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(err.to_string().contains("line 3, column 13"), "{err}");
}

#[test]
fn conflicting_and_invalid_profile_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let both_urls = "[profiles.p]\nsubdomain = \"a\"\nbase_url = \"https://a.onelogin.com\"\n";
    let path = write_config(dir.path(), both_urls, 0o600);
    let msg = resolve_with(&path, "p", &[]).unwrap_err().to_string();
    assert!(
        msg.contains("base_url") && msg.contains("subdomain"),
        "{msg}"
    );

    let two_secrets = "[profiles.p]\nsubdomain = \"a\"\nclient_secret_env = \"X\"\nclient_secret_command = \"y\"\n";
    let path = write_config(dir.path(), two_secrets, 0o600);
    let msg = resolve_with(&path, "p", &[]).unwrap_err().to_string();
    assert!(msg.contains("only one source"), "{msg}");

    let escape_label = "[profiles.p]\nsubdomain = \"a\"\nlabel = \"PROD\\u001b[2J\"\n";
    let path = write_config(dir.path(), escape_label, 0o600);
    let msg = resolve_with(&path, "p", &[]).unwrap_err().to_string();
    assert!(msg.contains("label contains control characters"), "{msg}");

    let bad_color = "[profiles.p]\nsubdomain = \"a\"\ncolor = \"reddish\"\n";
    let path = write_config(dir.path(), bad_color, 0o600);
    let msg = resolve_with(&path, "p", &[]).unwrap_err().to_string();
    assert!(msg.contains("reddish"), "{msg}");
}

#[test]
fn missing_config_flag_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cli = CliOptions {
        config: Some(dir.path().join("absent.toml")),
        ..Default::default()
    };
    let err = resolve(&cli, &|_| None, &paths(dir.path())).unwrap_err();
    assert!(matches!(err, ConfigError::NotFound { .. }), "{err:?}");
}

#[test]
fn config_flag_beats_the_default_location() {
    let dir = tempfile::tempdir().unwrap();
    let p = Paths::new(dir.path().join("cfg"), dir.path().join("data"));
    std::fs::create_dir_all(&p.config_dir).unwrap();
    std::fs::write(p.config_file(), "operator = \"from-default\"\n").unwrap();
    let other = write_config(dir.path(), "operator = \"from-flag\"\n", 0o600);

    let s = resolve(&CliOptions::default(), &|_| None, &p).unwrap();
    assert_eq!(s.operator, "from-default");
    let cli = CliOptions {
        config: Some(other),
        ..Default::default()
    };
    assert_eq!(resolve(&cli, &|_| None, &p).unwrap().operator, "from-flag");
}

const MANY: &str = r#"
default_profile = "prod"
[profiles.prod]
subdomain = "acme"
client_id = "prod-id"
client_secret_env = "ONELOGIN_PROD_SECRET"
read_only = true
label = "PRODUCTION"
color = "red"
require_reason = true

[profiles.cmd]
base_url = "https://acme-test.onelogin.com"
client_id = "cmd-id"
client_secret_command = "printf listing-command-secret"

[profiles.inline]
subdomain = "lab"
client_id = "inline-id"
client_secret = "listing-inline-secret"

[profiles.bare]
subdomain = "bare"
"#;

#[test]
fn list_profiles_says_where_secrets_come_from_and_never_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), MANY, 0o600);
    let cli = CliOptions {
        config: Some(path.clone()),
        ..Default::default()
    };
    let loaded = load_config(&cli, &paths(dir.path())).unwrap();
    let text = list_profiles(&loaded);
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("prod (default)"), "{text}");
    assert!(text.contains("env ONELOGIN_PROD_SECRET"), "{text}");
    assert!(text.contains("secret:     command"), "{text}");
    assert!(text.contains("secret:     in file"), "{text}");
    assert!(text.contains("secret:     none"), "{text}");
    assert!(text.contains("https://acme.onelogin.com"), "{text}");
    assert!(text.contains("read-only"), "{text}");
    assert!(text.contains("PRODUCTION"), "{text}");
    assert!(!text.contains("listing-inline-secret"), "{text}");
    assert!(!text.contains("listing-command-secret"), "{text}");
    assert!(!text.contains("printf"), "{text}");
    // Listing never runs the command.
    assert!(!format!("{loaded:?}").contains("listing-inline-secret"));
}

#[test]
fn list_profiles_without_a_file_says_so() {
    let loaded = LoadedConfig {
        path: PathBuf::from("/nowhere/config.toml"),
        file: None,
    };
    let text = list_profiles(&loaded);
    assert!(
        text.contains("No config file at /nowhere/config.toml"),
        "{text}"
    );
    let empty = LoadedConfig {
        path: PathBuf::from("/x/config.toml"),
        file: Some(ConfigFile::default()),
    };
    assert!(list_profiles(&empty).contains("No profiles"));
}

#[test]
fn british_colour_and_a_longer_env_key_are_accepted() {
    let text = "[profiles.prod]\nsubdomain = \"acme\"\nclient_id = \"id\"\nclient_secret_env_var = \"PROD_SECRET\"\ncolour = \"red\"\n";
    let file = mfadesk::config::ConfigFile::parse(text, std::path::Path::new("c.toml")).unwrap();
    let p = &file.profiles["prod"];
    assert_eq!(p.color.as_deref(), Some("red"));
    assert_eq!(p.client_secret_env.as_deref(), Some("PROD_SECRET"));
}
