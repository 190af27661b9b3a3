//! The flow every confirmed change shares: the reason (asked for on a terminal when the profile
//! requires one), the gate, the caller check, and the agent's confirmation.

use crate::api::{OtpDevice, User};
use crate::audit::AuditEntry;
use crate::ops::{Change, OpsError};

use super::context::Context;
use super::prompt;

/// The change's attempt line, ready to write, once every check has passed and the agent has
/// confirmed; each refusal is recorded and returned.
#[allow(clippy::too_many_arguments)]
pub async fn confirm_change(
    ctx: &mut Context,
    entry: AuditEntry,
    change: Change,
    user: &User,
    devices: Option<&[OtpDevice]>,
    reason: Option<&str>,
    yes: bool,
    question: &str,
) -> Result<AuditEntry, OpsError> {
    let reason = prompt::reason(reason, ctx.gate.require_reason && !ctx.gate.read_only).await?;
    // The user's devices, when a required caller check must name one that is active now.
    let fetched;
    let devices = match devices {
        Some(d) => Some(d),
        None => {
            fetched = ctx.devices_if_required(user, change).await?;
            fetched.as_deref()
        }
    };
    // Judged before the question (nothing to confirm if it would be refused)…
    let caller = ctx.require_caller_check(user, devices, change);
    let gate = ctx.gate.clone();
    let entry = ctx
        .recorder
        .guard(&gate, change, entry, reason.as_deref(), caller)?;
    if let Err(e) = prompt::confirm(question, yes).await {
        ctx.recorder.refused(entry, &e);
        return Err(e);
    }
    // …and again just before sending: a check that expired while the question was read
    // refuses the change.
    match ctx.require_caller_check(user, devices, change) {
        Ok(check) => Ok(AuditEntry {
            caller_check: Some(check),
            ..entry
        }),
        Err(e) => {
            ctx.recorder.refused(entry, &e);
            Err(e)
        }
    }
}
