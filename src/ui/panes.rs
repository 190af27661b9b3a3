//! The users pane (search box and results) and the user pane (details, devices, factors).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::text::{clean, fit, pad, relative, stamp, wrap};
use super::theme::Theme;
use crate::api::{OtpDevice, User, UserStatus};
use crate::app::dialogs::DeviceKind;
use crate::app::query;
use crate::app::validate::mask_phone;
use crate::app::{App, Focus};
use crate::ops::signals::SignalName;
use unicode_width::UnicodeWidthStr;

fn pane<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    let style = if focused {
        theme.focus_border()
    } else {
        theme.border()
    };
    Block::bordered()
        .border_style(style)
        .title(Span::styled(title, theme.title()))
}

/// A short status word for the results list.
fn status_word(user: &User, app: &App) -> String {
    match user.status() {
        UserStatus::Locked => match user.locked_until {
            Some(t) if t > app.now => "Locked".into(),
            _ => "Locked".into(),
        },
        UserStatus::PasswordExpired => "Pw expired".into(),
        UserStatus::AwaitingPasswordReset => "Pw reset".into(),
        UserStatus::PasswordPending => "Pw pending".into(),
        UserStatus::SecurityQuestionsRequired => "Questions".into(),
        other => other.label(),
    }
}

fn status_style(user: &User, theme: &Theme) -> Style {
    match user.status() {
        UserStatus::Active => theme.ok(),
        UserStatus::Locked | UserStatus::Suspended => theme.danger(),
        _ => theme.warn(),
    }
}

/// The users pane's width in `body`: about a third of the screen while a user is open (the
/// devices pane needs the rest); with none open, as wide as its rows need, up to half.
pub fn users_width(app: &App, body: Rect) -> u16 {
    let usual = (body.width / 3).clamp(30, 64);
    if app.user.is_some() {
        return usual;
    }
    let s = &app.search;
    // The rows the list shows: the pane's height less its borders, the search box and the count.
    let rows = usize::from(body.height.saturating_sub(4));
    let offset = s.selected.saturating_sub(rows.saturating_sub(1));
    let shown = || s.results.iter().skip(offset).take(rows);
    let longest = |f: &dyn Fn(&User) -> usize| shown().map(f).max().unwrap_or(0);
    let name = longest(&|u| u.display_name().chars().count());
    let email = longest(&|u| u.email.as_deref().unwrap_or("—").chars().count());
    let status = longest(&|u| status_word(u, app).chars().count()).min(10);
    // Borders, the row mark and two separators around the name, email and status.
    let need = name + email + status + 6;
    let need = u16::try_from(need).unwrap_or(u16::MAX);
    need.clamp(usual, (body.width / 2).max(usual))
}

