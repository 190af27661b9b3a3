//! Where command output goes: tables and sentences, or one JSON document; notes on stderr.

use std::io::{IsTerminal, Write};

use serde_json::{Value, json};
use unicode_width::UnicodeWidthStr;

use crate::ops::OpsError;
use crate::ui::text::{clean, clean_lines, escape_hidden};

/// The only escape sequences the commands write themselves: bold on, and reset.
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// How a command prints.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// One JSON document on stdout.
    pub json: bool,
    /// Colour on stdout (a terminal, no NO_COLOR, no --json).
    pub color: bool,
    /// Colour on stderr.
    pub err_color: bool,
}

impl Output {
    /// Decides colour from the streams and NO_COLOR.
    pub fn new(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            json,
            color: !json && !no_color && std::io::stdout().is_terminal(),
            err_color: !json && !no_color && std::io::stderr().is_terminal(),
        }
    }

    /// A progress or context note on stderr (cleaned: it may quote a server or a file).
    pub fn note(&self, text: &str) {
        eprintln!("mfadesk: {}", clean_lines(text));
    }

    /// Prints a JSON document on stdout.
    pub fn json(&self, value: &Value) {
        let mut out = std::io::stdout().lock();
        // A closed pipe leaves nobody to tell.
        let _ = serde_json::to_writer_pretty(&mut out, value);
        let _ = writeln!(out);
    }

    /// Prints text on stdout, cleaned of control, escape and invisible characters (only the
    /// bold this output adds itself on a colour terminal is kept).
    pub fn text(&self, text: &str) {
        let text = if self.color {
            text.split(BOLD)
                .map(|p| {
                    p.split(RESET)
                        .map(clean_lines)
                        .collect::<Vec<_>>()
                        .join(RESET)
                })
                .collect::<Vec<_>>()
                .join(BOLD)
        } else {
            clean_lines(text)
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = writeln!(out);
        }
    }

    /// Bold on a colour terminal.
    pub fn bold(&self, text: &str) -> String {
        if self.color {
            format!("{BOLD}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// Reports an error (JSON on stdout with --json, else a sentence on stderr); the exit status.
    pub fn fail(&self, error: &OpsError) -> u8 {
        let api = error.api_error();
        if self.json {
            self.json(&json!({
                "error": {
                    "kind": error.kind(),
                    "status": api.and_then(|e| e.status),
                    "message": error.to_string(),
                    "request_id": api.and_then(|e| e.request_id.clone()),
                }
            }));
        } else {
            // A configuration error names what a person typed: escaped, so it can be fixed;
            // anything else may quote a server: cleaned as the console cleans it.
            let text = if error.kind() == "config" {
                escape_hidden(&error.to_string())
            } else {
                clean_lines(&error.to_string())
            };
            if self.err_color {
                eprintln!("\x1b[31mmfadesk: {text}\x1b[0m");
            } else {
                eprintln!("mfadesk: {text}");
            }
        }
        error.exit_status()
    }
}

/// Aligns rows under headers, two spaces apart; API text is cleaned of control characters.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.width());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            s.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(cell.width()) + 2;
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
