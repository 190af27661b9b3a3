//! The diagnostic log: tracing events to a file, never to the terminal, with secrets redacted.
//!
//! Secrets are kept out of log statements by construction (`api::Secret` prints `***`); the
//! redacting writer is defence in depth: any string passed to [`register_secret`] is replaced
//! by `***` in every line before the line reaches the file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What replaces a registered secret in the log (and in the audit trail's free text).
pub const REDACTED: &str = "***";

/// Registered secrets shorter than this are ignored: redacting one or two characters would
/// mangle every line while protecting nothing.
pub const MIN_SECRET_LEN: usize = 3;

/// The set of strings to redact; longest first so a secret containing another is replaced whole.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Why the diagnostic log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The level or filter string did not parse.
    #[error(
        "invalid log level {level:?}: {reason} (use error, warn, info, debug, trace, off, or directives like \"mfadesk=debug,info\")"
    )]
    InvalidLevel {
        /// The level string as given.
        level: String,
        /// The parser's explanation.
        reason: String,
    },
    /// The log file (or its directory) could not be created or opened.
    #[error("cannot open log file {path}: {source} (use --log-file PATH to choose another)")]
    Open {
        /// The log file path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// A global subscriber was already installed in this process.
    #[error("the diagnostic log is already initialised: {0}")]
    AlreadyInitialised(String),
}

/// Adds a string to the process-wide set of secrets that are redacted from the log.
pub fn register_secret(secret: &str) {
    if secret.chars().count() < MIN_SECRET_LEN {
        return;
    }
    // A poisoned lock still holds a usable list; redaction must keep working after a panic.
    let mut secrets = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
    if secrets.iter().any(|s| s == secret) {
        return;
    }
    secrets.push(secret.to_owned());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Removes a string from the redaction set (e.g. once a state token has expired).
pub fn forget_secret(secret: &str) {
    let mut secrets = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
    secrets.retain(|s| s != secret);
}

/// Registers the HTTP Basic form of a credential, `base64(client_id:client_secret)`, so it is
/// redacted wherever it shows up (a server echoing the Authorization header, say).
pub fn register_basic_credentials(client_id: &str, client_secret: &str) {
    use base64::Engine;
    let pair = format!("{client_id}:{client_secret}");
    let padded = base64::engine::general_purpose::STANDARD.encode(&pair);
    // Without padding, and URL-safe: other spellings of the same bytes.
    let bare = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&pair);
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&pair);
    register_secret(&padded);
    register_secret(&bare);
    register_secret(&url_safe);
}

/// Returns `text` with every registered secret replaced by `***`, and whatever follows an
/// authorization scheme (`Basic `, `Bearer `) too: a server quoting a header hands back a
/// credential this process may never have registered.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    let mut out = text.to_owned();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    drop(secrets);
    redact_auth_schemes(&out)
}

/// The authorization schemes whose credential (the next word) is always redacted.
const AUTH_SCHEMES: [&str; 2] = ["basic", "bearer"];

/// Replaces the word after `Basic` or `Bearer` (any case, followed by spaces) with `***`.
fn redact_auth_schemes(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut i = 0;
    while i < text.len() {
        let Some(scheme) = AUTH_SCHEMES
            .iter()
            .find(|s| lower[i..].starts_with(**s) && starts_word(&lower, i))
        else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let after = i + scheme.len();
        let spaces = text[after..].len() - text[after..].trim_start_matches([' ', '\t']).len();
        if spaces == 0 {
            i = after;
            continue;
        }
        let word_start = after + spaces;
        let word_len = text[word_start..]
            .find(|c: char| c.is_whitespace() || "\"',;<>()[]{}".contains(c))
            .unwrap_or(text.len() - word_start);
        if word_len == 0 || text[word_start..word_start + word_len] == *REDACTED {
            i = word_start;
            continue;
        }
        out.push_str(&text[rest..word_start]);
        out.push_str(REDACTED);
        rest = word_start + word_len;
        i = rest;
    }
    out.push_str(&text[rest..]);
    out
}

