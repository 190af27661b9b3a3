//! Keeping the status line true to the moment: what closing a verify dialog says, and the
//! Ctrl-C warning that goes once the change it warned about has settled.

use super::audit::{settle, settle_unknown};
use super::user::reload_user;
use crate::api::{ApiError, ErrorKind};
use crate::app::dialogs::{DeviceKind, VerifyDialog, VerifyStage};
use crate::app::{App, AuditKind, AuditResult, Cmd, StatusKind};

/// The warning the first Ctrl-C shows while a change is in flight.
pub(super) const QUIT_WARNING: &str = "A change is in flight: press Ctrl-C again to exit anyway.";

/// Drops the Ctrl-C warning once no change is in flight any more: it would no longer be true.
pub(super) fn settle_quit_warning(app: &mut App) {
    if app.quit_armed && !app.change_in_flight() {
        app.quit_armed = false;
        drop_quit_warning(app);
    }
}

/// Clears the status line when it is the Ctrl-C warning.
pub(super) fn drop_quit_warning(app: &mut App) {
    if app.status.as_ref().is_some_and(|s| s.text == QUIT_WARNING) {
        app.status = None;
    }
}

/// Says what closing a verify dialog left behind; true when it handled the close entirely.
pub(super) fn closed_verify(app: &mut App, v: &VerifyDialog, cmds: &mut Vec<Cmd>) -> bool {
    if v.kind == DeviceKind::Push {
        // A push changes nothing in the tenant: stopping the wait is the whole story.
        let stopped = ApiError::new(
            ErrorKind::Cancelled,
            "stopped waiting for the push; nothing was changed",
        );
        for kind in [AuditKind::Trigger, AuditKind::Verify] {
            settle(app, kind, AuditResult::Failure, Some(&stopped), cmds);
        }
        if !matches!(
            v.stage,
            VerifyStage::Sending | VerifyStage::AwaitPush { .. }
        ) {
            // Nothing sent, or the push already settled (denied, expired): nothing waits.
            return true;
        }
        // OneLogin has no call to withdraw a push: it stays on the phone until it expires.
        let text = match v.expires_at {
            Some(at) => format!(
                "Stopped waiting. The push stays on the phone until it expires at {}; nothing was changed.",
                crate::app::codes::clock_time(at)
            ),
            None => "Stopped waiting. The push may reach the phone; nothing was changed.".into(),
        };
        app.set_status(StatusKind::Info, text);
        return true;
    }
    if v.guided {
        // The device exists but is not verified: say so, and how to finish or undo it.
        settle_unknown(
            app,
            "abandoned before the answer came: the outcome is unknown",
            cmds,
        );
        reload_user(app, v.target.user_id, cmds);
        app.set_status(
            StatusKind::Warning,
            format!(
                "{} left pending: v verifies it, d removes it",
                v.device.label()
            ),
        );
        return true;
    }
    false
}
