//! The registration dialog: the QR code on the left, what to do on the right. It takes the
//! whole area between header and footer (the demo phone panel too) so the code fits at 80×24.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::qr;
use super::text::{clean, fit};
use super::theme::Theme;
use crate::app::App;
use crate::app::dialogs::{RegisterDialog, RegisterMode, otpauth_parts};
use crate::app::validate::countdown;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// The setup key in groups of four, as authenticator apps show it.
fn grouped(key: &str) -> String {
    key.chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Breaks `text` into lines of at most `width` columns, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out.into_iter().map(|l| fit(&l, width)).collect()
}

/// Draws the registration dialog over `area`.
pub fn draw(app: &App, d: &RegisterDialog, frame: &mut Frame, area: Rect, theme: &Theme) {
    let uri = d.registration.totp_url.as_ref().map(|s| s.expose());
    // Only a QR code needs the whole area; a code dialog leaves the demo phone in view.
    if uri.is_some() {
        frame.render_widget(Clear, area);
    }
    // Leave at least 30 columns for the words beside the code.
    let art = uri.and_then(|u| qr::render(u, area.width.saturating_sub(30), area.height));
    let text_area = match &art {
        Some(art) => {
            let top = area.y + area.height.saturating_sub(art.height()) / 2;
            let rect = Rect::new(area.x, top, art.width, art.height().min(area.height));
            let lines: Vec<Line> = art
                .lines
                .iter()
                .map(|l| Line::styled(l.clone(), qr::style()))
                .collect();
            frame.render_widget(Paragraph::new(lines), rect);
            Rect::new(
                area.x + art.width + 1,
                area.y,
                area.width.saturating_sub(art.width + 1),
                area.height,
            )
        }
        None if uri.is_some() => area,
        None => {
            // A code factor: a plain centred dialog.
            let w = area.width.saturating_sub(4).min(64);
            let h = area.height.min(14);
            Rect::new(
                area.x + (area.width - w) / 2,
                area.y + (area.height - h) / 2,
                w,
                h,
            )
        }
    };
    let inner_w = text_area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor = None;
    let (account, issuer, key) = uri.map(otpauth_parts).unwrap_or((None, None, None));
    let who = fit(&clean(&d.target.user_label), inner_w);
    match d.mode {
        // Over: nothing is left to scan or type.
        _ if d.ended => lines.push(Line::styled(who, theme.title())),
        RegisterMode::Authenticator => {
            lines.push(Line::styled(who, theme.title()));
            lines.extend(
                wrap(
                    "Have the user scan this code with their authenticator app.",
                    inner_w,
                )
                .into_iter()
                .map(Line::raw),
            );
        }
        RegisterMode::Protect => {
            lines.push(Line::styled(who, theme.title()));
            lines.extend(
                wrap(
                    "Have the user scan this code in OneLogin Protect and accept.",
                    inner_w,
                )
                .into_iter()
                .map(Line::raw),
            );
        }
        RegisterMode::Code => {
            lines.push(Line::styled(who, theme.title()));
            let text = format!(
                "A code was sent by {}: type what the user received.",
                d.factor
            );
            lines.extend(wrap(&text, inner_w).into_iter().map(Line::raw));
        }
    }
    if uri.is_some() && art.is_none() {
        let need = uri
            .and_then(qr::min_size)
            .map_or_else(String::new, |(w, h)| {
                format!(" (it needs {}×{})", w + 30, h + 3)
            });
        let text = format!(
            "! The terminal is too small for the QR code{need}: enlarge it, or s shows the setup key."
        );
        lines.extend(
            wrap(&text, inner_w)
                .into_iter()
                .map(|l| Line::styled(l, theme.danger())),
        );
    }
    lines.push(Line::raw(""));
    if let Some(a) = &account {
        lines.push(Line::from(vec![
            Span::styled("Account  ", theme.dim()),
            Span::raw(fit(&clean(a), inner_w.saturating_sub(9))),
        ]));
    }
    if let Some(i) = &issuer {
        lines.push(Line::from(vec![
            Span::styled("Issuer   ", theme.dim()),
            Span::raw(fit(&clean(i), inner_w.saturating_sub(9))),
        ]));
    }
    if let Some(n) = &d.registration.user_display_name {
        lines.push(Line::from(vec![
            Span::styled("Device   ", theme.dim()),
            Span::raw(fit(&clean(n), inner_w.saturating_sub(9))),
        ]));
    }
    if key.is_some() && d.mode != RegisterMode::Code {
        let shown = match (&key, d.show_key) {
            (Some(k), true) => Span::styled(grouped(&clean(k)), theme.warn()),
            _ => Span::styled("hidden · s shows it", theme.dim()),
        };
        lines.push(Line::from(vec![
            Span::styled("Key      ", theme.dim()),
            shown,
        ]));
    }
    lines.push(Line::raw(""));
    let left = d.expires_at.map(|t| (t - app.now).num_seconds());
    match d.mode {
        RegisterMode::Authenticator | RegisterMode::Code if !d.ended => {
            let label = if d.mode == RegisterMode::Authenticator {
                "First code "
            } else {
                "Code       "
            };
            let value = d.code.value();
            lines.push(Line::from(vec![
                Span::styled(label, theme.key()),
                Span::styled(format!("[{:<8}]", fit(value, 8)), theme.selected()),
            ]));
            cursor = Some((
                (label.len() + 1 + d.code.input.visual_cursor().min(8)) as u16,
                (lines.len() - 1) as u16,
            ));
            if d.busy.is_some() {
                lines.push(Line::styled(
                    format!("{} Checking…", SPINNER[app.spinner % SPINNER.len()]),
                    theme.dim(),
                ));
            }
        }
        RegisterMode::Protect if !d.ended => {
            lines.push(Line::styled(
                format!(
                    "{} Waiting for the app to accept…",
                    SPINNER[app.spinner % SPINNER.len()]
                ),
                theme.warn(),
            ));
        }
        _ => {}
    }
    if let Some(left) = left.filter(|_| !d.ended) {
        lines.push(Line::styled(
            fit(
                &format!("expires in {} · Esc stops waiting", countdown(left)),
                inner_w,
            ),
            if left < 30 { theme.warn() } else { theme.dim() },
        ));
    }
    if let Some(e) = &d.error {
        lines.push(Line::raw(""));
        let text = format!("! {}", clean(e));
        lines.extend(
            wrap(&text, inner_w)
                .into_iter()
                .map(|l| Line::styled(l, theme.danger())),
        );
    }
    if app.tenant.demo && !d.ended {
        lines.push(Line::raw(""));
        match d.mode {
            RegisterMode::Protect => lines.push(Line::styled(
                fit("Demo phone: a accepts, x denies.", inner_w),
                theme.dim(),
            )),
            RegisterMode::Authenticator => {
                let code = app
                    .phone
                    .codes
                    .iter()
                    .find(|c| c.user_id == d.target.user_id && c.device_id == 0)
                    .map(|c| c.code.clone());
                let text = match code {
                    Some(c) => format!("Demo phone: the app shows {c}"),
                    None => "Demo phone: Ctrl-P shows the app's code.".into(),
                };
                lines.push(Line::styled(fit(&text, inner_w), theme.dim()));
            }
            RegisterMode::Code => lines.push(Line::styled(
                fit(
                    if app.phone_visible {
                        "Demo phone: the code is under Messages."
                    } else {
                        "Demo phone: Ctrl-P shows the code sent."
                    },
                    inner_w,
                ),
                theme.dim(),
            )),
        }
    }
    let title = format!(" Enroll · {} ", fit(&clean(&d.factor), 30));
    let block = Block::bordered()
        .title(Span::styled(title, theme.title()))
        .border_style(theme.border());
    let inner = block.inner(text_area);
    frame.render_widget(Clear, text_area);
    frame.render_widget(Paragraph::new(lines).block(block), text_area);
    if let Some((x, y)) = cursor
        && y < inner.height
        && x < inner.width
    {
        frame.set_cursor_position(Position::new(inner.x + x, inner.y + y));
    }
}
