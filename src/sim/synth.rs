//! `sim --users N [--seed S]`: a tenant of any size, the same for the same seed.
//!
//! Every user is a pure function of (seed, index), so building 100,000 users needs no random
//! state and no intermediate JSON. The mix: about 12 % without MFA, 30 % weak (SMS or voice
//! only), 50 % strong (an authenticator, Protect or a YubiKey), 5 % with pending devices only,
//! 3 % strong with a pending extra; about 3 % locked, 3 % suspended, 2 % never activated; last
//! logins spread over the past year (5 % never).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::state::{FactorKind, SimDevice, SimUser};

/// The first synthetic user id.
pub(crate) const FIRST_USER_ID: i64 = 50_000_000;
/// The first synthetic device id.
const FIRST_DEVICE_ID: i64 = 900_000_000;
/// Device ids per user.
const DEVICES_PER_USER: i64 = 4;
/// Most users `--users` builds.
pub const MAX_USERS: usize = 1_000_000;

const FIRST: [&str; 24] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Yusuf",
];
const LAST: [&str; 20] = [
    "Alvarez", "Brown", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi", "Silva",
    "Tanaka", "Weber",
];

/// splitmix64: a well-mixed hash of (seed, index, salt).
fn mix(seed: u64, index: u64, salt: u64) -> u64 {
    let mut z = seed
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Builds `n` users and their devices for `seed`, with times relative to `now`.
pub(crate) fn build(
    n: usize,
    seed: u64,
    now: DateTime<Utc>,
) -> (BTreeMap<i64, SimUser>, BTreeMap<i64, SimDevice>) {
    let mut users = BTreeMap::new();
    let mut devices = BTreeMap::new();
    for i in 0..n as u64 {
        let (user, devs) = one(seed, i, now);
        for d in devs {
            devices.insert(d.id, d);
        }
        users.insert(user.id, user);
    }
    (users, devices)
}

/// User `i` and their devices.
fn one(seed: u64, i: u64, now: DateTime<Utc>) -> (SimUser, Vec<SimDevice>) {
    let r = |salt: u64| mix(seed, i, salt);
    let id = FIRST_USER_ID + i as i64;
    let first = FIRST[(r(1) % FIRST.len() as u64) as usize];
    let last = LAST[(r(2) % LAST.len() as u64) as usize];
    let status_roll = r(3) % 100;
    let status = match status_roll {
        0..=2 => 3,
        3..=5 => 2,
        6..=7 => 0,
        _ => 1,
    };
    let last_login = (status != 0 && r(4) % 100 >= 5)
        .then(|| now - TimeDelta::seconds((r(5) % (365 * 86_400)) as i64));
    let created = now - TimeDelta::days(400 + (r(6) % 1000) as i64);
    let email = format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        i
    );
    let user = SimUser {
        id,
        username: (r(7) % 4 != 0).then(|| format!("{}{}{}", &first[..1], last, i).to_lowercase()),
        email: Some(email),
        firstname: Some(first.to_string()),
        lastname: Some(last.to_string()),
        title: None,
        department: None,
        company: None,
        phone: None,
        status,
        state: 1,
        locked_until: (status == 3).then(|| now + TimeDelta::hours(1)),
        last_login,
        invalid_login_attempts: 0,
        activated_at: (status != 0).then_some(created),
        created_at: Some(created),
        updated_at: Some(last_login.unwrap_or(created)),
        password_changed_at: None,
        invitation_sent_at: None,
        role_ids: Vec::new(),
        group_id: None,
        directory_id: None,
        trusted_idp_id: None,
        manager_user_id: None,
        manager_ad_id: None,
        external_id: None,
        distinguished_name: None,
        member_of: None,
        samaccountname: None,
        userprincipalname: None,
        preferred_locale_code: None,
        comment: None,
        custom_attributes: serde_json::Map::new(),
    };
    let phone = format!("+1555{:07}", i % 10_000_000);
    let strong = [
        FactorKind::Protect,
        FactorKind::Authenticator,
        FactorKind::Yubikey,
    ][(r(8) % 3) as usize];
    let weak = if r(9) % 4 == 0 {
        FactorKind::Voice
    } else {
        FactorKind::Sms
    };
    // (kind, active) per device, by the mix in the module comment.
    let plan: Vec<(FactorKind, bool)> = match r(10) % 100 {
        0..=11 => vec![],
        12..=41 if r(11) % 5 == 0 => vec![(FactorKind::Sms, true), (FactorKind::Voice, true)],
        12..=41 => vec![(weak, true)],
        42..=91 if r(11) % 3 == 0 => vec![(weak, true), (strong, true)],
        42..=91 => vec![(strong, true)],
        92..=96 => vec![(weak, false)],
        _ => vec![(strong, true), (FactorKind::Sms, false)],
    };
    let devices = plan
        .into_iter()
        .enumerate()
        .map(|(j, (kind, active))| {
            let device_id = FIRST_DEVICE_ID + i as i64 * DEVICES_PER_USER + j as i64;
            SimDevice {
                id: device_id,
                user_id: id,
                kind,
                type_display_name: kind.name().to_string(),
                user_display_name: kind.name().to_string(),
                phone_number: matches!(kind, FactorKind::Sms | FactorKind::Voice)
                    .then(|| phone.clone()),
                active,
                default: j == 0 && active,
                totp_secret: kind
                    .is_totp()
                    .then(|| super::seed::derived_secret(device_id)),
            }
        })
        .collect();
    (user, devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_tenant() {
        let now = Utc::now();
        let (a, da) = build(300, 7, now);
        let (b, db) = build(300, 7, now);
        assert_eq!(a, b);
        assert_eq!(da, db);
        let (c, _) = build(300, 8, now);
        assert_ne!(a, c);
    }

    #[test]
    fn the_mix_is_realistic() {
        let now = Utc::now();
        let n = 10_000;
        let (users, devices) = build(n, 1, now);
        assert_eq!(users.len(), n);
        let mut per_user: BTreeMap<i64, Vec<&SimDevice>> = BTreeMap::new();
        for d in devices.values() {
            per_user.entry(d.user_id).or_default().push(d);
        }
        let (mut none, mut weak, mut strong, mut pending) = (0, 0, 0, 0);
        for u in users.values() {
            let devs = per_user.get(&u.id).cloned().unwrap_or_default();
            let active: Vec<_> = devs.iter().filter(|d| d.active).collect();
            if devs.is_empty() {
                none += 1;
            } else if active.is_empty() {
                pending += 1;
            } else if active
                .iter()
                .all(|d| matches!(d.kind, FactorKind::Sms | FactorKind::Voice))
            {
                weak += 1;
            } else {
                strong += 1;
            }
        }
        let pct = |x: usize| x * 100 / n;
        assert!((10..=14).contains(&pct(none)), "none {none}");
        assert!((27..=33).contains(&pct(weak)), "weak {weak}");
        assert!((49..=56).contains(&pct(strong)), "strong {strong}");
        assert!((4..=6).contains(&pct(pending)), "pending {pending}");
        let locked = users.values().filter(|u| u.status == 3).count();
        let suspended = users.values().filter(|u| u.status == 2).count();
        assert!(locked > 0 && suspended > 0);
        let oldest = users.values().filter_map(|u| u.last_login).min().unwrap();
        assert!(now - oldest > TimeDelta::days(300));
        // Every phone is E.164, as the seed loader demands.
        assert!(
            devices
                .values()
                .filter_map(|d| d.phone_number.as_deref())
                .all(super::super::seed::is_e164)
        );
    }
}
