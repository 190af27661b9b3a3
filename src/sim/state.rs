//! The tenant model: users, devices, tokens and everything the demo delivered.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::clock::{Clock, iso_ms};
use super::faults::FaultRule;
use super::ratelimit::RateBook;

/// The MFA factor kinds the demo tenant offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FactorKind {
    /// OneLogin SMS: triggered, code sent by text message.
    Sms,
    /// OneLogin Voice: triggered, code read out in a call.
    Voice,
    /// OneLogin Protect: push (triggered) or TOTP code.
    Protect,
    /// Google Authenticator: TOTP code.
    Authenticator,
    /// Yubico YubiKey: hardware OTP.
    Yubikey,
    /// OneLogin Email: triggered, code sent by email (MFA v2 only).
    Email,
}

impl FactorKind {
    /// Every kind, in factor-id order.
    pub const ALL: [FactorKind; 6] = [
        FactorKind::Sms,
        FactorKind::Voice,
        FactorKind::Protect,
        FactorKind::Authenticator,
        FactorKind::Yubikey,
        FactorKind::Email,
    ];

    /// The tenant's factor id for this kind (what enroll's `factor_id` names).
    pub fn factor_id(self) -> i64 {
        match self {
            FactorKind::Sms => 16282,
            FactorKind::Voice => 16283,
            FactorKind::Protect => 16284,
            FactorKind::Authenticator => 16285,
            FactorKind::Yubikey => 16286,
            FactorKind::Email => 16287,
        }
    }

    /// The official factor name (`auth_factor_name`).
    pub fn name(self) -> &'static str {
        match self {
            FactorKind::Sms => "OneLogin SMS",
            FactorKind::Voice => "OneLogin Voice",
            FactorKind::Protect => "OneLogin Protect",
            FactorKind::Authenticator => "Google Authenticator",
            FactorKind::Yubikey => "Yubico YubiKey",
            FactorKind::Email => "OneLogin Email",
        }
    }

    /// The v2 `auth_factor_name` (spec §3.2: "SMS", "OneLogin", …).
    pub fn v2_auth_factor_name(self) -> &'static str {
        match self {
            FactorKind::Sms => "SMS",
            FactorKind::Protect => "OneLogin",
            FactorKind::Authenticator => "Google Authenticator",
            other => other.name(),
        }
    }

    /// The v2 factor `name` (spec §3.2).
    pub fn v2_name(self) -> &'static str {
        match self {
            FactorKind::Authenticator => "Authenticator",
            other => other.name(),
        }
    }

    /// Whether MFA v2 can register this kind (spec §3.4: not YubiKey).
    pub fn registrable(self) -> bool {
        !matches!(self, FactorKind::Yubikey)
    }

    /// Whether a registration of this kind may be pre-verified (SMS, Voice, Email only).
    pub fn may_preverify(self) -> bool {
        matches!(
            self,
            FactorKind::Sms | FactorKind::Voice | FactorKind::Email
        )
    }

    /// The kind with this factor id.
    pub fn from_factor_id(id: i64) -> Option<FactorKind> {
        Self::ALL.into_iter().find(|k| k.factor_id() == id)
    }

    /// Whether the v1 API can enroll this kind (only SMS and Voice, per the docs).
    pub fn enrollable(self) -> bool {
        matches!(self, FactorKind::Sms | FactorKind::Voice)
    }

    /// Whether this kind is checked with a TOTP code.
    pub fn is_totp(self) -> bool {
        matches!(self, FactorKind::Protect | FactorKind::Authenticator)
    }
}

/// Serializes an optional time as ISO-8601 with milliseconds, or null.
fn ser_opt_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&iso_ms(*t)),
        None => s.serialize_none(),
    }
}

