//! `mfadesk unlock|logout|lock USER`: account actions, confirmed, gated, audited.

use serde_json::json;

use crate::audit::AuditOutcome;
use crate::ops::account::{self, AccountAction};
use crate::ops::{OpsError, resolve_user};
use crate::ui::text::clean;

use super::context::Context;
use super::flow;
use super::output::Output;
use super::users::user_json;

/// Runs one account action on a user after the gate, the caller check and a confirmation, then
/// reads the user again so the output shows the status the tenant now has.
pub async fn run(
    ctx: &mut Context,
    out: &Output,
    user_text: &str,
    action: AccountAction,
    reason: Option<&str>,
    yes: bool,
) -> Result<(), OpsError> {
    let user = resolve_user(&ctx.client, user_text).await?;
    let signals = super::show::signals_before_change(&ctx.client, out, &user).await;
    let name = clean(&user.display_name());
    let mut entry = ctx
        .recorder
        .entry(&user, None, action.audit_action(), AuditOutcome::Attempt);
    entry.message = action.note();
    let entry = flow::confirm_change(
        ctx,
        entry,
        action.change(),
        &user,
        reason,
        yes,
        &action.question(&name),
    )
    .await?;
    let entry = crate::ops::Recorder::with_signals(entry, &signals);
    let meta = account::send(&ctx.client, &mut ctx.recorder, entry, &user, action).await?;
    // The action is done; a failed re-read only means the old fields are shown.
    let after = resolve_user(&ctx.client, &user.id.to_string())
        .await
        .unwrap_or(user);
    if out.json {
        let mut doc = json!({
            "user": user_json(&after),
            "action": action.audit_action().as_str(),
            "request_id": meta.request_id,
        });
        if let AccountAction::Lock { minutes } = action {
            doc["minutes"] = json!(minutes);
        }
        out.json(&doc);
    } else {
        out.text(&action.done(&name));
        if let Some(until) = after
            .locked_until
            .filter(|_| matches!(action, AccountAction::Lock { .. }))
        {
            out.note(&format!("locked until {}", until.to_rfc3339()));
        }
    }
    Ok(())
}
