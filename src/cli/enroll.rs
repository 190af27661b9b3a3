//! `mfadesk enroll`: a new device, continuing into verification for a phone (or a v2 code).

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::api::{DeviceId, Enrollment, OtpDevice, Registration, User, V2Status, with_meta};
use crate::app::dialogs::DeviceKind;
use crate::app::validate;
use crate::audit::{AuditAction, AuditOutcome};
use crate::ops::{Change, OpsError, resolve_factor, resolve_user};
use crate::worker::{self, ApiRequest, ApiResponse};

use super::context::Context;
use super::output::Output;
use super::prompt;
use super::show::{device_json, devices_and_factors};
use super::users::user_json;
use super::verify::{Checked, DEFAULT_WAIT_SECS, check, clean};

/// What `mfadesk enroll` was given.
pub struct EnrollArgs<'a> {
    /// USER.
    pub user: &'a str,
    /// --factor.
    pub factor: &'a str,
    /// --name.
    pub name: &'a str,
    /// --number.
    pub number: Option<&'a str>,
    /// --verified.
    pub verified: bool,
    /// --code-stdin.
    pub code_stdin: bool,
}

/// Phone numbers lose spaces, dots, dashes and parentheses.
fn normalize_phone(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '(' | ')'))
        .collect()
}

/// A v2 registration shown as a device (its device id once accepted, else the registration id).
fn registration_device(
    reg: &Registration,
    factor: &str,
    name: &str,
    number: Option<&str>,
) -> OtpDevice {
    OtpDevice {
        id: reg
            .device_id
            .clone()
            .unwrap_or_else(|| DeviceId(reg.id.clone())),
        active: reg.status == V2Status::Accepted,
        default: false,
        needs_trigger: false,
        auth_factor_name: reg
            .auth_factor_name
            .clone()
            .unwrap_or_else(|| factor.to_owned()),
        type_display_name: reg.type_display_name.clone(),
        user_display_name: reg
            .user_display_name
            .clone()
            .or_else(|| Some(name.to_owned())),
        phone_number: number.map(str::to_owned),
        state_token: None,
    }
}

/// Checks a v2 registration's first code (sent by SMS or call), audited as a verify.
async fn check_registration(
    ctx: &mut Context,
    user: &User,
    device: &OtpDevice,
    reg: &Registration,
    code_stdin: bool,
) -> Result<Checked, OpsError> {
    let mut entry = ctx.recorder.entry(
        user,
        Some(device),
        AuditAction::Verify,
        AuditOutcome::Attempt,
    );
    entry.method = Some("code".to_owned());
    ctx.recorder.attempt(entry.clone())?;
    let wait = reg
        .expires_at
        .map(|at| (at - Utc::now()).num_seconds().max(1))
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(DEFAULT_WAIT_SECS);
    let prompt_text = format!("Code from {} (not shown): ", clean(&device.label()));
    let code = match prompt::read_code(code_stdin, &prompt_text, Duration::from_secs(wait)).await {
        Ok(Some(code)) => code,
        Ok(None) => {
            ctx.recorder.outcome(
                entry
                    .outcome(AuditOutcome::Pending)
                    .message("no code given: the device is left pending"),
            );
            return Ok(Checked::LeftPending);
        }
        Err(e) => {
            ctx.recorder
                .outcome(entry.outcome(AuditOutcome::Failure).message(e.to_string()));
            return Err(e);
        }
    };
    let request = ApiRequest::VerifyRegistration {
        user_id: user.id,
        registration_id: reg.id.clone(),
        otp: code,
    };
    let (response, meta) = with_meta(worker::execute(&ctx.client, request)).await;
    match response {
        ApiResponse::Registration(Ok(r)) if r.status == V2Status::Accepted => {
            ctx.recorder.success(entry, &meta);
            Ok(Checked::Verified)
        }
        ApiResponse::Registration(Ok(r)) => {
            let e = OpsError::CheckFailed(
                format!("the code was not accepted (registration {:?})", r.status),
                None,
            );
            ctx.recorder
                .outcome(entry.outcome(AuditOutcome::Failure).message(e.to_string()));
            Err(e)
        }
        ApiResponse::Registration(Err(e)) => {
            ctx.recorder.failure(entry, &e);
            Err(e.into())
        }
        _ => Err(OpsError::Usage("unexpected answer".into())),
    }
}

