//! Dialog state: one struct per dialog, each with the fields in Tab order.

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::api::{ApiError, AuthFactor, MfaToken, OtpDevice, Secret, UserId};
use crate::worker::RequestId;

/// Feeds a key to a text input; true when the input used it.
pub fn edit(input: &mut Input, key: &KeyEvent) -> bool {
    match to_input_request(&Event::Key(*key)) {
        Some(req) => {
            input.handle(req);
            true
        }
        None => false,
    }
}

/// Clears a "selected" prefilled value when the first key would replace it, as a selected
/// text field does: a typed character replaces it, Backspace or Delete clears it; any other
/// key keeps it for editing. Returns true when the key was used up (the clearing itself).
pub fn replace_if_fresh(input: &mut Input, fresh: &mut bool, key: &KeyEvent) -> bool {
    if !std::mem::take(fresh) {
        return false;
    }
    let typing = matches!(key.code, KeyCode::Char(_))
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if typing || matches!(key.code, KeyCode::Backspace | KeyCode::Delete) {
        input.reset();
        return !typing;
    }
    false
}

/// How a device is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// A text message with a code (needs a trigger).
    Sms,
    /// A phone call that reads a code (needs a trigger).
    Voice,
    /// A push the user approves (needs a trigger, then polling).
    Push,
    /// A code the user reads from an app or key (no trigger).
    Code,
}

impl DeviceKind {
    /// Classifies a device by `needs_trigger` first; names only tell SMS from voice.
    pub fn of(device: &OtpDevice) -> Self {
        if !device.needs_trigger {
            return Self::Code;
        }
        let name = device.auth_factor_name.to_ascii_lowercase();
        if device.phone_number.is_none() && !name.contains("sms") && !name.contains("voice") {
            Self::Push
        } else if name.contains("voice") {
            Self::Voice
        } else {
            Self::Sms
        }
    }
}

/// Who and what a dialog acts on, for its text and the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The user id.
    pub user_id: UserId,
    /// The user's name, for the dialog text.
    pub user_label: String,
    /// The user's email, for the audit trail.
    pub user_email: Option<String>,
}

/// The enroll dialog's fields, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollField {
    /// Which factor.
    Factor,
    /// The device's name.
    Name,
    /// The phone number.
    Phone,
    /// "Already verified".
    Verified,
}

/// Enroll a phone: factor, name, number, verified.
#[derive(Clone, Debug)]
pub struct EnrollDialog {
    /// Whose device.
    pub target: Target,
    /// Factors that can be enrolled.
    pub factors: Vec<AuthFactor>,
    /// The chosen factor.
    pub factor: usize,
    /// The device's name.
    pub name: Input,
    /// The phone number.
    pub phone: Input,
    /// Pre-verified number: the device is active at once.
    pub verified: bool,
    /// The focused field.
    pub field: EnrollField,
    /// A problem to show under the form.
    pub error: Option<String>,
    /// The enroll (or the follow-up device check) in flight.
    pub busy: Option<RequestId>,
    /// "Already verified" was asked for: the second confirmation is shown.
    pub confirm: Option<EnrollConfirm>,
}

/// The second confirmation of an enrollment marked already verified (no code checks it).
#[derive(Clone, Debug, Default)]
pub struct EnrollConfirm {
    /// A reason or ticket, when the profile asks for one.
    pub reason: Option<Input>,
    /// A problem to show.
    pub error: Option<String>,
}

impl EnrollDialog {
    /// The field order for Tab.
    pub const FIELDS: [EnrollField; 4] = [
        EnrollField::Factor,
        EnrollField::Name,
        EnrollField::Phone,
        EnrollField::Verified,
    ];

    /// The chosen factor's name, lower-cased, for deciding which fields apply.
    fn factor_name(&self) -> String {
        self.factors
            .get(self.factor)
            .map(|f| f.name.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// Whether the chosen factor needs a phone number (SMS and voice).
    pub fn needs_phone(&self) -> bool {
        let name = self.factor_name();
        name.contains("sms") || name.contains("voice")
    }

    /// Whether the chosen factor may be pre-verified (spec §3.4: SMS, voice and email only;
    /// an authenticator or Protect always needs the user).
    pub fn may_preverify(&self) -> bool {
        self.needs_phone() || self.factor_name().contains("email")
    }

    /// The fields that apply to the chosen factor, in Tab order.
    pub fn fields(&self) -> Vec<EnrollField> {
        Self::FIELDS
            .into_iter()
            .filter(|f| match f {
                EnrollField::Phone => self.needs_phone(),
                EnrollField::Verified => self.may_preverify(),
                _ => true,
            })
            .collect()
    }
}

/// The trigger dialog's fields, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerField {
    /// state_token_expires_in.
    ExpiresIn,
    /// numeric_sms_otp.
    Numeric,
    /// sms_message.
    Template,
}

/// Trigger options that a re-send reuses.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TriggerOptions {
    /// Seconds the state token lives.
    pub expires_in: Option<u32>,
    /// Numeric SMS code.
    pub numeric: Option<bool>,
    /// SMS template.
    pub sms_message: Option<String>,
}

