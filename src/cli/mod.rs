//! One-shot commands: the console's operations from the shell, as tables or JSON.

mod account;
pub mod args;
mod audit_cmd;
pub mod bulk;
mod context;
mod coverage_cmd;
mod duration;
mod enroll;
mod events_cmd;
mod flow;
mod gen_cmd;
mod output;
mod prompt;
mod remove;
mod show;
mod token;
mod users;
mod verify;

pub use args::{Cli, Command};
pub use context::Context;
pub use output::Output;

use crate::ops::OpsError;
use crate::ops::account::AccountAction;

/// Runs a one-shot command; returns the exit status. `None` when the command is not one of these.
pub async fn run(cli: &Cli) -> Option<u8> {
    let command = cli.command.as_ref()?;
    let json = match command {
        Command::Users { json, .. }
        | Command::Show { json, .. }
        | Command::Events { json, .. }
        | Command::Enroll { json, .. }
        | Command::Verify { json, .. }
        | Command::Remove { json, .. }
        | Command::Token { json, .. }
        | Command::Unlock { json, .. }
        | Command::Logout { json, .. }
        | Command::Lock { json, .. }
        | Command::Audit { json, .. } => json.json,
        Command::Bulk(args) => {
            return Some(bulk::main(cli, args, &Output::new(args.json.json)).await);
        }
        Command::Completions { shell } => {
            gen_cmd::completions(*shell);
            return Some(0);
        }
        Command::Man => return Some(gen_cmd::man()),
        Command::Coverage(args) => {
            let out = Output::new(args.json);
            return Some(match coverage_cmd::run(&cli.options, &out, args).await {
                Ok(status) => status,
                Err(e) => out.fail(&e),
            });
        }
        Command::Sim(_) | Command::Profiles => return None,
    };
    let out = Output::new(json);
    let result = match command {
        Command::Audit {
            user,
            operator,
            action,
            since,
            case,
            tenant,
            ..
        } => audit_cmd::run(
            &cli.options,
            &out,
            &audit_cmd::Filter {
                user,
                operator,
                action,
                since,
                case,
                tenant,
            },
        ),
        _ => run_online(cli, command, &out).await,
    };
    Some(match result {
        Ok(()) => 0,
        Err(e) => out.fail(&e),
    })
}

/// Commands that talk to a tenant.
async fn run_online(cli: &Cli, command: &Command, out: &Output) -> Result<(), OpsError> {
    let mut ctx = Context::open(&cli.options, out).await?;
    let result = match command {
        Command::Users { query, .. } => users::run(&ctx, out, query).await,
        Command::Show { user, .. } => show::run(&ctx, out, user).await,
        Command::Events {
            user,
            since,
            until,
            types,
            ..
        } => {
            let args = events_cmd::EventsArgs {
                user,
                since: since.as_deref(),
                until: until.as_deref(),
                types,
            };
            events_cmd::run(&ctx, out, args).await
        }
        Command::Enroll {
            user,
            factor,
            name,
            number,
            verified,
            code_stdin,
            ..
        } => {
            let req = enroll::EnrollArgs {
                user,
                factor,
                name,
                number: number.as_deref(),
                verified: *verified,
                code_stdin: *code_stdin,
            };
            enroll::run(&mut ctx, out, req).await
        }
        Command::Verify {
            user,
            device,
            code_stdin,
            timeout,
            registration: Some(id),
            ..
        } => {
            let _ = (device, timeout);
            enroll::finish(&mut ctx, out, user, id, *code_stdin).await
        }
        Command::Verify {
            user,
            device,
            code_stdin,
            timeout,
            ..
        } => {
            verify::run(
                &mut ctx,
                out,
                user,
                device.as_deref(),
                *code_stdin,
                *timeout,
            )
            .await
        }
        Command::Remove {
            user,
            device,
            reason,
            yes,
            ..
        } => remove::run(&mut ctx, out, user, device, reason.as_deref(), *yes).await,
        Command::Token {
            user,
            expires_in,
            reusable,
            reason,
            yes,
            ..
        } => {
            token::run(
                &mut ctx,
                out,
                user,
                expires_in,
                *reusable,
                reason.as_deref(),
                *yes,
            )
            .await
        }
        Command::Unlock {
            user, reason, yes, ..
        } => {
            let action = AccountAction::Unlock;
            account::run(&mut ctx, out, user, action, reason.as_deref(), *yes).await
        }
        Command::Logout {
            user, reason, yes, ..
        } => {
            let action = AccountAction::Logout;
            account::run(&mut ctx, out, user, action, reason.as_deref(), *yes).await
        }
        Command::Lock {
            user,
            minutes,
            reason,
            yes,
            ..
        } => match crate::ops::account::lock_minutes(*minutes) {
            Ok(minutes) => {
                let action = AccountAction::Lock { minutes };
                account::run(&mut ctx, out, user, action, reason.as_deref(), *yes).await
            }
            Err(e) => Err(e),
        },
        _ => Ok(()),
    };
    ctx.close().await;
    result
}
