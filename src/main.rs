//! The mfadesk command line: the console (default), the demo tenant, or the profile list.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use mfadesk::config::{self, CliOptions, Paths};
use mfadesk::{console, logging, sim};

/// A terminal console for managing users' MFA factors in OneLogin.
///
/// With no credentials it runs against a built-in demo tenant. Set ONELOGIN_CLIENT_ID,
/// ONELOGIN_CLIENT_SECRET and a base URL (--base-url, ONELOGIN_BASE_URL or ONELOGIN_SUBDOMAIN),
/// or use a profile from the config file, to reach a real tenant.
#[derive(Parser, Debug)]
#[command(name = "mfadesk", version, about)]
struct Cli {
    #[command(flatten)]
    options: CliOptions,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the demo tenant on its own, for other clients or a second console.
    Sim(sim::cli::SimArgs),
    /// List the profiles in the config file (never their secrets).
    Profiles,
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
    // The exit status: 0, or 128 + the signal that stopped the console.
    let result: Result<u8, String> = runtime.block_on(async {
        match cli.command {
            Some(Command::Sim(args)) => sim::cli::run(args)
                .await
                .map(|()| 0)
                .map_err(|e| e.to_string()),
            Some(Command::Profiles) => {
                let paths = Paths::platform().map_err(|e| e.to_string())?;
                let loaded =
                    config::load_config(&cli.options, &paths).map_err(|e| e.to_string())?;
                print!("{}", config::list_profiles(&loaded));
                Ok(0)
            }
            None => {
                let paths = Paths::platform().map_err(|e| e.to_string())?;
                // The account name comes from the system when no variable names the user.
                let env = |k: &str| {
                    std::env::var(k)
                        .ok()
                        .or_else(|| (k == "LOGNAME").then(|| whoami::username().ok()).flatten())
                };
                let settings =
                    config::resolve(&cli.options, &env, &paths).map_err(|e| e.to_string())?;
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
                    .map_err(|e| e.to_string())
            }
        }
    });
    // Nothing left to wait for once the console is closed: a stuck background task must not
    // keep the process alive after the terminal has been handed back.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("mfadesk: {e}");
            ExitCode::FAILURE
        }
    }
}
