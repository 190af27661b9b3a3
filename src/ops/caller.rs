//! The caller-check requirement: a change the profile guards needs a recent successful check
//! of the same user on the same tenant, read from the audit trail (so a check in the console or
//! an earlier `mfadesk verify` counts).

use chrono::{DateTime, Utc};

use crate::api::User;
use crate::audit::{AuditAction, AuditEntry, CallerCheckRef};
use crate::policy::{self, GuardedAction, RequiredChecks};

use super::error::{OpsError, Refusal};
use super::gate::Change;

/// The audit action a caller check is recorded under.
pub const CHECK_ACTION: AuditAction = AuditAction::CallerCheck;

/// The guarded action a change is, if a profile can guard it.
pub fn guarded(change: Change) -> Option<GuardedAction> {
    match change {
        Change::Remove => Some(GuardedAction::Remove),
        Change::MfaToken => Some(GuardedAction::Token),
        Change::EnrollVerified => Some(GuardedAction::EnrollVerified),
        Change::Unlock => Some(GuardedAction::Unlock),
        _ => None,
    }
}

/// What the caller-check rule needs to know.
pub struct CallerPolicy<'a> {
    /// The changes that need a fresh check.
    pub required: &'a RequiredChecks,
    /// How long a check stays fresh.
    pub minutes: u32,
    /// The tenant, so a check on another tenant does not count.
    pub base_url: &'a str,
}

/// Refuses a guarded change without a fresh check; else the check the change line names.
///
/// `entries` is the audit trail, or why it could not be read: a required check that cannot be
/// looked up is treated as missing (fail closed).
pub fn require(
    policy: &CallerPolicy<'_>,
    change: Change,
    user: &User,
    entries: Result<&[AuditEntry], &str>,
    now: DateTime<Utc>,
) -> Result<CallerCheckRef, OpsError> {
    let last = entries.ok().and_then(|e| {
        policy::last_caller_check_on(e, policy.base_url, user.id, now, policy.minutes)
    });
    let Some(action) = guarded(change) else {
        return Ok(policy::reference_for(last.as_ref(), now, policy.minutes));
    };
    let gate = policy::gate(action, policy.required, last.as_ref(), now, policy.minutes);
    if let Some(reference) = gate.allowed() {
        return Ok(reference.clone());
    }
    let unreadable = match entries {
        Err(why) => format!(" (the audit trail could not be read: {why})"),
        Ok(_) => String::new(),
    };
    Err(OpsError::refused(
        Refusal::MissingCallerCheck,
        format!(
            "this profile requires a caller check of {} within {} minutes before {}{unreadable}: run `mfadesk verify {}` while the caller is on the line (or c in the console), then try again; nothing was changed",
            user.display_name(),
            policy.minutes,
            change.name(),
            user.id
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditContext, AuditOutcome};

    #[test]
    fn a_guarded_change_needs_a_fresh_check_of_that_user_on_that_tenant() {
        let now = Utc::now();
        let required: RequiredChecks = [GuardedAction::Remove].into_iter().collect();
        let policy = CallerPolicy {
            required: &required,
            minutes: 15,
            base_url: "https://acme.onelogin.com",
        };
        let user = User {
            id: 7,
            ..User::default()
        };
        let check = AuditContext::new("jdoe", None, "https://acme.onelogin.com")
            .entry_at(now, 7, AuditAction::CallerCheck, AuditOutcome::Success)
            .device_id("9");
        let none: &[AuditEntry] = &[];
        let refused = require(&policy, Change::Remove, &user, Ok(none), now).err();
        assert_eq!(refused.map(|e| e.exit_status()), Some(4));
        let entries = [check];
        assert!(matches!(
            require(&policy, Change::Remove, &user, Ok(&entries), now),
            Ok(CallerCheckRef::Success { .. })
        ));
        // An unreadable trail cannot prove a check: refused.
        assert!(require(&policy, Change::Remove, &user, Err("corrupt"), now).is_err());
        // Not required: allowed, naming no check.
        assert_eq!(
            require(&policy, Change::MfaToken, &user, Err("corrupt"), now).ok(),
            Some(CallerCheckRef::None)
        );
    }
}
