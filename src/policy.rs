//! The caller-check policy, shared by the console and the shell commands.
//!
//! A caller check proves the person on the phone holds one of the user's active devices. It
//! changes nothing in the tenant; a profile can require a fresh one before the changes an
//! attacker asks the helpdesk for. Everything here is pure: the clock is passed in.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::api::UserId;
use crate::audit::{AuditAction, AuditEntry, AuditOutcome, CallerCheckRef};

/// How long a successful caller check stays valid when the profile does not say.
pub const DEFAULT_CALLER_CHECK_MINUTES: u32 = 15;

/// The shortest override reason accepted, in characters (after trimming).
pub const MIN_OVERRIDE_REASON_CHARS: usize = 10;

/// A change that a profile can guard with a caller check.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum GuardedAction {
    /// Removing a device.
    #[value(name = "remove")]
    Remove,
    /// Issuing a temporary MFA token.
    #[value(name = "token")]
    Token,
    /// Enrolling a device as already verified (no code from the user).
    #[value(name = "enroll_verified")]
    EnrollVerified,
    /// Unlocking a locked user (attackers ask for it).
    #[value(name = "unlock")]
    Unlock,
}

impl GuardedAction {
    /// The name used in the profile and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardedAction::Remove => "remove",
            GuardedAction::Token => "token",
            GuardedAction::EnrollVerified => "enroll_verified",
            GuardedAction::Unlock => "unlock",
        }
    }
}

impl fmt::Display for GuardedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of changes that need a fresh caller check (empty: none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequiredChecks(BTreeSet<GuardedAction>);

impl RequiredChecks {
    /// No change requires a check.
    pub fn none() -> Self {
        Self::default()
    }

    /// True when `action` needs a fresh caller check.
    pub fn contains(&self, action: GuardedAction) -> bool {
        self.0.contains(&action)
    }

    /// True when nothing is required.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The guarded actions, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = GuardedAction> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<GuardedAction> for RequiredChecks {
    fn from_iter<I: IntoIterator<Item = GuardedAction>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for RequiredChecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(GuardedAction::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// How the caller proved they hold the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckMethod {
    /// They approved a push on the device.
    Push,
    /// They read out a code from the device (or one sent to it).
    Code,
}

impl CheckMethod {
    /// The audit trail's word: `"push"` or `"code"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckMethod::Push => "push",
            CheckMethod::Code => "code",
        }
    }
}

/// How a caller check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The caller proved they hold the device.
    Success,
    /// They did not: wrong code, denied or expired push, an error.
    Failure {
        /// Short words for the agent, e.g. "wrong code".
        why: String,
    },
}

/// One caller check of one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerCheck {
    /// The user the caller claims to be.
    pub user_id: UserId,
    /// When the check ended.
    pub at: DateTime<Utc>,
    /// The agent who ran it.
    pub operator: String,
    /// The device the caller was checked with.
    pub device_id: String,
    /// The device's factor, e.g. "OneLogin Protect".
    pub factor: String,
    /// The user's name for the device, when it has one.
    pub device_name: Option<String>,
    /// Push or code.
    pub method: CheckMethod,
    /// Success or failure.
    pub outcome: CheckOutcome,
}

/// Whether a successful check can still be relied on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Succeeded within the profile's minutes.
    Fresh,
    /// Succeeded, but too long ago (or, failing closed, at a time after now).
    Expired,
    /// There is no successful check.
    None,
}

/// The freshness of a success at `checked_at`, judged at `now` with a validity of `minutes`.
pub fn freshness(checked_at: Option<DateTime<Utc>>, now: DateTime<Utc>, minutes: u32) -> Freshness {
    let Some(at) = checked_at else {
        return Freshness::None;
    };
    let age = now.signed_duration_since(at);
    // A check stamped in the future is not trusted: the clock or the file is wrong.
    if age < Duration::zero() || age >= Duration::minutes(i64::from(minutes)) {
        Freshness::Expired
    } else {
        Freshness::Fresh
    }
}

