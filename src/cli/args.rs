//! The command line, defined once for the program, its completions and its man page.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::CliOptions;
use crate::ops::bulk::BulkAction;
use crate::sim::cli::SimArgs;

/// A terminal console for managing users' MFA factors in OneLogin.
///
/// With no credentials it runs against a built-in demo tenant. Set ONELOGIN_CLIENT_ID,
/// ONELOGIN_CLIENT_SECRET and a base URL (--base-url, ONELOGIN_BASE_URL or ONELOGIN_SUBDOMAIN),
/// or use a profile from the config file, to reach a real tenant. Every console action is also
/// a one-shot command; exit statuses: 0 done, 1 the API call failed, 2 usage or configuration
/// error, 3 user or device not found or ambiguous, 4 refused, 5 rate limited, 6 the check failed.
#[derive(Parser, Debug)]
#[command(name = "mfadesk", version, about)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub options: CliOptions,
    /// The command; none starts the console.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands that take none of the shared options: their help lists only their own.
pub const OWN_OPTIONS_ONLY: [&str; 3] = ["sim", "completions", "man"];

/// The command line: the derived definition, with the shared options hidden from the help of the
/// commands that ignore them. Each of those commands gets a hidden copy of every shared option
/// (same id and parser), so clap does not propagate the listed one there, and a value given after
/// the command still reaches the shared options as before.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let shared: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    OWN_OPTIONS_ONLY.into_iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, |sub| {
            shared.iter().fold(sub, |sub, arg| {
                sub.arg(arg.clone().global(false).hide(true))
            })
        })
    })
}

/// Parses a command line (the program name first) with [`command`].
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command();
    let mut matches = cmd.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
}

