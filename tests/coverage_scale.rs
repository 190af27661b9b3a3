//! Scale runs of the coverage scan, by hand only (`cargo test --release --test coverage_scale --
//! --ignored --nocapture`): the demo tenant and the scan as separate processes, the scan's peak
//! resident memory read from /proc while it runs, and its throughput.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mfadesk");

/// `mfadesk sim` in its own process; its URL from the first line it prints.
fn sim(users: usize, latency_ms: u64) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--users",
            &users.to_string(),
            "--rate-limit",
            "1000000",
            "--latency-ms",
            &latency_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep reading: a closed pipe would stop the tenant at its next line.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    (child, url)
}

/// Peak resident memory of a process so far, in KiB (Linux).
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs a full scan with `share`; returns (seconds, peak KiB).
fn scan(url: &str, share: &str) -> (f64, u64) {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s.sqlite");
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("ONELOGIN_CLIENT_ID", "demo-read")
        .env("ONELOGIN_CLIENT_SECRET", "demo-read-secret")
        .env("ONELOGIN_BASE_URL", url)
        .args(["coverage", "scan", "--share", share, "--store"])
        .arg(&store)
        .arg("--log-file")
        .arg(home.path().join("log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (start.elapsed().as_secs_f64(), peak)
}

#[test]
#[ignore = "scale run: minutes, by hand"]
fn scanning_100000_users_stays_under_60_mb() {
    let users = 100_000;
    let (mut sim, url) = sim(users, 0);
    let (secs, peak) = scan(&url, "1");
    let _ = sim.kill();
    eprintln!(
        "100,000 users: {secs:.0} s, {:.0} calls/s, peak resident {:.1} MiB",
        (users + users / 100) as f64 / secs,
        peak as f64 / 1024.0
    );
    assert!(peak < 60 * 1024, "peak resident {peak} KiB");
}

#[test]
#[ignore = "throughput run, by hand"]
fn throughput_against_10000_users() {
    let users = 10_000;
    for (latency, share) in [(0, "0.5"), (0, "1"), (80, "0.5")] {
        let (mut sim, url) = sim(users, latency);
        let (secs, peak) = scan(&url, share);
        let _ = sim.kill();
        eprintln!(
            "10,000 users, latency {latency} ms, share {share}: {secs:.1} s, {:.0} calls/s, peak {:.1} MiB",
            (users + users / 100) as f64 / secs,
            peak as f64 / 1024.0
        );
    }
}
