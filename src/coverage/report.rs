//! The coverage report, read from the store: no API call.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::Connection;
use serde::Serialize;

use super::CoverageError;
use crate::store::StoreError;
use crate::store::coverage::{self as tables, Category, CoveredUser};

/// Days without a sign-in after which a user counts as stale.
pub const STALE_DAYS: i64 = 90;

/// The tenant summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Users read.
    pub users: u64,
    /// Users without any device.
    pub none: u64,
    /// Users whose active devices are all SMS, voice or email.
    pub weak: u64,
    /// Users with an active device that is not SMS, voice or email.
    pub strong: u64,
    /// Users with devices, none active.
    pub pending_only: u64,
    /// Users with an active device of each factor.
    pub by_factor: BTreeMap<String, u64>,
    /// Locked or suspended users who still hold devices.
    pub locked_with_devices: u64,
    /// Users with no sign-in for 90 days (or never).
    pub stale_90d: u64,
}

/// One user of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportUser {
    /// User id.
    pub id: i64,
    /// Email.
    pub email: Option<String>,
    /// "First Last" (else username, else email).
    pub name: String,
    /// Status code (1 active, 2 suspended, 3 locked, ...).
    pub status: Option<i64>,
    /// Last sign-in, None if never.
    pub last_login: Option<String>,
    /// Category.
    pub category: Category,
    /// Factors of the active devices (distinct, sorted).
    pub factors: Vec<String>,
    /// Factors of the pending devices (distinct, sorted).
    pub pending: Vec<String>,
    /// When the devices were read.
    pub read_at: Option<String>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The tenant's base URL.
    pub tenant: Option<String>,
    /// When the last complete pass finished, or when the open pass started.
    pub scanned_at: Option<String>,
    /// A pass finished and none is open.
    pub complete: bool,
    /// Counts over every user read.
    pub summary: Summary,
    /// Users of the chosen categories, by id.
    pub users: Vec<ReportUser>,
    /// Users listed whose devices are not read yet (not in JSON).
    #[serde(skip)]
    pub unread: u64,
}

/// "First Last", else username, else email, else the id.
fn display_name(u: &tables::UserRow) -> String {
    let parts: Vec<&str> = [u.firstname.as_deref(), u.lastname.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if !parts.is_empty() {
        return parts.join(" ");
    }
    u.username
        .clone()
        .or_else(|| u.email.clone())
        .unwrap_or_else(|| u.id.to_string())
}

/// Distinct factor names of the devices that are (or are not) active.
fn factors(user: &CoveredUser, active: bool) -> Vec<String> {
    let mut names: Vec<String> = user
        .devices
        .iter()
        .filter(|d| d.active == active)
        .map(|d| d.factor.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether the user has not signed in since `cutoff`.
fn stale(last_login: Option<&str>, cutoff: DateTime<Utc>) -> bool {
    match last_login.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        Some(t) => t.with_timezone(&Utc) < cutoff,
        None => true,
    }
}

/// Builds the report from the store; `categories` empty means every category. Users are
/// streamed from the store; only the chosen ones are kept.
pub fn build_report(
    conn: &Connection,
    categories: &[Category],
    now: DateTime<Utc>,
) -> Result<Report, StoreError> {
    build_report_limited(conn, categories, now, usize::MAX)
}

/// [`build_report`] listing at most `max_users` users (the summary still counts them all).
pub fn build_report_limited(
    conn: &Connection,
    categories: &[Category],
    now: DateTime<Utc>,
    max_users: usize,
) -> Result<Report, StoreError> {
    let open = tables::open_pass(conn)?;
    let last = tables::last_finished_pass(conn)?;
    let (complete, scanned_at) = match (&open, &last) {
        (Some(p), _) => (false, Some(p.started_at.clone())),
        (None, Some(p)) => (true, p.finished_at.clone()),
        (None, None) => (false, None),
    };
    let cutoff = now - TimeDelta::days(STALE_DAYS);
    let mut summary = Summary::default();
    let mut users = Vec::new();
    tables::for_each_covered(conn, |u| {
        let Some(category) = u.category else {
            return Ok(());
        };
        summary.users += 1;
        match category {
            Category::None => summary.none += 1,
            Category::Weak => summary.weak += 1,
            Category::Strong => summary.strong += 1,
            Category::PendingOnly => summary.pending_only += 1,
        }
        let active = factors(&u, true);
        for f in &active {
            *summary.by_factor.entry(f.clone()).or_default() += 1;
        }
        if matches!(u.user.status, Some(2 | 3)) && !u.devices.is_empty() {
            summary.locked_with_devices += 1;
        }
        if stale(u.user.last_login.as_deref(), cutoff) {
            summary.stale_90d += 1;
        }
        if (categories.is_empty() || categories.contains(&category)) && users.len() < max_users {
            users.push(ReportUser {
                id: u.user.id,
                email: u.user.email.clone(),
                name: display_name(&u.user),
                status: u.user.status,
                last_login: u.user.last_login.clone(),
                category,
                pending: factors(&u, false),
                factors: active,
                read_at: u.read_at.clone(),
            });
        }
        Ok(())
    })?;
    let (listed, read) = tables::counts(conn)?;
    Ok(Report {
        tenant: tables::tenant(conn)?,
        scanned_at,
        complete,
        summary,
        users,
        unread: listed.saturating_sub(read),
    })
}

/// Writes the report's users as CSV with a header row.
pub fn write_csv(report: &Report, path: &Path) -> Result<(), CoverageError> {
    let fail = |e: &dyn std::fmt::Display| CoverageError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_path(path).map_err(|e| fail(&e))?;
    w.write_record([
        "id",
        "email",
        "name",
        "status",
        "last_login",
        "category",
        "factors",
        "pending",
        "read_at",
    ])
    .map_err(|e| fail(&e))?;
    for u in &report.users {
        w.write_record([
            u.id.to_string(),
            cell(u.email.as_deref().unwrap_or_default()),
            cell(&u.name),
            u.status.map(|s| s.to_string()).unwrap_or_default(),
            u.last_login.clone().unwrap_or_default(),
            u.category.as_str().to_owned(),
            u.factors.join(";"),
            u.pending.join(";"),
            u.read_at.clone().unwrap_or_default(),
        ])
        .map_err(|e| fail(&e))?;
    }
    w.flush().map_err(|e| fail(&e))?;
    Ok(())
}

/// A tenant's text as a CSV cell a spreadsheet will not run: a leading `=`, `+`, `-`, `@`, tab
/// or carriage return (a formula) gets a `'` before it.
fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_from_the_tenant_do_not_run_in_a_spreadsheet() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1 555"), "'+1 555");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("kelly@acme.example"), "kelly@acme.example");
        assert_eq!(cell(""), "");
    }
}
