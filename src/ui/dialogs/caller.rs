//! The caller-check and override dialogs, and the gate lines of guarded dialogs.

use super::{Form, device_text};
use crate::app::App;
use crate::app::caller::*;
use crate::app::dialogs::Dialog;
use crate::ui::text::{clean, fit};
use crate::ui::theme::Theme;

/// The check dialog: pick the device the caller proves they hold (the verify dialog, in check
/// mode, then takes the code or waits for the push).
pub(super) fn draw_check(
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
    if d.devices.is_empty() {
        f.blank();
        f.styled(NO_ACTIVE_DEVICE, theme.warn());
    } else {
        if d.offered() {
            f.text("They prove it with one of the user's active devices:");
        } else if d
            .devices
            .iter()
            .any(|x| x.blocked.as_deref().is_some_and(|w| w.contains("too new")))
        {
            f.styled(NO_OLD_DEVICE, theme.warn());
        } else {
            // Only a push, withheld while the user is being push-bombed (the row says why).
            f.styled("No device can check the caller now", theme.warn());
        }
        f.blank();
        for (i, x) in d.devices.iter().enumerate() {
            let sel = i == d.selected;
            let mark = if sel { ">" } else { " " };
            let star = if x.device.default { "★" } else { " " };
            let how = method_label(&x.device);
            let one = format!("{mark} {star} {} · {how}", device_text(&x.device));
            // A row too long for one line (the push's warning) puts its method on the next.
            let (text, more) = if one.chars().count() <= w {
                (one, None)
            } else {
                let name = fit(&format!("{mark} {star} {}", device_text(&x.device)), w);
                (name, Some(fit(&format!("      {how}"), w)))
            };
            let style = match (&x.blocked, sel) {
                (_, true) => theme.selected(),
                (None, false) => theme.text(),
                // Listed, greyed, with why it may not prove the caller.
                (Some(_), false) => theme.dim(),
            };
            f.styled(text, style);
            if let Some(more) = more {
                f.styled(more, style);
            }
            if let Some(why) = &x.blocked {
                f.styled(fit(&format!("      {why}"), w), theme.dim());
            }
        }
        f.blank();
        if d.offered() {
            f.styled(
                "Enter checks with this device (codes: they read it out; push: they approve it).",
                theme.dim(),
            );
        }
    }
    if !d.offered() && d.resume.is_some() {
        f.styled(
            "o overrides with a reason for this one change.",
            theme.dim(),
        );
    }
    f.error(&d.error);
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