/// `--json` for the commands that print results.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct JsonFlag {
    /// Print one JSON document on stdout (errors too).
    #[arg(long)]
    pub json: bool,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Search users (the console's search syntax), every page.
    Users {
        /// e.g. kelly*, email:kelly*, "Slater, Kelly", 36216766.
        query: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show a user, their enrolled devices and the factors they can still enroll.
    Show {
        /// User id, email or username.
        user: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// What happened to a user: their events, newest first (default: the last 14 days).
    Events {
        /// User id, email or username.
        user: String,
        /// From WHEN: a duration back from now (2h, 7d) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Up to WHEN: a duration back from now (2h, 7d) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        until: Option<String>,
        /// Only these event type ids, comma-separated (e.g. 950,1002).
        #[arg(long = "type", value_name = "ID,…", value_delimiter = ',')]
        types: Vec<i64>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Enroll a phone or other factor; a phone continues into verification.
    Enroll {
        /// User id, email or username.
        user: String,
        /// Factor name as the tenant lists it (case-insensitive, e.g. sms) or factor id.
        #[arg(long, value_name = "F")]
        factor: String,
        /// The user's name for the device.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Phone number in E.164 form (+14155550123).
        #[arg(long, value_name = "E164")]
        number: Option<String>,
        /// The number is already verified: the device is active at once, no code is sent.
        #[arg(long)]
        verified: bool,
        /// Read the code as one line from stdin instead of the terminal.
        #[arg(long = "code-stdin")]
        code_stdin: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Check the caller on an active device, or activate a pending one.
    Verify {
        /// User id, email or username.
        user: String,
        /// Device id, or its name or factor name when unique (default: the default device).
        device: Option<String>,
        /// Read the code as one line from stdin instead of the terminal.
        #[arg(long = "code-stdin")]
        code_stdin: bool,
        /// Give up waiting for a push or code after this many seconds.
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: Option<u64>,
        /// Finish a v2 registration `enroll` left pending, with its first code.
        #[arg(long, value_name = "ID", conflicts_with = "device")]
        registration: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Remove a device.
    Remove {
        /// User id, email or username.
        user: String,
        /// Device id, or its name or factor name when unique.
        device: String,
        /// Ticket or reason, for the audit trail.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Issue a temporary MFA token, printed once on stdout.
    Token {
        /// User id, email or username.
        user: String,
        /// Lifetime: seconds or a duration such as 10m, 2h, 3d (at most 72h).
        #[arg(long = "expires-in", value_name = "DURATION", default_value = "1h")]
        expires_in: String,
        /// The token can be used more than once until it expires.
        #[arg(long)]
        reusable: bool,
        /// Ticket or reason, for the audit trail.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Apply one change to every row of a CSV file: checked whole, planned, applied, resumable.
    Bulk(BulkArgs),
    /// Unlock a locked user (the lock after failed sign-ins, or an admin's).
    Unlock {
        /// User id, email or username.
        user: String,
        /// Ticket or reason, for the audit trail.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Sign a user out everywhere: ends the OneLogin session and single sign-on (apps already
    /// open keep their own sessions).
    Logout {
        /// User id, email or username.
        user: String,
        /// Ticket or reason, for the audit trail.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Lock a user (needs a Manage All credential).
    Lock {
        /// User id, email or username.
        user: String,
        /// How long: 15, 60 or 240 minutes, or 0 for the policy's lock period.
        #[arg(long, value_name = "N")]
        minutes: u32,
        /// Ticket or reason, for the audit trail.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Read the audit trail, oldest first.
    Audit {
        /// Only this user (id or email).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Only this operator.
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
        /// Only this action (enroll, trigger, verify, caller_check, remove, mfa_token, unlock,
        /// logout, lock).
        #[arg(long, value_name = "A")]
        action: Option<String>,
        /// Only the lines of this walkthrough case (`w-…`, on every line it wrote).
        #[arg(long, value_name = "ID")]
        case: Option<String>,
        /// Only this tenant: the host of its base URL, optionally with `:port`.
        #[arg(long, value_name = "HOST")]
        tenant: Option<String>,
        /// Only entries since WHEN: a duration (2h, 7d) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Run the demo tenant on its own, for other clients or a second console.
    Sim(SimArgs),
    /// List the profiles in the config file (never their secrets).
    Profiles,
    /// The tenant's MFA coverage, from the store (no API call); `coverage scan` reads the tenant.
    Coverage(CoverageArgs),
}

/// `mfadesk coverage [scan]`.
#[derive(Args, Debug)]
pub struct CoverageArgs {
    /// `scan` reads the tenant into the store; without it the report is printed.
    #[command(subcommand)]
    pub command: Option<CoverageCommand>,
    /// Only users of these categories: none, weak, pending_only, strong (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = category)]
    pub category: Vec<crate::store::coverage::Category>,
    /// Print the report as one JSON document.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write the users as CSV (with a header row) to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<std::path::PathBuf>,
    /// The store file (default: one per tenant in the data directory).
    #[arg(long, value_name = "PATH", global = true)]
    pub store: Option<std::path::PathBuf>,
}

/// `coverage` subcommands.
#[derive(Subcommand, Debug)]
pub enum CoverageCommand {
    /// Read every user's devices into the store, paced within the API budget; resumes a pass
    /// that was stopped.
    Scan {
        /// Share of the hourly budget to spend, more than 0 and at most 1 (default: the
        /// profile's coverage_share, else 0.5).
        #[arg(long, value_name = "F", value_parser = share)]
        share: Option<f64>,
        /// Calls always left to others (default: the profile's coverage_reserve, else 20 % of
        /// the limit).
        #[arg(long, value_name = "N")]
        reserve: Option<u64>,
        /// Read only what changed since the last complete pass (events and the users list).
        #[arg(long)]
        refresh: bool,
    },
}

/// Parses a coverage category.
fn category(s: &str) -> Result<crate::store::coverage::Category, String> {
    crate::store::coverage::Category::parse(s.trim())
        .ok_or_else(|| format!("{s:?} is not a category; use none, weak, pending_only or strong"))
}

/// Parses a share of the hour.
fn share(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    crate::lane::LanePolicy::new(f, None)
        .map(|p| p.share)
        .map_err(|e| e.to_string())
}

/// `mfadesk bulk ACTION --file rows.csv`.
#[derive(Args, Debug, Clone)]
pub struct BulkArgs {
    /// What to do to each row.
    #[arg(value_enum)]
    pub action: BulkAction,
    /// CSV with a header row: user (all), device (remove), expires_in and reusable (token),
    /// reason (all, else --reason).
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// Resolve every row and print what would be done, then exit 10 having changed nothing.
    #[arg(long)]
    pub plan: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Ticket or reason for rows whose reason column is empty.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Continue run RUN (b-…) with the same file: done rows are skipped, nothing is applied twice.
    #[arg(long, value_name = "RUN")]
    pub resume: Option<String>,
    /// The share of the hourly API budget the run may spend, more than 0 and at most 1.
    #[arg(long, value_name = "F", default_value_t = 0.5, value_parser = share)]
    pub share: f64,
    /// Apply rows whose user has no fresh caller check though the profile requires one,
    /// recording this reason as an override on every such row.
    #[arg(long = "override-caller-check", value_name = "REASON")]
    pub override_caller_check: Option<String>,
    /// The store holding run journals (default: one file per tenant in the data directory).
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonFlag,
}
