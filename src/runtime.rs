//! The thin loop between the terminal, the state and the worker: events in, draw on change.

use std::io::{self, Write};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::api::{ApiError, Client, ErrorKind, ResponseMeta};
use crate::app::phone::{PhoneCmd, PhoneSnapshot};
use crate::app::{App, AuditNote, AuditResult, Cmd, Msg, StatusKind, update};
use crate::ui::view;
use crate::worker::{self, ApiEvent, ApiRequest, ApiResponse, WorkerMsg};

/// How often the spinner and countdowns advance (only while shown).
const TICK: Duration = Duration::from_millis(250);

/// The demo tenant's phone, as the console sees it.
pub trait PhoneSource: Send {
    /// What the phone shows now.
    fn snapshot(&self) -> PhoneSnapshot;
    /// Approve a pending push.
    fn approve(&self, state_token: &str) -> bool;
    /// Deny a pending push.
    fn deny(&self, state_token: &str) -> bool;
}

/// Where audit records go.
pub trait AuditSink: Send {
    /// Writes one record; the error text is shown to the agent.
    fn record(&mut self, note: &AuditNote) -> Result<(), String>;

    /// The file the trail is written to, for the audit view (None: this session only).
    fn trail_path(&self) -> Option<std::path::PathBuf> {
        None
    }
}

/// Called after every draw with the state and the drawn screen.
pub type DrawHook = Box<dyn FnMut(&App, &ratatui::buffer::Buffer) + Send>;

/// A future that resolves when the console must stop from outside.
pub type StopSignal = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Everything the loop needs besides the state: the outside world, injectable for tests.
pub struct Io {
    /// The API client the worker owns.
    pub client: Client,
    /// The demo phone (demo mode only).
    pub phone: Option<Box<dyn PhoneSource>>,
    /// The audit trail.
    pub audit: Option<Box<dyn AuditSink>>,
    /// Where OSC 52 clipboard sequences are written (the terminal).
    pub clipboard: Box<dyn Write + Send>,
    /// The clock.
    pub clock: fn() -> DateTime<Utc>,
    /// Called after every draw (tests read the screen here).
    pub on_draw: Option<DrawHook>,
    /// Resolves when the process is asked to stop (a signal): the console then quits cleanly.
    pub stop: Option<StopSignal>,
}

/// Failures of the loop itself (not of API calls, which the console shows).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Drawing to or reading from the terminal failed.
    #[error("terminal: {0}")]
    Terminal(String),
}

fn term_err(e: impl std::fmt::Display) -> RunError {
    RunError::Terminal(e.to_string())
}

/// Runs the console until the agent quits or the event stream ends; returns the final state.
pub async fn run<B, S>(
    mut app: App,
    terminal: &mut Terminal<B>,
    mut events: S,
    mut io: Io,
) -> Result<App, RunError>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    let (tx, mut rx) = worker::spawn(io.client.clone());
    // Results of local work off the loop (reading the audit file) come back here.
    let (local_tx, mut local_rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let tx = Senders {
        worker: tx,
        local: local_tx,
    };
    if let Ok(size) = terminal.size() {
        app.size = (size.width, size.height);
    }
    app.now = (io.clock)();
    let cmds = app.startup();
    execute(&mut app, cmds, &tx, &mut io);
    draw(&mut app, terminal, &mut io)?;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = io.stop.take();
    while !app.quit {
        let expiry = app.caller_check_expiry();
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(term_err(e)),
                // No more input: stop as if asked to, so open changes are settled.
                None => Msg::Terminate,
            },
            Some(ev) = rx.recv() => Msg::Api(Box::new(ev)),
            Some(msg) = local_rx.recv() => msg,
            _ = tick.tick(), if app.needs_tick() => Msg::Tick,
            // One wake when the open user's caller check expires, so the pane says so.
            () = wake_at(expiry, io.clock), if expiry.is_some() => Msg::Tick,
            () = async { if let Some(s) = stop.as_mut() { s.await } }, if stop.is_some() => {
                stop = None;
                Msg::Terminate
            }
        };
        handle(&mut app, msg, &tx, &mut io);
        // Fold in whatever else already arrived, then draw once.
        while let Ok(ev) = rx.try_recv() {
            handle(&mut app, Msg::Api(Box::new(ev)), &tx, &mut io);
        }
        draw(&mut app, terminal, &mut io)?;
    }
    Ok(app)
}

