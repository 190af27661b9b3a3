//! Loading the tenant seed (`assets/demo-tenant.json` or `--tenant FILE`).
//!
//! Timestamps in the seed may be absolute ISO-8601 or relative to load time, written
//! `now`, `now-2d`, `now+90m` (units s, m, h, d), so a locked user stays locked "for the
//! next hour" whenever the demo starts.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::state::{FactorKind, SimDevice, SimUser};
use super::totp;

/// The built-in demo tenant.
pub(crate) const BUILTIN: &str = include_str!("../../assets/demo-tenant.json");

/// User fields that hold timestamps.
const TIME_FIELDS: [&str; 7] = [
    "locked_until",
    "last_login",
    "activated_at",
    "created_at",
    "updated_at",
    "password_changed_at",
    "invitation_sent_at",
];

/// A parsed seed, kept so `reset` can rebuild the tenant.
#[derive(Debug, Clone)]
pub(crate) struct Seed {
    pub account_id: i64,
    users: Vec<Value>,
    /// `--users N --seed S`: N synthetic users instead of `users`.
    synthetic: Option<(usize, u64)>,
    /// Events the tenant starts with (`created_at` usually relative, so stories stay recent).
    events: Vec<Value>,
}

/// A device as the seed describes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedDevice {
    id: i64,
    kind: FactorKind,
    #[serde(default)]
    type_display_name: Option<String>,
    user_display_name: String,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    default: bool,
    #[serde(default)]
    totp_secret: Option<String>,
}

/// Serde default: true.
fn yes() -> bool {
    true
}

/// The seed file's top level.
#[derive(Debug, Deserialize)]
struct SeedFile {
    account_id: i64,
    users: Vec<Value>,
    #[serde(default)]
    events: Vec<Value>,
}

/// The tenant a seed describes, at one moment.
pub(crate) struct Materialized {
    pub users: BTreeMap<i64, SimUser>,
    pub devices: BTreeMap<i64, SimDevice>,
    pub events: Vec<super::events::NewEvent>,
}

