//! The mfadesk command line: the console (default), a one-shot command, the demo tenant, or
//! the profile list.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
