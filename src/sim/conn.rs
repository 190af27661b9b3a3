//! Our own accept loop and per-connection bounds: a connection cap answered with 503,
//! header-read, body and idle keep-alive timeouts, request size limits answered in
//! OneLogin's JSON shapes, and a handler panic turned into a 500 instead of escaping.

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use super::respond::{ApiError, v1_err, v2_err};

/// Largest request head we answer (request line plus headers); more is 431.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest request target; longer is 414.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// hyper's read buffer: heads past [`MAX_HEADER_BYTES`] still fit, so we can answer
/// them in JSON; only heads past this get hyper's own bare 431.
const READ_BUF_BYTES: usize = 64 * 1024;

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
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        let phase_tx = phase_tx.clone();
        async move {
            phase_tx.send_replace(Phase::Busy);
            let resp = answer(req, router, limits).await;
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
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
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
