//! The flow every confirmed change shares: the reason (asked for on a terminal when the profile
//! requires one), the gate, the caller check, and the agent's confirmation.

use crate::api::User;
use crate::audit::AuditEntry;
use crate::ops::{Change, OpsError};

use super::context::Context;
use super::prompt;

/// The change's attempt line, ready to write, once every check has passed and the agent has
/// confirmed; each refusal is recorded and returned.
pub async fn confirm_change(
    ctx: &mut Context,
    entry: AuditEntry,
    change: Change,
    user: &User,
    reason: Option<&str>,
    yes: bool,
    question: &str,
) -> Result<AuditEntry, OpsError> {
    let reason = prompt::reason(reason, ctx.gate.require_reason && !ctx.gate.read_only).await?;
    let caller = ctx.require_caller_check(user, change);
    let gate = ctx.gate.clone();
    let entry = ctx
        .recorder
        .guard(&gate, change, entry, reason.as_deref(), caller)?;
    if let Err(e) = prompt::confirm(question, yes).await {
        ctx.recorder.refused(entry, &e);
        return Err(e);
    }
    Ok(entry)
}