/// Draws the search box and the result list.
pub fn draw_users(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let s = &app.search;
    let title = if s.query.is_empty() {
        " Users ".to_owned()
    } else {
        format!(
            " Users ─ {} ",
            fit(&s.query, area.width.saturating_sub(14) as usize)
        )
    };
    let focused = matches!(app.focus, Focus::Users | Focus::Search) && app.dialogs.is_empty();
    let block = pane(title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 || inner.width < 10 {
        return;
    }
    let w = inner.width as usize;
    // The search box.
    let box_style = if app.focus == Focus::Search {
        theme.focus_border()
    } else {
        theme.dim()
    };
    let input_width = w.saturating_sub(2);
    let scroll = s.input.visual_scroll(input_width);
    let shown: String = s.input.value().chars().skip(scroll).collect();
    let placeholder = s.input.value().is_empty() && app.focus != Focus::Search;
    let search_line = Line::from(vec![
        Span::styled("/ ", box_style),
        if placeholder {
            Span::styled(fit("name, email:…, id:…", input_width), theme.dim())
        } else if s.fresh && app.focus == Focus::Search {
            // Shown selected: typing replaces it.
            Span::styled(fit(&shown, input_width), theme.selected())
        } else {
            Span::raw(fit(&shown, input_width))
        },
    ]);
    frame.render_widget(Paragraph::new(search_line), Rect { height: 1, ..inner });
    if app.focus == Focus::Search && app.dialogs.is_empty() {
        let x = (s.input.visual_cursor().saturating_sub(scroll) as u16).min(inner.width - 3);
        frame.set_cursor_position(Position::new(inner.x + 2 + x, inner.y));
    }
    // The count or the message.
    let info = if s.request.is_some() {
        Line::styled("Searching…", theme.dim())
    } else if let Some(m) = &s.message {
        Line::styled(fit(m, w), theme.warn())
    } else if s.searched {
        let more = !s.next.is_empty();
        let tail = if s.more.is_some() {
            " · loading more…"
        } else if more {
            " · more below"
        } else {
            ""
        };
        Line::styled(
            fit(
                &format!(
                    "{}{tail}",
                    query::count_text(s.results.len(), s.total, more)
                ),
                w,
            ),
            theme.dim(),
        )
    } else {
        Line::styled(fit("Press / and type a name, email or id.", w), theme.dim())
    };
    // With no rows to show, a message wraps over the empty list: it is read whole, not cut.
    let whole = s.request.is_none() && s.results.is_empty();
    match (&s.message, whole) {
        (Some(m), true) => frame.render_widget(
            Paragraph::new(Line::styled(clean(m), theme.warn())).wrap(Wrap { trim: true }),
            Rect {
                y: inner.y + 1,
                height: inner.height - 1,
                ..inner
            },
        ),
        _ => frame.render_widget(
            Paragraph::new(info),
            Rect {
                y: inner.y + 1,
                height: 1,
                ..inner
            },
        ),
    }
    let list = Rect {
        y: inner.y + 2,
        height: inner.height - 2,
        ..inner
    };
    let rows = list.height as usize;
    let offset = s.selected.saturating_sub(rows.saturating_sub(1));
    // The status column is as wide as its longest word on screen, so emails get the rest.
    let status_w = s
        .results
        .iter()
        .skip(offset)
        .take(rows)
        .map(|u| status_word(u, app).chars().count())
        .max()
        .unwrap_or(0)
        .min(10)
        .min(w / 4);
    let avail = w.saturating_sub(status_w + 4);
    // Names get the room they need, emails the rest.
    let longest = s
        .results
        .iter()
        .skip(offset)
        .take(rows)
        .map(|u| u.display_name().chars().count())
        .max()
        .unwrap_or(0);
    // A narrow pane drops the email column (the user pane's title shows it) to keep names whole.
    let show_email = w >= 34;
    let longest_email = s
        .results
        .iter()
        .skip(offset)
        .take(rows)
        .map(|u| u.email.as_deref().unwrap_or("—").chars().count())
        .max()
        .unwrap_or(0);
    let name_w = if show_email {
        // Both sized from the rows: names whole first, but the emails keep what they need up
        // to two fifths of the room (ten columns at least), so a long name cannot starve them.
        let email_room = longest_email.min((avail * 2 / 5).max(10));
        longest.min(avail.saturating_sub(email_room))
    } else {
        avail + 1
    };
    let email_w = w.saturating_sub(name_w + status_w + 4);
    let lines: Vec<Line> = s
        .results
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .map(|(i, u)| {
            let sel = i == s.selected;
            // One `>` on screen: only the focused pane marks its row; the others keep it dimmed.
            let mark = if sel && focused { "> " } else { "  " };
            let mut spans = vec![Span::raw(mark), Span::raw(pad(&u.display_name(), name_w))];
            if show_email {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(
                    pad(u.email.as_deref().unwrap_or("—"), email_w),
                    theme.dim(),
                ));
            }
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                pad(&status_word(u, app), status_w),
                status_style(u, theme),
            ));
            let mut line = Line::from(spans);
            if sel {
                line = line.style(if focused {
                    theme.selected()
                } else {
                    theme.title()
                });
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
}

/// Column widths for the device rows, from what the rows hold.
struct DeviceColumns {
    factor: usize,
    name: usize,
    phone: usize,
}

/// Rows per device: one when wide, two when narrow (so names and phones stay readable).
fn rows_per_device(w: usize) -> usize {
    if w < 64 { 2 } else { 1 }
}

fn device_lines(
    d: &OtpDevice,
    cols: &DeviceColumns,
    selected: bool,
    focused: bool,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mark = if selected && focused { ">" } else { " " };
    let star = if d.default { "★" } else { " " };
    let kind = match DeviceKind::of(d) {
        DeviceKind::Push => "push",
        DeviceKind::Code => "code",
        _ => "trigger",
    };
    let state = if d.active { "active" } else { "pending" };
    let state_style = if d.active { theme.ok() } else { theme.warn() };
    let phone = d
        .phone_number
        .as_deref()
        .map(mask_phone)
        .unwrap_or_default();
    let user_name = d
        .user_display_name
        .as_deref()
        .filter(|n| *n != d.auth_factor_name)
        .map(|n| format!("\"{}\"", clean(n)))
        .unwrap_or_default();
    let mut lines = if rows_per_device(w) == 2 {
        let head = format!("{} {}", clean(&d.auth_factor_name), user_name);
        let mut detail = vec![Span::raw("      ")];
        if !phone.is_empty() {
            detail.push(Span::styled(format!("{phone} · "), theme.dim()));
        }
        detail.push(Span::styled(state, state_style));
        detail.push(Span::styled(format!(" · {kind}"), theme.dim()));
        let used: usize = detail.iter().map(|s| s.width()).sum();
        if used > w {
            // Too narrow for the whole detail: cut it once, visibly.
            let text: String = detail.iter().map(|s| s.content.as_ref()).collect();
            detail = vec![Span::styled(fit(&text, w), theme.dim())];
        }
        vec![
            Line::from(vec![
                Span::raw(format!("{mark} {star} ")),
                Span::raw(pad(&head, w.saturating_sub(4))),
            ]),
            Line::from(detail),
        ]
    } else {
        // mark, star, spaces, state and kind take 4 + 1 + 7 + 1 + 7 + 2 columns.
        let fixed = 22;
        let phone_w = cols.phone;
        let rest = w.saturating_sub(fixed + phone_w);
        // Whole names first when both do not fit: factor names are generic, device names are not.
        let factor_w = if cols.factor + cols.name <= rest {
            cols.factor
        } else {
            rest.saturating_sub(cols.name).max(rest * 2 / 5)
        };
        let name_w = rest.saturating_sub(factor_w);
        vec![Line::from(vec![
            Span::raw(format!("{mark} {star} ")),
            Span::raw(pad(&d.auth_factor_name, factor_w)),
            Span::raw(" "),
            Span::raw(pad(&user_name, name_w)),
            Span::raw(" "),
            Span::styled(pad(&phone, phone_w), theme.dim()),
            Span::raw(" "),
            Span::styled(pad(state, 7), state_style),
            Span::raw(" "),
            Span::styled(pad(kind, 7), theme.dim()),
        ])]
    };
    if selected {
        let style = if focused {
            theme.selected()
        } else {
            theme.title()
        };
        lines = lines.into_iter().map(|l| l.style(style)).collect();
    }
    lines
}

/// Draws the open user's details, devices and available factors.
pub fn draw_user(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = matches!(app.focus, Focus::Devices | Focus::Factors) && app.dialogs.is_empty();
    let Some(view) = &app.user else {
        let block = pane(" User ".into(), false, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let lines = vec![
            Line::raw(""),
            Line::styled("No user open.", theme.title()),
            Line::styled(
                "Search with /, pick with j/k, open with Enter.",
                theme.dim(),
            ),
        ];
        // The users pane may take half the screen: the hint wraps rather than being cut.
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        return;
    };
    let u = &view.user;
    let mut title = format!(" {} ", u.display_name());
    if let Some(e) = &u.email {
        title.push_str(&format!("· {e} "));
    }
    title.push_str(&format!("· id {} ", u.id));
    let block = pane(
        fit(&title, area.width.saturating_sub(2) as usize),
        focused,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    // Who the user is.
    let status = match (u.status(), u.locked_until) {
        (UserStatus::Locked, Some(t)) if t > app.now => {
            format!("Locked until {} ({})", stamp(t), relative(t, app.now))
        }
        (s, _) => s.label(),
    };
    let login = match u.last_login {
        Some(t) => format!("last login {}", relative(t, app.now)),
        None => "never logged in".into(),
    };
    let count = match &view.devices {
        // The count is of the rows below (Protect's push and code are two rows, two factors).
        Some(d) => format!(
            " · {} factor{}",
            d.len(),
            if d.len() == 1 { "" } else { "s" }
        ),
        None => String::new(),
    };
    let status = fit(&status, w);
    let room = w.saturating_sub(status.chars().count());
    lines.push(Line::from(vec![
        Span::styled(status, status_style(u, theme)),
        Span::raw(fit(&format!(" · {login}{count}"), room)),
    ]));
    let mut extra = Vec::new();
    if let Some(n) = &u.username {
        extra.push(format!("user {}", clean(n)));
    }
    if let Some(p) = &u.phone {
        extra.push(format!("phone {}", mask_phone(p)));
    }
    if let Some(n) = u.invalid_login_attempts.filter(|n| *n > 0) {
        extra.push(format!("{n} failed logins"));
    }
    if !extra.is_empty() {
        lines.push(Line::styled(fit(&extra.join(" · "), w), theme.dim()));
    }
    signal_lines(app, u.id, w, theme, &mut lines);
    if let Some(check) = app.caller_check() {
        let line = crate::app::caller::check_line(check, app.now, app.tenant.caller_check.minutes);
        let style = if line.ok { theme.ok() } else { theme.warn() };
        let text = clean(&line.text);
        // On a narrow pane the device goes on its own line rather than being cut.
        match text.split_once(" (") {
            Some((who, device)) if text.width() > w => {
                lines.push(Line::styled(fit(who, w), style));
                lines.push(Line::styled(fit(&format!("  ({device}"), w), style));
            }
            _ => lines.push(Line::styled(fit(&text, w), style)),
        }
    } else if let Some((_, at)) = app.shared_check(u.id) {
        // A colleague checked this caller: it counts only where the profile says so.
        let style = if app.caller_check_shared {
            theme.ok()
        } else {
            theme.dim()
        };
        lines.push(Line::styled(
            fit(&crate::app::caller::shared_line(at), w),
            style,
        ));
    } else if !app.tenant.caller_check.required.is_empty() {
        // The profile guards changes: say up front that this caller is not checked yet.
        let none_active = view
            .devices
            .as_ref()
            .is_some_and(|d| !d.iter().any(|x| x.active));
        let text = if none_active {
            "Caller not checked · no active device"
        } else {
            "Caller not checked · c checks the caller"
        };
        lines.push(Line::styled(fit(text, w), theme.dim()));
    }
    lines.push(section(
        "Enrolled",
        app.focus == Focus::Devices && focused,
        w,
        theme,
    ));
    let first_device = lines.len();
    match (&view.devices, &view.devices_error) {
        (_, Some(e)) => lines.extend(
            // Errors wrap: read whole, with the status and request id at the end.
            wrap(e, w)
                .into_iter()
                .map(|r| Line::styled(r, theme.danger())),
        ),
        (None, None) => lines.push(Line::styled("  Loading devices…", theme.dim())),
        (Some(d), None) if d.is_empty() => {
            lines.push(Line::styled("  No MFA devices enrolled.", theme.dim()))
        }
        (Some(d), None) => {
            let cols = DeviceColumns {
                factor: d
                    .iter()
                    .map(|x| x.auth_factor_name.chars().count())
                    .max()
                    .unwrap_or(0),
                name: d
                    .iter()
                    .filter_map(|x| x.user_display_name.as_deref())
                    .map(|n| n.chars().count() + 2)
                    .max()
                    .unwrap_or(0),
                // Masked numbers are short: they are shown whole, never cut.
                phone: d
                    .iter()
                    .filter_map(|x| x.phone_number.as_deref())
                    .map(|p| mask_phone(p).chars().count())
                    .max()
                    .unwrap_or(0)
                    .min(w / 4),
            };
            let f = app.focus == Focus::Devices && focused;
            for (i, dev) in d.iter().enumerate() {
                lines.extend(device_lines(dev, &cols, i == view.device_sel, f, w, theme));
            }
        }
    }
    // v2 registrations left pending in this session, after the devices.
    let listed = view.devices.as_ref().map_or(0, Vec::len);
    for (row, (_, r)) in app.open_registrations().into_iter().enumerate() {
        let sel = listed + row == view.device_sel && app.focus == Focus::Devices && focused;
        let left = r
            .expires_at
            .map(|t| (t - app.now).num_seconds().max(0))
            .unwrap_or(0);
        let name = r
            .registration
            .user_display_name
            .as_deref()
            .map(|n| format!(" \"{}\"", clean(n)))
            .unwrap_or_default();
        let head = format!("{} {}{name}", if sel { ">" } else { " " }, clean(&r.factor));
        let state = format!(
            "pending registration · expires in {}:{:02}",
            left / 60,
            left % 60
        );
        let style = if sel { theme.selected() } else { theme.warn() };
        let one = format!("{head}  {state}");
        if one.chars().count() <= w {
            lines.push(Line::styled(one, style));
        } else {
            // Narrow: the state on its own line, as a device's details are.
            lines.push(Line::styled(fit(&head, w), style));
            lines.push(Line::styled(fit(&format!("      {state}"), w), style));
        }
    }
    lines.push(section(
        "Available",
        app.focus == Focus::Factors && focused,
        w,
        theme,
    ));
    match (&view.factors, &view.factors_error) {
        (_, Some(e)) => lines.extend(
            // Errors wrap: read whole, with the status and request id at the end.
            wrap(e, w)
                .into_iter()
                .map(|r| Line::styled(r, theme.danger())),
        ),
        (None, None) => lines.push(Line::styled("  Loading factors…", theme.dim())),
        (Some(f), None) if f.is_empty() => lines.push(Line::styled(
            fit("  Nothing left to enroll through the API.", w),
            theme.dim(),
        )),
        (Some(f), None) => {
            for (i, factor) in f.iter().enumerate() {
                let sel = i == view.factor_sel && app.focus == Focus::Factors;
                let mark = if sel && focused { "> " } else { "  " };
                let mut line =
                    Line::raw(format!("{mark}{}", pad(&factor.name, w.saturating_sub(2))));
                if sel {
                    line = line.style(if focused {
                        theme.selected()
                    } else {
                        theme.title()
                    });
                }
                lines.push(line);
            }
        }
    }
    // Keep the selected device on screen when the list is long.
    let height = inner.height as usize;
    let per = rows_per_device(w);
    let sel_line = first_device + view.device_sel * per + per - 1;
    let scroll = if app.focus == Focus::Devices && sel_line >= height {
        sel_line + 1 - height
    } else {
        0
    };
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), inner);
}

/// The Signals block: one line a signal, newest first, each with its time; nothing when none
/// holds. `⚠` and words carry the meaning, colour only repeats it.
fn signal_lines(app: &App, user_id: i64, w: usize, theme: &Theme, lines: &mut Vec<Line<'static>>) {
    let Some(a) = app.activity.as_ref().filter(|a| a.user_id == user_id) else {
        return;
    };
    if let Some(e) = &a.error {
        // Without events a quiet pane would look like good news: say what is missing.
        let text = format!(
            "Events not read, signals may be missing (r retries): {}",
            clean(e)
        );
        for row in wrap(&text, w) {
            lines.push(Line::styled(row, theme.warn()));
        }
    }
    if a.signals.is_empty() {
        return;
    }
    lines.push(section("Signals", false, w, theme));
    for s in &a.signals {
        let mut text = clean(&s.summary);
        // These summaries carry no time of their own.
        if matches!(s.name, SignalName::OtpFailures | SignalName::FailedLogins) {
            text.push_str(&format!(
                " · last {}",
                s.at.with_timezone(&chrono::Local).format("%H:%M")
            ));
        }
        let style = if s.name.is_warning() {
            theme.danger()
        } else {
            theme.warn()
        };
        for row in wrap(&text, w) {
            lines.push(Line::styled(row, style));
        }
    }
}

fn section(name: &str, focused: bool, w: usize, theme: &Theme) -> Line<'static> {
    let style = if focused {
        theme.focus_border()
    } else {
        theme.dim()
    };
    let head = format!("── {name} ");
    let rule = "─".repeat(w.saturating_sub(head.chars().count()));
    Line::styled(format!("{head}{rule}"), style)
}
