//! Dialogs drawn over the panes: enroll, trigger, verify, remove, token, error, help, audit.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use tui_input::Input;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::text::{clean, fit, relative, stamp};
use super::theme::Theme;
use crate::api::OtpDevice;
use crate::app::dialogs::*;
use crate::app::keymap::{Action, BINDINGS, DIALOG_KEYS, EDIT_KEYS, LEGEND, SEARCH_SYNTAX};
use crate::app::validate::{self, countdown, mask_phone};
use crate::app::walk::{WALKS, WalkDialog, WalkKind, WalkStage};
use crate::app::{App, AuditResult};
use crate::ops::account::{AccountAction, LOGOUT_EFFECT, period};

mod caller;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// The keys a dialog takes right now, for the footer: only what works in its present state.
pub fn keys(app: &App, dialog: &Dialog) -> Vec<(&'static str, &'static str)> {
    match dialog {
        Dialog::Enroll(d) if d.confirm.is_some() => {
            vec![("⏎", "enroll as verified"), ("Esc", "back")]
        }
        Dialog::Enroll(d) => {
            let text = matches!(d.field, EnrollField::Name | EnrollField::Phone);
            form_keys(text)
        }
        Dialog::Trigger(d) => form_keys(d.field != TriggerField::Numeric),
        Dialog::Token(d) if d.issued.is_some() => {
            vec![("c", "copy"), ("⏎", "close"), ("Esc", "close")]
        }
        // Only the keys that work in the focused field (in the reason, letters are text).
        Dialog::Token(d) if d.field == TokenField::Reason => vec![
            ("↑/↓/Tab", "field"),
            ("^U", "clear"),
            ("⏎", "issue"),
            ("Esc", "cancel"),
        ],
        Dialog::Token(d) if d.field == TokenField::Reusable => vec![
            ("j/k/Tab", "field"),
            ("Space", "toggle"),
            ("⏎", "issue"),
            ("Esc", "cancel"),
        ],
        Dialog::Token(_) => vec![
            ("j/k/Tab", "field"),
            ("←/→/Space", "lifetime"),
            ("⏎", "issue"),
            ("Esc", "cancel"),
        ],
        Dialog::Verify(d) => verify_keys(app, d),
        Dialog::Remove(d) if d.button == RemoveButton::Reason => vec![
            // The ticket field takes n as text: it is no key here.
            ("⏎", "remove"),
            ("^U", "clear"),
            ("Tab", "switch button"),
            ("Esc", "cancel"),
        ],
        Dialog::Remove(d) => vec![
            (
                "⏎",
                if d.button == RemoveButton::Remove {
                    "remove"
                } else {
                    "keep"
                },
            ),
            ("Tab/←→", "switch button"),
            ("Esc", "cancel"),
        ],
        Dialog::Account(d) if d.field == AccountField::Reason => vec![
            ("Tab", "next"),
            ("^U", "clear"),
            ("⏎", "to the button"),
            ("Esc", "cancel"),
        ],
        Dialog::Account(d) if d.field == AccountField::Minutes => {
            vec![("←/→", "how long"), ("Tab", "next"), ("Esc", "cancel")]
        }
        Dialog::Account(d) if d.blocked.is_some() => vec![("Esc", "close")],
        Dialog::Account(d) if d.field == AccountField::Confirm => vec![
            ("⏎", account_verb(d)),
            ("Tab/←/→", "switch button"),
            ("Esc", "cancel"),
        ],
        Dialog::Account(_) => vec![
            ("⏎", "cancel"),
            ("Tab/←/→", "switch button"),
            ("Esc", "cancel"),
        ],
        Dialog::Walk(w) => walk_keys(w),
        Dialog::Register(d) if d.ended => vec![("⏎", "close"), ("Esc", "close")],
        Dialog::Register(d) if d.mode == RegisterMode::Protect => vec![
            ("s", "setup key"),
            ("a/x", "demo: accept/deny"),
            ("Esc", "stop waiting"),
        ],
        Dialog::Register(d) if d.mode == RegisterMode::Authenticator => {
            vec![("⏎", "check code"), ("s", "setup key"), ("Esc", "stop")]
        }
        Dialog::Register(_) => vec![("⏎", "check code"), ("^P", "demo: phone"), ("Esc", "stop")],
        Dialog::SwitchReadOnly(_) => vec![("y", "switch to read-only"), ("n", "not now")],
        // Opened from a guarded change for a user with no device that may prove the caller.
        Dialog::CallerCheck(d) if !d.offered() && d.resume.is_some() => {
            vec![("o", "override"), ("Esc", "back")]
        }
        Dialog::CallerCheck(d) if !d.offered() => vec![("Esc", "close")],
        Dialog::CallerCheck(_) => vec![("j/k", "device"), ("⏎", "check"), ("Esc", "cancel")],
        Dialog::CallerOverride(_) => vec![("⏎", "override"), ("Esc", "cancel")],
        Dialog::Audit { .. } => vec![("j/k", "scroll"), ("/", "filter"), ("Esc", "close")],
        Dialog::Coverage => vec![
            ("←/→", "category"),
            ("j/k", "move"),
            ("⏎", "open user"),
            ("s", "scan"),
            ("r", "reload"),
            ("Esc", "close"),
        ],
        Dialog::History { detail: true, .. } => vec![("j/k", "next/previous"), ("Esc", "back")],
        Dialog::History { .. } => vec![
            ("j/k", "move"),
            ("⏎", "show"),
            ("/", "filter"),
            ("n", "14 days more"),
            ("Esc", "close"),
        ],
        Dialog::Help { .. } => vec![("j/k", "scroll"), ("g/G", "top/end"), ("Esc", "close")],
        _ => vec![("⏎", "dismiss"), ("Esc", "dismiss")],
    }
}

