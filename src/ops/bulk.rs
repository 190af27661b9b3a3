//! Bulk changes from a file: the CSV rows, checked whole before anything is sent, and the
//! states a row goes through in a run's journal.
//!
//! Parsing is pure: the command resolves the rows against the tenant afterwards, with the same
//! `USER`/`DEVICE` rules as the single commands ([`super::resolve`]).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::gate::Change;

/// What a bulk run does to each row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BulkAction {
    /// Remove a device.
    Remove,
    /// Issue a temporary MFA token.
    Token,
    /// Unlock a locked user.
    Unlock,
    /// Sign a user out everywhere.
    Logout,
}

impl BulkAction {
    /// The name on the command line, in JSON and in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Remove => "remove",
            BulkAction::Token => "token",
            BulkAction::Unlock => "unlock",
            BulkAction::Logout => "logout",
        }
    }

    /// The action named `text`, as the journal stores it.
    pub fn parse(text: &str) -> Option<BulkAction> {
        [
            BulkAction::Remove,
            BulkAction::Token,
            BulkAction::Unlock,
            BulkAction::Logout,
        ]
        .into_iter()
        .find(|a| a.as_str() == text)
    }

    /// The change the single command makes (its gate rules).
    pub fn change(self) -> Change {
        match self {
            BulkAction::Remove => Change::Remove,
            BulkAction::Token => Change::MfaToken,
            BulkAction::Unlock => Change::Unlock,
            BulkAction::Logout => Change::Logout,
        }
    }

    /// The columns a file for this action may have; the first is required.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            BulkAction::Remove => &["user", "device", "reason"],
            BulkAction::Token => &["user", "expires_in", "reusable", "reason"],
            BulkAction::Unlock | BulkAction::Logout => &["user", "reason"],
        }
    }

    /// The columns every row must fill.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            BulkAction::Remove => &["user", "device"],
            BulkAction::Token | BulkAction::Unlock | BulkAction::Logout => &["user"],
        }
    }
}

/// One row of the file, as typed (trimmed; empty cells are `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// The file line the row starts on (the header is line 1).
    pub line: u64,
    /// `USER`: id, email or username.
    pub user: String,
    /// `DEVICE`: id, name or factor name (remove).
    pub device: Option<String>,
    /// A lifetime such as `24h` (token).
    pub expires_in: Option<String>,
    /// Whether the token can be used more than once (token).
    pub reusable: bool,
    /// The row's reason, else the run's `--reason`.
    pub reason: Option<String>,
}

/// Something wrong with the file or a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The line, or `None` for the file as a whole.
    pub line: Option<u64>,
    /// What is wrong, in words.
    pub message: String,
    /// True when the file is malformed (exit 2); false when a row does not resolve (exit 3).
    pub malformed: bool,
}

impl Problem {
    /// A malformed line or file.
    pub fn malformed(line: Option<u64>, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
            malformed: true,
        }
    }

    /// A row that does not resolve against the tenant.
    pub fn unresolved(line: u64, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
            malformed: false,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A file read whole: its rows, every problem found, and its hash (to refuse a changed file
/// on resume).
#[derive(Clone, Debug, Default)]
pub struct ParsedFile {
    /// Rows that parsed (they may still fail to resolve).
    pub rows: Vec<Row>,
    /// Every problem, in line order.
    pub problems: Vec<Problem>,
    /// SHA-256 of the bytes, hex.
    pub hash: String,
}

/// The SHA-256 of a file's bytes, hex.
pub fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Some(false),
        "true" | "yes" | "1" => Some(true),
        _ => None,
    }
}

/// Reads a whole file for `action`; every problem is collected, nothing stops at the first.
pub fn parse(bytes: &[u8], action: BulkAction) -> ParsedFile {
    let mut parsed = ParsedFile {
        hash: hash(bytes),
        ..ParsedFile::default()
    };
    // Spreadsheets often save CSV with a byte-order mark before the header.
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            parsed.problems.push(Problem::malformed(
                Some(1),
                format!("cannot read the header: {e}"),
            ));
            return parsed;
        }
    };
    if headers.iter().all(str::is_empty) {
        parsed.problems.push(Problem::malformed(
            None,
            format!(
                "the file is empty: it needs a header row naming its columns ({})",
                action.columns().join(", ")
            ),
        ));
        return parsed;
    }
    let allowed = action.columns();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let key = name.to_ascii_lowercase();
        match allowed.iter().find(|c| **c == key) {
            Some(col) if index.contains_key(col) => parsed.problems.push(Problem::malformed(
                Some(1),
                format!("the column {col:?} is named twice"),
            )),
            Some(col) => {
                index.insert(col, i);
            }
            None => parsed.problems.push(Problem::malformed(
                Some(1),
                format!(
                    "unknown column {:?}: the columns of `bulk {}` are {}",
                    crate::ui::text::clean(name),
                    action.as_str(),
                    allowed.join(", ")
                ),
            )),
        }
    }
    for col in action.required() {
        if !index.contains_key(col) {
            parsed.problems.push(Problem::malformed(
                Some(1),
                format!("the column {col:?} is missing"),
            ));
        }
    }
    let mut seen: HashMap<Vec<String>, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line_before = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                parsed.problems.push(Problem::malformed(
                    Some(line_before),
                    format!("not CSV: {e}"),
                ));
                continue;
            }
        }
        let line = record.position().map_or(line_before, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != headers.len() {
            parsed.problems.push(Problem::malformed(
                Some(line),
                format!(
                    "{} field{}, but the header has {}",
                    record.len(),
                    if record.len() == 1 { "" } else { "s" },
                    headers.len()
                ),
            ));
            continue;
        }
        let cell = |col: &str| {
            index
                .get(col)
                .and_then(|i| record.get(*i))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let mut bad = false;
        for col in action.required() {
            if index.contains_key(col) && cell(col).is_none() {
                parsed
                    .problems
                    .push(Problem::malformed(Some(line), format!("{col} is empty")));
                bad = true;
            }
        }
        let reusable = match cell("reusable").as_deref().map(parse_bool) {
            None => false,
            Some(Some(b)) => b,
            Some(None) => {
                parsed.problems.push(Problem::malformed(
                    Some(line),
                    format!(
                        "reusable is {:?}: use true or false",
                        cell("reusable").unwrap_or_default()
                    ),
                ));
                bad = true;
                false
            }
        };
        let reason = cell("reason");
        if let Some(r) = &reason
            && r.chars().any(char::is_control)
        {
            parsed.problems.push(Problem::malformed(
                Some(line),
                "the reason must be one line of text without control characters",
            ));
            bad = true;
        }
        if bad {
            continue;
        }
        let row = Row {
            line,
            user: cell("user").unwrap_or_default(),
            device: cell("device"),
            expires_in: cell("expires_in"),
            reusable,
            reason,
        };
        // The same user (and device) twice is a mistake in the file, whatever the reason column.
        let key: Vec<String> = [Some(&row.user), row.device.as_ref()]
            .into_iter()
            .flatten()
            .map(|v| v.to_lowercase())
            .collect();
        if let Some(first) = seen.get(&key) {
            parsed.problems.push(Problem::malformed(
                Some(line),
                format!("duplicate of line {first}"),
            ));
            continue;
        }
        seen.insert(key, line);
        parsed.rows.push(row);
    }
    if parsed.rows.is_empty() && parsed.problems.is_empty() {
        parsed.problems.push(Problem::malformed(
            None,
            "the file has a header but no rows",
        ));
    }
    parsed
}

