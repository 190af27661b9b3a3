//! The policy gate: read-only mode and required reasons, one rule for the console and the
//! commands.

use super::error::{OpsError, Refusal};

/// What an operation does to the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Enroll a device.
    Enroll,
    /// Enroll a phone as already verified (no code is checked).
    EnrollVerified,
    /// Send an SMS, call or push to activate a pending device.
    Trigger,
    /// Verify a pending device (activates it).
    Activate,
    /// Check the caller on an active device: changes nothing in the tenant.
    CallerCheck,
    /// Remove a device.
    Remove,
    /// Issue a temporary MFA token.
    MfaToken,
    /// Unlock a locked user.
    Unlock,
    /// Sign a user out everywhere.
    Logout,
    /// Lock a user.
    Lock,
}

impl Change {
    /// True when the operation changes the tenant (and so is refused in read-only mode).
    pub fn changes_tenant(self) -> bool {
        !matches!(self, Change::CallerCheck)
    }

    /// True when the operation needs a reason under `require_reason`.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Change::Remove | Change::MfaToken | Change::Unlock | Change::Logout | Change::Lock
        )
    }

    /// How the change is named in refusals.
    pub fn name(self) -> &'static str {
        match self {
            Change::Enroll => "enroll",
            Change::EnrollVerified => "enroll --verified",
            Change::Trigger => "trigger",
            Change::Activate => "verify",
            Change::CallerCheck => "caller check",
            Change::Remove => "remove",
            Change::MfaToken => "token",
            Change::Unlock => "unlock",
            Change::Logout => "logout",
            Change::Lock => "lock",
        }
    }
}

/// The rules of the profile in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Refuse every change.
    pub read_only: bool,
    /// Ask for a reason before remove, temporary token, unlock, sign-out and lock.
    pub require_reason: bool,
    /// Allow caller checks in read-only mode (the profile's `read_only_caller_check`).
    pub read_only_caller_check: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            read_only: false,
            require_reason: false,
            read_only_caller_check: true,
        }
    }
}

impl Gate {
    /// The read-only refusal for a change, if it applies.
    pub fn read_only_refusal(&self, change: Change) -> Option<OpsError> {
        if self.read_only && change == Change::CallerCheck && !self.read_only_caller_check {
            return Some(OpsError::refused(
                Refusal::ReadOnly,
                "read-only mode: this profile does not allow caller checks (read_only_caller_check = false); nothing was sent",
            ));
        }
        (self.read_only && change.changes_tenant()).then(|| {
            OpsError::refused(
                Refusal::ReadOnly,
                format!(
                    "read-only mode: {} is refused (the profile is read-only or --read-only was given); nothing was sent",
                    change.name()
                ),
            )
        })
    }

    /// Checks read-only mode and the reason; returns the trimmed reason.
    pub fn check(&self, change: Change, reason: Option<&str>) -> Result<Option<String>, OpsError> {
        if let Some(refusal) = self.read_only_refusal(change) {
            return Err(refusal);
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if self.require_reason && change.needs_reason() && reason.is_none() {
            return Err(OpsError::refused(
                Refusal::MissingReason,
                format!(
                    "this profile requires a reason for {}: give --reason \"TICKET-123 why\"",
                    change.name()
                ),
            ));
        }
        if let Some(r) = reason
            && r.chars().any(char::is_control)
        {
            return Err(OpsError::Usage(
                "the reason must be one line of text without control characters".into(),
            ));
        }
        Ok(reason.map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_refuses_changes_but_not_caller_checks() {
        let gate = Gate {
            read_only: true,
            ..Gate::default()
        };
        assert!(gate.check(Change::Remove, Some("x")).is_err());
        assert!(gate.check(Change::Enroll, None).is_err());
        assert!(gate.check(Change::CallerCheck, None).is_ok());
        let strict = Gate {
            read_only_caller_check: false,
            ..gate
        };
        assert!(strict.check(Change::CallerCheck, None).is_err());
    }

    #[test]
    fn reasons_are_required_for_remove_and_token_only() {
        let gate = Gate {
            require_reason: true,
            ..Gate::default()
        };
        let err = gate.check(Change::Remove, Some("  ")).err();
        assert_eq!(err.map(|e| e.exit_status()), Some(4));
        assert!(gate.check(Change::MfaToken, None).is_err());
        assert_eq!(
            gate.check(Change::Remove, Some(" T-1 "))
                .ok()
                .flatten()
                .as_deref(),
            Some("T-1")
        );
        assert!(gate.check(Change::Enroll, None).is_ok());
    }
}
