//! `mfadesk audit`: read the audit trail, filtered.

use serde_json::json;

use crate::audit::{AuditEntry, read_entries};
use crate::config::{CliOptions, Paths};
use crate::ops::OpsError;

use super::duration::parse_since;
use super::output::{Output, table};

/// Prints the matching entries, oldest first.
pub fn run(
    options: &CliOptions,
    out: &Output,
    user: &Option<String>,
    operator: &Option<String>,
    action: &Option<String>,
    since: &Option<String>,
    case: &Option<String>,
) -> Result<(), OpsError> {
    let path = match &options.audit_log {
        Some(p) => p.clone(),
        None => Paths::platform()
            .map_err(|e| OpsError::Usage(e.to_string()))?
            .audit_log(),
    };
    let since = since
        .as_deref()
        .map(|s| parse_since(s, chrono::Utc::now()))
        .transpose()
        .map_err(|e| OpsError::Usage(format!("--since: {e}")))?;
    const ACTIONS: [&str; 9] = [
        "enroll",
        "trigger",
        "verify",
        "caller_check",
        "remove",
        "mfa_token",
        "unlock",
        "logout",
        "lock",
    ];
    if let Some(a) = action
        && !ACTIONS.contains(&a.as_str())
    {
        return Err(OpsError::Usage(format!(
            "--action {a:?} is not an action: use one of {}",
            ACTIONS.join(", ")
        )));
    }
    let entries = if path.exists() {
        read_entries(&path).map_err(|e| OpsError::Config(e.to_string()))?
    } else {
        Vec::new()
    };
    let keep = |e: &AuditEntry| {
        user.as_deref().is_none_or(|u| {
            e.user_id.to_string() == u
                || e.user_email
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(u))
        }) && operator.as_deref().is_none_or(|o| e.operator == o)
            && action.as_deref().is_none_or(|a| e.action.as_str() == a)
            && since.is_none_or(|t| e.time >= t)
            && case.as_deref().is_none_or(|c| e.case.as_deref() == Some(c))
    };
    let entries: Vec<&AuditEntry> = entries.iter().filter(|e| keep(e)).collect();
    if out.json {
        out.json(&json!({
            "path": path.display().to_string(),
            "count": entries.len(),
            "entries": entries,
        }));
        return Ok(());
    }
    if entries.is_empty() {
        out.text(&format!("No matching entry in {}.", path.display()));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                e.operator.clone(),
                e.action.as_str().to_owned(),
                e.outcome.as_str().to_owned(),
                e.user_email
                    .clone()
                    .unwrap_or_else(|| e.user_id.to_string()),
                e.device_id.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.text(&table(
        &[
            "TIME (UTC)",
            "OPERATOR",
            "ACTION",
            "OUTCOME",
            "USER",
            "DEVICE",
            "REASON",
            "NOTE",
        ],
        &rows,
    ));
    Ok(())
}
