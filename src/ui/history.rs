//! The history view (`h`): the open user's events, one a line, newest first; Enter shows one
//! event whole. Every server text is sanitised here.

use chrono::{DateTime, Local, Utc};
use ratatui::text::{Line, Span};

use super::text::{clean, fit};
use super::theme::Theme;
use crate::api::Event;
use crate::app::App;
use crate::ops::events::event_words;

/// "just now", "5 min ago", "3 h ago", "2 d ago".
pub fn short_ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..=59 => "just now".to_owned(),
        60..=3_599 => format!("{} min ago", secs / 60),
        3_600..=86_399 => format!("{} h ago", secs / 3_600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// The device of an event in words: its name, else its id.
fn device(e: &Event) -> String {
    match (&e.otp_device_name, &e.otp_device_id) {
        (Some(n), _) if !n.is_empty() => clean(n),
        (_, Some(id)) => format!("device {}", clean(id)),
        _ => String::new(),
    }
}

/// One event on one line: local time, how long ago, the name, device, IP, risk.
pub fn event_line(app: &App, e: &Event, width: usize) -> String {
    let types = app
        .activity
        .as_ref()
        .map(|a| a.types.clone())
        .unwrap_or_default();
    let (time, ago) = match e.created_at {
        Some(t) => (
            t.with_timezone(&Local).format("%m-%d %H:%M").to_string(),
            short_ago(t, app.now),
        ),
        None => ("--:--".to_owned(), String::new()),
    };
    let mut parts = vec![clean(&event_words(&types, e.event_type_id))];
    let dev = device(e);
    if !dev.is_empty() {
        parts.push(dev);
    }
    if let Some(ip) = &e.ipaddr {
        parts.push(clean(ip));
    }
    if let Some(r) = e.risk_score {
        parts.push(format!("risk {r}"));
    }
    fit(&format!("{time} {ago:>10}  {}", parts.join(" · ")), width)
}

/// The history view's lines and title.
pub fn lines(
    app: &App,
    selected: usize,
    detail: bool,
    room: usize,
    width: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, String) {
    let mut out: Vec<Line<'static>> = Vec::new();
    let who = app
        .user
        .as_ref()
        .map(|v| clean(&v.user.display_name()))
        .unwrap_or_default();
    let Some(a) = app.activity.as_ref() else {
        out.push(Line::styled("No user open.", theme.dim()));
        return (out, " History ".to_owned());
    };
    let rows = a.rows();
    let title = format!(" History · {who} ");
    if detail && let Some(e) = rows.get(selected) {
        return (
            event_whole(app, e, width, theme),
            format!(" Event · {who} "),
        );
    }
    if a.editing {
        out.push(Line::from(vec![
            Span::styled("Filter: ", theme.title()),
            Span::raw(fit(&clean(a.filter.value()), width.saturating_sub(8))),
        ]));
    } else if a.filter.value().is_empty() {
        out.push(Line::styled(
            "/ filters · Enter shows one event · n loads 14 days more",
            theme.dim(),
        ));
    } else {
        out.push(Line::raw(fit(
            &format!("Filter: {}  (/ edits)", clean(a.filter.value())),
            width,
        )));
    }
    let days = (app.now - a.since).num_days();
    let mut summary = format!(
        "{} event{} · last {days} days · newest first",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    if a.loading_more {
        summary.push_str(" · reading 14 days more…");
    }
    out.push(Line::styled(fit(&summary, width), theme.dim()));
    if let Some(e) = &a.error {
        out.push(Line::styled(
            fit(&format!("! {}", clean(e)), width),
            theme.warn(),
        ));
    }
    if a.events.is_none() && a.error.is_none() {
        out.push(Line::styled("Reading events…", theme.dim()));
    } else if rows.is_empty() {
        out.push(Line::styled(
            if a.filter.value().is_empty() {
                "No events in this period."
            } else {
                "No event matches the filter."
            },
            theme.dim(),
        ));
    }
    // Keep the selected row on screen.
    let visible = room.saturating_sub(out.len()).max(1);
    let start = selected.saturating_sub(visible - 1);
    for (i, e) in rows.iter().enumerate().skip(start).take(visible) {
        let sel = i == selected;
        let mark = if sel { "> " } else { "  " };
        let text = format!("{mark}{}", event_line(app, e, width.saturating_sub(2)));
        out.push(if sel {
            Line::styled(text, theme.selected())
        } else {
            Line::raw(text)
        });
    }
    (out, title)
}

/// One event whole: every field, sanitised, `risk_reasons` one reason a line.
fn event_whole(app: &App, e: &Event, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let types = app
        .activity
        .as_ref()
        .map(|a| a.types.clone())
        .unwrap_or_default();
    let mut out = vec![Line::styled(
        fit(
            &format!(
                "{} (type {})",
                clean(&event_words(&types, e.event_type_id)),
                e.event_type_id
            ),
            width,
        ),
        theme.title(),
    )];
    if let Some(t) = e.created_at {
        out.push(Line::raw(fit(
            &format!(
                "{} · {}",
                t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %Z"),
                short_ago(t, app.now)
            ),
            width,
        )));
    }
    out.push(Line::raw(fit(&format!("by {}", clean(&e.actor())), width)));
    out.push(Line::raw(""));
    let key_w = e.fields.keys().map(|k| k.len()).max().unwrap_or(0).min(24);
    for (k, v) in &e.fields {
        if k == "risk_reasons" {
            out.push(Line::styled(format!("{k:<key_w$}"), theme.key()));
            for reason in v.lines().filter(|l| !l.trim().is_empty()) {
                out.push(Line::raw(fit(&format!("  • {}", clean(reason)), width)));
            }
            continue;
        }
        out.push(Line::from(vec![
            Span::styled(format!("{:<key_w$} ", clean(k)), theme.key()),
            Span::raw(fit(&clean(v), width.saturating_sub(key_w + 1))),
        ]));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Esc or Enter: back to the list", theme.dim()));
    out
}
