//! The TOML config file: its shape, parsing, checks, and the permission rule for inline secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::error::ConfigError;
use crate::api::Secret;
use crate::policy::GuardedAction;

/// The whole config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when --profile is not given.
    pub default_profile: Option<String>,
    /// The operator name for the audit trail (a profile's own `operator` wins).
    pub operator: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One tenant profile: `[profiles.NAME]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Full base URL, e.g. `https://acme.onelogin.com` (exclusive with `subdomain`).
    pub base_url: Option<String>,
    /// Tenant subdomain: `acme` means `https://acme.onelogin.com`.
    pub subdomain: Option<String>,
    /// The API credential's client id.
    pub client_id: Option<String>,
    /// Name of the environment variable that holds the client secret.
    #[serde(alias = "client_secret_env_var")]
    pub client_secret_env: Option<String>,
    /// Shell command whose stdout is the client secret (run once per start).
    pub client_secret_command: Option<String>,
    /// The client secret itself; allowed only in a file only its owner can read.
    #[serde(default, deserialize_with = "de_secret")]
    pub client_secret: Option<Secret>,
    /// Refuse every change (enroll, trigger, verify, remove, token).
    #[serde(default)]
    pub read_only: bool,
    /// Text for the header badge, e.g. "PRODUCTION".
    pub label: Option<String>,
    /// Header colour: a name (`red`, `light_blue`), an index (`196`) or `#rrggbb`.
    #[serde(alias = "colour")]
    pub color: Option<String>,
    /// Ask for a ticket or reason before remove and temporary token.
    #[serde(default)]
    pub require_reason: bool,
    /// Operator name for the audit trail when using this profile.
    pub operator: Option<String>,
    /// How long a successful caller check stays valid, in minutes (default 15).
    pub caller_check_minutes: Option<u32>,
    /// Changes that need a fresh caller check first: any of "remove", "token", "enroll_verified", "unlock".
    #[serde(default)]
    pub require_caller_check: Vec<GuardedAction>,
    /// Allow caller checks in read-only mode (default true: a check changes nothing).
    #[serde(default = "default_true")]
    pub read_only_caller_check: bool,
    /// A caller check made by another session with the same API client (an API verify seen in
    /// the user's events) satisfies a required check (default false).
    #[serde(default)]
    pub caller_check_shared: bool,
    /// Which MFA API to use: `auto` (default), `v1` or `v2`.
    pub mfa_api: Option<crate::api::MfaApiChoice>,
    /// Share of the hourly API budget a coverage scan may spend (default 0.5).
    pub coverage_share: Option<f64>,
    /// API calls a coverage scan always leaves (default 20 % of the limit).
    pub coverage_reserve: Option<u64>,
}

/// The longest a caller check may stay valid: a check is about one call, not a shift.
pub const MAX_CALLER_CHECK_MINUTES: u32 = 24 * 60;

fn default_true() -> bool {
    true
}

/// Any TOML value is taken, so a wrong type gets this message rather than the parser's, which
/// would quote the value (an integer or a date is still a secret someone typed).
fn de_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    match Option::<toml::Value>::deserialize(d)? {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(Secret::new(s))),
        Some(_) => Err(serde::de::Error::custom(
            "invalid value for client_secret (value not shown); it must be a string",
        )),
    }
}

/// Where a profile's client secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable, by name.
    Env(String),
    /// A shell command's stdout.
    Command(String),
    /// The config file itself.
    InFile(Secret),
    /// The profile names no secret.
    None,
}

impl SecretSource {
    /// Short words for `mfadesk profiles`: "env NAME", "command", "in file" or "none".
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(var) => format!("env {var}"),
            SecretSource::Command(_) => "command".to_owned(),
            SecretSource::InFile(_) => "in file".to_owned(),
            SecretSource::None => "none".to_owned(),
        }
    }
}

