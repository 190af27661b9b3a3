//! `mfadesk show USER`: the user, the enrolled devices and the factors still available.

use serde_json::{Value, json};

use crate::api::{AuthFactor, Client, Event, OtpDevice, User};
use crate::app::dialogs::DeviceKind;
use crate::app::validate::mask_phone;
use crate::ops::{OpsError, resolve_user};
use crate::worker::{self, ApiRequest, ApiResponse};

use super::context::Context;
use super::output::{Output, table};
use super::users::user_json;

/// How a device is checked, in one word.
pub fn method(d: &OtpDevice) -> &'static str {
    match DeviceKind::of(d) {
        DeviceKind::Sms => "sms",
        DeviceKind::Voice => "voice",
        DeviceKind::Push => "push",
        DeviceKind::Code => "code",
    }
}

/// A device as JSON; the phone number is masked, as on screen.
pub fn device_json(d: &OtpDevice) -> Value {
    json!({
        "id": d.id.0,
        "factor": d.auth_factor_name,
        "name": d.user_display_name,
        "type_display_name": d.type_display_name,
        "phone": d.phone_number.as_deref().map(mask_phone),
        "active": d.active,
        "default": d.default,
        "needs_trigger": d.needs_trigger,
        "method": method(d),
    })
}

/// The user's devices and factors, fetched at once.
pub async fn devices_and_factors(
    client: &Client,
    user: &User,
) -> Result<(Vec<OtpDevice>, Vec<AuthFactor>), OpsError> {
    let (devices, factors) = tokio::join!(
        worker::execute(client, ApiRequest::GetDevices(user.id)),
        worker::execute(client, ApiRequest::GetFactors(user.id)),
    );
    let devices = match devices {
        ApiResponse::Devices(r) => r?,
        _ => Vec::new(),
    };
    let factors = match factors {
        ApiResponse::Factors(r) => r?,
        _ => Vec::new(),
    };
    Ok((devices, factors))
}

/// The user's devices only.
pub async fn devices(client: &Client, user: &User) -> Result<Vec<OtpDevice>, OpsError> {
    match worker::execute(client, ApiRequest::GetDevices(user.id)).await {
        ApiResponse::Devices(r) => Ok(r?),
        _ => Ok(Vec::new()),
    }
}

/// The user's last 14 days of events (empty, with a note, when they cannot be read).
async fn recent_events(client: &Client, out: &Output, user: &User) -> Vec<Event> {
    match crate::ops::events::recent_events(client, user, chrono::Utc::now()).await {
        Ok(events) => events,
        Err(e) => {
            out.note(&format!(
                "events could not be read, signals may be missing: {}",
                crate::ui::text::clean(&e.message)
            ));
            Vec::new()
        }
    }
}

/// The signals of a user before a risky change, said on stderr above its confirmation (empty,
/// with a note, when the events cannot be read).
pub async fn signals_before_change(
    client: &Client,
    out: &Output,
    user: &User,
) -> Vec<crate::ops::Signal> {
    let events = recent_events(client, out, user).await;
    let signals = crate::ops::signals::signals(user, &events, chrono::Utc::now());
    if !signals.is_empty() {
        out.note("signals on this account:");
        for s in &signals {
            out.note(&format!("  {}", crate::ui::text::clean(&s.summary)));
        }
    }
    signals
}

/// Prints the user.
pub async fn run(ctx: &Context, out: &Output, text: &str) -> Result<(), OpsError> {
    let user = resolve_user(&ctx.client, text).await?;
    // Devices, factors and events in one round trip.
    let (loads, events) = tokio::join!(
        devices_and_factors(&ctx.client, &user),
        recent_events(&ctx.client, out, &user)
    );
    let (devices, factors) = loads?;
    let signals = crate::ops::signals::signals(&user, &events, chrono::Utc::now());
    if out.json {
        out.json(&json!({
            "user": user_json(&user),
            "signals": signals
                .iter()
                .map(|s| json!({"name": s.name.as_str(), "summary": s.summary, "at": s.at.to_rfc3339()}))
                .collect::<Vec<_>>(),
            "devices": devices.iter().map(device_json).collect::<Vec<_>>(),
            "factors": factors
                .iter()
                .map(|f| json!({"id": f.factor_id, "name": f.name}))
                .collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    let mut head = format!(
        "{} · id {}",
        out.bold(&crate::ui::text::clean(&user.display_name())),
        user.id
    );
    if let Some(email) = &user.email {
        head.push_str(&format!(" · {}", crate::ui::text::clean(email)));
    }
    out.text(&head);
    let login = user.last_login.map_or("never".to_owned(), |t| {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    });
    out.text(&format!("{} · last login {login}", user.status().label()));
    out.text("");
    if !signals.is_empty() {
        out.text(&out.bold("Signals"));
        for s in &signals {
            out.text(&format!("  {}", crate::ui::text::clean(&s.summary)));
        }
        out.text("");
    }
    if devices.is_empty() {
        out.text("No enrolled device.");
    } else {
        let rows: Vec<Vec<String>> = devices
            .iter()
            .map(|d| {
                vec![
                    d.id.0.clone(),
                    if d.default {
                        "★".into()
                    } else {
                        String::new()
                    },
                    d.auth_factor_name.clone(),
                    d.user_display_name.clone().unwrap_or_default(),
                    d.phone_number
                        .as_deref()
                        .map(mask_phone)
                        .unwrap_or_default(),
                    if d.active { "active" } else { "pending" }.into(),
                    method(d).into(),
                ]
            })
            .collect();
        out.text(&table(
            &["DEVICE", "", "FACTOR", "NAME", "PHONE", "STATE", "CHECK"],
            &rows,
        ));
    }
    out.text("");
    if factors.is_empty() {
        out.text("No factor left to enroll.");
    } else {
        let rows: Vec<Vec<String>> = factors
            .iter()
            .map(|f| vec![f.factor_id.to_string(), f.name.clone()])
            .collect();
        out.text(&table(&["FACTOR ID", "AVAILABLE FACTOR"], &rows));
    }
    Ok(())
}