/// Sleeps until `at` by the console's clock (never, without a time).
async fn wake_at(at: Option<DateTime<Utc>>, clock: fn() -> DateTime<Utc>) {
    match at.and_then(|t| (t - clock()).to_std().ok()) {
        Some(left) => tokio::time::sleep(left).await,
        None if at.is_some() => {}
        None => std::future::pending().await,
    }
}

/// Where commands go: the worker for API calls, the loop itself for local results.
struct Senders {
    worker: tokio::sync::mpsc::UnboundedSender<WorkerMsg>,
    local: tokio::sync::mpsc::UnboundedSender<Msg>,
}

fn handle(app: &mut App, msg: Msg, tx: &Senders, io: &mut Io) {
    app.now = (io.clock)();
    let cmds = update(app, msg);
    execute(app, cmds, tx, io);
}

/// True for requests that change the tenant (and so need their attempt on record first).
fn is_change(req: &ApiRequest) -> bool {
    matches!(
        req,
        ApiRequest::Enroll { .. }
            | ApiRequest::VerifyRegistration { .. }
            | ApiRequest::Trigger { .. }
            | ApiRequest::Verify { .. }
            | ApiRequest::Remove { .. }
            | ApiRequest::MfaToken { .. }
            | ApiRequest::Unlock(_)
            | ApiRequest::Logout(_)
            | ApiRequest::Lock { .. }
    )
}

/// The answer a request gets when it is not sent: `error`, in that request's shape.
fn refused(req: &ApiRequest, error: ApiError) -> ApiResponse {
    match req {
        ApiRequest::Search(_) => ApiResponse::Search(Err(error)),
        ApiRequest::GetUser(_) => ApiResponse::User(Err(error)),
        ApiRequest::GetDevices(_) => ApiResponse::Devices(Err(error)),
        ApiRequest::GetFactors(_) => ApiResponse::Factors(Err(error)),
        ApiRequest::Enroll { .. } => ApiResponse::Enrolled(Err(error)),
        ApiRequest::VerifyRegistration { .. } | ApiRequest::PollRegistration { .. } => {
            ApiResponse::Registration(Err(error))
        }
        ApiRequest::Trigger { .. } => ApiResponse::Triggered(Err(error)),
        ApiRequest::Verify { .. } => ApiResponse::Verified(Err(error)),
        ApiRequest::Remove { .. } => ApiResponse::Removed(Err(error)),
        ApiRequest::MfaToken { .. } => ApiResponse::MfaToken(Err(error)),
        ApiRequest::RateLimit => ApiResponse::RateLimit(Err(error)),
        ApiRequest::Unlock(_) | ApiRequest::Logout(_) | ApiRequest::Lock { .. } => {
            ApiResponse::Account(Err(error))
        }
        ApiRequest::GetEvents { .. } => ApiResponse::Events(Err(error)),
    }
}

fn draw<B: Backend>(
    app: &mut App,
    terminal: &mut Terminal<B>,
    io: &mut Io,
) -> Result<(), RunError> {
    let frame = terminal.draw(|f| view(app, f)).map_err(term_err)?;
    if let Some(hook) = io.on_draw.as_mut() {
        hook(app, frame.buffer);
    }
    Ok(())
}

