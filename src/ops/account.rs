//! Account actions (unlock, sign out everywhere, lock) as one operation both faces and bulk
//! runs share: the gate, the caller check, the reason, and the attempt and outcome lines.

use chrono::{DateTime, Utc};

use crate::api::{Client, ErrorKind, Event, ResponseMeta, User, with_meta};
use crate::audit::{AuditAction, AuditEntry, AuditOutcome, CallerCheckRef};
use crate::worker::{self, ApiRequest, ApiResponse};

use super::error::OpsError;
use super::gate::{Change, Gate};
use super::record::Recorder;

/// What the agent does to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountAction {
    /// `POST /api/2/users/{id}/unlock`.
    Unlock,
    /// `PUT /api/1/users/{id}/logout`.
    Logout,
    /// `PUT /api/1/users/{id}/lock_user` for this many minutes (0: the policy's period).
    Lock {
        /// 15, 60, 240, or 0 for the policy's period.
        minutes: u32,
    },
}

/// The sentence every sign-out says, so no agent promises more than it does (spec §10).
pub const LOGOUT_EFFECT: &str = "Ends the user's OneLogin session and single sign-on. Apps already open keep their own sessions.";

impl AccountAction {
    /// The change the gate knows it as.
    pub fn change(self) -> Change {
        match self {
            AccountAction::Unlock => Change::Unlock,
            AccountAction::Logout => Change::Logout,
            AccountAction::Lock { .. } => Change::Lock,
        }
    }

    /// The audit action.
    pub fn audit_action(self) -> AuditAction {
        match self {
            AccountAction::Unlock => AuditAction::Unlock,
            AccountAction::Logout => AuditAction::Logout,
            AccountAction::Lock { .. } => AuditAction::Lock,
        }
    }

    /// The API request for a user.
    pub fn request(self, user: &User) -> ApiRequest {
        match self {
            AccountAction::Unlock => ApiRequest::Unlock(user.id),
            AccountAction::Logout => ApiRequest::Logout(user.id),
            AccountAction::Lock { minutes } => ApiRequest::Lock {
                user_id: user.id,
                minutes,
            },
        }
    }

    /// The confirmation question for a user (already sanitised name).
    pub fn question(self, name: &str) -> String {
        match self {
            AccountAction::Unlock => format!("Unlock {name}?"),
            AccountAction::Logout => format!("Sign {name} out everywhere? {LOGOUT_EFFECT}"),
            AccountAction::Lock { minutes } => format!("Lock {name} for {}?", period(minutes)),
        }
    }

    /// What was done, as a sentence (already sanitised name).
    pub fn done(self, name: &str) -> String {
        match self {
            AccountAction::Unlock => format!("Unlocked {name}."),
            AccountAction::Logout => format!("Signed {name} out everywhere. {LOGOUT_EFFECT}"),
            AccountAction::Lock { minutes } => format!("Locked {name} for {}.", period(minutes)),
        }
    }

    /// The scope the credential needs, in words (spec §10).
    pub fn scope_needed(self) -> &'static str {
        match self {
            AccountAction::Lock { .. } => "Lock needs Manage All",
            AccountAction::Unlock => "Unlock needs Manage users or Manage All",
            AccountAction::Logout => "Sign-out needs Manage users or Manage All",
        }
    }

    /// The note the audit line carries (the lock's period), if any.
    pub fn note(self) -> Option<String> {
        match self {
            AccountAction::Lock { minutes } => Some(format!("locked_until: {minutes} minutes")),
            _ => None,
        }
    }
}

/// A lock period in words: `15 minutes`, `4 hours`, `the policy's lock period`.
pub fn period(minutes: u32) -> String {
    match minutes {
        0 => "the policy's lock period".to_owned(),
        60 => "1 hour".to_owned(),
        m if m % 60 == 0 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    }
}

/// Checks `--minutes`: 15, 60, 240, or 0 for the policy's period.
pub fn lock_minutes(minutes: u32) -> Result<u32, OpsError> {
    if crate::api::account::LOCK_MINUTES.contains(&minutes) {
        Ok(minutes)
    } else {
        Err(OpsError::Usage(format!(
            "--minutes must be 15, 60, 240, or 0 for the policy's lock period (got {minutes})"
        )))
    }
}

/// What a caller adds to every audit line of the operation (a walkthrough's case, a bulk run).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditExtra {
    /// The case id (`w-…`) the line belongs to.
    pub case: Option<String>,
    /// The bulk run and file line the line belongs to.
    pub bulk: Option<crate::audit::BulkRef>,
}

/// The attempt line, after the gate and the caller check: a refusal is recorded and returned.
///
/// `caller` is the caller-check requirement's answer for this user and change.
pub fn check(
    recorder: &mut Recorder,
    gate: &Gate,
    user: &User,
    action: AccountAction,
    reason: Option<&str>,
    caller: Result<CallerCheckRef, OpsError>,
    extra: &AuditExtra,
) -> Result<AuditEntry, OpsError> {
    let mut entry = recorder.entry(user, None, action.audit_action(), AuditOutcome::Attempt);
    entry.message = action.note();
    entry.case.clone_from(&extra.case);
    entry.bulk.clone_from(&extra.bulk);
    recorder.guard(gate, action.change(), entry, reason, caller)
}

/// Writes the attempt (nothing is sent if it cannot be written), sends the call and writes
/// its outcome.
pub async fn send(
    client: &Client,
    recorder: &mut Recorder,
    entry: AuditEntry,
    user: &User,
    action: AccountAction,
) -> Result<ResponseMeta, OpsError> {
    recorder.attempt(entry.clone())?;
    let (response, meta) = with_meta(worker::execute(client, action.request(user))).await;
    match response {
        ApiResponse::Account(Ok(())) => {
            recorder.success(entry, &meta);
            Ok(meta)
        }
        ApiResponse::Account(Err(mut e)) => {
            recorder.failure(entry, &e);
            if e.kind == ErrorKind::InsufficientPermission {
                e.message = format!("{}: {}", e.message, action.scope_needed());
            }
            Err(e.into())
        }
        _ => Err(OpsError::Usage("unexpected answer".into())),
    }
}

