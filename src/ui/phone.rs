//! The demo phone panel: delivered codes, pending pushes, authenticator and YubiKey codes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::text::{clean, fit, relative};
use super::theme::Theme;
use crate::app::App;
use crate::app::validate::mask_phone;

/// Items for the open user first (what the agent is working on), the rest after, order kept.
fn open_user_first<'a, T>(
    items: impl Iterator<Item = &'a T>,
    of: impl Fn(&T) -> i64,
    open: Option<i64>,
) -> Vec<&'a T>
where
    T: 'a,
{
    let (mut mine, rest): (Vec<&T>, Vec<&T>) = items.partition(|i| Some(of(i)) == open);
    mine.extend(rest);
    mine
}

/// Draws the phone panel.
pub fn draw(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.warn())
        .title(Span::styled(" Demo phone (p hides) ", theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // A gap between the columns so the left one's text never runs into the right one's.
    let [msgs, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .spacing(2)
            .areas(inner);
    let open = app.user.as_ref().map(|v| v.user.id);
    let w = msgs.width as usize;
    let p = &app.phone;
    let mut lines = vec![Line::styled("Messages", theme.title())];
    if p.messages.is_empty() {
        lines.push(Line::styled("No SMS or calls yet.", theme.dim()));
    }
    let messages = open_user_first(p.messages.iter().rev(), |m| m.user_id, open);
    for m in messages
        .into_iter()
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
            "{} · {} {} {} ",
            m.who,
            m.channel,
            to,
            relative(m.sent_at, app.now)
        ));
        let used = code.chars().count();
        let head = fit(&head, w.saturating_sub(used));
        let used = used + head.chars().count();
        lines.push(Line::from(vec![
            Span::styled(code, theme.title()),
            Span::styled(head, theme.dim()),
            Span::raw(fit(&m.body, w.saturating_sub(used))),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), msgs);
    let w = right.width as usize;
    let mut lines = vec![Line::styled("Pushes", theme.title())];
    match p.shown_push(open) {
        None => lines.push(Line::styled("No push waiting.", theme.dim())),
        Some(push) => {
            lines.push(Line::styled(
                fit(
                    &format!(
                        "Push expires {} · {}",
                        relative(push.expires_at, app.now),
                        push.who
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
    lines.push(Line::styled(
        "Authenticator and YubiKey codes",
        theme.title(),
    ));
    for c in open_user_first(p.codes.iter(), |c| c.user_id, open) {
        if c.touch {
            // A YubiKey's OTP is long: whose key on one row, the code whole below (it wraps).
            lines.push(Line::raw(fit(&format!("{} (YubiKey, touch)", c.label), w)));
            let code: Vec<char> = clean(&c.code).chars().collect();
            for chunk in code.chunks(w.saturating_sub(2).max(8)) {
                lines.push(Line::styled(
                    format!("  {}", chunk.iter().collect::<String>()),
                    theme.title(),
                ));
            }
        } else {
            lines.push(Line::raw(fit(
                &format!("{} ({}s) {}", c.code, c.seconds_left, c.label),
                w,
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), right);
}