fn form_keys(text_field: bool) -> Vec<(&'static str, &'static str)> {
    let mut keys = vec![("Tab", "next field")];
    keys.push(if text_field {
        ("^U", "clear")
    } else {
        ("Space", "toggle/choose")
    });
    keys.extend([("⏎", "submit"), ("Esc", "cancel")]);
    keys
}

fn verify_keys(app: &App, d: &VerifyDialog) -> Vec<(&'static str, &'static str)> {
    let mut keys = Vec::new();
    let waiting = d.busy.is_some();
    match (&d.stage, d.kind) {
        (VerifyStage::Sending, _) => {}
        (VerifyStage::Confirm, _) => keys.push(("⏎", "send push")),
        (VerifyStage::Expired | VerifyStage::Stopped, _) => keys.push(("⏎", "send again")),
        (VerifyStage::AwaitPush { .. }, _) => {
            keys.push(("⏎", "check now"));
            // Only a push still waiting can be answered on the demo phone.
            keys.push(("a/x", "demo: approve/deny"));
        }
        (VerifyStage::EnterCode, _) if waiting => {}
        (VerifyStage::EnterCode, _) if d.device.needs_trigger => {
            let resend = d.code.resend_ready(app.now);
            keys.push(("⏎", if resend { "send again" } else { "check code" }));
            keys.push(("^U", "clear"));
        }
        (VerifyStage::EnterCode, _) => {
            keys.push(("⏎", "check code"));
            keys.push(("^U", "clear"));
        }
    }
    if d.kind != DeviceKind::Push {
        keys.push(("^P", "demo: phone"));
    }
    let waits = waiting || matches!(d.stage, VerifyStage::AwaitPush { .. });
    keys.push(("Esc", if waits { "stop waiting" } else { "close" }));
    keys
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn walk_keys(w: &WalkDialog) -> Vec<(&'static str, &'static str)> {
    match w.stage {
        WalkStage::Choose => vec![("j/k", "choose"), ("⏎", "start"), ("Esc", "leave")],
        WalkStage::Reason => vec![("⏎", "start"), ("^U", "clear"), ("Esc", "leave")],
        WalkStage::PickLost => vec![
            ("j/k", "choose"),
            ("⏎", "this one is lost"),
            ("Esc", "leave"),
        ],
        WalkStage::Steps => {
            let caller = w
                .steps
                .get(w.current)
                .is_some_and(|s| s.title == "Check the caller");
            let mut keys = vec![("⏎", "run this step"), ("s", "skip")];
            if caller {
                keys.push(("o", "override"));
            }
            keys.push(("Esc", "leave"));
            keys
        }
    }
}

/// The walkthrough dialog: the choice, the reason, the lost device, or the current step.
fn draw_walk(app: &App, w: &WalkDialog, f: &mut Form<'_>, theme: &Theme) {
    let inner_w = f.width;
    match w.stage {
        WalkStage::Choose => {
            f.text(fit(
                &format!("Walkthroughs for {}:", w.target.user_label),
                inner_w,
            ));
            f.blank();
            for (i, k) in WALKS.iter().enumerate() {
                let style = if i == w.selected {
                    theme.selected()
                } else {
                    theme.text()
                };
                let mark = if i == w.selected { ">" } else { " " };
                f.styled(format!("{mark} {}", k.title()), style);
            }
            f.blank();
            f.styled(
                "Each step opens the console's own dialog: nothing is done without its confirm.",
                theme.dim(),
            );
        }
        WalkStage::Reason => {
            f.text(fit(
                &format!("{} · {}", w.kind.title(), w.target.user_label),
                inner_w,
            ));
            f.text("Ticket or reason for this call, asked once: every audit line of the");
            f.text("walkthrough carries it, with one case id.");
            f.blank();
            f.input("Ticket/reason", &w.reason, true, None);
        }
        WalkStage::PickLost => {
            f.text("Which device is lost or replaced?");
            f.text("It is never offered for the caller check.");
            f.blank();
            let devices = app
                .user
                .as_ref()
                .and_then(|u| u.devices.clone())
                .unwrap_or_default();
            for (i, d) in devices.iter().enumerate() {
                let style = if i == w.selected {
                    theme.selected()
                } else {
                    theme.text()
                };
                let mark = if i == w.selected { ">" } else { " " };
                f.styled(fit(&format!("{mark} {}", device_text(d)), inner_w), style);
            }
        }
        WalkStage::Steps => {
            let Some(step) = w.steps.get(w.current) else {
                return;
            };
            f.styled(
                format!(
                    "Step {} of {}: {}",
                    w.current + 1,
                    w.steps.len(),
                    step.title
                ),
                theme.title(),
            );
            f.blank();
            for line in walk_step_text(app, w) {
                f.text(line);
            }
            if step.mark == crate::app::walk::Mark::Failed {
                f.blank();
                f.styled(
                    format!(
                        "✗ Failed: {}. Enter tries again, s skips.",
                        step.note.as_deref().unwrap_or("see the status line")
                    ),
                    theme.danger(),
                );
            }
        }
    }
    f.error(&w.error);
}

/// What the current step does, in the agent's words.
fn walk_step_text(app: &App, w: &WalkDialog) -> Vec<String> {
    let lost = w.lost.as_ref().map(device_text).unwrap_or_default();
    let title = w.steps.get(w.current).map_or("", |s| s.title);
    match (w.kind, title) {
        (WalkKind::LostDevice, "Check the caller") => vec![
            format!("Enter checks the caller on a device other than the lost {lost}."),
            "No other device: o overrides with a reason (manager callback to +1 …).".into(),
        ],
        (WalkKind::LostDevice, "Remove the lost device") => {
            vec![format!(
                "Enter opens the removal of {lost}; confirm it on its button."
            )]
        }
        (_, "Sign out everywhere") | (_, "Sign out (unknown addresses)") => {
            let mut v = Vec::new();
            if w.kind == WalkKind::LockedOut {
                let events = app
                    .activity
                    .as_ref()
                    .and_then(|a| a.events.as_deref())
                    .unwrap_or(&[]);
                let story = crate::ops::account::lock_story(events, app.now);
                let from: Vec<String> = story
                    .addresses
                    .iter()
                    .map(|(ip, n)| format!("{} ({n})", clean(ip)))
                    .collect();
                v.push(format!("Failed sign-ins came from {}.", from.join(", ")));
                v.push("Ask the caller: does the user recognise these addresses?".into());
                v.push(
                    "Not recognised: Enter signs the user out everywhere. Recognised: s.".into(),
                );
            } else {
                v.push(
                    "Enter signs the user out everywhere: a session opened with the lost device ends."
                        .into(),
                );
            }
            v.push(LOGOUT_EFFECT.into());
            v
        }
        (_, "Temporary MFA token") => vec![
            "Enter issues a temporary MFA token (read it to the caller once), or s skips.".into(),
        ],
        (_, "Enroll and verify the new device") => vec![
            "Enter enrolls the new device and verifies it while the caller is on the line:".into(),
            "any factor the tenant offers.".into(),
        ],
        (WalkKind::LockedOut, "Why the user is locked") => {
            let mut v = Vec::new();
            if let Some(view) = app.user.as_ref() {
                v.extend(crate::app::lock_reasons(app, &view.user));
            }
            if let Some(a) = app.activity.as_ref() {
                for s in &a.signals {
                    v.push(clean(&s.summary));
                }
            }
            v.push("Enter when the caller has heard why.".into());
            v
        }
        (WalkKind::LockedOut, "Check the caller") => vec![
            "Enter checks the caller on one of the user's devices.".into(),
            "No working device: o overrides with a reason (manager callback to +1 …).".into(),
        ],
        (WalkKind::LockedOut, "Unlock") => {
            vec!["Enter opens the unlock; confirm it on its button.".into()]
        }
        _ => Vec::new(),
    }
}

fn account_verb(d: &AccountDialog) -> &'static str {
    match d.action {
        AccountAction::Unlock => "unlock",
        AccountAction::Logout => "sign out",
        AccountAction::Lock { .. } => "lock",
    }
}

