//! The thin loop between the terminal, the state and the worker: events in, draw on change.

use std::io::{self, Write};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::api::Client;
use crate::app::phone::{PhoneCmd, PhoneSnapshot};
use crate::app::{App, AuditNote, Cmd, Msg, StatusKind, update};
use crate::ui::view;
use crate::worker::{self, WorkerMsg};

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

fn handle(
    app: &mut App,
    msg: Msg,
    tx: &tokio::sync::mpsc::UnboundedSender<WorkerMsg>,
    io: &mut Io,
) {
    app.now = (io.clock)();
    let cmds = update(app, msg);
    execute(app, cmds, tx, io);
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

fn execute(
    app: &mut App,
    cmds: Vec<Cmd>,
    tx: &tokio::sync::mpsc::UnboundedSender<WorkerMsg>,
    io: &mut Io,
) {
    let mut queue = std::collections::VecDeque::from(cmds);
    while let Some(cmd) = queue.pop_front() {
        match cmd {
            Cmd::Request(id, req) => {
                if tx.send(WorkerMsg::Request(id, req)).is_err() {
                    app.set_status(
                        StatusKind::Warning,
                        "The API worker stopped; restart mfadesk.",
                    );
                }
            }
            Cmd::Cancel(id) => {
                let _ = tx.send(WorkerMsg::Cancel(id));
            }
            Cmd::Copy(secret) => {
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
                    app.set_status(StatusKind::Warning, format!("Audit trail not written: {e}"));
                }
            }
            Cmd::Quit => app.quit = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

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
