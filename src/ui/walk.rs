//! The walkthrough's checklist, drawn beside the step's own dialog (✓ done, – skipped,
//! ✗ failed, ▶ current).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::text::fit;
use super::theme::Theme;
use crate::app::App;
use crate::app::dialogs::Dialog;
use crate::app::walk::{Mark, WalkDialog, WalkStage};

/// The walkthrough in the dialog stack, if one runs its checklist.
pub fn running(app: &App) -> Option<&WalkDialog> {
    app.dialogs
        .iter()
        .rev()
        .find_map(|d| match d {
            Dialog::Walk(w) => Some(w),
            _ => None,
        })
        .filter(|w| w.stage == WalkStage::Steps)
}

/// The checklist's width for a body this wide.
pub fn width(body: Rect) -> u16 {
    (body.width / 3).clamp(26, 38)
}

/// Draws the checklist in `area`.
pub fn draw_checklist(w: &WalkDialog, frame: &mut Frame, area: Rect, theme: &Theme) {
    let inner = usize::from(area.width.saturating_sub(2));
    let mut lines = vec![
        Line::styled(fit(&w.case, inner), theme.dim()),
        Line::styled(
            fit(&format!("reason: {}", w.reason_text()), inner),
            theme.dim(),
        ),
        Line::raw(""),
    ];
    for (i, s) in w.steps.iter().enumerate() {
        let current = i == w.current && matches!(s.mark, Mark::Todo | Mark::Failed);
        let (sym, style) = match (&s.mark, current) {
            (Mark::Failed, _) => ("✗", theme.danger()),
            (_, true) => ("▶", theme.title()),
            (Mark::Done, _) => ("✓", theme.ok()),
            (Mark::Skipped, _) => ("–", theme.dim()),
            (Mark::Todo, _) => ("·", theme.text()),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{sym} "), style),
            Span::styled(
                fit(&format!("{}. {}", i + 1, s.title), inner.saturating_sub(2)),
                style,
            ),
        ]));
        if let Some(note) = &s.note {
            lines.push(Line::styled(
                fit(&format!("    {note}"), inner),
                theme.dim(),
            ));
        }
    }
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect { height, ..area };
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.focus_border())
        .title(Span::styled(format!(" {} ", w.kind.title()), theme.title()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