impl Profile {
    /// Where this profile's secret comes from (the file has been checked to name at most one).
    pub fn secret_source(&self) -> SecretSource {
        if let Some(var) = &self.client_secret_env {
            SecretSource::Env(var.clone())
        } else if let Some(cmd) = &self.client_secret_command {
            SecretSource::Command(cmd.clone())
        } else if let Some(secret) = &self.client_secret {
            SecretSource::InFile(secret.clone())
        } else {
            SecretSource::None
        }
    }

    /// The base URL this profile names, if any (subdomain mapped to `https://{sub}.onelogin.com`).
    pub fn base_url_value(&self) -> Option<String> {
        match (&self.base_url, &self.subdomain) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(sub)) => Some(super::subdomain_url(sub)),
            (None, None) => None,
        }
    }

    fn check(&self, path: &Path, name: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::InvalidProfile {
            path: path.to_owned(),
            profile: name.to_owned(),
            message,
        };
        if self.base_url.is_some() && self.subdomain.is_some() {
            return Err(invalid(
                "sets both base_url and subdomain; keep one".to_owned(),
            ));
        }
        let sources = [
            self.client_secret_env
                .is_some()
                .then_some("client_secret_env"),
            self.client_secret_command
                .is_some()
                .then_some("client_secret_command"),
            self.client_secret.is_some().then_some("client_secret"),
        ];
        let set: Vec<&str> = sources.into_iter().flatten().collect();
        if set.len() > 1 {
            return Err(invalid(format!(
                "sets {}; keep only one source for the secret",
                set.join(" and ")
            )));
        }
        for (key, value) in [
            ("client_id", &self.client_id),
            ("client_secret_env", &self.client_secret_env),
            ("client_secret_command", &self.client_secret_command),
            ("base_url", &self.base_url),
            ("subdomain", &self.subdomain),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(invalid(format!("{key} is empty")));
            }
        }
        // These are drawn in the header or written to the audit trail: no terminal escapes.
        for (key, value) in [("label", &self.label), ("operator", &self.operator)] {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().any(char::is_control))
            {
                return Err(invalid(format!("{key} contains control characters")));
            }
        }
        if let Some(minutes) = self.caller_check_minutes
            && !(1..=MAX_CALLER_CHECK_MINUTES).contains(&minutes)
        {
            return Err(invalid(format!(
                "caller_check_minutes is {minutes}; use 1 to {MAX_CALLER_CHECK_MINUTES} (a check proves who is on this call)"
            )));
        }
        if let Some(share) = self.coverage_share
            && crate::lane::LanePolicy::new(share, None).is_err()
        {
            return Err(invalid(format!(
                "coverage_share is {share}; use more than 0 and at most 1 (e.g. 0.5 for half the hour)"
            )));
        }
        if self.client_secret.as_ref().is_some_and(Secret::is_empty) {
            return Err(invalid("client_secret is empty".to_owned()));
        }
        if let Some(color) = &self.color
            && ratatui::style::Color::from_str(color).is_err()
        {
            return Err(invalid(format!(
                "color {color:?} is not a colour; use a name such as red, yellow, light_blue, an index 0-255, or #rrggbb"
            )));
        }
        Ok(())
    }
}

/// A config file as found on disk (or its absence).
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// Where the file is (or would be).
    pub path: PathBuf,
    /// The parsed file; `None` when there is no file at the default location.
    pub file: Option<ConfigFile>,
}

impl LoadedConfig {
    /// The parsed file, or an empty one when there is none.
    pub fn file_or_default(&self) -> ConfigFile {
        self.file.clone().unwrap_or_default()
    }