/// Whether `n` is an E.164 number: `+`, then 8–15 digits, the first not 0.
pub(crate) fn is_e164(n: &str) -> bool {
    let Some(digits) = n.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Resolves `now`, `now-2d`, `now+90m` against `now`; other strings are left alone.
pub(crate) fn resolve_time(text: &str, now: DateTime<Utc>) -> Result<Option<String>, String> {
    let Some(rest) = text.strip_prefix("now") else {
        return Ok(None);
    };
    if rest.is_empty() {
        return Ok(Some(now.to_rfc3339()));
    }
    let bad = || format!("bad relative time {text:?} (expected e.g. now-2d, now+90m)");
    let (sign, body) = match rest.split_at(1) {
        ("+", b) => (1, b),
        ("-", b) => (-1, b),
        _ => return Err(bad()),
    };
    let (num, unit) = body.split_at(body.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    let far = || format!("relative time {text:?} is too far from now");
    let secs = n
        .checked_mul(per)
        .and_then(|s| s.checked_mul(sign))
        .ok_or_else(far)?;
    let at = TimeDelta::try_seconds(secs)
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(far)?;
    Ok(Some(at.to_rfc3339()))
}

impl Seed {
    /// Parses and validates seed text.
    pub(crate) fn parse(text: &str) -> Result<Seed, String> {
        let file: SeedFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let seed = Seed {
            account_id: file.account_id,
            users: file.users,
            synthetic: None,
            events: file.events,
        };
        // Materialize once now so every problem shows at start, not at reset.
        seed.materialize(Utc::now())?;
        Ok(seed)
    }

    /// This seed's account with `users` synthetic users built from `seed` instead.
    pub(crate) fn with_synthetic(mut self, users: usize, seed: u64) -> Seed {
        self.users = Vec::new();
        // The seed's events name the seed's users: a synthetic tenant starts without any.
        self.events = Vec::new();
        self.synthetic = Some((users, seed));
        self
    }

    /// Builds users and devices with relative times taken from `now`.
    pub(crate) fn materialize(&self, now: DateTime<Utc>) -> Result<Materialized, String> {
        if let Some((n, seed)) = self.synthetic {
            let (users, devices) = super::synth::build(n, seed, now);
            return Ok(Materialized {
                users,
                devices,
                events: Vec::new(),
            });
        }
        let mut users = BTreeMap::new();
        let mut devices = BTreeMap::new();
        let mut device_ids = HashSet::new();
        for (i, raw) in self.users.iter().enumerate() {
            let mut obj = raw
                .as_object()
                .cloned()
                .ok_or_else(|| format!("users[{i}] is not an object"))?;
            let seed_devices = obj.remove("devices").unwrap_or(Value::Array(vec![]));
            for field in TIME_FIELDS {
                if let Some(Value::String(s)) = obj.get(field)
                    && let Some(t) =
                        resolve_time(s, now).map_err(|e| format!("users[{i}].{field}: {e}"))?
                {
                    obj.insert(field.to_string(), Value::String(t));
                }
            }
            let user: SimUser = serde_json::from_value(Value::Object(obj))
                .map_err(|e| format!("users[{i}]: {e}"))?;
            let uid = user.id;
            let seed_devices: Vec<SeedDevice> = serde_json::from_value(seed_devices)
                .map_err(|e| format!("users[{i}] (id {uid}).devices: {e}"))?;
            let mut defaults = 0;
            for d in seed_devices {
                let at = format!("device {} of user {uid}", d.id);
                if !device_ids.insert(d.id) || d.id <= 0 {
                    return Err(format!("{at}: device id must be positive and unique"));
                }
                let needs_phone = matches!(d.kind, FactorKind::Sms | FactorKind::Voice);
                let phone = match (needs_phone, d.phone_number) {
                    (true, Some(p)) if is_e164(&p) => Some(p),
                    (true, _) => return Err(format!("{at}: needs an E.164 phone_number")),
                    (false, _) => None,
                };
                let secret = if d.kind.is_totp() {
                    let s = d.totp_secret.unwrap_or_else(|| derived_secret(d.id));
                    if totp::base32_decode(&s).is_none() {
                        return Err(format!("{at}: totp_secret is not base32"));
                    }
                    Some(s)
                } else {
                    None
                };
                defaults += usize::from(d.default);
                devices.insert(
                    d.id,
                    SimDevice {
                        id: d.id,
                        user_id: uid,
                        kind: d.kind,
                        type_display_name: d
                            .type_display_name
                            .unwrap_or_else(|| d.kind.name().to_string()),
                        user_display_name: d.user_display_name,
                        phone_number: phone,
                        active: d.active,
                        default: d.default,
                        totp_secret: secret,
                    },
                );
            }
            if defaults > 1 {
                return Err(format!("user {uid} has more than one default device"));
            }
            if users.insert(uid, user).is_some() {
                return Err(format!("user id {uid} appears twice"));
            }
        }
        let mut events = Vec::new();
        for (i, raw) in self.events.iter().enumerate() {
            let e = super::events::new_event_from_json(raw, now)
                .map_err(|e| format!("events[{i}]: {e}"))?;
            if let Some(u) = e.user_id
                && !users.contains_key(&u)
            {
                return Err(format!("events[{i}]: no user {u}"));
            }
            events.push(e);
        }
        Ok(Materialized {
            users,
            devices,
            events,
        })
    }
}

/// A stable secret for a TOTP device the seed gave none.
pub(crate) fn derived_secret(device_id: i64) -> String {
    let bytes: Vec<u8> = format!("mfadesk-demo-{device_id:08}")
        .bytes()
        .take(20)
        .collect();
    totp::base32_encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_seed_loads() {
        let seed = Seed::parse(BUILTIN).unwrap();
        let m = seed.materialize(Utc::now()).unwrap();
        assert!(m.users.len() >= 60);
    }

    #[test]
    fn e164() {
        assert!(is_e164("+14155550123"));
        assert!(!is_e164("+04155550123"));
        assert!(!is_e164("14155550123"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn relative_times() {
        let now = Utc::now();
        assert!(resolve_time("now-2d", now).unwrap().is_some());
        assert!(resolve_time("now+x", now).is_err());
        assert!(resolve_time("2020-01-01T00:00:00Z", now).unwrap().is_none());
    }
}
