//! Which devices may prove a caller: a device enrolled less than 24 hours ago proves only that
//! the caller holds it, and an attacker who talked an agent into enrolling their own phone holds
//! exactly that. One rule for the console's caller check and `mfadesk verify`.

use chrono::{DateTime, Duration, Utc};

use crate::api::{DeviceId, OtpDevice};
use crate::app::dialogs::DeviceKind;

/// How old a device must be before it may prove the caller.
pub const MIN_DEVICE_AGE_HOURS: i64 = 24;

/// What a user with no device old enough is told (the override is the way on).
pub const NO_OLD_DEVICE: &str = "No device old enough to check the caller with";

/// The label of a push in a caller check: the caller approves nothing, the real user's phone
/// buzzes.
pub const PUSH_LABEL: &str = "push (weakest: the real user may approve it out of habit)";

/// One of the user's active devices, and why it may not prove the caller (None: it may).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckDevice {
    /// The device.
    pub device: OtpDevice,
    /// Why it is not offered, as the check lists it greyed.
    pub blocked: Option<String>,
}

/// Where an enrollment time came from (several sources may name the same device).
pub type EnrolledAt = (DeviceId, DateTime<Utc>);

/// The user's active devices for a caller check: codes before pushes, the default first
/// within each; a device enrolled (by any source in `enrolled`) less than 24 h before `now`
/// is kept but blocked, with `enrolled <when>: too new to prove the caller`.
pub fn check_devices(
    devices: &[OtpDevice],
    enrolled: &[EnrolledAt],
    now: DateTime<Utc>,
) -> Vec<CheckDevice> {
    let window = Duration::hours(MIN_DEVICE_AGE_HOURS);
    let mut list: Vec<CheckDevice> = devices
        .iter()
        .filter(|d| d.active)
        .map(|d| {
            // The latest enrollment any source knows of (a re-enrollment counts anew).
            let newest = enrolled
                .iter()
                .filter(|(id, at)| *id == d.id && *at <= now + Duration::minutes(5))
                .map(|(_, at)| *at)
                .max();
            let blocked = newest.filter(|at| now - *at < window).map(|at| {
                format!(
                    "enrolled {}: too new to prove the caller",
                    enrolled_when(at, now)
                )
            });
            CheckDevice {
                device: d.clone(),
                blocked,
            }
        })
        .collect();
    // A stable sort keeps the tenant's order among equals.
    list.sort_by_key(|c| {
        (
            DeviceKind::of(&c.device) == DeviceKind::Push,
            !c.device.default,
        )
    });
    list
}

/// True when at least one device may prove the caller.
pub fn any_offered(list: &[CheckDevice]) -> bool {
    list.iter().any(|c| c.blocked.is_none())
}

/// "5 min ago", "3 h ago": how long ago a device was enrolled.
fn enrolled_when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ago = (now - at).max(Duration::zero());
    if ago < Duration::minutes(1) {
        "just now".into()
    } else if ago < Duration::hours(1) {
        format!("{} min ago", ago.num_minutes())
    } else {
        format!("{} h ago", ago.num_hours())
    }
}

/// Enrollment times from audit lines: successful enrollments of this user's devices.
pub fn enrolled_from_trail(
    entries: &[crate::audit::AuditEntry],
    base_url: &str,
    user_id: crate::api::UserId,
) -> Vec<EnrolledAt> {
    use crate::audit::{AuditAction, AuditOutcome};
    entries
        .iter()
        .filter(|e| {
            e.action == AuditAction::Enroll
                && e.user_id == user_id
                && e.base_url == base_url
                && matches!(e.outcome, AuditOutcome::Success | AuditOutcome::Pending)
        })
        .filter_map(|e| Some((DeviceId(e.device_id.clone()?), e.time)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn device(id: &str, factor: &str, trigger: bool, default: bool) -> OtpDevice {
        OtpDevice {
            id: DeviceId(id.into()),
            active: true,
            default,
            needs_trigger: trigger,
            auth_factor_name: factor.into(),
            type_display_name: None,
            user_display_name: None,
            phone_number: None,
            state_token: None,
        }
    }

    #[test]
    fn a_device_enrolled_within_a_day_is_listed_but_not_offered() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let push = device("1", "OneLogin Protect", true, true);
        let voice = device("2", "OneLogin Voice", true, false);
        let auth = device("3", "Google Authenticator", false, false);
        let enrolled = [
            (DeviceId("2".into()), now - Duration::minutes(5)),
            (DeviceId("3".into()), now - Duration::hours(25)),
        ];
        let list = check_devices(&[push, voice, auth], &enrolled, now);
        let ids: Vec<&str> = list.iter().map(|c| c.device.id.0.as_str()).collect();
        assert_eq!(ids, ["2", "3", "1"], "codes before pushes");
        assert_eq!(
            list[0].blocked.as_deref(),
            Some("enrolled 5 min ago: too new to prove the caller")
        );
        assert_eq!(list[1].blocked, None, "25 h old is old enough");
        assert!(any_offered(&list));
        let only_new = check_devices(&[list[0].device.clone()], &enrolled, now);
        assert!(!any_offered(&only_new));
        // A day later the same device may prove the caller.
        let later = check_devices(
            &[list[0].device.clone()],
            &enrolled,
            now + Duration::hours(24),
        );
        assert!(any_offered(&later));
    }
}
