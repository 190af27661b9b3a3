//! Styles; with NO_COLOR they fall back to bold, reverse and underline so nothing relies on colour.

use ratatui::style::{Color, Modifier, Style};

/// The styles the views use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Colours allowed (false under NO_COLOR).
    pub color: bool,
}

impl Theme {
    /// A theme honouring NO_COLOR (any non-empty value disables colour).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::new()
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// The selected row (also marked with ">").
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A focused pane's border.
    pub fn focus_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// An unfocused pane's border.
    pub fn border(&self) -> Style {
        self.dim()
    }

    /// Headings and titles.
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Success words.
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    /// Warnings (pending, locked).
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// Errors and dangerous buttons (always with words).
    pub fn danger(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Badges in the header.
    pub fn badge(&self, color: Option<&str>) -> Style {
        let c = color.and_then(parse_color).unwrap_or(Color::Magenta);
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(c)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    /// Key names in the footer.
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}

/// Parses a colour name from a profile ("red", "yellow", "#ff0000").
pub fn parse_color(name: &str) -> Option<Color> {
    name.parse().ok()
}
