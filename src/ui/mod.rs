//! Pure rendering of the console state into a ratatui frame.

mod coverage;
mod dialogs;
mod history;
mod panes;
mod phone;
pub mod qr;
mod register;
pub mod text;
pub mod theme;
mod walk;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::dialogs::Dialog;
use crate::app::keymap::BINDINGS;
use crate::app::{App, StatusKind};
use text::fit;
use theme::Theme;

/// The smallest terminal the layout works in.
pub const MIN_SIZE: (u16, u16) = (60, 16);

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Draws the whole console.
pub fn view(app: &App, frame: &mut Frame) {
    let theme = Theme { color: app.colors };
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(frame, area, &theme);
        return;
    }
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(app, frame, header, &theme);
    let full_body = body;
    let body = if app.phone_visible && app.tenant.demo {
        // A tall terminal gives the phone room for every code; a short one keeps the panes.
        let phone_rows = if body.height >= 30 { 12 } else { 9 };
        let [top, bottom] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(phone_rows)]).areas(body);
        phone::draw(app, frame, bottom, &theme);
        top
    } else {
        body
    };
    let users_width = panes::users_width(app, body);
    let [left, right] =
        Layout::horizontal([Constraint::Length(users_width), Constraint::Min(20)]).areas(body);
    panes::draw_users(app, frame, left, &theme);
    panes::draw_user(app, frame, right, &theme);
    draw_status(app, frame, status, &theme);
    draw_footer(app, frame, footer, &theme);
    // A walkthrough's checklist stays on the left; the step's dialog opens beside it.
    let body = match walk::running(app) {
        Some(w) if !matches!(app.dialogs.last(), Some(Dialog::Register(d)) if d.registration.totp_url.is_some()) =>
        {
            let [list, rest] =
                Layout::horizontal([Constraint::Length(walk::width(body)), Constraint::Min(20)])
                    .areas(body);
            walk::draw_checklist(w, frame, list, &theme);
            rest
        }
        _ => body,
    };
    match app.dialogs.last() {
        // A QR code needs every row between header and footer, the phone panel's too.
        Some(Dialog::Register(d)) if d.registration.totp_url.is_some() => {
            register::draw(app, d, frame, full_body, &theme)
        }
        Some(Dialog::Register(d)) => register::draw(app, d, frame, body, &theme),
        Some(Dialog::Coverage) => coverage::draw(app, frame, full_body, &theme),
        Some(top) => dialogs::draw(app, top, frame, body, &theme),
        None => {}
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = vec![
        Line::styled("Terminal too small", theme.title()),
        Line::raw(format!(
            "mfadesk needs at least {}×{}; this one is {}×{}.",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        )),
        Line::raw("Enlarge the window, or press Ctrl-C to exit."),
    ];
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let rect = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let t = &app.tenant;
    let mut right = String::new();
    if let Some(v) = app.mfa_api {
        right.push_str(v.label());
        right.push_str(" · ");
    }
    if let Some(rl) = app.rate_limit
        && let (Some(rem), Some(lim)) = (rl.remaining, rl.limit)
    {
        right.push_str(&format!("API {}/{}", group(rem), group(lim)));
        if let Some(secs) = app.rate_reset_in() {
            right.push_str(&format!(" · resets in {:02}:{:02}", secs / 60, secs % 60));
        }
    }
    right.push(' ');
    right.push_str(if app.busy() {
        SPINNER[app.spinner % SPINNER.len()]
    } else {
        " "
    });
    right.push(' ');
    // The tenant is named once: its URL when that already holds the name.
    let tenant = if t.base_url.contains(&t.name) {
        fit(&t.base_url, 48)
    } else {
        format!("{} ({})", fit(&t.name, 24), fit(&t.base_url, 40))
    };
    let mut spans = vec![
        Span::styled(" mfadesk", theme.title()),
        Span::raw(format!(" · {tenant}")),
    ];
    if let Some(p) = &t.profile {
        spans.push(Span::raw(format!(" · profile {}", fit(p, 16))));
    }
    let mut badges = Vec::new();
    if t.demo {
        badges.push(("DEMO".to_owned(), Some("yellow")));
    }
    if t.read_only {
        badges.push(("READ-ONLY".to_owned(), Some("blue")));
    }
    if let Some(label) = &t.label {
        badges.push((fit(label, 20), t.color.as_deref()));
    }
    for (b, c) in &badges {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {b} "), theme.badge(*c)));
    }
    let left_width: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(left_width + right.chars().count());
    if pad == 0 {
        // Too narrow for everything: the base URL goes first.
        spans[1] = Span::raw(format!(" · {}", fit(&t.name, 16)));
    }
    let left_width: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(left_width + right.chars().count());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::raw(right));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(status) = &app.status else { return };
    let (style, mark) = match status.kind {
        StatusKind::Info => (theme.text(), "·"),
        StatusKind::Success => (theme.ok(), "✓"),
        StatusKind::Warning => (theme.warn(), "!"),
    };
    let text = status.text.trim_start_matches("✓ ");
    let line = Line::from(vec![
        Span::styled(format!(" {mark} "), style),
        Span::styled(fit(text, area.width.saturating_sub(4) as usize), style),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The keys that work right now, as (key, description) pairs.
pub fn footer_keys(app: &App) -> Vec<(String, String)> {
    match app.dialogs.last() {
        None if app.focus == crate::app::Focus::Search => vec![
            ("⏎".into(), "search".into()),
            ("Esc".into(), "leave box".into()),
            ("Tab".into(), "results".into()),
            ("^C".into(), "exit".into()),
        ],
        None => BINDINGS
            .iter()
            .filter(|b| b.footer && app.available(b.action))
            // On a device Enter is `v`, already in the row: the room goes to other keys.
            .filter(|b| {
                !(b.action == crate::app::keymap::Action::Open
                    && app.focus == crate::app::Focus::Devices)
            })
            .map(|b| {
                let short = if b.action == crate::app::keymap::Action::Open {
                    app.enter_label()
                } else {
                    b.short
                };
                (b.label.to_owned(), short.to_owned())
            })
            .collect(),
        Some(d) => {
            // A guarded change waiting for its caller check offers the two ways on first.
            let gate: &[(&str, &str)] = if app.top_gate().is_some_and(|g| !g.allows()) {
                &[("c", "check caller"), ("o", "override")]
            } else {
                &[]
            };
            let mut keys: Vec<(String, String)> = gate
                .iter()
                .copied()
                .chain(dialogs::keys(app, d))
                .filter(|(_, v)| app.tenant.demo || !v.starts_with("demo:"))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            if matches!(d, crate::app::dialogs::Dialog::Audit { .. }) && app.audit_view.editing {
                keys = vec![
                    ("⏎".into(), "done".into()),
                    ("Esc".into(), "leave filter".into()),
                    ("^U".into(), "clear".into()),
                ];
            }
            // The start-up connection failure: r tries again from the dialog itself.
            if matches!(d, crate::app::dialogs::Dialog::Error(e) if Some(&e.error) == app.connection.as_ref())
            {
                keys.insert(0, ("r".into(), "retry".into()));
            }
            keys
        }
    }
}

fn draw_footer(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut keys = footer_keys(app);
    let width = |k: &[(String, String)]| -> usize {
        1 + k
            .iter()
            .map(|(key, desc)| key.chars().count() + desc.chars().count() + 3)
            .sum::<usize>()
    };
    // When the row is too short, the least used keys go first; help and quit always stay.
    while width(&keys) > area.width as usize {
        match keys.iter().rposition(|(k, _)| k != "?" && k != "q") {
            Some(i) => {
                keys.remove(i);
            }
            None => break,
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (key, desc) in keys {
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {desc}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