    /// The names of the profiles, sorted.
    pub fn profile_names(&self) -> Vec<String> {
        self.file
            .as_ref()
            .map(|f| f.profiles.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl ConfigFile {
    /// Parses and checks config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| parse_error(&e, text, path))?;
        if let Some(default) = &file.default_profile
            && !file.profiles.contains_key(default)
        {
            return Err(ConfigError::UnknownProfile {
                name: default.clone(),
                from: "default_profile",
                path: path.to_owned(),
                known: file.profiles.keys().cloned().collect(),
            });
        }
        if file
            .operator
            .as_deref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return Err(ConfigError::Parse {
                path: path.to_owned(),
                line: None,
                column: None,
                message: "operator contains control characters".to_owned(),
            });
        }
        for (name, profile) in &file.profiles {
            profile.check(path, name)?;
        }
        Ok(file)
    }

    /// Reads, parses and checks a file, including the permission rule for inline secrets.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file = Self::parse(&text, path)?;
        if let Some((name, _)) = file
            .profiles
            .iter()
            .find(|(_, p)| p.client_secret.is_some())
        {
            check_private(path, name)?;
        }
        if let Some((name, _)) = file
            .profiles
            .iter()
            .find(|(_, p)| p.client_secret_command.is_some())
        {
            check_trusted(path, name)?;
        }
        Ok(file)
    }
}

