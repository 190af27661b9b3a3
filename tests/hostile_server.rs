//! The client against a hostile server impersonating OneLogin: a small raw HTTP server on
//! 127.0.0.1 port 0 that answers the token endpoint properly and everything else with what
//! the test scripts (an endless body, a huge Content-Length, a huge name, an expiry in 2999,
//! a token aimed at a shell, messages echoing credentials).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use mfadesk::api::client::MAX_BODY_BYTES;
use mfadesk::api::wire::TEXT_LIMIT;
use mfadesk::api::{ApiError, Client, ClientConfig, Credentials, DeviceId, ErrorKind, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CLIENT_ID: &str = "hostile-client-id";
const SECRET: &str = "hostile-client-secret-0123";
const ACCESS: &str = "hostile-access-token-abcdef";

/// What the server sends for a non-token request.
#[derive(Clone)]
enum Answer {
    /// A complete response: status and JSON body.
    Json(u16, String),
    /// Headers saying an enormous Content-Length, a little body, then the connection held open.
    HugeLength,
    /// A chunked body that never ends.
    Endless,
}

type Script = Arc<dyn Fn(&str) -> Answer + Send + Sync>;

/// Reads one request's head (and its declared body); returns the request line.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    head.lines().next().map(str::to_owned)
}

fn json_response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn serve_one(mut stream: TcpStream, script: Script) {
    let Some(line) = read_request(&mut stream).await else {
        return;
    };
    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
    let answer = if path.starts_with("/auth/oauth2/v2/token") {
        Answer::Json(
            200,
            format!(r#"{{"access_token":"{ACCESS}","expires_in":36000,"token_type":"bearer"}}"#),
        )
    } else {
        script(&path)
    };
    match answer {
        Answer::Json(status, body) => {
            let _ = stream.write_all(&json_response(status, &body)).await;
        }
        Answer::HugeLength => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000000\r\n\r\n{\"a\":";
            if stream.write_all(head.as_bytes()).await.is_ok() {
                // Hold the connection: a client that believed the length would wait for ever.
                let mut sink = [0u8; 64];
                let _ = stream.read(&mut sink).await;
            }
        }
        Answer::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let payload = vec![b' '; 64 * 1024];
            let mut chunk = format!("{:x}\r\n", payload.len()).into_bytes();
            chunk.extend_from_slice(&payload);
            chunk.extend_from_slice(b"\r\n");
            // Until the client hangs up.
            while stream.write_all(&chunk).await.is_ok() {}
        }
    }
}

/// Starts the server; returns a client pointed at it.
async fn hostile(script: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Client {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let script: Script = Arc::new(script);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_one(stream, script.clone()));
        }
    });
    let mut config = ClientConfig::new(
        format!("http://{addr}"),
        Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(SECRET),
        },
    );
    config.retry = mfadesk::api::RetryPolicy::none();
    config.request_timeout = Duration::from_secs(20);
    Client::new(config).unwrap()
}

