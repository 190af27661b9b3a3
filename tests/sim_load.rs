//! A bounded load run of the demo tenant (`cargo test --test sim_load -- --ignored
//! --nocapture`): `mfadesk sim` as its own process on 127.0.0.1, 2 × 20,000 requests
//! from 50 concurrent clients, each run capped at 180 s. Prints requests per second,
//! p50/p99 latency, errors and the tenant's resident memory before and after.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const REQUESTS: usize = 20_000;
const CONCURRENCY: usize = 50;
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The `mfadesk sim` child; killed when dropped.
struct Tenant {
    child: Child,
    base: String,
}

impl Drop for Tenant {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mfadesk sim` on a free loopback port and reads its URL from stdout.
fn start() -> Tenant {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfadesk"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "4000000000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout);
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    // Keep reading so the tenant's later lines never meet a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    Tenant { child, base }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A token for a demo credential.
async fn token(http: &reqwest::Client, base: &str) -> String {
    let v: Value = http
        .post(format!("{base}/auth/oauth2/v2/token"))
        .basic_auth("demo-manage", Some("demo-manage-secret"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// One request of the mix: searches, lookups, device lists, SMS triggers, temporary tokens.
async fn one(http: &reqwest::Client, base: &str, token: &str, i: usize) -> bool {
    let kelly = 36216766;
    let req = match i % 5 {
        0 => http.get(format!("{base}/api/2/users?email=kelly*")),
        1 => http.get(format!("{base}/api/2/users/{kelly}")),
        2 => http.get(format!("{base}/api/1/users/{kelly}/otp_devices")),
        3 => http
            .post(format!(
                "{base}/api/1/users/{kelly}/otp_devices/525501/trigger"
            ))
            .json(&json!({})),
        _ => http
            .post(format!("{base}/api/1/users/{kelly}/mfa_token"))
            .json(&json!({"expires_in": 300})),
    };
    match req.bearer_auth(token).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// Runs `REQUESTS` requests from `CONCURRENCY` clients; (seconds, sorted latencies, errors).
async fn run(base: &str, token: &str) -> (f64, Vec<Duration>, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (next, base, token) = (next.clone(), base.to_string(), token.to_string());
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut lat, mut errors) = (Vec::new(), 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= REQUESTS {
                    return (lat, errors);
                }
                let t = Instant::now();
                if !one(&http, &base, &token, i).await {
                    errors += 1;
                }
                lat.push(t.elapsed());
            }
        }));
    }
    let all = tokio::time::timeout(RUN_LIMIT, futures::future::join_all(workers))
        .await
        .expect("the load run is bounded in time");
    let secs = started.elapsed().as_secs_f64();
    let (mut lat, mut errors) = (Vec::new(), 0);
    for w in all {
        let (l, e) = w.unwrap();
        lat.extend(l);
        errors += e;
    }
    lat.sort();
    (secs, lat, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load run: cargo test --test sim_load -- --ignored --nocapture"]
async fn load_run_20000_requests_at_50_concurrent() {
    let tenant = start();
    let pid = tenant.child.id();
    let http = reqwest::Client::new();
    let token = token(&http, &tenant.base).await;
    let before = rss_kib(pid);
    for round in 1..=2 {
        let (secs, lat, errors) = run(&tenant.base, &token).await;
        assert_eq!(lat.len(), REQUESTS);
        let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
        println!(
            "round {round}: {REQUESTS} requests, {CONCURRENCY} concurrent, {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {errors} errors, RSS {:.1} MiB before the first round, {:.1} MiB now",
            REQUESTS as f64 / secs,
            pct(50).as_secs_f64() * 1000.0,
            pct(99).as_secs_f64() * 1000.0,
            before as f64 / 1024.0,
            rss_kib(pid) as f64 / 1024.0,
        );
        assert_eq!(errors, 0);
    }
}
