//! The real binary in a pseudo-terminal: demo start, search, help, quit, and the terminal is
//! restored — also after a panic; NO_COLOR emits no colour. Output is read on a thread and every
//! wait has a deadline; a child still running at the end is killed.

#![cfg(unix)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, PtySize, native_pty_system};

const COLS: NonZeroU16 = NonZeroU16::new(100).unwrap();
const ROWS: NonZeroU16 = NonZeroU16::new(30).unwrap();
const DEADLINE: Duration = Duration::from_secs(20);

/// What the child wrote, raw and as a screen.
struct Output {
    bytes: Vec<u8>,
    parser: vt100::Parser,
}

struct Session {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Output>>,
    _home: tempfile::TempDir,
}

impl Session {
    /// Starts mfadesk in a fresh home with no credentials, plus `env`.
    fn start(env: &[(&str, &str)]) -> Session {
        let home = tempfile::tempdir().unwrap();
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS.get(),
                cols: COLS.get(),
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_mfadesk"));
        cmd.env_clear();
        let path = |sub: &str| {
            let p = home.path().join(sub);
            std::fs::create_dir_all(&p).unwrap();
            p
        };
        cmd.env("HOME", home.path());
        cmd.env("XDG_CONFIG_HOME", path("config"));
        cmd.env("XDG_DATA_HOME", path("data"));
        cmd.env("XDG_STATE_HOME", path("state"));
        cmd.env("XDG_CACHE_HOME", path("cache"));
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(home.path());
        let child = pair.slave.spawn_command(cmd).expect("mfadesk starts");
        // Only the child holds the slave now, so the reader sees the end when it exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output = Arc::new(Mutex::new(Output {
            bytes: Vec::new(),
            parser: vt100::Parser::new(ROWS, COLS, 0),
        }));
        let sink = output.clone();
        std::thread::spawn(move || {
            // Keeps the master open as long as the reader runs.
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut out = sink.lock().unwrap();
                out.bytes.extend_from_slice(&buf[..n]);
                out.parser.process(&buf[..n]);
            }
        });
        Session {
            child,
            writer,
            output,
            _home: home,
        }
    }

    fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn screen(&self) -> String {
        self.output.lock().unwrap().parser.screen().contents()
    }

    fn bytes(&self) -> Vec<u8> {
        self.output.lock().unwrap().bytes.clone()
    }

    /// Polls the screen until it satisfies `pred`; kills the child and fails at the deadline.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if pred(&self.screen()) {
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("timed out waiting for {what}; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_text(&mut self, text: &str) {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text));
    }

    /// Waits for the child to exit and for its last output; kills it at the deadline.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("mfadesk did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader may still be draining the last bytes: wait until the output stops growing.
        let mut seen = usize::MAX;
        let settle = Instant::now() + Duration::from_secs(2);
        while Instant::now() < settle {
            let n = self.output.lock().unwrap().bytes.len();
            if n == seen {
                break;
            }
            seen = n;
            std::thread::sleep(Duration::from_millis(50));
        }
        status
    }

    /// The terminal as the child left it: main screen, cursor shown.
    fn assert_restored(&self) {
        let bytes = self.bytes();
        let text = String::from_utf8_lossy(&bytes);
        let enter = text
            .rfind("\x1b[?1049h")
            .expect("entered the alternate screen");
        let leave = text
            .rfind("\x1b[?1049l")
            .expect("left the alternate screen");
        assert!(
            leave > enter,
            "the alternate screen is left after it is entered"
        );
        let out = self.output.lock().unwrap();
        let screen = out.parser.screen();
        assert!(!screen.alternate_screen(), "back on the main screen");
        assert!(!screen.hide_cursor(), "the cursor is visible");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// True when the output holds an SGR sequence that sets a colour.
fn has_colour(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let mut rest = text.as_ref();
    while let Some(i) = rest.find("\x1b[") {
        rest = &rest[i + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
            .unwrap_or(rest.len());
        if rest[end..].starts_with('m') {
            let colour = rest[..end]
                .split([';', ':'])
                .filter_map(|p| p.parse::<u16>().ok())
                .any(|n| matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107));
            if colour {
                return true;
            }
        }
        rest = &rest[end..];
    }
    false
}

/// Search, help, quit: the path every smoke test walks.
fn search_help_quit(s: &mut Session) {
    s.wait_for("the console with the demo tenant", |t| {
        t.contains("DEMO") && t.contains("API ")
    });
    s.send("/");
    s.send("kelly");
    s.send("\r");
    s.wait_text("Kelly Slater");
    s.wait_text("Kelly Smith");
    s.send("?");
    s.wait_text("┌ Help");
    // Esc and then q too quickly would read as Alt-q: wait for the help to close first.
    s.send("\x1b");
    // The help's title is its only line sure to be on screen (the rest scrolls).
    s.wait_for("help closed", |t| !t.contains("┌ Help"));
    s.send("q");
}

#[test]
fn demo_search_help_quit_restores_the_terminal() {
    let mut s = Session::start(&[]);
    search_help_quit(&mut s);
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
    let bytes = s.bytes();
    let text = String::from_utf8_lossy(&bytes);
    let leave = text.rfind("\x1b[?1049l").unwrap();
    assert!(
        text[leave..].contains("\x1b[?25h") || !text.contains("\x1b[?25l"),
        "the cursor is shown again on exit"
    );
    assert!(
        has_colour(&bytes),
        "colours by default (checks the checker)"
    );
}

#[test]
fn a_panic_restores_the_terminal_and_prints_the_message() {
    let mut s = Session::start(&[("MFADESK_DEBUG_PANIC", "1")]);
    let status = s.wait_exit();
    assert!(!status.success(), "a panic exits non-zero");
    s.assert_restored();
    let bytes = s.bytes();
    let text = String::from_utf8_lossy(&bytes);
    let leave = text.rfind("\x1b[?1049l").unwrap();
    assert!(
        text[leave..].contains("forced panic"),
        "the message is printed after the terminal is restored:\n{text}"
    );
    let on = text
        .rfind("\x1b[?2004h")
        .expect("bracketed paste was enabled");
    let off = text.rfind("\x1b[?2004l");
    assert!(
        off.is_some_and(|off| off > on),
        "a panic turns bracketed paste off again"
    );
}

#[test]
fn no_color_emits_no_colour_codes() {
    let mut s = Session::start(&[("NO_COLOR", "1")]);
    search_help_quit(&mut s);
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
    assert!(
        !has_colour(&s.bytes()),
        "NO_COLOR output holds a colour code"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut s = Session::start(&[]);
    s.wait_text("DEMO");
    let pid = s.child.process_id().expect("a pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 128 + 15, "128 + SIGTERM");
    s.assert_restored();
}

#[test]
fn sigquit_restores_the_terminal_and_exits_131() {
    let mut s = Session::start(&[]);
    s.wait_text("DEMO");
    let pid = s.child.process_id().expect("a pid");
    let killed = std::process::Command::new("kill")
        .args(["-QUIT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 128 + 3, "128 + SIGQUIT");
    s.assert_restored();
}

#[test]
fn a_background_panic_leaves_the_console_running_in_raw_mode() {
    let mut s = Session::start(&[("MFADESK_DEBUG_BACKGROUND_PANIC", "1")]);
    s.wait_text("DEMO");
    // Still drawing, and keys still arrive one by one (a cooked terminal would wait for Enter).
    s.send("?");
    s.wait_text("┌ Help");
    let text = String::from_utf8_lossy(&s.bytes()).to_string();
    assert!(
        !text.contains("\x1b[?1049l"),
        "the alternate screen was not left while running"
    );
    assert!(
        !text.contains("forced background panic"),
        "nothing is printed over the screen"
    );
    s.send("\x1b");
    s.wait_for("help closed", |t| !t.contains("┌ Help"));
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

/// Sends one raw HTTP request to the demo tenant and reads what comes back (if anything).
fn poke(port: u16, request_line: &str) {
    use std::io::{Read, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        stream,
        "{request_line} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
}

#[test]
fn a_request_that_upsets_the_demo_tenant_leaves_the_console_drawing() {
    let mut s = Session::start(&[]);
    s.wait_text("DEMO");
    let screen = s.screen();
    let port: u16 = screen
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .expect("the header shows the demo tenant's address");
    // A clock jump to the end of time (it panicked a handler once), then ordinary requests.
    poke(port, "POST /_sim/clock/advance?seconds=9223372036854775807");
    poke(port, "GET /api/2/users");
    s.send("?");
    s.wait_text("┌ Help");
    let text = String::from_utf8_lossy(&s.bytes()).to_string();
    assert!(
        !text.contains("\x1b[?1049l"),
        "the terminal was not handed back while the console runs"
    );
    assert!(
        !text.contains("panicked"),
        "no panic message over the screen"
    );
    s.send("\x1b");
    s.wait_for("help closed", |t| !t.contains("┌ Help"));
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

/// A paste is text for the focused field, never keys: with Kelly open, a paste of
/// `Kelly<Tab>dy` (once moving focus to the devices and removing one) opens no dialog and sends
/// nothing; with the search box focused it becomes its text, Tab removed.
#[test]
fn a_bracketed_paste_is_text_never_keys() {
    use mfadesk::sim::{DemoTenant, RouteKind, SimConfig};
    const KELLY: i64 = 36216766;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tenant = rt
        .block_on(DemoTenant::start(SimConfig::default()))
        .unwrap();
    let control = tenant.control();
    let base_url = tenant.base_url();
    let devices_before = control.devices(KELLY).len();
    let mut s = Session::start(&[
        ("ONELOGIN_CLIENT_ID", "demo-manage"),
        ("ONELOGIN_CLIENT_SECRET", "demo-manage-secret"),
        ("ONELOGIN_BASE_URL", &base_url),
    ]);
    s.wait_text("API ");
    let text = String::from_utf8_lossy(&s.bytes()).to_string();
    assert!(
        text.contains("\x1b[?2004h"),
        "bracketed paste is enabled at start"
    );
    s.send("/kelly\r");
    s.wait_text("Kelly Smith");
    s.send("\r");
    s.wait_text("Enrolled");
    s.wait_for("Kelly's devices", |t| t.contains("active"));
    // The devices pane has focus once the user opens: `d` there once opened the remove dialog.
    let sent = control.request_count(RouteKind::Any);
    s.send("\x1b[200~Kelly\tdy\x1b[201~");
    s.wait_text("Paste ignored: no text field has focus");
    let screen = s.screen();
    assert!(
        !screen.contains("Remove") || !screen.contains("Cancel"),
        "no remove dialog opened:\n{screen}"
    );
    assert_eq!(
        control.request_count(RouteKind::Any),
        sent,
        "no request reached the tenant"
    );
    assert_eq!(
        control.devices(KELLY).len(),
        devices_before,
        "nothing removed"
    );
    // With the search box focused the paste is its text, Tab and all control characters gone.
    s.send("/");
    s.send("\x1b[200~Kelly\tdy\r\nsecond line\x1b[201~");
    s.wait_text("Kellydy");
    let screen = s.screen();
    assert!(
        !screen.contains("second line"),
        "only the first line is kept"
    );
    assert_eq!(
        control.request_count(RouteKind::Any),
        sent,
        "a paste into the search box sends nothing (only Enter searches)"
    );
    // Ctrl-C quits from the search box too (nothing is in flight).
    s.send("\x03");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
    let text = String::from_utf8_lossy(&s.bytes()).to_string();
    let on = text.rfind("\x1b[?2004h").unwrap();
    let off = text
        .rfind("\x1b[?2004l")
        .expect("bracketed paste is disabled on exit");
    assert!(off > on, "disabled after it was enabled");
    assert_eq!(control.devices(KELLY).len(), devices_before);
    drop(rt);
}