fn err<T: std::fmt::Debug>(r: Result<T, ApiError>) -> ApiError {
    match r {
        Err(e) => e,
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[tokio::test]
async fn an_endless_body_ends_as_response_too_large() {
    let client = hostile(|_| Answer::Endless).await;
    let e = err(client.get_user(1).await);
    assert_eq!(e.kind, ErrorKind::MalformedResponse);
    assert_eq!(e.message, "response too large");
}

#[tokio::test]
async fn a_huge_content_length_is_refused_before_reading() {
    let client = hostile(|_| Answer::HugeLength).await;
    // Bounded: the refusal comes from the header, not from a timeout.
    let e = tokio::time::timeout(Duration::from_secs(15), client.get_user(1))
        .await
        .expect("a huge Content-Length must be refused without waiting for the body");
    let e = err(e);
    assert_eq!(e.kind, ErrorKind::MalformedResponse);
    assert_eq!(e.message, "response too large");
}

#[tokio::test]
async fn a_body_just_over_the_cap_is_too_large() {
    let name = "x".repeat(MAX_BODY_BYTES);
    let body = format!(r#"{{"id":1,"firstname":"{name}"}}"#);
    let client = hostile(move |_| Answer::Json(200, body.clone())).await;
    let e = err(client.get_user(1).await);
    assert_eq!(e.message, "response too large");
}

#[tokio::test]
async fn a_huge_name_is_cut_when_decoded() {
    // 3 MB twice: under the body cap, so it is decoded, and must come out short.
    let name = "K".repeat(3_000_000);
    let body = format!(r#"{{"id":1,"firstname":"{name}","email":"{name}@acme.com"}}"#);
    let client = hostile(move |_| Answer::Json(200, body.clone())).await;
    let user = client.get_user(1).await.unwrap();
    let first = user.firstname.unwrap();
    assert!(first.chars().count() <= TEXT_LIMIT + 1, "{}", first.len());
    assert!(first.starts_with("KKKK"));
    assert!(user.email.unwrap().chars().count() <= TEXT_LIMIT + 1);
}

#[tokio::test]
async fn a_huge_error_message_is_cut() {
    let message = "m".repeat(1_000_000);
    let body = format!(r#"{{"status":{{"error":true,"code":400,"message":"{message}"}}}}"#);
    let client = hostile(move |_| Answer::Json(400, body.clone())).await;
    let e = err(client.get_user(1).await);
    assert!(e.message.chars().count() <= TEXT_LIMIT + 1);
}

#[tokio::test]
async fn a_state_token_expiry_in_2999_is_clamped_to_what_was_asked() {
    let body = r#"{"status":{"error":false,"code":200,"type":"success","message":"Success"},
        "data":[{"id":1,"device_id":"7","state_token":"abcdefabcdef1234","state_token_expires_at":"2999-01-01T00:00:00Z"}]}"#;
    let client = hostile(move |_| Answer::Json(200, body.to_owned())).await;
    let before = Utc::now();
    let t = client
        .activate_mfa_factors(1, &DeviceId("7".into()), Some(300), None, None)
        .await
        .unwrap();
    let expires = t.state_token_expires_at.unwrap();
    assert!(expires <= Utc::now() + chrono::Duration::seconds(300));
    assert!(expires >= before + chrono::Duration::seconds(299));
    // Unasked, the default 120 s is the ceiling.
    let t = client
        .activate_mfa_factors(1, &DeviceId("7".into()), None, None, None)
        .await
        .unwrap();
    assert!(t.state_token_expires_at.unwrap() <= Utc::now() + chrono::Duration::seconds(120));
}

#[tokio::test]
async fn an_earlier_expiry_than_asked_is_kept() {
    let soon = (Utc::now() + chrono::Duration::seconds(130)).to_rfc3339();
    let body = format!(
        r#"{{"data":[{{"id":1,"device_id":"7","state_token":"abcdefabcdef1234","state_token_expires_at":"{soon}"}}]}}"#
    );
    let client = hostile(move |_| Answer::Json(200, body.clone())).await;
    let t = client
        .activate_mfa_factors(1, &DeviceId("7".into()), Some(900), None, None)
        .await
        .unwrap();
    assert!(t.state_token_expires_at.unwrap() <= Utc::now() + chrono::Duration::seconds(131));
}

#[tokio::test]
async fn a_temporary_token_with_control_characters_is_refused_and_not_echoed() {
    let body = r#"{"mfa_token":"rm -rf ~\u001b[201~\necho pwned","reusable":false,"expires_at":"2999-01-01T00:00:00Z"}"#;
    let client = hostile(move |_| Answer::Json(201, body.to_owned())).await;
    let e = err(client.generate_mfa_token(1, Some(300), false).await);
    assert_eq!(e.kind, ErrorKind::MalformedResponse);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("pwned") && !shown.contains("201~") && !shown.contains('\x1b'));
    assert!(e.message.contains("letters and digits"), "{}", e.message);
}

#[tokio::test]
async fn an_overlong_temporary_token_is_refused() {
    let token = "A1".repeat(33);
    let body = format!(r#"{{"mfa_token":"{token}","reusable":false}}"#);
    let client = hostile(move |_| Answer::Json(201, body.clone())).await;
    let e = err(client.generate_mfa_token(1, Some(300), false).await);
    assert!(!format!("{e:?}").contains(&token));
}

#[tokio::test]
async fn a_good_temporary_token_expiry_is_clamped_to_what_was_asked() {
    let body = r#"{"mfa_token":"Ab12Cd34","reusable":false,"expires_at":"2999-01-01T00:00:00Z"}"#;
    let client = hostile(move |_| Answer::Json(201, body.to_owned())).await;
    let t = client
        .generate_mfa_token(1, Some(300), false)
        .await
        .unwrap();
    assert_eq!(t.mfa_token.expose(), "Ab12Cd34");
    assert!(t.expires_at.unwrap() <= Utc::now() + chrono::Duration::seconds(300));
}

#[tokio::test]
async fn credentials_echoed_by_a_server_are_redacted() {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    let message = format!(
        "bad request: Authorization: Basic {basic} and Bearer some-other-token-xyz; also {ACCESS}"
    );
    let body = format!(r#"{{"status":{{"error":true,"code":400,"message":"{message}"}}}}"#);
    let client = hostile(move |_| Answer::Json(400, body.clone())).await;
    let e = err(client.get_user(1).await);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(&basic), "{shown}");
    assert!(!shown.contains("some-other-token-xyz"), "{shown}");
    assert!(!shown.contains(ACCESS), "{shown}");
    assert!(shown.contains("bad request"), "{shown}");
}

#[tokio::test]
async fn a_token_endpoint_error_is_shown_only_redacted() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    let body = format!(
        r#"{{"status":{{"error":true,"code":401,"message":"Authentication Failure for Basic {basic} (Bearer zzz-token-zzz) secret {SECRET}"}}}}"#
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                if read_request(&mut stream).await.is_some() {
                    let _ = stream.write_all(&json_response(401, &body)).await;
                }
            });
        }
    });
    let mut config = ClientConfig::new(
        format!("http://{addr}"),
        Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(SECRET),
        },
    );
    config.retry = mfadesk::api::RetryPolicy::none();
    let client = Client::new(config).unwrap();
    let e = err(client.get_user(1).await);
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("Authentication Failure"), "{shown}");
    for leak in [basic.as_str(), "zzz-token-zzz", SECRET] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
}
