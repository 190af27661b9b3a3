//! The audit view's rows: the whole trail (or this session's notes), newest first, filtered.

use chrono::{DateTime, Utc};

use crate::app::{App, AuditKind, AuditNote, AuditResult};
use crate::audit::AuditEntry;

/// One line of the audit view, from a file entry or a session note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// When.
    pub time: DateTime<Utc>,
    /// The tenant the line was written against: the host (and port) of its base URL.
    pub tenant: String,
    /// Who did it (empty for this session's notes: the operator is the agent at the keyboard).
    pub operator: String,
    /// The user's name, else email, else id.
    pub user: String,
    /// The device's name, else its factor, else nothing.
    pub device: String,
    /// What was done.
    pub action: AuditKind,
    /// How it ended.
    pub outcome: AuditResult,
    /// HTTP status of the answer.
    pub http_status: Option<u16>,
    /// The reason or ticket.
    pub reason: Option<String>,
    /// The error or note.
    pub message: Option<String>,
    /// The user's email, for the filter.
    email: Option<String>,
    /// The user id, for the filter.
    user_id: i64,
    /// The walkthrough case (`w-…`), for the filter.
    case: Option<String>,
}

fn who(name: &Option<String>, email: &Option<String>, id: i64) -> String {
    match (name, email) {
        (Some(n), Some(e)) => format!("{n} <{e}>"),
        (Some(n), None) => n.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => format!("user {id}"),
    }
}

fn what(name: &Option<String>, factor: &Option<String>, id: &Option<String>) -> String {
    match (name, factor) {
        (Some(n), Some(f)) if n != f => format!("\"{n}\" ({f})"),
        (Some(n), _) => n.clone(),
        (None, Some(f)) => f.clone(),
        (None, None) => id.as_ref().map_or(String::new(), |i| format!("device {i}")),
    }
}

impl From<&AuditEntry> for AuditRow {
    fn from(e: &AuditEntry) -> Self {
        AuditRow {
            time: e.time,
            tenant: e.tenant(),
            operator: e.operator.clone(),
            user: who(&e.user_name, &e.user_email, e.user_id),
            device: what(&e.device_name, &e.factor, &e.device_id),
            action: e.action,
            outcome: e.outcome,
            http_status: e.http_status,
            reason: e.reason.clone(),
            message: e.message.clone(),
            email: e.user_email.clone(),
            user_id: e.user_id,
            case: e.case.clone(),
        }
    }
}

impl AuditRow {
    /// A row from this session's note; the session talks to one tenant, `base_url`.
    fn from_note(n: &AuditNote, base_url: &str) -> Self {
        AuditRow {
            time: n.time,
            tenant: crate::audit::tenant_of(base_url),
            operator: String::new(),
            user: who(&n.user_name, &n.user_email, n.user_id),
            device: what(&n.device_name, &n.factor, &n.device_id),
            action: n.action,
            outcome: n.outcome,
            http_status: n.http_status,
            reason: n.reason.clone(),
            message: n.message.clone(),
            email: n.user_email.clone(),
            user_id: n.user_id,
            case: n.case.clone(),
        }
    }
}

impl AuditRow {
    /// True when the filter text is in the user, the ticket or reason, the operator, the tenant
    /// or the walkthrough's case id.
    pub fn matches(&self, filter: &str) -> bool {
        let filter = filter.trim().to_lowercase();
        if filter.is_empty() {
            return true;
        }
        let fields = [
            Some(self.user.as_str()),
            self.email.as_deref(),
            self.reason.as_deref(),
            Some(self.operator.as_str()),
            Some(self.tenant.as_str()),
            self.case.as_deref(),
        ];
        fields
            .into_iter()
            .flatten()
            .any(|f| f.to_lowercase().contains(&filter))
            || self.user_id.to_string() == filter
    }
}

/// The rows the audit view shows, newest first, with the filter applied.
pub fn rows(app: &App) -> Vec<AuditRow> {
    let filter = app.audit_view.filter.value();
    match &app.audit_view.entries {
        // Already newest first (sorted once, when read).
        Some(entries) => entries
            .iter()
            .map(AuditRow::from)
            .filter(|r| r.matches(filter))
            .collect(),
        None => {
            let mut rows: Vec<AuditRow> = app
                .audit
                .iter()
                .map(|n| AuditRow::from_note(n, &app.tenant.base_url))
                .filter(|r| r.matches(filter))
                .collect();
            newest_first(&mut rows, |r| r.time);
            rows
        }
    }
}

/// Sorts newest first; entries of the same millisecond keep their written order, reversed.
pub fn newest_first<T>(items: &mut [T], time: impl Fn(&T) -> DateTime<Utc>) {
    items.reverse();
    items.sort_by_key(|i| std::cmp::Reverse(time(i)));
}