/// Send an SMS, call or push with options.
#[derive(Clone, Debug)]
pub struct TriggerDialog {
    /// Whose device.
    pub target: Target,
    /// The device.
    pub device: OtpDevice,
    /// Seconds the code stays valid (120–900).
    pub expires_in: Input,
    /// The prefilled lifetime is still "selected": typing replaces it.
    pub expires_fresh: bool,
    /// Six-digit numeric code.
    pub numeric: bool,
    /// Optional SMS template.
    pub template: Input,
    /// The focused field.
    pub field: TriggerField,
    /// A problem to show.
    pub error: Option<String>,
    /// The trigger in flight.
    pub busy: Option<RequestId>,
}

impl TriggerDialog {
    /// The fields this device offers, in Tab order (SMS options only for SMS).
    pub fn fields(&self) -> Vec<TriggerField> {
        if DeviceKind::of(&self.device) == DeviceKind::Sms {
            vec![
                TriggerField::ExpiresIn,
                TriggerField::Numeric,
                TriggerField::Template,
            ]
        } else {
            vec![TriggerField::ExpiresIn]
        }
    }
}

/// Where a verification stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyStage {
    /// Sending the SMS, call or push.
    Sending,
    /// Waiting for the code to be typed.
    EnterCode,
    /// Waiting for the push to be approved; the next poll is due at this time.
    AwaitPush {
        /// When to poll next.
        next_poll: DateTime<Utc>,
    },
    /// The state token expired: Enter sends a new one.
    Expired,
    /// The push was denied or stopped: Enter sends a new one.
    Stopped,
}

/// Check a code, or wait for a push.
#[derive(Clone, Debug)]
pub struct VerifyDialog {
    /// Whose device.
    pub target: Target,
    /// The device.
    pub device: OtpDevice,
    /// How it verifies.
    pub kind: DeviceKind,
    /// The state token from the trigger (None for code devices).
    pub state_token: Option<Secret>,
    /// When the state token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The code the user reads out.
    pub code: Input,
    /// Where it stands.
    pub stage: VerifyStage,
    /// A problem to show (the typed code is kept).
    pub error: Option<String>,
    /// The trigger or verify in flight.
    pub busy: Option<RequestId>,
    /// Options for sending again.
    pub options: TriggerOptions,
    /// Part of a guided enrollment.
    pub guided: bool,
    /// When codes were sent for this verification, oldest first.
    pub sends: Vec<DateTime<Utc>>,
    /// The code after a wrong answer is "selected": typing replaces it.
    pub code_fresh: bool,
}

/// The focus in the remove dialog: the reason field (when asked for) and two buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoveButton {
    /// The ticket or reason field.
    Reason,
    /// Keep the device (focused first).
    Cancel,
    /// Remove it.
    Remove,
}

/// Confirm removing a device.
#[derive(Clone, Debug)]
pub struct RemoveDialog {
    /// Whose device.
    pub target: Target,
    /// The device.
    pub device: OtpDevice,
    /// It is the user's last device.
    pub last: bool,
    /// The focused button.
    pub button: RemoveButton,
    /// A reason or ticket, when the profile asks for one.
    pub reason: Option<Input>,
    /// A problem to show.
    pub error: Option<String>,
    /// The removal in flight.
    pub busy: Option<RequestId>,
}

impl RemoveDialog {
    /// The focus order for Tab.
    pub fn fields(&self) -> Vec<RemoveButton> {
        // Cancel first: Tab goes on to the ticket field (when asked for), then Remove.
        let mut f = vec![RemoveButton::Cancel];
        if self.reason.is_some() {
            f.push(RemoveButton::Reason);
        }
        f.push(RemoveButton::Remove);
        f
    }
}

/// The account dialog's fields, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountField {
    /// The Cancel button (focused first).
    Cancel,
    /// Lock only: how long.
    Minutes,
    /// The reason, when the profile asks for one.
    Reason,
    /// The action's button.
    Confirm,
}