/// A user as `GET /api/2/users/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimUser {
    /// User id.
    pub id: i64,
    /// Username (often null).
    #[serde(default)]
    pub username: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub firstname: Option<String>,
    /// Last name.
    #[serde(default)]
    pub lastname: Option<String>,
    /// Job title.
    #[serde(default)]
    pub title: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// Phone number (E.164).
    #[serde(default)]
    pub phone: Option<String>,
    /// 0 unactivated, 1 active, 2 suspended, 3 locked, 4 password expired, ...
    pub status: i64,
    /// 0 unapproved, 1 approved, 2 rejected, 3 unlicensed.
    #[serde(default = "one")]
    pub state: i64,
    /// When a lock ends.
    #[serde(default, serialize_with = "ser_opt_time")]
    pub locked_until: Option<DateTime<Utc>>,
    /// Last successful login; null if never.
    #[serde(default, serialize_with = "ser_opt_time")]
    pub last_login: Option<DateTime<Utc>>,
    /// Failed logins since the last success.
    #[serde(default)]
    pub invalid_login_attempts: i64,
    /// When the account was activated.
    #[serde(default, serialize_with = "ser_opt_time")]
    pub activated_at: Option<DateTime<Utc>>,
    /// When the account was created.
    #[serde(default, serialize_with = "ser_opt_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// When the account was last changed.
    #[serde(default, serialize_with = "ser_opt_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// When the password was last changed.
    #[serde(default, serialize_with = "ser_opt_time")]
    pub password_changed_at: Option<DateTime<Utc>>,
    /// When an invitation was sent.
    #[serde(default, serialize_with = "ser_opt_time")]
    pub invitation_sent_at: Option<DateTime<Utc>>,
    /// Role ids.
    #[serde(default)]
    pub role_ids: Vec<i64>,
    /// Group id.
    #[serde(default)]
    pub group_id: Option<i64>,
    /// Directory id.
    #[serde(default)]
    pub directory_id: Option<i64>,
    /// Trusted IdP id.
    #[serde(default)]
    pub trusted_idp_id: Option<i64>,
    /// Manager's user id (a string, as the API often sends it).
    #[serde(default)]
    pub manager_user_id: Option<String>,
    /// Manager's AD id.
    #[serde(default)]
    pub manager_ad_id: Option<String>,
    /// External id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// LDAP distinguished name.
    #[serde(default)]
    pub distinguished_name: Option<String>,
    /// LDAP memberOf.
    #[serde(default)]
    pub member_of: Option<String>,
    /// AD sAMAccountName.
    #[serde(default)]
    pub samaccountname: Option<String>,
    /// AD userPrincipalName.
    #[serde(default)]
    pub userprincipalname: Option<String>,
    /// Locale.
    #[serde(default)]
    pub preferred_locale_code: Option<String>,
    /// Admin comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Custom attributes (shortname → string or null).
    #[serde(default)]
    pub custom_attributes: serde_json::Map<String, serde_json::Value>,
}

/// Serde default for `state`: approved.
fn one() -> i64 {
    1
}

/// An enrolled (or pending) MFA device: the tenant's truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimDevice {
    /// Device id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Factor kind.
    pub kind: FactorKind,
    /// Admin-defined type name.
    pub type_display_name: String,
    /// User-given device name.
    pub user_display_name: String,
    /// Phone number (SMS and Voice only).
    pub phone_number: Option<String>,
    /// True once verified at least once.
    pub active: bool,
    /// The user's default device.
    pub default: bool,
    /// Base32 TOTP secret (Authenticator and Protect only).
    pub totp_secret: Option<String>,
}

/// How an outbox message was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A text message.
    Sms,
    /// A phone call.
    Voice,
    /// An email.
    Email,
}

/// An SMS or voice call the tenant "delivered".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Recipient user.
    pub user_id: i64,
    /// Device it was sent for.
    pub device_id: i64,
    /// SMS or voice.
    pub channel: Channel,
    /// Phone number.
    pub to: String,
    /// The text sent or read out.
    pub body: String,
    /// The code in it.
    pub code: String,
    /// When (sim clock).
    pub sent_at: DateTime<Utc>,
}

/// A push waiting for the user's answer on the demo "phone".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingPush {
    /// What `/_sim/pushes/{id}/approve|deny` takes: the v1 state token or the v2 verification id.
    pub id: String,
    /// The state token the verify call polls with.
    pub state_token: String,
    /// User pushed to.
    pub user_id: i64,
    /// Protect device.
    pub device_id: i64,
    /// When the push was sent (sim clock).
    pub created_at: DateTime<Utc>,
    /// When the state token expires (sim clock).
    pub expires_at: DateTime<Utc>,
}

/// The current code of an authenticator device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpCode {
    /// Owner.
    pub user_id: i64,
    /// Device id.
    pub device_id: i64,
    /// A label for the demo phone panel, e.g. "Kelly Slater · Google Authenticator".
    pub label: String,
    /// The six-digit code now.
    pub code: String,
    /// Seconds until it changes.
    pub seconds_left: u32,
}

/// An API client the tenant knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Read users.
    ReadUsers,
    /// Manage users.
    ManageUsers,
    /// Manage All: everything, MFA v2 included.
    ManageAll,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub client_id: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a push's user answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushAnswer {
    Pending,
    Approved,
    Denied,
}

