//! The Coverage view: summary bars with their numbers, the scan's age and completeness, a gauge
//! while a scan runs, then the highlighted category's users.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Clear, Gauge, Paragraph};

use super::history::short_ago;
use super::text::{clean, fit};
use super::theme::Theme;
use crate::app::App;
use crate::app::coverage::ORDER;
use crate::coverage::Report;
use crate::store::coverage::Category;

/// The view, over the panes.
pub(super) fn draw(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let cov = &app.coverage;
    let block = Block::bordered()
        .title(Span::styled(" Coverage ", theme.title()))
        .border_style(theme.focus_border());
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    let scanning = cov.scanning();
    let [head, gauge, bars, notes, list] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(scanning)),
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(Line::styled(fit(&headline(app), w), theme.text())),
        head,
    );
    if scanning {
        draw_gauge(app, frame, gauge, theme);
    }
    let Some(report) = &cov.report else {
        let text = match (&cov.error, cov.loading) {
            (Some(e), _) => format!("! {}", clean(e)),
            (None, true) => "Reading the store…".to_owned(),
            (None, false) => String::new(),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(fit(&text, w), theme.warn())),
            bars,
        );
        return;
    };
    draw_bars(app, report, frame, bars, theme);
    let s = &report.summary;
    let notes_text = format!(
        "locked or suspended with devices {} · no sign-in for 90 days {} · {} users",
        s.locked_with_devices, s.stale_90d, s.users
    );
    frame.render_widget(
        Paragraph::new(Line::styled(fit(&notes_text, w), theme.dim())),
        notes,
    );
    draw_users(app, report, frame, list, theme);
}

/// The scan's age and completeness, or why there is nothing yet.
fn headline(app: &App) -> String {
    let cov = &app.coverage;
    let Some(report) = &cov.report else {
        return "No report read yet.".to_owned();
    };
    let at = report
        .scanned_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    match (at, report.complete) {
        (None, _) if cov.scanning() => {
            "The first scan is running in the background; r shows what it has read.".to_owned()
        }
        (None, _) => "No scan yet: s scans the tenant in the background.".to_owned(),
        (Some(t), true) => format!(
            "Scanned {} · complete · {} users",
            short_ago(t, app.now),
            report.summary.users
        ),
        (Some(t), false) => format!(
            "INCOMPLETE: pass started {}, {} of {} users read · s resumes",
            short_ago(t, app.now),
            report.summary.users,
            report.summary.users + report.unread
        ),
    }
}

/// The running scan: users read of the total, and what it leaves of the budget.
fn draw_gauge(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let progress = app.coverage.scan.as_ref().and_then(|s| s.progress.clone());
    let (ratio, label) = match progress {
        Some(p) if p.total > 0 => {
            let ratio = (p.read as f64 / p.total as f64).clamp(0.0, 1.0);
            let budget = match (p.lane.remaining, p.lane.limit) {
                (Some(r), Some(l)) => format!(" · API left {r}/{l}"),
                _ => String::new(),
            };
            (ratio, format!("scan {}/{} users{budget}", p.read, p.total))
        }
        Some(p) => (0.0, format!("scan: listing users ({} so far)", p.listed)),
        None => (0.0, "scan starting…".to_owned()),
    };
    frame.render_widget(
        Gauge::default()
            .ratio(ratio)
            .label(fit(&label, usize::from(area.width)))
            .gauge_style(theme.ok()),
        area,
    );
}

/// One horizontal bar per category, its name, count and share written beside it; the
/// highlighted one is marked with ">" (never by colour alone).
fn draw_bars(app: &App, report: &Report, frame: &mut Frame, area: Rect, theme: &Theme) {
    let s = &report.summary;
    let total = s.users.max(1);
    let [numbers, chart] =
        Layout::horizontal([Constraint::Length(29), Constraint::Min(1)]).areas(area);
    let mut lines = Vec::new();
    let mut bars = Vec::new();
    for (i, c) in ORDER.iter().enumerate() {
        let n = match c {
            Category::None => s.none,
            Category::Weak => s.weak,
            Category::PendingOnly => s.pending_only,
            Category::Strong => s.strong,
        };
        let highlighted = i == app.coverage.category;
        let style = if highlighted {
            theme.selected()
        } else {
            theme.text()
        };
        lines.push(Line::styled(
            format!(
                "{}{:<12} {:>6} {:>5.1} %",
                if highlighted { ">" } else { " " },
                c.as_str(),
                n,
                n as f64 * 100.0 / total as f64
            ),
            style,
        ));
        bars.push(
            Bar::default()
                .value(n)
                .text_value(String::new())
                .style(style),
        );
    }
    frame.render_widget(Paragraph::new(lines), numbers);
    frame.render_widget(
        BarChart::default()
            .direction(Direction::Horizontal)
            .bar_width(1)
            .bar_gap(0)
            .data(BarGroup::default().bars(&bars))
            .max(total),
        chart,
    );
}

/// The highlighted category's users, the selected one marked.
fn draw_users(app: &App, report: &Report, frame: &mut Frame, area: Rect, theme: &Theme) {
    let w = usize::from(area.width);
    let cov = &app.coverage;
    let category = cov.category();
    let mut lines = vec![Line::styled(
        fit(
            &format!(
                "{} users (←/→ category, ⏎ opens, s scans, r reloads)",
                category.as_str()
            ),
            w,
        ),
        theme.title(),
    )];
    let room = usize::from(area.height.saturating_sub(1));
    if report.users.is_empty() {
        lines.push(Line::styled("  nobody", theme.dim()));
    }
    let start = cov.selected.saturating_sub(room.saturating_sub(1));
    for (i, u) in report.users.iter().enumerate().skip(start).take(room) {
        let selected = i == cov.selected;
        let factors = if u.factors.is_empty() && u.pending.is_empty() {
            "no devices".to_owned()
        } else if u.factors.is_empty() {
            format!("pending: {}", u.pending.join(", "))
        } else if u.pending.is_empty() {
            u.factors.join(", ")
        } else {
            format!(
                "{} (pending: {})",
                u.factors.join(", "),
                u.pending.join(", ")
            )
        };
        let login = u
            .last_login
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or("never".to_owned(), |t| {
                short_ago(t.with_timezone(&Utc), app.now)
            });
        let text = format!(
            "{}{:<24} {:<28} {:<10} {}",
            if selected { ">" } else { " " },
            fit(&clean(&u.name), 24),
            fit(&clean(u.email.as_deref().unwrap_or("")), 28),
            login,
            clean(&factors)
        );
        let style: Style = if selected {
            theme.selected()
        } else {
            theme.text()
        };
        lines.push(Line::styled(fit(&text, w), style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