/// The account dialog's body: what happens, why, the options, and the two buttons.
fn draw_account(app: &App, d: &AccountDialog, f: &mut Form<'_>, theme: &Theme) -> &'static str {
    let inner_w = f.width;
    let who = format!("{} (id {})", d.target.user_label, d.target.user_id);
    let title = match d.action {
        AccountAction::Unlock => {
            f.text(fit(&format!("Unlock {who}?"), inner_w));
            if !d.why.is_empty() {
                f.blank();
                f.styled("Why the user is locked:", theme.title());
                for line in &d.why {
                    f.text(format!("  {line}"));
                }
            }
            " Unlock user "
        }
        AccountAction::Logout => {
            f.text(fit(&format!("Sign {who} out everywhere?"), inner_w));
            f.blank();
            f.text(LOGOUT_EFFECT);
            " Sign out everywhere "
        }
        AccountAction::Lock { minutes } => {
            f.text(fit(&format!("Lock {who}?"), inner_w));
            f.text("The user cannot sign in until the lock ends or someone unlocks them.");
            f.blank();
            let label = match minutes {
                0 => "policy's period".to_owned(),
                m => period(m),
            };
            f.choice("For", &label, d.field == AccountField::Minutes);
            " Lock user "
        }
    };
    if let Some(r) = &d.reason {
        f.blank();
        f.input("Ticket/reason", r, d.field == AccountField::Reason, None);
    }
    if let Some(b) = &d.blocked {
        f.blank();
        f.styled(format!("! {b}"), theme.danger());
    }
    f.blank();
    let (c, a) = match d.field {
        AccountField::Confirm => (theme.text(), theme.danger().patch(theme.selected())),
        AccountField::Cancel => (theme.selected(), theme.danger()),
        _ => (theme.text(), theme.danger()),
    };
    let cm = if d.field == AccountField::Cancel {
        ">"
    } else {
        " "
    };
    let am = if d.field == AccountField::Confirm {
        ">"
    } else {
        " "
    };
    f.lines.push(Line::from(vec![
        Span::raw("   "),
        Span::styled(format!("{cm}[ Cancel ]"), c),
        Span::raw("   "),
        Span::styled(format!("{am}[ {} ]", d.verb()), a),
    ]));
    f.error(&d.error);
    let doing = match d.action {
        AccountAction::Unlock => "Unlocking…",
        AccountAction::Logout => "Signing out…",
        AccountAction::Lock { .. } => "Locking…",
    };
    f.busy(d.busy.is_some(), app.spinner, doing);
    title
}

fn device_text(d: &OtpDevice) -> String {
    let mut s = clean(&d.label());
    if let Some(p) = &d.phone_number {
        s.push_str(&format!(" {}", mask_phone(p)));
    }
    s
}

/// A dialog being laid out: lines, plus where the text cursor goes.
struct Form<'a> {
    lines: Vec<Line<'a>>,
    cursor: Option<(u16, u16)>,
    width: usize,
    theme: Theme,
}