fn execute(app: &mut App, cmds: Vec<Cmd>, tx: &Senders, io: &mut Io) {
    let mut queue = std::collections::VecDeque::from(cmds);
    // Set when a change's attempt line could not be written: its request is not sent.
    let mut unaudited: Option<String> = None;
    while let Some(cmd) = queue.pop_front() {
        match cmd {
            Cmd::Request(id, req) if unaudited.is_some() && is_change(&req) => {
                let why = unaudited.take().unwrap_or_default();
                let error = ApiError::new(
                    ErrorKind::AuditUnavailable,
                    format!("Not sent. The audit trail cannot be written: {why}"),
                );
                let event = ApiEvent {
                    id,
                    response: refused(&req, error),
                    rate_limit: None,
                    meta: ResponseMeta::default(),
                    mfa_api: None,
                };
                queue.extend(update(app, Msg::Api(Box::new(event))));
            }
            Cmd::Request(id, req) => {
                if tx.worker.send(WorkerMsg::Request(id, req)).is_err() {
                    app.set_status(
                        StatusKind::Warning,
                        "The API worker stopped; restart mfadesk.",
                    );
                }
            }
            Cmd::Cancel(id) => {
                let _ = tx.worker.send(WorkerMsg::Cancel(id));
            }
            Cmd::Copy(secret) => {
                // Pasted into a shell, a newline or an escape (ESC[201~ ends bracketed paste)
                // would run: such text never reaches the clipboard.
                if secret.expose().chars().any(char::is_control) {
                    app.set_status(
                        StatusKind::Warning,
                        "Not copied: the text holds control characters.",
                    );
                    continue;
                }
                let b64 = base64::engine::general_purpose::STANDARD.encode(secret.expose());
                let ok =
                    write!(io.clipboard, "\x1b]52;c;{b64}\x07").and_then(|_| io.clipboard.flush());
                if ok.is_err() {
                    app.set_status(StatusKind::Warning, "Could not write to the clipboard.");
                }
            }
            Cmd::Phone(p) => {
                let Some(phone) = io.phone.as_ref() else {
                    continue;
                };
                match p {
                    PhoneCmd::Refresh => {
                        queue.extend(update(app, Msg::Phone(phone.snapshot())));
                    }
                    PhoneCmd::Approve(t) => {
                        phone.approve(&t);
                    }
                    PhoneCmd::Deny(t) => {
                        phone.deny(&t);
                    }
                }
            }
            Cmd::Audit(note) => {
                if let Some(sink) = io.audit.as_mut()
                    && let Err(e) = sink.record(&note)
                {
                    if note.outcome == AuditResult::Attempt {
                        unaudited = Some(e.clone());
                    }
                    app.set_status(StatusKind::Warning, format!("Audit trail not written: {e}"));
                }
            }
            Cmd::ReadAudit => {
                let local = tx.local.clone();
                match io.audit.as_ref().and_then(|a| a.trail_path()) {
                    // A long trail is read off the loop: keys keep working meanwhile.
                    Some(path) => {
                        tokio::task::spawn_blocking(move || {
                            let read = crate::audit::read_trail(&path).map_err(|e| e.to_string());
                            let _ = local.send(Msg::AuditRead(read));
                        });
                    }
                    None => {
                        let _ = local.send(Msg::AuditRead(Err(
                            "the audit trail is not written to a file in this session".into(),
                        )));
                    }
                }
            }
            Cmd::Coverage(cmd) => coverage(cmd, &io.client, &tx.local),
            Cmd::Quit => app.quit = true,
        }
    }
}

