//! Precedence of flags, environment, profile and demo, field by field.

use std::collections::HashMap;
use std::path::PathBuf;

use mfadesk::config::{CliOptions, ConfigError, Paths, Settings, Target, resolve};

struct Fixture {
    _dir: tempfile::TempDir,
    paths: Paths,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("config"), dir.path().join("data"));
        Fixture { _dir: dir, paths }
    }

    fn with_config(text: &str) -> Self {
        let fx = Self::new();
        std::fs::create_dir_all(&fx.paths.config_dir).unwrap();
        std::fs::write(fx.paths.config_file(), text).unwrap();
        fx
    }

    fn resolve(&self, cli: &CliOptions, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(cli, &|k| map.get(k).cloned(), &self.paths)
    }
}

fn tenant(settings: &Settings) -> (&str, &str, &str) {
    match &settings.target {
        Target::Tenant {
            base_url,
            credentials,
        } => (
            base_url.as_str(),
            credentials.client_id.as_str(),
            credentials.client_secret.expose(),
        ),
        Target::Demo => panic!("expected a tenant, got demo"),
    }
}

const FULL_ENV: &[(&str, &str)] = &[
    ("ONELOGIN_CLIENT_ID", "env-id"),
    ("ONELOGIN_CLIENT_SECRET", "env-secret-value"),
    ("ONELOGIN_SUBDOMAIN", "envsub"),
];

const PROFILES: &str = r#"
default_profile = "prod"
operator = "top-op"

[profiles.prod]
subdomain = "acme"
client_id = "prod-id"
client_secret_env = "ONELOGIN_PROD_SECRET"
read_only = true
label = "PRODUCTION"
color = "red"
require_reason = true

[profiles.staging]
base_url = "https://acme-staging.onelogin.com"
client_id = "staging-id"
client_secret_env = "ONELOGIN_STAGING_SECRET"
operator = "staging-op"
"#;

#[test]
fn nothing_configured_means_demo_with_defaults() {
    let fx = Fixture::new();
    let s = fx.resolve(&CliOptions::default(), &[]).unwrap();
    assert!(matches!(s.target, Target::Demo));
    assert!(s.is_demo());
    assert_eq!(s.profile, None);
    assert!(!s.read_only);
    assert!(!s.require_reason);
    assert_eq!(s.operator, "unknown");
    assert_eq!(s.log_level, "info");
    assert_eq!(s.audit_log, fx.paths.data_dir.join("audit.jsonl"));
    assert_eq!(s.log_file, fx.paths.data_dir.join("mfadesk.log"));
}

#[test]
fn environment_alone_gives_a_tenant() {
    let fx = Fixture::new();
    let s = fx.resolve(&CliOptions::default(), FULL_ENV).unwrap();
    assert_eq!(
        tenant(&s),
        ("https://envsub.onelogin.com", "env-id", "env-secret-value")
    );
    assert_eq!(s.profile, None);
}

#[test]
fn base_url_flag_beats_env_base_url_beats_env_subdomain() {
    let fx = Fixture::new();
    let mut env = FULL_ENV.to_vec();
    env.push(("ONELOGIN_BASE_URL", "https://envurl.onelogin.com/"));
    let s = fx.resolve(&CliOptions::default(), &env).unwrap();
    assert_eq!(tenant(&s).0, "https://envurl.onelogin.com");

    let cli = CliOptions {
        base_url: Some("https://flag.onelogin.com".into()),
        ..Default::default()
    };
    let s = fx.resolve(&cli, &env).unwrap();
    assert_eq!(tenant(&s).0, "https://flag.onelogin.com");
}

