//! Domain types the client returns: decoded, tolerant of the API's quirks, and UI-friendly.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::secret::Secret;

/// A OneLogin user id.
pub type UserId = i64;

/// An MFA device id; the API sends it as a number or a string, so it is kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DeviceId(pub String);

impl DeviceId {
    /// The id as a number, when it is one (v1 paths and bodies use numbers).
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<i64> for DeviceId {
    fn from(value: i64) -> Self {
        Self(value.to_string())
    }
}

impl From<&str> for DeviceId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(i64),
            Text(String),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Num(n) => DeviceId(n.to_string()),
            Raw::Text(s) => DeviceId(s),
        })
    }
}

/// A factor the user can still enroll (`GET …/auth_factors`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFactor {
    /// The factor id to pass to enroll.
    pub factor_id: i64,
    /// The official factor name, e.g. "OneLogin SMS".
    pub name: String,
}

/// An enrolled device (`GET …/otp_devices`, or the enroll response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtpDevice {
    /// The device id used by trigger, verify and remove.
    pub id: DeviceId,
    /// True once the device has been verified at least once.
    pub active: bool,
    /// True for the user's default device.
    pub default: bool,
    /// True when a trigger (SMS, call, push) must come before verify.
    pub needs_trigger: bool,
    /// The official factor name.
    pub auth_factor_name: String,
    /// The admin's name for the factor type.
    pub type_display_name: Option<String>,
    /// The user's name for the device.
    pub user_display_name: Option<String>,
    /// The phone number, for SMS and voice devices.
    pub phone_number: Option<String>,
    /// A state token returned by enroll, usable for the first verify.
    pub state_token: Option<Secret>,
}

impl OtpDevice {
    /// The factor and the user's name for it, e.g. `OneLogin SMS "Work phone"` (raw API text).
    pub fn label(&self) -> String {
        match &self.user_display_name {
            Some(name) if !name.is_empty() && name != &self.auth_factor_name => {
                format!("{} \"{}\"", self.auth_factor_name, name)
            }
            _ => self.auth_factor_name.clone(),
        }
    }
}

/// The result of triggering a device (`POST …/trigger`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerResult {
    /// The device that was triggered.
    pub device_id: DeviceId,
    /// The state token to pass to verify.
    pub state_token: Secret,
    /// When the state token expires, if the API said.
    pub state_token_expires_at: Option<DateTime<Utc>>,
    /// The API's message ("SMS token sent … Authentication pending.").
    pub message: String,
}

/// The outcome of a verify call that did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The code (or push) was accepted; the device is active.
    Verified,
    /// A push is still waiting for the user; poll again.
    Pending {
        /// The API's message.
        message: String,
    },
}

/// A temporary MFA token (`POST …/mfa_token`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaToken {
    /// The token itself: shown once, never logged.
    pub mfa_token: Secret,
    /// True when it can be used more than once until it expires.
    pub reusable: bool,
    /// When it expires, if the API said.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A OneLogin user (`/api/2/users`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct User {
    /// The user id.
    pub id: UserId,
    /// Username, often null.
    pub username: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Account status code (see [`UserStatus`]).
    pub status: Option<i64>,
    /// Approval state code.
    pub state: Option<i64>,
    /// Locked until this time, when locked.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last successful login; None means never.
    pub last_login: Option<DateTime<Utc>>,
    /// Phone on the profile.
    pub phone: Option<String>,
    /// Failed logins since the last success.
    pub invalid_login_attempts: Option<i64>,
    /// Job title.
    pub title: Option<String>,
    /// Department.
    pub department: Option<String>,
}

impl User {
    /// "First Last", falling back to username, email, then the id.
    pub fn display_name(&self) -> String {
        let parts: Vec<&str> = [self.firstname.as_deref(), self.lastname.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect();
        if !parts.is_empty() {
            return parts.join(" ");
        }
        self.username
            .clone()
            .or_else(|| self.email.clone())
            .unwrap_or_else(|| format!("user {}", self.id))
    }

    /// The status in words.
    pub fn status(&self) -> UserStatus {
        UserStatus::from_code(self.status)
    }
}

/// OneLogin's user status codes, in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    /// 0: not yet activated.
    Unactivated,
    /// 1: active, the only status that can log in.
    Active,
    /// 2: suspended.
    Suspended,
    /// 3: locked.
    Locked,
    /// 4: password expired.
    PasswordExpired,
    /// 5: awaiting password reset.
    AwaitingPasswordReset,
    /// 7: no password set yet.
    PasswordPending,
    /// 8: security questions required.
    SecurityQuestionsRequired,
    /// Any other or missing code.
    Unknown(Option<i64>),
}

impl UserStatus {
    /// Maps a status code.
    pub fn from_code(code: Option<i64>) -> Self {
        match code {
            Some(0) => Self::Unactivated,
            Some(1) => Self::Active,
            Some(2) => Self::Suspended,
            Some(3) => Self::Locked,
            Some(4) => Self::PasswordExpired,
            Some(5) => Self::AwaitingPasswordReset,
            Some(7) => Self::PasswordPending,
            Some(8) => Self::SecurityQuestionsRequired,
            other => Self::Unknown(other),
        }
    }

