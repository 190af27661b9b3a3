//! The caller-check requirement: a change the profile guards needs a recent successful check
//! of the same user on the same tenant, read from the audit trail (so a check in the console or
//! an earlier `mfadesk verify` counts).

use chrono::{DateTime, Utc};

use crate::api::{OtpDevice, User};
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
        Change::Enroll => Some(GuardedAction::Enroll),
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
    /// The operator asking: only their own checks count.
    pub operator: &'a str,
}

/// Refuses a guarded change without a fresh check; else the check the change line names.
///
/// `entries` is the recent end of the audit trail, newest first (see
/// [`crate::audit::read_recent`]), or why it could not be read: a required check that cannot be
/// looked up is treated as missing (fail closed). `devices` are the user's devices now; only a
/// check with one that is active counts (unknown devices: no required check counts).
pub fn require(
    policy: &CallerPolicy<'_>,
    change: Change,
    user: &User,
    devices: Option<&[OtpDevice]>,
    entries: Result<&[AuditEntry], &str>,
    now: DateTime<Utc>,
) -> Result<CallerCheckRef, OpsError> {
    let active: Option<Vec<String>> = devices.map(|d| {
        d.iter()
            .filter(|d| d.active)
            .map(|d| d.id.0.clone())
            .collect()
    });
    let action = guarded(change);
    let required = action.is_some_and(|a| policy.required.contains(a));
    // A required check must name a device known to be active now: unknown devices prove nothing.
    let empty: [String; 0] = [];
    let active_devices = match (&active, required) {
        (Some(a), _) => Some(a.as_slice()),
        (None, true) => Some(&empty[..]),
        (None, false) => None,
    };
    let query = policy::TrailQuery {
        base_url: policy.base_url,
        operator: policy.operator,
        user_id: user.id,
        active_devices,
        now,
        minutes: policy.minutes,
    };
    let last = entries
        .ok()
        .and_then(|e| policy::whole_check(e.iter(), &query));
    let Some(action) = action else {
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
            operator: "jdoe",
        };
        let user = User {
            id: 7,
            ..User::default()
        };
        let device = OtpDevice {
            id: crate::api::DeviceId("9".into()),
            active: true,
            default: true,
            needs_trigger: false,
            auth_factor_name: "Google Authenticator".into(),
            type_display_name: None,
            user_display_name: None,
            phone_number: None,
            state_token: None,
        };
        let devices = [device];
        let mut attempt = AuditContext::new("jdoe", None, "https://acme.onelogin.com")
            .entry_at(now, 7, AuditAction::CallerCheck, AuditOutcome::Attempt)
            .device_id("9");
        attempt.id = Some("c1".into());
        let check = attempt.clone().outcome(AuditOutcome::Success);
        let none: &[AuditEntry] = &[];
        let d = Some(&devices[..]);
        let refused = require(&policy, Change::Remove, &user, d, Ok(none), now).err();
        assert_eq!(refused.map(|e| e.exit_status()), Some(4));
        let entries = [check.clone(), attempt];
        assert!(matches!(
            require(&policy, Change::Remove, &user, d, Ok(&entries), now),
            Ok(CallerCheckRef::Success { .. })
        ));
        // A lone success line counts for nothing.
        let lone = [check];
        assert!(require(&policy, Change::Remove, &user, d, Ok(&lone), now).is_err());
        // Devices not known: a required check cannot be proven.
        assert!(require(&policy, Change::Remove, &user, None, Ok(&entries), now).is_err());
        // An unreadable trail cannot prove a check: refused.
        assert!(require(&policy, Change::Remove, &user, d, Err("corrupt"), now).is_err());
        // Not required: allowed, naming no check.
        assert_eq!(
            require(&policy, Change::MfaToken, &user, None, Err("corrupt"), now).ok(),
            Some(CallerCheckRef::None)
        );
    }
}