#[test]
fn default_profile_is_used_and_supplies_every_field() {
    let fx = Fixture::with_config(PROFILES);
    let s = fx
        .resolve(
            &CliOptions::default(),
            &[("ONELOGIN_PROD_SECRET", "prod-secret-value")],
        )
        .unwrap();
    assert_eq!(
        tenant(&s),
        ("https://acme.onelogin.com", "prod-id", "prod-secret-value")
    );
    assert_eq!(s.profile.as_deref(), Some("prod"));
    assert!(s.read_only);
    assert!(s.require_reason);
    assert_eq!(s.label.as_deref(), Some("PRODUCTION"));
    assert_eq!(s.color.as_deref(), Some("red"));
    assert_eq!(s.operator, "top-op");
}

#[test]
fn profile_flag_beats_default_profile() {
    let fx = Fixture::with_config(PROFILES);
    let cli = CliOptions {
        profile: Some("staging".into()),
        ..Default::default()
    };
    let s = fx
        .resolve(&cli, &[("ONELOGIN_STAGING_SECRET", "staging-secret")])
        .unwrap();
    assert_eq!(
        tenant(&s),
        (
            "https://acme-staging.onelogin.com",
            "staging-id",
            "staging-secret"
        )
    );
    assert_eq!(s.profile.as_deref(), Some("staging"));
    assert!(!s.read_only);
    assert!(!s.require_reason);
    assert_eq!(s.label, None);
    // A profile's operator beats the top-level one.
    assert_eq!(s.operator, "staging-op");
}

#[test]
fn environment_beats_profile_field_by_field() {
    let fx = Fixture::with_config(PROFILES);
    // Only the id comes from the environment; the rest still comes from the profile.
    let s = fx
        .resolve(
            &CliOptions::default(),
            &[
                ("ONELOGIN_CLIENT_ID", "env-id"),
                ("ONELOGIN_PROD_SECRET", "prod-secret-value"),
            ],
        )
        .unwrap();
    assert_eq!(
        tenant(&s),
        ("https://acme.onelogin.com", "env-id", "prod-secret-value")
    );

    // The env secret wins, so the profile's variable need not even be set.
    let s = fx
        .resolve(
            &CliOptions::default(),
            &[("ONELOGIN_CLIENT_SECRET", "env-secret-value")],
        )
        .unwrap();
    assert_eq!(
        tenant(&s),
        ("https://acme.onelogin.com", "prod-id", "env-secret-value")
    );

    // The env subdomain beats the profile's subdomain, the flag beats both.
    let s = fx
        .resolve(
            &CliOptions::default(),
            &[
                ("ONELOGIN_SUBDOMAIN", "other"),
                ("ONELOGIN_PROD_SECRET", "prod-secret-value"),
            ],
        )
        .unwrap();
    assert_eq!(tenant(&s).0, "https://other.onelogin.com");
    let cli = CliOptions {
        base_url: Some("flagsub".into()),
        ..Default::default()
    };
    let s = fx
        .resolve(
            &cli,
            &[
                ("ONELOGIN_SUBDOMAIN", "other"),
                ("ONELOGIN_PROD_SECRET", "prod-secret-value"),
            ],
        )
        .unwrap();
    assert_eq!(tenant(&s).0, "https://flagsub.onelogin.com");
    // The profile is still in use for its label and safety options.
    assert_eq!(s.label.as_deref(), Some("PRODUCTION"));
    assert!(s.read_only);
}

#[test]
fn env_secret_means_the_secret_command_is_not_run() {
    let fx = Fixture::with_config(
        r#"
[profiles.p]
subdomain = "acme"
client_id = "id"
client_secret_command = "exit 7"
"#,
    );
    let cli = CliOptions {
        profile: Some("p".into()),
        ..Default::default()
    };
    let s = fx
        .resolve(&cli, &[("ONELOGIN_CLIENT_SECRET", "from-env")])
        .unwrap();
    assert_eq!(tenant(&s).2, "from-env");
}