/// Confirm an account action: unlock, sign out everywhere, lock.
#[derive(Clone, Debug)]
pub struct AccountDialog {
    /// Whose account.
    pub target: Target,
    /// What is done (a lock carries the minutes chosen).
    pub action: crate::ops::account::AccountAction,
    /// The focused field.
    pub field: AccountField,
    /// A reason or ticket, when the profile asks for one.
    pub reason: Option<Input>,
    /// Why the user is locked (unlock), one line each.
    pub why: Vec<String>,
    /// A problem to show.
    pub error: Option<String>,
    /// The call in flight.
    pub busy: Option<RequestId>,
    /// The credential cannot do this (lock needs Manage All): the button sends nothing.
    pub blocked: Option<String>,
}

impl AccountDialog {
    /// The focus order for Tab.
    pub fn fields(&self) -> Vec<AccountField> {
        let mut f = vec![AccountField::Cancel];
        if matches!(self.action, crate::ops::account::AccountAction::Lock { .. }) {
            f.push(AccountField::Minutes);
        }
        if self.reason.is_some() {
            f.push(AccountField::Reason);
        }
        f.push(AccountField::Confirm);
        f
    }

    /// The button's word: Unlock, Sign out, Lock.
    pub fn verb(&self) -> &'static str {
        match self.action {
            crate::ops::account::AccountAction::Unlock => "Unlock",
            crate::ops::account::AccountAction::Logout => "Sign out",
            crate::ops::account::AccountAction::Lock { .. } => "Lock",
        }
    }
}

/// Lifetimes offered for temporary tokens: (label, seconds).
pub const TOKEN_PRESETS: &[(&str, u32)] = &[
    ("10 minutes", 600),
    ("1 hour", 3_600),
    ("8 hours", 28_800),
    ("24 hours", 86_400),
    ("72 hours (maximum)", 259_200),
];

/// The token dialog's fields, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenField {
    /// expires_in.
    ExpiresIn,
    /// reusable.
    Reusable,
    /// The reason, when asked for.
    Reason,
}

/// Issue a temporary MFA token, then show it once.
#[derive(Clone, Debug)]
pub struct TokenDialog {
    /// For whom.
    pub target: Target,
    /// Index into [`TOKEN_PRESETS`].
    pub preset: usize,
    /// Usable more than once.
    pub reusable: bool,
    /// The focused field.
    pub field: TokenField,
    /// A reason or ticket, when the profile asks for one.
    pub reason: Option<Input>,
    /// A problem to show.
    pub error: Option<String>,
    /// The request in flight.
    pub busy: Option<RequestId>,
    /// The token, once issued: shown in this dialog only, dropped when it closes.
    pub issued: Option<MfaToken>,
    /// The token was copied to the clipboard.
    pub copied: bool,
}

impl TokenDialog {
    /// The fields in Tab order.
    pub fn fields(&self) -> Vec<TokenField> {
        let mut f = vec![TokenField::ExpiresIn, TokenField::Reusable];
        if self.reason.is_some() {
            f.push(TokenField::Reason);
        }
        f
    }
}

/// A failed call: what was being done, status, message, request id.
#[derive(Clone, Debug)]
pub struct ErrorDialog {
    /// What was being done ("Removing the device").
    pub context: String,
    /// The error.
    pub error: ApiError,
    /// An extra hint line.
    pub hint: Option<String>,
}

/// A message that needs acknowledging.
#[derive(Clone, Debug)]
pub struct InfoDialog {
    /// Title.
    pub title: String,
    /// Lines of text.
    pub lines: Vec<String>,
}

/// Offer to switch to read-only mode after a permission refusal.
#[derive(Clone, Debug)]
pub struct SwitchReadOnlyDialog {
    /// What was refused.
    pub context: String,
}

/// The dialogs, one at a time on a stack; the top one takes every key.
#[derive(Clone, Debug)]
pub enum Dialog {
    /// Enroll a phone.
    Enroll(EnrollDialog),
    /// Trigger with options.
    Trigger(TriggerDialog),
    /// Verify a code or push.
    Verify(VerifyDialog),
    /// Remove a device.
    Remove(RemoveDialog),
    /// Temporary MFA token.
    Token(TokenDialog),
    /// Unlock, sign out everywhere, or lock.
    Account(AccountDialog),
    /// A guided walkthrough's checklist.
    Walk(super::walk::WalkDialog),
    /// A failed call.
    Error(ErrorDialog),
    /// A message.
    Info(InfoDialog),
    /// Offer read-only mode.
    SwitchReadOnly(SwitchReadOnlyDialog),
    /// Check the caller with one of the user's active devices.
    CallerCheck(super::caller::CallerCheckDialog),
    /// Skip a required caller check for one change, with a reason.
    CallerOverride(super::caller::OverrideDialog),
    /// A v2 registration: QR code, first code or the app's acceptance.
    Register(RegisterDialog),
    /// Key help.
    Help {
        /// First row shown.
        scroll: usize,
    },
    /// This session's audit trail.
    Audit {
        /// First row shown.
        scroll: usize,
    },
    /// The tenant's MFA coverage (`R`): summary bars and the highlighted category's users.
    Coverage,
    /// The open user's activity (`h`): one event a line, newest first.
    History {
        /// The selected row.
        selected: usize,
        /// The selected event is shown whole.
        detail: bool,
    },
}

