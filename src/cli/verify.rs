//! `mfadesk verify`: the caller check on an active device, or the activation of a pending one.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::api::{OtpDevice, Secret, User, VerifyOutcome, with_meta};
use crate::app::dialogs::DeviceKind;
use crate::audit::{AuditAction, AuditOutcome};
use crate::ops::code::{CodeFactor, resend_wait};
use crate::ops::{Change, OpsError, resolve_device, resolve_user};
use crate::worker::{self, ApiRequest, ApiResponse};

use super::context::Context;
use super::output::Output;
use super::prompt;
use super::show::{device_json, devices};
use super::users::user_json;

/// How long a code or push is waited for when neither `--timeout` nor the tenant says.
pub(super) const DEFAULT_WAIT_SECS: u64 = 120;
/// Between two polls of a push.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// How a check ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Checked {
    /// The code or push was accepted.
    Verified,
    /// No code was given: a pending device stays pending.
    LeftPending,
}

/// The audit action of checking this device.
fn action_for(device: &OtpDevice) -> AuditAction {
    if device.active {
        crate::ops::caller::CHECK_ACTION
    } else {
        AuditAction::Verify
    }
}

/// With no DEVICE: the default device, else the only active one.
fn pick_device<'a>(
    devices: &'a [OtpDevice],
    text: Option<&str>,
    user: &User,
) -> Result<&'a OtpDevice, OpsError> {
    if let Some(text) = text {
        return resolve_device(devices, text, user);
    }
    if let Some(d) = devices.iter().find(|d| d.default && d.active) {
        return Ok(d);
    }
    let active: Vec<&OtpDevice> = devices.iter().filter(|d| d.active).collect();
    match active.as_slice() {
        [one] => Ok(one),
        [] => Err(OpsError::NotFound(format!(
            "{} has no active device to check; name a pending one to activate it (mfadesk show {})",
            user.display_name(),
            user.id
        ))),
        _ => Err(OpsError::Ambiguous {
            message: format!(
                "{} has {} active devices and no default; nothing was checked. Name one:\n{}",
                user.display_name(),
                active.len(),
                active
                    .iter()
                    .map(|d| format!("  {}  {}", d.id, d.label()))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            candidates: active
                .iter()
                .map(|d| crate::ops::Candidate {
                    id: d.id.0.clone(),
                    name: d.label(),
                    email: None,
                })
                .collect(),
        }),
    }
}

/// A stderr line that rewrites itself while waiting, only on a terminal.
struct Progress {
    on: bool,
    frame: usize,
}