#[test]
fn demo_flag_forces_demo_over_everything() {
    let fx = Fixture::with_config(PROFILES);
    let cli = CliOptions {
        demo: true,
        read_only: true,
        ..Default::default()
    };
    let s = fx.resolve(&cli, FULL_ENV).unwrap();
    assert!(matches!(s.target, Target::Demo));
    assert_eq!(s.profile, None);
    assert_eq!(s.label, None);
    assert!(s.read_only);
}

#[test]
fn read_only_flag_applies_to_any_profile() {
    let fx = Fixture::new();
    let cli = CliOptions {
        read_only: true,
        ..Default::default()
    };
    let s = fx.resolve(&cli, FULL_ENV).unwrap();
    assert!(s.read_only);
    let s = fx.resolve(&CliOptions::default(), FULL_ENV).unwrap();
    assert!(!s.read_only);
}

#[test]
fn operator_precedence() {
    let fx = Fixture::with_config(PROFILES);
    let env = [("ONELOGIN_PROD_SECRET", "x-secret"), ("USER", "osuser")];
    // Top-level operator beats the OS user.
    let s = fx.resolve(&CliOptions::default(), &env).unwrap();
    assert_eq!(s.operator, "top-op");
    // The flag beats the file.
    let cli = CliOptions {
        operator: Some("flag-op".into()),
        ..Default::default()
    };
    assert_eq!(fx.resolve(&cli, &env).unwrap().operator, "flag-op");

    // Without configuration: USER, then USERNAME, then "unknown".
    let bare = Fixture::new();
    let cli = CliOptions::default();
    assert_eq!(
        bare.resolve(&cli, &[("USER", "alice"), ("USERNAME", "bob")])
            .unwrap()
            .operator,
        "alice"
    );
    assert_eq!(
        bare.resolve(&cli, &[("USERNAME", "bob")]).unwrap().operator,
        "bob"
    );
    assert_eq!(bare.resolve(&cli, &[]).unwrap().operator, "unknown");
}

#[test]
fn log_level_and_file_precedence() {
    let fx = Fixture::new();
    let s = fx
        .resolve(&CliOptions::default(), &[("RUST_LOG", "debug")])
        .unwrap();
    assert_eq!(s.log_level, "debug");
    let cli = CliOptions {
        log_level: Some("trace".into()),
        audit_log: Some(PathBuf::from("/elsewhere/a.jsonl")),
        log_file: Some(PathBuf::from("/elsewhere/m.log")),
        ..Default::default()
    };
    let s = fx.resolve(&cli, &[("RUST_LOG", "debug")]).unwrap();
    assert_eq!(s.log_level, "trace");
    assert_eq!(s.audit_log, PathBuf::from("/elsewhere/a.jsonl"));
    assert_eq!(s.log_file, PathBuf::from("/elsewhere/m.log"));
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let fx = Fixture::new();
    let s = fx
        .resolve(
            &CliOptions::default(),
            &[
                ("ONELOGIN_CLIENT_ID", ""),
                ("ONELOGIN_CLIENT_SECRET", ""),
                ("RUST_LOG", ""),
            ],
        )
        .unwrap();
    assert!(s.is_demo());
    assert_eq!(s.log_level, "info");
}

#[test]
fn unknown_profile_lists_the_known_ones() {
    let fx = Fixture::with_config(PROFILES);
    let cli = CliOptions {
        profile: Some("nope".into()),
        ..Default::default()
    };
    let err = fx.resolve(&cli, &[]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownProfile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("'nope'"), "{msg}");
    assert!(msg.contains("prod, staging"), "{msg}");
}

#[test]
fn unknown_default_profile_is_an_error() {
    let fx = Fixture::with_config(
        "default_profile = \"gone\"\n[profiles.a]\nsubdomain = \"a\"\nclient_id = \"i\"\nclient_secret_env = \"X\"\n",
    );
    let err = fx.resolve(&CliOptions::default(), &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("'gone'") && msg.contains("default_profile") && msg.contains("a"),
        "{msg}"
    );
}

