//! Our own accept loop and per-connection bounds: a connection cap answered with 503,
//! header-read, body and idle keep-alive timeouts, request size limits answered in
//! OneLogin's JSON shapes, and a handler panic turned into a 500 instead of escaping.

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use super::respond::{ApiError, v1_err, v2_err};

/// Largest request head we answer (request line plus headers); more is 431.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest request target; longer is 414.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest request head read at all: [`HeadGuard`] answers a longer one 431 in JSON itself.
const MAX_HEAD_READ: usize = 64 * 1024;
/// hyper's read buffer: heads past [`MAX_HEADER_BYTES`] still fit, so [`answer`] refuses them in
/// JSON; it is larger than [`MAX_HEAD_READ`] so hyper never refuses a head with its own bare 431.
const READ_BUF_BYTES: usize = MAX_HEAD_READ + 16 * 1024;
/// How much of an oversized head is read and dropped before the 431 goes out: closing with
/// unread bytes would reset the connection and lose the answer.
const MAX_HEAD_DISCARD: usize = 1024 * 1024;

/// The bounds every connection is held to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// From accepting a connection to its first complete request head.
    pub header_read: Duration,
    /// For the whole request body once the head is in.
    pub body: Duration,
    /// From one answer to the next complete request head on a kept-alive connection.
    pub idle: Duration,
    /// Open connections at most; more are answered 503 and closed.
    pub max_connections: usize,
    /// Largest request body; more is 413.
    pub max_body_bytes: usize,
}

/// Marks a response whose connection must be closed instead of answered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

/// The error that makes hyper close a connection without writing a response.
#[derive(Debug, thiserror::Error)]
#[error("connection closed by fault injection")]
struct Dropped;

/// Where a connection is between requests.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// No request yet (hyper's header-read timeout applies).
    Fresh,
    /// A request is being read or answered.
    Busy,
    /// Answered; idle since then.
    Idle(Instant),
}

thread_local! {
    /// True while this thread polls a demo-tenant request.
    static IN_REQUEST: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is running a demo-tenant request handler: a panic hook can
/// ask this to tell a tenant panic (answered 500, the program goes on) from its own.
pub fn handling_request() -> bool {
    IN_REQUEST.with(Cell::get)
}

/// Polls a future with [`handling_request`] true.
struct InRequest<F>(Pin<Box<F>>);

impl<F: Future> Future for InRequest<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let before = IN_REQUEST.with(|c| c.replace(true));
        let out = self.0.as_mut().poll(cx);
        IN_REQUEST.with(|c| c.set(before));
        out
    }
}

/// Accepts connections until told to stop; each connection stops with it.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    open: Arc<watch::Sender<usize>>,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let stream = tokio::select! {
            _ = stopped(&mut stop) => return,
            res = listener.accept() => match res {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Usually out of file descriptors: back off briefly instead of spinning.
                    tracing::warn!("demo tenant accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refuse(&stream);
            continue;
        };
        let router = router.clone();
        let stop = stop.clone();
        let open = open.clone();
        open.send_modify(|n| *n += 1);
        tokio::spawn(async move {
            serve(stream, router, limits, stop).await;
            drop(permit);
            open.send_modify(|n| *n = n.saturating_sub(1));
        });
    }
}

/// Answers 503 on a connection over the cap without waiting for it, then closes it.
fn refuse(stream: &TcpStream) {
    // Read what already arrived so closing sends FIN, not a reset that hides the answer.
    let mut sink = [0u8; 4096];
    while matches!(stream.try_read(&mut sink), Ok(n) if n > 0) {}
    let body = r#"{"status":{"error":true,"code":503,"type":"Service Unavailable","message":"Too many open connections"}}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // A fresh socket's send buffer takes this at once; if not, the client just sees a close.
    let _ = stream.try_write(head.as_bytes());
}

