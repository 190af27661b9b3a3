//! `mfadesk enroll`: a new device, continuing into verification for a phone (or a v2 code).

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::api::{
    DeviceId, Enrollment, ErrorKind, OtpDevice, Registration, Secret, User, V2Status, with_meta,
};
use crate::app::dialogs::DeviceKind;
use crate::app::validate;
use crate::audit::{AuditAction, AuditOutcome};
use crate::ops::code::CodeFactor;
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

/// Checks a v2 registration's first code, audited as a verify of the registration (its id in
/// `registration_id`, the device id once the tenant names it). On a terminal a wrong code is
/// asked again, three tries in all, as in the console.
async fn check_registration(
    ctx: &mut Context,
    out: &Output,
    user: &User,
    factor: &str,
    reg: &Registration,
    code_stdin: bool,
) -> Result<(Checked, Option<DeviceId>), OpsError> {
    let mut entry = ctx
        .recorder
        .entry(user, None, AuditAction::Verify, AuditOutcome::Attempt)
        .factor(factor.to_owned());
    entry.registration_id = Some(reg.id.clone());
    entry.method = Some("code".to_owned());
    ctx.recorder.attempt(entry.clone())?;
    let wait = reg
        .expires_at
        .map(|at| (at - Utc::now()).num_seconds().max(1))
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(DEFAULT_WAIT_SECS);
    let code_factor = CodeFactor::named(factor, user.email.as_deref());
    let prompt_text = format!("Code for {} (not shown): ", clean(factor));
    let mut tries = 0;
    loop {
        let line = match prompt::read_code_line(code_stdin, &prompt_text, Duration::from_secs(wait))
            .await
        {
            Ok(line) => line,
            Err(e) => {
                ctx.recorder
                    .outcome(entry.outcome(AuditOutcome::Failure).message(e.to_string()));
                return Err(e);
            }
        };
        if line.trim().is_empty() {
            ctx.recorder.outcome(
                entry
                    .outcome(AuditOutcome::Pending)
                    .message("no code given: the registration is left pending"),
            );
            return Ok((Checked::LeftPending, None));
        }
        let code = match code_factor.check(&line) {
            Ok(code) => code,
            Err(problem) if !code_stdin && tries + 1 < TRIES => {
                tries += 1;
                out.note(&problem.message());
                continue;
            }
            Err(problem) => {
                let e = OpsError::CheckFailed(problem.message(), None);
                ctx.recorder
                    .outcome(entry.outcome(AuditOutcome::Failure).message(e.to_string()));
                return Err(e);
            }
        };
        let request = ApiRequest::VerifyRegistration {
            user_id: user.id,
            registration_id: reg.id.clone(),
            otp: Secret::new(code),
        };
        let (response, meta) = with_meta(worker::execute(&ctx.client, request)).await;
        match response {
            ApiResponse::Registration(Ok(r)) if r.status == V2Status::Accepted => {
                let device = r.device_id.clone();
                let done = match &device {
                    Some(id) => entry.device_id(id.0.clone()),
                    None => entry,
                };
                ctx.recorder.success(done, &meta);
                return Ok((Checked::Verified, device));
            }
            ApiResponse::Registration(Ok(r)) => {
                let e = OpsError::CheckFailed(
                    format!("the code was not accepted (registration {:?})", r.status),
                    None,
                );
                ctx.recorder
                    .outcome(entry.outcome(AuditOutcome::Failure).message(e.to_string()));
                return Err(e);
            }
            ApiResponse::Registration(Err(e))
                if e.kind == ErrorKind::WrongCode && !code_stdin && tries + 1 < TRIES =>
            {
                tries += 1;
                ctx.recorder.failure(entry.clone(), &e);
                ctx.recorder.attempt(entry.clone())?;
                out.note(&code_factor.wrong_code(&[], "user"));
            }
            ApiResponse::Registration(Err(e)) => {
                ctx.recorder.failure(entry, &e);
                return Err(e.into());
            }
            _ => return Err(OpsError::Usage("unexpected answer".into())),
        }
    }
}