/// A state token from enroll or trigger.
#[derive(Debug, Clone)]
pub(crate) struct StateToken {
    pub user_id: i64,
    pub device_id: i64,
    /// The code sent (SMS/Voice); None for a push.
    pub code: Option<String>,
    pub push: PushAnswer,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub consumed: bool,
}

/// Where a v2 registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationStatus {
    /// Waiting for the first code or the app's acceptance.
    Pending,
    /// Enrolled: the device exists.
    Accepted,
    /// The user's app denied it.
    Rejected,
}

/// A v2 factor registration.
#[derive(Debug, Clone)]
pub(crate) struct SimRegistration {
    pub user_id: i64,
    pub kind: FactorKind,
    pub display_name: String,
    pub status: RegistrationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Base32 seed (Authenticator and Protect).
    pub totp_secret: Option<String>,
    /// The code sent (SMS, Voice, Email).
    pub code: Option<String>,
    /// Where the code went (phone number or email address).
    pub to: Option<String>,
    /// The device made once accepted.
    pub device_id: Option<i64>,
}

/// A registration as `GET /_sim/registrations` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationInfo {
    /// Registration id.
    pub id: String,
    /// The user.
    pub user_id: i64,
    /// The factor kind.
    pub factor: FactorKind,
    /// The official factor name.
    pub factor_name: String,
    /// The user's name for the device.
    pub display_name: String,
    /// pending, accepted or rejected.
    pub status: RegistrationStatus,
    /// When it expires (sim clock).
    pub expires_at: DateTime<Utc>,
    /// For an authenticator: the code its seed gives now (what the user's app shows).
    pub code: Option<String>,
    /// The device, once accepted.
    pub device_id: Option<i64>,
}

/// A temporary MFA token.
#[derive(Debug, Clone)]
pub(crate) struct TempToken {
    pub user_id: i64,
    pub token: String,
    pub reusable: bool,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// Every device by id, with an index by owner so a devices call costs the same whatever the
/// tenant's size. Reads go through `Deref`; writes through the methods that keep the index.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeviceBook {
    by_id: BTreeMap<i64, SimDevice>,
    by_user: HashMap<i64, std::collections::BTreeSet<i64>>,
}

impl DeviceBook {
    /// A book holding these devices.
    pub(crate) fn new(devices: BTreeMap<i64, SimDevice>) -> DeviceBook {
        let mut by_user: HashMap<i64, std::collections::BTreeSet<i64>> = HashMap::new();
        for d in devices.values() {
            by_user.entry(d.user_id).or_default().insert(d.id);
        }
        DeviceBook {
            by_id: devices,
            by_user,
        }
    }

    /// Adds or replaces a device.
    pub(crate) fn insert(&mut self, id: i64, device: SimDevice) -> Option<SimDevice> {
        self.by_user.entry(device.user_id).or_default().insert(id);
        let old = self.by_id.insert(id, device);
        if let Some(old) = &old {
            self.unindex(old.user_id, id);
            self.by_user
                .entry(self.by_id[&id].user_id)
                .or_default()
                .insert(id);
        }
        old
    }

    /// Removes a device.
    pub(crate) fn remove(&mut self, id: &i64) -> Option<SimDevice> {
        let old = self.by_id.remove(id)?;
        self.unindex(old.user_id, *id);
        Some(old)
    }

    /// A device to change in place (its owner never changes).
    pub(crate) fn get_mut(&mut self, id: &i64) -> Option<&mut SimDevice> {
        self.by_id.get_mut(id)
    }

    /// A user's devices, by id.
    pub(crate) fn of_user(&self, user_id: i64) -> Vec<SimDevice> {
        self.by_user.get(&user_id).map_or_else(Vec::new, |ids| {
            ids.iter()
                .filter_map(|id| self.by_id.get(id))
                .cloned()
                .collect()
        })
    }

    fn unindex(&mut self, user_id: i64, id: i64) {
        if let Some(ids) = self.by_user.get_mut(&user_id) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_user.remove(&user_id);
            }
        }
    }
}

impl std::ops::Deref for DeviceBook {
    type Target = BTreeMap<i64, SimDevice>;

    fn deref(&self) -> &Self::Target {
        &self.by_id
    }
}

