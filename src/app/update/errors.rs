//! How API errors are shown: error dialogs, pane messages, and which failures leave doubt.

use crate::api::{ApiError, ErrorKind};
use crate::app::App;
use crate::app::dialogs::*;
use crate::app::validate;

/// Shows an API error with a hint where one helps (a cancelled call shows nothing).
pub(super) fn error_dialog(app: &mut App, context: &str, error: ApiError) {
    if error.kind == ErrorKind::Cancelled {
        return;
    }
    if error.kind == ErrorKind::InsufficientPermission {
        // Known from now on: caller checks (which need the same scope) send nothing.
        app.credential_read_only = true;
    }
    // A success line must not stay on screen under a dialog that reports a failure.
    app.status = None;
    if error.kind == ErrorKind::InsufficientPermission && !app.tenant.read_only {
        app.dialogs.push(Dialog::Error(ErrorDialog {
            context: context.to_owned(),
            error,
            hint: Some("This API credential is read-only (Read Users scope).".into()),
        }));
        app.dialogs
            .push(Dialog::SwitchReadOnly(SwitchReadOnlyDialog {
                context: context.to_owned(),
            }));
        return;
    }
    let hint = match error.kind {
        ErrorKind::RateLimited {
            reset_secs: Some(s),
        } => Some(format!(
            "The hourly API budget is spent; it resets in {}.",
            validate::countdown(i64::try_from(s).unwrap_or(i64::MAX))
        )),
        ErrorKind::Unauthorized => Some("Check the client id and secret for this tenant.".into()),
        ErrorKind::Timeout | ErrorKind::Network => {
            Some("The tenant did not answer; r refreshes once it is back.".into())
        }
        _ => None,
    };
    app.dialogs.push(Dialog::Error(ErrorDialog {
        context: context.to_owned(),
        error,
        hint,
    }));
}

/// The message a pane shows when its load failed.
pub(super) fn load_error(e: &ApiError) -> String {
    // The hint first: a long message is cut at the pane's edge.
    format!("r to retry · {e}")
}

/// Whether a change may have happened even though its call failed.
pub(super) fn is_ambiguous(e: &ApiError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Server | ErrorKind::MalformedResponse
    )
}