impl<'a> Form<'a> {
    fn new(width: usize, theme: &Theme) -> Self {
        Self {
            lines: Vec::new(),
            cursor: None,
            width,
            theme: *theme,
        }
    }

    fn text(&mut self, s: impl Into<String>) {
        self.lines.push(Line::raw(s.into()));
    }

    fn styled(&mut self, s: impl Into<String>, style: Style) {
        self.lines.push(Line::styled(s.into(), style));
    }

    fn blank(&mut self) {
        self.lines.push(Line::raw(""));
    }

    fn label(&self, name: &str, focused: bool) -> Vec<Span<'a>> {
        let mark = if focused { "> " } else { "  " };
        let style = if focused {
            self.theme.title()
        } else {
            self.theme.text()
        };
        vec![Span::styled(format!("{mark}{name:<14}"), style)]
    }

    fn input(&mut self, name: &str, input: &Input, focused: bool, hint: Option<(String, Style)>) {
        let mut spans = self.label(name, focused);
        let width = self.width.saturating_sub(18).max(4);
        let scroll = input.visual_scroll(width);
        let shown: String = input.value().chars().skip(scroll).collect();
        let style = if focused {
            self.theme.selected()
        } else {
            self.theme.text()
        };
        spans.push(Span::styled(
            format!("{:<width$}", fit(&shown, width)),
            style,
        ));
        if focused {
            let x = 16 + input.visual_cursor().saturating_sub(scroll) as u16;
            self.cursor = Some((x, self.lines.len() as u16));
        }
        self.lines.push(Line::from(spans));
        if let Some((h, s)) = hint {
            self.lines
                .push(Line::styled(format!("{:16}{}", "", fit(&h, width)), s));
        }
    }

    fn toggle(&mut self, name: &str, on: bool, focused: bool, words: (&str, &str)) {
        let mut spans = self.label(name, focused);
        let mark = if on { "[x] " } else { "[ ] " };
        let style = if focused {
            self.theme.selected()
        } else {
            self.theme.text()
        };
        spans.push(Span::styled(
            format!("{mark}{}", if on { words.0 } else { words.1 }),
            style,
        ));
        self.lines.push(Line::from(spans));
    }

    fn choice(&mut self, name: &str, value: &str, focused: bool) {
        let mut spans = self.label(name, focused);
        let style = if focused {
            self.theme.selected()
        } else {
            self.theme.text()
        };
        spans.push(Span::styled(
            format!("◂ {} ▸", fit(value, self.width.saturating_sub(22))),
            style,
        ));
        self.lines.push(Line::from(spans));
    }

    fn error(&mut self, error: &Option<String>) {
        if let Some(e) = error {
            self.blank();
            self.styled(format!("! {e}"), self.theme.danger());
        }
    }

    fn busy(&mut self, busy: bool, spinner: usize, what: &str) {
        if busy {
            self.blank();
            self.styled(
                format!("{} {what}", SPINNER[spinner % SPINNER.len()]),
                self.theme.dim(),
            );
        }
    }
}