/// Shortest time between two progress messages of a background scan (each one redraws).
const SCAN_PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Reads the coverage report off the loop, or runs a scan in the background lane: the console
/// keeps its keys, and the agent's own calls never wait behind the scan's.
fn coverage(
    cmd: crate::app::coverage::CoverageCmd,
    client: &Client,
    local: &tokio::sync::mpsc::UnboundedSender<Msg>,
) {
    use crate::app::coverage::{CoverageCmd, CoverageMsg, USERS_SHOWN};
    let local = local.clone();
    match cmd {
        CoverageCmd::Load { store, category } => {
            tokio::task::spawn_blocking(move || {
                let report = crate::store::Store::open(store)
                    .and_then(|s| {
                        s.call_blocking(move |c| {
                            crate::coverage::build_report_limited(
                                c,
                                &[category],
                                Utc::now(),
                                USERS_SHOWN,
                            )
                        })
                    })
                    .map_err(|e| e.to_string());
                let _ = local.send(Msg::Coverage(CoverageMsg::Report(report)));
            });
        }
        CoverageCmd::Scan { store, policy } => {
            let client = client.clone();
            tokio::spawn(async move {
                let outcome = async {
                    let store = crate::store::Store::open(store).map_err(|e| e.to_string())?;
                    let lane = crate::lane::Lane::new(policy);
                    let last = std::sync::Mutex::new(None::<std::time::Instant>);
                    let progress = |p: &crate::coverage::ScanProgress| {
                        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                        if last.is_some_and(|t| t.elapsed() < SCAN_PROGRESS_EVERY) {
                            return;
                        }
                        *last = Some(std::time::Instant::now());
                        let _ = local.send(Msg::Coverage(CoverageMsg::Progress(p.clone())));
                    };
                    crate::coverage::scan(
                        &client,
                        &store,
                        &lane,
                        &crate::coverage::ScanOptions::default(),
                        &progress,
                    )
                    .await
                    .map_err(|e| e.to_string())
                }
                .await;
                let _ = local.send(Msg::Coverage(CoverageMsg::Done(outcome)));
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::api::{ClientConfig, Credentials, Secret};
    use crate::app::TenantInfo;
    use futures::FutureExt;

    #[derive(Clone, Default)]
    struct Clip(Arc<Mutex<Vec<u8>>>);

    impl Write for Clip {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn io_with(clip: &Clip) -> Io {
        let creds = Credentials {
            client_id: "id".into(),
            client_secret: Secret::new("unit-runtime-secret"),
        };
        Io {
            client: Client::new(ClientConfig::new("http://127.0.0.1:9", creds)).unwrap(),
            phone: None,
            audit: None,
            clipboard: Box::new(clip.clone()),
            clock: Utc::now,
            on_draw: None,
            stop: None,
        }
    }

    #[test]
    fn osc52_refuses_text_with_control_characters() {
        let clip = Clip::default();
        let mut io = io_with(&clip);
        let mut app = App::new(TenantInfo::default(), Utc::now());
        let (worker, _worker_rx) = tokio::sync::mpsc::unbounded_channel();
        let (local, _local_rx) = tokio::sync::mpsc::unbounded_channel();
        let tx = Senders { worker, local };
        for evil in ["abc\x1b[201~\nrm -rf ~\n", "a\rb", "tab\there", "x\u{9b}y"] {
            execute(&mut app, vec![Cmd::Copy(Secret::new(evil))], &tx, &mut io);
            assert!(clip.0.lock().unwrap().is_empty(), "{evil:?} was copied");
            let status = app
                .status
                .as_ref()
                .map(|s| s.text.clone())
                .unwrap_or_default();
            assert!(status.contains("Not copied"), "{status}");
        }
        execute(
            &mut app,
            vec![Cmd::Copy(Secret::new("Ab12Cd34"))],
            &tx,
            &mut io,
        );
        let written = String::from_utf8(clip.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "\x1b]52;c;QWIxMkNkMzQ=\x07");
    }

    fn fixed() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[tokio::test]
    async fn the_expiry_wake_fires_once_due_and_never_without_a_time() {
        let past = fixed() - chrono::Duration::seconds(1);
        assert!(wake_at(Some(past), fixed).now_or_never().is_some());
        let later = fixed() + chrono::Duration::minutes(15);
        assert!(wake_at(Some(later), fixed).now_or_never().is_none());
        assert!(wake_at(None, fixed).now_or_never().is_none());
    }
}
