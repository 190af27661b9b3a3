//! The caller-check and override dialogs, and the gate lines of guarded dialogs.

use super::{Form, SPINNER, device_text};
use crate::app::App;
use crate::app::caller::*;
use crate::app::dialogs::{DeviceKind, Dialog};
use crate::app::validate::countdown;
use crate::ui::text::{clean, fit};
use crate::ui::theme::Theme;

/// The check dialog: pick a device, then wait for the push or type the code.
pub(super) fn draw_check(
    app: &App,
    d: &CallerCheckDialog,
    f: &mut Form<'_>,
    theme: &Theme,
) -> (&'static str, bool) {
    let w = f.width;
    f.text(fit(
        &format!(
            "Is the caller {} (id {})?",
            clean(&d.target.user_label),
            d.target.user_id
        ),
        w,
    ));
    let device = d.device();
    let left = d.expires_at.map(|t| (t - app.now).num_seconds());
    match &d.stage {
        CheckStage::Choose => {
            if d.devices.is_empty() {
                f.blank();
                f.styled(NO_ACTIVE_DEVICE, theme.warn());
                if d.resume.is_some() {
                    f.styled(
                        "o overrides with a reason for this one change.",
                        theme.dim(),
                    );
                }
            } else {
                f.text("They prove it with one of the user's active devices:");
                f.blank();
                let words = d
                    .devices
                    .iter()
                    .map(|x| method_word(DeviceKind::of(x)).len())
                    .max()
                    .unwrap_or(0);
                for (i, x) in d.devices.iter().enumerate() {
                    let sel = i == d.selected;
                    let mark = if sel { ">" } else { " " };
                    let star = if x.default { "★" } else { " " };
                    let how = method_word(DeviceKind::of(x));
                    let name_w = w.saturating_sub(words + 6);
                    let text = format!(
                        "{mark} {star} {:<name_w$} {how:>words$}",
                        fit(&device_text(x), name_w)
                    );
                    if sel {
                        f.styled(text, theme.selected());
                    } else {
                        f.text(text);
                    }
                }
                f.blank();
                f.styled(
                    "Enter checks with this device (push: they approve it; others: they read the code).",
                    theme.dim(),
                );
            }
        }
        CheckStage::Sending => {
            let what = match d.kind() {
                Some(DeviceKind::Push) => "Sending the push…",
                Some(DeviceKind::Voice) => "Calling…",
                _ => "Sending the code…",
            };
            f.blank();
            f.styled(
                format!("{} {what}", SPINNER[app.spinner % SPINNER.len()]),
                theme.dim(),
            );
        }
        CheckStage::AwaitPush { .. } => {
            f.blank();
            if let Some(x) = device {
                f.text(format!("Push sent to {}.", device_text(x)));
            }
            f.styled(
                format!(
                    "{} Waiting for the caller to approve the push…",
                    SPINNER[app.spinner % SPINNER.len()]
                ),
                theme.warn(),
            );
            if let Some(left) = left {
                f.styled(
                    format!("expires in {} · Esc stops waiting", countdown(left.max(0))),
                    theme.dim(),
                );
            }
            if app.tenant.demo {
                f.styled("Demo: a approves, x denies on the demo phone.", theme.dim());
            }
        }
        CheckStage::EnterCode => {
            f.blank();
            if let Some(x) = device {
                let ask = match DeviceKind::of(x) {
                    DeviceKind::Sms => "Ask the caller for the code sent to",
                    DeviceKind::Voice => "Ask the caller for the code the call read out on",
                    _ => "Ask the caller for the code shown on",
                };
                f.text(format!("{ask} {}.", device_text(x)));
            }
            f.input("Code", &d.code, d.busy.is_none(), None);
            if let Some(left) = left {
                f.styled(
                    format!("{:16}expires in {}", "", countdown(left.max(0))),
                    if left < 30 { theme.warn() } else { theme.dim() },
                );
            }
            let sent = matches!(d.kind(), Some(DeviceKind::Sms | DeviceKind::Voice));
            if sent && d.code.value().is_empty() && d.busy.is_none() {
                f.styled(
                    "No code arrived? Enter on the empty field sends a new one.",
                    theme.dim(),
                );
            }
            if app.tenant.demo && !app.phone_visible {
                f.styled(
                    "Demo: Ctrl-P shows the demo phone with the code.",
                    theme.dim(),
                );
            }
        }
    }
    f.error(&d.error);
    if d.stage == CheckStage::EnterCode {
        f.busy(d.busy.is_some(), app.spinner, "Checking…");
    }
    (" Check caller ", false)
}

/// The override dialog: the reason for skipping the check for one change.
pub(super) fn draw_override(
    d: &OverrideDialog,
    f: &mut Form<'_>,
    theme: &Theme,
) -> (&'static str, bool) {
    let w = f.width;
    f.text(fit(
        &format!(
            "Skip the caller check for this {} of {}?",
            d.action,
            clean(&d.target.user_label)
        ),
        w,
    ));
    f.styled(
        "The reason goes to the audit trail with this one change.",
        theme.dim(),
    );
    f.blank();
    f.input(
        "Reason",
        &d.reason,
        true,
        Some((
            "at least 10 characters, e.g. approval in INC-1234".into(),
            theme.dim(),
        )),
    );
    f.error(&d.error);
    (" Override caller check ", true)
}

/// The gate of a guarded dialog: checked, overridden, or what to do first.
pub(super) fn gate_lines(app: &App, dialog: &Dialog, f: &mut Form<'_>, theme: &Theme) {
    let Some((action, user_id)) = guarded(dialog) else {
        return;
    };
    let minutes = app.tenant.caller_check.minutes;
    match app.caller_gate(action, user_id) {
        GateState::NotRequired => {}
        GateState::Checked(c) => {
            f.blank();
            let line = check_line(&c, app.now, minutes);
            f.styled(fit(&clean(&line.text), f.width), theme.ok());
        }
        GateState::Overridden(reason) => {
            f.blank();
            f.styled(
                format!("Caller check overridden: {}", clean(&reason)),
                theme.warn(),
            );
        }
        GateState::Missing => {
            f.blank();
            f.styled(NOT_CHECKED, theme.danger());
        }
        GateState::Expired(_) => {
            f.blank();
            f.styled("Caller check expired", theme.warn());
            f.styled(NOT_CHECKED, theme.danger());
        }
        GateState::Shared { at, .. } => {
            f.blank();
            f.styled(crate::app::caller::shared_line(at), theme.ok());
        }
    }
}