/// Where a row of a run stands in its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowState {
    /// Resolved, not yet sent.
    Planned,
    /// Sent (or about to be): its outcome is not known yet.
    InFlight,
    /// Applied.
    Done,
    /// Failed or refused; it can be tried again on resume.
    Failed,
    /// Not applied on purpose (e.g. an in-flight token whose fate the agent must check).
    Skipped,
}

impl RowState {
    /// The journal's word.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Planned => "planned",
            RowState::InFlight => "in_flight",
            RowState::Done => "done",
            RowState::Failed => "failed",
            RowState::Skipped => "skipped",
        }
    }

    /// The state the journal's word names.
    pub fn parse(text: &str) -> Option<RowState> {
        [
            RowState::Planned,
            RowState::InFlight,
            RowState::Done,
            RowState::Failed,
            RowState::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A new run id: `b-` then the UTC time and a random suffix (sortable, unique enough).
pub fn new_run_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let suffix: u16 = rand::random();
    format!("b-{}-{suffix:04x}", now.format("%Y%m%d-%H%M%S"))
}

/// True when `text` looks like a run id (so it can name a journal safely).
pub fn is_run_id(text: &str) -> bool {
    text.starts_with("b-")
        && text.len() <= 40
        && text[2..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(p: &ParsedFile) -> Vec<String> {
        p.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "user,device,colour\nkelly@x,Pixel,red\n,Pixel,blue\nsteph,phone\nkelly@x,pixel,green\n";
        let p = parse(text.as_bytes(), BulkAction::Remove);
        assert_eq!(
            lines(&p),
            [
                "line 1: unknown column \"colour\": the columns of `bulk remove` are user, device, reason",
                "line 3: user is empty",
                "line 4: 2 fields, but the header has 3",
                "line 5: duplicate of line 2",
            ]
        );
        assert!(p.problems.iter().all(|p| p.malformed));
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].line, 2);
    }

    #[test]
    fn token_rows_read_lifetime_reusable_and_reason() {
        let text = "user,expires_in,reusable,reason\n7,24h,true,INC-1\n8,,,\n9,1h,maybe,\n";
        let p = parse(text.as_bytes(), BulkAction::Token);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].expires_in.as_deref(), Some("24h"));
        assert!(p.rows[0].reusable);
        assert_eq!(p.rows[0].reason.as_deref(), Some("INC-1"));
        assert_eq!(p.rows[1].expires_in, None);
        assert_eq!(
            lines(&p),
            ["line 4: reusable is \"maybe\": use true or false"]
        );
        let missing = parse(b"reason\nx\n", BulkAction::Token);
        assert_eq!(lines(&missing), ["line 1: the column \"user\" is missing"]);
        assert_eq!(lines(&parse(b"", BulkAction::Token)).len(), 1);
        // A device column makes no sense for a token.
        assert!(parse(b"user,device\n7,x\n", BulkAction::Token).problems[0].malformed);
    }

    #[test]
    fn a_byte_order_mark_and_crlf_line_ends_are_read() {
        let p = parse(b"\xef\xbb\xbfUser,Device\r\n7,x\r\n", BulkAction::Remove);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.rows[0].user, "7");
        assert_eq!(p.rows[0].device.as_deref(), Some("x"));
    }

    #[test]
    fn quoted_fields_keep_their_lines() {
        let text = "user,device\n\"a\nb\",x\nc,y\n";
        let p = parse(text.as_bytes(), BulkAction::Remove);
        let at: Vec<u64> = p.rows.iter().map(|r| r.line).collect();
        assert_eq!(at, [2, 4]);
    }

    #[test]
    fn run_ids_are_safe_names() {
        let id = new_run_id(chrono::Utc::now());
        assert!(is_run_id(&id), "{id}");
        assert!(!is_run_id("b-../../etc"));
        assert!(!is_run_id("x"));
    }
}
