//! The caller-check requirement: a change the profile guards needs a recent successful check
//! of the same user, read from the audit trail (so a check in the console or an earlier
//! `mfadesk verify` counts).

use crate::audit::AuditAction;

use super::gate::Change;

/// The audit action a caller check is recorded under.
pub const CHECK_ACTION: AuditAction = AuditAction::Verify;

/// True for the changes a profile can guard with a caller check.
pub fn guarded(change: Change) -> bool {
    matches!(
        change,
        Change::Remove | Change::MfaToken | Change::EnrollVerified
    )
}