impl CallerCheck {
    /// True when the caller proved they hold the device.
    pub fn succeeded(&self) -> bool {
        self.outcome == CheckOutcome::Success
    }

    /// Fresh, expired, or `None` for a failed check.
    pub fn freshness(&self, now: DateTime<Utc>, minutes: u32) -> Freshness {
        freshness(self.succeeded().then_some(self.at), now, minutes)
    }

    /// What a change line records about this check: the success if still fresh, else `"none"`.
    pub fn reference(&self, now: DateTime<Utc>, minutes: u32) -> CallerCheckRef {
        match self.freshness(now, minutes) {
            Freshness::Fresh => CallerCheckRef::Success {
                at: self.at,
                device_id: self.device_id.clone(),
            },
            Freshness::Expired | Freshness::None => CallerCheckRef::None,
        }
    }
}

/// What a change line records when `check` (if any) is the user's latest caller check.
pub fn reference_for(
    check: Option<&CallerCheck>,
    now: DateTime<Utc>,
    minutes: u32,
) -> CallerCheckRef {
    check.map_or(CallerCheckRef::None, |c| c.reference(now, minutes))
}

/// True when `action` needs a fresh caller check under `required`.
pub fn check_required(action: GuardedAction, required: &RequiredChecks) -> bool {
    required.contains(action)
}

/// Whether a guarded change may go ahead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// No check is required for this change; the line still records any fresh check.
    NotRequired(CallerCheckRef),
    /// A fresh successful check satisfies the requirement.
    Checked(CallerCheckRef),
    /// Required, and there is no successful check (or the last one failed).
    Missing,
    /// Required, and the last successful check is too old.
    Expired,
}

impl Gate {
    /// The reference to write on the change line, or `None` when the change must not go ahead.
    pub fn allowed(&self) -> Option<&CallerCheckRef> {
        match self {
            Gate::NotRequired(r) | Gate::Checked(r) => Some(r),
            Gate::Missing | Gate::Expired => None,
        }
    }
}

/// Decides whether `action` may go ahead given the user's latest check (overrides are the face's).
pub fn gate(
    action: GuardedAction,
    required: &RequiredChecks,
    check: Option<&CallerCheck>,
    now: DateTime<Utc>,
    minutes: u32,
) -> Gate {
    let reference = reference_for(check, now, minutes);
    if !check_required(action, required) {
        return Gate::NotRequired(reference);
    }
    match check.map_or(Freshness::None, |c| c.freshness(now, minutes)) {
        Freshness::Fresh => Gate::Checked(reference),
        Freshness::Expired => Gate::Expired,
        Freshness::None => Gate::Missing,
    }
}

/// True when a caller check may run: always, except in read-only mode when the profile forbids it.
pub fn check_allowed(read_only: bool, read_only_caller_check: bool) -> bool {
    !read_only || read_only_caller_check
}

/// Checks an override reason: at least [`MIN_OVERRIDE_REASON_CHARS`] characters, no control
/// characters; returns it trimmed, or the message to show.
pub fn validate_override_reason(reason: &str) -> Result<String, String> {
    let trimmed = reason.trim();
    if trimmed.chars().any(char::is_control) {
        return Err("The reason cannot contain control characters".to_owned());
    }
    let count = trimmed.chars().count();
    if count < MIN_OVERRIDE_REASON_CHARS {
        return Err(format!(
            "The reason needs at least {MIN_OVERRIDE_REASON_CHARS} characters ({count} typed), e.g. manager approval in INC-1234"
        ));
    }
    Ok(trimmed.to_owned())
}

/// The user's caller check from an audit entry, when it is a finished check with a device.
fn check_from_entry(entry: &AuditEntry) -> Option<CallerCheck> {
    let outcome = match entry.outcome {
        AuditOutcome::Success => CheckOutcome::Success,
        AuditOutcome::Failure => CheckOutcome::Failure {
            why: entry.message.clone().unwrap_or_else(|| "failed".to_owned()),
        },
        _ => return None,
    };
    let method = match entry.method.as_deref() {
        Some("push") => CheckMethod::Push,
        _ => CheckMethod::Code,
    };
    Some(CallerCheck {
        user_id: entry.user_id,
        at: entry.time,
        operator: entry.operator.clone(),
        device_id: entry.device_id.clone()?,
        factor: entry.factor.clone().unwrap_or_default(),
        device_name: None,
        method,
        outcome,
    })
}

