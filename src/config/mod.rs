//! Configuration: profiles, credentials and where files live.
//!
//! [`resolve`] is a pure function of the command line, an environment lookup and the
//! platform paths (plus the config file and, when a profile asks for it, one secret command),
//! so every precedence rule can be tested without touching the real HOME or environment.
//!
//! Precedence, field by field: command-line flags, then environment variables, then the
//! chosen profile, then the demo tenant. `--demo` forces the demo tenant.

mod error;
mod file;
pub mod secret;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use error::ConfigError;
pub use file::{ConfigFile, ListedConfig, LoadedConfig, Profile, SecretSource};
pub use secret::{fetch_secret, run_secret_command};

use crate::api::{Credentials, MfaApiChoice, Secret};
use crate::audit::AuditContext;
use crate::policy::{DEFAULT_CALLER_CHECK_MINUTES, GuardedAction, RequiredChecks};

/// Environment variable: client id (overrides the profile).
pub const ENV_CLIENT_ID: &str = "ONELOGIN_CLIENT_ID";
/// Environment variable: client secret (overrides the profile).
pub const ENV_CLIENT_SECRET: &str = "ONELOGIN_CLIENT_SECRET";
/// Environment variable: full base URL (overrides the profile and ONELOGIN_SUBDOMAIN).
pub const ENV_BASE_URL: &str = "ONELOGIN_BASE_URL";
/// Environment variable: tenant subdomain (overrides the profile).
pub const ENV_SUBDOMAIN: &str = "ONELOGIN_SUBDOMAIN";
/// Environment variable: log level when --log-level is not given.
pub const ENV_LOG_LEVEL: &str = "RUST_LOG";

/// The config file's name inside the config directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";
/// The audit trail's default name inside the data directory.
pub const AUDIT_FILE_NAME: &str = "audit.jsonl";
/// The diagnostic log's default name inside the data directory.
pub const LOG_FILE_NAME: &str = "mfadesk.log";
/// The log level when neither --log-level nor RUST_LOG is set.
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// The command-line options that configuration depends on (flatten into the clap parser).
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct CliOptions {
    /// Tenant base URL, e.g. https://acme.onelogin.com (or just the subdomain).
    #[arg(long = "base-url", global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Profile from the config file.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file instead of the platform default.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Refuse every change, whatever the profile says.
    #[arg(long = "read-only", global = true)]
    pub read_only: bool,
    /// Use the built-in demo tenant, ignoring credentials.
    #[arg(long, global = true)]
    pub demo: bool,
    /// Audit trail file instead of the platform default.
    #[arg(long = "audit-log", global = true, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// Diagnostic log file instead of the platform default.
    #[arg(long = "log-file", global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Log level or directives (error, warn, info, debug, trace, "mfadesk=debug,info").
    #[arg(long = "log-level", global = true, value_name = "LEVEL", value_parser = log_level)]
    pub log_level: Option<String>,
    /// Operator name for the audit trail.
    #[arg(long, global = true, value_name = "NAME")]
    pub operator: Option<String>,
    /// Require a fresh caller check before these changes (adds to the profile's list).
    #[arg(
        long = "require-caller-check",
        global = true,
        value_name = "remove,token,enroll_verified,unlock",
        value_delimiter = ',',
        value_enum
    )]
    pub require_caller_check: Vec<GuardedAction>,
    /// Which MFA API to use: auto (v2 when the credential may, else v1), v1 or v2.
    #[arg(long = "mfa-api", global = true, value_name = "auto|v1|v2", value_parser = parse_mfa_api)]
    pub mfa_api: Option<MfaApiChoice>,
}

/// `--mfa-api` values: `auto`, `v1` or `v2`.
fn parse_mfa_api(text: &str) -> Result<MfaApiChoice, String> {
    MfaApiChoice::parse(text)
        .ok_or_else(|| format!("'{text}' is not an MFA API: use auto, v1 or v2"))
}

/// Accepts a level or directive list only if the diagnostic log would accept it.
fn log_level(text: &str) -> Result<String, String> {
    crate::logging::parse_level(text)
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

/// Where mfadesk's files live; injectable so tests never touch the real HOME.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Directory holding `config.toml`.
    pub config_dir: PathBuf,
    /// Directory holding the audit trail and the diagnostic log.
    pub data_dir: PathBuf,
}

