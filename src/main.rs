//! The mfadesk command line: the console (default), a one-shot command, the demo tenant, or
//! the profile list.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use mfadesk::cli::{self, Cli, Command};
use mfadesk::config::{self, Paths};
use mfadesk::{console, logging, sim};

/// Exit status for usage and configuration errors.
const USAGE: u8 = 2;

/// Why the console cannot draw here, if it cannot.
fn no_terminal() -> Option<&'static str> {
    if !std::io::stdout().is_terminal() {
        Some("standard output is not a terminal (it goes to a pipe or a file)")
    } else if !std::io::stdin().is_terminal() {
        Some("standard input is not a terminal, so no key could reach the console")
    } else {
        None
    }
}

/// Output cut short by a reader that left (`| head`) ends the process quietly, as in any
/// Unix tool, instead of an error message: the default SIGPIPE action, for the one-shot
/// commands only (the console and the demo tenant keep running over a closed pipe).
#[cfg(unix)]
fn quiet_broken_pipe() {
    // SAFETY: called at start, before any thread exists; it only restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_broken_pipe() {}

/// A usage error: as JSON on stdout when `--json` was asked for, like every other error.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        quiet_broken_pipe();
        e.exit();
    }
    if std::env::args_os().any(|a| a == "--json") {
        let message = e.render().to_string();
        let message = message.trim().trim_start_matches("error: ").to_owned();
        let doc = serde_json::json!({"error": {"kind": "usage", "message": message}});
        let _ = writeln!(std::io::stdout(), "{doc}");
        return ExitCode::from(USAGE);
    }
    e.exit();
}

fn main() -> ExitCode {
    let cli = match mfadesk::cli::args::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    if !matches!(cli.command, None | Some(Command::Sim(_))) {
        quiet_broken_pipe();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mfadesk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status: u8 = runtime.block_on(async {
        if let Some(status) = cli::run(&cli).await {
            return status;
        }
        let result: Result<u8, (u8, String)> = match &cli.command {
            Some(Command::Sim(args)) => sim::cli::run(args.clone())
                .await
                .map(|()| 0)
                .map_err(|e| (1, e.to_string())),
            Some(Command::Profiles) => Paths::platform()
                .map_err(|e| (USAGE, e.to_string()))
                .and_then(|paths| {
                    config::list_profiles_of(&cli.options, &paths)
                        .map_err(|e| (USAGE, e.to_string()))
                })
                .map(|text| {
                    // Profile names, client ids and variable names are what a person typed:
                    // any control or invisible character in them is shown escaped.
                    print!("{}", mfadesk::ui::text::escape_hidden(&text));
                    0
                }),
            Some(_) => Ok(0),
            None => run_console(&cli).await,
        };
        match result {
            Ok(code) => code,
            Err((status, e)) if e.starts_with("mfadesk ") => {
                eprintln!("{}", mfadesk::ui::text::escape_hidden(&e));
                status
            }
            Err((status, e)) => {
                eprintln!("mfadesk: {}", mfadesk::ui::text::escape_hidden(&e));
                status
            }
        }
    });
    // Nothing left to wait for once the console is closed: a stuck background task must not
    // keep the process alive after the terminal has been handed back.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    ExitCode::from(status)
}

/// The console: refuses to start without a terminal, before drawing anything.
async fn run_console(cli: &Cli) -> Result<u8, (u8, String)> {
    let paths = Paths::platform().map_err(|e| (USAGE, e.to_string()))?;
    // The account name comes from the system when no variable names the user.
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| (k == "LOGNAME").then(|| whoami::username().ok()).flatten())
    };
    let settings =
        config::resolve(&cli.options, &env, &paths).map_err(|e| (USAGE, e.to_string()))?;
    if let Some(why) = no_terminal() {
        return Err((
            USAGE,
            format!(
                "mfadesk needs a terminal: {why}. Run it in a terminal, or use a command such as `mfadesk users QUERY` (see mfadesk --help)"
            ),
        ));
    }
    // The log goes to a file only: the terminal belongs to the console.
    let _log = match logging::init(&settings.log_file, &settings.log_level) {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("mfadesk: diagnostic log disabled: {e}");
            None
        }
    };
    console::run(&settings)
        .await
        .map(console::Exit::code)
        .map_err(|e| (1, e.to_string()))
}