/// The fresh successful caller check of `user_id` in `entries` (oldest first, as in the file).
///
/// Only the user's latest finished check counts: a failure after a success means the caller is
/// not checked. Overrides are for one change and never count. Pass entries of one tenant only
/// (see [`last_caller_check_on`]): user ids are per tenant.
pub fn last_caller_check(
    entries: &[AuditEntry],
    user_id: UserId,
    now: DateTime<Utc>,
    minutes: u32,
) -> Option<CallerCheck> {
    // The latest finished check decides, even one without a device (which then fails closed).
    let latest = entries.iter().rev().find(|e| {
        e.action == AuditAction::CallerCheck
            && e.user_id == user_id
            && matches!(e.outcome, AuditOutcome::Success | AuditOutcome::Failure)
    })?;
    let check = check_from_entry(latest)?;
    (check.freshness(now, minutes) == Freshness::Fresh).then_some(check)
}

/// [`last_caller_check`] among the entries written for the tenant at `base_url`.
pub fn last_caller_check_on(
    entries: &[AuditEntry],
    base_url: &str,
    user_id: UserId,
    now: DateTime<Utc>,
    minutes: u32,
) -> Option<CallerCheck> {
    let same_tenant: Vec<AuditEntry> = entries
        .iter()
        .filter(|e| e.base_url == base_url)
        .cloned()
        .collect();
    last_caller_check(&same_tenant, user_id, now, minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditContext;
    use chrono::TimeZone;

    fn t(minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 2, 10, minute, second)
            .single()
            .unwrap_or_default()
    }

    fn check(at: DateTime<Utc>, outcome: CheckOutcome) -> CallerCheck {
        CallerCheck {
            user_id: 7,
            at,
            operator: "jdoe".into(),
            device_id: "525509".into(),
            factor: "OneLogin Protect".into(),
            device_name: Some("Pixel".into()),
            method: CheckMethod::Push,
            outcome,
        }
    }

    fn ctx() -> AuditContext {
        AuditContext::new("jdoe", None, "https://acme.onelogin.com")
    }

    fn check_line(at: DateTime<Utc>, user: UserId, outcome: AuditOutcome) -> AuditEntry {
        ctx()
            .entry_at(at, user, AuditAction::CallerCheck, outcome)
            .device_id("525509")
            .factor("OneLogin Protect")
            .method("push")
    }

    #[test]
    fn freshness_is_within_the_minutes_and_fails_closed_on_future_times() {
        assert_eq!(freshness(None, t(0, 0), 15), Freshness::None);
        assert_eq!(freshness(Some(t(0, 0)), t(0, 0), 15), Freshness::Fresh);
        assert_eq!(freshness(Some(t(0, 0)), t(14, 59), 15), Freshness::Fresh);
        assert_eq!(freshness(Some(t(0, 0)), t(15, 0), 15), Freshness::Expired);
        assert_eq!(freshness(Some(t(5, 0)), t(4, 59), 15), Freshness::Expired);
    }

    #[test]
    fn a_failed_check_is_never_fresh() {
        let failed = check(
            t(0, 0),
            CheckOutcome::Failure {
                why: "wrong code".into(),
            },
        );
        assert_eq!(failed.freshness(t(0, 1), 15), Freshness::None);
        assert_eq!(failed.reference(t(0, 1), 15), CallerCheckRef::None);
    }

    #[test]
    fn gate_requires_a_fresh_success_only_for_required_actions() {
        let required: RequiredChecks = [GuardedAction::Remove].into_iter().collect();
        let ok = check(t(0, 0), CheckOutcome::Success);
        let reference = CallerCheckRef::Success {
            at: t(0, 0),
            device_id: "525509".into(),
        };
        assert_eq!(
            gate(GuardedAction::Remove, &required, Some(&ok), t(1, 0), 15),
            Gate::Checked(reference.clone())
        );
        assert_eq!(
            gate(GuardedAction::Remove, &required, Some(&ok), t(20, 0), 15),
            Gate::Expired
        );
        assert_eq!(
            gate(GuardedAction::Remove, &required, None, t(1, 0), 15),
            Gate::Missing
        );
        assert_eq!(
            gate(GuardedAction::Token, &required, Some(&ok), t(1, 0), 15),
            Gate::NotRequired(reference)
        );
        assert_eq!(
            gate(GuardedAction::Token, &required, None, t(1, 0), 15),
            Gate::NotRequired(CallerCheckRef::None)
        );
        assert!(Gate::Missing.allowed().is_none());
    }

    #[test]
    fn read_only_allows_checks_unless_the_profile_forbids_them() {
        assert!(check_allowed(false, false));
        assert!(check_allowed(true, true));
        assert!(!check_allowed(true, false));
    }

    #[test]
    fn override_reasons_need_ten_characters() {
        assert!(validate_override_reason("too short").is_err());
        assert!(validate_override_reason("   short    ").is_err());
        assert!(validate_override_reason("bad\u{1b}[2Jreason!").is_err());
        assert_eq!(
            validate_override_reason(" manager approval in INC-1234 ").as_deref(),
            Ok("manager approval in INC-1234")
        );
    }

    #[test]
    fn last_caller_check_finds_the_latest_fresh_success_of_that_user() {
        let entries = vec![
            check_line(t(0, 0), 7, AuditOutcome::Attempt),
            check_line(t(0, 10), 7, AuditOutcome::Success),
            check_line(t(0, 20), 8, AuditOutcome::Failure),
        ];
        let found = last_caller_check(&entries, 7, t(5, 0), 15);
        assert_eq!(
            found.map(|c| (c.at, c.device_id)),
            Some((t(0, 10), "525509".into()))
        );
        assert!(last_caller_check(&entries, 8, t(5, 0), 15).is_none());
        assert!(last_caller_check(&entries, 9, t(5, 0), 15).is_none());
        assert!(last_caller_check(&entries, 7, t(15, 10), 15).is_none());
    }

    #[test]
    fn a_later_failure_or_an_override_does_not_leave_the_caller_checked() {
        let failed_after = vec![
            check_line(t(0, 10), 7, AuditOutcome::Success),
            check_line(t(1, 0), 7, AuditOutcome::Failure),
        ];
        assert!(last_caller_check(&failed_after, 7, t(2, 0), 15).is_none());
        let overridden = vec![
            ctx()
                .entry_at(
                    t(0, 0),
                    7,
                    AuditAction::CallerCheck,
                    AuditOutcome::Overridden,
                )
                .reason("manager approval in INC-1234"),
        ];
        assert!(last_caller_check(&overridden, 7, t(1, 0), 15).is_none());
        let change_after = vec![
            check_line(t(0, 10), 7, AuditOutcome::Success),
            ctx().entry_at(t(1, 0), 7, AuditAction::Remove, AuditOutcome::Success),
        ];
        assert!(last_caller_check(&change_after, 7, t(2, 0), 15).is_some());
    }

    #[test]
    fn checks_on_another_tenant_do_not_count() {
        let other = AuditContext::new("jdoe", None, "https://other.onelogin.com")
            .entry_at(t(0, 0), 7, AuditAction::CallerCheck, AuditOutcome::Success)
            .device_id("1");
        let entries = vec![other];
        assert!(
            last_caller_check_on(&entries, "https://acme.onelogin.com", 7, t(1, 0), 15).is_none()
        );
        assert!(
            last_caller_check_on(&entries, "https://other.onelogin.com", 7, t(1, 0), 15).is_some()
        );
    }

    #[test]
    fn required_checks_print_as_the_flag_takes_them() {
        let required: RequiredChecks = [GuardedAction::EnrollVerified, GuardedAction::Remove]
            .into_iter()
            .collect();
        assert_eq!(required.to_string(), "remove,enroll_verified");
        assert!(RequiredChecks::none().is_empty());
    }
}