impl Paths {
    /// Paths under explicit directories.
    pub fn new(config_dir: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            config_dir: config_dir.into(),
            data_dir: data_dir.into(),
        }
    }

    /// The platform's directories for mfadesk (e.g. `~/.config/mfadesk`, `~/.local/share/mfadesk`).
    pub fn platform() -> Result<Paths, ConfigError> {
        let dirs =
            directories::ProjectDirs::from("", "", "mfadesk").ok_or(ConfigError::NoPlatformDirs)?;
        Ok(Paths::new(dirs.config_dir(), dirs.data_dir()))
    }

    /// The default config file: `config_dir/config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join(CONFIG_FILE_NAME)
    }

    /// The default audit trail: `data_dir/audit.jsonl`.
    pub fn audit_log(&self) -> PathBuf {
        self.data_dir.join(AUDIT_FILE_NAME)
    }

    /// The default diagnostic log: `data_dir/mfadesk.log`.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join(LOG_FILE_NAME)
    }
}

/// Which tenant to talk to.
#[derive(Clone, Debug)]
pub enum Target {
    /// The built-in simulated tenant.
    Demo,
    /// A real OneLogin tenant.
    Tenant {
        /// The tenant's base URL, e.g. `https://acme.onelogin.com`.
        base_url: String,
        /// The API credentials.
        credentials: Credentials,
    },
}

/// Everything the console needs to start, after precedence has been applied.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The tenant, or the demo.
    pub target: Target,
    /// The profile in use, if any.
    pub profile: Option<String>,
    /// Refuse every change.
    pub read_only: bool,
    /// Header badge text, e.g. "PRODUCTION".
    pub label: Option<String>,
    /// Header colour as written in the profile (validated to parse as a ratatui `Color`).
    pub color: Option<String>,
    /// Ask for a ticket or reason before remove and temporary token.
    pub require_reason: bool,
    /// Operator name for the audit trail.
    pub operator: String,
    /// The audit trail file.
    pub audit_log: PathBuf,
    /// The diagnostic log file.
    pub log_file: PathBuf,
    /// The log level or directive string.
    pub log_level: String,
    /// How long a successful caller check stays valid, in minutes.
    pub caller_check_minutes: u32,
    /// Changes that need a fresh caller check first.
    pub require_caller_check: RequiredChecks,
    /// Allow caller checks in read-only mode.
    pub read_only_caller_check: bool,
    /// Another session's caller check (seen in the events) satisfies a required check.
    pub caller_check_shared: bool,
    /// Which MFA API to use (`--mfa-api`, else the profile's `mfa_api`, else auto).
    pub mfa_api: MfaApiChoice,
    /// Share of the hour a coverage scan may spend (profile `coverage_share`, default 0.5).
    pub coverage_share: f64,
    /// Calls a coverage scan leaves (profile `coverage_reserve`; None: 20 % of the limit).
    pub coverage_reserve: Option<u64>,
}

impl Settings {
    /// True for the demo tenant.
    pub fn is_demo(&self) -> bool {
        matches!(self.target, Target::Demo)
    }

    /// The tenant's base URL; `None` for the demo (whose URL is known only once it runs).
    pub fn base_url(&self) -> Option<&str> {
        match &self.target {
            Target::Demo => None,
            Target::Tenant { base_url, .. } => Some(base_url),
        }
    }

    /// The audit context for this session; `demo_base_url` is used for the demo tenant.
    pub fn audit_context(&self, demo_base_url: &str) -> AuditContext {
        AuditContext::new(
            self.operator.clone(),
            self.profile.clone(),
            self.base_url().unwrap_or(demo_base_url),
        )
    }
}

