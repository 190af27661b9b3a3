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
    let codes = open_user_first(p.codes.iter(), |c| c.user_id, open);
    let room = usize::from(right.height).saturating_sub(lines.len());
    let mut entries: Vec<(&crate::app::phone::PhoneCode, Vec<Line>)> = codes
        .into_iter()
        .map(|c| (c, code_lines(c, w, false, theme)))
        .collect();
    // Short of rows for the key and the open user's other codes, the YubiKey drops its own
    // label row: its owner follows the code.
    let mine: usize = entries
        .iter()
        .filter(|(c, _)| !c.touch && Some(c.user_id) == open)
        .map(|(_, l)| l.len())
        .sum();
    if let Some(i) = yubikey(&entries)
        && entries[i].1.len() + mine > room
    {
        entries[i].1 = code_lines(entries[i].0, w, true, theme);
    }
    for i in shown_codes(&entries, open, room) {
        lines.extend(entries[i].1.iter().cloned());
    }
    frame.render_widget(Paragraph::new(lines), right);
}

/// One code's rows: an authenticator code on one row; a YubiKey's owner on one and its long
/// code whole below (it wraps), or, `compact`, the code first with its owner after it.
fn code_lines(
    c: &crate::app::phone::PhoneCode,
    w: usize,
    compact: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    if !c.touch {
        return vec![Line::raw(fit(
            &format!("{} ({}s) {}", c.code, c.seconds_left, c.label),
            w,
        ))];
    }
    let label = format!("{} (YubiKey, touch)", c.label);
    let code: Vec<char> = clean(&c.code).chars().collect();
    if compact {
        let w = w.max(8);
        let mut lines: Vec<Line<'static>> = code
            .chunks(w)
            .map(|chunk| Line::styled(chunk.iter().collect::<String>(), theme.title()))
            .collect();
        let last = code.len() % w;
        let room = if last == 0 { 0 } else { w - last };
        if room > 2
            && let Some(line) = lines.last_mut()
        {
            line.spans
                .push(Span::styled(fit(&format!(" {label}"), room), theme.dim()));
        } else {
            lines.push(Line::raw(fit(&label, w)));
        }
        return lines;
    }
    let mut lines = vec![Line::raw(fit(&label, w))];
    for chunk in code.chunks(w.saturating_sub(2).max(8)) {
        lines.push(Line::styled(
            format!("  {}", chunk.iter().collect::<String>()),
            theme.title(),
        ));
    }
    lines
}

/// The YubiKey the panel keeps in view: the open user's (they lead the list), else the first.
fn yubikey<T>(entries: &[(&crate::app::phone::PhoneCode, T)]) -> Option<usize> {
    entries.iter().position(|(c, _)| c.touch)
}

/// Which codes fit in `room` rows, in their order: one YubiKey first (its code is only of use
/// whole, and it is the longest to copy by hand), then the open user's codes, then the rest
/// while they fit. Never a code cut in half.
fn shown_codes<T>(
    entries: &[(&crate::app::phone::PhoneCode, Vec<T>)],
    open: Option<i64>,
    room: usize,
) -> Vec<usize> {
    let mut chosen = vec![false; entries.len()];
    let mut left = room;
    let mut take = |i: usize, chosen: &mut Vec<bool>| {
        let cost = entries[i].1.len();
        if !chosen[i] && cost <= left {
            chosen[i] = true;
            left -= cost;
        }
    };
    if let Some(i) = yubikey(entries) {
        take(i, &mut chosen);
    }
    for (i, (c, _)) in entries.iter().enumerate() {
        if Some(c.user_id) == open {
            take(i, &mut chosen);
        }
    }
    for i in 0..entries.len() {
        take(i, &mut chosen);
    }
    (0..entries.len()).filter(|&i| chosen[i]).collect()
}