/// Draws the top dialog.
pub fn draw(app: &App, dialog: &Dialog, frame: &mut Frame, area: Rect, theme: &Theme) {
    // Dialogs grow with the terminal, up to 100 columns, so text is not cut where there is room.
    let width = area.width.saturating_sub(4).min(100);
    let inner_w = width.saturating_sub(2) as usize;
    let mut f = Form::new(inner_w, theme);
    let history_title: String;
    let (title, danger) = match dialog {
        Dialog::Enroll(d) if d.confirm.is_some() => {
            signals_block(app, d.target.user_id, &mut f, inner_w);
            let number = validate::normalize_phone(d.phone.value());
            let factor = d.factors.get(d.factor).map_or("—", |x| x.name.as_str());
            f.text(fit(
                &format!("Enroll {} as already verified", clean(&number)),
                inner_w,
            ));
            f.text(fit(
                &format!("({factor}) for {}?", d.target.user_label),
                inner_w,
            ));
            f.blank();
            for line in [
                "! The number will not be checked: no code is sent,",
                "  and the device is active at once.",
                "  Go on only if you know the number is the user's.",
            ] {
                f.styled(fit(line, inner_w), theme.danger());
            }
            if let Some(confirm) = &d.confirm {
                if let Some(r) = &confirm.reason {
                    f.blank();
                    f.input("Ticket/reason", r, true, None);
                }
                f.error(&confirm.error);
            }
            f.error(&d.error);
            f.blank();
            f.styled("Enter enrolls it as verified · Esc goes back", theme.dim());
            f.busy(d.busy.is_some(), app.spinner, "Enrolling…");
            (" Enroll · confirm ", true)
        }
        Dialog::Enroll(d) => {
            let factor = d.factors.get(d.factor).map_or("—", |x| x.name.as_str());
            let what = if d.needs_phone() {
                "a phone"
            } else {
                "a factor"
            };
            f.text(fit(
                &format!("Enroll {what} for {}", d.target.user_label),
                inner_w,
            ));
            f.blank();
            f.choice("Factor", factor, d.field == EnrollField::Factor);
            f.input("Display name", &d.name, d.field == EnrollField::Name, None);
            if d.needs_phone() {
                let hint = match validate::e164(&validate::normalize_phone(d.phone.value())) {
                    Ok(()) => ("✓ valid E.164 number".to_owned(), theme.ok()),
                    Err(e) if d.phone.value().is_empty() => (e, theme.dim()),
                    Err(e) => (format!("✗ {e}"), theme.danger()),
                };
                f.input(
                    "Phone number",
                    &d.phone,
                    d.field == EnrollField::Phone,
                    Some(hint),
                );
            }
            if d.may_preverify() {
                let words = if d.needs_phone() {
                    (
                        "already verified: active at once",
                        "no: send a code and verify now",
                    )
                } else {
                    (
                        "address verified: active at once",
                        "no: email a code and verify now",
                    )
                };
                f.toggle(
                    "Verified",
                    d.verified,
                    d.field == EnrollField::Verified,
                    words,
                );
            } else {
                let lower = factor.to_ascii_lowercase();
                f.blank();
                f.styled(
                    fit(
                        if lower.contains("protect") {
                            "Next: a QR code to scan in OneLogin Protect; the app accepts."
                        } else {
                            "Next: a QR code for the user's authenticator app; type its first code."
                        },
                        inner_w,
                    ),
                    theme.dim(),
                );
            }
            f.error(&d.error);
            f.busy(d.busy.is_some(), app.spinner, "Enrolling…");
            (" Enroll ", false)
        }
        Dialog::Trigger(d) => {
            f.text(fit(
                &format!(
                    "Send to {} of {}",
                    device_text(&d.device),
                    d.target.user_label
                ),
                inner_w,
            ));
            f.blank();
            f.input(
                "Valid for (s)",
                &d.expires_in,
                d.field == TriggerField::ExpiresIn,
                Some(("120–900 seconds".into(), theme.dim())),
            );
            if d.fields().len() > 1 {
                f.toggle(
                    "Numeric code",
                    d.numeric,
                    d.field == TriggerField::Numeric,
                    ("6 digits", "letters and digits (default)"),
                );
                let secs = validate::state_token_expires_in(d.expires_in.value()).unwrap_or(120);
                let len = validate::sms_length(d.template.value(), d.numeric, secs);
                let hint = if d.template.value().is_empty() {
                    (
                        "default text · {{otp_code}} {{expiration}}".to_owned(),
                        theme.dim(),
                    )
                } else if len > validate::SMS_MAX {
                    (
                        format!("{len}/{} characters — too long", validate::SMS_MAX),
                        theme.danger(),
                    )
                } else {
                    (
                        format!("{len}/{} characters", validate::SMS_MAX),
                        theme.dim(),
                    )
                };
                f.input(
                    "SMS text",
                    &d.template,
                    d.field == TriggerField::Template,
                    Some(hint),
                );
            }
            f.error(&d.error);
            f.busy(d.busy.is_some(), app.spinner, "Sending…");
            (" Trigger ", false)
        }
        Dialog::Verify(d) => {
            let check = d.is_check();
            let who = if check { "caller" } else { "user" };
            if check {
                f.text(fit(
                    &format!(
                        "Is the caller {} (id {})?",
                        clean(&d.target.user_label),
                        d.target.user_id
                    ),
                    inner_w,
                ));
                if d.stage != VerifyStage::EnterCode {
                    f.text(fit(
                        &format!("Checking with {}.", device_text(&d.device)),
                        inner_w,
                    ));
                }
            } else {
                f.text(fit(
                    &format!(
                        "Verify {} of {}",
                        device_text(&d.device),
                        d.target.user_label
                    ),
                    inner_w,
                ));
            }
            f.blank();
            let left = d.expires_at.map(|t| (t - app.now).num_seconds());
            match &d.stage {
                VerifyStage::Confirm => {
                    f.text(fit(
                        &format!("Send a push to {}?", device_text(&d.device)),
                        inner_w,
                    ));
                    f.styled(
                        "The user's phone buzzes; Enter sends, Esc cancels.",
                        theme.dim(),
                    );
                }
                VerifyStage::Sending => f.styled(
                    format!(
                        "{} Sending {}…",
                        SPINNER[app.spinner % SPINNER.len()],
                        match d.kind {
                            DeviceKind::Voice => "the call",
                            DeviceKind::Push => "the push",
                            _ => "the code",
                        }
                    ),
                    theme.dim(),
                ),
                VerifyStage::EnterCode => {
                    if check {
                        f.text(d.code.factor.ask(who, &device_text(&d.device)));
                    }
                    f.input("Code", &d.code.input, d.busy.is_none(), None);
                    if let Some(left) = left {
                        f.styled(
                            format!("{:16}expires in {}", "", countdown(left)),
                            if left < 30 { theme.warn() } else { theme.dim() },
                        );
                    }
                    let (sent, hint) = d.code.lines(app.now);
                    if let Some(sent) = sent {
                        f.styled(fit(&format!("{:16}{sent}", ""), inner_w), theme.dim());
                    }
                    let mut hints: Vec<String> = hint.into_iter().collect();
                    if app.tenant.demo && !app.phone_visible {
                        hints.push("Demo: Ctrl-P shows the demo phone with the code.".into());
                    }
                    if !hints.is_empty() {
                        f.blank();
                    }
                    for h in hints {
                        f.styled(fit(&h, inner_w), theme.dim());
                    }
                }
                VerifyStage::AwaitPush { .. } => {
                    f.styled(
                        format!(
                            "{} Waiting for the {who} to approve the push…",
                            SPINNER[app.spinner % SPINNER.len()]
                        ),
                        theme.warn(),
                    );
                    if let Some(left) = left {
                        f.styled(
                            format!("expires in {} · Esc stops waiting", countdown(left)),
                            theme.dim(),
                        );
                    }
                }
                VerifyStage::Expired => {
                    f.styled("The code has expired. Enter sends a new one.", theme.warn())
                }
                VerifyStage::Stopped => f.styled("Stopped. Enter sends again.", theme.warn()),
            }
            f.error(&d.error);
            if d.stage == VerifyStage::EnterCode {
                f.busy(d.busy.is_some(), app.spinner, "Checking…");
            }
            (
                if d.guided {
                    " Enroll · verify "
                } else if check {
                    " Check caller "
                } else {
                    " Verify "
                },
                false,
            )
        }
        Dialog::Remove(d) => {
            signals_block(app, d.target.user_id, &mut f, inner_w);
            f.text(fit(&format!("Remove {}", device_text(&d.device)), inner_w));
            f.text(fit(
                &format!("from {} (id {})?", d.target.user_label, d.target.user_id),
                inner_w,
            ));
            if d.last {
                f.blank();
                f.styled(
                    "! This is the user's last device: they will have no MFA factor left.",
                    theme.danger(),
                );
            }
            if d.device.default {
                f.styled("! This is the user's default device.", theme.danger());
            }
            if let Some(r) = &d.reason {
                f.blank();
                f.input("Ticket/reason", r, d.button == RemoveButton::Reason, None);
            }
            f.blank();
            let (c, r) = match d.button {
                RemoveButton::Remove => (theme.text(), theme.danger().patch(theme.selected())),
                RemoveButton::Cancel => (theme.selected(), theme.danger()),
                RemoveButton::Reason => (theme.text(), theme.danger()),
            };
            let cm = if d.button == RemoveButton::Cancel {
                ">"
            } else {
                " "
            };
            let rm = if d.button == RemoveButton::Remove {
                ">"
            } else {
                " "
            };
            f.lines.push(Line::from(vec![
                Span::raw("   "),
                Span::styled(format!("{cm}[ Cancel (n) ]"), c),
                Span::raw("   "),
                Span::styled(format!("{rm}[ Remove ]"), r),
            ]));
            f.error(&d.error);
            f.busy(d.busy.is_some(), app.spinner, "Removing…");
            (" Remove device ", true)
        }
        Dialog::Account(d) => (draw_account(app, d, &mut f, theme), true),
        Dialog::Walk(w) => {
            draw_walk(app, w, &mut f, theme);
            // The list is "Walkthroughs"; once one is chosen, its own name.
            match w.stage {
                WalkStage::Choose => (" Walkthroughs ", false),
                _ => (" Walkthrough ", false),
            }
        }
        Dialog::Token(d) => {
            match &d.issued {
                Some(t) => {
                    f.text(fit(
                        &format!("Temporary MFA token for {}", d.target.user_label),
                        inner_w,
                    ));
                    f.blank();
                    f.styled(
                        format!("    {}", clean(t.mfa_token.expose())),
                        theme.title().patch(theme.ok()),
                    );
                    f.blank();
                    if let Some(exp) = t.expires_at {
                        let local = exp.with_timezone(&chrono::Local);
                        f.text(format!(
                            "Expires {} local time (UTC{}) · {} · {}",
                            local.format("%Y-%m-%d %H:%M"),
                            local.format("%:z"),
                            stamp(exp),
                            relative(exp, app.now)
                        ));
                    }
                    f.text(if t.reusable {
                        "Reusable until it expires."
                    } else {
                        "Single use."
                    });
                    f.blank();
                    f.styled(
                        "Shown once: it is not logged and will not be shown again.",
                        theme.warn(),
                    );
                    if d.copied {
                        f.styled("Sent to the terminal's clipboard (OSC 52).", theme.ok());
                    }
                }
                None => {
                    signals_block(app, d.target.user_id, &mut f, inner_w);
                    f.text(fit(
                        &format!("Issue a temporary MFA token for {}", d.target.user_label),
                        inner_w,
                    ));
                    f.blank();
                    let preset = TOKEN_PRESETS.get(d.preset).map_or("—", |p| p.0);
                    f.choice("Valid for", preset, d.field == TokenField::ExpiresIn);
                    f.toggle(
                        "Reusable",
                        d.reusable,
                        d.field == TokenField::Reusable,
                        ("yes, until it expires", "no, single use"),
                    );
                    if let Some(r) = &d.reason {
                        f.input("Ticket/reason", r, d.field == TokenField::Reason, None);
                    }
                    f.error(&d.error);
                    f.busy(d.busy.is_some(), app.spinner, "Issuing…");
                }
            }
            (" Temporary MFA token ", false)
        }
        Dialog::CallerCheck(d) => caller::draw_check(d, &mut f, theme),
        Dialog::CallerOverride(d) => caller::draw_override(d, &mut f, theme),
        Dialog::Error(d) => {
            f.styled(clean(&d.context), theme.title());
            f.blank();
            let mut meta = Vec::new();
            if let Some(s) = d.error.status {
                meta.push(format!("HTTP {s}"));
            }
            if let Some(id) = &d.error.request_id {
                meta.push(format!("request id {}", clean(id)));
            }
            if !meta.is_empty() {
                f.text(meta.join(" · "));
            }
            f.styled(clean(&d.error.message), theme.danger());
            if let Some(h) = &d.hint {
                f.blank();
                f.text(h.clone());
            }
            f.blank();
            f.styled("Enter or Esc to dismiss.", theme.dim());
            (d.error.title(), true)
        }
        Dialog::Info(d) => {
            for l in &d.lines {
                f.text(clean(l));
            }
            f.blank();
            f.styled("Enter or Esc to dismiss.", theme.dim());
            (d.title.as_str(), false)
        }
        Dialog::SwitchReadOnly(d) => {
            f.text(format!(
                "{} was refused: Insufficient Permission.",
                d.context
            ));
            f.text("This API credential can only read users.");
            f.blank();
            f.text("Switch this session to read-only mode? (y / n)");
            (" Read-only credential ", false)
        }
        Dialog::Help { .. } => {
            for b in BINDINGS {
                if b.action == Action::Unlock && !app.available(Action::Unlock) {
                    // Offered only while the open user is locked.
                    continue;
                }
                let avail = app.available(b.action) || !b.action.is_mutating();
                let style = if avail { theme.text() } else { theme.dim() };
                let no_check = b.action == crate::app::keymap::Action::CallerCheck
                    && !app.caller_check_allowed();
                let note = if (b.action.is_mutating() && app.tenant.read_only) || no_check {
                    " (read-only)"
                } else {
                    ""
                };
                f.lines.push(Line::from(vec![
                    Span::styled(format!("  {:<7}", b.label), theme.key()),
                    Span::styled(
                        fit(&format!("{}{note}", b.help), inner_w.saturating_sub(9)),
                        style,
                    ),
                ]));
            }
            let tables: [(&str, &[(&str, &str)]); 4] = [
                ("In dialogs", DIALOG_KEYS),
                ("Devices list", LEGEND),
                ("Search", SEARCH_SYNTAX),
                ("Text fields", EDIT_KEYS),
            ];
            for (heading, rows) in tables {
                f.styled(heading, theme.title());
                for (k, v) in rows {
                    f.lines.push(Line::from(vec![
                        Span::styled(format!("  {k:<16}"), theme.key()),
                        Span::raw(fit(v, inner_w.saturating_sub(18))),
                    ]));
                }
            }
            (" Help ", false)
        }
        // Drawn by `register::draw`, which needs more room than a form.
        Dialog::Register(_) => return,
        // Drawn by `coverage::draw`: bars and a list, not a form.
        Dialog::Coverage => return,
        Dialog::Audit { scroll } => {
            let view = &app.audit_view;
            let rows = crate::app::audit_view::rows(app);
            let filter = view.filter.value();
            if view.editing {
                f.input("Filter", &view.filter, true, None);
            } else if filter.is_empty() {
                f.styled("/ filters by user, ticket, operator or tenant", theme.dim());
            } else {
                f.text(fit(&format!("Filter: {filter}  (/ edits)"), inner_w));
            }
            let source = match (&view.entries, &view.error) {
                (Some(_), _) => "whole trail",
                (None, Some(_)) => "this session only",
                (None, None) => "reading the trail file…",
            };
            let mut summary = format!(
                "{} entr{} · newest first · {source}",
                rows.len(),
                if rows.len() == 1 { "y" } else { "ies" }
            );
            if let Some(note) = crate::audit::skipped_note(view.skipped) {
                summary.push_str(&format!(" · {note}"));
            }
            f.styled(fit(&summary, inner_w), theme.dim());
            if let Some(e) = &view.error {
                f.styled(fit(&format!("! {e}"), inner_w), theme.warn());
            }
            if rows.is_empty() {
                f.styled(
                    if filter.is_empty() {
                        "Nothing recorded yet."
                    } else {
                        "No entry matches the filter."
                    },
                    theme.dim(),
                );
            }
            // The tenant column: whole hosts while they take a fifth of the line at most, else
            // each host's first label (an address keeps its port: it tells demo tenants apart).
            let cap = inner_w / 5;
            let whole = rows
                .iter()
                .skip(*scroll)
                .all(|r| r.tenant.chars().count() <= cap);
            let tenant_of = |r: &crate::app::audit_view::AuditRow| {
                if whole {
                    r.tenant.clone()
                } else {
                    short_tenant(&r.tenant)
                }
            };
            let tenant_w = rows
                .iter()
                .skip(*scroll)
                .map(|r| tenant_of(r).chars().count())
                .max()
                .unwrap_or(0)
                .min(cap.max(6));
            for r in rows.iter().skip(*scroll) {
                let outcome = match r.outcome {
                    AuditResult::Attempt => "attempt",
                    AuditResult::Success => "success",
                    AuditResult::Pending => "pending",
                    AuditResult::Failure => "FAILED",
                    AuditResult::Refused => "refused",
                    AuditResult::Overridden => "overridden",
                    AuditResult::Unknown => "UNKNOWN",
                };
                let style = match r.outcome {
                    AuditResult::Failure | AuditResult::Refused | AuditResult::Unknown => {
                        theme.danger()
                    }
                    AuditResult::Success => theme.ok(),
                    _ => theme.text(),
                };
                let outcome = match r.http_status {
                    Some(s) => format!("{outcome} {s}"),
                    None => outcome.to_owned(),
                };
                f.lines.push(Line::from(vec![
                    Span::raw(format!("{} ", r.time.format("%Y-%m-%d %H:%M:%S"))),
                    Span::styled(
                        format!("{:<tenant_w$} ", fit(&tenant_of(r), tenant_w)),
                        theme.dim(),
                    ),
                    Span::styled(format!("{:<9} {:<11} ", r.action.as_str(), outcome), style),
                    Span::raw(fit(&r.user, inner_w.saturating_sub(43 + tenant_w))),
                ]));
                let mut detail = Vec::new();
                if !r.device.is_empty() {
                    detail.push(r.device.clone());
                }
                if let Some(reason) = &r.reason {
                    detail.push(format!("reason: {reason}"));
                }
                if !r.operator.is_empty() {
                    detail.push(format!("by {}", r.operator));
                }
                if let Some(m) = &r.message {
                    detail.push(m.clone());
                }
                f.styled(
                    fit(&format!("    {}", detail.join(" · ")), inner_w),
                    theme.dim(),
                );
            }
            (" Audit trail ", false)
        }
        Dialog::History { selected, detail } => {
            let room = usize::from(area.height.saturating_sub(2));
            let (lines, title) =
                super::history::lines(app, *selected, *detail, room, inner_w, theme);
            f.lines.extend(lines);
            history_title = title;
            (history_title.as_str(), false)
        }
    };
    caller::gate_lines(app, dialog, &mut f, theme);
    // Wrap long text here, not in the Paragraph, so the height counts every row drawn.
    let cursor_line = f.cursor.map(|(_, y)| usize::from(y));
    let mut cursor = f.cursor;
    let mut lines = Vec::with_capacity(f.lines.len());
    for (i, line) in f.lines.into_iter().enumerate() {
        if Some(i) == cursor_line
            && let Some((_, y)) = cursor.as_mut()
        {
            *y = lines.len() as u16;
        }
        lines.extend(wrap_line(line, inner_w));
    }
    // Help can be taller than a small terminal: it scrolls with j/k and says so.
    let room = usize::from(area.height.saturating_sub(2));
    let mut title = title.trim().to_owned();
    if let Dialog::Help { scroll } = dialog
        && lines.len() > room
    {
        let start = (*scroll).min(lines.len() - room);
        let total = lines.len();
        lines = lines.into_iter().skip(start).take(room).collect();
        title = format!(
            "{title} · j/k g/G PgUp/PgDn scroll · {}–{} of {total}",
            start + 1,
            start + room
        );
    }
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let border = if danger {
        theme.danger()
    } else {
        theme.focus_border()
    };
    let block = Block::bordered()
        .border_style(border)
        .title(Span::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
    if let Some((x, y)) = cursor
        && y < inner.height
    {
        frame.set_cursor_position(Position::new(
            inner.x + x.min(inner.width.saturating_sub(1)),
            inner.y + y,
        ));
    }
}

/// The open user's signals, repeated above a risky change's confirm (nothing when none holds).
fn signals_block(app: &App, user_id: i64, f: &mut Form, width: usize) {
    let Some(a) = app
        .activity
        .as_ref()
        .filter(|a| a.user_id == user_id && !a.signals.is_empty())
    else {
        return;
    };
    f.styled("Signals on this account:", f.theme.danger());
    for s in &a.signals {
        f.styled(
            fit(&format!("  {}", clean(&s.summary)), width),
            f.theme.danger(),
        );
    }
    f.blank();
}

/// Breaks a one-style line wider than `width` at spaces (cutting words longer than a row).
fn wrap_line(line: Line<'_>, width: usize) -> Vec<Line<'_>> {
    let uniform = line.spans.windows(2).all(|w| w[0].style == w[1].style);
    if width == 0 || line.width() <= width || !uniform {
        return vec![line];
    }
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let span_style = line.spans.first().map(|s| s.style).unwrap_or_default();
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        if used > 0 && used + 1 + word.width() > width {
            rows.push(std::mem::take(&mut row));
            used = 0;
        }
        if used > 0 {
            row.push(' ');
            used += 1;
        }
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            row.push(c);
            used += w;
        }
    }
    rows.push(row);
    rows.into_iter()
        .map(|r| Line::from(Span::styled(r, span_style)).style(line.style))
        .collect()
}

/// A tenant's short name for a narrow audit view: a domain's first label (`acme`), an address
/// whole with its port.
fn short_tenant(tenant: &str) -> String {
    let (host, port) = match tenant.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (h.ends_with(']') || !h.contains(':')) =>
        {
            (h, Some(p))
        }
        _ => (tenant, None),
    };
    let is_address = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    let name = if is_address {
        host
    } else {
        host.split('.').next().unwrap_or(host)
    };
    match port {
        Some(p) => format!("{name}:{p}"),
        None => name.to_owned(),
    }
}
