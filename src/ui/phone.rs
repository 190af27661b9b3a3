//! The demo phone panel: delivered codes, pending pushes, authenticator codes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::text::{clean, fit, relative};
use super::theme::Theme;
use crate::app::App;
use crate::app::validate::mask_phone;

/// Draws the phone panel.
pub fn draw(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.warn())
        .title(Span::styled(" Demo phone (p hides) ", theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [msgs, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(inner);
    let w = msgs.width as usize;
    let p = &app.phone;
    let mut lines = vec![Line::styled("Messages", theme.title())];
    if p.messages.is_empty() {
        lines.push(Line::styled("No SMS or calls yet.", theme.dim()));
    }
    for m in p
        .messages
        .iter()
        .rev()
        .take(msgs.height.saturating_sub(1) as usize)
    {
        let code = clean(&format!("{} ", m.code));
        // An email address is not a phone number: shown as it is.
        let to = if m.channel == "Email" {
            m.to.clone()
        } else {
            mask_phone(&m.to)
        };
        let head = clean(&format!(
            "{} {} {} ",
            m.channel,
            to,
            relative(m.sent_at, app.now)
        ));
        let used = code.chars().count() + head.chars().count();
        lines.push(Line::from(vec![
            Span::styled(code, theme.title()),
            Span::styled(head, theme.dim()),
            Span::raw(fit(&m.body, w.saturating_sub(used))),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), msgs);
    let w = right.width as usize;
    let mut lines = vec![Line::styled("Pushes", theme.title())];
    match p.pushes.last() {
        None => lines.push(Line::styled("No push waiting.", theme.dim())),
        Some(push) => {
            lines.push(Line::styled(
                fit(
                    &format!(
                        "Push for user {} (device {}) · expires {}",
                        push.user_id,
                        push.device_id,
                        relative(push.expires_at, app.now)
                    ),
                    w,
                ),
                theme.warn(),
            ));
            lines.push(Line::from(vec![
                Span::styled("a", theme.key()),
                Span::raw(" approve  "),
                Span::styled("x", theme.key()),
                Span::raw(" deny"),
            ]));
        }
    }
    if let Some(r) = p.registrations.last() {
        lines.push(Line::styled(
            fit(
                &clean(&format!(
                    "Protect enrollment {} · expires {} · a/x in its dialog",
                    r.label,
                    relative(r.expires_at, app.now)
                )),
                w,
            ),
            theme.warn(),
        ));
    }
    lines.push(Line::styled("Authenticators", theme.title()));
    for c in &p.codes {
        // Device 0: an app that scanned a registration's QR code, not yet enrolled.
        let device = if c.device_id == 0 {
            "new".to_owned()
        } else {
            c.device_id.to_string()
        };
        lines.push(Line::raw(fit(
            &clean(&format!(
                "{} {} ({}s) {}",
                c.code, device, c.seconds_left, c.label
            )),
            w,
        )));
    }
    frame.render_widget(Paragraph::new(lines), right);
}