/// Serves one connection under the limits.
async fn serve(stream: TcpStream, router: Router, limits: Limits, mut stop: watch::Receiver<bool>) {
    let (phase_tx, mut phase_rx) = watch::channel(Phase::Fresh);
    let phase_tx = Arc::new(phase_tx);
    let guard = HeadGuard::new(stream);
    let next_head = guard.next_head.clone();
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        let phase_tx = phase_tx.clone();
        let next_head = next_head.clone();
        async move {
            phase_tx.send_replace(Phase::Busy);
            let resp = answer(req, router, limits).await;
            // The body has been read: what arrives next is the next request's head.
            next_head.store(true, Ordering::Release);
            phase_tx.send_replace(Phase::Idle(Instant::now()));
            if resp.extensions().get::<DropConnection>().is_some() {
                return Err(Dropped);
            }
            Ok(resp)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(READ_BUF_BYTES);
    let conn = builder.serve_connection(TokioIo::new(guard), svc);
    let mut conn = std::pin::pin!(conn);
    loop {
        let phase = *phase_rx.borrow_and_update();
        let idle_over = async move {
            match phase {
                Phase::Idle(since) => tokio::time::sleep_until(since + limits.idle).await,
                Phase::Fresh | Phase::Busy => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = stopped(&mut stop) => return,
            _ = idle_over => return,
            changed = phase_rx.changed() => {
                if changed.is_err() {
                    // The service is gone, so the connection is finishing: let it.
                    let _ = conn.as_mut().await;
                    return;
                }
            }
        }
    }
}

/// Checks the head, reads the body within its limits, runs the router and turns a
/// panic into a 500.
async fn answer(req: hyper::Request<Incoming>, router: Router, limits: Limits) -> Response {
    let v2 = req.uri().path().starts_with("/api/2/");
    let reject = |code: u16, name: &'static str, message: &str| {
        let err: ApiError = if v2 {
            v2_err(code, name, message)
        } else {
            v1_err(code, message)
        };
        let mut r = err.into_response();
        // The rest of the request is not read, so the connection cannot carry another.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    let uri_bytes = req.uri().to_string().len();
    let head_bytes = uri_bytes
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if uri_bytes > MAX_URI_BYTES {
        return reject(414, "URITooLongError", "URI Too Long");
    }
    if head_bytes > MAX_HEADER_BYTES {
        return reject(
            431,
            "RequestHeaderFieldsTooLargeError",
            "Request Header Fields Too Large",
        );
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let too_large = || reject(413, "PayloadTooLargeError", "Request Entity Too Large");
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let read = read_body(Body::new(body), limits.max_body_bytes);
    let bytes = match tokio::time::timeout(limits.body, read).await {
        Err(_) => return reject(408, "RequestTimeoutError", "Request Timeout"),
        Ok(Err(BodyError::TooLarge)) => return too_large(),
        Ok(Err(BodyError::Broken)) => {
            return reject(400, "BadRequestError", "Request body could not be read");
        }
        Ok(Ok(b)) => b,
    };
    let req = axum::extract::Request::from_parts(parts, Body::from(bytes));
    let run = InRequest(Box::pin(
        AssertUnwindSafe(router.oneshot(req)).catch_unwind(),
    ));
    match run.await {
        Ok(Ok(resp)) => resp,
        Err(_) => {
            tracing::error!("demo tenant handler panicked; answered 500");
            reject(500, "InternalServerError", "Internal Server Error")
        }
    }
}

/// Why a request body could not be read.
enum BodyError {
    /// It passed the size limit.
    TooLarge,
    /// The client broke off or sent bad chunking.
    Broken,
}

/// Reads a whole body, stopping as soon as it passes `max` bytes.
async fn read_body(body: Body, max: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if buf.len().saturating_add(chunk.len()) > max {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// Resolves once shutdown is signalled (or the sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // Drop the borrow guard here: it is not Send.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Most header fields in a head: hyper's own limit (its default), so a head with more is
/// refused here, in JSON, before hyper refuses it with a bare 431.
const MAX_HEADER_FIELDS: usize = 100;

/// Finds the blank line that ends a request head, across reads (CRLF or bare LF line ends),
/// counting the lines before it.
#[derive(Clone, Copy, Debug)]
struct HeadEnd {
    /// 0: inside a line; 1: just after a line end; 2: after a line end and a CR; 3: before
    /// the request line (empty lines there are skipped, as hyper skips them).
    state: u8,
    /// Lines ended so far: the request line and each header field.
    lines: usize,
}

impl Default for HeadEnd {
    fn default() -> Self {
        HeadEnd { state: 3, lines: 0 }
    }
}

impl HeadEnd {
    /// The index just past the head's end in `bytes`, if it ends there.
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            self.state = match (self.state, b) {
                (3, b'\r' | b'\n') => 3,
                (1 | 2, b'\n') => {
                    self.state = 3;
                    return Some(i + 1);
                }
                (1, b'\r') => 2,
                (_, b'\n') => {
                    self.lines += 1;
                    1
                }
                _ => 0,
            };
        }
        None
    }

    /// More header fields than hyper takes.
    fn too_many_fields(&self) -> bool {
        self.lines > MAX_HEADER_FIELDS + 1
    }
}

/// Where a [`HeadGuard`] is in the stream.
enum GuardState {
    /// Reading a request head: its bytes so far and its first bytes (for the request target).
    Head {
        read: usize,
        end: HeadEnd,
        start: Vec<u8>,
    },
    /// The head is in: the body and the answer pass untouched.
    Passing,
    /// The head is too long: reading and dropping the rest of it.
    Discarding { read: usize, end: HeadEnd, v2: bool },
    /// Writing the 431.
    Answering { bytes: Vec<u8>, written: usize },
    /// Answered: hyper sees the end of the stream and closes the connection.
    Done,
}

/// The connection as hyper reads it: a request head longer than [`MAX_HEAD_READ`] never
/// reaches hyper (whose own 431 has no body); it is answered 431 in OneLogin's JSON shape for
/// its API version, and the connection closed.
struct HeadGuard {
    inner: TcpStream,
    /// Set once an answer is done: the next bytes start a new head.
    next_head: Arc<AtomicBool>,
    state: GuardState,
}

/// How many bytes of a head are kept to find its request target.
const HEAD_START_BYTES: usize = 512;

impl HeadGuard {
    fn new(inner: TcpStream) -> HeadGuard {
        HeadGuard {
            inner,
            next_head: Arc::new(AtomicBool::new(false)),
            state: GuardState::fresh_head(),
        }
    }

    /// The 431 response for an oversized head, in v1 or v2 shape.
    fn refusal(v2: bool) -> Vec<u8> {
        let err = if v2 {
            v2_err(
                431,
                "RequestHeaderFieldsTooLargeError",
                "Request Header Fields Too Large",
            )
        } else {
            v1_err(431, "Request Header Fields Too Large")
        };
        let (_, body) = err.parts();
        let body = body.to_string();
        format!(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

impl GuardState {
    fn fresh_head() -> GuardState {
        GuardState::Head {
            read: 0,
            end: HeadEnd::default(),
            start: Vec::new(),
        }
    }
}

/// True when the request line's target is a v2 API path (origin or absolute form).
fn targets_v2(head_start: &[u8]) -> bool {
    let line = head_start.split(|&b| b == b'\n').next().unwrap_or_default();
    let target = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
    let path = match target.windows(3).position(|w| w == b"://") {
        Some(i) => {
            let rest = &target[i + 3..];
            rest.iter()
                .position(|&b| b == b'/')
                .map_or(&[][..], |j| &rest[j..])
        }
        None => target,
    };
    path.starts_with(b"/api/2/")
}

impl AsyncRead for HeadGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                GuardState::Passing => {
                    if this.next_head.swap(false, Ordering::AcqRel) {
                        this.state = GuardState::fresh_head();
                        continue;
                    }
                    return Pin::new(&mut this.inner).poll_read(cx, buf);
                }
                GuardState::Head { read, end, start } => {
                    let before = buf.filled().len();
                    ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                    let new = &buf.filled()[before..];
                    if new.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    let keep = HEAD_START_BYTES.saturating_sub(start.len()).min(new.len());
                    start.extend_from_slice(&new[..keep]);
                    let found = end.scan(new);
                    let fits = |len: usize| len <= MAX_HEAD_READ && !end.too_many_fields();
                    match found {
                        Some(at) if fits(*read + at) => {
                            this.state = GuardState::Passing;
                            return Poll::Ready(Ok(()));
                        }
                        None if fits(*read + new.len()) => {
                            *read += new.len();
                            return Poll::Ready(Ok(()));
                        }
                        // Over the limit: hyper gets none of these bytes.
                        Some(_) => {
                            buf.set_filled(before);
                            this.state = GuardState::Answering {
                                bytes: HeadGuard::refusal(targets_v2(start)),
                                written: 0,
                            };
                        }
                        None => {
                            let read = *read + new.len();
                            let end = *end;
                            let v2 = targets_v2(start);
                            buf.set_filled(before);
                            this.state = GuardState::Discarding { read, end, v2 };
                        }
                    }
                }
                GuardState::Discarding { read, end, v2 } => {
                    let mut scratch = [0u8; 8192];
                    let mut sink = ReadBuf::new(&mut scratch);
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut sink))?;
                    let new = sink.filled();
                    *read += new.len();
                    if new.is_empty() || end.scan(new).is_some() || *read > MAX_HEAD_DISCARD {
                        this.state = GuardState::Answering {
                            bytes: HeadGuard::refusal(*v2),
                            written: 0,
                        };
                    }
                }
                GuardState::Answering { bytes, written } => {
                    while *written < bytes.len() {
                        let n =
                            ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]))?;
                        if n == 0 {
                            return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                        }
                        *written += n;
                    }
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    this.state = GuardState::Done;
                }
                GuardState::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl AsyncWrite for HeadGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_end_is_found_across_reads_and_line_ends() {
        let mut end = HeadEnd::default();
        assert_eq!(end.scan(b"\r\nGET / HTTP/1.1\r\nHost: x\r"), None);
        assert_eq!(end.scan(b"\n\r"), None);
        assert_eq!(end.scan(b"\nbody"), Some(1));
        assert_eq!(end.lines, 2);
        let mut end = HeadEnd::default();
        assert_eq!(end.scan(b"GET / HTTP/1.1\nA: b\n\nrest"), Some(21));
        let mut end = HeadEnd::default();
        let many: String = (0..=MAX_HEADER_FIELDS)
            .map(|i| format!("H{i}: v\r\n"))
            .collect();
        assert_eq!(
            end.scan(format!("GET / HTTP/1.1\r\n{many}").as_bytes()),
            None
        );
        assert!(end.too_many_fields());
    }

    #[test]
    fn the_request_target_picks_the_error_shape() {
        assert!(targets_v2(b"GET /api/2/users HTTP/1.1\r\nHost"));
        assert!(targets_v2(b"GET http://h:1/api/2/users HTTP/1.1"));
        assert!(!targets_v2(b"GET /api/1/users HTTP/1.1"));
        assert!(!targets_v2(b"GET"));
    }
}