    /// The status in words.
    pub fn label(&self) -> String {
        match self {
            Self::Unactivated => "Unactivated".into(),
            Self::Active => "Active".into(),
            Self::Suspended => "Suspended".into(),
            Self::Locked => "Locked".into(),
            Self::PasswordExpired => "Password expired".into(),
            Self::AwaitingPasswordReset => "Awaiting password reset".into(),
            Self::PasswordPending => "Password pending".into(),
            Self::SecurityQuestionsRequired => "Security questions required".into(),
            Self::Unknown(Some(code)) => format!("Status {code}"),
            Self::Unknown(None) => "Status unknown".into(),
        }
    }
}

/// A user search (`GET /api/2/users`); `*` is a wildcard in the text fields.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserQuery {
    /// Email, exact or with `*`.
    pub email: Option<String>,
    /// Username, exact or with `*`.
    pub username: Option<String>,
    /// First name, exact or with `*`.
    pub firstname: Option<String>,
    /// Last name, exact or with `*`.
    pub lastname: Option<String>,
    /// Exact user ids.
    pub user_ids: Vec<UserId>,
    /// Page size (OneLogin pages at 50).
    pub limit: Option<u32>,
    /// The After-Cursor of the previous page.
    pub cursor: Option<String>,
}

/// One page of users with the paging headers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserPage {
    /// The users on this page.
    pub users: Vec<User>,
    /// Total-Count header.
    pub total_count: Option<u64>,
    /// Total-Pages header.
    pub total_pages: Option<u64>,
    /// Current-Page header.
    pub current_page: Option<u64>,
    /// After-Cursor header: None on the last page.
    pub after_cursor: Option<String>,
    /// Before-Cursor header.
    pub before_cursor: Option<String>,
}

/// The API budget, from X-RateLimit-* headers or `/auth/rate_limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// Calls allowed per window.
    pub limit: Option<u64>,
    /// Calls left in this window.
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    pub reset_secs: Option<u64>,
}

/// Which MFA API a client speaks (`mfa_api` in a profile, `--mfa-api` on the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaApiChoice {
    /// v2 unless the credential may not use it (its first v2 call answered 401/403), then v1.
    #[default]
    Auto,
    /// Only `/api/1/users/{id}/otp_devices…`.
    V1,
    /// Only `/api/2/mfa/users/{id}/…`.
    V2,
}

impl MfaApiChoice {
    /// Parses `auto`, `v1` or `v2` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "v1" | "1" => Some(Self::V1),
            "v2" | "2" => Some(Self::V2),
            _ => None,
        }
    }
}

impl fmt::Display for MfaApiChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::V1 => "v1",
            Self::V2 => "v2",
        })
    }
}

/// The MFA API version a session settled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MfaVersion {
    /// MFA API v1.
    V1,
    /// MFA API v2.
    V2,
}

impl MfaVersion {
    /// The header badge: `MFA v1` or `MFA v2`.
    pub fn label(self) -> &'static str {
        match self {
            Self::V1 => "MFA v1",
            Self::V2 => "MFA v2",
        }
    }
}

/// Where a v2 registration or verification stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V2Status {
    /// Waiting for the user (code, app approval).
    Pending,
    /// Done: the device is enrolled or the check passed.
    Accepted,
    /// The user denied it, or mistyped a voice code.
    Rejected,
    /// A status this client does not know, kept as sent.
    Other(String),
}

impl V2Status {
    /// Maps the wire text (any case).
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "pending" => Self::Pending,
            "accepted" | "success" | "approved" => Self::Accepted,
            "rejected" | "denied" => Self::Rejected,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A v2 factor registration (`POST …/registrations`): pending until the first code or the app's
/// acceptance; its `totp_url` and `verification_token` are secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The registration id (a UUID).
    pub id: String,
    /// Pending, accepted or rejected.
    pub status: V2Status,
    /// The enrolled device, once accepted.
    pub device_id: Option<DeviceId>,
    /// The official factor name.
    pub auth_factor_name: Option<String>,
    /// The admin's name for the factor type.
    pub type_display_name: Option<String>,
    /// The user's name for the device.
    pub user_display_name: Option<String>,
    /// When the registration expires, if the API said.
    pub expires_at: Option<DateTime<Utc>>,
    /// The `otpauth://` URI an authenticator app scans (holds the seed).
    pub totp_url: Option<Secret>,
    /// A token some factors (Protect, Voice) hand back for the app or call.
    pub verification_token: Option<Secret>,
}

/// A v2 verification (`POST …/verifications`): a push, SMS, call or email waiting for its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// The verification id (a UUID): the handle later calls poll or check.
    pub id: Secret,
    /// Pending, accepted or rejected (None when the answer did not say).
    pub status: Option<V2Status>,
    /// The device it was sent to.
    pub device_id: Option<DeviceId>,
    /// The official factor name.
    pub auth_factor_name: Option<String>,
    /// When it expires, if the API said.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What an enroll produced: a device (v1, or a pre-verified v2 registration) or a pending v2
/// registration that still needs a code or the app's acceptance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enrollment {
    /// A device the tenant lists now (active or pending).
    Device(OtpDevice),
    /// A v2 registration waiting for the user.
    Registration(Registration),
}
