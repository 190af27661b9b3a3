//! The demo "phone": what the simulated tenant delivered, shown so every flow can be tried alone.

use chrono::{DateTime, Utc};

/// A delivered SMS or voice message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneMessage {
    /// "SMS" or "Voice".
    pub channel: String,
    /// The number it went to.
    pub to: String,
    /// The text (it holds the code: this is the simulated user's phone).
    pub body: String,
    /// The code in it, shown first so it is never cut off.
    pub code: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

/// A push waiting for the simulated user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhonePush {
    /// The sim's handle for approving it (never drawn).
    pub state_token: String,
    /// The user it was sent to.
    pub user_id: i64,
    /// The device.
    pub device_id: i64,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// A current authenticator code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneCode {
    /// Which user and device.
    pub label: String,
    /// The device.
    pub device_id: i64,
    /// The user.
    pub user_id: i64,
    /// The code.
    pub code: String,
    /// Seconds until it changes.
    pub seconds_left: u64,
}

/// A OneLogin Protect enrollment waiting for the simulated user's app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneRegistration {
    /// The registration id (`a`/`x` answer it).
    pub id: String,
    /// The user enrolling.
    pub user_id: i64,
    /// Factor and device name.
    pub label: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Everything the phone panel shows.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PhoneSnapshot {
    /// Newest last.
    pub messages: Vec<PhoneMessage>,
    /// Pending pushes.
    pub pushes: Vec<PhonePush>,
    /// Authenticator codes.
    pub codes: Vec<PhoneCode>,
    /// Protect enrollments waiting for the app.
    pub registrations: Vec<PhoneRegistration>,
}

/// What the console asks of the demo phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneCmd {
    /// Read the phone again.
    Refresh,
    /// Approve a push.
    Approve(String),
    /// Deny a push.
    Deny(String),
}