impl Progress {
    fn new() -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            frame: 0,
        }
    }

    fn tick(&mut self, text: &str, left: Duration) {
        if !self.on {
            return;
        }
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let s = left.as_secs();
        eprint!(
            "\r\x1b[2K{} {text} · {}:{:02} left",
            FRAMES[self.frame % FRAMES.len()],
            s / 60,
            s % 60
        );
        let _ = std::io::stderr().flush();
        self.frame += 1;
    }

    fn done(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

/// Triggers when needed, then waits for the push or reads the code, with audit lines around it.
pub(super) async fn check(
    ctx: &mut Context,
    out: &Output,
    user: &User,
    device: &OtpDevice,
    sent: Option<Secret>,
    code_stdin: bool,
    timeout: Option<u64>,
) -> Result<Checked, OpsError> {
    let change = if device.active {
        Change::CallerCheck
    } else {
        Change::Activate
    };
    let action = action_for(device);
    let entry = ctx
        .recorder
        .entry(user, Some(device), action, AuditOutcome::Attempt);
    if let Err(e) = ctx.gate.check(change, None) {
        ctx.recorder.refused(entry, &e);
        return Err(e);
    }
    let kind = DeviceKind::of(device);
    let mut entry = entry;
    entry.method = Some(
        if kind == DeviceKind::Push {
            "push"
        } else {
            "code"
        }
        .to_owned(),
    );
    ctx.recorder.attempt(entry.clone())?;
    let mut wait = Duration::from_secs(timeout.unwrap_or(DEFAULT_WAIT_SECS));
    let factor = CodeFactor::of(device, user.email.as_deref());
    let mut sends = Vec::new();
    let state_token = match sent {
        Some(token) => {
            sends.push(Utc::now());
            Some(token)
        }
        None if device.needs_trigger => match trigger(ctx, user, device).await {
            Ok(t) => {
                if timeout.is_none()
                    && let Some(at) = t.state_token_expires_at
                {
                    let left = (at - Utc::now()).num_seconds().max(1);
                    wait = Duration::from_secs(u64::try_from(left).unwrap_or(DEFAULT_WAIT_SECS));
                }
                sends.push(Utc::now());
                out.note(&match kind {
                    DeviceKind::Push => format!("push sent to {}", clean(&device.label())),
                    DeviceKind::Voice => format!("calling {}", clean(&device.label())),
                    _ => format!("code sent to {}", clean(&device.label())),
                });
                Some(t.state_token)
            }
            Err(e) => {
                ctx.recorder.failure(entry, &e);
                return Err(e.into());
            }
        },
        None => None,
    };
    let result = match factor {
        None => wait_for_push(ctx, user, device, state_token, wait).await,
        Some(factor) => {
            let code = CodeRound {
                factor,
                sends,
                state_token,
                wait,
                code_stdin,
            };
            take_code(ctx, out, user, device, &entry, code).await
        }
    };
    match result {
        Ok((Checked::Verified, meta)) => {
            ctx.recorder.success(entry, &meta);
            Ok(Checked::Verified)
        }
        Ok((Checked::LeftPending, _)) => {
            ctx.recorder.outcome(
                entry
                    .outcome(AuditOutcome::Pending)
                    .message("no code given: the device is left pending"),
            );
            Ok(Checked::LeftPending)
        }
        Err(e) => {
            match e.api_error() {
                Some(api) => ctx.recorder.failure(entry, api),
                None => ctx
                    .recorder
                    .outcome(entry.outcome(AuditOutcome::Failure).message(e.to_string())),
            };
            Err(e)
        }
    }
}

/// Refuses a caller check with a device enrolled within 24 h (the same rule as the console).
fn refuse_new_device(
    ctx: &mut Context,
    user: &User,
    list: &[OtpDevice],
    device: &OtpDevice,
    mut enrolled: Vec<crate::ops::device_age::EnrolledAt>,
) -> Result<(), OpsError> {
    use crate::ops::device_age::{NO_OLD_DEVICE, any_offered, check_devices};
    enrolled.extend(ctx.enrolled_at(user));
    let checkable = check_devices(list, &enrolled, Utc::now());
    let Some(why) = checkable
        .iter()
        .find(|c| c.device.id == device.id)
        .and_then(|c| c.blocked.clone())
    else {
        return Ok(());
    };
    let label = clean(&device.label());
    let message = if any_offered(&checkable) {
        format!(
            "{label} was {why}; nothing was checked: name an older device (mfadesk show {})",
            user.id
        )
    } else {
        format!("{NO_OLD_DEVICE}: {label} was {why}; nothing was checked")
    };
    let e = OpsError::CheckFailed(message, None);
    let entry = ctx.recorder.entry(
        user,
        Some(device),
        crate::ops::caller::CHECK_ACTION,
        AuditOutcome::Attempt,
    );
    ctx.recorder.refused(entry, &e);
    Err(e)
}

/// Triggers the device with the defaults (a new code, call or push).
async fn trigger(
    ctx: &Context,
    user: &User,
    device: &OtpDevice,
) -> Result<crate::api::TriggerResult, crate::api::ApiError> {
    let request = ApiRequest::Trigger {
        user_id: user.id,
        device_id: device.id.clone(),
        expires_in: None,
        numeric: None,
        sms_message: None,
    };
    match worker::execute(&ctx.client, request).await {
        ApiResponse::Triggered(r) => r,
        _ => Err(crate::api::ApiError::new(
            crate::api::ErrorKind::BadRequest,
            "unexpected answer to the trigger",
        )),
    }
}

/// What a round of code taking knows: the factor, the codes sent, the state token.
struct CodeRound {
    factor: CodeFactor,
    sends: Vec<chrono::DateTime<Utc>>,
    state_token: Option<Secret>,
    wait: Duration,
    code_stdin: bool,
}

/// How many codes a terminal may try before the check fails (as in the console).
const TRIES: usize = 3;

/// Reads and checks the code the way the console's code field does: spaces and dashes go, an
/// empty line on a terminal sends a new code at most every 30 s, a wrong code is asked again
/// (three tries on a terminal), and the wording fits the factor.
async fn take_code(
    ctx: &mut Context,
    out: &Output,
    user: &User,
    device: &OtpDevice,
    entry: &crate::audit::AuditEntry,
    mut round: CodeRound,
) -> Result<(Checked, crate::api::ResponseMeta), OpsError> {
    let who = if device.active { "caller" } else { "user" };
    let terminal = !round.code_stdin;
    let prompt_text = match round.factor {
        CodeFactor::YubiKey => "Touch the YubiKey (its code is not shown): ".to_owned(),
        _ => format!("Code from {} (not shown): ", clean(&device.label())),
    };
    let mut tries = 0;
    loop {
        let line = prompt::read_code_line(round.code_stdin, &prompt_text, round.wait).await?;
        if line.trim().is_empty() {
            if terminal && round.factor.is_sent() && device.needs_trigger {
                if let Some(left) = resend_wait(&round.sends, Utc::now()) {
                    out.note(&format!("New code possible in {left}s"));
                    continue;
                }
                let t = trigger(ctx, user, device).await.map_err(OpsError::from)?;
                round.state_token = Some(t.state_token);
                round.sends.push(Utc::now());
                if let Some(sent) = round.factor.sent_line(&round.sends) {
                    out.note(&sent);
                }
                continue;
            }
            return match device.active {
                false => Ok((Checked::LeftPending, Default::default())),
                true => Err(OpsError::CheckFailed(
                    "no code was given; nothing was checked".into(),
                    None,
                )),
            };
        }
        let code = match round.factor.check(&line) {
            Ok(code) => code,
            Err(problem) if terminal && tries + 1 < TRIES => {
                tries += 1;
                out.note(&problem.message());
                continue;
            }
            Err(problem) => return Err(OpsError::CheckFailed(problem.message(), None)),
        };
        let request = ApiRequest::Verify {
            user_id: user.id,
            device_id: device.id.clone(),
            state_token: round.state_token.clone(),
            otp: Some(Secret::new(code)),
        };
        let (response, meta) = with_meta(worker::execute(&ctx.client, request)).await;
        match response {
            ApiResponse::Verified(Ok(VerifyOutcome::Verified)) => {
                return Ok((Checked::Verified, meta));
            }
            ApiResponse::Verified(Ok(VerifyOutcome::Pending { message })) => {
                return Err(OpsError::CheckFailed(
                    format!("not verified: {message}"),
                    None,
                ));
            }
            ApiResponse::Verified(Err(e))
                if e.kind == crate::api::ErrorKind::WrongCode && terminal && tries + 1 < TRIES =>
            {
                tries += 1;
                // Each try is its own attempt in the trail, as in the console.
                ctx.recorder.failure(entry.clone(), &e);
                ctx.recorder.attempt(entry.clone())?;
                out.note(&round.factor.wrong_code(&round.sends, who));
            }
            ApiResponse::Verified(Err(e)) => return Err(e.into()),
            _ => return Err(OpsError::Usage("unexpected answer".into())),
        }
    }
}

/// Polls a push until it is approved, denied or the wait runs out.
async fn wait_for_push(
    ctx: &Context,
    user: &User,
    device: &OtpDevice,
    state_token: Option<Secret>,
    wait: Duration,
) -> Result<(Checked, crate::api::ResponseMeta), OpsError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut progress = Progress::new();
    let what = format!(
        "waiting for {} to approve the push",
        clean(&user.display_name())
    );
    let result = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break Err(OpsError::CheckFailed(
                format!(
                    "the push was not approved within {}s; nothing was changed",
                    wait.as_secs()
                ),
                None,
            ));
        }
        progress.tick(&what, left);
        let request = ApiRequest::Verify {
            user_id: user.id,
            device_id: device.id.clone(),
            state_token: state_token.clone(),
            otp: None,
        };
        let (response, meta) = with_meta(worker::execute(&ctx.client, request)).await;
        match response {
            ApiResponse::Verified(Ok(VerifyOutcome::Verified)) => {
                break Ok((Checked::Verified, meta));
            }
            ApiResponse::Verified(Ok(VerifyOutcome::Pending { .. })) => {}
            ApiResponse::Verified(Err(e)) => break Err(e.into()),
            _ => break Err(OpsError::Usage("unexpected answer".into())),
        }
        // The spinner turns every half second; the API is asked every two.
        let next = tokio::time::Instant::now() + POLL_EVERY;
        while tokio::time::Instant::now() < next.min(deadline) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            progress.tick(&what, left);
        }
    };
    progress.done();
    result
}

