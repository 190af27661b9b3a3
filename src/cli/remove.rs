//! `mfadesk remove USER DEVICE`: confirmed, gated, audited.

use serde_json::json;

use crate::api::{OtpDevice, ResponseMeta, User, with_meta};
use crate::audit::{AuditAction, AuditEntry, AuditOutcome};
use crate::ops::{Change, OpsError, Recorder, resolve_device, resolve_user};
use crate::ui::text::clean;
use crate::worker::{self, ApiRequest, ApiResponse};

use super::context::Context;
use super::flow;
use super::output::Output;
use super::show::{device_json, devices, signals_before_change};
use super::users::user_json;

/// Removes the device after the gate, the caller check and a confirmation.
pub async fn run(
    ctx: &mut Context,
    out: &Output,
    user_text: &str,
    device_text: &str,
    reason: Option<&str>,
    yes: bool,
) -> Result<(), OpsError> {
    let user = resolve_user(&ctx.client, user_text).await?;
    let (list, signals) = tokio::join!(
        devices(&ctx.client, &user),
        signals_before_change(&ctx.client, out, &user)
    );
    let list = list?;
    let device = resolve_device(&list, device_text, &user)?.clone();
    let entry = entry(ctx, &user, &device, reason);
    let question = format!(
        "Remove {} ({}) from {}?",
        clean(&device.label()),
        device.id,
        clean(&user.display_name())
    );
    let entry = flow::confirm_change(
        ctx,
        entry,
        Change::Remove,
        &user,
        Some(&list),
        reason,
        yes,
        &question,
    )
    .await?;
    let entry = Recorder::with_signals(entry, &signals);
    let meta = send(ctx, entry, &user, &device).await?;
    if out.json {
        out.json(&json!({
            "user": user_json(&user),
            "removed": device_json(&device),
            "request_id": meta.request_id,
        }));
    } else {
        out.text(&format!(
            "Removed {} ({}) from {}.",
            clean(&device.label()),
            device.id,
            clean(&user.display_name())
        ));
    }
    Ok(())
}

/// The attempt line of a removal, with its reason.
pub(super) fn entry(
    ctx: &Context,
    user: &User,
    device: &OtpDevice,
    reason: Option<&str>,
) -> AuditEntry {
    let mut entry = ctx.recorder.entry(
        user,
        Some(device),
        AuditAction::Remove,
        AuditOutcome::Attempt,
    );
    entry.reason = reason.map(str::to_owned);
    entry
}

/// Records the attempt, removes the device and records the outcome (the one removal both
/// `remove` and `bulk remove` send).
pub(super) async fn send(
    ctx: &mut Context,
    entry: AuditEntry,
    user: &User,
    device: &OtpDevice,
) -> Result<ResponseMeta, OpsError> {
    ctx.recorder.attempt(entry.clone())?;
    deliver(ctx, entry, user, device).await
}

/// Removes the device and records the outcome of an attempt already on the trail.
pub(super) async fn deliver(
    ctx: &mut Context,
    entry: AuditEntry,
    user: &User,
    device: &OtpDevice,
) -> Result<ResponseMeta, OpsError> {
    let request = ApiRequest::Remove {
        user_id: user.id,
        device_id: device.id.clone(),
    };
    let (response, meta) = with_meta(worker::execute(&ctx.client, request)).await;
    match response {
        ApiResponse::Removed(Ok(())) => {
            ctx.recorder.success(entry, &meta);
            Ok(meta)
        }
        ApiResponse::Removed(Err(e)) => {
            ctx.recorder.failure(entry, &e);
            Err(e.into())
        }
        _ => Err(OpsError::Usage("unexpected answer".into())),
    }
}
