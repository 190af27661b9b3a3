//! `mfadesk token USER`: a temporary MFA token, printed once on stdout and nowhere else.

use serde_json::json;

use crate::api::{MfaToken, ResponseMeta, User, with_meta};
use crate::app::validate::MFA_TOKEN_MAX_SECS;
use crate::audit::{AuditAction, AuditEntry, AuditOutcome};
use crate::ops::{Change, OpsError, resolve_user};
use crate::ui::text::clean;
use crate::worker::{self, ApiRequest, ApiResponse};

use super::context::Context;
use super::duration::parse_secs;
use super::flow;
use super::output::Output;
use super::users::user_json;

/// Shortest lifetime accepted, in seconds.
const MIN_SECS: u64 = 60;

/// Issues the token after the gate, the caller check and a confirmation.
pub async fn run(
    ctx: &mut Context,
    out: &Output,
    user_text: &str,
    expires_in: &str,
    reusable: bool,
    reason: Option<&str>,
    yes: bool,
) -> Result<(), OpsError> {
    let secs = lifetime(expires_in).map_err(|e| OpsError::Usage(format!("--expires-in {e}")))?;
    let user = resolve_user(&ctx.client, user_text).await?;
    let signals = super::show::signals_before_change(&ctx.client, out, &user).await;
    let entry = entry(ctx, &user, secs, reusable, reason);
    let question = format!(
        "Issue a{} temporary MFA token for {}, valid {}?",
        if reusable { " reusable" } else { "" },
        clean(&user.display_name()),
        expires_in.trim()
    );
    let entry = flow::confirm_change(
        ctx,
        entry,
        Change::MfaToken,
        &user,
        None,
        reason,
        yes,
        &question,
    )
    .await?;
    let entry = crate::ops::Recorder::with_signals(entry, &signals);
    let (token, _meta) = send(ctx, entry, &user, secs, reusable).await?;
    let expires = token.expires_at.map(|t| t.to_rfc3339());
    if out.json {
        out.json(&json!({
            "user": user_json(&user),
            "mfa_token": token.mfa_token.expose(),
            "reusable": token.reusable,
            "expires_at": expires,
        }));
    } else {
        out.text(token.mfa_token.expose());
        out.note(&format!(
            "temporary MFA token for {}{}{} (shown once, above)",
            clean(&user.display_name()),
            if token.reusable {
                ", reusable"
            } else {
                ", single use"
            },
            expires
                .map(|e| format!(", expires {e}"))
                .unwrap_or_default()
        ));
    }
    Ok(())
}

/// A token lifetime as typed (`90m`, `24h`), within what the tenant allows, in seconds.
pub(super) fn lifetime(text: &str) -> Result<u32, String> {
    // The suggestions stay within the 72 h a temporary token may live.
    let secs = parse_secs(text).map_err(|e| {
        format!(
            ": {}",
            e.replace("90, 10m, 2h or 7d", "10m, 1h, 8h or 72h")
                .replace("s, m, h, d or w", "s, m, h or d (72h at most)")
        )
    })?;
    if !(MIN_SECS..=u64::from(MFA_TOKEN_MAX_SECS)).contains(&secs) {
        return Err(format!("must be between 1m and 72h (got {secs}s)"));
    }
    Ok(u32::try_from(secs).unwrap_or(MFA_TOKEN_MAX_SECS))
}

/// The attempt line of a temporary token: its lifetime and reason, never the token.
pub(super) fn entry(
    ctx: &Context,
    user: &User,
    secs: u32,
    reusable: bool,
    reason: Option<&str>,
) -> AuditEntry {
    let mut entry = ctx
        .recorder
        .entry(user, None, AuditAction::MfaToken, AuditOutcome::Attempt);
    entry.reason = reason.map(str::to_owned);
    entry.message = Some(format!(
        "expires_in: {secs}s{}",
        if reusable { ", reusable" } else { "" }
    ));
    entry
}

/// Records the attempt, issues the token and records the outcome (the one issue both `token`
/// and `bulk token` send).
pub(super) async fn send(
    ctx: &mut Context,
    entry: AuditEntry,
    user: &User,
    secs: u32,
    reusable: bool,
) -> Result<(MfaToken, ResponseMeta), OpsError> {
    ctx.recorder.attempt(entry.clone())?;
    deliver(ctx, entry, user, secs, reusable).await
}

/// Issues the token and records the outcome of an attempt already on the trail.
pub(super) async fn deliver(
    ctx: &mut Context,
    entry: AuditEntry,
    user: &User,
    secs: u32,
    reusable: bool,
) -> Result<(MfaToken, ResponseMeta), OpsError> {
    let request = ApiRequest::MfaToken {
        user_id: user.id,
        expires_in: secs,
        reusable,
    };
    let (response, meta) = with_meta(worker::execute(&ctx.client, request)).await;
    match response {
        ApiResponse::MfaToken(Ok(t)) => {
            ctx.recorder.success(entry, &meta);
            Ok((t, meta))
        }
        ApiResponse::MfaToken(Err(e)) => {
            ctx.recorder.failure(entry, &e);
            Err(e.into())
        }
        _ => Err(OpsError::Usage("unexpected answer".into())),
    }
}