/// All mutable tenant state, behind one mutex.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub account_id: i64,
    /// Shared so a users search can match filters after the lock is released.
    pub users: Arc<BTreeMap<i64, SimUser>>,
    pub devices: DeviceBook,
    pub next_device_id: i64,
    pub clock: Clock,
    pub tokens: HashMap<String, AccessToken>,
    pub state_tokens: HashMap<String, StateToken>,
    /// v2 registrations by id.
    pub registrations: BTreeMap<String, SimRegistration>,
    pub outbox: Vec<OutboxMessage>,
    pub temp_tokens: Vec<TempToken>,
    pub rate: RateBook,
    pub faults: Vec<FaultRule>,
    pub counts: HashMap<super::faults::RouteKind, u64>,
    /// Every event recorded, oldest first (bounded by `events::MAX_EVENTS`).
    pub events: super::events::EventLog,
    /// The id of the last event recorded.
    pub next_event_id: i64,
}

/// Most SMS and voice messages the outbox keeps (the oldest go first).
pub(crate) const MAX_OUTBOX: usize = 1000;
/// Most state tokens kept, answered or not (the oldest go first).
pub(crate) const MAX_STATE_TOKENS: usize = 10_000;
/// Most temporary MFA tokens kept (the oldest go first).
pub(crate) const MAX_TEMP_TOKENS: usize = 10_000;
/// Inserts between sweeps for used and expired tokens.
const PRUNE_EVERY: usize = 256;
/// How long an expired token is still recognised (to answer "expired", not "invalid").
const EXPIRED_GRACE_SECS: i64 = 3600;

impl Tenant {
    /// Records a delivered message, forgetting the oldest beyond [`MAX_OUTBOX`].
    pub(crate) fn deliver(&mut self, msg: OutboxMessage) {
        if self.outbox.len() >= MAX_OUTBOX {
            let extra = self.outbox.len() + 1 - MAX_OUTBOX;
            self.outbox.drain(..extra);
        }
        self.outbox.push(msg);
    }

    /// Stores a state token, first forgetting consumed ones, ones expired for a while,
    /// and the oldest beyond [`MAX_STATE_TOKENS`].
    pub(crate) fn add_state_token(&mut self, token: String, st: StateToken) {
        // A sweep is O(n): do it every PRUNE_EVERY inserts; the cap below bounds the rest.
        if self.state_tokens.len().is_multiple_of(PRUNE_EVERY) {
            let cutoff = self.now() - chrono::TimeDelta::seconds(EXPIRED_GRACE_SECS);
            self.state_tokens
                .retain(|_, s| !s.consumed && s.expires_at > cutoff);
        }
        while self.state_tokens.len() >= MAX_STATE_TOKENS {
            let oldest = self
                .state_tokens
                .iter()
                .min_by_key(|(_, s)| s.created_at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.state_tokens.remove(&k),
                None => break,
            };
        }
        self.state_tokens.insert(token, st);
    }

    /// Stores a temporary MFA token, first forgetting used and expired ones and the
    /// oldest beyond [`MAX_TEMP_TOKENS`].
    pub(crate) fn add_temp_token(&mut self, tt: TempToken) {
        if self.temp_tokens.len().is_multiple_of(PRUNE_EVERY) {
            let now = self.now();
            self.temp_tokens.retain(|t| !t.used && t.expires_at > now);
        }
        if self.temp_tokens.len() >= MAX_TEMP_TOKENS {
            let extra = self.temp_tokens.len() + 1 - MAX_TEMP_TOKENS;
            self.temp_tokens.drain(..extra);
        }
        self.temp_tokens.push(tt);
    }

    /// The sim time now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The user's devices, by id.
    pub(crate) fn user_devices(&self, user_id: i64) -> Vec<SimDevice> {
        self.devices.of_user(user_id)
    }

    /// The TOTP secret bytes of a TOTP device.
    pub(crate) fn totp_secret(&self, device_id: i64) -> Option<Vec<u8>> {
        let d = self.devices.get(&device_id)?;
        if !d.kind.is_totp() {
            return None;
        }
        super::totp::base32_decode(d.totp_secret.as_deref()?)
    }

