//! Reaching the tenant at start: the first call fetches the token, and a failure says why and
//! what to check, at once, instead of surfacing later as a puzzling search error.

use crate::api::{ApiError, ErrorKind, RateLimit};
use crate::app::dialogs::{Dialog, ErrorDialog};
use crate::app::{App, Cmd, Purpose, StatusKind};
use crate::worker::{ApiEvent, ApiRequest, ApiResponse};

/// Asks for the API budget, which needs a token: the first proof the tenant takes our credentials.
pub(super) fn connect(app: &mut App, cmds: &mut Vec<Cmd>) {
    let (_, cmd) = app.request(Purpose::RateLimit, ApiRequest::RateLimit);
    cmds.push(cmd);
}

/// True when the start-up call failed and has not been retried successfully.
pub(super) fn failed(app: &App) -> bool {
    app.connection.is_some()
}

/// Tries to reach the tenant again (`r` after a failed start).
pub(super) fn retry(app: &mut App, cmds: &mut Vec<Cmd>) {
    // The dialog about the old failure goes: its answer is coming.
    app.dialogs
        .retain(|d| !matches!(d, Dialog::Error(e) if Some(&e.error) == app.connection.as_ref()));
    app.set_status(
        StatusKind::Info,
        format!("Connecting to {}…", app.tenant.name),
    );
    connect(app, cmds);
}

/// The budget call's answer: the header's figures, or the error dialog that names the cause.
pub(super) fn on_rate_limit(app: &mut App, r: Result<RateLimit, ApiError>) {
    match r {
        Ok(rl) => {
            app.rate_limit = Some(rl);
            if app.connection.take().is_some() {
                app.set_status(
                    StatusKind::Success,
                    format!("Connected to {}.", app.tenant.name),
                );
            }
        }
        Err(e) => {
            let Some((cause, check)) = diagnose(&e) else {
                // The tenant answered (a scope or shape problem with this one call): the
                // header simply shows no budget.
                return;
            };
            app.dialogs.retain(
                |d| !matches!(d, Dialog::Error(old) if Some(&old.error) == app.connection.as_ref()),
            );
            app.connection = Some(e.clone());
            app.dialogs.push(Dialog::Error(ErrorDialog {
                context: format!(
                    "Could not connect to {} ({})",
                    app.tenant.name, app.tenant.base_url
                ),
                error: e,
                hint: Some(format!("{cause} Check {check}. r tries again.")),
            }));
            app.set_status(
                StatusKind::Warning,
                format!("Not connected to {}: r tries again.", app.tenant.name),
            );
        }
    }
}

/// Why a start-up call failed and what to check, for failures that mean "not connected".
pub fn diagnose(e: &ApiError) -> Option<(&'static str, &'static str)> {
    let text = e.message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    Some(match e.kind {
        ErrorKind::Unauthorized => (
            "The tenant refused the API credentials.",
            "the client id and secret (and that the credential is enabled)",
        ),
        ErrorKind::Config => (
            "The tenant address is not usable.",
            "the base URL or subdomain",
        ),
        ErrorKind::Timeout => (
            "The tenant did not answer in time.",
            "the network (VPN, proxy, firewall) and the base URL or subdomain",
        ),
        ErrorKind::Network
            if has(&[
                "dns",
                "lookup",
                "resolve",
                "name or service",
                "no such host",
            ]) =>
        {
            (
                "The tenant's host name was not found (DNS).",
                "the base URL or subdomain for typos, and the network",
            )
        }
        ErrorKind::Network
            if has(&[
                "tls",
                "ssl",
                "certificate",
                "handshake",
                "corrupt message",
                "invalidcontenttype",
                "peer",
            ]) =>
        {
            (
                "The secure (TLS) connection failed: whatever answered is not the tenant's HTTPS server.",
                "the base URL or subdomain (it must be the tenant's https address), and any proxy on the network",
            )
        }
        ErrorKind::Network if has(&["refused"]) => (
            "Nothing accepted the connection (connection refused).",
            "the base URL or subdomain (host and port), and the network",
        ),
        ErrorKind::Network => (
            "The connection to the tenant failed.",
            "the network and the base URL or subdomain",
        ),
        ErrorKind::Server => (
            "The tenant answered with a server error.",
            "OneLogin's status page; the network and base URL look fine",
        ),
        _ => return None,
    })
}

/// Figures every answer carries: the budget (and when it resets) and the tenant's clock.
pub(super) fn on_event_meta(app: &mut App, event: &ApiEvent) {
    if let Some(rl) = event.rate_limit {
        if app.rate_limit != Some(rl) {
            app.rate_reset_at = rl
                .reset_secs
                .map(|s| crate::clock::add_secs_u64(app.now, s));
        }
        app.rate_limit = Some(rl);
    }
    if let Some(ErrorKind::RateLimited { reset_secs }) = event.response.error().map(|e| &e.kind) {
        // A 429 says the budget is spent, whatever the last headers said.
        let mut rl = app.rate_limit.unwrap_or_default();
        rl.remaining = Some(0);
        app.rate_limit = Some(rl);
        if let Some(s) = reset_secs {
            app.rate_reset_at = Some(crate::clock::add_secs_u64(app.now, *s));
        }
    }
    if let Some(offset) = event.meta.clock_offset {
        app.clock_offset = offset;
    }
    // Any other answer that worked proves the tenant is reachable again.
    if event.response.error().is_none() && !matches!(event.response, ApiResponse::RateLimit(_)) {
        app.connection = None;
    }
}