/// Reads the config file named by `--config`, or the platform default if it exists.
pub fn load_config(cli: &CliOptions, paths: &Paths) -> Result<LoadedConfig, ConfigError> {
    if let Some(path) = &cli.config {
        if !path.exists() {
            return Err(ConfigError::NotFound { path: path.clone() });
        }
        let file = ConfigFile::load(path)?;
        return Ok(LoadedConfig {
            path: path.clone(),
            file: Some(file),
        });
    }
    let path = paths.config_file();
    let file = match std::fs::metadata(&path) {
        Ok(_) => Some(ConfigFile::load(&path)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    Ok(LoadedConfig { path, file })
}

/// Picks the profile: `--profile`, else `default_profile`, else none.
pub fn select_profile(
    cli: &CliOptions,
    config: &LoadedConfig,
) -> Result<Option<(String, Profile)>, ConfigError> {
    let (name, from) = match (&cli.profile, &config.file) {
        (Some(name), None) => {
            return Err(ConfigError::NoConfigFile {
                name: name.clone(),
                path: config.path.clone(),
            });
        }
        (Some(name), Some(_)) => (name.clone(), "--profile"),
        (
            None,
            Some(ConfigFile {
                default_profile: Some(name),
                ..
            }),
        ) => (name.clone(), "default_profile"),
        (None, _) => return Ok(None),
    };
    match config.file.as_ref().and_then(|f| f.profiles.get(&name)) {
        Some(profile) => Ok(Some((name, profile.clone()))),
        None => Err(ConfigError::UnknownProfile {
            name,
            from,
            path: config.path.clone(),
            known: config.profile_names(),
        }),
    }
}

/// A value and where it came from, for error messages.
struct Sourced {
    value: String,
    from: String,
}

fn sourced(value: String, from: impl Into<String>) -> Sourced {
    Sourced {
        value,
        from: from.into(),
    }
}

/// Applies precedence (flags > environment > profile > demo) and fetches the secret.
///
/// `env` looks up environment variables (inject `|k| std::env::var(k).ok()` in the program);
/// an empty variable counts as unset. The secret, once known, is registered for log redaction.
pub fn resolve(
    cli: &CliOptions,
    env: &dyn Fn(&str) -> Option<String>,
    paths: &Paths,
) -> Result<Settings, ConfigError> {
    let env = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    let config = load_config(cli, paths)?;
    let file = config.file_or_default();

    let audit_log = cli.audit_log.clone().unwrap_or_else(|| paths.audit_log());
    let log_file = cli.log_file.clone().unwrap_or_else(|| paths.log_file());
    let log_level = cli
        .log_level
        .clone()
        .or_else(|| env(ENV_LOG_LEVEL))
        .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned());
    let os_user = || {
        env("USER")
            .or_else(|| env("USERNAME"))
            .or_else(|| env("LOGNAME"))
    };

    // --demo ignores profiles and credentials entirely; a profile's label would mislead here.
    if cli.demo {
        return Ok(Settings {
            target: Target::Demo,
            profile: None,
            read_only: cli.read_only,
            label: None,
            color: None,
            require_reason: false,
            operator: cli
                .operator
                .clone()
                .or(file.operator.clone())
                .or_else(os_user)
                .unwrap_or_else(|| "unknown".to_owned()),
            audit_log,
            log_file,
            log_level,
            caller_check_minutes: DEFAULT_CALLER_CHECK_MINUTES,
            require_caller_check: cli.require_caller_check.iter().copied().collect(),
            read_only_caller_check: true,
            caller_check_shared: false,
            mfa_api: cli.mfa_api.unwrap_or_default(),
            coverage_share: crate::lane::DEFAULT_SHARE,
            coverage_reserve: None,
        });
    }

    let chosen = select_profile(cli, &config)?;
    let profile = chosen.as_ref().map(|(_, p)| p);
    let profile_name = chosen.as_ref().map(|(n, _)| n.as_str());
    let in_profile = |key: &str| format!("profile '{}' {key}", profile_name.unwrap_or_default());

    let operator = cli
        .operator
        .clone()
        .or_else(|| profile.and_then(|p| p.operator.clone()))
        .or(file.operator.clone())
        .or_else(os_user)
        .unwrap_or_else(|| "unknown".to_owned());

    let url = if let Some(url) = &cli.base_url {
        Some(sourced(url.clone(), "--base-url"))
    } else if let Some(url) = env(ENV_BASE_URL) {
        Some(sourced(url, ENV_BASE_URL))
    } else if let Some(sub) = env(ENV_SUBDOMAIN) {
        Some(sourced(
            subdomain_to_url(&sub, ENV_SUBDOMAIN)?,
            ENV_SUBDOMAIN,
        ))
    } else if let Some(url) = profile.and_then(|p| p.base_url.clone()) {
        Some(sourced(url, in_profile("base_url")))
    } else if let Some(sub) = profile.and_then(|p| p.subdomain.clone()) {
        let from = in_profile("subdomain");
        Some(sourced(subdomain_to_url(&sub, &from)?, from))
    } else {
        None
    };

    let client_id = if let Some(id) = env(ENV_CLIENT_ID) {
        Some(sourced(id, ENV_CLIENT_ID))
    } else {
        profile
            .and_then(|p| p.client_id.clone())
            .map(|id| sourced(id, in_profile("client_id")))
    };

    let env_secret = env(ENV_CLIENT_SECRET);
    let profile_source = profile.map_or(SecretSource::None, Profile::secret_source);
    let secret_from = if env_secret.is_some() {
        Some(ENV_CLIENT_SECRET.to_owned())
    } else if profile_source != SecretSource::None {
        Some(in_profile(&format!(
            "client secret ({})",
            profile_source.describe()
        )))
    } else {
        None
    };

    let Some(client_id) = client_id else {
        return match (secret_from, &url, profile_name) {
            (Some(secret_from), _, _) => Err(ConfigError::MissingClientId { secret_from }),
            (None, Some(url), _) => Err(ConfigError::MissingCredentials {
                context: format!("a tenant base URL is set (from {})", url.from),
            }),
            (None, None, Some(name)) => Err(ConfigError::MissingCredentials {
                context: format!("profile '{name}' is selected"),
            }),
            // Nothing points at a tenant: the demo is the friendly default.
            (None, None, None) => Ok(Settings {
                target: Target::Demo,
                profile: None,
                read_only: cli.read_only,
                label: None,
                color: None,
                require_reason: false,
                operator,
                audit_log,
                log_file,
                log_level,
                caller_check_minutes: DEFAULT_CALLER_CHECK_MINUTES,
                require_caller_check: cli.require_caller_check.iter().copied().collect(),
                read_only_caller_check: true,
                caller_check_shared: false,
                mfa_api: cli.mfa_api.unwrap_or_default(),
                coverage_share: crate::lane::DEFAULT_SHARE,
                coverage_reserve: None,
            }),
        };
    };
    if secret_from.is_none() {
        return Err(ConfigError::MissingSecret {
            id_from: client_id.from,
        });
    }
    let Some(url) = url else {
        return Err(ConfigError::MissingBaseUrl {
            id_from: client_id.from,
        });
    };
    let base_url = normalize_base_url(&url.value, &url.from)?;

    // Only now run the command or read the variable: earlier errors must not cost a prompt.
    let secret = match env_secret {
        Some(secret) => Secret::new(secret),
        None => fetch_secret(profile_name.unwrap_or_default(), &profile_source, &env)?.ok_or(
            ConfigError::MissingSecret {
                id_from: client_id.from.clone(),
            },
        )?,
    };
    crate::logging::register_secret(secret.expose());

    Ok(Settings {
        target: Target::Tenant {
            base_url,
            credentials: Credentials {
                client_id: client_id.value,
                client_secret: secret,
            },
        },
        profile: profile_name.map(str::to_owned),
        read_only: cli.read_only || profile.is_some_and(|p| p.read_only),
        label: profile.and_then(|p| p.label.clone()),
        color: profile.and_then(|p| p.color.clone()),
        require_reason: profile.is_some_and(|p| p.require_reason),
        operator,
        audit_log,
        log_file,
        log_level,
        caller_check_minutes: profile
            .and_then(|p| p.caller_check_minutes)
            .unwrap_or(DEFAULT_CALLER_CHECK_MINUTES),
        // The flag can add to the profile's requirements but never lift one.
        require_caller_check: profile
            .map(|p| p.require_caller_check.as_slice())
            .unwrap_or_default()
            .iter()
            .chain(&cli.require_caller_check)
            .copied()
            .collect::<RequiredChecks>(),
        read_only_caller_check: profile.is_none_or(|p| p.read_only_caller_check),
        caller_check_shared: profile.is_some_and(|p| p.caller_check_shared),
        mfa_api: cli
            .mfa_api
            .or_else(|| profile.and_then(|p| p.mfa_api))
            .unwrap_or_default(),
        coverage_share: profile
            .and_then(|p| p.coverage_share)
            .unwrap_or(crate::lane::DEFAULT_SHARE),
        coverage_reserve: profile.and_then(|p| p.coverage_reserve),
    })
}

/// `acme` → `https://acme.onelogin.com`, without validation (see [`normalize_base_url`]).
pub fn subdomain_url(subdomain: &str) -> String {
    format!(
        "https://{}.onelogin.com",
        subdomain.trim().to_ascii_lowercase()
    )
}

/// Validates a subdomain and maps it to its base URL.
fn subdomain_to_url(subdomain: &str, from: &str) -> Result<String, ConfigError> {
    let sub = subdomain.trim();
    if !is_dns_label(sub) {
        return Err(ConfigError::InvalidBaseUrl {
            value: shown_url(subdomain),
            from: from.to_owned(),
            reason: "a subdomain is one name such as \"acme\" (letters, digits, hyphens); \
                     use base_url / ONELOGIN_BASE_URL for a full URL"
                .to_owned(),
        });
    }
    Ok(subdomain_url(sub))
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A base URL as it may be shown in a message: user name, password, query and fragment (which
/// can carry credentials) replaced by `***`.
pub fn shown_url(value: &str) -> String {
    let start = value.find("://").map_or(0, |i| i + 3);
    let rest = &value[start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_len);
    let authority = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let tail = match tail.find(['?', '#']) {
        Some(cut) => format!("{}{}***", &tail[..cut], &tail[cut..cut + 1]),
        None => tail.to_owned(),
    };
    format!("{}{authority}{tail}", &value[..start])
}

/// Checks and normalises a base URL: https (http only to loopback), no path, query or user info.
///
/// A bare subdomain (`acme`) becomes `https://acme.onelogin.com` and a bare host gets `https://`,
/// matching what `api::parse_base_url` accepts; the API client validates again when it is built.
pub fn normalize_base_url(value: &str, from: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidBaseUrl {
        value: shown_url(value),
        from: from.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if is_dns_label(trimmed) {
        return Ok(subdomain_url(trimmed));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| {
        invalid(&format!(
            "it is not a URL ({e}); a base URL looks like https://acme.onelogin.com, or give just the subdomain, e.g. acme"
        ))
    })?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("it has no host"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                "plain http is allowed only to localhost; use https",
            ));
        }
        _ => return Err(invalid("the scheme must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not contain a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(invalid(
            "it must be just scheme and host, e.g. https://acme.onelogin.com",
        ));
    }
    let host = match url.host() {
        Some(url::Host::Ipv6(_)) => format!("[{host}]"),
        _ => host.to_owned(),
    };
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// The text of `mfadesk profiles` for the file `--config` names (or the default): every profile,
/// including those that cannot be used, each marked with why.
pub fn list_profiles_of(cli: &CliOptions, paths: &Paths) -> Result<String, ConfigError> {
    let path = cli.config.clone().unwrap_or_else(|| paths.config_file());
    if !path.exists() {
        if cli.config.is_some() {
            return Err(ConfigError::NotFound { path });
        }
        return Ok(list_profiles(&LoadedConfig { path, file: None }));
    }
    let listed = ListedConfig::load(&path)?;
    let mut out = render_profiles(&path, Some(&listed.file), &listed.unusable);
    for problem in &listed.problems {
        let _ = writeln!(out, "Problem: {problem}");
    }
    Ok(out)
}

/// The text of `mfadesk profiles`: every profile and where its secret comes from, never the secret.
pub fn list_profiles(config: &LoadedConfig) -> String {
    render_profiles(
        &config.path,
        config.file.as_ref(),
        &std::collections::BTreeMap::new(),
    )
}

fn render_profiles(
    path: &std::path::Path,
    file: Option<&ConfigFile>,
    unusable: &std::collections::BTreeMap<String, String>,
) -> String {
    let config = LoadedConfig {
        path: path.to_owned(),
        file: file.cloned(),
    };
    let mut out = String::new();
    let Some(file) = &config.file else {
        let _ = writeln!(out, "No config file at {}.", config.path.display());
        let _ = writeln!(
            out,
            "Create it with a [profiles.NAME] table (subdomain, client_id, client_secret_env), or use --demo."
        );
        return out;
    };
    if file.profiles.is_empty() && unusable.is_empty() {
        let _ = writeln!(out, "No profiles in {}.", config.path.display());
        return out;
    }
    let _ = writeln!(out, "Profiles in {}:", config.path.display());
    let mut names: Vec<&String> = file.profiles.keys().chain(unusable.keys()).collect();
    names.sort();
    for name in names {
        if let Some(why) = unusable.get(name) {
            let default = if file.default_profile.as_deref() == Some(name) {
                " (default)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {name}{default}  UNUSABLE: {why}");
            continue;
        }
        let Some(profile) = file.profiles.get(name) else {
            continue;
        };
        let default = if file.default_profile.as_deref() == Some(name) {
            " (default)"
        } else {
            ""
        };
        let _ = writeln!(out, "  {name}{default}");
        let url = profile
            .base_url_value()
            .unwrap_or_else(|| "none".to_owned());
        let _ = writeln!(out, "    base URL:   {url}");
        let id = profile.client_id.as_deref().unwrap_or("none");
        let _ = writeln!(out, "    client id:  {id}");
        let _ = writeln!(
            out,
            "    secret:     {}",
            profile.secret_source().describe()
        );
        let mut options = Vec::new();
        if profile.read_only {
            options.push("read-only".to_owned());
        }
        if profile.require_reason {
            options.push("requires reason".to_owned());
        }
        if let Some(label) = &profile.label {
            options.push(format!("label {label:?}"));
        }
        if let Some(color) = &profile.color {
            options.push(format!("color {color}"));
        }
        if let Some(operator) = &profile.operator {
            options.push(format!("operator {operator}"));
        }
        if !profile.require_caller_check.is_empty() {
            let required: RequiredChecks = profile.require_caller_check.iter().copied().collect();
            options.push(format!("caller check before {required}"));
        }
        if let Some(minutes) = profile.caller_check_minutes {
            options.push(format!("caller check valid {minutes} min"));
        }
        if !profile.read_only_caller_check {
            options.push("no caller checks when read-only".to_owned());
        }
        if !options.is_empty() {
            let _ = writeln!(out, "    options:    {}", options.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        let ok = |v: &str| normalize_base_url(v, "test").map_err(|e| e.to_string());
        assert_eq!(ok("acme").as_deref(), Ok("https://acme.onelogin.com"));
        assert_eq!(
            ok("https://acme.onelogin.com/").as_deref(),
            Ok("https://acme.onelogin.com")
        );
        assert_eq!(
            ok("acme.onelogin.com").as_deref(),
            Ok("https://acme.onelogin.com")
        );
        assert_eq!(
            ok("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            ok("http://localhost:3000/").as_deref(),
            Ok("http://localhost:3000")
        );
        assert!(ok("http://acme.onelogin.com").is_err());
        assert!(ok("ftp://acme.onelogin.com").is_err());
        assert!(ok("https://acme.onelogin.com/api/2").is_err());
        assert!(ok("https://u:p@acme.onelogin.com").is_err());
        assert!(ok("").is_err());
    }

    #[test]
    fn urls_in_messages_hide_userinfo_and_query() {
        assert_eq!(
            shown_url("https://admin:pw@acme.onelogin.com"),
            "https://***@acme.onelogin.com"
        );
        assert_eq!(
            shown_url("https://acme.onelogin.com/x?token=abc#frag"),
            "https://acme.onelogin.com/x?***"
        );
        assert_eq!(shown_url("admin:pw@acme"), "***@acme");
        assert_eq!(
            shown_url("https://acme.onelogin.com"),
            "https://acme.onelogin.com"
        );
        for bad in [
            "https://admin:pw@acme.onelogin.com",
            "https://acme.onelogin.com?secret=pw",
            "http://admin:pw@example.com",
            "ftp://admin:pw@example.com",
            "admin:pw@acme",
        ] {
            let e = normalize_base_url(bad, "--base-url")
                .unwrap_err()
                .to_string();
            assert!(!e.contains("pw"), "{e}");
        }
    }

    #[test]
    fn subdomains_are_single_labels() {
        assert!(subdomain_to_url("acme", "t").is_ok());
        assert!(subdomain_to_url("acme.onelogin.com", "t").is_err());
        assert!(subdomain_to_url("-acme", "t").is_err());
    }
}
