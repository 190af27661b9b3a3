//! `mfadesk audit`: read the audit trail, filtered.

use serde_json::json;

use crate::audit::{AuditEntry, read_trail, skipped_note, tenant_matches};
use crate::config::{CliOptions, Paths};
use crate::ops::OpsError;

use super::duration::parse_since;
use super::output::{Output, table};

/// The filters of `mfadesk audit`, as given.
pub struct Filter<'a> {
    /// `--user`: id or email.
    pub user: &'a Option<String>,
    /// `--operator`.
    pub operator: &'a Option<String>,
    /// `--action`.
    pub action: &'a Option<String>,
    /// `--since`.
    pub since: &'a Option<String>,
    /// `--case`.
    pub case: &'a Option<String>,
    /// `--tenant`: host, or host and port.
    pub tenant: &'a Option<String>,
}

/// Prints the matching entries, oldest first.
pub fn run(options: &CliOptions, out: &Output, filter: &Filter<'_>) -> Result<(), OpsError> {
    let Filter {
        user,
        operator,
        action,
        since,
        case,
        tenant,
    } = filter;
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
    let (entries, skipped) = if path.exists() {
        read_trail(&path).map_err(|e| OpsError::Config(e.to_string()))?
    } else {
        (Vec::new(), 0)
    };
    // Malformed lines (a torn write) never hide the rest: they are counted and said.
    if let Some(note) = skipped_note(skipped) {
        out.note(&format!("{}: {note}", path.display()));
    }
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
            && tenant
                .as_deref()
                .is_none_or(|t| tenant_matches(&e.tenant(), t))
    };
    let entries: Vec<&AuditEntry> = entries.iter().filter(|e| keep(e)).collect();
    if out.json {
        out.json(&json!({
            "path": path.display().to_string(),
            "count": entries.len(),
            "skipped": skipped,
            "entries": entries.iter().map(|e| with_tenant(e)).collect::<Vec<_>>(),
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
                e.tenant(),
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
            "TENANT",
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

/// The entry as written, plus its `tenant` (the host of `base_url`), for `--json`.
fn with_tenant(e: &AuditEntry) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or(serde_json::Value::Null);
    if let Some(map) = v.as_object_mut() {
        map.insert("tenant".into(), serde_json::Value::String(e.tenant()));
    }
    v
}