    /// Pushes still waiting for an answer and not expired.
    pub(crate) fn pending_pushes(&self) -> Vec<PendingPush> {
        let now = self.now();
        let mut v: Vec<PendingPush> = self
            .state_tokens
            .iter()
            .filter(|(_, s)| {
                s.code.is_none()
                    && s.push == PushAnswer::Pending
                    && !s.consumed
                    && s.expires_at > now
            })
            .map(|(t, s)| PendingPush {
                id: t.clone(),
                state_token: t.clone(),
                user_id: s.user_id,
                device_id: s.device_id,
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect();
        v.sort_by_key(|p| p.created_at);
        v
    }

    /// Records a push answer; false if there is no such pending, unexpired push.
    pub(crate) fn answer_push(&mut self, token: &str, answer: PushAnswer) -> bool {
        let now = self.now();
        match self.state_tokens.get_mut(token) {
            Some(s)
                if s.code.is_none()
                    && s.push == PushAnswer::Pending
                    && !s.consumed
                    && s.expires_at > now =>
            {
                s.push = answer;
                let (user_id, device_id) = (s.user_id, s.device_id);
                // The user answered on their phone: accepted 1400, denied 950.
                let event_type = if answer == PushAnswer::Denied {
                    950
                } else {
                    1400
                };
                let mut e = super::events::NewEvent::by_user(event_type, user_id);
                if let Some(d) = self.devices.get(&device_id) {
                    e = e.device(d);
                }
                self.record_event(e);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::{BUILTIN, Seed};
    use crate::sim::server::Shared;

    fn tenant() -> Tenant {
        let seed = Seed::parse(BUILTIN).unwrap();
        Shared::fresh_tenant(&seed, 5000).unwrap()
    }

    fn state_token(t: &Tenant, expires_in: i64) -> StateToken {
        StateToken {
            user_id: 1,
            device_id: 2,
            code: None,
            push: PushAnswer::Pending,
            created_at: t.now(),
            expires_at: t.now() + chrono::TimeDelta::seconds(expires_in),
            consumed: false,
        }
    }

    #[test]
    fn state_tokens_keep_only_recent_ones() {
        let mut t = tenant();
        let mut used = state_token(&t, 120);
        used.consumed = true;
        t.add_state_token("used".into(), used);
        t.add_state_token("old".into(), state_token(&t, -2 * EXPIRED_GRACE_SECS));
        t.add_state_token("expired".into(), state_token(&t, -60));
        for i in 0..PRUNE_EVERY {
            t.add_state_token(format!("live{i}"), state_token(&t, 120));
        }
        // Consumed and long-expired tokens go; a just-expired one stays to say "expired".
        assert!(!t.state_tokens.contains_key("used"));
        assert!(!t.state_tokens.contains_key("old"));
        assert!(t.state_tokens.contains_key("expired"));
        for i in 0..MAX_STATE_TOKENS + 10 {
            t.add_state_token(format!("t{i}"), state_token(&t, 120));
        }
        assert_eq!(t.state_tokens.len(), MAX_STATE_TOKENS);
        assert!(
            t.state_tokens
                .contains_key(&format!("t{}", MAX_STATE_TOKENS + 9))
        );
    }

    #[test]
    fn temp_tokens_and_outbox_keep_only_recent_ones() {
        let mut t = tenant();
        let temp = |t: &Tenant, token: &str, used: bool, expires_in: i64| TempToken {
            user_id: 1,
            token: token.into(),
            reusable: false,
            expires_at: t.now() + chrono::TimeDelta::seconds(expires_in),
            used,
        };
        t.add_temp_token(temp(&t, "used", true, 60));
        t.add_temp_token(temp(&t, "gone", false, -1));
        for i in 0..PRUNE_EVERY {
            t.add_temp_token(temp(&t, &format!("live{i}"), false, 60));
        }
        let tokens: Vec<&str> = t.temp_tokens.iter().map(|x| x.token.as_str()).collect();
        assert_eq!(
            tokens.len(),
            PRUNE_EVERY,
            "used and expired ones were swept"
        );
        assert!(!tokens.contains(&"used") && !tokens.contains(&"gone"));
        for i in 0..MAX_TEMP_TOKENS + 5 {
            let tt = temp(&t, &format!("t{i}"), false, 60);
            t.add_temp_token(tt);
        }
        assert_eq!(t.temp_tokens.len(), MAX_TEMP_TOKENS);
        let newest = format!("t{}", MAX_TEMP_TOKENS + 4);
        assert_eq!(
            t.temp_tokens.last().map(|x| x.token.as_str()),
            Some(newest.as_str())
        );

        for i in 0..MAX_OUTBOX + 3 {
            t.deliver(OutboxMessage {
                user_id: 1,
                device_id: 2,
                channel: Channel::Sms,
                to: "+1".into(),
                body: String::new(),
                code: i.to_string(),
                sent_at: t.now(),
            });
        }
        assert_eq!(t.outbox.len(), MAX_OUTBOX);
        assert_eq!(t.outbox[0].code, "3");
    }
}