pub(super) fn clean(text: &str) -> String {
    crate::ui::text::clean(text)
}

/// `mfadesk verify USER [DEVICE]`.
pub async fn run(
    ctx: &mut Context,
    out: &Output,
    user_text: &str,
    device_text: Option<&str>,
    code_stdin: bool,
    timeout: Option<u64>,
) -> Result<(), OpsError> {
    let user = resolve_user(&ctx.client, user_text).await?;
    // The events join the same round: their device additions (22/540) count for device age.
    let (list, events) = tokio::join!(
        devices(&ctx.client, &user),
        crate::ops::events::recent_events(&ctx.client, &user, Utc::now())
    );
    let list = list?;
    let device = pick_device(&list, device_text, &user)?.clone();
    if device.active {
        let from_events: Vec<crate::ops::device_age::EnrolledAt> = events
            .map(|e| crate::ops::signals::device_enrolled_at(&e))
            .unwrap_or_default()
            .into_iter()
            .map(|(id, at)| (crate::api::DeviceId(id), at))
            .collect();
        refuse_new_device(ctx, &user, &list, &device, from_events)?;
    }
    let was_active = device.active;
    let checked = check(ctx, out, &user, &device, None, code_stdin, timeout).await?;
    let kind = if was_active {
        "caller_check"
    } else {
        "activation"
    };
    if out.json {
        out.json(&json!({
            "user": user_json(&user),
            "device": device_json(&device),
            "check": kind,
            "result": match checked {
                Checked::Verified => "verified",
                Checked::LeftPending => "pending",
            },
            "at": Utc::now().to_rfc3339(),
        }));
        return Ok(());
    }
    let who = clean(&user.display_name());
    let label = clean(&device.label());
    out.text(&match (checked, was_active) {
        (Checked::Verified, true) => format!("Caller check passed: {who} holds {label}."),
        (Checked::Verified, false) => format!("Verified: {label} of {who} is now active."),
        (Checked::LeftPending, _) => {
            format!("No code given: {label} of {who} is left pending.")
        }
    });
    Ok(())
}