#[test]
fn profile_flag_without_a_config_file_is_an_error() {
    let fx = Fixture::new();
    let cli = CliOptions {
        profile: Some("prod".into()),
        ..Default::default()
    };
    let err = fx.resolve(&cli, FULL_ENV).unwrap_err();
    assert!(matches!(err, ConfigError::NoConfigFile { .. }), "{err:?}");
    assert!(err.to_string().contains("config.toml"));
}

#[test]
fn id_without_secret_says_where_a_secret_could_come_from() {
    let fx = Fixture::new();
    let err = fx
        .resolve(
            &CliOptions::default(),
            &[("ONELOGIN_CLIENT_ID", "id"), ("ONELOGIN_SUBDOMAIN", "acme")],
        )
        .unwrap_err();
    assert!(matches!(err, ConfigError::MissingSecret { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("ONELOGIN_CLIENT_ID") && msg.contains("ONELOGIN_CLIENT_SECRET"),
        "{msg}"
    );
}

#[test]
fn secret_without_id_is_an_error() {
    let fx = Fixture::new();
    let err = fx
        .resolve(
            &CliOptions::default(),
            &[("ONELOGIN_CLIENT_SECRET", "s3cr3t-value")],
        )
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::MissingClientId { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("ONELOGIN_CLIENT_ID"), "{msg}");
    assert!(!msg.contains("s3cr3t-value"), "{msg}");
}

#[test]
fn credentials_without_base_url_is_an_error() {
    let fx = Fixture::new();
    let err = fx
        .resolve(
            &CliOptions::default(),
            &[
                ("ONELOGIN_CLIENT_ID", "id"),
                ("ONELOGIN_CLIENT_SECRET", "s3cr3t-value"),
            ],
        )
        .unwrap_err();
    assert!(matches!(err, ConfigError::MissingBaseUrl { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("--base-url")
            && msg.contains("ONELOGIN_BASE_URL")
            && msg.contains("ONELOGIN_SUBDOMAIN"),
        "{msg}"
    );
}

#[test]
fn base_url_without_credentials_is_an_error_not_a_silent_demo() {
    let fx = Fixture::new();
    let cli = CliOptions {
        base_url: Some("https://acme.onelogin.com".into()),
        ..Default::default()
    };
    let err = fx.resolve(&cli, &[]).unwrap_err();
    assert!(
        matches!(err, ConfigError::MissingCredentials { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("--demo"));
}

#[test]
fn invalid_base_urls_name_their_source() {
    let fx = Fixture::new();
    let cli = CliOptions {
        base_url: Some("http://acme.onelogin.com".into()),
        ..Default::default()
    };
    let err = fx.resolve(&cli, FULL_ENV).unwrap_err();
    assert!(matches!(err, ConfigError::InvalidBaseUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("--base-url"), "{err}");

    let err = fx
        .resolve(
            &CliOptions::default(),
            &[
                ("ONELOGIN_CLIENT_ID", "id"),
                ("ONELOGIN_CLIENT_SECRET", "secret"),
                ("ONELOGIN_SUBDOMAIN", "acme.onelogin.com"),
            ],
        )
        .unwrap_err();
    assert!(err.to_string().contains("ONELOGIN_SUBDOMAIN"), "{err}");
}

#[test]
fn the_secret_never_shows_in_debug_output_and_is_registered_for_redaction() {
    let fx = Fixture::new();
    let env = [
        ("ONELOGIN_CLIENT_ID", "id"),
        ("ONELOGIN_CLIENT_SECRET", "debug-leak-check-secret"),
        ("ONELOGIN_SUBDOMAIN", "acme"),
    ];
    let s = fx.resolve(&CliOptions::default(), &env).unwrap();
    let debug = format!("{s:?}");
    assert!(!debug.contains("debug-leak-check-secret"), "{debug}");
    assert_eq!(
        mfadesk::logging::redact("x debug-leak-check-secret y"),
        "x *** y"
    );
}

#[test]
fn audit_context_uses_the_tenant_or_the_demo_url() {
    let fx = Fixture::new();
    let s = fx.resolve(&CliOptions::default(), FULL_ENV).unwrap();
    let ctx = s.audit_context("http://127.0.0.1:9");
    assert_eq!(ctx.base_url, "https://envsub.onelogin.com");
    let s = fx.resolve(&CliOptions::default(), &[]).unwrap();
    assert_eq!(
        s.audit_context("http://127.0.0.1:9").base_url,
        "http://127.0.0.1:9"
    );
}

#[test]
fn cli_options_flatten_into_a_clap_parser_with_the_documented_flags() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        options: CliOptions,
    }
    let cli = Cli::try_parse_from([
        "mfadesk",
        "--base-url",
        "https://acme.onelogin.com",
        "--profile",
        "prod",
        "--config",
        "/c.toml",
        "--read-only",
        "--demo",
        "--audit-log",
        "/a.jsonl",
        "--log-file",
        "/m.log",
        "--log-level",
        "debug",
        "--operator",
        "jdoe",
        "--mfa-api",
        "v2",
    ])
    .unwrap();
    assert_eq!(
        cli.options,
        CliOptions {
            base_url: Some("https://acme.onelogin.com".into()),
            profile: Some("prod".into()),
            config: Some(PathBuf::from("/c.toml")),
            read_only: true,
            demo: true,
            audit_log: Some(PathBuf::from("/a.jsonl")),
            log_file: Some(PathBuf::from("/m.log")),
            log_level: Some("debug".into()),
            operator: Some("jdoe".into()),
            require_caller_check: Vec::new(),
            mfa_api: Some(mfadesk::api::MfaApiChoice::V2),
        }
    );
}

#[test]
fn mfa_api_comes_from_the_flag_then_the_profile_then_auto() {
    use mfadesk::api::MfaApiChoice;
    let config = r#"
default_profile = "prod"
[profiles.prod]
subdomain = "acme"
client_id = "prod-id"
client_secret_env = "ONELOGIN_PROD_SECRET"
mfa_api = "v1"
[profiles.plain]
subdomain = "acme"
client_id = "plain-id"
client_secret_env = "ONELOGIN_PROD_SECRET"
"#;
    let fx = Fixture::with_config(config);
    let env = [("ONELOGIN_PROD_SECRET", "prod-secret-value")];
    let s = fx.resolve(&CliOptions::default(), &env).unwrap();
    assert_eq!(s.mfa_api, MfaApiChoice::V1, "the profile's key");
    let cli = CliOptions {
        mfa_api: Some(MfaApiChoice::V2),
        ..Default::default()
    };
    assert_eq!(
        fx.resolve(&cli, &env).unwrap().mfa_api,
        MfaApiChoice::V2,
        "the flag wins"
    );
    let cli = CliOptions {
        profile: Some("plain".into()),
        ..Default::default()
    };
    assert_eq!(
        fx.resolve(&cli, &env).unwrap().mfa_api,
        MfaApiChoice::Auto,
        "the default"
    );
}

#[test]
fn a_bad_mfa_api_value_is_refused_with_the_choices() {
    let fx = Fixture::with_config(
        "[profiles.prod]\nsubdomain = \"acme\"\nclient_id = \"x\"\nclient_secret_env = \"S\"\nmfa_api = \"v3\"\n",
    );
    let cli = CliOptions {
        profile: Some("prod".into()),
        ..Default::default()
    };
    let err = fx
        .resolve(&cli, &[("S", "secret-value")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("v3") && err.contains("auto"), "{err}");
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        options: CliOptions,
    }
    let parsed = <Cli as clap::Parser>::try_parse_from(["mfadesk", "--mfa-api", "v3"]);
    let msg = parsed.err().expect("refused").to_string();
    assert!(msg.contains("use auto, v1 or v2"), "{msg}");
}
