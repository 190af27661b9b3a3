//! The audit trail: attempts, their outcomes, and changes refused in read-only mode.

use super::user::target;
use crate::api::{ApiError, ErrorKind, OtpDevice};
use crate::app::dialogs::Target;
use crate::app::keymap::Action;
use crate::app::{App, AuditKind, AuditNote, AuditResult, Cmd};

/// A note of an attempt at this action on this target (and device), as of now.
pub(super) fn audit_note(
    app: &App,
    action: AuditKind,
    target: &Target,
    device: Option<&OtpDevice>,
) -> AuditNote {
    AuditNote {
        time: app.now,
        action,
        outcome: AuditResult::Attempt,
        user_id: target.user_id,
        user_email: target.user_email.clone(),
        user_name: Some(target.user_label.clone()),
        device_id: device.map(|d| d.id.to_string()),
        device_name: device.and_then(|d| d.user_display_name.clone()),
        factor: device.map(|d| d.auth_factor_name.clone()),
        http_status: None,
        request_id: None,
        reason: None,
        message: None,
        method: None,
        caller_check: None,
        verified: None,
        case: None,
        signals: None,
    }
}

/// Records an audit line: the attempt, or its outcome (with the error's status and request id).
pub(super) fn record(
    app: &mut App,
    mut note: AuditNote,
    outcome: AuditResult,
    error: Option<&ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    note.time = app.now;
    note.outcome = outcome;
    super::walk::stamp(app, &mut note);
    if note.action != AuditKind::CallerCheck && note.caller_check.is_none() {
        // Every change line says which caller check (or override) came before it.
        note.caller_check = Some(super::caller::reference(app, note.user_id, note.action));
    }
    if outcome == AuditResult::Attempt && note.signals.is_none() {
        // The dialogs of these changes repeat the signals: the line says which were on screen.
        note.signals = super::history::signals_on_screen(app, &note);
    }
    if let Some(e) = error {
        note.http_status = e.status;
        note.request_id = e.request_id.clone();
        note.message = Some(e.message.clone());
    } else if outcome == AuditResult::Success {
        // The answer that settled it: its status and X-Request-Id.
        note.http_status = app.last_meta.status.or(Some(200));
        note.request_id = app.last_meta.request_id.clone();
    }
    if outcome == AuditResult::Attempt {
        // Never leave an attempt without an outcome: one still open is closed as unknown first.
        if app.open_attempts.contains_key(&note.action) {
            let unknown = ApiError::new(
                ErrorKind::Cancelled,
                "superseded by a new attempt before its answer: the outcome is unknown",
            );
            settle(app, note.action, AuditResult::Failure, Some(&unknown), cmds);
        }
        app.open_attempts.insert(note.action, note.clone());
    }
    app.audit.push(note.clone());
    cmds.push(Cmd::Audit(note.clone()));
    super::walk::on_audit(app, &note);
}

/// Records the outcome of the open attempt of this action (one at a time: dialogs are modal);
/// an outcome with no open attempt is not recorded twice.
pub(super) fn settle(
    app: &mut App,
    action: AuditKind,
    outcome: AuditResult,
    error: Option<&ApiError>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(attempt) = app.open_attempts.remove(&action) else {
        return;
    };
    record(app, attempt, outcome, error, cmds);
}

/// Closes every open attempt as of unknown outcome (a dialog closed or the console quit).
pub(super) fn settle_unknown(app: &mut App, why: &str, cmds: &mut Vec<Cmd>) -> bool {
    let open: Vec<AuditKind> = app.open_attempts.keys().copied().collect();
    let unknown = ApiError::new(ErrorKind::Cancelled, why);
    for kind in &open {
        settle(app, *kind, AuditResult::Failure, Some(&unknown), cmds);
    }
    !open.is_empty()
}

/// Audits a change refused in read-only mode, when it was aimed at an open user.
pub(super) fn refused(app: &mut App, action: Action, cmds: &mut Vec<Cmd>) {
    let kind = match action {
        Action::Enroll => AuditKind::Enroll,
        Action::Trigger => AuditKind::Trigger,
        Action::Verify => AuditKind::Verify,
        Action::Remove => AuditKind::Remove,
        Action::Token => AuditKind::MfaToken,
        Action::Unlock => AuditKind::Unlock,
        Action::Logout => AuditKind::Logout,
        Action::Lock => AuditKind::Lock,
        _ => return,
    };
    let Some(target) = target(app) else { return };
    let device = match kind {
        AuditKind::Trigger | AuditKind::Verify | AuditKind::Remove => {
            app.user.as_ref().and_then(|u| u.selected_device()).cloned()
        }
        _ => None,
    };
    let mut note = audit_note(app, kind, &target, device.as_ref());
    note.message = Some("refused: read-only mode".into());
    record(app, note, AuditResult::Refused, None, cmds);
}