impl Dialog {
    /// The request this dialog waits for, if any.
    pub fn busy(&self) -> Option<RequestId> {
        match self {
            Dialog::Enroll(d) => d.busy,
            Dialog::Trigger(d) => d.busy,
            Dialog::Verify(d) => d.busy,
            Dialog::Remove(d) => d.busy,
            Dialog::Token(d) => d.busy,
            Dialog::Account(d) => d.busy,
            Dialog::CallerCheck(d) => d.busy,
            Dialog::Register(d) => d.busy,
            _ => None,
        }
    }
}

/// How a v2 registration is completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterMode {
    /// An authenticator app scans the QR code; the agent types its first code.
    Authenticator,
    /// OneLogin Protect scans the QR code and accepts; the dialog polls.
    Protect,
    /// A code was sent (SMS, voice, email); the agent types it.
    Code,
}

/// A pending v2 registration on screen. It holds the `otpauth://` URI (a secret) only while
/// open: closing the dialog drops it.
#[derive(Clone, Debug)]
pub struct RegisterDialog {
    /// Whose device.
    pub target: Target,
    /// The registration (its `totp_url` is shown as a QR code, never logged).
    pub registration: crate::api::Registration,
    /// The factor's name as the enroll dialog offered it.
    pub factor: String,
    /// How it completes.
    pub mode: RegisterMode,
    /// The code typed.
    pub code: Input,
    /// The setup key is shown (after `s`).
    pub show_key: bool,
    /// A problem to show under the QR code.
    pub error: Option<String>,
    /// The verify or poll in flight.
    pub busy: Option<RequestId>,
    /// When the registration expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Next poll (Protect).
    pub next_poll: Option<DateTime<Utc>>,
    /// The registration ended (rejected or expired): only Esc is left.
    pub ended: bool,
}

/// Account and issuer named by an `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…` URI, and
/// its setup key (the base32 secret).
pub fn otpauth_parts(uri: &str) -> (Option<String>, Option<String>, Option<String>) {
    let Ok(url) = url::Url::parse(uri) else {
        return (None, None, None);
    };
    let label = url.path().trim_start_matches('/');
    let label = percent_decode(label);
    let (label_issuer, account) = match label.split_once(':') {
        Some((i, a)) => (Some(i.trim().to_owned()), Some(a.trim().to_owned())),
        None => (None, Some(label.trim().to_owned())),
    };
    let mut issuer = label_issuer;
    let mut secret = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "issuer" => issuer = Some(v.into_owned()),
            "secret" => secret = Some(v.into_owned()),
            _ => {}
        }
    }
    (account.filter(|a| !a.is_empty()), issuer, secret)
}

/// Decodes `%XX` escapes (invalid ones are kept as written).
fn percent_decode(s: &str) -> String {
    let bytes: Vec<u8> = url::form_urlencoded::parse(s.replace('+', "%2B").as_bytes())
        .map(|(k, v)| {
            if v.is_empty() {
                k.into_owned()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Moves to the next (or previous) item of a field list.
pub fn cycle<T: PartialEq + Copy>(fields: &[T], current: T, back: bool) -> T {
    let i = fields.iter().position(|f| *f == current).unwrap_or(0);
    let n = fields.len().max(1);
    let j = if back { (i + n - 1) % n } else { (i + 1) % n };
    fields.get(j).copied().unwrap_or(current)
}

#[cfg(test)]
mod tests {
    use super::otpauth_parts;

    #[test]
    fn otpauth_names_account_issuer_and_key() {
        let (account, issuer, key) = otpauth_parts(
            "otpauth://totp/OneLogin:kelly%40acme.example?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20IT",
        );
        assert_eq!(account.as_deref(), Some("kelly@acme.example"));
        assert_eq!(
            issuer.as_deref(),
            Some("Acme IT"),
            "the issuer parameter wins"
        );
        assert_eq!(key.as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert_eq!(otpauth_parts("not a uri"), (None, None, None));
    }
}