/// `mfadesk enroll USER --factor F --name NAME`.
pub async fn run(ctx: &mut Context, out: &Output, args: EnrollArgs<'_>) -> Result<(), OpsError> {
    let name = args.name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(OpsError::Usage(
            "--name must be a short name for the device, e.g. \"Work phone\"".into(),
        ));
    }
    let number = args.number.map(normalize_phone);
    if let Some(n) = &number {
        validate::e164(n)
            .map_err(|e| OpsError::Usage(format!("--number must be an E.164 phone number: {e}")))?;
    }
    let user = resolve_user(&ctx.client, args.user).await?;
    let (_, factors) = devices_and_factors(&ctx.client, &user).await?;
    let factor = resolve_factor(&factors, args.factor)?.clone();
    let lower = factor.name.to_ascii_lowercase();
    let phone = lower.contains("sms") || lower.contains("voice");
    if phone && number.is_none() {
        return Err(OpsError::Usage(format!(
            "{} needs --number in E.164 form, e.g. +14155550123",
            factor.name
        )));
    }
    let mut entry = ctx
        .recorder
        .entry(&user, None, AuditAction::Enroll, AuditOutcome::Attempt)
        .factor(factor.name.clone());
    if args.verified {
        entry = entry.message("verified: true");
    }
    if let Err(e) = ctx.gate.check(Change::Enroll, None) {
        ctx.recorder.refused(entry, &e);
        return Err(e);
    }
    let change = if args.verified {
        Change::EnrollVerified
    } else {
        Change::Enroll
    };
    let list = ctx.devices_if_required(&user, change).await?;
    let entry = match ctx.require_caller_check(&user, list.as_deref(), change) {
        Ok(check) => ctx.with_caller_check(entry, check),
        Err(e) => {
            ctx.recorder.refused(entry, &e);
            return Err(e);
        }
    };
    ctx.recorder.attempt(entry.clone())?;
    let request = ApiRequest::Enroll {
        user_id: user.id,
        factor_id: factor.factor_id,
        display_name: name.to_owned(),
        number: number.clone().unwrap_or_default(),
        verified: args.verified,
    };
    let (response, meta) = with_meta(worker::execute(&ctx.client, request)).await;
    let enrollment = match response {
        ApiResponse::Enrolled(Ok(e)) => e,
        ApiResponse::Enrolled(Err(e)) => {
            ctx.recorder.failure(entry, &e);
            return Err(e.into());
        }
        _ => return Err(OpsError::Usage("unexpected answer".into())),
    };
    let (device, checked, registration) = match enrollment {
        Enrollment::Device(device) => {
            ctx.recorder
                .success(entry.device_id(device.id.0.clone()), &meta);
            let checked = if args.verified || device.active {
                Checked::Verified
            } else if phone || device.needs_trigger {
                let sent = device.state_token.clone();
                if sent.is_some() {
                    let what = match DeviceKind::of(&device) {
                        DeviceKind::Voice => "calling",
                        _ => "code sent to",
                    };
                    out.note(&format!("{what} {}", clean(&device.label())));
                }
                check(ctx, out, &user, &device, sent, args.code_stdin, None).await?
            } else {
                Checked::LeftPending
            };
            (device, checked, false)
        }
        Enrollment::Registration(reg) => {
            let device = registration_device(&reg, &factor.name, name, number.as_deref());
            ctx.recorder
                .success(entry.device_id(device.id.0.clone()), &meta);
            let checked = if args.verified || reg.status == V2Status::Accepted {
                Checked::Verified
            } else if phone || lower.contains("email") {
                out.note(&format!("code sent to {}", clean(&device.label())));
                check_registration(ctx, &user, &device, &reg, args.code_stdin).await?
            } else {
                out.note("this factor is registered from the console, which shows its QR code or waits for the app");
                Checked::LeftPending
            };
            (device, checked, true)
        }
    };
    let active = checked == Checked::Verified;
    if out.json {
        let mut d = device_json(&device);
        d["active"] = json!(active);
        out.json(&json!({
            "user": user_json(&user),
            "device": d,
            "verified": args.verified,
            "status": if active { "active" } else { "pending" },
            "registration": registration,
        }));
        return Ok(());
    }
    let label = clean(&device.label());
    let who = clean(&user.display_name());
    out.text(&if active {
        format!("Enrolled {label} for {who}: active (device {}).", device.id)
    } else if registration {
        format!(
            "Enrolled {label} for {who}: left pending (registration {}); finish it in the console, or enroll again.",
            device.id
        )
    } else {
        format!(
            "Enrolled {label} for {who}: left pending (device {}); `mfadesk verify {} {}` activates it.",
            device.id, user.id, device.id
        )
    });
    Ok(())
}