/// Refuses to run a command from a file that someone else could have written (as ssh does):
/// the file and its directory must belong to this user (or root) and not be writable by group
/// or others.
#[cfg(unix)]
fn check_trusted(path: &Path, profile: &str) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let read_err = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let real = std::fs::canonicalize(path).map_err(read_err)?;
    let mut places = vec![real.clone()];
    places.extend(real.parent().map(Path::to_owned));
    // A symlinked config is judged where it points and where it is named.
    if path != real {
        places.push(path.to_owned());
        places.extend(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_owned),
        );
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    for place in places {
        let meta = std::fs::metadata(&place).map_err(read_err)?;
        let mode = meta.mode() & 0o7777;
        let problem = if meta.uid() != me && meta.uid() != 0 {
            Some(format!("it belongs to another user (uid {})", meta.uid()))
        } else if mode & 0o022 != 0 {
            Some(format!(
                "it is writable by group or others (mode {:03o})",
                mode & 0o777
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ConfigError::UntrustedCommandFile {
                path: place,
                profile: profile.to_owned(),
                problem,
            });
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_trusted(_path: &Path, _profile: &str) -> Result<(), ConfigError> {
    Ok(())
}

/// Refuses a file that group or others can read, because it holds a secret.
#[cfg(unix)]
fn check_private(path: &Path, profile: &str) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::InsecurePermissions {
            path: path.to_owned(),
            profile: profile.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Windows ACLs are not inspected; the per-user profile directory is private by default.
#[cfg(not(unix))]
fn check_private(_path: &Path, _profile: &str) -> Result<(), ConfigError> {
    Ok(())
}

/// Turns a TOML error into a message with line and column but without the source line,
/// which the TOML crate's own Display would echo (and which could be a secret).
fn parse_error(err: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
    let position = err.span().map(|span| line_column(text, span.start));
    let mut message = err.message().trim().to_owned();
    if let Some((line, _)) = position {
        let content = text.lines().nth(line - 1).unwrap_or_default();
        if is_inline_secret_line(content) {
            message =
                "invalid value for client_secret (value not shown); it must be a string".to_owned();
        }
    }
    ConfigError::Parse {
        path: path.to_owned(),
        line: position.map(|(l, _)| l),
        column: position.map(|(_, c)| c),
        message,
    }
}

fn is_inline_secret_line(line: &str) -> bool {
    let line = line.trim_start();
    line.strip_prefix("client_secret")
        .is_some_and(|rest| rest.trim_start().starts_with('='))
        // A dotted key (`prod.client_secret = …`) or a quoted key also counts.
        || line.contains("client_secret\"") || line.contains(".client_secret")
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 8), (2, 3));
    }

    #[test]
    fn syntax_error_does_not_echo_an_inline_secret() {
        let text = "[profiles.p]\nclient_id = \"x\"\nclient_secret = \"hunter2-very-secret\n";
        let err = ConfigFile::parse(text, Path::new("c.toml")).unwrap_err();
        let shown = err.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("line 3"), "{shown}");
    }

    #[test]
    fn wrong_type_for_secret_is_not_echoed() {
        let text = "[profiles.p]\nclient_secret = 123456789\n";
        let err = ConfigFile::parse(text, Path::new("c.toml")).unwrap_err();
        assert!(!err.to_string().contains("123456789"), "{err}");
    }

    #[test]
    fn no_toml_type_of_secret_is_echoed() {
        for value in [
            "987654321",
            "98765.4321",
            "true",
            "1979-05-27T07:32:00Z",
            "[\"hunter2-a\", \"hunter2-b\"]",
            "{ v = \"hunter2-c\" }",
            "[\n  \"hunter2-d\",\n]",
        ] {
            let text = format!("[profiles.p]\nclient_id = \"x\"\nclient_secret = {value}\n");
            let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err();
            let shown = err.to_string();
            for part in ["98765", "hunter2", "1979", "true"] {
                assert!(!shown.contains(part), "{value}: {shown}");
            }
        }
        // A table spelled as a section header.
        let text = "[profiles.p.client_secret]\nv = \"hunter2-e\"\n";
        let shown = ConfigFile::parse(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

/// A config file read for listing: the usable profiles, and why each other one is unusable.
#[derive(Clone, Debug, Default)]
pub struct ListedConfig {
    /// The file with only the profiles that pass every check.
    pub file: ConfigFile,
    /// Profiles that cannot be used, with the reason.
    pub unusable: BTreeMap<String, String>,
    /// Problems with the file outside any profile (e.g. an unknown default_profile).
    pub problems: Vec<String>,
}

impl ListedConfig {
    /// Reads a file, checking each profile on its own so one bad profile hides no other.
    pub fn load(path: &Path) -> Result<ListedConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| parse_error(&e, &text, path))?;
        let profiles = match table.remove("profiles") {
            Some(toml::Value::Table(t)) => t,
            Some(_) => {
                return Err(ConfigError::Parse {
                    path: path.to_owned(),
                    line: None,
                    column: None,
                    message: "profiles must be a table of [profiles.NAME] sections".to_owned(),
                });
            }
            None => toml::Table::new(),
        };
        let mut listed = ListedConfig::default();
        let top = toml::to_string(&table).unwrap_or_default();
        match toml::from_str::<ConfigFile>(&top) {
            Ok(file) => listed.file = file,
            Err(e) => listed
                .problems
                .push(parse_error(&e, &top, path).to_string()),
        }
        for (name, value) in profiles {
            let sub = match &value {
                toml::Value::Table(t) => toml::to_string(t).unwrap_or_default(),
                _ => {
                    listed
                        .unusable
                        .insert(name, "not a [profiles.NAME] table".to_owned());
                    continue;
                }
            };
            let checked = toml::from_str::<Profile>(&sub)
                .map_err(|e| match parse_error(&e, &sub, path) {
                    ConfigError::Parse { message, .. } => message,
                    other => other.to_string(),
                })
                .and_then(|p| {
                    p.check(path, &name).map(|()| p).map_err(|e| match e {
                        ConfigError::InvalidProfile { message, .. } => message,
                        other => other.to_string(),
                    })
                })
                .and_then(|p| {
                    if p.client_secret.is_some() {
                        check_private(path, &name).map_err(|e| e.to_string())?;
                    }
                    Ok(p)
                });
            match checked {
                Ok(p) => {
                    listed.file.profiles.insert(name, p);
                }
                Err(why) => {
                    listed.unusable.insert(name, why);
                }
            }
        }
        if let Some(default) = &listed.file.default_profile
            && !listed.file.profiles.contains_key(default)
            && !listed.unusable.contains_key(default)
        {
            listed
                .problems
                .push(format!("default_profile {default:?} names no profile"));
        }
        Ok(listed)
    }
}