/// True when position `i` of `lower` does not continue a word (so "nonbasic" is left alone).
fn starts_word(lower: &str, i: usize) -> bool {
    lower[..i]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric())
}

/// Parses a level (`info`) or a directive list (`mfadesk=debug,hyper=warn,info`).
pub fn parse_level(level: &str) -> Result<Targets, LoggingError> {
    let invalid = |reason: String| LoggingError::InvalidLevel {
        level: level.to_owned(),
        reason,
    };
    if level.trim().is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    // A bare word is read by the directive parser as a target name at TRACE, so a typo such
    // as "inof" would silently log nothing of ours: insist that bare words are levels.
    for part in level.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !part.contains('=') && LevelFilter::from_str(part).is_err() {
            return Err(invalid(format!("{part:?} is not a level")));
        }
    }
    Targets::from_str(level.trim()).map_err(|e| invalid(e.to_string()))
}

/// Warnings from opening private files (a mode tightened to 0600), for the console's status line.
static OPEN_WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Takes the warnings collected while opening the log and the audit trail.
pub fn take_open_warnings() -> Vec<String> {
    std::mem::take(&mut *OPEN_WARNINGS.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Opens a file for appending, creating it (mode 0600 on unix) and its parent directories.
///
/// A symbolic link is never followed (O_NOFOLLOW): whoever can plant one could point the
/// audit trail or the log at another file. Anything but a regular file or a character device
/// is refused. An existing
/// file that group or others can read is set to 0600, with a warning kept for
/// [`take_open_warnings`].
/// Why a file that is not a regular file cannot hold records (None: it is a regular file).
/// `/dev/null` would swallow the trail, `/dev/full` fail every write, a FIFO block or feed
/// another process: each is refused at start with its reason.
pub fn not_a_regular_file(meta: &std::fs::Metadata) -> Option<String> {
    if meta.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        let kind = if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        Some(format!("it is {kind}, not a regular file"))
    }
    #[cfg(not(unix))]
    Some("it is not a regular file".to_owned())
}

/// Opens an existing file for reading, without blocking (a FIFO planted at the path must not
/// hang the reader), and only if `fstat` says it is a regular file.
pub(crate) fn open_regular_read(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if let Some(why) = not_a_regular_file(&file.metadata()?) {
        return Err(io::Error::other(why));
    }
    Ok(file)
}

pub(crate) fn open_private_append(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dirs(parent)?;
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(symlink_refused());
    }
    let mut options = OpenOptions::new();
    // Read too: a writer looks at the last byte to start a fresh line after a torn one.
    options.create(true).append(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only applies when the file is created; an existing file's mode is checked below.
        options.mode(0o600);
        // O_NOFOLLOW closes the race between the check above and the open; O_NONBLOCK keeps a
        // FIFO planted at the path from blocking the console (it is refused below).
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return symlink_refused();
        }
        e
    })?;
    // Checked on the open descriptor (fstat), so nothing can be swapped in after the check.
    let meta = file.metadata()?;
    if let Some(why) = not_a_regular_file(&meta) {
        return Err(io::Error::other(why));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            OPEN_WARNINGS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!(
                    "{} was readable by others (mode {mode:03o}); it is now 0600.",
                    path.display()
                ));
        }
    }
    Ok(file)
}

/// The error a symbolic link at a private file's path becomes.
fn symlink_refused() -> io::Error {
    io::Error::other("it is a symbolic link, which mfadesk does not follow")
}

/// Creates a directory and its parents, private to the owner on unix.
fn create_private_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A `MakeWriter` that appends redacted lines to one shared file.
#[derive(Clone, Debug)]
pub struct RedactingMakeWriter {
    file: Arc<Mutex<File>>,
}

