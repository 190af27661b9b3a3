//! Demo tenant connection bounds: half-open connections are closed by the header-read
//! timeout and do not stop other clients, the cap is answered 503, and idle and body
//! timeouts close what stalls. Every wait is on a condition, bounded by a timeout.

mod sim_support;

use std::time::Duration;

use mfadesk::sim::{SimConfig, SimControl};
use serde_json::Value;
use sim_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Generous ceiling for anything that should happen within a short timeout.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until the tenant's open-connection count satisfies `f`.
async fn wait_until(control: &SimControl, what: &str, f: impl FnMut(&usize) -> bool) {
    let mut open = control.watch_connections();
    timeout(PATIENCE, open.wait_for(f))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap();
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = timeout(PATIENCE, s.read_to_end(&mut out))
        .await
        .expect("the server should close the connection");
    out
}

/// Reads one response (head and Content-Length body) without waiting for a close.
async fn read_response(s: &mut TcpStream) -> (u16, Value) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    timeout(PATIENCE, async {
        loop {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before a full response");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    return;
                }
            }
        }
    })
    .await
    .expect("a response");
    parse_response(&buf)
}

/// Status and JSON body of a raw response.
fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_half_open_connections_neither_block_others_nor_linger() {
    let sim = Sim::with(SimConfig {
        header_read_timeout: Duration::from_secs(5),
        ..SimConfig::default()
    })
    .await;
    let control = sim.tenant.control();
    let addr = sim.tenant.addr();
    let mut half_open = Vec::new();
    for _ in 0..2000 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // A request head that never ends.
        s.write_all(b"GET /api/2/users HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        half_open.push(s);
    }
    wait_until(&control, "2000 open connections", |n| *n >= 2000).await;
    // Another client is served while they hang.
    let t = sim.manage().await;
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
    // Every half-open connection is closed by the header-read timeout.
    for s in &mut half_open {
        read_to_close(s).await;
    }
    drop(sim.http);
    wait_until(&control, "no half-open connection left", |n| *n <= 1).await;
}

#[tokio::test]
async fn over_the_cap_is_503_in_onelogin_shape_until_a_slot_frees() {
    let sim = Sim::with(SimConfig {
        max_connections: 5,
        ..SimConfig::default()
    })
    .await;
    let control = sim.tenant.control();
    let addr = sim.tenant.addr();
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    wait_until(&control, "5 open connections", |n| *n == 5).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let (status, v) = parse_response(&read_to_close(&mut extra).await);
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["status"]["error"], true);
    assert_eq!(v["status"]["code"], 503);
    assert_eq!(v["status"]["message"], "Too many open connections");
    assert_eq!(control.open_connections(), 5);
    held.truncate(0);
    wait_until(&control, "slots freed", |n| *n == 0).await;
    let t = sim.manage().await;
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
}

#[tokio::test]
async fn stalled_heads_bodies_and_idle_keep_alives_are_closed() {
    let sim = Sim::with(SimConfig {
        header_read_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await;
    let control = sim.tenant.control();
    let addr = sim.tenant.addr();

    // A head that stops half way: closed, nothing answered.
    let mut head = TcpStream::connect(addr).await.unwrap();
    head.write_all(b"GET /_sim/pushes HTTP/1.1\r\nHost:")
        .await
        .unwrap();
    read_to_close(&mut head).await;

    // A body that stops half way: 408 in the v1 shape, then closed.
    let mut body = TcpStream::connect(addr).await.unwrap();
    body.write_all(b"POST /auth/oauth2/v2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{").await.unwrap();
    let (status, v) = parse_response(&read_to_close(&mut body).await);
    assert_eq!(status, 408, "{v}");
    assert_eq!(v["status"]["message"], "Request Timeout");

    // A kept-alive connection is answered, then closed once idle.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /_sim/pushes HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, v) = read_response(&mut idle).await;
    assert_eq!((status, v), (200, serde_json::json!([])));
    assert!(
        read_to_close(&mut idle).await.is_empty(),
        "closed without more data"
    );
    wait_until(&control, "all closed", |n| *n == 0).await;
}

/// Sends `head` (a whole request head) while reading; returns what came back before the close.
async fn send_head(s: &mut TcpStream, head: &str) -> Vec<u8> {
    let (mut rd, mut wr) = s.split();
    let write = async {
        // The tenant may close once it has answered: a failed write is no failure here.
        let _ = wr.write_all(head.as_bytes()).await;
    };
    let read = async {
        let mut out = Vec::new();
        let _ = timeout(PATIENCE, rd.read_to_end(&mut out))
            .await
            .expect("the server should answer and close");
        out
    };
    let ((), out) = tokio::join!(write, read);
    out
}

#[tokio::test]
async fn heads_over_64_kib_get_a_json_431_in_the_api_version_shape() {
    let sim = Sim::start().await;
    let addr = sim.tenant.addr();
    let big = "z".repeat(70 * 1024);
    let mut s = TcpStream::connect(addr).await.unwrap();
    let out = send_head(
        &mut s,
        &format!("GET /api/1/users/1/otp_devices HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"),
    )
    .await;
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
    let (status, body) = parse_response(&out);
    assert_eq!(status, 431);
    assert_eq!(body["status"]["error"], true, "{text}");
    assert_eq!(body["status"]["code"], 431, "{text}");
    assert_eq!(
        body["status"]["message"], "Request Header Fields Too Large",
        "{text}"
    );

    // A v2 path gets the v2 shape, even on a connection that already served a request.
    let t = sim.manage().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "GET /api/2/users/36216766 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (status, body) = read_response(&mut s).await;
    assert_eq!(status, 200, "{body}");
    let out = send_head(
        &mut s,
        &format!("GET /api/2/users HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nX-More: {big}\r\n\r\n"),
    )
    .await;
    let (status, body) = parse_response(&out);
    assert_eq!(status, 431, "{}", String::from_utf8_lossy(&out));
    assert_eq!(body["statusCode"], 431, "{body}");
    assert_eq!(body["name"], "RequestHeaderFieldsTooLargeError", "{body}");

    // Many small headers past 64 KiB in all are refused the same way.
    let many: String = (0..2000)
        .map(|i| format!("X-H{i}: {}\r\n", "v".repeat(40)))
        .collect();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let out = send_head(
        &mut s,
        &format!("GET /api/2/users HTTP/1.1\r\nHost: x\r\n{many}\r\n"),
    )
    .await;
    let (status, body) = parse_response(&out);
    assert_eq!(status, 431, "{}", String::from_utf8_lossy(&out));
    assert_eq!(body["name"], "RequestHeaderFieldsTooLargeError", "{body}");

    // The tenant goes on serving.
    assert_eq!(sim.get(&t, "/api/2/users/36216766").await.status(), 200);
}