/// How many codes a terminal may try (as in the console).
const TRIES: usize = 3;

/// `mfadesk verify USER --registration ID`: finishes a v2 registration `enroll` left pending.
pub async fn finish(
    ctx: &mut Context,
    out: &Output,
    user_text: &str,
    registration_id: &str,
    code_stdin: bool,
) -> Result<(), OpsError> {
    let user = resolve_user(&ctx.client, user_text).await?;
    ctx.gate.check(Change::Activate, None)?;
    let reg = Registration {
        id: registration_id.to_owned(),
        status: V2Status::Pending,
        device_id: None,
        auth_factor_name: None,
        type_display_name: None,
        user_display_name: None,
        expires_at: None,
        totp_url: None,
        verification_token: None,
    };
    let (checked, device) =
        check_registration(ctx, out, &user, "the registration", &reg, code_stdin).await?;
    let who = clean(&user.display_name());
    let id = clean(registration_id);
    if out.json {
        out.json(&json!({
            "user": user_json(&user),
            "registration_id": registration_id,
            "device_id": device.as_ref().map(|d| d.0.clone()),
            "status": if checked == Checked::Verified { "active" } else { "pending" },
        }));
        return Ok(());
    }
    out.text(&match (checked, device) {
        (Checked::Verified, Some(d)) => format!("Registered for {who}: active (device {d})."),
        (Checked::Verified, None) => format!("Registered for {who}: active."),
        (Checked::LeftPending, _) => format!(
            "No code given: registration {id} of {who} is left pending; `mfadesk verify {} --registration {id}` finishes it.",
            user.id
        ),
    });
    Ok(())
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
            (device, checked, None)
        }
        Enrollment::Registration(reg) => {
            let mut device = registration_device(&reg, &factor.name, name, number.as_deref());
            // A registration id is never a device id: it has its own field in the trail.
            let mut line = entry;
            line.registration_id = Some(reg.id.clone());
            if let Some(id) = &reg.device_id {
                line = line.device_id(id.0.clone());
            }
            ctx.recorder.success(line, &meta);
            let checked = if args.verified || reg.status == V2Status::Accepted {
                Checked::Verified
            } else if phone || lower.contains("email") {
                out.note(&format!("code sent to {}", clean(&device.label())));
                let (checked, id) =
                    check_registration(ctx, out, &user, &factor.name, &reg, args.code_stdin)
                        .await?;
                if let Some(id) = id {
                    device.id = id;
                }
                checked
            } else {
                out.note("this factor is registered from the console, which shows its QR code or waits for the app");
                Checked::LeftPending
            };
            (device, checked, Some(reg.id.clone()))
        }
    };
    let active = checked == Checked::Verified;
    if out.json {
        let mut d = device_json(&device);
        d["active"] = json!(active);
        if registration.as_deref() == Some(device.id.0.as_str()) {
            // No device yet: the registration id is only ever `registration_id`.
            d["id"] = serde_json::Value::Null;
        }
        out.json(&json!({
            "user": user_json(&user),
            "device": d,
            "verified": args.verified,
            "status": if active { "active" } else { "pending" },
            "registration": registration.is_some(),
            "registration_id": registration,
        }));
        return Ok(());
    }
    let label = clean(&device.label());
    let who = clean(&user.display_name());
    out.text(&if active && registration.as_deref() == Some(device.id.0.as_str()) {
        // The tenant named no device yet: never print the registration id as one.
        format!("Enrolled {label} for {who}: active.")
    } else if active {
        format!("Enrolled {label} for {who}: active (device {}).", device.id)
    } else if let Some(id) = &registration {
        let id = clean(id);
        format!(
            "Enrolled {label} for {who}: left pending (registration {id}); `mfadesk verify {} --registration {id}` finishes it.",
            user.id
        )
    } else {
        format!(
            "Enrolled {label} for {who}: left pending (device {}); `mfadesk verify {} {}` activates it.",
            device.id, user.id, device.id
        )
    });
    Ok(())
}