/// The whole operation for one user, already confirmed: gate, caller check, attempt, call,
/// outcome. Bulk runs call this once per row.
#[allow(clippy::too_many_arguments)]
pub async fn perform(
    client: &Client,
    recorder: &mut Recorder,
    gate: &Gate,
    user: &User,
    action: AccountAction,
    reason: Option<&str>,
    caller: Result<CallerCheckRef, OpsError>,
    extra: &AuditExtra,
) -> Result<ResponseMeta, OpsError> {
    let entry = check(recorder, gate, user, action, reason, caller, extra)?;
    send(client, recorder, entry, user, action).await
}

/// What led to a lock, read from the user's events: the failed sign-ins before it (and the
/// addresses they came from) and the lock itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockStory {
    /// Failed sign-ins (event 6) in the 24 hours up to now, newest first.
    pub failed: Vec<(DateTime<Utc>, Option<String>)>,
    /// Each address the failed sign-ins came from, with how many came from it, most first.
    pub addresses: Vec<(String, usize)>,
    /// The newest lock (event 19 after failed sign-ins, 553 through the API), and who did it.
    pub locked: Option<(DateTime<Utc>, i64, String)>,
}

/// Reads the lock's story from the events (any order).
pub fn lock_story(events: &[Event], now: DateTime<Utc>) -> LockStory {
    let day = now - chrono::TimeDelta::hours(24);
    let mut failed: Vec<(DateTime<Utc>, Option<String>)> = events
        .iter()
        .filter(|e| e.event_type_id == 6)
        .filter_map(|e| {
            e.created_at
                .map(|at| (at, e.ipaddr.clone().filter(|ip| !ip.is_empty())))
        })
        .filter(|(at, _)| *at >= day && *at <= now)
        .collect();
    failed.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let mut addresses: Vec<(String, usize)> = Vec::new();
    for ip in failed.iter().filter_map(|(_, ip)| ip.as_deref()) {
        match addresses.iter_mut().find(|(a, _)| a == ip) {
            Some((_, n)) => *n += 1,
            None => addresses.push((ip.to_owned(), 1)),
        }
    }
    addresses.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let locked = events
        .iter()
        .filter(|e| matches!(e.event_type_id, 19 | 553))
        .filter_map(|e| e.created_at.map(|at| (at, e.event_type_id, e.actor())))
        .filter(|(at, _, _)| *at <= now)
        .max_by_key(|(at, _, _)| *at);
    LockStory {
        failed,
        addresses,
        locked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditContext, AuditLog};
    use crate::ops::Refusal;

    fn recorder() -> Recorder {
        Recorder::new(
            Ok(AuditLog::in_memory()),
            AuditContext::new("jdoe", None, "https://acme.onelogin.com"),
        )
    }

    #[test]
    fn read_only_refuses_every_account_action_and_records_it() {
        let gate = Gate {
            read_only: true,
            ..Gate::default()
        };
        let user = User {
            id: 7,
            ..User::default()
        };
        let mut rec = recorder();
        for action in [
            AccountAction::Unlock,
            AccountAction::Logout,
            AccountAction::Lock { minutes: 15 },
        ] {
            let extra = AuditExtra {
                case: Some("w-1".into()),
                ..AuditExtra::default()
            };
            let e = check(
                &mut rec,
                &gate,
                &user,
                action,
                Some("T-1"),
                Ok(CallerCheckRef::None),
                &extra,
            )
            .err();
            assert!(matches!(
                e,
                Some(OpsError::Refused {
                    refusal: Refusal::ReadOnly,
                    ..
                })
            ));
        }
        let actions: Vec<&str> = rec.entries().iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["unlock", "logout", "lock"]);
        assert!(
            rec.entries()
                .iter()
                .all(|e| e.outcome == AuditOutcome::Refused
                    && e.case.as_deref() == Some("w-1")
                    && e.reason.as_deref() == Some("T-1"))
        );
    }

    #[test]
    fn require_reason_covers_all_three() {
        let gate = Gate {
            require_reason: true,
            ..Gate::default()
        };
        let user = User::default();
        let mut rec = recorder();
        for action in [
            AccountAction::Unlock,
            AccountAction::Logout,
            AccountAction::Lock { minutes: 0 },
        ] {
            let e = check(
                &mut rec,
                &gate,
                &user,
                action,
                None,
                Ok(CallerCheckRef::None),
                &AuditExtra::default(),
            );
            assert_eq!(e.err().map(|e| e.exit_status()), Some(4));
            let ok = check(
                &mut rec,
                &gate,
                &user,
                action,
                Some(" INC-1 "),
                Ok(CallerCheckRef::None),
                &AuditExtra::default(),
            );
            assert_eq!(ok.ok().and_then(|e| e.reason).as_deref(), Some("INC-1"));
        }
    }

    #[test]
    fn lock_minutes_and_periods() {
        assert!(lock_minutes(15).is_ok() && lock_minutes(0).is_ok() && lock_minutes(240).is_ok());
        assert_eq!(lock_minutes(30).err().map(|e| e.exit_status()), Some(2));
        assert_eq!(period(15), "15 minutes");
        assert_eq!(period(60), "1 hour");
        assert_eq!(period(240), "4 hours");
        assert_eq!(period(0), "the policy's lock period");
    }
}