impl RedactingMakeWriter {
    /// Opens (or creates, mode 0600) `path` for appending.
    pub fn open(path: &Path) -> Result<Self, LoggingError> {
        let file = open_private_append(path).map_err(|source| LoggingError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<'a> MakeWriter<'a> for RedactingMakeWriter {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            target: self.clone(),
            buf: Vec::new(),
        }
    }
}

/// Collects one formatted event, then redacts it and appends it to the file in one write.
///
/// Buffering the whole event means a secret split across several `write` calls is still caught.
#[derive(Debug)]
pub struct RedactingWriter {
    target: RedactingMakeWriter,
    buf: Vec<u8>,
}

impl RedactingWriter {
    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf);
        let line = redact(&text);
        self.buf.clear();
        let mut file = self.target.lock();
        file.write_all(line.as_bytes())?;
        file.flush()
    }
}

impl Write for RedactingWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        // Nowhere to report a failure from here, and the terminal is off limits.
        let _ = self.flush_buf();
    }
}

/// Builds the subscriber `init` installs, for use with `tracing::subscriber::with_default` in tests.
pub fn build_subscriber(
    log_file: &Path,
    level: &str,
) -> Result<impl Subscriber + Send + Sync + 'static, LoggingError> {
    let filter = parse_level(level)?;
    let writer = RedactingMakeWriter::open(log_file)?;
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(true)
        .with_writer(writer);
    Ok(tracing_subscriber::registry().with(layer).with(filter))
}

/// Proof that the global log is installed; lines are written synchronously, so dropping it loses nothing.
#[derive(Debug)]
pub struct LogGuard {
    path: PathBuf,
}

impl LogGuard {
    /// The file the log is written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Installs the global file logger: no ANSI colours, nothing on stdout or stderr.
pub fn init(log_file: &Path, level: &str) -> Result<LogGuard, LoggingError> {
    let subscriber = build_subscriber(log_file, level).inspect_err(|e| {
        // Said on stderr by the caller, but that scrolls away under the console: keep it for
        // the status line too.
        OPEN_WARNINGS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(format!("Diagnostic log disabled: {e}"));
    })?;
    subscriber
        .try_init()
        .map_err(|e| LoggingError::AlreadyInitialised(e.to_string()))?;
    Ok(LogGuard {
        path: log_file.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_replaces_longest_first() {
        register_secret("unit-abcdef");
        register_secret("unit-abcdef-longer");
        assert_eq!(redact("x unit-abcdef-longer y"), "x *** y");
        assert_eq!(redact("x unit-abcdef y"), "x *** y");
    }

    #[test]
    fn credentials_after_an_auth_scheme_are_redacted() {
        assert_eq!(
            redact("echo: Authorization: Basic dXNlcjpwYXNz, retry"),
            "echo: Authorization: Basic ***, retry"
        );
        assert_eq!(redact("got bearer abc.def-ghi"), "got bearer ***");
        assert_eq!(redact("\"BEARER  tok\""), "\"BEARER  ***\"");
        assert_eq!(redact("basic auth failed"), "basic *** failed");
        assert_eq!(redact("a basicly b"), "a basicly b");
        assert_eq!(redact("Basic"), "Basic");
        assert_eq!(redact("ünïcode Bearer é"), "ünïcode Bearer ***");
    }

    #[test]
    fn basic_credentials_are_redacted_in_every_spelling() {
        register_basic_credentials("unit-id", "unit-secret-value");
        // base64("unit-id:unit-secret-value")
        let b64 = "dW5pdC1pZDp1bml0LXNlY3JldC12YWx1ZQ==";
        assert_eq!(redact(&format!("x{b64}y")), "x***y");
    }

    #[test]
    fn tiny_strings_are_not_registered() {
        register_secret("q");
        assert_eq!(redact("quick"), "quick");
    }

    #[test]
    fn bad_level_is_an_error() {
        assert!(parse_level("info").is_ok());
        assert!(parse_level("mfadesk=debug,warn").is_ok());
        assert!(matches!(
            parse_level("loud!"),
            Err(LoggingError::InvalidLevel { .. })
        ));
    }
}
